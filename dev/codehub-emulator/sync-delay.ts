/**
 * How long a sync job takes besides its git fetch, so a test can hold a job "running": a wait
 * before the fetch and one after it (the fetch done, the job not yet finished — a push that lands
 * upstream then is not in the mirror, and a trigger joins this job). Clearing a delay ends the
 * waits under way at once, so a test holds a job for as long as it needs, not for a guessed time.
 */

export interface SyncDelay {
  /** Wait after the job starts, before `git fetch`. @default 0 */
  readonly beforeFetchMs: number;
  /** Wait after `git fetch`, before the job ends. @default 0 */
  readonly afterFetchMs: number;
}

export interface SyncDelaySpec {
  /** Only this repository's jobs; without it, every repository without its own delay. */
  readonly repositoryId?: number;
  readonly beforeFetchMs?: number;
  readonly afterFetchMs?: number;
}

export interface SyncDelaysSnapshot {
  readonly global: SyncDelay;
  readonly repositories: Readonly<Record<string, SyncDelay>>;
}

export interface SyncDelays {
  set(spec: SyncDelaySpec): SyncDelaysSnapshot;
  /** Clears one repository's delay (or all), and ends the waits under way for it (or all). */
  clear(repositoryId?: number): SyncDelaysSnapshot;
  snapshot(): SyncDelaysSnapshot;
  /** Waits the delay of `phase` for a job of `repositoryId`; resolves early when cleared or aborted. */
  wait(repositoryId: number, phase: keyof SyncDelay, signal: AbortSignal): Promise<void>;
}

const NONE: SyncDelay = Object.freeze({ beforeFetchMs: 0, afterFetchMs: 0 });
/** A day: longer is a mistake, not a test. */
const MAX_DELAY_MS = 86_400_000;

function delayOf(value: unknown, field: string): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_DELAY_MS) {
    throw new RangeError(`${field} must be an integer 0..${MAX_DELAY_MS}`);
  }
  return value;
}

/** Validates a delay from the admin API; throws `RangeError` naming the field. */
export function parseSyncDelaySpec(value: unknown): SyncDelaySpec {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new RangeError('the body must be a JSON object {repositoryId?, beforeFetchMs?, afterFetchMs?}');
  }
  const record = value as Record<string, unknown>;
  const unknown = Object.keys(record).filter((key) => !['repositoryId', 'beforeFetchMs', 'afterFetchMs'].includes(key));
  if (unknown.length > 0) throw new RangeError(`unknown field(s): ${unknown.join(', ')}; expected repositoryId, beforeFetchMs, afterFetchMs`);
  const { repositoryId } = record;
  if (repositoryId !== undefined && (typeof repositoryId !== 'number' || !Number.isInteger(repositoryId) || repositoryId < 1)) {
    throw new RangeError('repositoryId must be a positive integer');
  }
  return {
    ...(repositoryId === undefined ? {} : { repositoryId }),
    beforeFetchMs: delayOf(record.beforeFetchMs, 'beforeFetchMs'),
    afterFetchMs: delayOf(record.afterFetchMs, 'afterFetchMs'),
  };
}

interface Waiter {
  readonly repositoryId: number;
  readonly end: () => void;
}

export function createSyncDelays(): SyncDelays {
  let global: SyncDelay = NONE;
  const byRepository = new Map<number, SyncDelay>();
  const waiters = new Set<Waiter>();

  function snapshot(): SyncDelaysSnapshot {
    return { global, repositories: Object.fromEntries([...byRepository].map(([id, delay]) => [String(id), delay])) };
  }

  return {
    set(spec) {
      const delay = { beforeFetchMs: delayOf(spec.beforeFetchMs, 'beforeFetchMs'), afterFetchMs: delayOf(spec.afterFetchMs, 'afterFetchMs') };
      if (spec.repositoryId === undefined) global = delay;
      else byRepository.set(spec.repositoryId, delay);
      return snapshot();
    },
    clear(repositoryId) {
      if (repositoryId === undefined) {
        global = NONE;
        byRepository.clear();
      } else byRepository.delete(repositoryId);
      for (const waiter of [...waiters]) if (repositoryId === undefined || waiter.repositoryId === repositoryId) waiter.end();
      return snapshot();
    },
    snapshot,
    wait(repositoryId, phase, signal) {
      const ms = (byRepository.get(repositoryId) ?? global)[phase];
      if (ms === 0 || signal.aborted) return Promise.resolve();
      return new Promise<void>((done) => {
        const waiter: Waiter = {
          repositoryId,
          end: () => {
            clearTimeout(timer);
            signal.removeEventListener('abort', waiter.end);
            waiters.delete(waiter);
            done();
          },
        };
        const timer = setTimeout(waiter.end, ms);
        signal.addEventListener('abort', waiter.end);
        waiters.add(waiter);
      });
    },
  };
}
