/**
 * The HTTP seam of the CodeHub client. `Transport` is what the client and the IAM authenticator
 * call; tests and emulators can pass their own. The default, `undiciTransport`, keeps one
 * keep-alive undici `Pool` per origin for the life of the warm container, with every timeout
 * explicit (undici's own defaults are 300 s, far past any webhook sender's patience).
 */
import type { Dispatcher, Pool as PoolType } from 'undici';
// Deep import on purpose: `from 'undici'` bundles all of undici and roughly triples cold start.
import Pool from 'undici/lib/dispatcher/pool.js';
import { CodeHubError, ErrorCodes } from '../errors';

export interface TransportRequest {
  /** `https://host[:port]`, no path. */
  readonly origin: string;
  /** Path and query as they go on the request line. */
  readonly path: string;
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  /** The exact bytes to send (a string goes as UTF-8); ignored for an empty GET/HEAD. */
  readonly body: string | Buffer;
  /** TCP+TLS connect timeout, ms. @default 2000 */
  readonly connectTimeout?: number;
  /**
   * Wait for the response headers, and at most between two body chunks, ms. undici checks these on
   * a ~0.5 s tick, so a timeout fires up to half a second late; `signal` is exact.
   */
  readonly timeoutMs: number;
  /** Aborts the call (the caller's overall deadline); the call then fails with CODEHUB_TIMEOUT. */
  readonly signal?: AbortSignal;
}

export interface TransportResponse {
  readonly status: number;
  /** Lower-case names; repeated headers joined with `, `. */
  readonly headers: Readonly<Record<string, string>>;
  /** The body decoded as UTF-8. */
  readonly body: string;
}

/**
 * Sends one request and resolves with whatever status came back. Rejects only when no complete
 * answer arrived; the default implementation rejects with `CodeHubError` (CODEHUB_TIMEOUT,
 * CODEHUB_UNREACHABLE or CODEHUB_BAD_RESPONSE).
 */
export type Transport = (request: TransportRequest) => Promise<TransportResponse>;

const DEFAULT_CONNECT_TIMEOUT_MS = 2000;

/**
 * Idle sockets are kept this long. Set explicitly because the pool is also dropped when it has sat
 * idle longer than this by the wall clock: a Lambda container frozen between invocations cannot
 * run undici's keep-alive timers, so on thaw a pooled socket may be one the server closed long
 * ago, and a POST written to it fails.
 */
const KEEP_ALIVE_MS = 4000;

/** CodeHub's and IAM's answers are a few KB; anything far larger is not one of them. */
const MAX_RESPONSE_BYTES = 1024 * 1024;

interface PoolEntry {
  readonly pool: PoolType;
  inFlight: number;
  idleSince: number;
}

// Module scope so that a warm container reuses connections (and TLS sessions) across invocations.
const pools = new Map<string, PoolEntry>();

function discardPool(pool: PoolType): void {
  // destroy() does not reject in practice; the catch only keeps a surprise from becoming an
  // unhandled rejection that would crash the function.
  pool.destroy().catch(() => undefined);
}

function poolFor(origin: string, connectTimeout: number): PoolEntry {
  const key = `${origin} ${connectTimeout}`;
  const existing = pools.get(key);
  if (existing && !(existing.inFlight === 0 && Date.now() - existing.idleSince > KEEP_ALIVE_MS)) return existing;
  if (existing) discardPool(existing.pool);
  const entry: PoolEntry = {
    pool: new Pool(origin, {
      connectTimeout,
      keepAliveTimeout: KEEP_ALIVE_MS,
      keepAliveMaxTimeout: KEEP_ALIVE_MS,
    }),
    inFlight: 0,
    idleSince: Date.now(),
  };
  pools.set(key, entry);
  return entry;
}

/** Closes every pooled connection. For tests and orderly shutdown; the next call opens new ones. */
export async function closeTransportPools(): Promise<void> {
  const entries = [...pools.values()];
  pools.clear();
  await Promise.all(entries.map((entry) => entry.pool.destroy()));
}

const TIMEOUT_CODES = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
  'ABORT_ERR',
]);

function errorCodeOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = 'code' in error && typeof error.code === 'string' ? error.code : undefined;
  if (code !== undefined) return code;
  // Happy-eyeballs connects fail with an AggregateError of the per-address errors.
  if (error instanceof AggregateError) return errorCodeOf(error.errors[0]);
  return 'cause' in error ? errorCodeOf(error.cause) : undefined;
}

/**
 * Maps a failure to get an answer to a `CodeHubError`: timeouts to CODEHUB_TIMEOUT, an unparseable
 * answer to CODEHUB_BAD_RESPONSE, anything else (refused, reset, DNS, TLS) to CODEHUB_UNREACHABLE.
 * A `CodeHubError` passes through. `target` names the call, e.g. `POST https://host/path`.
 */
