/**
 * A verified push made durable: recorded in the ledger with a confirm task per mirror before the Git
 * host gets a 2xx, its sync tried inline meanwhile, and the outcome the webhook answers with.
 *
 * 1. plan: the refs each mirror must show (`refsToConfirm`); a mirror that syncs none of them is left out.
 * 2. identify: the same push seen before (a redelivery, or a replay with a fresh delivery id) is
 *    answered from the ledger, with no CodeHub call; a repeated key that is a genuinely new push
 *    (A→B, back to A, A→B again) takes the next occurrence.
 * 3. record + sync, side by side: the ledger write and the confirm tasks overlap the CodeHub call.
 *    If the ledger or the queue cannot be written, the answer is a 5xx whatever CodeHub said.
 * 4. note what CodeHub said on each mirror's side of the push: a `jid`, a deferral (the worker
 *    triggers again), or a failure no repeat can fix (given up at once: never repeat a signature failure).
 */
import { randomUUID } from 'node:crypto';
import { ErrorCodes, HttpError } from '../errors';
import { isReplay, noRefPushKey, pushIdOf, pushKey } from '../ledger/push-id';
import { refsToConfirm, type RefToConfirm } from '../ledger/refs';
import type { LedgerEntry, LedgerMirror } from '../ledger/types';
import type { Logger } from '../observability/log';
import type { ProviderId, Push } from '../providers/types';
import type { Durable } from './durable';
import { AwsCallError } from './aws-call';
import { mirrorKeyOf } from './ledger-items';
import type { DeliveryOutcome, PushSummary, Sender } from './outcome';
import type { ConfirmTask, ReportTask } from './push-queue';
import { isDeferrable, type Failure, type Job, type MirrorSyncer, type SyncOutcome, type SyncTarget } from './sync';
import { asSyncOutcome, createCoalescedSync, type Recheck } from './coalesced-sync';

/** Occurrences of one key tried before giving up on finding a free `push_id`: far beyond any real history. */
const MAX_OCCURRENCES = 64;

export interface AcceptContext {
  readonly durable: Durable;
  readonly syncMirrors: MirrorSyncer;
  readonly logger: Logger;
  readonly now: () => number;
  /** Whether a mirror's state is reported upstream (`isReported`): its report task goes out beside the record. @default none is */
  readonly isReported?: ((target: SyncTarget) => boolean) | undefined;
}

export interface AcceptRequest {
  readonly push: Push;
  /** The kind of host that delivered it (undefined: CodeCommit): where its states are reported. */
  readonly provider?: ProviderId | undefined;
  /** The host's delivery id, when it sends one: what a push naming no ref is known by. */
  readonly deliveryId?: string | undefined;
  readonly mirrors: readonly SyncTarget[];
  readonly deadline: number;
  readonly log: Record<string, unknown>;
}

/** What became of a push, whoever delivered it (a webhook, a CodeCommit event). */
export type Accepted =
  /** No mirror syncs any ref it changed (`refs` filters, `branches: default`). */
  | { readonly kind: 'ignored'; readonly reason: string }
  /** The same push as one the ledger holds: its entry; no CodeHub call. */
  | { readonly kind: 'known-push'; readonly entry: LedgerEntry }
  /** Recorded and queued; what CodeHub said to each mirror's sync. */
  | { readonly kind: 'recorded'; readonly pushId: string; readonly jobs: readonly Job[]; readonly failures: readonly Failure[]; readonly codehubMs: number; readonly attempted: number }
  /** The ledger or the queue could not be written: no durable record. */
  | { readonly kind: 'unavailable'; readonly error: HttpError };

interface PlannedMirror {
  readonly target: SyncTarget;
  readonly key: string;
  readonly refs: readonly RefToConfirm[];
}

/** A verified push to its configured mirrors, made durable (see the module comment). */
export async function acceptPush(context: AcceptContext, request: AcceptRequest): Promise<Accepted> {
  const { push } = request;
  const planned = planMirrors(push, request.mirrors);
  if (planned.length === 0) return { kind: 'ignored', reason: `no mirror of ${push.source} syncs ${push.refs.map((r) => r.ref).join(', ')}` };
  try {
    const key = push.refs.length > 0 ? pushKey(push.source, push.refs) : noRefPushKey(push.source, request.deliveryId ?? randomUUID());
    const found = await identify(context.durable, key, push);
    if (found.kind === 'seen') return { kind: 'known-push', entry: found.entry };
    return await recordAndSync(context, request, entryOf(found.pushId, key, request, planned, context.now()), planned);
  } catch (error) {
    // A LedgerStoreError or QueueError (both AwsCallErrors): told apart by code, so the SDK stays off this module.
    if (!(error instanceof AwsCallError) || !DURABLE_CODES.has(error.code)) throw error;
    context.logger.error('push not recorded', { ...request.log, operation: error.operation, code: error.code, error });
    return { kind: 'unavailable', error: unavailableError(error) };
  }
}

