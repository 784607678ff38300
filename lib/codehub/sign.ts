/**
 * Huawei Cloud AK/SK request signing (`SDK-HMAC-SHA256`), as the official SDKs sign. Pure (no clock,
 * no I/O); `./verify` checks a signature with these same pieces, so a fake CodeHub built on it
 * disagrees with `signRequest` only where APIG would. The algorithm is Huawei Cloud's "API
 * signing" guide; its published vectors are pinned in test/codehub/signing-vectors.ts.
 */
import { hmacSha256Hex, sha256 } from '../crypto';

export const SIGNING_ALGORITHM = 'SDK-HMAC-SHA256';

/** The bytes of a request body: a string is signed and sent as UTF-8. */
export type SigningBody = string | Uint8Array;

/** Formats an instant as `X-Sdk-Date` wants it: UTC `YYYYMMDDTHHMMSSZ`. Throws RangeError for an invalid date. */
export function formatSdkDate(date: Date | number): string {
  // Sliced from ISO 8601: YYYY-MM-DDTHH:MM:SS.sssZ.
  const iso = new Date(date).toISOString();
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
}

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
  const uri = path.split('/').map((segment) => encodeSigningComponent(decodeLeniently(segment))).join('/');
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
  return [...lowerCaseKeys(headers).keys()].sort();
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
  const names = [...headers.keys()].sort();
  const canonicalHeaders = names.map((name) => `${name}:${(headers.get(name) ?? '').trim()}\n`).join('');
  return [parts.method.toUpperCase(), canonicalUri(path), canonicalQuery(query), canonicalHeaders, names.join(';'), payloadHash(parts.body)].join('\n');
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
  const signedHeaders: Record<string, string> = { host: url.host };
  for (const [name, value] of Object.entries(input.headers)) {
    // Signing Authorization is circular; X-Sdk-Date is ours to set from `date`.
    if (!/^(authorization|x-sdk-date)$/i.test(name)) signedHeaders[name] = value;
  }
  signedHeaders['x-sdk-date'] = sdkDate;
  const canonical = canonicalRequest({ method: input.method, pathAndQuery: `${url.pathname}${url.search}`, signedHeaders, body: input.body });
  const signature = computeSignature(input.sk, stringToSign(sdkDate, canonical));
  const names = signedHeaderNames(signedHeaders).join(';');
  return {
    'X-Sdk-Date': sdkDate,
    Authorization: `${SIGNING_ALGORITHM} Access=${input.ak}, SignedHeaders=${names}, Signature=${signature}`,
  };
}
