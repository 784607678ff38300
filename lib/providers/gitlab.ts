/**
 * GitLab. Two ways to prove a delivery: the classic `X-Gitlab-Token` (the secret in plain text), or
 * a signing token (Standard Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature`).
 */

import { hmacSha256, safeEqual } from '../crypto';
import { PayloadError } from '../errors';
import { claimPathsOnHost, TOKEN_SCHEME } from './claim';
import { sourceIdentity } from './identity';
import {
  defaultBranchField,
  firstHeaderValue,
  headerValue,
  hostOfUrl,
  isZeroSha,
  matchingSecretIndex,
  objectField,
  readJsonPayload,
  requireString,
  signedBody,
  stringField,
  verified,
  verifyFailed,
  verifyPlainToken,
  type JsonObject,
} from './shared';
import {
  ProviderIds,
  type Delivery,
  type Provider,
  type Push,
  type ReadResult,
  type SourceClaim,
  type VerifyResult,
} from './types';

/** How far `webhook-timestamp` may be from `now`, either way (the Standard Webhooks libraries' tolerance). */
export const GITLAB_TIMESTAMP_TOLERANCE_MS = 5 * 60 * 1000;

const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
// A v1 signature is an HMAC-SHA256: 32 bytes, 44 base64 characters.
const V1_SIGNATURE = /^v1,([A-Za-z0-9+/]{43}=)$/;
const UNIX_SECONDS = /^\d{1,12}$/;

/** The HMAC key of a signing token (`whsec_` + base64), or undefined when the secret is not one. */
function signingKey(secret: string): Buffer | undefined {
  const encoded = secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret;
  if (encoded === '' || !STRICT_BASE64.test(encoded)) return undefined;
  return Buffer.from(encoded, 'base64');
}

/** Verifies a Standard Webhooks signature (GitLab signing tokens), including the timestamp window. */
export function verifyGitLabSigningToken(delivery: Delivery, secrets: readonly string[]): VerifyResult {
  const { headers, rawBody, now } = delivery;
  const signatureHeader = headerValue(headers, 'webhook-signature');
  const id = headerValue(headers, 'webhook-id');
  const timestamp = headerValue(headers, 'webhook-timestamp');
  if (signatureHeader === undefined) return verifyFailed('SIGNATURE_MISSING', 'webhook-signature is missing');
  if (id === undefined || timestamp === undefined) {
    return verifyFailed('SIGNATURE_MISSING', 'webhook-id or webhook-timestamp is missing');
  }
  if (!UNIX_SECONDS.test(timestamp)) {
    return verifyFailed('SIGNATURE_MISMATCH', 'webhook-timestamp is not unix seconds');
  }
  const signatures = signatureHeader
    .split(' ')
    .map((entry) => V1_SIGNATURE.exec(entry)?.[1])
    .filter((signature) => signature !== undefined);
  if (signatures.length === 0) {
    return verifyFailed('SIGNATURE_MISMATCH', 'webhook-signature holds no v1 signature');
  }

  const signedContent = Buffer.concat([Buffer.from(`${id}.${timestamp}.`, 'utf8'), rawBody]);
  const index = matchingSecretIndex(secrets, (secret) => {
    const key = signingKey(secret);
    if (key === undefined) return false;
    const expected = hmacSha256(key, signedContent).toString('base64');
    return signatures.some((signature) => safeEqual(expected, signature));
  });
  if (index === -1) {
    return verifyFailed('SIGNATURE_MISMATCH', 'webhook-signature does not match any configured signing token');
  }
  if (Math.abs(now - Number(timestamp) * 1000) > GITLAB_TIMESTAMP_TOLERANCE_MS) {
    return verifyFailed('TIMESTAMP_STALE', 'webhook-timestamp is more than 5 minutes from now');
  }
  return verified(index);
}

/** Verifies the classic `X-Gitlab-Token`, which is the secret itself. */
export function verifyGitLabToken(delivery: Delivery, secrets: readonly string[]): VerifyResult {
  return verifyPlainToken(headerValue(delivery.headers, 'x-gitlab-token'), secrets, 'X-Gitlab-Token');
}

/**
 * Verifies either mode. GitLab sends `webhook-id`/`-timestamp` on every delivery, so only a
 * `webhook-signature` says a signing token is in use.
 */
export function verifyGitLabDelivery(delivery: Delivery, secrets: readonly string[]): VerifyResult {
  return headerValue(delivery.headers, 'webhook-signature') === undefined
    ? verifyGitLabToken(delivery, secrets)
    : verifyGitLabSigningToken(delivery, secrets);
}

/** The project a GitLab-shaped body names: `path_with_namespace` on the host of `web_url` (GitLab, GitCode). */
export function claimGitLabShapedSource(delivery: Delivery): SourceClaim {
  return claimPathsOnHost(signedBody(delivery), 'path_with_namespace', 'web_url');
}

/** A signing token MACs the body; the classic token is compared as it is. */
export function claimGitLabSource(delivery: Delivery): SourceClaim {
  return headerValue(delivery.headers, 'webhook-signature') === undefined ? TOKEN_SCHEME : claimGitLabShapedSource(delivery);
}

/** Reads a GitLab-shaped push or tag push payload (GitLab, GitCode); the default branch is `project.default_branch`. */
export function readGitLabShapedPush(body: JsonObject): Push {
  const kind = stringField(body, 'object_kind');
  if (kind !== undefined && kind !== 'push' && kind !== 'tag_push') {
    throw new PayloadError(`payload object_kind "${kind}" is not a push`);
  }
  const project = objectField(body, 'project');
  const path = requireString(project, 'path_with_namespace', 'project.path_with_namespace');
  const host = hostOfUrl(stringField(project, 'web_url'));
  if (host === undefined) throw new PayloadError('payload has no usable project.web_url');
  const ref = requireString(body, 'ref', 'ref');
  const before = requireString(body, 'before', 'before');
  const after = requireString(body, 'after', 'after');
  return {
    source: sourceIdentity(host, path),
    refs: [{ ref, before, after, deleted: isZeroSha(after) }],
    cloneUrl: stringField(project, 'git_http_url') ?? stringField(objectField(body, 'repository'), 'git_http_url'),
    defaultBranch: defaultBranchField(project, 'default_branch'),
  };
}

const GITLAB_PUSH_EVENTS = new Set(['Push Hook', 'Tag Push Hook']);

/** Reads a verified GitLab delivery: push and tag push → push, anything else → ignored. */
export function readGitLabDelivery(delivery: Delivery): ReadResult {
  const body = readJsonPayload(delivery);
  const event = headerValue(delivery.headers, 'x-gitlab-event');
  if (event === undefined || !GITLAB_PUSH_EVENTS.has(event)) {
    return { kind: 'ignored', reason: `GitLab event "${event ?? '(none)'}" is not a push` };
  }
  return { kind: 'push', push: readGitLabShapedPush(body) };
}

/** GitLab (.com and self-managed). */
export const gitlab: Provider = {
  id: ProviderIds.gitlab,
  detect: (headers) => headerValue(headers, 'x-gitlab-event') !== undefined,
  claimSource: claimGitLabSource,
  verify: verifyGitLabDelivery,
  read: readGitLabDelivery,
  // webhook-id and Idempotency-Key stay the same across retries; the event UUID is older.
  deliveryId: (headers) => firstHeaderValue(headers, ['webhook-id', 'idempotency-key', 'x-gitlab-event-uuid']),
};