/** The webhook's outcome for what became of the push: 200 synced, 202 queued, 502 failed for good, 5xx unrecorded. */
export function deliveryOutcomeOf(accepted: Accepted, known: { readonly sender: Sender; readonly push: PushSummary; readonly budgetMs: number }): DeliveryOutcome {
  const { sender, push } = known;
  switch (accepted.kind) {
    case 'ignored':
      return { kind: 'ignored', reason: accepted.reason, sender, push };
    case 'known-push':
      return { kind: 'known-push', entry: accepted.entry, sender, push };
    case 'unavailable':
      return { kind: 'unavailable', error: accepted.error, sender, push };
    case 'recorded': {
      const { pushId, jobs, failures, codehubMs } = accepted;
      const [first, ...rest] = failures;
      if (first === undefined) return { kind: 'synced', sender, push, jobs, codehubMs, pushId };
      if (failures.every(isDeferrable)) return { kind: 'queued', sender, push, jobs, failures: [first, ...rest], codehubMs, pushId };
      return { kind: 'failed', sender, push, jobs, failures: [first, ...rest], attempted: accepted.attempted, budgetMs: known.budgetMs, codehubMs, pushId };
    }
  }
}

/** Each mirror once (by ledger key), with the refs it must show; a push naming no ref keeps every mirror. */
function planMirrors(push: Push, mirrors: readonly SyncTarget[]): PlannedMirror[] {
  const byKey = new Map<string, PlannedMirror>();
  for (const target of mirrors) {
    const key = mirrorKeyOf(target);
    const refs = refsToConfirm(push.refs, target, push.defaultBranch);
    if (byKey.has(key) || (refs.length === 0 && push.refs.length > 0)) continue;
    byKey.set(key, { target, key, refs });
  }
  return [...byKey.values()];
}

type Identified = { readonly kind: 'new'; readonly pushId: string } | { readonly kind: 'seen'; readonly entry: LedgerEntry };

/** The push's id: the entry it repeats, or the first occurrence of its key not taken. */
async function identify(durable: Durable, key: string, push: Push): Promise<Identified> {
  for (let occurrence = 0; occurrence < MAX_OCCURRENCES; occurrence += 1) {
    const pushId = pushIdOf(key, occurrence);
    // A new push (the usual case) costs one GetItem here, before the CodeHub call.
    const entry = (await durable.store.pushExists(pushId)) ? await durable.store.getPush(pushId) : undefined;
    if (entry === undefined) return { kind: 'new', pushId };
    if (await stillLatest(durable, entry, push)) return { kind: 'seen', entry };
  }
  throw new RangeError(`more than ${MAX_OCCURRENCES} pushes with one key`);
}

/** Whether `entry` is still the newest push to each of its refs (then a delivery with its key repeats it). */
async function stillLatest(durable: Durable, entry: LedgerEntry, push: Push): Promise<boolean> {
  const [first] = entry.mirrors;
  if (first === undefined) return true;
  const refs = [...new Set(push.refs.map((change) => change.ref))];
  const latest = await Promise.all(refs.map(async (ref) => [ref, await durable.store.latestPushForRef(mirrorKeyOf(first), ref)] as const));
  return isReplay(entry.pushId, refs, new Map(latest.flatMap(([ref, id]) => (id === undefined ? [] : [[ref, id] as const]))));
}

function entryOf(pushId: string, key: string, { push, provider }: AcceptRequest, planned: readonly PlannedMirror[], arrivedAt: number): LedgerEntry {
  const mirrors: LedgerMirror[] = planned.map(({ target, refs }) => ({
    repositoryId: 'repositoryId' in target ? target.repositoryId : 0,
    ...('target' in target ? { target: target.target } : {}),
    state: 'received',
    refs,
    jids: [],
    attempts: 0,
  }));
  return { pushId, key, source: push.source, ...(provider === undefined ? {} : { provider }), refs: push.refs, arrivedAt, state: 'received', mirrors };
}

