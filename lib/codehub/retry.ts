/**
 * When a failed CodeHub call is worth repeating, and how long to wait first. Pure: the clock, the
 * sleep and the dice are passed in, so every decision is testable without a network or a timer.
 *
 * The rules, and why:
 * - Repeat only what a repeat can fix: 429 (CodeHub's APIG shares 600 calls/min between every
 *   tenant, `APIG.0308`), 5xx, resets/refusals and timeouts.
 * - Never repeat an AK/SK signature failure: more than five in a row lock the access key. Never
 *   repeat any other 4xx; the one 401 worth repeating (an expired IAM token) is renewed and
 *   repeated once by the client itself, not here.
 * - With a gate shared by every caller (the client's `gate`), not even a 429: the gate pauses them
 *   all, and the caller's queue tries again later. Retrying here would multiply calls during a throttle.
 * - Only inside a deadline. Without one there is no budget to spend, so the call is made once.
 * - Exponential backoff with full jitter (a random wait below a doubling ceiling), so that pushes
 *   that failed together do not come back together; `Retry-After` is a floor.
 * - Never start a wait that ends past the deadline: fail at once with the last error instead, so
 *   the Git host gets an honest answer inside its window rather than a dropped connection.
 */
import { CodeHubError, ErrorCodes, type ErrorCode } from '../errors';

export interface RetryPolicy {
  /** Calls at most, the first included. @default 5 */
  readonly maxAttempts: number;
  /** Ceiling of the first wait after a 5xx, reset or timeout; doubles per retry. @default 200 */
  readonly baseMs: number;
  /** Ceiling of the first wait after a 429 without `Retry-After`; doubles per retry. @default 1000 */
  readonly throttledBaseMs: number;
  /** No wait ceiling grows past this. `Retry-After` may still ask for longer. @default 2000 */
  readonly capMs: number;
  /** A retry starts only when at least this much time is left after its wait. @default 200 */
  readonly minAttemptMs: number;
  /** Uniform in [0, 1). @default Math.random */
  readonly random: () => number;
  /** Whether a 429 is repeated here; the client sets `false` when it has a gate. @default true */
  readonly retryThrottled: boolean;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  maxAttempts: 5,
  baseMs: 200,
  throttledBaseMs: 1000,
  capMs: 2000,
  minAttemptMs: 200,
  random: Math.random,
  retryThrottled: true,
});

/** Failures another attempt may not meet. Everything else is final. */
const RETRYABLE: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  ErrorCodes.CODEHUB_THROTTLED,
  ErrorCodes.CODEHUB_SERVER_ERROR,
  ErrorCodes.CODEHUB_UNREACHABLE,
  ErrorCodes.CODEHUB_TIMEOUT,
]);

/** Whether another attempt may meet something else than `error`, attempts and time aside. */
function isRetryable(error: unknown, policy: { readonly retryThrottled?: boolean | undefined }): error is CodeHubError {
  if (!(error instanceof CodeHubError) || !RETRYABLE.has(error.code)) return false;
  return policy.retryThrottled !== false || error.code !== ErrorCodes.CODEHUB_THROTTLED;
}

/**
 * Whether a failure of call number `attempt` (1 = the first) may be followed by another call.
 * Ignores time; `decideRetry` adds the deadline. `retryThrottled` left out counts as `true`.
 */
export function shouldRetry(
  error: unknown,
  attempt: number,
  policy: Pick<RetryPolicy, 'maxAttempts'> & Partial<Pick<RetryPolicy, 'retryThrottled'>> = DEFAULT_RETRY_POLICY,
): boolean {
  if (attempt >= policy.maxAttempts) return false;
  return isRetryable(error, policy);
}

/** Full jitter: a uniform wait below `min(capMs, baseMs · 2^(attempt-1))`, in whole milliseconds. */
export function backoffDelayMs(
  attempt: number,
  options: { readonly baseMs: number; readonly capMs: number; readonly random: () => number },
): number {
  const ceiling = Math.min(options.capMs, options.baseMs * 2 ** Math.max(0, attempt - 1));
  const draw = options.random();
  // A broken random source must not turn into NaN (an immediate timer) or a wait past the ceiling.
  const unit = Number.isFinite(draw) ? Math.min(Math.max(draw, 0), 1) : 0;
  return Math.floor(unit * ceiling);
}