export function codeHubErrorFromTransportFailure(error: unknown, target: string): CodeHubError {
  if (error instanceof CodeHubError) return error;
  const code = errorCodeOf(error);
  const detail = error instanceof Error ? `${error.message}${code ? ` (${code})` : ''}` : String(error);
  if (
    (code !== undefined && TIMEOUT_CODES.has(code)) ||
    (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError'))
  ) {
    return new CodeHubError(ErrorCodes.CODEHUB_TIMEOUT, `${target} timed out: ${detail}`, { cause: error });
  }
  if (code?.startsWith('HPE_')) {
    return new CodeHubError(ErrorCodes.CODEHUB_BAD_RESPONSE, `${target} answered with malformed HTTP: ${detail}`, {
      cause: error,
    });
  }
  return new CodeHubError(ErrorCodes.CODEHUB_UNREACHABLE, `${target} unreachable: ${detail}`, { cause: error });
}

type CodeHubErrorCode = ConstructorParameters<typeof CodeHubError>[0];

function isCodeHubErrorCode(code: string): code is CodeHubErrorCode {
  return code.startsWith('CODEHUB_');
}

/** The same failure with `context` in front of its message, e.g. which credential exchange failed. */
export function withFailureContext(error: CodeHubError, context: string): CodeHubError {
  const code = isCodeHubErrorCode(error.code) ? error.code : ErrorCodes.CODEHUB_UNREACHABLE;
  return new CodeHubError(code, `${context}: ${error.message}`, {
    status: error.status,
    serviceCode: error.serviceCode,
    serviceMessage: error.serviceMessage,
    retryAfterSeconds: error.retryAfterSeconds,
    cause: error,
  });
}

function deadlineError(target: string, signal: AbortSignal): CodeHubError {
  return new CodeHubError(ErrorCodes.CODEHUB_TIMEOUT, `${target} did not finish before the deadline`, {
    cause: signal.reason,
  });
}

function normaliseHeaders(headers: Readonly<Record<string, string | string[] | undefined>>): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    result[name.toLowerCase()] = typeof value === 'string' ? value : value.join(', ');
  }
  return result;
}

/** The default transport: undici `dispatch` on a pooled keep-alive connection, collecting the body. */
export function undiciTransport(request: TransportRequest): Promise<TransportResponse> {
  const target = `${request.method} ${request.origin}${request.path.split('?', 1)[0] ?? ''}`;
  const { signal } = request;
  return new Promise<TransportResponse>((resolve, reject) => {
    if (signal?.aborted) {
      reject(deadlineError(target, signal));
      return;
    }
    const entry = poolFor(request.origin, request.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT_MS);
    entry.inFlight += 1;
    let controller: Dispatcher.DispatchController | undefined;
    let settled = false;
    let status = 0;
    let headers: Record<string, string> = {};
    const chunks: Buffer[] = [];
    let received = 0;

    const settle = (outcome: { error: CodeHubError } | { response: TransportResponse }): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      entry.inFlight -= 1;
      entry.idleSince = Date.now();
      if ('error' in outcome) reject(outcome.error);
      else resolve(outcome.response);
    };
    // Settles at once even while undici is still connecting (it cannot abort a connect in
    // progress); the request is then aborted as soon as it reaches a socket.
    function onAbort(): void {
      const error = deadlineError(target, signal as AbortSignal);
      settle({ error });
      controller?.abort(error);
    }
    signal?.addEventListener('abort', onAbort, { once: true });

    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(ctrl) {
        controller = ctrl;
        if (settled) ctrl.abort(new Error('abandoned: the caller gave up before the request was sent'));
      },
      onResponseStart(_ctrl, statusCode, responseHeaders) {
        status = statusCode;
        headers = normaliseHeaders(responseHeaders);
      },
      onResponseData(ctrl, chunk) {
        received += chunk.length;
        if (received > MAX_RESPONSE_BYTES) {
          const error = new CodeHubError(
            ErrorCodes.CODEHUB_BAD_RESPONSE,
            `${target} answered with more than ${MAX_RESPONSE_BYTES} bytes`,
            { status },
          );
          settle({ error });
          ctrl.abort(error);
          return;
        }
        chunks.push(chunk);
      },
      onResponseEnd() {
        settle({ response: { status, headers, body: Buffer.concat(chunks).toString('utf8') } });
      },
      onResponseError(_ctrl, error) {
        settle({ error: codeHubErrorFromTransportFailure(error, target) });
      },
    };

    const bodyless = request.body.length === 0 && (request.method === 'GET' || request.method === 'HEAD');
    entry.pool.dispatch(
      {
        origin: request.origin,
        path: request.path,
        method: request.method,
        headers: request.headers,
        body: bodyless ? null : request.body,
        headersTimeout: request.timeoutMs,
        bodyTimeout: request.timeoutMs,
      },
      handler,
    );
  });
}