async function recordAndSync(context: AcceptContext, request: AcceptRequest, entry: LedgerEntry, planned: readonly PlannedMirror[]): Promise<Accepted> {
  const { store, queue, confirm } = context.durable;
  const tasks: ConfirmTask[] = planned.map(({ key }) => ({ v: 1, kind: 'confirm', push_id: entry.pushId, mirror: key, attempt: 1, arrived_at: entry.arrivedAt }));
  const callStarted = context.now();
  const sync = syncPlanned(context, planned, entry.pushId, request.deadline, { ...request.log, pushId: entry.pushId });
  const record = (async () => {
    // The CodeHub request goes on the wire first: the SDK's own work would otherwise run ahead of it.
    await nextTurn();
    // The tasks go out beside the record: the first runs CONFIRM_AFTER_SECONDS later, and one whose
    // record then failed (answered 5xx) finds no push and is dropped by the worker.
    const [recorded] = await Promise.all([store.recordPush(entry), ...tasks.map((task) => queue.sendConfirm(task, confirm.confirmAfterSeconds))]);
    return recorded.kind === 'exists' ? recorded.entry : undefined;
  })();
  const reports = queueReports(context, entry, planned, request.log);
  const [recorded, synced] = await Promise.allSettled([record, sync]);
  await reports;
  // No durable record, no 2xx: whatever CodeHub answered, the host must redeliver.
  if (recorded.status === 'rejected') throw recorded.reason;
  if (synced.status === 'rejected') throw synced.reason;
  const codehubMs = context.now() - callStarted;
  // A concurrent duplicate recorded it first: answer as that push.
  if (recorded.value !== undefined) return { kind: 'known-push', entry: recorded.value };

  const { jobs, failures, rechecks } = synced.value;
  await Promise.all([noteSyncOutcome(context, entry, tasks, jobs, failures, request.log), checkAtWindowEnd(context, tasks, rechecks, request.log)]);
  return { kind: 'recorded', pushId: entry.pushId, jobs, failures, codehubMs, attempted: planned.length };
}

/** A joined push's jid is waited for this long when the trigger carrying it is still in flight. */
const JOIN_JID_WAIT_MS = 200;

/**
 * Each mirror's sync: through the sync windows when coalescing is on (a mirror another push's
 * trigger carries answers with that trigger's job, or as queued when it is itself queued), else
 * triggered directly. `rechecks`: when the sent windows this push joined end.
 */
async function syncPlanned(
  context: AcceptContext,
  planned: readonly PlannedMirror[],
  pushId: string,
  deadline: number,
  log: Record<string, unknown>,
): Promise<SyncOutcome & { readonly rechecks: readonly Recheck[] }> {
  const { windows } = context.durable;
  if (windows === undefined) return { ...(await context.syncMirrors(planned.map(({ target }) => target), deadline, log)), rechecks: [] };
  const coalesced = createCoalescedSync({ windows, syncMirrors: context.syncMirrors, logger: context.logger, now: context.now, jidWaitMs: JOIN_JID_WAIT_MS });
  const outcome = await coalesced(planned, pushId, deadline, log);
  // The window note is on its way; it is not the push's safety (its confirm proves it either way), so the answer does not wait.
  void outcome.noted;
  return asSyncOutcome(outcome);
}

/**
 * A push that joined a sent window is also checked when the window ends (`recheckAtOf`), unless its
 * first check comes by then anyway: the check that finds the mirror behind triggers again. Best
 * effort: the push is safe without it (its first check is queued), so a failure is a WARN line.
 */
async function checkAtWindowEnd(context: AcceptContext, tasks: readonly ConfirmTask[], rechecks: readonly Recheck[], log: Record<string, unknown>): Promise<void> {
  const firstCheckAt = context.now() + context.durable.confirm.confirmAfterSeconds * 1000;
  const sent = await Promise.allSettled(
    rechecks.flatMap(({ key, at }) => {
      const task = tasks.find((candidate) => candidate.mirror === key);
      if (task === undefined || at >= firstCheckAt) return [];
      return [context.durable.queue.sendConfirm(task, Math.max(1, (at - context.now()) / 1000))];
    }),
  );
  for (const result of sent) if (result.status === 'rejected') context.logger.warn('window-end check not queued', { ...log, error: result.reason });
}

/** Seconds before a report task is seen: the record is committed by then (the worker looks again if not). */
const REPORT_DELAY_SECONDS = 1;

/**
 * Queues the pending commit status of each reported mirror. Best effort: a task not queued is a WARN
 * line, never a 5xx (the push is safe without it), and the final status is queued by the confirm.
 */
