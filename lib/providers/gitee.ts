/**
 * Gitee. `X-Gitee-Token` is either the password itself or a signature of the timestamp keyed with
 * the secret; the body is never signed. Gitee sends `X-Gitee-Timestamp` in both modes, so a token
 * is accepted when it matches either form.
 */

import { hmacSha256, safeEqual } from '../crypto';
import { PayloadError } from '../errors';
import { TOKEN_SCHEME } from './claim';
import { sourceIdentity } from './identity';
import {
  booleanField,
  defaultBranchField,
  headerValue,
  hostOfUrl,
  isZeroSha,
  matchingSecretIndex,
  objectField,
  readJsonPayload,
  requireString,
  stringField,
  verified,
  verifyFailed,
  type JsonObject,
} from './shared';
import { ProviderIds, type Delivery, type Provider, type Push, type ReadResult, type VerifyResult } from './types';

/** How far `X-Gitee-Timestamp` may be from `now`, either way, in signature mode. */
export const GITEE_TIMESTAMP_TOLERANCE_MS = 60 * 60 * 1000;

const GITEE_DEFAULT_HOST = 'gitee.com';
const UNIX_MILLISECONDS = /^\d{1,16}$/;

/** The token Gitee sends in signature mode: base64(HMAC(secret, `${timestamp}\n${secret}`)). */
export function giteeSignature(secret: string, timestamp: string): string {
  return hmacSha256(secret, `${timestamp}\n${secret}`).toString('base64');
}

/** Verifies `X-Gitee-Token` as a password or as a signature over `X-Gitee-Timestamp`. */
export function verifyGiteeToken(delivery: Delivery, secrets: readonly string[]): VerifyResult {
  const token = headerValue(delivery.headers, 'x-gitee-token');
  if (token === undefined) return verifyFailed('SIGNATURE_MISSING', 'X-Gitee-Token is missing');

  const passwordIndex = matchingSecretIndex(secrets, (secret) => safeEqual(secret, token));
  if (passwordIndex !== -1) return verified(passwordIndex);

  const timestamp = headerValue(delivery.headers, 'x-gitee-timestamp');
  if (timestamp === undefined || !UNIX_MILLISECONDS.test(timestamp)) {
    return verifyFailed('SIGNATURE_MISMATCH', 'X-Gitee-Token is no configured password, and X-Gitee-Timestamp is unusable');
  }
  const signatureIndex = matchingSecretIndex(secrets, (secret) => safeEqual(giteeSignature(secret, timestamp), token));
  if (signatureIndex === -1) {
    return verifyFailed('SIGNATURE_MISMATCH', 'X-Gitee-Token does not match any configured secret');
  }
  // Only the timestamp is signed, so an old token would let anyone replay it with any body.
  if (Math.abs(delivery.now - Number(timestamp)) > GITEE_TIMESTAMP_TOLERANCE_MS) {
    return verifyFailed('TIMESTAMP_STALE', 'X-Gitee-Timestamp is more than an hour from now');
  }
  return verified(signatureIndex);
}

/** Reads a Gitee push or tag push payload; the default branch is `default_branch` of `project` or `repository` (Gitee sends both). */
export function readGiteePush(body: JsonObject): Push {
  const project = objectField(body, 'project');
  const repository = objectField(body, 'repository');
  const path =
    stringField(project, 'path_with_namespace') ??
    stringField(repository, 'path_with_namespace') ??
    stringField(repository, 'full_name') ??
    stringField(project, 'full_name');
  if (path === undefined) throw new PayloadError('payload has no project.path_with_namespace or repository.full_name');
  const webUrl =
    stringField(project, 'web_url') ?? stringField(project, 'html_url') ?? stringField(repository, 'html_url');
  const host = webUrl === undefined ? GITEE_DEFAULT_HOST : hostOfUrl(webUrl);
  if (host === undefined) throw new PayloadError('payload has an unusable repository URL');
  const ref = requireString(body, 'ref', 'ref');
  const before = requireString(body, 'before', 'before');
  const after = requireString(body, 'after', 'after');
  return {
    source: sourceIdentity(host, path),
    refs: [{ ref, before, after, deleted: booleanField(body, 'deleted') === true || isZeroSha(after) }],
    cloneUrl:
      stringField(project, 'git_http_url') ??
      stringField(repository, 'git_http_url') ??
      stringField(repository, 'clone_url'),
    defaultBranch: defaultBranchField(project, 'default_branch') ?? defaultBranchField(repository, 'default_branch'),
  };
}

const GITEE_PUSH_EVENTS = new Set(['Push Hook', 'Tag Push Hook']);

/** Reads a verified Gitee delivery: `X-Gitee-Ping` → ping, push and tag push → push, else ignored. */
export function readGiteeDelivery(delivery: Delivery): ReadResult {
  const body = readJsonPayload(delivery);
  if (headerValue(delivery.headers, 'x-gitee-ping')?.toLowerCase() === 'true') return { kind: 'ping' };
  const event = headerValue(delivery.headers, 'x-gitee-event');
  if (event === undefined || !GITEE_PUSH_EVENTS.has(event)) {
    return { kind: 'ignored', reason: `Gitee event "${event ?? '(none)'}" is not a push` };
  }
  return { kind: 'push', push: readGiteePush(body) };
}

/** Gitee (gitee.com and Gitee Enterprise). */
export const gitee: Provider = {
  id: ProviderIds.gitee,
  detect: (headers) =>
    headerValue(headers, 'x-gitee-event') !== undefined || headerValue(headers, 'x-gitee-ping') !== undefined,
  // Both modes are cheap per secret: a password compare, or an HMAC of the timestamp (never the body).
  claimSource: () => TOKEN_SCHEME,
  verify: verifyGiteeToken,
  read: readGiteeDelivery,
  // Gitee sends no id that stays the same across redeliveries.
  deliveryId: () => undefined,
};
