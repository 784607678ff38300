/**
 * Bitbucket Cloud and Bitbucket Data Center. Both sign with `X-Hub-Signature` (`sha256=` + hex
 * HMAC of the raw body) and name the event in `X-Event-Key`; their push payloads differ.
 */

import { PayloadError } from '../errors';
import { bodyMacClaim, claimedIdentity, firstUrlHost, jsonStringValues } from './claim';
import { sourceIdentity } from './identity';
import {
  arrayField,
  booleanField,
  firstHeaderValue,
  headerValue,
  hostOfUrl,
  isJsonObject,
  objectField,
  readJsonPayload,
  requireString,
  stringField,
  signedBody,
  verifyHexSha256Header,
  ZERO_SHA,
  type JsonObject,
} from './shared';
import {
  ProviderIds,
  type Delivery,
  type Provider,
  type Push,
  type ReadResult,
  type RefChange,
  type SourceClaim,
  type VerifyResult,
} from './types';

const BITBUCKET_CLOUD_HOST = 'bitbucket.org';

/** Verifies `X-Hub-Signature` (SHA-256 despite the name, on both Cloud and Data Center). */
export function verifyBitbucketSignature(delivery: Delivery, secrets: readonly string[]): VerifyResult {
  return verifyHexSha256Header(signedBody(delivery), delivery.headers['x-hub-signature'], secrets, 'X-Hub-Signature');
}

/** The repository a Data Center link names: `…/projects/KEY/repos/slug/…` (or `/users/name/…`, project `~name`). */
function dataCenterSourceOfLink(href: string): string | undefined {
  let url: URL;
  try {
    url = new URL(href);
  } catch {
    return undefined;
  }
  const segments = url.pathname.split('/');
  const repos = segments.indexOf('repos');
  const [kind, owner, slug] = [segments[repos - 2], segments[repos - 1], segments[repos + 1]];
  if (repos < 2 || owner === undefined || owner === '' || slug === undefined || slug === '') return undefined;
  if (kind === 'projects') return claimedIdentity(url.host, `${owner}/${slug}`);
  if (kind === 'users') return claimedIdentity(url.host, `~${owner}/${slug}`);
  return undefined;
}

/**
 * The repository an unverified delivery names: Data Center's by its links, Cloud's by `full_name`
 * on bitbucket.org (the readers' fields).
 */
export function claimBitbucketSource(delivery: Delivery): SourceClaim {
  const body = signedBody(delivery);
  if (headerValue(delivery.headers, 'x-event-key') === 'repo:refs_changed') {
    return bodyMacClaim(firstUrlHost(body, 'href'), jsonStringValues(body, 'href').map(dataCenterSourceOfLink));
  }
  const paths = jsonStringValues(body, 'full_name');
  return bodyMacClaim(BITBUCKET_CLOUD_HOST, paths.map((path) => claimedIdentity(BITBUCKET_CLOUD_HOST, path)));
}

function cloudRefName(side: JsonObject, index: number): string {
  const name = requireString(side, 'name', `push.changes[${index}] ref name`);
  const type = stringField(side, 'type');
  if (type === 'branch' || type === 'named_branch') return `refs/heads/${name}`;
  if (type === 'tag') return `refs/tags/${name}`;
  throw new PayloadError(`payload push.changes[${index}] has unknown ref type "${type ?? '(none)'}"`);
}

function cloudRefChange(change: unknown, index: number): RefChange {
  if (!isJsonObject(change)) throw new PayloadError(`payload push.changes[${index}] is not an object`);
  const oldSide = objectField(change, 'old');
  const newSide = objectField(change, 'new');
  const side = newSide ?? oldSide;
  if (side === undefined) throw new PayloadError(`payload push.changes[${index}] has neither old nor new`);
  const hashOf = (ref: JsonObject | undefined): string =>
    ref === undefined ? ZERO_SHA : requireString(objectField(ref, 'target'), 'hash', `push.changes[${index}] target.hash`);
  return {
    ref: cloudRefName(side, index),
    before: hashOf(oldSide),
    after: hashOf(newSide),
    deleted: newSide === undefined || booleanField(change, 'closed') === true,
  };
}

