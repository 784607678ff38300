/**
 * The CodeHub (CodeArts Repo) client: the remote-mirror calls the bridge makes, with CodeHub's
 * answers mapped to `CodeHubError` codes. The mirror calls are repeated by the policy of
 * `./retry` (429, 5xx, resets, timeouts; only inside the caller's deadline), and once more after an
 * IAM token was renewed on a 401 — once per call, however many retries. A signature failure is
 * never repeated, because more than five in a row lock the access key.
 */
import { settleWithin } from '../deadline';
import { CodeHubError, ErrorCodes } from '../errors';
import type { AuthHeaders, Authenticator } from './auth';
import { DEFAULT_RETRY_POLICY, sleep as sleepFor, withRetry, type RetryPolicy } from './retry';
import { canonicalRequestOfSigned, encodeSigningComponent } from './sign';
import { codeHubErrorFromTransportFailure, undiciTransport } from './transport';
import type { Transport, TransportRequest, TransportResponse } from './transport';
import type { CallOptions, CodeHub, MirrorSyncRequest, MirrorSyncResult } from './types';

/** What the client logs through. Fields never carry secrets, tokens or Authorization headers. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** The remote-mirror state of a repository (`GET /v4/repositories/{id}/remote-mirror`). */
export interface MirrorStatus {
  readonly repositoryId: number | undefined;
  /** Undocumented values; compare with what CodeHub is seen to send. */
  readonly updateStatus: string | undefined;
  readonly lastUpdateAt: string | undefined;
  readonly lastSuccessfulUpdateAt: string | undefined;
  readonly numberOfFailures: number | undefined;
  readonly mirroringEnabled: boolean | undefined;
  readonly lastError: string | undefined;
  /** The source URL as CodeHub stores it; may embed credentials, so do not log it. */
  readonly url: string | undefined;
  readonly endpointUuid: string | undefined;
}

export interface CodeHubClient extends CodeHub {
  /** The remote-mirror state; there is no API taking a `jid`, so a sync is followed by polling this. */
  getMirrorStatus(repositoryId: number, options?: CallOptions): Promise<MirrorStatus>;
  /** The numeric id of `group/name` (`GET /v1/repositories/repoid`). */
  resolveRepositoryId(groupName: string, repositoryName: string, options?: CallOptions): Promise<number>;
}

export interface CodeHubClientOptions {
  /** CodeHub base URL, e.g. `https://codehub-ext.cn-north-4.myhuaweicloud.com`; may carry a path prefix. */
  readonly endpoint: string;
  readonly auth: Authenticator;
  /** @default undiciTransport */
  readonly transport?: Transport;
  /** Clock for deadlines and Retry-After dates. @default Date.now */
  readonly now?: () => number;
  /** @default no logging */
  readonly logger?: Logger;
  /** @default 2000 */
  readonly connectTimeoutMs?: number;
  /** Wait for the response headers, and at most between body chunks. @default 5000 */
  readonly timeoutMs?: number;
  /**
   * Retries of `startMirrorSync` and `getMirrorStatus`, made only when the call has a `deadline`.
   * `false` makes every call once. @default DEFAULT_RETRY_POLICY (lib/codehub/retry.ts)
   */
  readonly retry?: Partial<RetryPolicy> | false;
  /** How the client waits between retries. @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
}

const MAX_REPOSITORY_ID = 2_147_483_647;
const MAX_CACHED_URLS = 1024;
const SILENT_LOGGER: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** CodeHub's error fields: v4 `{error_code, error_msg}` or v1/v2 (and IAM) `{error: {code, message}}`. */
export function readServiceError(body: string): { code: string | undefined; message: string | undefined } {
  const parsed = parseJson(body);
  if (!isRecord(parsed)) return { code: undefined, message: undefined };
  const nested = isRecord(parsed.error) ? parsed.error : undefined;
  return {
    code: asText(parsed.error_code) ?? asText(nested?.code),
    message: asText(parsed.error_msg) ?? asText(nested?.message),
  };
}

/**
 * Replaces each of `secrets` found in `text`, and the values of token-bearing header lines in a
 * canonical request (`|`- or newline-separated, as APIG reports it), with `<redacted>`.
 */
export function redactText(text: string, secrets: readonly string[] = []): string {
  let result = text.replace(
    /(^|[|\n])(x-security-token|x-auth-token|authorization):[^|\n]*/gi,
    (_match, separator: string, name: string) => `${separator}${name}:<redacted>`,
  );
  // Very short strings would mangle ordinary words without protecting anything.
  for (const secret of secrets) if (secret.length >= 4) result = result.split(secret).join('<redacted>');
  return result;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function asText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  return typeof value === 'number' ? String(value) : undefined;
}

function asNumber(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function asBoolean(value: unknown): boolean | undefined {
  return typeof value === 'boolean' ? value : undefined;
}

function base64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

/** `Retry-After` as seconds: delta-seconds or an HTTP date. */
function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - now) / 1000));
}

