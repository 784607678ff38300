/**
 * Reading CodeHub's (and IAM's) answers: the error fields of either API generation, the status →
 * `CodeHubError` mapping, and the success bodies of the calls the client makes. Pure. Every text
 * CodeHub sent that goes into an error is redacted here, at creation, so answers, logs and the
 * status page all get the redacted text.
 */
import { CodeHubError, ErrorCodes } from '../errors';
import { redactText } from '../observability/redact';
import type { TransportResponse } from './transport';

/** CodeHub repository ids are positive 32-bit integers. */
export const MAX_REPOSITORY_ID = 2_147_483_647;

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function asText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  return typeof value === 'number' ? String(value) : undefined;
}

function asNumber(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function asBoolean(value: unknown): boolean | undefined {
  return typeof value === 'boolean' ? value : undefined;
}

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

/** `Retry-After` as seconds: delta-seconds or an HTTP date. */
function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - now) / 1000));
}

/** APIG's answer when the AK/SK signature it computed differs: 401, APIG(W).0301, "verify aksk signature fail". */
export function isSignatureFailure(response: TransportResponse): boolean {
  if (response.status !== 401) return false;
  const { code, message } = readServiceError(response.body);
  return /^APIGW?\.0301$/.test(code ?? '') && /verify aksk signature fail/i.test(message ?? '');
}

/** The canonical request APIG put in its message, `|` turned back into newlines. */
export function serverCanonicalRequest(message: string): string | undefined {
  const marker = message.indexOf('canonicalRequest:');
  return marker === -1 ? undefined : message.slice(marker + 'canonicalRequest:'.length).split('|').join('\n');
}

