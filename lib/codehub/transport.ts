/**
 * The HTTP seam of the CodeHub client. `Transport` is what the client and the IAM authenticator
 * call; tests and emulators can pass their own. The default, `undiciTransport`, keeps one
 * keep-alive undici `Pool` per origin for the life of the warm container, with every timeout
 * explicit (undici's own defaults are 300 s, far past any webhook sender's patience).
 */
import { Pool } from 'undici';
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
  /** TCP+TLS connect timeout, ms. */
  readonly connectTimeoutMs: number;
  /**
   * Wait for the response headers, and at most between two body chunks, ms. undici checks these on
   * a ~0.5 s tick, so a timeout fires up to half a second late; `totalTimeoutMs` is exact.
   */
  readonly timeoutMs: number;
  /**
   * The whole call, connect to last byte, may take at most this long (the caller's overall
   * deadline, ms from now); it then fails with CODEHUB_TIMEOUT. No limit when undefined.
   */
  readonly totalTimeoutMs?: number | undefined;
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

/**
 * Idle sockets are kept this long. Set explicitly because a pool is also dropped when it has sat
 * idle longer than this by the wall clock: a Lambda container frozen between invocations cannot
 * run keep-alive timers, so on thaw a pooled socket may be one the server closed long ago, and a
 * POST written to it fails.
 */
const KEEP_ALIVE_MS = 4000;

/** CodeHub's and IAM's answers are a few KB; anything far larger is not one of them. */
const MAX_RESPONSE_BYTES = 1024 * 1024;

interface PoolEntry {
  readonly pool: Pool;
  inFlight: number;
  idleSince: number;
}

// Module scope so that a warm container reuses connections (and TLS sessions) across invocations.
const pools = new Map<string, PoolEntry>();

/** The pool for `origin` and `connectTimeoutMs`; a new one when the last has sat idle past keep-alive. */
function poolFor(origin: string, connectTimeoutMs: number): PoolEntry {
  const key = `${origin} ${connectTimeoutMs}`;
  const existing = pools.get(key);
  if (existing && (existing.inFlight > 0 || Date.now() - existing.idleSince <= KEEP_ALIVE_MS)) return existing;
  // destroy() does not reject in practice; the catch keeps a surprise from crashing the function.
  existing?.pool.destroy().catch(() => undefined);
  const entry: PoolEntry = {
    pool: new Pool(origin, { connectTimeout: connectTimeoutMs, keepAliveTimeout: KEEP_ALIVE_MS, keepAliveMaxTimeout: KEEP_ALIVE_MS }),
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

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT', 'ABORT_ERR']);

function errorCodeOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  if ('code' in error && typeof error.code === 'string') return error.code;
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
  const name = error instanceof Error ? error.name : '';
  const detail = error instanceof Error ? `${error.message}${code ? ` (${code})` : ''}` : String(error);
  if ((code !== undefined && TIMEOUT_CODES.has(code)) || name === 'TimeoutError' || name === 'AbortError') {
    return new CodeHubError(ErrorCodes.CODEHUB_TIMEOUT, `${target} timed out: ${detail}`, { cause: error });
  }
  if (code?.startsWith('HPE_') || name === 'HTTPParserError') {
    return new CodeHubError(ErrorCodes.CODEHUB_BAD_RESPONSE, `${target} answered with malformed HTTP: ${detail}`, { cause: error });
  }
  return new CodeHubError(ErrorCodes.CODEHUB_UNREACHABLE, `${target} unreachable: ${detail}`, { cause: error });
}

type CodeHubErrorCode = ConstructorParameters<typeof CodeHubError>[0];

function isCodeHubErrorCode(code: string): code is CodeHubErrorCode {
  return code.startsWith('CODEHUB_');
}

/** The same failure with `context` in front of its message, e.g. which credential exchange failed. */
export function withFailureContext(error: CodeHubError, context: string): CodeHubError {
  return new CodeHubError(isCodeHubErrorCode(error.code) ? error.code : ErrorCodes.CODEHUB_UNREACHABLE, `${context}: ${error.message}`, {
    status: error.status,
    serviceCode: error.serviceCode,
    serviceMessage: error.serviceMessage,
    retryAfterSeconds: error.retryAfterSeconds,
    cause: error,
  });
}

function deadlineError(target: string): CodeHubError {
  return new CodeHubError(ErrorCodes.CODEHUB_TIMEOUT, `${target} did not finish before the deadline`);
}

function joinHeaders(headers: Readonly<Record<string, string | string[] | undefined>>): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) result[name.toLowerCase()] = typeof value === 'string' ? value : value.join(', ');
  }
  return result;
}

async function exchange(pool: Pool, request: TransportRequest, target: string, signal: AbortSignal | undefined): Promise<TransportResponse> {
  const bodyless = request.body.length === 0 && (request.method === 'GET' || request.method === 'HEAD');
  const response = await pool.request({
    path: request.path,
    method: request.method,
    headers: request.headers,
    body: bodyless ? null : request.body,
    headersTimeout: request.timeoutMs,
    bodyTimeout: request.timeoutMs,
    signal,
  });
  const chunks: Buffer[] = [];
  let received = 0;
  for await (const chunk of response.body as AsyncIterable<Buffer>) {
    received += chunk.length;
    if (received > MAX_RESPONSE_BYTES) {
      response.body.destroy();
      throw new CodeHubError(ErrorCodes.CODEHUB_BAD_RESPONSE, `${target} answered with more than ${MAX_RESPONSE_BYTES} bytes`, {
        status: response.statusCode,
      });
    }
    chunks.push(chunk);
  }
  return { status: response.statusCode, headers: joinHeaders(response.headers), body: Buffer.concat(chunks).toString('utf8') };
}

/**
 * `send`'s outcome, or CODEHUB_TIMEOUT once `ms` have passed, when `send`'s signal is aborted too.
 * undici notices an abort only once the request has a socket, so the race is what settles a call
 * at its deadline while it is still connecting.
 */
async function withinDeadline<T>(ms: number | undefined, target: string, send: (signal?: AbortSignal) => Promise<T>): Promise<T> {
  if (ms === undefined) return send();
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      const error = deadlineError(target);
      controller.abort(error);
      reject(error);
    }, ms);
  });
  try {
    return await Promise.race([send(controller.signal), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** The default transport: a pooled keep-alive connection per origin, collecting the body. */
export async function undiciTransport(request: TransportRequest): Promise<TransportResponse> {
  const target = `${request.method} ${request.origin}${request.path.split('?', 1)[0] ?? ''}`;
  if (request.totalTimeoutMs !== undefined && request.totalTimeoutMs <= 0) throw deadlineError(target);
  const entry = poolFor(request.origin, request.connectTimeoutMs);
  entry.inFlight += 1;
  try {
    return await withinDeadline(request.totalTimeoutMs, target, (signal) => exchange(entry.pool, request, target, signal));
  } catch (error) {
    throw codeHubErrorFromTransportFailure(error, target);
  } finally {
    entry.inFlight -= 1;
    entry.idleSince = Date.now();
  }
}
