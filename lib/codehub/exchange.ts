/**
 * One CodeHub call, start to finish: authorize, send, map the answer, and repeat it by the policy of
 * `./retry` (429, 5xx, resets, timeouts; only inside the caller's deadline). A call whose IAM token
 * was refused is repeated once after the authenticator renewed it, once per call however many
 * retries. A signature failure is never repeated: more than five in a row lock the access key.
 * With a `CallGate`, every attempt waits for the gate's admission, and a 429 is reported to it.
 */
import { settleWithin } from '../deadline';
import { CodeHubError, ErrorCodes } from '../errors';
import type { Logger } from '../observability/log';
import { redactText } from '../observability/redact';
import type { AuthHeaders, Authenticator } from './auth';
import { errorFromResponse, isSignatureFailure, readServiceError, serverCanonicalRequest } from './response';
import { withRetry, type RetryPolicy } from './retry';
import { codeHubErrorFromTransportFailure, type Transport, type TransportResponse } from './transport';
import type { CallGate, CallKind, CallOptions } from './types';
import { canonicalRequestOfSigned } from './verify';

/** Every call sends JSON (or nothing), and the AK/SK signer signs this header with the rest. */
const JSON_CONTENT = { 'Content-Type': 'application/json' } as const;

/** How long the gate pauses every caller after a 429 that says nothing of when to come back. */
const THROTTLE_PAUSE_WITHOUT_RETRY_AFTER_S = 10;

/** A sync (POST) and a read (GET) draw on different budgets. */
const KIND_OF_METHOD: Readonly<Record<Exchange['method'], CallKind>> = { POST: 'trigger', GET: 'read' };

/** What every call of one client shares. */
export interface CallContext {
  /** CodeHub base URL with any path prefix, no trailing slash. */
  readonly baseUrl: string;
  readonly auth: Authenticator;
  readonly transport: Transport;
  readonly now: () => number;
  readonly logger: Logger;
  readonly retryPolicy: RetryPolicy;
  readonly sleep: (ms: number) => Promise<void>;
  readonly connectTimeoutMs: number;
  readonly timeoutMs: number;
  /** Admits every attempt against a budget shared with other clients. Without it, none is asked. */
  readonly gate?: CallGate | undefined;
}

export interface Exchange {
  /** For messages and logs, e.g. `start mirror sync of repository 7`. */
  readonly operation: string;
  readonly method: 'GET' | 'POST';
  /** Path and query below the endpoint, e.g. `/v4/repositories/1/remote-mirror`. */
  readonly path: string;
  /** The exact bytes sent, and signed. */
  readonly body: Buffer;
  /** Values the answer may echo (the source password it carries): redacted from errors and logs. */
  readonly secrets: readonly string[];
}

/** The state of one call across its attempts. */
interface Attempts {
  readonly context: CallContext;
  readonly exchange: Exchange;
  readonly url: URL;
  readonly deadline: number | undefined;
  /** The authenticator renewed its credentials once already: a second 401 is final. */
  renewed: boolean;
}

/**
 * What the gate refused an attempt with, carried through `withRetry` untouched (it repeats only
 * `CodeHubError`s): no call was made, and the gate already said when to come back.
 */
class GateRefusal extends Error {
  readonly refusal: unknown;

  constructor(refusal: unknown) {
    super('the CodeHub call gate refused the call');
    this.refusal = refusal;
  }
}

/**
 * Makes `exchange` until it is answered 200 or the retry policy stops, inside `options.deadline`.
 * Resolves with the 200 answer; rejects with `CodeHubError`, or with what the gate refused an attempt with.
 */
export async function makeCall(context: CallContext, exchange: Exchange, options: CallOptions = {}): Promise<TransportResponse> {
  const call: Attempts = { context, exchange, url: new URL(`${context.baseUrl}${exchange.path}`), deadline: options.deadline, renewed: false };
  try {
    return await attemptWithRetries(call);
  } catch (error) {
    throw error instanceof GateRefusal ? error.refusal : error;
  }
}

function attemptWithRetries(call: Attempts): Promise<TransportResponse> {
  const { context, exchange } = call;
  return withRetry(() => attemptOnce(call), {
    deadline: call.deadline,
    now: context.now,
    sleep: context.sleep,
    policy: context.retryPolicy,
    onRetry: ({ attempt, error, delayMs }) => {
      context.logger.warn('CodeHub call failed; retrying', {
        operation: exchange.operation,
        attempt,
        code: error.code,
        status: error.status,
        serviceCode: error.serviceCode,
        retryAfterSeconds: error.retryAfterSeconds,
        delayMs,
      });
    },
  });
}

/**
 * Milliseconds left before the deadline (undefined without one): every attempt gets what is left,
 * so the call with its retries ends by the deadline. Throws CODEHUB_TIMEOUT once it has passed.
 */
function timeLeft(call: Attempts): number | undefined {
  if (call.deadline === undefined) return undefined;
  const remaining = call.deadline - call.context.now();
  if (remaining <= 0) {
    throw new CodeHubError(ErrorCodes.CODEHUB_TIMEOUT, `CodeHub ${call.exchange.operation}: the deadline passed before the call`);
  }
  return remaining;
}

