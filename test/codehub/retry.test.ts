import { describe, expect, it } from 'vitest';
import type { Authenticator } from '../../lib/codehub/auth';
import { createStaticTokenAuthenticator } from '../../lib/codehub/auth';
import { createCodeHubClient } from '../../lib/codehub/client';
import {
  DEFAULT_RETRY_POLICY,
  backoffDelayMs,
  decideRetry,
  retryDelayMs,
  shouldRetry,
  withRetry,
  type RetryPolicy,
} from '../../lib/codehub/retry';
import type { Transport, TransportRequest, TransportResponse } from '../../lib/codehub/transport';
import { CodeHubError, ErrorCodes } from '../../lib/errors';

const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, random: () => 0.5 };

function failure(code: ConstructorParameters<typeof CodeHubError>[0], details: ConstructorParameters<typeof CodeHubError>[2] = {}): CodeHubError {
  return new CodeHubError(code, `failed with ${code}`, details);
}

/** A clock that only moves when the code under test sleeps. */
function virtualTime(start = 1_000_000) {
  let time = start;
  const sleeps: number[] = [];
  return {
    now: () => time,
    sleep: (ms: number) => {
      sleeps.push(ms);
      time += ms;
      return Promise.resolve();
    },
    advance: (ms: number) => {
      time += ms;
    },
    sleeps,
  };
}

describe('shouldRetry', () => {
  it.each([
    [ErrorCodes.CODEHUB_THROTTLED, true],
    [ErrorCodes.CODEHUB_SERVER_ERROR, true],
    [ErrorCodes.CODEHUB_UNREACHABLE, true],
    [ErrorCodes.CODEHUB_TIMEOUT, true],
    [ErrorCodes.CODEHUB_SIGNATURE_FAILED, false],
    [ErrorCodes.CODEHUB_AUTH_FAILED, false],
    [ErrorCodes.CODEHUB_REJECTED, false],
    [ErrorCodes.CODEHUB_BAD_RESPONSE, false],
  ] as const)('answers %s → %s', (code, expected) => {
    // Act
    const verdict = shouldRetry(failure(code), 1);
    // Assess
    expect(verdict).toBe(expected);
  });

  it('never retries something that is not a CodeHubError', () => {
    // Act
    const verdicts = [new Error('boom'), 'text', undefined].map((error) => shouldRetry(error, 1));
    // Assess
    expect(verdicts).toEqual([false, false, false]);
  });

  it('stops at the attempt limit', () => {
    // Prepare
    const error = failure(ErrorCodes.CODEHUB_SERVER_ERROR);
    // Act
    const verdicts = [1, 4, 5, 6].map((attempt) => shouldRetry(error, attempt, { maxAttempts: 5 }));
    // Assess
    expect(verdicts).toEqual([true, true, false, false]);
  });
});

describe('backoffDelayMs', () => {
  it('draws below a doubling ceiling (full jitter)', () => {
    // Act
    const highest = [1, 2, 3, 4].map((attempt) => backoffDelayMs(attempt, { baseMs: 100, capMs: 10_000, random: () => 0.999999 }));
    const lowest = [1, 2, 3, 4].map((attempt) => backoffDelayMs(attempt, { baseMs: 100, capMs: 10_000, random: () => 0 }));
    // Assess
    expect(highest).toEqual([99, 199, 399, 799]);
    expect(lowest).toEqual([0, 0, 0, 0]);
  });

  it('never grows past the cap', () => {
    // Act
    const delay = backoffDelayMs(30, { baseMs: 100, capMs: 2000, random: () => 0.999999 });
    // Assess
    expect(delay).toBe(1999);
  });

  it('stays inside [0, ceiling) even for a misbehaving random source', () => {
    // Act
    const delays = [-1, 2, Number.NaN].map((r) => backoffDelayMs(1, { baseMs: 100, capMs: 100, random: () => r }));
    // Assess
    expect(delays).toEqual([0, 100, 0]);
  });
});

describe('retryDelayMs', () => {
  it('waits at least Retry-After on a 429', () => {
    // Act
    const delay = retryDelayMs(failure(ErrorCodes.CODEHUB_THROTTLED, { retryAfterSeconds: 3 }), 1, policy);
    // Assess
    expect(delay).toBeGreaterThanOrEqual(3000);
    expect(delay).toBeLessThan(3000 + policy.baseMs);
  });

  it('backs off longer after a 429 without Retry-After than after a 500', () => {
    // Act
    const throttled = retryDelayMs(failure(ErrorCodes.CODEHUB_THROTTLED), 1, policy);
    const serverError = retryDelayMs(failure(ErrorCodes.CODEHUB_SERVER_ERROR), 1, policy);
    // Assess
    expect(throttled).toBe(500);
    expect(serverError).toBe(100);
  });
});

