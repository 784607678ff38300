/**
 * CodeHub's remote-mirror state of each repository, as the status page reads it: kept for
 * `STATE_TTL_MS`, and read at most `READS_PER_MINUTE` times a minute per container, a few calls at a
 * time. CodeHub's limit (600 calls/min per API per region) is shared by every caller of the tenant,
 * the webhook's syncs included, so a dashboard that reloads every second must not spend it.
 */
import type { MirrorStatus } from '../codehub/client';
import type { CallOptions } from '../codehub/types';
import { CodeHubError, ErrorCodes } from '../errors';
import type { Logger } from '../observability/log';
import { redactText } from '../observability/redact';
import type { CodeHubState, CodeHubStateError, ReadState } from './report';
import { runWithin } from './run-within';

/** A state read from CodeHub less than this long ago is shown as it is, without a call. */
export const STATE_TTL_MS = 30_000;
/** CodeHub reads the status page makes per minute and container: a fifth of the shared quota. */
export const READS_PER_MINUTE = 120;
const MINUTE_MS = 60_000;

/** The one CodeHub call the status page makes. */
export interface StatusCodeHub {
  getMirrorStatus(repositoryId: number, options?: CallOptions): Promise<MirrorStatus>;
}

export interface MirrorStatesOptions {
  readonly codehub: StatusCodeHub;
  readonly logger: Logger;
  /** Values to scrub from CodeHub's messages (besides URL credentials, which always go). */
  readonly secrets: readonly string[];
  readonly now: () => number;
  /** CodeHub calls in flight at once. */
  readonly concurrency: number;
}

export interface MirrorStates {
  /**
   * The state of every repository in `ids`: kept, read now (oldest first, within the minute's
   * budget) or, when the budget is spent or CodeHub did not answer by `deadline`, the last state
   * kept (or an error saying why there is none). Reads still running at the deadline go on and
   * are kept for the next request.
   */
  read(ids: readonly number[], deadline: number): Promise<Map<number, ReadState>>;
}

const TIMED_OUT: CodeHubStateError = Object.freeze({
  error: 'CodeHub did not answer before the deadline',
  code: ErrorCodes.CODEHUB_TIMEOUT,
  error_code: null,
});

const NOT_READ: CodeHubStateError = Object.freeze({
  error: `not read yet: the status page reads at most ${READS_PER_MINUTE} mirrors a minute from CodeHub, whose quota every caller shares; reload in a minute`,
  code: ErrorCodes.CODEHUB_THROTTLED,
  error_code: null,
});

export function createMirrorStates(options: MirrorStatesOptions): MirrorStates {
  const { logger, now, concurrency } = options;
  const kept = new Map<number, { readonly state: CodeHubState; readonly readAt: number }>();
  const inFlight = new Map<number, Promise<void>>();
  /** Start times of the reads of the last minute, oldest first. */
  const recentReads: number[] = [];

  function budgetLeft(at: number): number {
    while (recentReads.length > 0 && (recentReads[0] as number) <= at - MINUTE_MS) recentReads.shift();
    return READS_PER_MINUTE - recentReads.length;
  }

  /** Starts one read (or joins the one running); its result is kept when it arrives, whenever that is. */
  function startRead(id: number, deadline: number): Promise<void> {
    const running = inFlight.get(id);
    if (running !== undefined) return running;
    recentReads.push(now());
    const read = readState(options, id, deadline).then((state) => {
      kept.set(id, { state, readAt: now() });
      inFlight.delete(id);
    });
    inFlight.set(id, read);
    return read;
  }

  return {
    async read(ids, deadline) {
      const started = now();
      const stale = ids.filter((id) => {
        const entry = kept.get(id);
        return entry === undefined || started - entry.readAt >= STATE_TTL_MS;
      });
      // Never read first, then the oldest reads: a page of many mirrors fills in over a few loads.
      const byAge = stale.sort((a, b) => (kept.get(a)?.readAt ?? -1) - (kept.get(b)?.readAt ?? -1));
      const toRead = byAge.slice(0, Math.max(0, budgetLeft(started)));
      if (toRead.length < stale.length) logger.warn('status: CodeHub read budget spent; showing kept states', { stale: stale.length, reading: toRead.length, readsPerMinute: READS_PER_MINUTE });
      if (toRead.length > 0 && !(await runWithin(toRead, deadline, concurrency, now, (id) => startRead(id, deadline)))) {
        logger.warn('status: CodeHub did not answer for every mirror before the deadline', { reading: toRead.length });
      }
      const reading = new Set(toRead);
      // A fresh map: reads still in flight must not change a page already answered.
      return new Map(
        ids.map((id): [number, ReadState] => {
          const entry = kept.get(id);
          if (entry !== undefined) return [id, entry];
          return [id, { state: reading.has(id) ? TIMED_OUT : NOT_READ, readAt: undefined }];
        }),
      );
    },
  };
}

/** CodeHub's state of one repository, scrubbed; a failure is a state too (the row shows it). */
async function readState(options: MirrorStatesOptions, repositoryId: number, deadline: number): Promise<CodeHubState> {
  const { codehub, logger, secrets } = options;
  try {
    const status = await codehub.getMirrorStatus(repositoryId, { deadline });
    return {
      update_status: status.updateStatus ?? null,
      last_update_at: status.lastUpdateAt ?? null,
      last_successful_update_at: status.lastSuccessfulUpdateAt ?? null,
      number_of_failures: status.numberOfFailures ?? null,
      last_error: status.lastError === undefined ? null : redactText(status.lastError, secrets),
      mirroring_enabled: status.mirroringEnabled ?? null,
    };
  } catch (error) {
    if (error instanceof CodeHubError) {
      return { error: redactText(error.message, secrets), code: error.code, error_code: error.serviceCode ?? null };
    }
    logger.error('status: unexpected failure reading a mirror state', { repositoryId, error });
    return { error: 'CodeHub call failed unexpectedly', code: ErrorCodes.CODEHUB_UNREACHABLE, error_code: null };
  }
}
