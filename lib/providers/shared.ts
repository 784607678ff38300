/**
 * Pieces every provider needs: reading headers, finding the JSON in a delivery, reading a parsed
 * body without trusting its shape, and comparing signatures against several secrets.
 */

import { hmacSha256, safeEqual } from '../crypto';
import { PayloadError } from '../errors';
import type { Delivery, Headers, VerifyFailure, VerifyResult } from './types';

/** The SHA a push reports for the side of a ref that does not exist. */
export const ZERO_SHA = '0'.repeat(40);

/** True for an all-zero object id (SHA-1, or SHA-256 on repositories that use it). */
export function isZeroSha(sha: string): boolean {
  return /^(?:0{40}|0{64})$/.test(sha);
}

/** What a signature covers: the exact bytes, or well-formed text that encodes to them as UTF-8. */
export type SignedContent = string | Uint8Array;

/** The body as a signature covers it: the text when there is one (no copy to build), else the bytes. */
export function signedBody(delivery: Delivery): SignedContent {
  return delivery.bodyText ?? delivery.rawBody;
}

/** A header's value, or undefined when it is absent or blank: hosts send empty headers when no secret is set. */
export function headerValue(headers: Headers, name: string): string | undefined {
  const value = headers[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

/** The first of `names` that carries a value. */
export function firstHeaderValue(headers: Headers, names: readonly string[]): string | undefined {
  for (const name of names) {
    const value = headerValue(headers, name);
    if (value !== undefined) return value;
  }
  return undefined;
}

/** A successful verification by the secret at `secretIndex`. */
export function verified(secretIndex: number, bodyMac?: string): VerifyResult {
  return bodyMac === undefined ? { ok: true, secretIndex } : { ok: true, secretIndex, bodyMac };
}

/** A failed verification; `message` never holds a secret or an expected signature. */
export function verifyFailed(reason: VerifyFailure, message: string): VerifyResult {
  return { ok: false, reason, message };
}

/**
 * Index of the first secret that `matches`, or -1. Every secret is tried, so the time taken does
 * not tell which one matched. An empty secret never matches: anyone could sign with it.
 */
export function matchingSecretIndex(secrets: readonly string[], matches: (secret: string) => boolean): number {
  let found = -1;
  secrets.forEach((secret, index) => {
    if (secret !== '' && matches(secret) && found === -1) found = index;
  });
  return found;
}

const HEX_SHA256 = /^[0-9a-f]{64}$/i;

function verifyHexDigest(
  data: SignedContent,
  hex: string,
  secrets: readonly string[],
  headerName: string,
): VerifyResult {
  if (!HEX_SHA256.test(hex)) {
    return verifyFailed('SIGNATURE_MISMATCH', `${headerName} is not a hex SHA-256 digest`);
  }
  const received = Buffer.from(hex, 'hex');
  const index = matchingSecretIndex(secrets, (secret) => safeEqual(hmacSha256(secret, data), received));
  return index === -1
    ? verifyFailed('SIGNATURE_MISMATCH', `${headerName} does not match any configured secret`)
    : verified(index, hex.toLowerCase());
}

/**
 * Verifies a `sha256=<hex HMAC-SHA256 of data>` header (GitHub, Bitbucket, GitCode).
 * Absent or empty → SIGNATURE_MISSING; malformed or wrong → SIGNATURE_MISMATCH.
 */
export function verifyHexSha256Header(
  data: SignedContent,
  header: string | undefined,
  secrets: readonly string[],
  headerName = 'signature header',
): VerifyResult {
  const value = header?.trim();
  if (value === undefined || value === '') {
    return verifyFailed('SIGNATURE_MISSING', `${headerName} is missing`);
  }
  if (!value.startsWith('sha256=')) {
    return verifyFailed('SIGNATURE_MISMATCH', `${headerName} is not of the form sha256=<hex>`);
  }
  return verifyHexDigest(data, value.slice('sha256='.length), secrets, headerName);
}

/** Verifies a bare `<hex HMAC-SHA256 of data>` header (Gitea, Forgejo, Gogs). */
export function verifyBareHexSha256Header(
  data: SignedContent,
  header: string | undefined,
  secrets: readonly string[],
  headerName = 'signature header',
): VerifyResult {
  const value = header?.trim();
  if (value === undefined || value === '') {
    return verifyFailed('SIGNATURE_MISSING', `${headerName} is missing`);
  }
  return verifyHexDigest(data, value, secrets, headerName);
}

/** Verifies a header that carries a secret in plain text (GitLab classic, Gitee and GitCode passwords). */
export function verifyPlainToken(
  token: string | undefined,
  secrets: readonly string[],
  headerName: string,
): VerifyResult {
  if (token === undefined || token === '') {
    return verifyFailed('SIGNATURE_MISSING', `${headerName} is missing`);
  }
  const index = matchingSecretIndex(secrets, (secret) => safeEqual(secret, token));
  return index === -1
    ? verifyFailed('SIGNATURE_MISMATCH', `${headerName} does not match any configured secret`)
    : verified(index);
}

/** True when the delivery says its body is `application/x-www-form-urlencoded`. */
export function isFormEncoded(headers: Headers): boolean {
  const mediaType = headers['content-type']?.split(';', 1)[0]?.trim().toLowerCase();
  return mediaType === 'application/x-www-form-urlencoded';
}

const PLUS = 0x2b;
const PERCENT = 0x25;
const AMPERSAND = 0x26;
const EQUALS = 0x3d;
const SPACE = 0x20;

function hexNibble(byte: number | undefined): number {
  if (byte === undefined) return -1;
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  if (byte >= 0x41 && byte <= 0x46) return byte - 0x41 + 10;
  if (byte >= 0x61 && byte <= 0x66) return byte - 0x61 + 10;
  return -1;
}

/** Form-decodes bytes: `+` is a space, `%XX` a byte, anything else itself (as WHATWG does). */
function formDecode(bytes: Uint8Array): Buffer {
  const out = Buffer.alloc(bytes.length);
  let length = 0;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i] as number;
    if (byte === PLUS) {
      out[length++] = SPACE;
    } else if (byte === PERCENT) {
      const high = hexNibble(bytes[i + 1]);
      const low = hexNibble(bytes[i + 2]);
      if (high === -1 || low === -1) {
        out[length++] = byte;
      } else {
        out[length++] = high * 16 + low;
        i += 2;
      }
    } else {
      out[length++] = byte;
    }
  }
  return out.subarray(0, length);
}

