/**
 * GitCode. Proves a delivery with `X-GitCode-Token` (the password itself) or
 * `X-GitCode-Signature-256` (`sha256=` + hex HMAC of the raw body); its payloads are GitLab-shaped.
 */

import { TOKEN_SCHEME } from './claim';
import { claimGitLabShapedSource, readGitLabShapedPush } from './gitlab';
import {
  headerValue,
  readJsonPayload,
  verifyFailed,
  signedBody,
  verifyHexSha256Header,
  verifyPlainToken,
} from './shared';
import { ProviderIds, type Delivery, type Provider, type ReadResult, type SourceClaim, type VerifyResult } from './types';

/**
 * Verifies `X-GitCode-Signature-256` or `X-GitCode-Token`, whichever is present; when both are,
 * either matching is enough (GitCode's docs do not say whether both are ever sent).
 */
export function verifyGitCodeDelivery(delivery: Delivery, secrets: readonly string[]): VerifyResult {
  const signature = headerValue(delivery.headers, 'x-gitcode-signature-256');
  const token = headerValue(delivery.headers, 'x-gitcode-token');
  if (signature === undefined && token === undefined) {
    return verifyFailed('SIGNATURE_MISSING', 'neither X-GitCode-Signature-256 nor X-GitCode-Token is present');
  }
  const bySignature =
    signature === undefined
      ? undefined
      : verifyHexSha256Header(signedBody(delivery), signature, secrets, 'X-GitCode-Signature-256');
  if (bySignature?.ok === true) return bySignature;
  const byToken = token === undefined ? undefined : verifyPlainToken(token, secrets, 'X-GitCode-Token');
  if (byToken?.ok === true) return byToken;
  return bySignature ?? byToken ?? verifyFailed('SIGNATURE_MISMATCH', 'no GitCode credential matched');
}

/** `X-GitCode-Signature-256` MACs the body; `X-GitCode-Token` alone is compared as it is. */
export function claimGitCodeSource(delivery: Delivery): SourceClaim {
  return headerValue(delivery.headers, 'x-gitcode-signature-256') === undefined
    ? TOKEN_SCHEME
    : claimGitLabShapedSource(delivery);
}

const GITCODE_PUSH_EVENTS = new Set(['Push Hook', 'Tag Push Hook']);

/** Reads a verified GitCode delivery: push and tag push → push (GitLab's fields, `project.default_branch` too), anything else → ignored. */
export function readGitCodeDelivery(delivery: Delivery): ReadResult {
  const body = readJsonPayload(delivery);
  const event = headerValue(delivery.headers, 'x-gitcode-event');
  if (event === undefined || !GITCODE_PUSH_EVENTS.has(event)) {
    return { kind: 'ignored', reason: `GitCode event "${event ?? '(none)'}" is not a push` };
  }
  return { kind: 'push', push: readGitLabShapedPush(body) };
}

/** GitCode (gitcode.com). */
export const gitcode: Provider = {
  id: ProviderIds.gitcode,
  detect: (headers) => headerValue(headers, 'x-gitcode-event') !== undefined,
  claimSource: claimGitCodeSource,
  verify: verifyGitCodeDelivery,
  read: readGitCodeDelivery,
  deliveryId: (headers) => headerValue(headers, 'x-gitcode-delivery'),
};
