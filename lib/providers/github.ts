/**
 * GitHub (.com, GHEC) and GitHub Enterprise Server. Signed with `X-Hub-Signature-256` over the raw
 * body, which for form-encoded deliveries is `payload=<urlencoded JSON>` itself.
 */

import { PayloadError } from '../errors';
import { claimPathsOnHost } from './claim';
import { sourceIdentity } from './identity';
import {
  booleanField,
  defaultBranchField,
  headerValue,
  hostOfUrl,
  isZeroSha,
  jsonPayload,
  objectField,
  readJsonPayload,
  requireString,
  stringField,
  signedBody,
  verifyHexSha256Header,
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

/** Verifies `X-Hub-Signature-256`; the legacy SHA-1 `X-Hub-Signature` alone is not accepted. */
export function verifyGitHubSignature(delivery: Delivery, secrets: readonly string[]): VerifyResult {
  return verifyHexSha256Header(
    signedBody(delivery),
    delivery.headers['x-hub-signature-256'],
    secrets,
    'X-Hub-Signature-256',
  );
}

/** The repository an unverified delivery names (`full_name` on the host of `html_url`), form-encoded or not. */
export function claimGitHubSource(delivery: Delivery): SourceClaim {
  return claimPathsOnHost(jsonPayload(delivery), 'full_name', 'html_url');
}

/**
 * Reads a GitHub `push` payload (branches and tags alike). The default branch is
 * `repository.default_branch`, or the older `repository.master_branch` that push payloads still carry.
 */
export function readGitHubPush(body: JsonObject): Push {
  const repository = objectField(body, 'repository');
  const fullName = requireString(repository, 'full_name', 'repository.full_name');
  const host = hostOfUrl(stringField(repository, 'html_url'));
  if (host === undefined) throw new PayloadError('payload has no usable repository.html_url');
  const ref = requireString(body, 'ref', 'ref');
  const before = requireString(body, 'before', 'before');
  const after = requireString(body, 'after', 'after');
  return {
    source: sourceIdentity(host, fullName),
    refs: [{ ref, before, after, deleted: booleanField(body, 'deleted') === true || isZeroSha(after) }],
    cloneUrl: stringField(repository, 'clone_url'),
    defaultBranch: defaultBranchField(repository, 'default_branch') ?? defaultBranchField(repository, 'master_branch'),
  };
}

/** Reads a verified GitHub delivery: `push` → push, `ping` → ping, anything else → ignored. */
export function readGitHubDelivery(delivery: Delivery): ReadResult {
  const body = readJsonPayload(delivery);
  const event = headerValue(delivery.headers, 'x-github-event');
  if (event === 'ping') return { kind: 'ping' };
  if (event !== 'push') return { kind: 'ignored', reason: `GitHub event "${event ?? '(none)'}" is not a push` };
  return { kind: 'push', push: readGitHubPush(body) };
}

/** GitHub and GitHub Enterprise Server. */
export const github: Provider = {
  id: ProviderIds.github,
  detect: (headers) => headerValue(headers, 'x-github-event') !== undefined,
  claimSource: claimGitHubSource,
  verify: verifyGitHubSignature,
  read: readGitHubDelivery,
  deliveryId: (headers) => headerValue(headers, 'x-github-delivery'),
};