/**
 * The wait before the call after failed call number `attempt`. A `Retry-After` is waited in full,
 * plus a jitter below `baseMs` so that callers throttled together do not return together.
 */
export function retryDelayMs(error: CodeHubError, attempt: number, policy: RetryPolicy = DEFAULT_RETRY_POLICY): number {
  if (error.code !== ErrorCodes.CODEHUB_THROTTLED) return backoffDelayMs(attempt, policy);
  if (error.retryAfterSeconds === undefined) return backoffDelayMs(attempt, { ...policy, baseMs: policy.throttledBaseMs });
  return error.retryAfterSeconds * 1000 + backoffDelayMs(1, policy);
}

export type RetryDecision =
  | { readonly retry: true; readonly delayMs: number }
  | {
      readonly retry: false;
      /**
       * `final`: the failure is not one a repeat can fix. `attempts`: the policy's limit is reached.
       * `no-deadline`: the caller set no budget. `deadline`: the wait plus a useful attempt does not
       * fit in the time left.
       */
      readonly reason: 'final' | 'attempts' | 'no-deadline' | 'deadline';
    };

/** Whether and when to repeat a call that failed with `error`, given the time left. */
export function decideRetry(
  error: unknown,
  attempt: number,
  time: { readonly now: number; readonly deadline: number | undefined },
  policy: RetryPolicy = DEFAULT_RETRY_POLICY,
): RetryDecision {
  if (!isRetryable(error, policy)) return { retry: false, reason: 'final' };
  if (attempt >= policy.maxAttempts) return { retry: false, reason: 'attempts' };
  if (time.deadline === undefined) return { retry: false, reason: 'no-deadline' };
  const delayMs = retryDelayMs(error, attempt, policy);
  if (time.now + delayMs + policy.minAttemptMs > time.deadline) return { retry: false, reason: 'deadline' };
  return { retry: true, delayMs };
}

export interface RetryRun {
  /** Absolute deadline, epoch ms. Without it the call is made once. */
  readonly deadline: number | undefined;
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly policy: RetryPolicy;
  /** Told before each wait, for logging. */
  readonly onRetry?: (info: { readonly attempt: number; readonly error: CodeHubError; readonly delayMs: number }) => void;
}

type CodeHubErrorCode = ConstructorParameters<typeof CodeHubError>[0];

function isCodeHubErrorCode(code: ErrorCode): code is CodeHubErrorCode {
  return code.startsWith('CODEHUB_');
}

const GIVE_UP_REASONS = {
  attempts: 'no attempts left',
  deadline: 'the next retry would not fit in the time left',
} as const;

/** The last failure, its message saying how many calls were made and why the bridge stopped. */
function givenUp(error: CodeHubError, attempts: number, elapsedMs: number, reason: RetryDecision & { retry: false }): CodeHubError {
  const why = reason.reason === 'attempts' || reason.reason === 'deadline' ? `; ${GIVE_UP_REASONS[reason.reason]}` : '';
  if (attempts === 1 && why === '') return error;
  return new CodeHubError(
    isCodeHubErrorCode(error.code) ? error.code : ErrorCodes.CODEHUB_UNREACHABLE,
    `${error.message} (${attempts} ${attempts === 1 ? 'call' : 'calls'} in ${elapsedMs} ms${why})`,
    {
      status: error.status,
      serviceCode: error.serviceCode,
      serviceMessage: error.serviceMessage,
      retryAfterSeconds: error.retryAfterSeconds,
      cause: error,
    },
  );
}

/**
 * Runs `call` (given its attempt number) until it succeeds or `decideRetry` says stop, then
 * rethrows the last failure, its message extended with the number of calls made.
 */
export async function withRetry<T>(call: (attempt: number) => Promise<T>, run: RetryRun): Promise<T> {
  const started = run.now();
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await call(attempt);
    } catch (error) {
      if (!(error instanceof CodeHubError)) throw error;
      const decision = decideRetry(error, attempt, { now: run.now(), deadline: run.deadline }, run.policy);
      if (!decision.retry) throw givenUp(error, attempt, run.now() - started, decision);
      run.onRetry?.({ attempt, error, delayMs: decision.delayMs });
      if (decision.delayMs > 0) await run.sleep(decision.delayMs);
    }
  }
}

/** `setTimeout` as a promise. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