describe('decideRetry', () => {
  it('does not retry without a deadline: no budget, no retry', () => {
    // Act
    const decision = decideRetry(failure(ErrorCodes.CODEHUB_SERVER_ERROR), 1, { now: 0, deadline: undefined }, policy);
    // Assess
    expect(decision).toEqual({ retry: false, reason: 'no-deadline' });
  });

  it('does not start a wait that, with a useful attempt, would end past the deadline', () => {
    // Prepare
    const throttled = failure(ErrorCodes.CODEHUB_THROTTLED, { retryAfterSeconds: 2 });
    // Act
    const tooLate = decideRetry(throttled, 1, { now: 0, deadline: 2100 }, policy);
    const inTime = decideRetry(throttled, 1, { now: 0, deadline: 5000 }, policy);
    // Assess
    expect(tooLate).toEqual({ retry: false, reason: 'deadline' });
    expect(inTime).toMatchObject({ retry: true });
  });

  it('calls a signature failure final whatever the time left', () => {
    // Act
    const decision = decideRetry(failure(ErrorCodes.CODEHUB_SIGNATURE_FAILED, { status: 401 }), 1, { now: 0, deadline: 60_000 }, policy);
    // Assess
    expect(decision).toEqual({ retry: false, reason: 'final' });
  });
});

describe('withRetry', () => {
  it('repeats a 429 twice and returns the third answer, waiting as asked', async () => {
    // Prepare
    const time = virtualTime();
    let calls = 0;
    // Act
    const result = await withRetry(
      () => {
        calls += 1;
        if (calls <= 2) return Promise.reject(failure(ErrorCodes.CODEHUB_THROTTLED, { status: 429, retryAfterSeconds: 1 }));
        return Promise.resolve('jid');
      },
      { deadline: time.now() + 8000, now: time.now, sleep: time.sleep, policy },
    );
    // Assess
    expect(result).toBe('jid');
    expect(calls).toBe(3);
    expect(time.sleeps.every((ms) => ms >= 1000)).toBe(true);
  });

  it('gives up with the last error when the next wait would pass the deadline, saying so', async () => {
    // Prepare
    const time = virtualTime();
    let calls = 0;
    // Act
    const error = await withRetry(
      () => {
        calls += 1;
        time.advance(400);
        return Promise.reject(failure(ErrorCodes.CODEHUB_SERVER_ERROR, { status: 500, serviceCode: 'CH.000001' }));
      },
      { deadline: time.now() + 1000, now: time.now, sleep: time.sleep, policy },
    ).catch((e: unknown) => e);
    // Assess
    expect(error).toBeInstanceOf(CodeHubError);
    expect(error).toMatchObject({ code: ErrorCodes.CODEHUB_SERVER_ERROR, status: 500, serviceCode: 'CH.000001' });
    expect((error as Error).message).toMatch(/2 calls in \d+ ms; the next retry would not fit in the time left/);
    expect(calls).toBe(2);
    expect(time.now()).toBeLessThanOrEqual(1_000_000 + 1000);
  });

  it('stops at maxAttempts with plenty of time left', async () => {
    // Prepare
    const time = virtualTime();
    let calls = 0;
    // Act
    const error = await withRetry(
      () => {
        calls += 1;
        return Promise.reject(failure(ErrorCodes.CODEHUB_UNREACHABLE));
      },
      { deadline: time.now() + 600_000, now: time.now, sleep: time.sleep, policy: { ...policy, maxAttempts: 3 } },
    ).catch((e: unknown) => e);
    // Assess
    expect(calls).toBe(3);
    expect((error as Error).message).toContain('no attempts left');
  });

  it('rethrows a final failure at once, unchanged', async () => {
    // Prepare
    const time = virtualTime();
    const rejected = failure(ErrorCodes.CODEHUB_REJECTED, { status: 404 });
    // Act
    const error = await withRetry(() => Promise.reject(rejected), { deadline: time.now() + 8000, now: time.now, sleep: time.sleep, policy }).catch(
      (e: unknown) => e,
    );
    // Assess
    expect(error).toBe(rejected);
    expect(time.sleeps).toEqual([]);
  });
});

interface Scripted {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
}

