/**
 * The CodeHub (CodeArts Repo) client: the remote-mirror calls the bridge makes. How a call is
 * authorized, sent and repeated is `./exchange`; how an answer is read is `./response`.
 */
import { CodeHubError, ErrorCodes } from '../errors';
import { silentLogger, type Logger } from '../observability/log';
import type { Authenticator } from './auth';
import { makeCall, type CallContext } from './exchange';
import {
  isAbsentRef,
  MAX_REPOSITORY_ID,
  readCommitSha,
  readJobId,
  readMirrorStatus,
  readRefCommitSha,
  readRepositoryId,
  readTagHead,
  type MirrorStatus,
} from './response';
import { DEFAULT_RETRY_POLICY, sleep as sleepFor, type RetryPolicy } from './retry';
import { DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_TIMEOUT_MS } from './settings';
import { encodeSigningComponent } from './sign';
import { undiciTransport, type Transport } from './transport';
import type { CallGate, CallOptions, CodeHub, MirrorRefReader, MirrorSyncRequest, MirrorSyncResult, RefHead } from './types';

export type { MirrorStatus } from './response';

export interface CodeHubClient extends CodeHub, MirrorRefReader {
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
  readonly transport?: Transport | undefined;
  /** Clock for deadlines and Retry-After dates. @default Date.now */
  readonly now?: (() => number) | undefined;
  /** @default no logging */
  readonly logger?: Logger | undefined;
  /** @default DEFAULT_CONNECT_TIMEOUT_MS (lib/codehub/settings.ts) */
  readonly connectTimeoutMs?: number | undefined;
  /** Wait for the response headers, and at most between body chunks. @default DEFAULT_TIMEOUT_MS */
  readonly timeoutMs?: number | undefined;
  /**
   * Retries of every call, made only when the call has a `deadline`. `false` makes every call once.
   * @default DEFAULT_RETRY_POLICY (lib/codehub/retry.ts)
   */
  readonly retry?: Partial<RetryPolicy> | false | undefined;
  /** How the client waits between retries. @default setTimeout */
  readonly sleep?: ((ms: number) => Promise<void>) | undefined;
  /**
   * Admits every HTTP attempt (retries included) against a budget shared by every caller. With a
   * gate, a 429 is not retried here: the gate pauses every caller, and the caller's queue tries again.
   * 5xx, resets and timeouts are still retried, each retry admitted by the gate. @default none
   */
  readonly gate?: CallGate | undefined;
}

function checkRepositoryId(repositoryId: number): void {
  if (!Number.isInteger(repositoryId) || repositoryId < 1 || repositoryId > MAX_REPOSITORY_ID) {
    throw new CodeHubError(ErrorCodes.CODEHUB_REJECTED, `repository id must be an integer 1..${MAX_REPOSITORY_ID}, got ${String(repositoryId)}`);
  }
}

/**
 * `?name=value` with the value percent-encoded as the AK/SK signer canonicalises it (`/` → `%2F`,
 * `+` → `%2B`, space → `%20`), so the bytes sent are the bytes signed and CodeHub decodes the name
 * back exactly (a raw `+` would read as a space).
 */
function refQuery(name: string, value: string, operation: string): string {
  if (value === '') throw new CodeHubError(ErrorCodes.CODEHUB_REJECTED, `CodeHub ${operation}: the ref name is empty`);
  try {
    return `?${name}=${encodeSigningComponent(value)}`;
  } catch (cause) {
    // encodeURIComponent refuses a lone surrogate: no ref is named so.
    throw new CodeHubError(ErrorCodes.CODEHUB_REJECTED, `CodeHub ${operation}: the ref name is not valid Unicode`, { cause });
  }
}

function base64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

/**
 * The sync body (CodeHub expects the source credentials base64-encoded; the SDKs leave that to the
 * caller), and what CodeHub may echo of it: the password, and the username as it was sent.
 */
function mirrorSyncBody(request: MirrorSyncRequest): { body: Buffer; secrets: string[] } {
  const payload: Record<string, string | boolean> = { force_fetch: request.forceFetch };
  const secrets: string[] = [];
  if (request.username) {
    payload.username = base64(request.username);
    secrets.push(payload.username);
  }
  if (request.password) {
    payload.password = base64(request.password);
    secrets.push(request.password);
  }
  if (request.endpointUuid) payload.endpoint_uuid = request.endpointUuid;
  // One buffer, signed and sent: the bytes on the wire are the bytes hashed.
  return { body: Buffer.from(JSON.stringify(payload), 'utf8'), secrets };
}

