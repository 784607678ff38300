/**
 * Verifies AK/SK-signed requests the way APIG does in front of CodeHub, with the signer's own pieces
 * (./sign). Used by the emulator, the bench's stand-in and the tests, and by the client to explain a
 * rejected signature (`canonicalRequestOfSigned`).
 */
import { safeEqual } from '../crypto';
import { canonicalRequest, computeSignature, formatSdkDate, stringToSign, type SigningBody } from './sign';

/** APIG rejects an `X-Sdk-Date` further than this from its own clock. */
export const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;

/** Parses an `X-Sdk-Date` value to epoch milliseconds; undefined unless it is exactly that format. */
export function parseSdkDate(value: string): number | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!match) return undefined;
  const field = (index: number): number => Number(match[index]);
  const time = Date.UTC(field(1), field(2) - 1, field(3), field(4), field(5), field(6));
  // Date.UTC rolls 20240231 over into March; a date that does not format back was not a real date.
  return formatSdkDate(time) === value ? time : undefined;
}

/** The three fields of an `SDK-HMAC-SHA256` Authorization header. */
export interface ParsedAuthorization {
  readonly accessKey: string;
  /** Lower-case names, in the order the client listed them. */
  readonly signedHeaders: readonly string[];
  /** Lower-case hex. */
  readonly signature: string;
}

/** Parses `SDK-HMAC-SHA256 Access=…, SignedHeaders=a;b, Signature=<64 hex>`; undefined when malformed. */
export function parseAuthorization(value: string): ParsedAuthorization | undefined {
  const match =
    /^SDK-HMAC-SHA256\s+Access=([^,\s]+)\s*,\s*SignedHeaders=([^,\s]+)\s*,\s*Signature=([0-9a-fA-F]{64})$/.exec(
      value.trim(),
    );
  if (!match) return undefined;
  const [, accessKey = '', names = '', signature = ''] = match;
  const signedHeaders = names.split(';').map((name) => name.toLowerCase());
  if (signedHeaders.some((name) => name === '')) return undefined;
  return { accessKey, signedHeaders, signature: signature.toLowerCase() };
}

/** Received headers as node:http gives them (lower-case names, arrays for repeats) or any-case records. */
export type ReceivedHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

function headerValue(headers: ReceivedHeaders, lowerName: string): string | undefined {
  for (const [name, value] of Object.entries(headers)) {
    if (name.toLowerCase() !== lowerName || value === undefined) continue;
    return typeof value === 'string' ? value : value.join(', ');
  }
  return undefined;
}

export interface ReceivedSignedRequest {
  readonly method: string;
  readonly pathAndQuery: string;
  readonly headers: ReceivedHeaders;
  readonly body: SigningBody;
}

/**
 * The canonical request for a received request, using the header list its Authorization names
 * (a signed header that was not sent counts as empty, as a gateway would see it). Undefined when
 * there is no parseable Authorization header. Used by the verifier and to explain a rejection.
 */
export function canonicalRequestOfSigned(request: ReceivedSignedRequest): string | undefined {
  const authorization = headerValue(request.headers, 'authorization');
  const parsed = authorization === undefined ? undefined : parseAuthorization(authorization);
  if (!parsed) return undefined;
  return canonicalFor(request, parsed);
}

function canonicalFor(request: ReceivedSignedRequest, parsed: ParsedAuthorization): string {
  const signedHeaders: Record<string, string> = {};
  for (const name of parsed.signedHeaders) signedHeaders[name] = headerValue(request.headers, name) ?? '';
  return canonicalRequest({
    method: request.method,
    pathAndQuery: request.pathAndQuery,
    signedHeaders,
    body: request.body,
  });
}

export interface VerifySignedRequestInput extends ReceivedSignedRequest {
  /** The secret key for an access key, or undefined when the key does not exist. */
  readonly lookupSecret: (accessKey: string) => string | undefined;
  /** The verifier's clock, epoch milliseconds. */
  readonly now: number;
  /** @default MAX_CLOCK_SKEW_MS (15 minutes) */
  readonly maxSkewMs?: number;
  /**
   * Headers that must be among the signed ones. Stricter than APIG is known to be, because the
   * bridge always signs these and a fake CodeHub should catch a signer that stopped doing so.
   * @default ['host', 'x-sdk-date']
   */
  readonly requiredSignedHeaders?: readonly string[];
}

export type VerifyFailureReason =
  | 'AUTHORIZATION_MISSING'
  | 'AUTHORIZATION_MALFORMED'
  | 'DATE_MISSING'
  | 'DATE_STALE'
  | 'UNKNOWN_ACCESS_KEY'
  | 'HEADER_NOT_SIGNED'
  | 'SIGNATURE_MISMATCH';

export type VerifySignedRequestResult =
  | { readonly ok: true; readonly accessKey: string; readonly signedHeaders: readonly string[] }
  | {
      readonly ok: false;
      readonly reason: VerifyFailureReason;
      readonly message: string;
      /** On SIGNATURE_MISMATCH: the canonical request the verifier computed, as APIG reports it. */
      readonly canonicalRequest?: string;
    };

/**
 * Verifies an AK/SK-signed request the way CodeHub's API gateway does: parse Authorization, check
 * `X-Sdk-Date` is within the skew window, look up the secret, recompute the signature over the
 * received method, path, query, signed headers and body bytes, and compare in constant time.
 */
export function verifySignedRequest(input: VerifySignedRequestInput): VerifySignedRequestResult {
  const authorization = headerValue(input.headers, 'authorization');
  if (authorization === undefined) {
    return { ok: false, reason: 'AUTHORIZATION_MISSING', message: 'no Authorization header' };
  }
  const parsed = parseAuthorization(authorization);
  if (!parsed) {
    return { ok: false, reason: 'AUTHORIZATION_MALFORMED', message: 'Authorization is not SDK-HMAC-SHA256' };
  }
  const sdkDate = headerValue(input.headers, 'x-sdk-date');
  const signedAt = sdkDate === undefined ? undefined : parseSdkDate(sdkDate.trim());
  if (sdkDate === undefined || signedAt === undefined) {
    return { ok: false, reason: 'DATE_MISSING', message: 'no valid X-Sdk-Date header' };
  }
  if (Math.abs(input.now - signedAt) > (input.maxSkewMs ?? MAX_CLOCK_SKEW_MS)) {
    return { ok: false, reason: 'DATE_STALE', message: `X-Sdk-Date ${sdkDate} is outside the allowed skew` };
  }
  const missing = (input.requiredSignedHeaders ?? ['host', 'x-sdk-date']).filter(
    (name) => !parsed.signedHeaders.includes(name.toLowerCase()),
  );
  if (missing.length > 0) {
    return { ok: false, reason: 'HEADER_NOT_SIGNED', message: `header(s) not signed: ${missing.join(', ')}` };
  }
  const secretKey = input.lookupSecret(parsed.accessKey);
  if (secretKey === undefined) {
    return { ok: false, reason: 'UNKNOWN_ACCESS_KEY', message: 'access key does not exist' };
  }
  const canonical = canonicalFor(input, parsed);
  const expected = computeSignature(secretKey, stringToSign(sdkDate.trim(), canonical));
  if (!safeEqual(expected, parsed.signature)) {
    return { ok: false, reason: 'SIGNATURE_MISMATCH', message: 'verify aksk signature fail', canonicalRequest: canonical };
  }
  return { ok: true, accessKey: parsed.accessKey, signedHeaders: parsed.signedHeaders };
}