/** A body for a message: whitespace folded, at most 200 characters. */
function describeBody(body: string): string {
  const text = body.replace(/\s+/g, ' ').trim();
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

/**
 * Maps an answer that is not the expected success to a `CodeHubError`. `secrets` are values the
 * answer may echo (the source password the call sent): redacted from every text taken from it.
 */
export function errorFromResponse(response: TransportResponse, operation: string, now: number, secrets: readonly string[]): CodeHubError {
  const { status } = response;
  const { code, message } = readServiceError(response.body);
  const serviceMessage = message === undefined ? undefined : redactText(message, secrets);
  const details = { status, serviceCode: code, serviceMessage };
  const said =
    code !== undefined || serviceMessage !== undefined
      ? [code, serviceMessage === undefined ? undefined : describeBody(serviceMessage)].filter(Boolean).join(': ')
      : describeBody(redactText(response.body, secrets));
  const summary = `CodeHub ${operation}: HTTP ${status}${said ? ` ${said}` : ''}`;

  if (status === 429 || code === 'APIG.0308' || code === 'APIGW.0308') {
    const retryAfterSeconds = parseRetryAfter(response.headers['retry-after'], now);
    return new CodeHubError(ErrorCodes.CODEHUB_THROTTLED, summary, { ...details, retryAfterSeconds });
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

function badResponse(operation: string, what: string, body: string, secrets: readonly string[]): CodeHubError {
  return new CodeHubError(ErrorCodes.CODEHUB_BAD_RESPONSE, `CodeHub ${operation}: HTTP 200 ${what}: ${describeBody(redactText(body, secrets))}`, {
    status: 200,
  });
}

/** The `jid` of a 200 answer to `POST .../remote-mirror`. */
export function readJobId(body: string, operation: string, secrets: readonly string[]): string {
  const parsed = parseJson(body);
  const jid = isRecord(parsed) ? parsed.jid : undefined;
  if (typeof jid !== 'string' || jid === '') throw badResponse(operation, 'without a job id', body, secrets);
  return jid;
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
  /** CodeHub's last sync error, URL credentials redacted (it often quotes the source URL). */
  readonly lastError: string | undefined;
  /** The source URL as CodeHub stores it, credentials redacted. */
  readonly url: string | undefined;
  readonly endpointUuid: string | undefined;
}

/** A 200 answer to `GET .../remote-mirror`. */
export function readMirrorStatus(body: string, operation: string): MirrorStatus {
  const mirror = parseJson(body);
  if (!isRecord(mirror)) throw badResponse(operation, 'without a JSON object', body, []);
  const lastError = asText(mirror.last_error);
  const url = asText(mirror.url);
  return {
    repositoryId: asNumber(mirror.repository_id),
    updateStatus: asText(mirror.update_status),
    lastUpdateAt: asText(mirror.last_update_at),
    lastSuccessfulUpdateAt: asText(mirror.last_successful_update_at),
    numberOfFailures: asNumber(mirror.number_of_failures),
    mirroringEnabled: asBoolean(mirror.mirroring_enabled),
    lastError: lastError === undefined ? undefined : redactText(lastError),
    url: url === undefined ? undefined : redactText(url),
    endpointUuid: asText(mirror.endpoint_uuid),
  };
}

/** A commit id as git writes it: SHA-1 or SHA-256, lower-case hex. */
const COMMIT_SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

function commitShaOf(value: unknown): string | undefined {
  return typeof value === 'string' && COMMIT_SHA.test(value.toLowerCase()) ? value.toLowerCase() : undefined;
}

/** A 200 answer to ShowBranch or ShowTag (`{name, commit: {id, …}, …}`): the commit SHA the ref points at. */
export function readRefCommitSha(body: string, operation: string): string {
  const parsed = parseJson(body);
  const commit = isRecord(parsed) ? parsed.commit : undefined;
  const sha = commitShaOf(isRecord(commit) ? commit.id : undefined);
  if (sha === undefined) throw badResponse(operation, 'without a commit id', body, []);
  return sha;
}

/** A 200 answer to ShowTag (`{name, message, target, commit: {id, …}}`): the commit, and the tag object `target`. */
export function readTagHead(body: string, operation: string): { readonly sha: string; readonly target: string | undefined } {
  const parsed = parseJson(body);
  return { sha: readRefCommitSha(body, operation), target: commitShaOf(isRecord(parsed) ? parsed.target : undefined) };
}

/** A 200 answer to ShowCommit (`{id, short_id, parent_ids, …}`): the commit SHA. */
export function readCommitSha(body: string, operation: string): string {
  const parsed = parseJson(body);
  const sha = commitShaOf(isRecord(parsed) ? parsed.id : undefined);
  if (sha === undefined) throw badResponse(operation, 'without a commit id', body, []);
  return sha;
}

/**
 * Whether a failed read means "no such ref". Undocumented: CodeHub is expected to answer 404 with
 * a `CH.*` code for a branch, tag or commit it does not have, so that (and only that) is absence.
 * A 404 from APIG (`APIG.0101`: no such API, a wrong endpoint) or without a code is an error, so a
 * misrouted call can never read as "the ref was deleted" and confirm a deletion that did not land.
 */
export function isAbsentRef(error: unknown): boolean {
  return error instanceof CodeHubError && error.status === 404 && /^CH\./.test(error.serviceCode ?? '');
}

/** A 200 answer to `GET /v1/repositories/repoid`; v1 may answer 200 with `"status": "failed"` and the reason. */
export function readRepositoryId(body: string, operation: string): number {
  const parsed = parseJson(body);
  if (isRecord(parsed) && parsed.status === 'failed') {
    const { code, message } = readServiceError(body);
    const serviceMessage = message === undefined ? undefined : redactText(message);
    throw new CodeHubError(ErrorCodes.CODEHUB_REJECTED, `CodeHub ${operation}: ${code ?? 'failed'}${serviceMessage ? `: ${serviceMessage}` : ''}`, {
      status: 200,
      serviceCode: code,
      serviceMessage,
    });
  }
  const result = isRecord(parsed) ? parsed.result : undefined;
  const id = typeof result === 'string' && /^\d+$/.test(result) ? Number(result) : result;
  if (typeof id !== 'number' || !Number.isInteger(id) || id < 1 || id > MAX_REPOSITORY_ID) {
    throw badResponse(operation, 'without a repository id', body, []);
  }
  return id;
}
