/**
 * The confirm worker: one queue task at a time, it owns a push in one mirror until the mirror
 * provably holds it. It looks (confirm-check.ts), then acts on the decision: records the proof,
 * looks again later, triggers the sync again, or gives the push up — a message naming it on the
 * DLQ, an ERROR log line and the `PushesFailed` metric.
 *
 * Heads decide, never a job's status. Ledger and queue failures are thrown (the record fails and
 * SQS delivers it again); everything else is a typed outcome. Each write happens before the message
 * that follows from it, so a repeat after a crash repeats a check, never forks a chain of tasks —
 * except giving up, where the DLQ notice goes first: a push must never be `failed` without one.
 */

import type { RepositoryResolver } from '../codehub/repository-resolver';
import type { MirrorIndex } from '../config/mapping';
import { backoffSeconds, GiveUpCodes, type ConfirmDecision, type ConfirmSettings, type ConfirmedHead } from '../ledger/confirm';
import type { LedgerEntry, LedgerMirror, LedgerState } from '../ledger/types';
import type { Logger } from '../observability/log';
import { checkMirror, configuredMirror, ledgerErrorOf, type CheckContext, type ConfirmCodeHub, type ReadFailure } from './confirm-check';
import { LedgerErrorCodes, LedgerStoreError, mirrorKeyOf, type LedgerStore, type MirrorUpdate } from './ledger-store';
import type { ConfirmTask, FailedNotice, PushQueue } from './push-queue';
import { isReported } from './report-plan';
import { createMirrorSyncer, isDeferrable, type SyncOutcome, type SyncTarget } from './sync';
import { asSyncOutcome, createCoalescedSync, recheckAtOf } from './coalesced-sync';
import type { SyncWindows } from './sync-windows';

export type { ConfirmCodeHub } from './confirm-check';
export { GiveUpCodes } from '../ledger/confirm';

export type WorkerMetric = 'PushesMirrored' | 'PushesFailed' | 'SyncRetriggered';

/** Where the worker's metrics go; the handler adapts Powertools' EMF metrics to it. */
export interface WorkerMetrics {
  count(name: WorkerMetric, value?: number): void;
  /** `ConfirmLag`: from the push's arrival to the check that proved it mirrored. */
  milliseconds(name: 'ConfirmLag', ms: number): void;
}

export interface ConfirmWorkerOptions {
  readonly store: LedgerStore;
  readonly queue: PushQueue;
  readonly codehub: ConfirmCodeHub;
  /** The mirror config as loaded now: a re-trigger uses the mirror's current settings. */
  readonly index: MirrorIndex;
  /** Turns `target` paths into repository ids; needed only for mirrors configured by path. */
  readonly resolver?: RepositoryResolver | undefined;
  readonly settings: ConfirmSettings;
  /** Coalescing: a re-trigger joins the sync another push's trigger is carrying. @default none (always triggers) */
  readonly windows?: SyncWindows | undefined;
  readonly logger: Logger;
  /** @default none written */
  readonly metrics?: WorkerMetrics | undefined;
  /** @default Date.now */
  readonly now?: () => number;
  /** Deadline for one task's CodeHub calls. @default 20_000 */
  readonly taskBudgetMs?: number;
}

interface OutcomeBase {
  readonly pushId: string;
  readonly mirror: string;
}

/** What one task came to. */
export type TaskOutcome = OutcomeBase &
  (
    | { readonly kind: 'mirrored'; readonly heads: Readonly<Record<string, ConfirmedHead>>; readonly lagMs: number }
    /** Not there yet (the job still running, or a head unread): the next check is queued. */
    | { readonly kind: 'checked'; readonly delaySeconds: number }
    | { readonly kind: 'retriggered'; readonly jid: string; readonly delaySeconds: number }
    /** Coalesced: the sync another push's trigger started carries this one too; no CodeHub call. */
    | { readonly kind: 'joined'; readonly jid: string; readonly delaySeconds: number }
    /** The trigger met a failure CodeHub may get over (throttled, 5xx, timeout): the next check is queued. */
    | { readonly kind: 'deferred'; readonly code: string; readonly delaySeconds: number }
    | { readonly kind: 'failed'; readonly code: string; readonly reason: string }
    /** Mirrored or failed already; `renotified`: a redriven failed push still not there went back to the DLQ. */
    | { readonly kind: 'already-final'; readonly state: LedgerState; readonly renotified?: boolean }
    /** The ledger does not know the push or its mirror (expired, or never committed). */
    | { readonly kind: 'dropped'; readonly reason: string }
  );

