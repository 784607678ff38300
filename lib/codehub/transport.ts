/**
 * The HTTP seam of the CodeHub client. `Transport` is what the client and the IAM authenticator
 * call; tests and emulators can pass their own. The default, `undiciTransport`, keeps one
 * keep-alive connection pool per origin for the life of the warm container, with every timeout
 * explicit (undici's own defaults are 300 s, far past any webhook sender's patience).
 *
 * Two HTTP stacks, one behaviour. A cold container's first calls go out on Node's built-in
 * `node:http` (a keep-alive `Agent`), because loading undici costs more than the whole first
 * delivery: ~200 KB of JavaScript to compile and run, and llhttp's WebAssembly to compile on the
 * first connection (`npm run bench` measures it; BENCHMARKS.md has the figures). Once the first
 * answer is out, undici is loaded in the background and every later call goes through an undici
 * `Pool`, which is the faster client warm. Both stacks map failures to the same `CodeHubError`
 * codes and honour the same timeouts, so callers cannot tell which one carried a call.
 */
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import type { ClientRequest, IncomingHttpHeaders, IncomingMessage, RequestOptions } from 'node:http';
import type { Socket } from 'node:net';
import type { Dispatcher, Pool as PoolType } from 'undici';
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
   * a ~0.5 s tick, so a timeout fires up to half a second late; `totalTimeoutMs` is exact.
   */
  readonly timeoutMs: number;
  /**
   * The whole call, connect to last byte, may take at most this long (the caller's overall
   * deadline, ms from now); it then fails with CODEHUB_TIMEOUT. A timer, not an `AbortSignal`:
   * this is set on every call, and an AbortController with its listeners costs ten times as much.
   */
  readonly totalTimeoutMs?: number;
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

/** Which HTTP client carries the default transport's calls. */
export type HttpStack = 'node:http' | 'undici';

const DEFAULT_CONNECT_TIMEOUT_MS = 2000;

/**
 * Idle sockets are kept this long. Set explicitly because a pool is also dropped when it has sat
 * idle longer than this by the wall clock: a Lambda container frozen between invocations cannot
 * run keep-alive timers, so on thaw a pooled socket may be one the server closed long ago, and a
 * POST written to it fails.
 */
const KEEP_ALIVE_MS = 4000;

/** CodeHub's and IAM's answers are a few KB; anything far larger is not one of them. */
const MAX_RESPONSE_BYTES = 1024 * 1024;

/** Connections to one origin with one connect timeout, on either stack. */
interface Connections<T> {
  readonly client: T;
  inFlight: number;
  idleSince: number;
}

interface AgentClient {
  readonly agent: HttpAgent;
  readonly request: typeof httpRequest;
  readonly secure: boolean;
  readonly hostname: string;
  readonly port: string;
}

// Module scope so that a warm container reuses connections (and TLS sessions) across invocations.
const pools = new Map<string, Connections<PoolType>>();
const agents = new Map<string, Connections<AgentClient>>();

let Pool: typeof PoolType | undefined;
let undiciLoading: Promise<void> | undefined;
let undiciScheduled = false;

/**
 * Loads undici now; resolves once later calls go through it. Normally not needed: the default
 * transport loads it by itself after its first answer. Rejects if undici cannot be loaded, in
 * which case calls stay on `node:http`.
 */
export function loadUndici(): Promise<void> {
  undiciLoading ??= import('undici/lib/dispatcher/pool.js').then(
    (module) => {
      Pool = module.default;
    },
    (error: unknown) => {
      undiciLoading = undefined;
      throw error;
    },
  );
  return undiciLoading;
}

/** The stack the next call of the default transport goes out on. */
export function activeHttpStack(): HttpStack {
  return Pool === undefined ? 'node:http' : 'undici';
}

/**
 * Loads undici after the call that is finishing now has been answered: `setImmediate` runs after
 * the promise continuations (the handler builds and returns its answer in those), so the load never
 * delays the answer it follows. In Lambda it runs before the sandbox is frozen or, at the latest,
 * when it is thawed for the next event; a call made before it has finished still uses `node:http`.
 */
function scheduleUndiciLoad(): void {
  if (undiciScheduled || Pool !== undefined) return;
  undiciScheduled = true;
  setImmediate(() => {
    // A failed load only means the calls stay on node:http, which works.
    loadUndici().catch(() => undefined);
  });
}