/** One attempt: sends, and sends again once after a 401 when the authenticator renewed its token. */
async function attemptOnce(call: Attempts): Promise<TransportResponse> {
  const { context, exchange } = call;
  for (;;) {
    const authHeaders = await authorize(call);
    const headers = { ...JSON_CONTENT, ...authHeaders };
    // Asked after authorizing, so that the admitted turn is the moment the call goes out.
    await admit(call);
    const response = await send(call, headers);
    if (response.status === 200) return response;
    if (isSignatureFailure(response)) logSignatureFailure(call, headers, response);
    else if (response.status === 401 && !call.renewed && context.auth.onUnauthorized?.(authHeaders)) {
      call.renewed = true;
      context.logger.info('CodeHub answered 401; renewed the token, repeating the call once', {
        operation: exchange.operation,
        serviceCode: readServiceError(response.body).code,
      });
      continue;
    }
    const error = errorFromResponse(response, exchange.operation, context.now(), exchange.secrets);
    if (error.code === ErrorCodes.CODEHUB_THROTTLED) await reportThrottle(call, error);
    throw error;
  }
}

/** Waits for the gate's turn, if there is a gate; its refusal leaves the retries (see `GateRefusal`). */
async function admit(call: Attempts): Promise<void> {
  const { gate } = call.context;
  if (gate === undefined) return;
  try {
    await gate.admit(KIND_OF_METHOD[call.exchange.method], call.exchange.operation, call.deadline);
  } catch (refusal) {
    throw new GateRefusal(refusal);
  }
}

/** Tells the gate that CodeHub throttles, so that it pauses every caller, not only this one. */
async function reportThrottle(call: Attempts, error: CodeHubError): Promise<void> {
  const { context, exchange } = call;
  if (context.gate === undefined) return;
  const until = context.now() + (error.retryAfterSeconds ?? THROTTLE_PAUSE_WITHOUT_RETRY_AFTER_S) * 1000;
  try {
    await context.gate.throttled(until);
  } catch (failure) {
    // It should never reject; if it does, the caller still gets CodeHub's answer, not the gate's failure.
    context.logger.warn('The CodeHub call gate could not record a throttle', {
      operation: exchange.operation,
      until,
      reason: failure instanceof Error ? failure.message : String(failure),
    });
  }
}

/** The call's authorization headers; a token still being fetched is waited for only until the deadline. */
async function authorize(call: Attempts): Promise<AuthHeaders> {
  const { context, exchange, url } = call;
  try {
    const pending = context.auth.authorize({ method: exchange.method, url, headers: JSON_CONTENT, body: exchange.body });
    return await settleWithin(pending, timeLeft(call), `CodeHub ${exchange.operation} (authorization)`);
  } catch (error) {
    if (error instanceof CodeHubError) throw error;
    throw new CodeHubError(ErrorCodes.CODEHUB_AUTH_FAILED, `CodeHub ${exchange.operation}: could not authorize the call`, { cause: error });
  }
}

async function send(call: Attempts, headers: Record<string, string>): Promise<TransportResponse> {
  const { context, exchange, url } = call;
  const started = Date.now();
  let response: TransportResponse;
  try {
    response = await context.transport({
      origin: url.origin,
      path: `${url.pathname}${url.search}`,
      method: exchange.method,
      headers,
      body: exchange.body,
      connectTimeoutMs: context.connectTimeoutMs,
      timeoutMs: context.timeoutMs,
      // Measured after authorizing: a token fetch may have used some of the time.
      totalTimeoutMs: timeLeft(call),
    });
  } catch (error) {
    const failure = codeHubErrorFromTransportFailure(error, `${exchange.method} ${url.origin}${url.pathname}`);
    context.logger.warn('CodeHub call failed without an answer', {
      operation: exchange.operation,
      code: failure.code,
      reason: failure.message,
      durationMs: Date.now() - started,
    });
    throw failure;
  }
  context.logger.debug('CodeHub answered', {
    operation: exchange.operation,
    method: exchange.method,
    path: url.pathname,
    status: response.status,
    serviceCode: response.status === 200 ? undefined : readServiceError(response.body).code,
    durationMs: Date.now() - started,
  });
  return response;
}

/** Logs APIG's canonical request next to ours: the difference is what broke the signature. */
function logSignatureFailure(call: Attempts, sent: Record<string, string>, response: TransportResponse): void {
  const { context, exchange, url } = call;
  const { message } = readServiceError(response.body);
  const ours = canonicalRequestOfSigned({
    method: exchange.method,
    pathAndQuery: `${url.pathname}${url.search}`,
    headers: { ...sent, host: url.host },
    body: exchange.body,
  });
  const theirs = message === undefined ? undefined : serverCanonicalRequest(message);
  context.logger.error('CodeHub rejected the AK/SK signature; not retrying (repeated failures lock the access key)', {
    operation: exchange.operation,
    status: response.status,
    serverCanonicalRequest: theirs === undefined ? undefined : redactText(theirs, exchange.secrets),
    clientCanonicalRequest: ours === undefined ? undefined : redactText(ours, exchange.secrets),
  });
}
