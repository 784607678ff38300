/**
 * Gitea and its relatives Forgejo and Gogs. All three sign the JSON payload text with a bare hex
 * HMAC-SHA256; for a form-encoded delivery that is the decoded `payload` field, not the raw body.
 */

import { claimGitHubSource, readGitHubPush } from './github';
import {
  firstHeaderValue,
  headerValue,
  jsonPayload,
  readJsonPayload,
  verifyBareHexSha256Header,
  verifyFailed,
  type JsonObject,
} from './shared';
import { ProviderIds, type Delivery, type Provider, type Push, type ReadResult, type VerifyResult } from './types';

/** The header names one member of the family uses, most specific first. */
interface GiteaFlavour {
  readonly id: typeof ProviderIds.forgejo | typeof ProviderIds.gitea | typeof ProviderIds.gogs;
  readonly name: string;
  readonly eventHeader: string;
  readonly signatureHeaders: readonly string[];
  readonly deliveryHeaders: readonly string[];
}

// Forgejo also sends every Gitea header, so Gitea's signature and delivery id are equal fallbacks.
const FORGEJO: GiteaFlavour = {
  id: ProviderIds.forgejo,
  name: 'Forgejo',
  eventHeader: 'x-forgejo-event',
  signatureHeaders: ['x-forgejo-signature', 'x-gitea-signature'],
  deliveryHeaders: ['x-forgejo-delivery', 'x-gitea-delivery'],
};
const GITEA: GiteaFlavour = {
  id: ProviderIds.gitea,
  name: 'Gitea',
  eventHeader: 'x-gitea-event',
  signatureHeaders: ['x-gitea-signature'],
  deliveryHeaders: ['x-gitea-delivery'],
};
const GOGS: GiteaFlavour = {
  id: ProviderIds.gogs,
  name: 'Gogs',
  eventHeader: 'x-gogs-event',
  signatureHeaders: ['x-gogs-signature'],
  deliveryHeaders: ['x-gogs-delivery'],
};

function verifyGiteaFamilySignature(
  flavour: GiteaFlavour,
  delivery: Delivery,
  secrets: readonly string[],
): VerifyResult {
  const headerName = `X-${flavour.name}-Signature`;
  const signature = firstHeaderValue(delivery.headers, flavour.signatureHeaders);
  if (signature === undefined) return verifyFailed('SIGNATURE_MISSING', `${headerName} is missing`);
  const payload = jsonPayload(delivery);
  if (payload === undefined) {
    return verifyFailed('SIGNATURE_MISMATCH', 'form-encoded body has no payload field to check the signature of');
  }
  return verifyBareHexSha256Header(payload, signature, secrets, headerName);
}

/** Verifies `X-Forgejo-Signature` (or, failing that, `X-Gitea-Signature`). */
export function verifyForgejoSignature(delivery: Delivery, secrets: readonly string[]): VerifyResult {
  return verifyGiteaFamilySignature(FORGEJO, delivery, secrets);
}

/** Verifies `X-Gitea-Signature`. */
export function verifyGiteaSignature(delivery: Delivery, secrets: readonly string[]): VerifyResult {
  return verifyGiteaFamilySignature(GITEA, delivery, secrets);
}

/** Verifies `X-Gogs-Signature`. */
export function verifyGogsSignature(delivery: Delivery, secrets: readonly string[]): VerifyResult {
  return verifyGiteaFamilySignature(GOGS, delivery, secrets);
}

/**
 * Reads a Gitea, Forgejo or Gogs `push` payload: they send GitHub's push shape, field for field,
 * the default branch (`repository.default_branch`) included.
 */
export const readGiteaPush: (body: JsonObject) => Push = readGitHubPush;

function readGiteaFamilyDelivery(flavour: GiteaFlavour, delivery: Delivery): ReadResult {
  const body = readJsonPayload(delivery);
  const event = headerValue(delivery.headers, flavour.eventHeader);
  // create/delete carry no SHAs; a new ref also arrives as a push, and the periodic reconcile catches the rest.
  if (event !== 'push') {
    return { kind: 'ignored', reason: `${flavour.name} event "${event ?? '(none)'}" is not a push` };
  }
  return { kind: 'push', push: readGiteaPush(body) };
}

function giteaFamilyProvider(
  flavour: GiteaFlavour,
  verify: (delivery: Delivery, secrets: readonly string[]) => VerifyResult,
): Provider {
  return {
    id: flavour.id,
    detect: (headers) => headerValue(headers, flavour.eventHeader) !== undefined,
    // The payload is GitHub's shape, and what is signed is what GitHub's claim searches: the JSON.
    claimSource: claimGitHubSource,
    verify,
    read: (delivery) => readGiteaFamilyDelivery(flavour, delivery),
    deliveryId: (headers) => firstHeaderValue(headers, flavour.deliveryHeaders),
  };
}

/** Forgejo (also sends Gitea's headers, so it is detected first). */
export const forgejo: Provider = giteaFamilyProvider(FORGEJO, verifyForgejoSignature);

/** Gitea (also sends Gogs' and GitHub's headers). */
export const gitea: Provider = giteaFamilyProvider(GITEA, verifyGiteaSignature);

/** Gogs. */
export const gogs: Provider = giteaFamilyProvider(GOGS, verifyGogsSignature);