function isStale(entry: Connections<unknown>): boolean {
  return entry.inFlight === 0 && Date.now() - entry.idleSince > KEEP_ALIVE_MS;
}

function discardPool(pool: PoolType): void {
  // destroy() does not reject in practice; the catch only keeps a surprise from becoming an
  // unhandled rejection that would crash the function.
  pool.destroy().catch(() => undefined);
}

function poolFor(PoolClass: typeof PoolType, origin: string, connectTimeout: number): Connections<PoolType> {
  const key = `${origin} ${connectTimeout}`;
  const existing = pools.get(key);
  if (existing && !isStale(existing)) return existing;
  if (existing) discardPool(existing.client);
  // The node:http connections to this origin are done with once undici carries its calls.
  const previous = agents.get(key);
  if (previous && previous.inFlight === 0) {
    previous.client.agent.destroy();
    agents.delete(key);
  }
  const entry: Connections<PoolType> = {
    client: new PoolClass(origin, {
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

function agentFor(key: string, origin: string): Connections<AgentClient> {
  const existing = agents.get(key);
  if (existing && !isStale(existing)) return existing;
  if (existing) existing.client.agent.destroy();
  const url = new URL(origin);
  const secure = url.protocol === 'https:';
  // node:https (and TLS with it) is loaded only for an https origin.
  const https = secure ? process.getBuiltinModule('node:https') : undefined;
  const entry: Connections<AgentClient> = {
    client: {
      agent: https ? new https.Agent({ keepAlive: true }) : new HttpAgent({ keepAlive: true }),
      request: https ? https.request : httpRequest,
      secure,
      // URL keeps the brackets of an IPv6 literal; a socket address has none.
      hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: url.port,
    },
    inFlight: 0,
    idleSince: Date.now(),
  };
  agents.set(key, entry);
  return entry;
}

/** Closes every pooled connection. For tests and orderly shutdown; the next call opens new ones. */
export async function closeTransportPools(): Promise<void> {
  const entries = [...pools.values()];
  pools.clear();
  for (const entry of agents.values()) entry.client.agent.destroy();
  agents.clear();
  await Promise.all(entries.map((entry) => entry.client.destroy()));
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
  // node:http's parser errors carry an HPE_ code; undici's HTTPParserError not always.
  if (code?.startsWith('HPE_') || (error instanceof Error && error.name === 'HTTPParserError')) {
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

function deadlineError(target: string): CodeHubError {
  return new CodeHubError(ErrorCodes.CODEHUB_TIMEOUT, `${target} did not finish before the deadline`);
}

/** Calls `onDeadline` after `ms` (none when undefined); unref'd, so it never holds a process open by itself. */
function armDeadline(ms: number | undefined, onDeadline: () => void): NodeJS.Timeout | undefined {
  if (ms === undefined) return undefined;
  const timer = setTimeout(onDeadline, ms);
  timer.unref();
  return timer;
}

function tooLargeError(target: string, status: number): CodeHubError {
  return new CodeHubError(ErrorCodes.CODEHUB_BAD_RESPONSE, `${target} answered with more than ${MAX_RESPONSE_BYTES} bytes`, {
    status,
  });
}

function normaliseHeaders(
  headers: Readonly<Record<string, string | string[] | undefined>> | IncomingHttpHeaders,
): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    result[name.toLowerCase()] = typeof value === 'string' ? value : value.join(', ');
  }
  return result;
}

function isBodyless(request: TransportRequest): boolean {
  return request.body.length === 0 && (request.method === 'GET' || request.method === 'HEAD');
}

/**
 * The default transport: a pooled keep-alive connection per origin, collecting the body. Goes out
 * on `node:http` until undici has been loaded (see the module comment), then on undici's `Pool`.
 */
export function undiciTransport(request: TransportRequest): Promise<TransportResponse> {
  const target = `${request.method} ${request.origin}${request.path.split('?', 1)[0] ?? ''}`;
  if (request.totalTimeoutMs !== undefined && request.totalTimeoutMs <= 0) return Promise.reject(deadlineError(target));
  return Pool === undefined ? sendWithNodeHttp(request, target) : sendWithUndici(Pool, request, target);
}

function sendWithUndici(PoolClass: typeof PoolType, request: TransportRequest, target: string): Promise<TransportResponse> {
  return new Promise<TransportResponse>((resolve, reject) => {
    const entry = poolFor(PoolClass, request.origin, request.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT_MS);
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
      clearTimeout(deadline);
      entry.inFlight -= 1;
      entry.idleSince = Date.now();
      if ('error' in outcome) reject(outcome.error);
      else resolve(outcome.response);
    };
    // Settles at once even while undici is still connecting (it cannot abort a connect in
    // progress); the request is then aborted as soon as it reaches a socket.
    const deadline = armDeadline(request.totalTimeoutMs, () => {
      const error = deadlineError(target);
      settle({ error });
      controller?.abort(error);
    });

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
          const error = tooLargeError(target, status);
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

    entry.client.dispatch(
      {
        origin: request.origin,
        path: request.path,
        method: request.method,
        headers: request.headers,
        body: isBodyless(request) ? null : request.body,
        headersTimeout: request.timeoutMs,
        bodyTimeout: request.timeoutMs,
      },
      handler,
    );
  });
}

/** node:http `ClientRequest` on a keep-alive `Agent`, with undici's timeouts rebuilt on timers. */
function sendWithNodeHttp(request: TransportRequest, target: string): Promise<TransportResponse> {
  const connectTimeout = request.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT_MS;
  return new Promise<TransportResponse>((resolve, reject) => {
    const key = `${request.origin} ${connectTimeout}`;
    const entry = agentFor(key, request.origin);
    const { client } = entry;
    entry.inFlight += 1;
    let settled = false;
    let connectTimer: NodeJS.Timeout | undefined;
    const bodyless = isBodyless(request);
    const headers: Record<string, string> = { ...request.headers };
    if (!bodyless) headers['content-length'] = String(Buffer.byteLength(request.body));
    const options: RequestOptions = {
      agent: client.agent,
      hostname: client.hostname,
      path: request.path,
      method: request.method,
      headers,
    };
    if (client.port !== '') options.port = client.port;
    const req: ClientRequest = client.request(options);

    const settle = (outcome: { error: CodeHubError } | { response: TransportResponse }): void => {
      if (settled) return;
      settled = true;
      clearTimeout(connectTimer);
      clearTimeout(deadline);
      entry.inFlight -= 1;
      entry.idleSince = Date.now();
      if (Pool === undefined) scheduleUndiciLoad();
      else if (entry.inFlight === 0 && agents.get(key) === entry) {
        // The last node:http call made before undici took over: its connections are done with.
        agents.delete(key);
        client.agent.destroy();
      }
      if ('error' in outcome) reject(outcome.error);
      else resolve(outcome.response);
    };
    const fail = (error: CodeHubError): void => {
      settle({ error });
      // The socket is in an unknown state: close it rather than return it to the pool.
      req.destroy();
    };
    const deadline = armDeadline(request.totalTimeoutMs, () => fail(deadlineError(target)));

    req.on('socket', (socket: Socket) => {
      if (!socket.connecting) return;
      connectTimer = setTimeout(() => {
        fail(new CodeHubError(ErrorCodes.CODEHUB_TIMEOUT, `${target} timed out: no connection within ${connectTimeout} ms`));
      }, connectTimeout);
      socket.once(client.secure ? 'secureConnect' : 'connect', () => clearTimeout(connectTimer));
    });
    // Armed once connected: no byte for this long while waiting for headers or between body chunks.
    req.setTimeout(request.timeoutMs, () => {
      fail(new CodeHubError(ErrorCodes.CODEHUB_TIMEOUT, `${target} timed out: no answer for ${request.timeoutMs} ms`));
    });
    req.on('error', (error) => settle({ error: codeHubErrorFromTransportFailure(error, target) }));
    req.on('response', (res: IncomingMessage) => {
      const status = res.statusCode ?? 0;
      const chunks: Buffer[] = [];
      let received = 0;
      res.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received > MAX_RESPONSE_BYTES) {
          fail(tooLargeError(target, status));
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => {
        settle({ response: { status, headers: normaliseHeaders(res.headers), body: Buffer.concat(chunks).toString('utf8') } });
      });
      res.on('error', (error) => settle({ error: codeHubErrorFromTransportFailure(error, target) }));
      res.on('close', () => {
        if (!res.complete) {
          settle({
            error: new CodeHubError(ErrorCodes.CODEHUB_UNREACHABLE, `${target} unreachable: the connection closed mid-answer`),
          });
        }
      });
    });
    if (bodyless) req.end();
    else req.end(request.body);
  });
}
