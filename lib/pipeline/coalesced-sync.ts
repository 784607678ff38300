/**
 * A push's syncs through the sync windows (sync-windows.ts): each mirror's sync is triggered only
 * when the push claims its window, and otherwise joins the sync that carries it. What the webhook
 * and the confirm worker call instead of the syncer when the ledger is there.
 */

import { ErrorCodes } from '../errors';
import type { Logger } from '../observability/log';
import type { SyncWindows } from './sync-windows';
import { isDeferrable, type Failure, type Job, type MirrorSyncer, type SyncOutcome, type SyncTarget } from './sync';

export interface PlannedSync {
  readonly target: SyncTarget;
  /** The mirror's ledger key (`mirrorKeyOf`). */
  readonly key: string;
}

/** A mirror whose sync another push's trigger carries. */
export interface JoinedSync {
  readonly key: string;
  readonly repository_id: number;
  readonly target?: string;
  /** The carrying trigger's job, once it was sent. */
  readonly jid?: string | undefined;
  /** When this push took the window's trailing trigger: check the mirror then (epoch ms). */
  readonly trailingDue?: number | undefined;
  /** When the carrying trigger's window ends (epoch ms), once it was sent. */
  readonly windowEnds?: number | undefined;
}

export interface CoalescedOutcome {
  readonly jobs: readonly Job[];
  readonly failures: readonly Failure[];
  readonly joined: readonly JoinedSync[];
  /** Each claimed mirror's `sent` write, for the caller to wait for or not; never rejects. */
  readonly noted: Promise<void>;
}

export interface CoalescedSyncOptions {
  readonly windows: SyncWindows;
  readonly syncMirrors: MirrorSyncer;
  readonly logger: Logger;
  readonly now: () => number;
  /** How long a push joining a window whose trigger is in flight waits for its jid. @default 0 */
  readonly jidWaitMs?: number;
}

export type CoalescedSync = (planned: readonly PlannedSync[], pushId: string, deadline: number, log: Record<string, unknown>) => Promise<CoalescedOutcome>;

const JID_POLL_MS = 100;

export function createCoalescedSync(options: CoalescedSyncOptions): CoalescedSync {
  const { windows, logger, now } = options;
  return async (planned, pushId, deadline, log) => {
    const claims = await Promise.all(planned.map(async (one) => ({ ...one, claim: await windows.claim(one.key, pushId, now()) })));
    const claimed = claims.filter((one) => one.claim.kind === 'claimed');
    const { jobs, failures } = claimed.length === 0 ? { jobs: [], failures: [] } : await options.syncMirrors(claimed.map((one) => one.target), deadline, log);
    const keyOfResult = (result: { readonly repository_id: number | undefined; readonly target?: string | undefined }): string | undefined =>
      claimed.find((one) => ('target' in one.target ? one.target.target === result.target : one.target.repositoryId === result.repository_id))?.key;
    const notes = [
      ...jobs.map((job) => windows.sent(keyOfResult(job) ?? '', pushId, job.jid, now())),
      // A failure no repeat fixes frees the window now; a deferral keeps it: the queued trigger will carry the pushes that join.
      ...failures.filter((failure) => !isDeferrable(failure)).map((failure) => windows.release(keyOfResult(failure) ?? '', pushId)),
    ];
    const noted = Promise.allSettled(notes).then((results) => {
      for (const result of results) if (result.status === 'rejected') logger.warn('sync window not updated', { ...log, pushId, error: result.reason });
    });
    const joined = await Promise.all(
      claims.flatMap((one) => (one.claim.kind === 'joined' ? [joinedOf(one, one.claim, deadline)] : [])),
    );
    if (joined.length > 0) logger.info('joined the sync of another push', { ...log, pushId, mirrors: joined.map((one) => one.key), jids: joined.map((one) => one.jid) });
    return { jobs, failures, joined, noted };
  };

  async function joinedOf(one: PlannedSync, claim: Extract<Awaited<ReturnType<SyncWindows['claim']>>, { kind: 'joined' }>, deadline: number): Promise<JoinedSync> {
    let { jid } = claim;
    // The carrying trigger is in flight: its jid comes within a CodeHub round trip.
    const waitUntil = Math.min(deadline - JID_POLL_MS, now() + (options.jidWaitMs ?? 0));
    while (jid === undefined && now() < waitUntil) {
      await new Promise((resolve) => setTimeout(resolve, JID_POLL_MS));
      jid = await windows.jidOf(one.key);
    }
    return {
      key: one.key,
      repository_id: 'repositoryId' in one.target ? one.target.repositoryId : 0,
      ...('target' in one.target ? { target: one.target.target } : {}),
      jid,
      trailingDue: claim.trailingDue,
      windowEnds: claim.windowEnds,
    };
  }
}

/** A mirror to look at again at `at` (epoch ms): when the sent window this push joined ends. */
export interface Recheck {
  readonly key: string;
  readonly at: number;
}

/**
 * When a push that joined a sent window looks again: the trailing trigger's holder when the window
 * ends (its check triggers again), the others just after, so that one of them triggers should the
 * holder be settled already (mirrored, or superseded by one of them). None for a pending window.
 */
export function recheckAtOf(joined: Pick<JoinedSync, 'trailingDue' | 'windowEnds'>): number | undefined {
  return joined.trailingDue ?? (joined.windowEnds === undefined ? undefined : joined.windowEnds + 1000);
}

/**
 * The outcome as the syncer's: a mirror another push's trigger carries counts as that job, or, when
 * that trigger is itself queued, as queued (202). `rechecks`: when each joined sent window ends.
 */
export function asSyncOutcome(outcome: CoalescedOutcome): SyncOutcome & { readonly rechecks: readonly Recheck[] } {
  const carried = outcome.joined.flatMap((one): Job[] => (one.jid === undefined ? [] : [{ repository_id: one.repository_id, jid: one.jid, ...(one.target === undefined ? {} : { target: one.target }), coalesced: true }]));
  const queued = outcome.joined.filter((one) => one.jid === undefined).map(queuedJoinFailure);
  const rechecks = outcome.joined.flatMap((one) => {
    const at = recheckAtOf(one);
    return at === undefined ? [] : [{ key: one.key, at }];
  });
  return { jobs: [...outcome.jobs, ...carried], failures: [...outcome.failures, ...queued], rechecks };
}

/** What a push answered 202 is told when the sync that carries it is itself queued. */
function queuedJoinFailure(joined: JoinedSync): Failure {
  return {
    repository_id: joined.repository_id,
    ...(joined.target === undefined ? {} : { target: joined.target }),
    code: ErrorCodes.CODEHUB_THROTTLED,
    error_code: undefined,
    error: 'joins the sync already being triggered for this repository, which is queued',
  };
}
