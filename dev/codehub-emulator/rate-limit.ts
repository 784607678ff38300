/**
 * APIG's rate limit, as CodeHub enforces it: at most `perMinute` calls admitted per API in any sliding
 * 60 s window (CodeHub's quota is 600 calls/min per API per region, shared by every tenant). A call past
 * it is answered 429 `APIG.0308` with `Retry-After`: the whole seconds until the oldest admitted call of
 * the window leaves it. Refused calls do not count. Off by default; the storm simulation turns it on.
 */

export interface RateLimitSpec {
  /** Calls admitted per API in any 60 s window. */
  readonly perMinute: number;
}

export type RateDecision = { readonly ok: true } | { readonly ok: false; readonly retryAfterSeconds: number };

export interface RateLimitSnapshot {
  readonly perMinute: number | null;
  /** Per API, the calls admitted in the last 60 s. */
  readonly admitted: Readonly<Record<string, number>>;
}

export interface RateLimit {
  set(spec: RateLimitSpec): RateLimitSnapshot;
  clear(): RateLimitSnapshot;
  /** Admits one call to `api` at `now` (epoch ms), or says how long to wait. */
  take(api: string, now: number): RateDecision;
  snapshot(now: number): RateLimitSnapshot;
}

const WINDOW_MS = 60_000;

export function createRateLimit(initial?: RateLimitSpec): RateLimit {
  let perMinute: number | undefined = initial?.perMinute;
  /** Admission times per API, oldest first. */
  const windows = new Map<string, number[]>();

  const live = (api: string, now: number): number[] => {
    const times = windows.get(api) ?? [];
    let expired = 0;
    while (expired < times.length && (times[expired] ?? 0) <= now - WINDOW_MS) expired += 1;
    if (expired > 0) times.splice(0, expired);
    windows.set(api, times);
    return times;
  };

  const snapshot = (now: number): RateLimitSnapshot => ({
    perMinute: perMinute ?? null,
    admitted: Object.fromEntries([...windows.keys()].map((api) => [api, live(api, now).length])),
  });

  return {
    set(spec) {
      perMinute = spec.perMinute;
      return snapshot(Date.now());
    },
    clear() {
      perMinute = undefined;
      windows.clear();
      return snapshot(Date.now());
    },
    take(api, now) {
      if (perMinute === undefined) return { ok: true };
      const times = live(api, now);
      if (times.length < perMinute) {
        times.push(now);
        return { ok: true };
      }
      const oldest = times[0] ?? now;
      return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((oldest + WINDOW_MS - now) / 1000)) };
    },
    snapshot,
  };
}

/** Validates an admin body `{perMinute}`; throws `RangeError` naming the field. */
export function parseRateLimitSpec(value: unknown): RateLimitSpec {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new RangeError('the body must be a JSON object {perMinute}');
  const unknown = Object.keys(value).filter((key) => key !== 'perMinute');
  if (unknown.length > 0) throw new RangeError(`unknown field(s): ${unknown.join(', ')}; expected perMinute`);
  const { perMinute } = value as { perMinute?: unknown };
  if (typeof perMinute !== 'number' || !Number.isInteger(perMinute) || perMinute < 1 || perMinute > 1_000_000) {
    throw new RangeError('perMinute must be an integer from 1 to 1000000');
  }
  return { perMinute };
}