/**
 * Reads a Bitbucket Cloud `repo:push` payload; one push may change several refs. No default
 * branch: the payload's repository entity has no `mainbranch`, so `defaultBranch` stays undefined.
 */
export function readBitbucketCloudPush(body: JsonObject): Push {
  const fullName = requireString(objectField(body, 'repository'), 'full_name', 'repository.full_name');
  const changes = arrayField(objectField(body, 'push'), 'changes');
  if (changes === undefined) throw new PayloadError('payload has no push.changes');
  return {
    source: sourceIdentity(BITBUCKET_CLOUD_HOST, fullName),
    refs: changes.map(cloudRefChange),
    // The payload carries no clone URL; this is the one Bitbucket Cloud always serves.
    cloneUrl: `https://${BITBUCKET_CLOUD_HOST}/${fullName}.git`,
  };
}

function dataCenterRefChange(change: unknown, index: number): RefChange {
  if (!isJsonObject(change)) throw new PayloadError(`payload changes[${index}] is not an object`);
  const ref = stringField(change, 'refId') ?? requireString(objectField(change, 'ref'), 'id', `changes[${index}].refId`);
  return {
    ref,
    before: requireString(change, 'fromHash', `changes[${index}].fromHash`),
    after: requireString(change, 'toHash', `changes[${index}].toHash`),
    deleted: stringField(change, 'type') === 'DELETE',
  };
}

function firstHref(links: readonly unknown[] | undefined, wanted?: (link: JsonObject) => boolean): string | undefined {
  for (const link of links ?? []) {
    if (isJsonObject(link) && (wanted === undefined || wanted(link))) {
      const href = stringField(link, 'href');
      if (href !== undefined) return href;
    }
  }
  return undefined;
}

/**
 * Reads a Bitbucket Data Center `repo:refs_changed` payload. No default branch: the payload's
 * repository entity names none, so `defaultBranch` stays undefined.
 */
export function readBitbucketDataCenterPush(body: JsonObject): Push {
  const repository = objectField(body, 'repository');
  const slug = requireString(repository, 'slug', 'repository.slug');
  const projectKey = requireString(objectField(repository, 'project'), 'key', 'repository.project.key');
  const links = objectField(repository, 'links');
  const host = hostOfUrl(firstHref(arrayField(links, 'self')));
  if (host === undefined) throw new PayloadError('payload has no usable repository.links.self');
  const changes = arrayField(body, 'changes');
  if (changes === undefined) throw new PayloadError('payload has no changes');
  return {
    source: sourceIdentity(host, `${projectKey}/${slug}`),
    refs: changes.map(dataCenterRefChange),
    // Data Center names its HTTP(S) clone link "http" whatever the scheme.
    cloneUrl: firstHref(arrayField(links, 'clone'), (link) => {
      const name = stringField(link, 'name');
      return name === 'http' || name === 'https';
    }),
  };
}

/** Reads a verified Bitbucket delivery: Cloud `repo:push` and DC `repo:refs_changed` → push, DC `diagnostics:ping` → ping. */
export function readBitbucketDelivery(delivery: Delivery): ReadResult {
  const body = readJsonPayload(delivery);
  const event = headerValue(delivery.headers, 'x-event-key');
  switch (event) {
    case 'repo:push':
      return { kind: 'push', push: readBitbucketCloudPush(body) };
    case 'repo:refs_changed':
      return { kind: 'push', push: readBitbucketDataCenterPush(body) };
    case 'diagnostics:ping':
      return { kind: 'ping' };
    default:
      return { kind: 'ignored', reason: `Bitbucket event "${event ?? '(none)'}" is not a push` };
  }
}

/** Bitbucket Cloud and Bitbucket Data Center. */
export const bitbucket: Provider = {
  id: ProviderIds.bitbucket,
  detect: (headers) => headerValue(headers, 'x-event-key') !== undefined,
  claimSource: claimBitbucketSource,
  verify: verifyBitbucketSignature,
  read: readBitbucketDelivery,
  deliveryId: (headers) => firstHeaderValue(headers, ['x-request-uuid', 'x-request-id']),
};
