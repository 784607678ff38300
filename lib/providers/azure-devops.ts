/**
 * Azure DevOps (Services and Server) `git.push` service hooks. Nothing is signed: the user sets
 * HTTP Basic credentials on the service hook, and a configured secret is that `username:password`.
 * Azure DevOps sends no header of its own, so it is detected by its Basic credentials, last of all.
 */

import { safeEqual } from '../crypto';
import { PayloadError } from '../errors';
import { TOKEN_SCHEME } from './claim';
import { parseRepositoryUrl } from './identity';
import {
  arrayField,
  defaultBranchField,
  headerValue,
  isJsonObject,
  isZeroSha,
  matchingSecretIndex,
  objectField,
  parseJsonObject,
  requireString,
  signedBody,
  stringField,
  verified,
  verifyFailed,
  type JsonObject,
} from './shared';
import {
  ProviderIds,
  type Delivery,
  type Headers,
  type Provider,
  type Push,
  type ReadResult,
  type RefChange,
  type VerifyResult,
} from './types';

// The scheme is case-insensitive (RFC 9110); the credentials are one token68.
const BASIC_AUTHORIZATION = /^basic(?:[ \t]+(.*))?$/i;

/**
 * Verifies `Authorization: Basic base64(username:password)` against the configured secrets. The
 * base64 text is compared as sent, never decoded: an encoding of the same bytes that differs is
 * not what Azure DevOps sends. A secret without a colon is no username:password (it is another
 * host's HMAC key or token) and never doubles as Basic credentials.
 */
export function verifyAzureDevOpsBasicAuth(delivery: Delivery, secrets: readonly string[]): VerifyResult {
  const authorization = headerValue(delivery.headers, 'authorization');
  if (authorization === undefined) return verifyFailed('SIGNATURE_MISSING', 'Authorization is missing');
  const match = BASIC_AUTHORIZATION.exec(authorization);
  if (match === null) return verifyFailed('SIGNATURE_MISSING', 'Authorization is not Basic');
  const credentials = match[1]?.trim() ?? '';
  if (credentials === '') return verifyFailed('SIGNATURE_MISSING', 'Authorization: Basic carries no credentials');

  const index = matchingSecretIndex(
    secrets,
    (secret) => secret.includes(':') && safeEqual(Buffer.from(secret, 'utf8').toString('base64'), credentials),
  );
  return index === -1
    ? verifyFailed('SIGNATURE_MISMATCH', 'Authorization does not match any configured username:password')
    : verified(index);
}

function refChange(update: unknown, index: number): RefChange {
  if (!isJsonObject(update)) throw new PayloadError(`payload resource.refUpdates[${index}] is not an object`);
  const after = requireString(update, 'newObjectId', `resource.refUpdates[${index}].newObjectId`);
  return {
    ref: requireString(update, 'name', `resource.refUpdates[${index}].name`),
    before: requireString(update, 'oldObjectId', `resource.refUpdates[${index}].oldObjectId`),
    after,
    deleted: isZeroSha(after),
  };
}

/**
 * Reads a `git.push` payload; one push may update several refs. The default branch is
 * `resource.repository.defaultBranch`, which Azure DevOps sends as a full ref (`refs/heads/main`).
 */
export function readAzureDevOpsGitPush(body: JsonObject): Push {
  const resource = objectField(body, 'resource');
  const repository = objectField(resource, 'repository');
  const remoteUrl = requireString(repository, 'remoteUrl', 'resource.repository.remoteUrl');
  // dev.azure.com/org/project/_git/repo, org.visualstudio.com/project/_git/repo, or a server's
  // collection path; the `org@` user Azure DevOps may put in the URL is not part of the identity.
  // Project and repository names (`My%20Project`) are %-decoded exactly once, by parseRepositoryUrl.
  const source = parseRepositoryUrl(remoteUrl);
  if ('problem' in source) throw new PayloadError(`payload's resource.repository.remoteUrl ${source.problem}`);
  const updates = arrayField(resource, 'refUpdates');
  if (updates === undefined) throw new PayloadError('payload has no resource.refUpdates');
  return {
    source: source.identity,
    refs: updates.map(refChange),
    cloneUrl: remoteUrl,
    defaultBranch: defaultBranchField(repository, 'defaultBranch'),
  };
}

/**
 * Reads a verified Azure DevOps delivery: `git.push` → push, any other `eventType` → ignored.
 * There is no ping: the portal's Test button sends a sample `git.push` (Fabrikam's), which maps to
 * no mirror.
 */
export function readAzureDevOpsDelivery(delivery: Delivery): ReadResult {
  // Service hooks always send JSON; the event type is in the body, not in a header.
  const body = parseJsonObject(signedBody(delivery));
  const eventType = stringField(body, 'eventType');
  if (eventType !== 'git.push') {
    return { kind: 'ignored', reason: `Azure DevOps event "${eventType ?? '(none)'}" is not a push` };
  }
  return { kind: 'push', push: readAzureDevOpsGitPush(body) };
}

/**
 * Basic credentials, or a hint a user may have added (a custom `X-Azure-DevOps` header; the
 * `VSServices` user agent). Weak on purpose, so Azure DevOps must stay last in detection order.
 */
export function detectAzureDevOps(headers: Headers): boolean {
  const authorization = headerValue(headers, 'authorization');
  if (authorization !== undefined && BASIC_AUTHORIZATION.test(authorization)) return true;
  if (headerValue(headers, 'x-azure-devops') !== undefined) return true;
  return headerValue(headers, 'user-agent')?.toLowerCase().startsWith('vsservices') === true;
}

/** Azure DevOps Services (dev.azure.com, *.visualstudio.com) and Azure DevOps Server. */
export const azureDevops: Provider = {
  id: ProviderIds.azureDevops,
  detect: detectAzureDevOps,
  // Nothing is signed: Basic credentials are compared as they are, which is cheap per secret.
  claimSource: () => TOKEN_SCHEME,
  verify: verifyAzureDevOpsBasicAuth,
  read: readAzureDevOpsDelivery,
  // The only ids are in the body (`id`, `notificationId`), and a provider reads the body only
  // after verification; the pipeline then keys idempotency on the body's hash.
  deliveryId: () => undefined,
};
