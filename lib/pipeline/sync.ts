import type { RepositoryResolver } from '../codehub/repository-resolver';
import type { CodeHub, MirrorSyncResult } from '../codehub/types';
import type { MirrorTarget, PathMirror } from '../config/types';
import { sha256 } from '../crypto';
import { settleWithin } from '../deadline';
import { CodeHubError, ErrorCodes } from '../errors';
import type { Logger } from '../observability/log';

/**
 * The CodeHub side of a push, shared by every entry point (webhook, CodeCommit, reconcile):
 * resolve each mirror's repository, start its sync — or join the identical one in flight — and
 * report jobs and failures. Knows nothing of HTTP.
 */

/** A mirror known by CodeHub repository id, or by `group/name` path resolved on first use. */
export type SyncTarget = MirrorTarget | PathMirror;

export interface Job {
  readonly repository_id: number;
  readonly jid: string;
  /** The configured CodeHub path, for a mirror configured by `target`. */
  readonly target?: string;
  /** Another push's trigger started it; this push joined (coalescing): no call was made for it. */
  readonly coalesced?: true;
}

/** A job as `onJob` reports it: when CodeHub answered, and the pushed source it is for. */
export type TriggeredJob = Job & { readonly at: number; readonly source?: string };

export interface Failure {
  /** Undefined when the mirror's `target` path could not be resolved to a repository. */
  readonly repository_id: number | undefined;
  readonly target?: string;
  readonly code: string;
  readonly error_code: string | undefined;
  readonly error: string;
  /** CodeHub's `Retry-After`, for a throttled sync. */
  readonly retry_after_seconds?: number | undefined;
}

export interface SyncOutcome {
  readonly jobs: Job[];
  readonly failures: Failure[];
}

export interface MirrorSyncerOptions {
  readonly codehub: CodeHub;
  readonly logger: Logger;
  /** Turns `target` paths into repository ids; required only when such mirrors are configured. */
  readonly resolver?: RepositoryResolver | undefined;
  /** @default Date.now */
  readonly now?: (() => number) | undefined;
  /** Told of every job started (or joined): the status page's last triggers. An exception is logged, not raised. */
  readonly onJob?: ((job: TriggeredJob) => void) | undefined;
}

export type MirrorSyncer = (mirrors: readonly SyncTarget[], deadline: number, log?: Record<string, unknown>) => Promise<SyncOutcome>;

