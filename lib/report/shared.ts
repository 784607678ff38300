/**
 * What every host's status request shares: checking the inputs, cutting text to a host's limit, and
 * the JSON request itself. Pure: no I/O, no clock.
 */

import { sha256 } from '../crypto';
import { StatusRequestError, type StatusRequest } from './types';

/** Sent on every request: GitHub refuses requests without a User-Agent, others log it. */
export const USER_AGENT = 'codehub-mirror-bridge';

const SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/i;
// C0 controls and DEL: in a header value they would end the header or be refused by the client.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
const ELLIPSIS = '…';

/** The SHA in lower case. @throws StatusRequestError unless 40 or 64 hex digits */
export function commitSha(sha: string): string {
  if (!SHA.test(sha)) throw new StatusRequestError('REPORT_BAD_SHA', 'the commit SHA is not 40 or 64 hex digits');
  return sha.toLowerCase();
}

/**
 * `apiUrl`'s origin and path (no trailing slash), after checking it can only reach the API:
 * http(s), and no credentials, query or fragment (the token goes in a header, nowhere else).
 * @throws StatusRequestError otherwise; the message does not quote the URL
 */
export function apiBase(apiUrl: string): { readonly origin: string; readonly path: string } {
  let url: URL;
  try {
    url = new URL(apiUrl);
  } catch {
    throw new StatusRequestError('REPORT_BAD_API_URL', 'the API URL is not a URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new StatusRequestError('REPORT_BAD_API_URL', 'the API URL is not http(s)');
  }
  if (url.username !== '' || url.password !== '') {
    throw new StatusRequestError('REPORT_BAD_API_URL', 'the API URL carries credentials (the token goes in a header)');
  }
  if (url.search !== '' || url.hash !== '' || apiUrl.includes('?') || apiUrl.includes('#')) {
    throw new StatusRequestError('REPORT_BAD_API_URL', 'the API URL has a query or a fragment');
  }
  return { origin: url.origin, path: url.pathname.replace(/\/+$/, '') };
}

/** `apiUrl` (checked by `apiBase`) followed by `path`, which starts with `/`. */
export function apiEndpoint(apiUrl: string, path: string): string {
  const base = apiBase(apiUrl);
  return `${base.origin}${base.path}${path}`;
}

/**
 * The segments of a source path, `count` of them (or at least `count.min`).
 * @throws StatusRequestError when a segment is empty, `.`/`..` or holds a control character
 */
export function pathSegments(sourcePath: string, count: number | { readonly min: number }, shape: string): string[] {
  const segments = sourcePath.split('/');
  const fits = typeof count === 'number' ? segments.length === count : segments.length >= count.min;
  const clean = segments.every((segment) => segment !== '' && segment !== '.' && segment !== '..' && !CONTROL.test(segment));
  if (!fits || !clean) throw new StatusRequestError('REPORT_BAD_SOURCE_PATH', `the source path is not ${shape}`);
  return segments;
}

/** One path segment, %-encoded: `/`, spaces, `%`, `?` and `#` never change the endpoint. */
export function segment(text: string): string {
  return encodeURIComponent(text);
}

/**
 * `text` within `limit` UTF-16 code units, ending in `…` when cut. Never splits a surrogate pair, so
 * it is within the limit however the host counts (code units in Java and .NET, code points in Ruby
 * and Go).
 */
export function truncate(text: string, limit: number): string {
  if (text.length <= limit) return text;
  return `${cutWithin(text, limit - ELLIPSIS.length)}${ELLIPSIS}`;
}

/**
 * A key within `limit` that stays the same for the same context (later states must update the same
 * status) and differs for different ones: the context itself when it fits, else its start and a
 * digest of all of it.
 */
export function keyWithin(context: string, limit: number): string {
  if (context.length <= limit) return context;
  const digest = sha256(context, 'hex').slice(0, 12);
  return `${cutWithin(context, limit - digest.length - 1)}-${digest}`;
}

/** The context, refused when empty: every host needs one to tell statuses apart. */
export function statusContextOf(context: string): string {
  if (context.trim() === '') throw new StatusRequestError('REPORT_BAD_STATUS', 'the status context is empty');
  return context;
}

/**
 * The target URL when it is an http(s) URL within `limit` (undefined when it is longer: a cut URL
 * would lead nowhere, and the status is worth more than its link).
 * @throws StatusRequestError when it is not an http(s) URL
 */
export function targetUrlWithin(targetUrl: string | undefined, limit = Number.POSITIVE_INFINITY): string | undefined {
  if (targetUrl === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(targetUrl);
  } catch {
    throw new StatusRequestError('REPORT_BAD_STATUS', 'the target URL is not a URL');
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || CONTROL.test(targetUrl)) {
    throw new StatusRequestError('REPORT_BAD_STATUS', 'the target URL is not an http(s) URL');
  }
  return targetUrl.length <= limit ? targetUrl : undefined;
}

/** The token, refused when empty or when it would break the header it goes in. */
export function checkedToken(token: string): string {
  if (token.trim() === '' || CONTROL.test(token)) {
    throw new StatusRequestError('REPORT_BAD_TOKEN', 'the reporting token is empty or has a control character');
  }
  return token;
}

/** A JSON POST to `url`; `auth` are the header(s) carrying the token, `body` is serialised as given. */
export function jsonPost(
  url: string,
  auth: Readonly<Record<string, string>>,
  body: Readonly<Record<string, unknown>>,
  extraHeaders: Readonly<Record<string, string>> = {},
): StatusRequest {
  return {
    method: 'POST',
    url,
    headers: {
      accept: 'application/json',
      ...extraHeaders,
      ...auth,
      'content-type': 'application/json',
      'user-agent': USER_AGENT,
    },
    body: JSON.stringify(body),
  };
}

/** `text` cut to at most `units` UTF-16 code units, never between the halves of a surrogate pair. */
function cutWithin(text: string, units: number): string {
  const end = Math.max(0, units);
  const last = text.charCodeAt(end - 1);
  const splitsPair = last >= 0xd800 && last <= 0xdbff;
  return text.slice(0, splitsPair ? end - 1 : end);
}