/** A transport that answers from a script, one entry per call (the last repeats), and records calls. */
function scriptedTransport(script: readonly (Scripted | Error)[]): Transport & { calls: TransportRequest[] } {
  const calls: TransportRequest[] = [];
  const transport = (request: TransportRequest): Promise<TransportResponse> => {
    calls.push(request);
    const next = script[Math.min(calls.length, script.length) - 1];
    if (next === undefined || next instanceof Error) return Promise.reject(next ?? new Error('empty script'));
    const body = typeof next.body === 'string' ? next.body : JSON.stringify(next.body ?? {});
    return Promise.resolve({ status: next.status, headers: next.headers ?? {}, body });
  };
  return Object.assign(transport, { calls });
}

function retryingClient(transport: Transport, extra: { auth?: Authenticator } = {}) {
  const time = virtualTime(Date.now());
  const codehub = createCodeHubClient({
    endpoint: 'https://codehub.test',
    auth: extra.auth ?? createStaticTokenAuthenticator('token'),
    transport,
    now: time.now,
    sleep: time.sleep,
    retry: { random: () => 0.5 },
  });
  return { codehub, time };
}

const JID = { status: 200, body: { jid: 'job-1' } };
const SERVER_ERROR = { status: 500, body: { error_code: 'CH.000001', error_msg: 'internal error' } };
const THROTTLED = { status: 429, headers: { 'retry-after': '1' }, body: { error_code: 'APIG.0308', error_msg: 'The throttling threshold has been reached' } };
const SIGNATURE_FAILED = { status: 401, body: { error_code: 'APIG.0301', error_msg: 'Incorrect IAM authentication information: verify aksk signature fail' } };
const TOKEN_EXPIRED = { status: 401, body: { error_code: 'APIG.0301', error_msg: 'Incorrect IAM authentication information: x-auth-token expired' } };