async function queueReports(context: AcceptContext, entry: LedgerEntry, planned: readonly PlannedMirror[], log: Record<string, unknown>): Promise<void> {
  const { isReported } = context;
  if (isReported === undefined) return;
  const tasks: ReportTask[] = planned
    .filter(({ target }) => isReported(target))
    .map(({ key }) => ({ v: 1, kind: 'report', push_id: entry.pushId, mirror: key, attempt: 1, arrived_at: entry.arrivedAt }));
  if (tasks.length === 0) return;
  await nextTurn();
  const sent = await Promise.allSettled(tasks.map((task) => context.durable.queue.sendReport(task, REPORT_DELAY_SECONDS)));
  for (const result of sent) {
    if (result.status === 'rejected') context.logger.warn('commit status not queued', { ...log, pushId: entry.pushId, error: result.reason });
  }
}

/**
 * Writes each mirror's trigger result. The push is durable already (recorded, its confirm tasks
 * queued), so this is the status view's news, not the push's safety:
 * - an accepted sync's `jid` is sent as one UpdateItem per mirror and not waited for, so the answer
 *   does not pay a second DynamoDB round trip (the bench's bar). The request is on the wire before
 *   the answer; should the note still be lost, the first confirm check reads the heads itself and
 *   finds the push mirrored, or its job running, without it.
 * - a deferral is written before the answer (202: no latency bar), so the status shows why.
 * - a failure no repeat can fix is given up now, before the answer (a DLQ notice, then the ledger),
 *   so that the worker never repeats it (an AK/SK signature failure must never be repeated).
 */
async function noteSyncOutcome(
  context: AcceptContext,
  entry: LedgerEntry,
  tasks: readonly ConfirmTask[],
  jobs: readonly Job[],
  failures: readonly Failure[],
  log: Record<string, unknown>,
): Promise<void> {
  const { store, queue } = context.durable;
  const at = context.now();
  const keyOf = (result: { readonly repository_id: number | undefined; readonly target?: string | undefined }): string =>
    mirrorKeyOf({ repositoryId: result.repository_id, target: result.target });
  const logLost = (error: unknown): void => context.logger.warn('trigger result not written to the ledger', { ...log, pushId: entry.pushId, error });
  // After this turn, so that the answer is not kept waiting by the SDK's work on the request either.
  if (jobs.length > 0) {
    setImmediate(() => {
      for (const job of jobs) store.noteTrigger(entry.pushId, keyOf(job), job.jid, job.repository_id).catch(logLost);
    });
  }
  const written = await Promise.allSettled(
    failures.map(async (failure) => {
      const error = { code: failure.code, message: failure.error, at };
      if (isDeferrable(failure)) return store.updateMirror(entry.pushId, keyOf(failure), { event: 'trigger-deferred', error });
      const task = tasks.find((candidate) => candidate.mirror === keyOf(failure));
      if (task !== undefined) await queue.sendFailed(task, `CodeHub refused the sync: ${failure.code}`, at);
      context.logger.error('push failed', { ...log, pushId: entry.pushId, mirror: keyOf(failure), shas: entry.refs.map((r) => r.after), code: failure.code });
      return store.updateMirror(entry.pushId, keyOf(failure), { event: 'gave-up', error });
    }),
  );
  for (const result of written) if (result.status === 'rejected') logLost(result.reason);
}

/** Resolves after the work already queued in this turn of the event loop (I/O callbacks excepted). */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

const DURABLE_CODES: ReadonlySet<string> = new Set([ErrorCodes.LEDGER_UNAVAILABLE, ErrorCodes.LEDGER_REJECTED, ErrorCodes.QUEUE_UNAVAILABLE, ErrorCodes.QUEUE_REJECTED]);
type DurableCode = typeof ErrorCodes.LEDGER_UNAVAILABLE | typeof ErrorCodes.LEDGER_REJECTED | typeof ErrorCodes.QUEUE_UNAVAILABLE | typeof ErrorCodes.QUEUE_REJECTED;

/** What the Git host is told when the push could not be recorded: 503 (try again) or 500 (a deployment problem). */
function unavailableError(error: AwsCallError<string>): HttpError {
  const code = error.code as DurableCode;
  const rejected = code === ErrorCodes.LEDGER_REJECTED || code === ErrorCodes.QUEUE_REJECTED;
  const what = code.startsWith('QUEUE') ? 'its confirm task could not be queued' : 'it could not be recorded in the ledger';
  return new HttpError(rejected ? 500 : 503, code, `the push was not accepted: ${what}; redeliver it`, rejected ? undefined : { headers: { 'retry-after': '30' } });
}