/**
 * The decoded bytes of field `name` in a form-encoded body, or undefined when absent. Decoded to
 * bytes rather than a string so that a signature over the field (Gitea) sees exactly what was sent.
 */
export function formField(body: Uint8Array, name: string): Buffer | undefined {
  const wanted = Buffer.from(name, 'utf8');
  let start = 0;
  while (start <= body.length) {
    let end = body.indexOf(AMPERSAND, start);
    if (end === -1) end = body.length;
    const pair = body.subarray(start, end);
    const equals = pair.indexOf(EQUALS);
    const key = formDecode(equals === -1 ? pair : pair.subarray(0, equals));
    if (key.equals(wanted)) return formDecode(equals === -1 ? new Uint8Array() : pair.subarray(equals + 1));
    start = end + 1;
  }
  return undefined;
}

/**
 * The JSON of a delivery as signed: the `payload` field of a form-encoded body, else the body (as
 * text when it arrived as text, see `signedBody`). Undefined when a form-encoded body has no `payload` field.
 */
export function jsonPayload(delivery: Delivery): SignedContent | undefined {
  return isFormEncoded(delivery.headers) ? formField(delivery.rawBody, 'payload') : signedBody(delivery);
}

/** A parsed JSON object; fields are read with the accessors below, never trusted by shape. */
export type JsonObject = Readonly<Record<string, unknown>>;

/** True for a JSON object (not null, not an array). */
export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Parses JSON that must be an object; anything else is a PayloadError. */
export function parseJsonObject(text: string | Uint8Array): JsonObject {
  // A view on the same memory, not a copy: bodies run to megabytes.
  const source = typeof text === 'string' ? text : Buffer.from(text.buffer, text.byteOffset, text.byteLength).toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(source);
  } catch (cause) {
    throw new PayloadError('body is not JSON', { cause });
  }
  if (!isJsonObject(parsed)) throw new PayloadError('body is JSON but not an object');
  return parsed;
}

/** The delivery's JSON payload (form-encoded or not) as an object, or a PayloadError. */
export function readJsonPayload(delivery: Delivery): JsonObject {
  const payload = jsonPayload(delivery);
  if (payload === undefined) throw new PayloadError('form-encoded body has no payload field');
  return parseJsonObject(payload);
}

// Own properties only, so `__proto__`, `constructor` and friends never answer a lookup.
function ownField(object: JsonObject, key: string): unknown {
  return Object.hasOwn(object, key) ? object[key] : undefined;
}

/** A non-empty string field, else undefined. */
export function stringField(object: JsonObject | undefined, key: string): string | undefined {
  if (object === undefined) return undefined;
  const value = ownField(object, key);
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** An object field, else undefined. */
export function objectField(object: JsonObject | undefined, key: string): JsonObject | undefined {
  if (object === undefined) return undefined;
  const value = ownField(object, key);
  return isJsonObject(value) ? value : undefined;
}

/** An array field, else undefined. */
export function arrayField(object: JsonObject | undefined, key: string): readonly unknown[] | undefined {
  if (object === undefined) return undefined;
  const value = ownField(object, key);
  return Array.isArray(value) ? value : undefined;
}

/** A boolean field, else undefined. */
export function booleanField(object: JsonObject | undefined, key: string): boolean | undefined {
  if (object === undefined) return undefined;
  const value = ownField(object, key);
  return typeof value === 'boolean' ? value : undefined;
}

const BRANCH_REF_PREFIX = 'refs/heads/';

/**
 * A default-branch field as a short branch name: `refs/heads/main` (Azure DevOps' form) → `main`;
 * absent, empty or not a string → undefined. Optional everywhere, so it never throws.
 */
export function defaultBranchField(object: JsonObject | undefined, key: string): string | undefined {
  const value = stringField(object, key);
  const name = value?.startsWith(BRANCH_REF_PREFIX) === true ? value.slice(BRANCH_REF_PREFIX.length) : value;
  return name === '' ? undefined : name;
}

/** A non-empty string field, else a PayloadError naming `path`. */
export function requireString(object: JsonObject | undefined, key: string, path: string): string {
  const value = stringField(object, key);
  if (value === undefined) throw new PayloadError(`payload has no ${path}`);
  return value;
}

/** The host (with any non-default port) of an absolute URL, else undefined. */
export function hostOfUrl(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  try {
    const host = new URL(url).host;
    return host === '' ? undefined : host;
  } catch {
    return undefined;
  }
}