export function createMirrorSyncer(options: MirrorSyncerOptions): MirrorSyncer {
  const { codehub, logger, resolver } = options;
  const now = options.now ?? Date.now;
  /**
   * Sync calls in flight in this container, by repository and request. A push arriving while its
   * repository's sync is in flight joins that call instead of making another: CodeHub answers with
   * the id of a queued job, which fetches the source once it runs, so the later push rides along
   * (should the job have fetched first, the next push or the reconcile brings it). Only identical
   * requests are shared (same force_fetch, credentials and endpoint): no push is synced with
   * settings not its own.
   */
  const inFlight = new Map<string, Promise<MirrorSyncResult>>();

  return async function syncMirrors(mirrors, deadline, log = {}) {
    const outcomes = await Promise.allSettled(mirrors.map(async (mirror) => {
      const repositoryId = 'repositoryId' in mirror ? mirror.repositoryId : await resolveTarget(mirror, deadline);
      return { repositoryId, result: await syncOne(mirror, repositoryId, deadline, log) };
    }));
    const jobs: Job[] = [];
    const failures: Failure[] = [];
    outcomes.forEach((outcome, i) => {
      const mirror = mirrors[i] as SyncTarget;
      const target = 'target' in mirror ? { target: mirror.target } : {};
      if (outcome.status === 'fulfilled') {
        const job: Job = { repository_id: outcome.value.repositoryId, jid: outcome.value.result.jid, ...target };
        jobs.push(job);
        notifyJob({ ...job, at: now(), source: mirror.source }, log);
        return;
      }
      const repositoryId = 'repositoryId' in mirror ? mirror.repositoryId : undefined;
      if (!(outcome.reason instanceof CodeHubError)) logger.error('unexpected sync failure', { ...log, repositoryId, ...target, error: outcome.reason });
      failures.push({ ...describeFailure(repositoryId, outcome.reason), ...target });
    });
    return { jobs, failures };
  };

  /** A failing observer must not turn a started sync into a failed delivery. */
  function notifyJob(job: TriggeredJob, log: Record<string, unknown>): void {
    try {
      options.onJob?.(job);
    } catch (error) {
      logger.error('onJob failed', { ...log, repositoryId: job.repository_id, error });
    }
  }

  /** The lookup lives inside the delivery's budget, like the sync it leads to. */
  function resolveTarget(mirror: PathMirror, deadline: number): Promise<number> {
    if (!resolver) return Promise.reject(new CodeHubError(ErrorCodes.CODEHUB_REJECTED, `no resolver for target ${mirror.target}`));
    return resolver.resolve(mirror.target, { deadline });
  }

  /** Starts a sync, or joins the identical one already in flight for the repository. */
  function syncOne(mirror: SyncTarget, repositoryId: number, deadline: number, log: Record<string, unknown>): Promise<MirrorSyncResult> {
    const request = { forceFetch: mirror.forceFetch, username: mirror.username, password: mirror.password, endpointUuid: mirror.endpointUuid };
    const key = inFlightKey(repositoryId, mirror);
    const running = inFlight.get(key);
    if (running !== undefined) {
      logger.info('joined the sync already in flight', { ...log, repositoryId });
      // The call in flight may have a later deadline than this delivery (another host's budget).
      return settleWithin(running, deadline - now(), `the sync of repository ${repositoryId} already in flight`);
    }
    let started: Promise<MirrorSyncResult>;
    try {
      started = codehub.startMirrorSync(repositoryId, request, { deadline });
    } catch (error) {
      // A client that throws instead of rejecting fails this mirror only, not the whole answer.
      started = Promise.reject(error);
    }
    const call = started.finally(() => {
      if (inFlight.get(key) === call) inFlight.delete(key);
    });
    inFlight.set(key, call);
    return call;
  }
}

/** The in-flight key of a sync: the repository and everything its request body carries. */
function inFlightKey(repositoryId: number, mirror: SyncTarget): string {
  // Hashed so that a source password does not sit in one more structure in plain text.
  const request = JSON.stringify([mirror.forceFetch, mirror.username ?? null, mirror.password ?? null, mirror.endpointUuid ?? null]);
  return `${repositoryId}:${sha256(request, 'base64url')}`;
}

/** What the Git host is shown for a failed sync: CodeHub's own code and message, nothing of ours that is secret. */
function describeFailure(repositoryId: number | undefined, reason: unknown): Failure {
  if (reason instanceof CodeHubError) {
    return {
      repository_id: repositoryId,
      code: reason.code,
      error_code: reason.serviceCode,
      error: reason.message,
      ...(reason.retryAfterSeconds === undefined ? {} : { retry_after_seconds: reason.retryAfterSeconds }),
    };
  }
  return { repository_id: repositoryId, code: ErrorCodes.CODEHUB_UNREACHABLE, error_code: undefined, error: 'CodeHub call failed unexpectedly' };
}

/**
 * Failures CodeHub may get over by itself (throttled, 5xx, timed out, unreachable): with the ledger,
 * the push is queued and the worker triggers again later. The rest (refused, credentials, an AK/SK
 * signature, an answer not understood) a repeat cannot fix, and a signature failure must never be
 * repeated (more than five lock the key).
 */
const DEFERRABLE: ReadonlySet<string> = new Set([
  ErrorCodes.CODEHUB_THROTTLED,
  ErrorCodes.CODEHUB_SERVER_ERROR,
  ErrorCodes.CODEHUB_TIMEOUT,
  ErrorCodes.CODEHUB_UNREACHABLE,
]);

export function isDeferrable(failure: Pick<Failure, 'code'>): boolean {
  return DEFERRABLE.has(failure.code);
}