/** What the confirm worker takes: a check, or a failed push's notice redriven from the DLQ. */
export type CheckTask = ConfirmTask | FailedNotice;

export interface ConfirmWorker {
  handle(task: CheckTask): Promise<TaskOutcome>;
}

/** One task's facts, read once. */
interface Run {
  readonly task: CheckTask;
  readonly entry: LedgerEntry;
  readonly mirror: LedgerMirror;
  readonly deadline: number;
  readonly base: OutcomeBase;
}

/** What a write that changed nothing found: the push gone, or the mirror already final in `state`. */
type Settled = { readonly kind: 'gone' } | { readonly kind: 'final'; readonly state: LedgerState };

export function createConfirmWorker(options: ConfirmWorkerOptions): ConfirmWorker {
  const { store, queue, logger, settings } = options;
  const now = options.now ?? Date.now;
  const budgetMs = options.taskBudgetMs ?? 20_000;
  const metrics = options.metrics;
  const check: CheckContext = { store, codehub: options.codehub, resolver: options.resolver, settings, now };
  // One syncer per container: tasks of one repository in a batch share a single identical trigger.
  const sync = createMirrorSyncer({ codehub: options.codehub, logger, resolver: options.resolver, now });

  async function handle(task: CheckTask): Promise<TaskOutcome> {
    const base = { pushId: task.push_id, mirror: task.mirror };
    const entry = await store.getPush(task.push_id);
    if (entry === undefined) return dropped(base, 'the ledger has no such push');
    const mirror = entry.mirrors.find((candidate) => mirrorKeyOf(candidate) === task.mirror);
    if (mirror === undefined) return dropped(base, 'the push has no such mirror');
    const run: Run = { task, entry, mirror, deadline: now() + budgetMs, base };
    if (mirror.state === 'mirrored') return { ...base, kind: 'already-final', state: mirror.state };
    if (mirror.state === 'failed') return task.kind === 'failed' ? recheckFailed(run) : { ...base, kind: 'already-final', state: mirror.state };

    const configured = configuredMirror(options.index, entry.source, task.mirror);
    if (configured === undefined) return giveUp(run, { code: GiveUpCodes.NOT_CONFIGURED, message: `mirror ${task.mirror} is no longer configured for ${entry.source}` });
    // A mirror never triggered is triggered whatever its job does: its status would be a wasted call.
    const readJobStatus = mirror.state !== 'received';
    const result = await checkMirror(check, { entry, mirror, mirrorKey: task.mirror, attempt: task.attempt, deadline: run.deadline, readJobStatus });
    if (result.kind === 'final') return giveUp(run, { code: result.failure.code, message: `CodeHub refused to show the mirror: ${result.failure.message}` });
    const { decision, failure } = result;
    switch (decision.kind) {
      case 'mirrored':
        return confirm(run, decision);
      case 'failed':
        return giveUp(run, { code: GiveUpCodes.NOT_MIRRORED, message: decision.reason });
      case 'retrigger':
        return retrigger(run, configured, decision.delaySeconds);
      case 'check-later':
        // Never triggered (CodeHub could not take it when the push arrived): waiting would not bring it.
        if (mirror.state === 'received') return retrigger(run, configured, decision.delaySeconds);
        return checkLater(run, decision.delaySeconds, failure);
    }
  }

  function dropped(base: OutcomeBase, reason: string): TaskOutcome {
    logger.warn('confirm task dropped', { ...base, reason });
    return { ...base, kind: 'dropped', reason };
  }

  /** The ledger write; `final` = the mirror got final meanwhile (another worker, a repeated message). */
  async function write(run: Run, update: MirrorUpdate): Promise<'updated' | Settled> {
    const result = await store.updateMirror(run.task.push_id, run.task.mirror, update);
    switch (result.kind) {
      case 'updated':
        return 'updated';
      case 'unchanged':
      case 'refused': {
        // The store answers with the entry it read: the state that stands, without reading it again.
        const state = result.entry.mirrors.find((mirror) => mirrorKeyOf(mirror) === run.task.mirror)?.state ?? run.mirror.state;
        return { kind: 'final', state };
      }
      case 'not-found':
        return { kind: 'gone' };
      case 'contended':
        // Nothing written: the record fails and SQS hands it out again later.
        throw new LedgerStoreError(LedgerErrorCodes.LEDGER_UNAVAILABLE, 'PutItem', `push ${run.task.push_id} in mirror ${run.task.mirror}: other writers won every try`);
    }
  }

  /** What to say when a write found the mirror final or gone: someone else's word stands. */
  function settledElsewhere(run: Run, settled: Settled): TaskOutcome {
    if (settled.kind === 'gone') return dropped(run.base, 'the push left the ledger during the check');
    return { ...run.base, kind: 'already-final', state: settled.state };
  }

  function nextTask(run: Run): ConfirmTask {
    return { v: 1, kind: 'confirm', push_id: run.task.push_id, mirror: run.task.mirror, attempt: run.task.attempt + 1, arrived_at: run.entry.arrivedAt };
  }

  async function confirm(run: Run, decision: Extract<ConfirmDecision, { kind: 'mirrored' }>): Promise<TaskOutcome> {
    const heads = Object.fromEntries(decision.heads);
    const written = await write(run, { event: 'confirmed', heads, at: decision.at });
    if (written !== 'updated') return settledElsewhere(run, written);
    const lagMs = Math.max(0, decision.at - run.entry.arrivedAt);
    metrics?.count('PushesMirrored');
    metrics?.milliseconds('ConfirmLag', lagMs);
    logger.info('push mirrored', { ...run.base, heads, lagMs, attempt: run.task.attempt });
    await queueReport(run);
    return { ...run.base, kind: 'mirrored', heads, lagMs };
  }

  async function checkLater(run: Run, delaySeconds: number, failure: ReadFailure | undefined): Promise<TaskOutcome> {
    const written = await write(run, { event: 'checked', error: failure === undefined ? undefined : ledgerErrorOf(failure, now()) });
    if (written !== 'updated') return settledElsewhere(run, written);
    await queue.sendConfirm(nextTask(run), delaySeconds);
    return { ...run.base, kind: 'checked', delaySeconds };
  }

  /** The sync, or the one carrying this push when coalescing is on; `trailingDue`: this push checks then (epoch ms). */
  async function syncOrJoin(run: Run, configured: SyncTarget): Promise<SyncOutcome & { readonly joined: boolean; readonly recheckAt?: number | undefined }> {
    if (options.windows === undefined) return { ...(await sync([configured], run.deadline, { ...run.base })), joined: false };
    const coalesced = createCoalescedSync({ windows: options.windows, syncMirrors: sync, logger, now });
    const outcome = await coalesced([{ target: configured, key: run.task.mirror }], run.task.push_id, run.deadline, { ...run.base });
    await outcome.noted;
    const [joined] = outcome.joined;
    return { ...asSyncOutcome(outcome), joined: joined !== undefined, recheckAt: joined === undefined ? undefined : recheckAtOf(joined) };
  }

  async function retrigger(run: Run, configured: SyncTarget, delaySeconds: number): Promise<TaskOutcome> {
    const { jobs, failures, joined, recheckAt } = await syncOrJoin(run, configured);
    const [job] = jobs;
    if (job !== undefined && joined) {
      // Another push's trigger carries this one: no call made; look again when its window ends, or as planned.
      const written = await write(run, { event: 'trigger-accepted', jid: job.jid, ...(job.repository_id > 0 ? { repositoryId: job.repository_id } : {}), checked: true });
      if (written !== 'updated') return settledElsewhere(run, written);
      const delay = recheckAt === undefined ? delaySeconds : Math.max(1, (recheckAt - now()) / 1000);
      await queue.sendConfirm(nextTask(run), delay);
      return { ...run.base, kind: 'joined', jid: job.jid, delaySeconds: delay };
    }
    if (job !== undefined) {
      const written = await write(run, { event: 'trigger-accepted', jid: job.jid, repositoryId: job.repository_id, checked: true });
      if (written !== 'updated') return settledElsewhere(run, written);
      if (run.mirror.jids.length > 0) metrics?.count('SyncRetriggered');
      // Re-triggers double, counted by triggers (what could load CodeHub), not by checks: the first look
      // after a push's first accepted trigger comes CONFIRM_AFTER_SECONDS later, however many checks came before.
      const delay = Math.min(delaySeconds, backoffSeconds(run.mirror.jids.length, settings));
      await queue.sendConfirm(nextTask(run), delay);
      logger.info('sync triggered', { ...run.base, jid: job.jid, again: run.mirror.jids.length > 0, attempt: run.task.attempt });
      return { ...run.base, kind: 'retriggered', jid: job.jid, delaySeconds: delay };
    }
    const [failure] = failures;
    const code = failure?.code ?? 'CODEHUB_UNREACHABLE';
    const message = failure?.error ?? 'the sync returned neither a job nor a failure';
    // Refused, credentials or an AK/SK signature: a repeat cannot fix it, and a signature failure must never be repeated.
    if (failure === undefined || !isDeferrable(failure)) return giveUp(run, { code, message: `CodeHub refused the sync: ${message}` });
    const written = await write(run, { event: 'trigger-deferred', error: ledgerErrorOf({ code, message }, now()), checked: true });
    if (written !== 'updated') return settledElsewhere(run, written);
    const delay = Math.max(delaySeconds, failure.retry_after_seconds ?? 0);
    await queue.sendConfirm(nextTask(run), delay);
    return { ...run.base, kind: 'deferred', code, delaySeconds: delay };
  }

  /** The notice first: should the ledger write then fail, SQS redelivers and the push is given up again, never silently. */
  async function giveUp(run: Run, error: { readonly code: string; readonly message: string }): Promise<TaskOutcome> {
    await queue.sendFailed(asConfirmTask(run.task), error.message, now());
    const written = await write(run, { event: 'gave-up', error: ledgerErrorOf(error, now()) });
    if (written !== 'updated') {
      logger.warn('push given up, but the ledger had settled it meanwhile', { ...run.base, reason: error.message });
      return settledElsewhere(run, written);
    }
    logger.error('push failed', { ...run.base, ...pushedShas(run.entry), code: error.code, reason: error.message, attempt: run.task.attempt });
    metrics?.count('PushesFailed');
    await queueReport(run);
    return { ...run.base, kind: 'failed', code: error.code, reason: error.message };
  }

  /** The final commit status, when the mirror's state is reported: best effort, a WARN line if not queued. */
  async function queueReport(run: Run): Promise<void> {
    const configured = configuredMirror(options.index, run.entry.source, run.task.mirror);
    if (!isReported(options.index, run.entry.provider, configured ?? { source: run.entry.source, report: undefined })) return;
    const task = { ...asConfirmTask(run.task), kind: 'report', attempt: 1 } as const;
    await queue.sendReport(task, 0).catch((error: unknown) => logger.warn('commit status not queued', { ...run.base, error }));
  }

  /**
   * A failed push's notice, redriven from the DLQ: a late proof is still proof, so the mirror is
   * looked at again. It is never triggered again (`nextState` refuses it); a push still not there
   * goes back to the DLQ, so the notice is not lost by the redrive.
   */
  async function recheckFailed(run: Run): Promise<TaskOutcome> {
    const result = await checkMirror(check, { entry: run.entry, mirror: run.mirror, mirrorKey: run.task.mirror, attempt: run.task.attempt, deadline: run.deadline, readJobStatus: false });
    if (result.kind === 'decided' && result.decision.kind === 'mirrored') return confirm(run, result.decision);
    const reason = result.kind === 'decided' && result.decision.kind === 'failed' ? result.decision.reason : run.task.kind === 'failed' ? run.task.reason : 'not mirrored';
    await queue.sendFailed(asConfirmTask(run.task), reason, now());
    logger.warn('failed push still not mirrored: notice back on the DLQ', { ...run.base, reason });
    return { ...run.base, kind: 'already-final', state: 'failed', renotified: true };
  }

  return { handle };
}

function asConfirmTask(task: CheckTask): ConfirmTask {
  return { v: 1, kind: 'confirm', push_id: task.push_id, mirror: task.mirror, attempt: task.attempt, arrived_at: task.arrived_at };
}

/** The pushed commits, for the failure's log line (a deletion has none). */
function pushedShas(entry: LedgerEntry): { refs: string[]; shas: string[] } {
  const changes = entry.refs.filter((change) => !change.deleted && !/^0+$/.test(change.after));
  return { refs: entry.refs.map((change) => change.ref), shas: [...new Set(changes.map((change) => change.after))] };
}