/** APIG's answer when the AK/SK signature it computed differs: 401, APIG(W).0301, "verify aksk signature fail". */
function isSignatureFailure(response: TransportResponse): boolean {
  if (response.status !== 401) return false;
  const { code, message } = readServiceError(response.body);
  return /^APIGW?\.0301$/.test(code ?? '') && /verify aksk signature fail/i.test(message ?? '');
}

/** The canonical request APIG put in its message, `|` turned back into newlines. */
function serverCanonicalRequest(message: string): string | undefined {
  const marker = message.indexOf('canonicalRequest:');
  return marker === -1 ? undefined : message.slice(marker + 'canonicalRequest:'.length).split('|').join('\n');
}

function describeBody(body: string): string {
  const text = body.replace(/\s+/g, ' ').trim();
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

/** Maps an answer that is not the expected success to a `CodeHubError`. */
function errorFromResponse(response: TransportResponse, operation: string, now: number): CodeHubError {
  const { status } = response;
  const { code, message } = readServiceError(response.body);
  const serviceMessage = message === undefined ? undefined : redactText(message);
  const details = { status, serviceCode: code, serviceMessage };
  const said =
    code !== undefined || serviceMessage !== undefined
      ? [code, serviceMessage === undefined ? undefined : describeBody(serviceMessage)].filter(Boolean).join(': ')
      : describeBody(response.body);
  const summary = `CodeHub ${operation}: HTTP ${status}${said ? ` ${said}` : ''}`;

  if (status === 429 || code === 'APIG.0308' || code === 'APIGW.0308') {
    return new CodeHubError(ErrorCodes.CODEHUB_THROTTLED, summary, {
      ...details,
      retryAfterSeconds: parseRetryAfter(response.headers['retry-after'], now),
    });
  }
  if (isSignatureFailure(response)) {
    return new CodeHubError(
      ErrorCodes.CODEHUB_SIGNATURE_FAILED,
      `CodeHub ${operation}: HTTP 401 ${code}: the AK/SK signature was rejected (not retried: repeated failures lock the access key; both canonical requests are logged)`,
      details,
    );
  }
  if (status === 401) return new CodeHubError(ErrorCodes.CODEHUB_AUTH_FAILED, summary, details);
  if (status >= 500) return new CodeHubError(ErrorCodes.CODEHUB_SERVER_ERROR, summary, details);
  if (status >= 400) return new CodeHubError(ErrorCodes.CODEHUB_REJECTED, summary, details);
  return new CodeHubError(ErrorCodes.CODEHUB_BAD_RESPONSE, `${summary} (unexpected status)`, details);
}

function checkRepositoryId(repositoryId: number): void {
  if (!Number.isInteger(repositoryId) || repositoryId < 1 || repositoryId > MAX_REPOSITORY_ID) {
    throw new CodeHubError(
      ErrorCodes.CODEHUB_REJECTED,
      `repository id must be an integer 1..${MAX_REPOSITORY_ID}, got ${String(repositoryId)}`,
    );
  }
}

/** State shared by every attempt of one call. */
interface CallSession {
  /** The authenticator renewed its credentials once already: a second 401 is final. */
  renewed: boolean;
}

interface Exchange {
  readonly operation: string;
  readonly method: 'GET' | 'POST';
  /** Path and query below the endpoint, e.g. `/v4/repositories/1/remote-mirror`. */
  readonly path: string;
  readonly body: Buffer;
  readonly options: CallOptions | undefined;
}

/** Creates the CodeHub client. Every method throws `CodeHubError` on anything but its success answer. */
export function createCodeHubClient(options: CodeHubClientOptions): CodeHubClient {
  const transport = options.transport ?? undiciTransport;
  const now = options.now ?? Date.now;
  const logger = options.logger ?? SILENT_LOGGER;
  const { auth } = options;
  const base = new URL(options.endpoint);
  const prefix = base.pathname.replace(/\/+$/, '');
  const retryPolicy: RetryPolicy =
    options.retry === false ? { ...DEFAULT_RETRY_POLICY, maxAttempts: 1 } : { ...DEFAULT_RETRY_POLICY, ...options.retry };
  const sleep = options.sleep ?? sleepFor;

  /**
   * The URL of a path below the endpoint, parsed once: a warm container calls the same few
   * repositories' paths again and again. Never mutated by callers; bounded, for wildcard mirrors.
   */
  const urls = new Map<string, URL>();
  function urlOf(path: string): URL {
    let url = urls.get(path);
    if (url === undefined) {
      if (urls.size >= MAX_CACHED_URLS) urls.clear();
      url = new URL(`${base.origin}${prefix}${path}`);
      urls.set(path, url);
    }
    return url;
  }

  /** Runs one CodeHub call with the retry policy, inside `callOptions.deadline`. */
  function withRetries<T>(operation: string, callOptions: CallOptions | undefined, call: (session: CallSession) => Promise<T>): Promise<T> {
    const session: CallSession = { renewed: false };
    return withRetry(() => call(session), {
      deadline: callOptions?.deadline,
      now,
      sleep,
      policy: retryPolicy,
      onRetry: ({ attempt, error, delayMs }) => {
        logger.warn('CodeHub call failed; retrying', {
          operation,
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
   * Milliseconds left before the call's deadline (undefined without one): every attempt gets what
   * is left, so the call with its retries ends by the deadline. Throws CODEHUB_TIMEOUT once it has passed.
   */
  function timeLeft(operation: string, callOptions: CallOptions | undefined): number | undefined {
    if (callOptions?.deadline === undefined) return undefined;
    const remaining = callOptions.deadline - now();
    if (remaining <= 0) {
      throw new CodeHubError(ErrorCodes.CODEHUB_TIMEOUT, `CodeHub ${operation}: the deadline passed before the call`);
    }
    return remaining;
  }

  function authorizationFailure(exchange: Exchange, error: unknown): CodeHubError {
    if (error instanceof CodeHubError) return error;
    return new CodeHubError(ErrorCodes.CODEHUB_AUTH_FAILED, `CodeHub ${exchange.operation}: could not authorize the call`, {
      cause: error,
    });
  }

  /**
   * The call's authorization headers: at once when the credentials are at hand (AK/SK, a cached
   * token); a token still being fetched is waited for only until the deadline.
   */
  function authorize(exchange: Exchange, url: URL, headers: Record<string, string>, ms: number | undefined): AuthHeaders | Promise<AuthHeaders> {
    let headersOrPending: AuthHeaders | Promise<AuthHeaders>;
    try {
      headersOrPending = auth.authorize({ method: exchange.method, url, headers, body: exchange.body });
    } catch (error) {
      throw authorizationFailure(exchange, error);
    }
    if (!(headersOrPending instanceof Promise)) return headersOrPending;
    return settleWithin(headersOrPending, ms, `CodeHub ${exchange.operation} (authorization)`).catch((error: unknown) => {
      throw authorizationFailure(exchange, error);
    });
  }

  function logSignatureFailure(exchange: Exchange, url: URL, sent: Record<string, string>, response: TransportResponse): void {
    const { message } = readServiceError(response.body);
    const ours = canonicalRequestOfSigned({
      method: exchange.method,
      pathAndQuery: `${url.pathname}${url.search}`,
      headers: { ...sent, host: url.host },
      body: exchange.body,
    });
    const theirs = message === undefined ? undefined : serverCanonicalRequest(message);
    logger.error('CodeHub rejected the AK/SK signature; not retrying (repeated failures lock the access key)', {
      operation: exchange.operation,
      status: response.status,
      serverCanonicalRequest: theirs === undefined ? undefined : redactText(theirs),
      clientCanonicalRequest: ours === undefined ? undefined : redactText(ours),
    });
  }

  /**
   * Sends one call, repeating it once after a 401 when the authenticator renewed its token (once
   * per `session`: a retry after a renewal does not renew again).
   */
  async function send(exchange: Exchange, session: CallSession = { renewed: false }): Promise<TransportResponse> {
    const url = urlOf(exchange.path);
    const headers = { 'Content-Type': 'application/json' };
    const target = `${exchange.method} ${url.origin}${url.pathname}`;
    for (let attempt = 1; ; attempt += 1) {
      const authorized = authorize(exchange, url, headers, timeLeft(exchange.operation, exchange.options));
      // Awaited only when pending: a signature at hand goes out without a turn of the microtask queue.
      const authHeaders = authorized instanceof Promise ? await authorized : authorized;
      const sent: Record<string, string> = Object.assign({}, headers, authHeaders);
      // Measured after authorizing: a token fetch may have used some of the time.
      const totalTimeoutMs = timeLeft(exchange.operation, exchange.options);
      const started = Date.now();
      let response: TransportResponse;
      try {
        const call: { -readonly [K in keyof TransportRequest]: TransportRequest[K] } = {
          origin: url.origin,
          path: `${url.pathname}${url.search}`,
          method: exchange.method,
          headers: sent,
          body: exchange.body,
          connectTimeout: options.connectTimeoutMs ?? 2000,
          timeoutMs: options.timeoutMs ?? 5000,
        };
        if (totalTimeoutMs !== undefined) call.totalTimeoutMs = totalTimeoutMs;
        response = await transport(call);
      } catch (error) {
        const failure = codeHubErrorFromTransportFailure(error, target);
        logger.warn('CodeHub call failed without an answer', {
          operation: exchange.operation,
          code: failure.code,
          reason: failure.message,
          durationMs: Date.now() - started,
        });
        throw failure;
      }
      const { code } = response.status === 200 ? { code: undefined } : readServiceError(response.body);
      logger.debug('CodeHub answered', {
        operation: exchange.operation,
        method: exchange.method,
        path: url.pathname,
        status: response.status,
        serviceCode: code,
        durationMs: Date.now() - started,
      });
      if (response.status !== 401) return response;
      if (isSignatureFailure(response)) {
        logSignatureFailure(exchange, url, sent, response);
        return response;
      }
      if (attempt > 1 || session.renewed || !auth.onUnauthorized?.(authHeaders)) return response;
      session.renewed = true;
      logger.info('CodeHub answered 401; renewed the token, repeating the call once', {
        operation: exchange.operation,
        serviceCode: code,
      });
    }
  }

  async function startMirrorSync(
    repositoryId: number,
    request: MirrorSyncRequest,
    callOptions?: CallOptions,
  ): Promise<MirrorSyncResult> {
    checkRepositoryId(repositoryId);
    const payload: Record<string, string | boolean> = { force_fetch: request.forceFetch };
    // CodeHub expects the source credentials base64-encoded; the SDKs leave that to the caller.
    if (request.username) payload.username = base64(request.username);
    if (request.password) payload.password = base64(request.password);
    if (request.endpointUuid) payload.endpoint_uuid = request.endpointUuid;
    const operation = `start mirror sync of repository ${repositoryId}`;
    // One buffer, signed and sent: the bytes on the wire are the bytes hashed.
    const body = Buffer.from(JSON.stringify(payload), 'utf8');
    const response = await withRetries(operation, callOptions, async (session) => {
      const answer = await send({ operation, method: 'POST', path: `/v4/repositories/${repositoryId}/remote-mirror`, body, options: callOptions }, session);
      if (answer.status !== 200) throw errorFromResponse(answer, operation, now());
      return answer;
    });
    const parsed = parseJson(response.body);
    const jid = isRecord(parsed) ? parsed.jid : undefined;
    if (typeof jid !== 'string' || jid === '') {
      throw new CodeHubError(
        ErrorCodes.CODEHUB_BAD_RESPONSE,
        `CodeHub ${operation}: HTTP 200 without a job id: ${describeBody(response.body)}`,
        { status: 200 },
      );
    }
    // The delivery's own log line carries the job ids; this one is for tracing a single call.
    logger.debug('CodeHub mirror sync started', { repositoryId, jid });
    return { jid };
  }

  async function getMirrorStatus(repositoryId: number, callOptions?: CallOptions): Promise<MirrorStatus> {
    checkRepositoryId(repositoryId);
    const operation = `read mirror status of repository ${repositoryId}`;
    const response = await withRetries(operation, callOptions, async (session) => {
      const answer = await send({ operation, method: 'GET', path: `/v4/repositories/${repositoryId}/remote-mirror`, body: Buffer.alloc(0), options: callOptions }, session);
      if (answer.status !== 200) throw errorFromResponse(answer, operation, now());
      return answer;
    });
    const mirror = parseJson(response.body);
    if (!isRecord(mirror)) {
      throw new CodeHubError(ErrorCodes.CODEHUB_BAD_RESPONSE, `CodeHub ${operation}: HTTP 200 without a JSON object`, {
        status: 200,
      });
    }
    return {
      repositoryId: asNumber(mirror.repository_id),
      updateStatus: asText(mirror.update_status),
      lastUpdateAt: asText(mirror.last_update_at),
      lastSuccessfulUpdateAt: asText(mirror.last_successful_update_at),
      numberOfFailures: asNumber(mirror.number_of_failures),
      mirroringEnabled: asBoolean(mirror.mirroring_enabled),
      lastError: asText(mirror.last_error),
      url: asText(mirror.url),
      endpointUuid: asText(mirror.endpoint_uuid),
    };
  }

  async function resolveRepositoryId(groupName: string, repositoryName: string, callOptions?: CallOptions): Promise<number> {
    const operation = `resolve repository id of ${groupName}/${repositoryName}`;
    const query = `group_name=${encodeSigningComponent(groupName)}&repository_name=${encodeSigningComponent(repositoryName)}`;
    const response = await send({
      operation,
      method: 'GET',
      path: `/v1/repositories/repoid?${query}`,
      body: Buffer.alloc(0),
      options: callOptions,
    });
    if (response.status !== 200) throw errorFromResponse(response, operation, now());
    const parsed = parseJson(response.body);
    // v1 can answer 200 with `"status": "failed"` and the reason in `error`.
    if (isRecord(parsed) && parsed.status === 'failed') {
      const { code, message } = readServiceError(response.body);
      throw new CodeHubError(ErrorCodes.CODEHUB_REJECTED, `CodeHub ${operation}: ${code ?? 'failed'}${message ? `: ${message}` : ''}`, {
        status: 200,
        serviceCode: code,
        serviceMessage: message,
      });
    }
    const result = isRecord(parsed) ? parsed.result : undefined;
    const id = typeof result === 'string' && /^\d+$/.test(result) ? Number(result) : result;
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 1 || id > MAX_REPOSITORY_ID) {
      throw new CodeHubError(
        ErrorCodes.CODEHUB_BAD_RESPONSE,
        `CodeHub ${operation}: HTTP 200 without a repository id: ${describeBody(response.body)}`,
        { status: 200 },
      );
    }
    return id;
  }

  return { startMirrorSync, getMirrorStatus, resolveRepositoryId };
}
