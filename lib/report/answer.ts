/**
 * What a host's answer to a status request means for the reporter. Pure: the status, the headers
 * and the time are given. The rules, in order:
 * 1. 2xx: the status is set (so is GitLab's 400 "Cannot transition status": it has that state already).
 * 2. A rate limit, whatever the code: 429, or GitHub's secondary limits (a 403 with `Retry-After`,
 *    `x-ratelimit-remaining: 0` with `x-ratelimit-reset`, or a body saying "secondary rate limit",
 *    which GitHub documents may come with no header at all). Wait that long, then send again.
 * 3. 401 or 403: the token is rejected. Reporting stops for this reporter (not one error per push).
 * 4. 408 and 5xx: the host failed; send again later.
 * 5. Any other 4xx (404 a repository the token cannot see, 422 a SHA the host does not have): this
 *    status will never be taken; it is dropped.
 */

export type StatusAnswer =
  | { readonly kind: 'accepted'; readonly status: number }
  | { readonly kind: 'throttled'; readonly status: number; readonly retryAfterMs: number }
  | { readonly kind: 'rejected'; readonly status: number }
  | { readonly kind: 'unavailable'; readonly status: number | undefined; readonly detail: string }
  | { readonly kind: 'refused'; readonly status: number; readonly detail: string };

/** How long to wait on a rate limit that names no time: GitHub's advice for its secondary limits. */
export const DEFAULT_THROTTLE_MS = 60_000;
/** The longest wait a host's headers can ask for: past it, the next try asks again. */
export const MAX_THROTTLE_MS = 900_000;

/** Lower-case header names; a repeated header as its first value. */
export type AnswerHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

/** The meaning of `status` with `headers`, received at `now` (epoch ms); `detail` is a short, already scrubbed text. */
export function classifyStatusAnswer(status: number, headers: AnswerHeaders, now: number, detail = ''): StatusAnswer {
  if (status >= 200 && status < 300) return { kind: 'accepted', status };
  // GitLab answers a status posted again in the state it has (pending twice) with this 400: it is set.
  if (status === 400 && /cannot transition status/i.test(detail)) return { kind: 'accepted', status };
  const wait = rateLimitWaitMs(status, headers, now, detail);
  if (wait !== undefined) return { kind: 'throttled', status, retryAfterMs: wait };
  if (status === 401 || status === 403) return { kind: 'rejected', status };
  if (status === 408 || status >= 500) return { kind: 'unavailable', status, detail };
  return { kind: 'refused', status, detail };
}

/** The wait a rate-limited answer asks for, clamped to 1 s..15 min; undefined when the answer is no rate limit. */
function rateLimitWaitMs(status: number, headers: AnswerHeaders, now: number, detail: string): number | undefined {
  const retryAfter = retryAfterMs(header(headers, 'retry-after'), now);
  const exhausted = header(headers, 'x-ratelimit-remaining')?.trim() === '0';
  const resetAt = Number(header(headers, 'x-ratelimit-reset'));
  const untilReset = exhausted && Number.isFinite(resetAt) && resetAt > 0 ? resetAt * 1000 - now : undefined;
  const secondary = status === 403 && /secondary rate limit/i.test(detail);
  const limited = status === 429 || ((status === 403 || status === 503) && retryAfter !== undefined) || (status === 403 && (exhausted || secondary));
  if (!limited) return undefined;
  const wait = retryAfter ?? untilReset ?? DEFAULT_THROTTLE_MS;
  return Math.min(MAX_THROTTLE_MS, Math.max(1000, wait));
}

/** `Retry-After` in ms: delta-seconds or an HTTP date (`… GMT`); undefined when absent or unreadable. */
export function retryAfterMs(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // Date.parse reads "1.5" or "-1" as dates in 2001: only an HTTP date is taken as one.
  if (!/GMT$/.test(trimmed)) return undefined;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function header(headers: AnswerHeaders, name: string): string | undefined {
  const value = headers[name];
  return typeof value === 'string' ? value : value?.[0];
}