function contextOf(options: CodeHubClientOptions): CallContext {
  const retry = options.retry === false ? { maxAttempts: 1 } : options.retry;
  // Parsed here so that a malformed endpoint fails at creation, not at the first call.
  const endpoint = new URL(options.endpoint);
  return {
    baseUrl: `${endpoint.origin}${endpoint.pathname.replace(/\/+$/, '')}`,
    auth: options.auth,
    transport: options.transport ?? undiciTransport,
    now: options.now ?? Date.now,
    logger: options.logger ?? silentLogger,
    // The gate overrides `retry`: one caller retrying a 429 would spend the budget every caller waits on.
    retryPolicy: { ...DEFAULT_RETRY_POLICY, ...retry, ...(options.gate ? { retryThrottled: false } : {}) },
    sleep: options.sleep ?? sleepFor,
    connectTimeoutMs: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    gate: options.gate,
  };
}

/** Creates the CodeHub client. Every method throws `CodeHubError` on anything but its success answer. */
export function createCodeHubClient(options: CodeHubClientOptions): CodeHubClient {
  const context = contextOf(options);
  const noBody = Buffer.alloc(0);

  async function startMirrorSync(repositoryId: number, request: MirrorSyncRequest, callOptions?: CallOptions): Promise<MirrorSyncResult> {
    checkRepositoryId(repositoryId);
    const operation = `start mirror sync of repository ${repositoryId}`;
    const { body, secrets } = mirrorSyncBody(request);
    const path = `/v4/repositories/${repositoryId}/remote-mirror`;
    const response = await makeCall(context, { operation, method: 'POST', path, body, secrets }, callOptions);
    const jid = readJobId(response.body, operation, secrets);
    // The delivery's own log line carries the job ids; this one is for tracing a single call.
    context.logger.debug('CodeHub mirror sync started', { repositoryId, jid });
    return { jid };
  }

  async function getMirrorStatus(repositoryId: number, callOptions?: CallOptions): Promise<MirrorStatus> {
    checkRepositoryId(repositoryId);
    const operation = `read mirror status of repository ${repositoryId}`;
    const path = `/v4/repositories/${repositoryId}/remote-mirror`;
    const response = await makeCall(context, { operation, method: 'GET', path, body: noBody, secrets: [] }, callOptions);
    return readMirrorStatus(response.body, operation);
  }

  async function resolveRepositoryId(groupName: string, repositoryName: string, callOptions?: CallOptions): Promise<number> {
    const operation = `resolve repository id of ${groupName}/${repositoryName}`;
    const path = `/v1/repositories/repoid?group_name=${encodeSigningComponent(groupName)}&repository_name=${encodeSigningComponent(repositoryName)}`;
    const response = await makeCall(context, { operation, method: 'GET', path, body: noBody, secrets: [] }, callOptions);
    return readRepositoryId(response.body, operation);
  }

  /** One ShowBranch / ShowTag / ShowCommit read; `undefined` when CodeHub says the ref does not exist. */
  async function readRef(
    repositoryId: number,
    what: { operation: string; path: string; read: (body: string, operation: string) => string | RefHead },
    callOptions: CallOptions | undefined,
  ): Promise<RefHead | undefined> {
    checkRepositoryId(repositoryId);
    try {
      const response = await makeCall(context, { operation: what.operation, method: 'GET', path: what.path, body: noBody, secrets: [] }, callOptions);
      const head = what.read(response.body, what.operation);
      return typeof head === 'string' ? { sha: head } : head;
    } catch (error) {
      // A 404 is not retried (a 4xx is final), so absence costs one call.
      if (isAbsentRef(error)) return undefined;
      throw error;
    }
  }

  async function getBranchHead(repositoryId: number, branch: string, callOptions?: CallOptions): Promise<RefHead | undefined> {
    const operation = `read branch ${branch} of repository ${repositoryId}`;
    const path = `/v4/repositories/${repositoryId}/repository/branch${refQuery('branch_name', branch, operation)}`;
    return readRef(repositoryId, { operation, path, read: readRefCommitSha }, callOptions);
  }

  async function getTagHead(repositoryId: number, tag: string, callOptions?: CallOptions): Promise<RefHead | undefined> {
    const operation = `read tag ${tag} of repository ${repositoryId}`;
    const path = `/v4/repositories/${repositoryId}/repository/tag${refQuery('tag_name', tag, operation)}`;
    return readRef(repositoryId, { operation, path, read: readTagHead }, callOptions);
  }

  async function getCommit(repositoryId: number, ref: string, callOptions?: CallOptions): Promise<RefHead | undefined> {
    const operation = `read commit ${ref} of repository ${repositoryId}`;
    const path = `/v4/repositories/${repositoryId}/repository/commits${refQuery('sha', ref, operation)}`;
    return readRef(repositoryId, { operation, path, read: readCommitSha }, callOptions);
  }

  return { startMirrorSync, getMirrorStatus, resolveRepositoryId, getBranchHead, getTagHead, getCommit };
}
