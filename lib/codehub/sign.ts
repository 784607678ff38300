/**
 * Huawei Cloud AK/SK request signing (`SDK-HMAC-SHA256`): the signer the official SDKs use and the
 * verifier APIG runs in front of CodeHub. Both are pure (no clock, no I/O) and share every piece,
 * so a fake CodeHub built on `verifySignedRequest` disagrees with `signRequest` only where APIG would.
 * The algorithm and its test vectors are in docs/codehub-api.md.
 */
import { hmacSha256Hex, safeEqual, sha256 } from '../crypto';

export const SIGNING_ALGORITHM = 'SDK-HMAC-SHA256';

/** APIG rejects an `X-Sdk-Date` further than this from its own clock. */
export const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;

/** The bytes of a request body: a string is signed and sent as UTF-8. */
export type SigningBody = string | Uint8Array;

/** Formats an instant as `X-Sdk-Date` wants it: UTC `YYYYMMDDTHHMMSSZ`. */
export function formatSdkDate(date: Date | number): string {
  const ms = typeof date === 'number' ? date : date.getTime();
  const second = Math.floor(ms / 1000);
  // Every signed call formats the time, and it changes once a second.
  if (second !== lastFormatted.second) {
    // Sliced from ISO 8601 (YYYY-MM-DDTHH:MM:SS.sssZ); an invalid date throws RangeError here.
    const iso = new Date(ms).toISOString();
    lastFormatted = { second, text: `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z` };
  }
  return lastFormatted.text;
}

let lastFormatted = { second: Number.NaN, text: '' };

/** Parses an `X-Sdk-Date` value to epoch milliseconds; undefined unless it is exactly that format. */
export function parseSdkDate(value: string): number | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!match) return undefined;
  const field = (index: number): number => Number(match[index]);
  const time = Date.UTC(field(1), field(2) - 1, field(3), field(4), field(5), field(6));
  // Date.UTC rolls 20240231 over into March; a date that does not format back was not a real date.
  return formatSdkDate(time) === value ? time : undefined;
}

const UNRESERVED_PATH = /^[A-Za-z0-9\-_.~/]*$/;

/** Percent-encodes everything but `A-Za-z0-9-_.~`, upper-case hex, as the SDK signers do. */
export function encodeSigningComponent(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function decodeLeniently(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    // A stray `%` is sent as is; encoding it again gives the `%25` the signers produce for it.
    return value;
  }
}

/** Byte order of the UTF-8 forms, which is how the Go SDK (and APIG) sort keys and values. */
function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * The canonical URI: each `/`-separated segment decoded then re-encoded, and a trailing `/` added
 * when missing. The trailing slash is for signing only; the request goes out without it.
 */
export function canonicalUri(path: string): string {
  // A path of unreserved characters only (the bridge's own calls) is its own canonical form.
  const uri = UNRESERVED_PATH.test(path)
    ? path
    : path.split('/').map((segment) => encodeSigningComponent(decodeLeniently(segment))).join('/');
  return uri.endsWith('/') ? uri : `${uri}/`;
}

/** The canonical query: keys sorted, repeated values sorted, `enc(k)=enc(v)` joined by `&`. */
export function canonicalQuery(query: string): string {
  if (query === '' || query === '?') return '';
  const byKey = new Map<string, string[]>();
  for (const [key, value] of new URLSearchParams(query)) {
    const values = byKey.get(key);
    if (values) values.push(value);
    else byKey.set(key, [value]);
  }
  const parts: string[] = [];
  for (const key of [...byKey.keys()].sort(compareUtf8)) {
    for (const value of (byKey.get(key) ?? []).sort(compareUtf8)) {
      parts.push(`${encodeSigningComponent(key)}=${encodeSigningComponent(value)}`);
    }
  }
  return parts.join('&');
}

/** Lower-case hex SHA-256 of the exact body bytes. */
export function payloadHash(body: SigningBody): string {
  return sha256(body, 'hex');
}

export interface CanonicalRequestParts {
  readonly method: string;
  /** Path and optional query as sent on the request line, e.g. `/v4/repositories/1/remote-mirror?x=1`. */
  readonly pathAndQuery: string;
  /**
   * The headers to sign and their values; names in any case. Every entry is signed, so this is
   * exactly the `SignedHeaders` set (`host` included only when it is here).
   */
  readonly signedHeaders: Readonly<Record<string, string>>;
  readonly body: SigningBody;
}

/** Lower-case names of `headers`, sorted: the `SignedHeaders` value without the `;` joins. */
export function signedHeaderNames(headers: Readonly<Record<string, string>>): string[] {
  return [...new Set(Object.keys(headers).map((name) => name.toLowerCase()))].sort();
}