describe('createCodeHubClient with retries', () => {
  it('repeats startMirrorSync after 5xx and a reset, inside the deadline', async () => {
    // Prepare
    const reset = Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' });
    const transport = scriptedTransport([SERVER_ERROR, reset, JID]);
    const { codehub, time } = retryingClient(transport);
    // Act
    const result = await codehub.startMirrorSync(7, { forceFetch: true }, { deadline: time.now() + 8000 });
    // Assess
    expect(result).toEqual({ jid: 'job-1' });
    expect(transport.calls).toHaveLength(3);
    // The same bytes every time: a retry is the same request, re-signed.
    expect(new Set(transport.calls.map((c) => c.body.toString())).size).toBe(1);
  });

  it('honours Retry-After between 429s', async () => {
    // Prepare
    const transport = scriptedTransport([THROTTLED, THROTTLED, JID]);
    const { codehub, time } = retryingClient(transport);
    // Act
    await codehub.startMirrorSync(7, { forceFetch: true }, { deadline: time.now() + 8000 });
    // Assess
    expect(transport.calls).toHaveLength(3);
    expect(time.sleeps).toHaveLength(2);
    expect(time.sleeps.every((ms) => ms >= 1000)).toBe(true);
  });

  it('makes exactly one call for an AK/SK signature failure', async () => {
    // Prepare
    const transport = scriptedTransport([SIGNATURE_FAILED, JID]);
    const { codehub, time } = retryingClient(transport);
    // Act
    const error = await codehub.startMirrorSync(7, { forceFetch: true }, { deadline: time.now() + 8000 }).catch((e: unknown) => e);
    // Assess
    expect(error).toMatchObject({ code: ErrorCodes.CODEHUB_SIGNATURE_FAILED });
    expect(transport.calls).toHaveLength(1);
  });

  it.each([400, 403, 404])('makes exactly one call for HTTP %i', async (status) => {
    // Prepare
    const transport = scriptedTransport([{ status, body: { error_code: 'CH.004404', error_msg: 'no' } }, JID]);
    const { codehub, time } = retryingClient(transport);
    // Act
    const error = await codehub.startMirrorSync(7, { forceFetch: true }, { deadline: time.now() + 8000 }).catch((e: unknown) => e);
    // Assess
    expect(error).toMatchObject({ code: ErrorCodes.CODEHUB_REJECTED, status });
    expect(transport.calls).toHaveLength(1);
  });

  it('makes one call without a deadline', async () => {
    // Prepare
    const transport = scriptedTransport([SERVER_ERROR, JID]);
    const { codehub } = retryingClient(transport);
    // Act
    const error = await codehub.startMirrorSync(7, { forceFetch: true }).catch((e: unknown) => e);
    // Assess
    expect(error).toMatchObject({ code: ErrorCodes.CODEHUB_SERVER_ERROR });
    expect(transport.calls).toHaveLength(1);
  });

  it('answers a Retry-After longer than the time left at once, with the throttling error', async () => {
    // Prepare
    const transport = scriptedTransport([{ ...THROTTLED, headers: { 'retry-after': '30' } }, JID]);
    const { codehub, time } = retryingClient(transport);
    // Act
    const error = await codehub.startMirrorSync(7, { forceFetch: true }, { deadline: time.now() + 8000 }).catch((e: unknown) => e);
    // Assess
    expect(error).toMatchObject({ code: ErrorCodes.CODEHUB_THROTTLED, retryAfterSeconds: 30 });
    expect(transport.calls).toHaveLength(1);
    expect(time.sleeps).toEqual([]);
  });

  it('renews an expired token once per call, however many retries', async () => {
    // Prepare
    let renewals = 0;
    let token = 'token-1';
    const auth: Authenticator = {
      kind: 'iam',
      authorize: () => Promise.resolve({ 'X-Auth-Token': token }),
      onUnauthorized: () => {
        renewals += 1;
        token = `token-${renewals + 1}`;
        return true;
      },
    };
    const transport = scriptedTransport([TOKEN_EXPIRED, SERVER_ERROR, TOKEN_EXPIRED, JID]);
    const { codehub, time } = retryingClient(transport, { auth });
    // Act
    const error = await codehub.startMirrorSync(7, { forceFetch: true }, { deadline: time.now() + 8000 }).catch((e: unknown) => e);
    // Assess
    expect(renewals).toBe(1);
    expect(error).toMatchObject({ code: ErrorCodes.CODEHUB_AUTH_FAILED });
    expect(transport.calls.map((c) => c.headers['X-Auth-Token'])).toEqual(['token-1', 'token-2', 'token-2']);
  });

  it('retries getMirrorStatus too', async () => {
    // Prepare
    const transport = scriptedTransport([SERVER_ERROR, { status: 200, body: { repository_id: 7, update_status: 'success' } }]);
    const { codehub, time } = retryingClient(transport);
    // Act
    const status = await codehub.getMirrorStatus(7, { deadline: time.now() + 8000 });
    // Assess
    expect(status.updateStatus).toBe('success');
    expect(transport.calls).toHaveLength(2);
  });

  it('retries resolveRepositoryId after a 429, waiting the Retry-After, inside the deadline', async () => {
    // Prepare
    const transport = scriptedTransport([THROTTLED, { status: 200, body: { result: 2111111, status: 'success' } }]);
    const { codehub, time } = retryingClient(transport);
    // Act
    const id = await codehub.resolveRepositoryId('acme', 'api', { deadline: time.now() + 3000 });
    // Assess
    expect(id).toBe(2111111);
    expect(transport.calls).toHaveLength(2);
    expect(time.sleeps[0]).toBeGreaterThanOrEqual(1000);
  });

  it("gives resolveRepositoryId's every attempt only the time left before the deadline", async () => {
    // Prepare
    const transport = scriptedTransport([SERVER_ERROR, { status: 200, body: { result: 7, status: 'success' } }]);
    const { codehub, time } = retryingClient(transport);
    // Act
    await codehub.resolveRepositoryId('acme', 'api', { deadline: time.now() + 3000 });
    // Assess: the second attempt starts after the first one's backoff.
    expect(transport.calls.map((call) => call.totalTimeoutMs)).toEqual([3000, 3000 - (time.sleeps[0] ?? 0)]);
  });

  it('makes exactly one resolveRepositoryId call for an AK/SK signature failure', async () => {
    // Prepare
    const transport = scriptedTransport([SIGNATURE_FAILED, { status: 200, body: { result: 7, status: 'success' } }]);
    const { codehub, time } = retryingClient(transport);
    // Act
    const error = await codehub.resolveRepositoryId('acme', 'api', { deadline: time.now() + 8000 }).catch((e: unknown) => e);
    // Assess
    expect(error).toMatchObject({ code: ErrorCodes.CODEHUB_SIGNATURE_FAILED });
    expect(transport.calls).toHaveLength(1);
  });

  it('makes every call once with retry: false', async () => {
    // Prepare
    const transport = scriptedTransport([SERVER_ERROR, JID]);
    const codehub = createCodeHubClient({ endpoint: 'https://codehub.test', auth: createStaticTokenAuthenticator('t'), transport, retry: false });
    // Act
    const error = await codehub.startMirrorSync(7, { forceFetch: true }, { deadline: Date.now() + 8000 }).catch((e: unknown) => e);
    // Assess
    expect(error).toMatchObject({ code: ErrorCodes.CODEHUB_SERVER_ERROR });
    expect(transport.calls).toHaveLength(1);
  });
});