function lowerCaseKeys(headers: Readonly<Record<string, string>>): Map<string, string> {
  const result = new Map<string, string>();
  for (const [name, value] of Object.entries(headers)) result.set(name.toLowerCase(), value);
  return result;
}

function splitPathAndQuery(pathAndQuery: string): { path: string; query: string } {
  const withoutFragment = pathAndQuery.split('#', 1)[0] ?? '';
  const mark = withoutFragment.indexOf('?');
  return mark === -1
    ? { path: withoutFragment, query: '' }
    : { path: withoutFragment.slice(0, mark), query: withoutFragment.slice(mark + 1) };
}

/**
 * `METHOD\nCanonicalURI\nCanonicalQuery\nCanonicalHeaders\nSignedHeaders\nhex(sha256(body))`, where
 * CanonicalHeaders is `name:trimmed value\n` per signed header (so a blank line precedes SignedHeaders).
 */
export function canonicalRequest(parts: CanonicalRequestParts): string {
  const { path, query } = splitPathAndQuery(parts.pathAndQuery);
  const headers = lowerCaseKeys(parts.signedHeaders);
  return canonicalRequestOf(parts.method, path, query, headers, signedHeaderNames(parts.signedHeaders), parts.body);
}

/** `canonicalRequest` from its parts: `names` sorted, lower-case, each a key of `headers`. */
function canonicalRequestOf(
  method: string,
  path: string,
  query: string,
  headers: ReadonlyMap<string, string>,
  names: readonly string[],
  body: SigningBody,
): string {
  let canonicalHeaders = '';
  for (const name of names) canonicalHeaders += `${name}:${(headers.get(name) ?? '').trim()}\n`;
  return `${method.toUpperCase()}\n${canonicalUri(path)}\n${canonicalQuery(query)}\n${canonicalHeaders}\n${names.join(';')}\n${payloadHash(body)}`;
}

/** `SDK-HMAC-SHA256\n{X-Sdk-Date}\n{hex(sha256(canonical request))}`. */
export function stringToSign(sdkDate: string, canonical: string): string {
  return `${SIGNING_ALGORITHM}\n${sdkDate}\n${sha256(canonical, 'hex')}`;
}

/** Hex HMAC-SHA256 of the string to sign, keyed with the secret key itself (no key derivation). */
export function computeSignature(secretKey: string, toSign: string): string {
  return hmacSha256Hex(secretKey, toSign);
}

export interface SignRequestInput {
  readonly method: string;
  /** The full request URL; its host (with a non-default port) is signed as `host`. */
  readonly url: string | URL;
  /**
   * Headers that will be sent and must be signed (`Content-Type`, `X-Project-Id`,
   * `X-Security-Token`, ...). All are signed. An `Authorization` or `X-Sdk-Date` here is ignored.
   */
  readonly headers: Readonly<Record<string, string>>;
  /** The exact bytes that will be sent. */
  readonly body: SigningBody;
  readonly ak: string;
  readonly sk: string;
  /** The signing instant; becomes `X-Sdk-Date`. */
  readonly date: Date | number;
}

/** Headers `signRequest` adds to the request. (A type, not an interface, so it fits a header record.) */
export type SignatureHeaders = {
  readonly 'X-Sdk-Date': string;
  readonly Authorization: string;
};

/**
 * Signs a request the way the official SDKs do. Returns the headers to add; the caller sends them
 * with `input.headers` and exactly `input.body`. `host` and `x-sdk-date` are always signed.
 */
export function signRequest(input: SignRequestInput): SignatureHeaders {
  const url = typeof input.url === 'string' ? new URL(input.url) : input.url;
  const sdkDate = formatSdkDate(input.date);
  const signed = new Map<string, string>([['host', url.host]]);
  for (const name of Object.keys(input.headers)) {
    const lower = name.toLowerCase();
    // Signing Authorization is circular; X-Sdk-Date is ours to set from `date`.
    if (lower === 'authorization' || lower === 'x-sdk-date') continue;
    signed.set(lower, input.headers[name] as string);
  }
  signed.set('x-sdk-date', sdkDate);
  // Already lower-case and unique: only the order is left to settle.
  const names = [...signed.keys()].sort();
  const query = url.search.length > 1 ? url.search.slice(1) : '';
  const canonical = canonicalRequestOf(input.method, url.pathname, query, signed, names, input.body);
  const signature = computeSignature(input.sk, stringToSign(sdkDate, canonical));
  return {
    'X-Sdk-Date': sdkDate,
    Authorization: `${SIGNING_ALGORITHM} Access=${input.ak}, SignedHeaders=${names.join(';')}, Signature=${signature}`,
  };
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
