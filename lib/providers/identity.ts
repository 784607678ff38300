/**
 * A repository's identity for mapping is `host/path`: ASCII letters lower-cased, no scheme, no
 * credentials, no default port, no trailing `.git`. The same rules read the configured `source` and
 * what a payload says, so the two always meet.
 *
 * One source, one identity: nothing is normalised that could let a second spelling reach a
 * repository. A path with an empty or dot segment (`a//b`, `a/../b`), a control character, `\`, `?`,
 * `#` or `%` is refused, never cleaned up; in a URL, a %-escape is decoded exactly once, and one of a
 * character that needs none (`%61` for `a`) is refused. Every check is a single pass over the text.
 */

import { PayloadError } from '../errors';

/** An identity, or in words why the text names no repository (never quoting it). */
export type IdentityResult = { readonly identity: string } | { readonly problem: string };

const DEFAULT_PORTS = new Set([80, 443, 22]);
/** DNS labels or an IPv6 literal, lower case. No `_`, so no `__proto__`. */
const HOST_NAME = /^(?:[a-z0-9-]+(?:\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])$/;
const SCHEME = /^[a-z][a-z0-9+.-]*$/i;
/** What no segment of a repository path holds, once decoded, besides control characters. */
const NOT_IN_SEGMENT = '/\\?#%';
/** What no URL of a repository holds as written, besides control characters. */
const NOT_IN_URL = /[\s\\?#]/;
/** RFC 3986 unreserved characters: written %-escaped, they would be a second spelling. */
const UNRESERVED = /^[A-Za-z0-9._~-]$/;

const EMPTY_SEGMENT = 'has an empty path segment (a leading, doubled or trailing /)';
const DOT_SEGMENT = 'has a . or .. path segment';
const BAD_CHARACTER = 'has a control character, \\, ?, # or % in its path';
const MALFORMED_ESCAPE = 'has a malformed %-escape';
const NEEDLESS_ESCAPE = 'has a %-escape of a letter, digit or - . _ ~ (write the character itself)';

/**
 * Normalises `host` (optionally `host:port`) and a repository path, as a payload gives them, into an
 * identity. The path is taken as written: nothing is decoded.
 * @throws PayloadError when the host or the path could name no repository
 */
export function sourceIdentity(host: string, path: string): string {
  const result = identityOf(host, path.split('/'));
  if ('problem' in result) throw new PayloadError(`the repository the payload names ${result.problem}`);
  return result.identity;
}

/**
 * The identity of a repository given its web or clone URL (`https://[user@]host/owner/name(.git)`),
 * each path segment %-decoded once, or why the URL names no repository.
 */
export function parseRepositoryUrl(url: string): IdentityResult {
  if (NOT_IN_URL.test(url) || hasControlOr(url, '')) return { problem: 'has whitespace, a control character, \\, ? or #' };
  const schemeEnd = url.indexOf('://');
  if (schemeEnd === -1 || !SCHEME.test(url.slice(0, schemeEnd))) return { problem: 'is not host/path or a URL' };
  const rest = url.slice(schemeEnd + 3);
  const slash = rest.indexOf('/');
  if (slash === -1) return { problem: 'has no path' };
  const authority = rest.slice(0, slash);
  const segments: string[] = [];
  for (const written of rest.slice(slash + 1).split('/')) {
    const decoded = decodeSegment(written);
    if (typeof decoded !== 'string') return decoded;
    segments.push(decoded);
  }
  // Credentials (`org@` in Azure DevOps URLs) are not part of the identity.
  return identityOf(authority.slice(authority.lastIndexOf('@') + 1), segments);
}

/**
 * Normalises a configured source written as `host/path`, with or without a scheme or `.git`;
 * undefined when it names no repository (see `parseConfiguredSource` for why).
 */
export function normaliseConfiguredSource(source: string): string | undefined {
  const result = parseConfiguredSource(source);
  return 'identity' in result ? result.identity : undefined;
}

/** `normaliseConfiguredSource`, saying why a source is refused. */
export function parseConfiguredSource(source: string): IdentityResult {
  const schemeEnd = source.indexOf('://');
  const hasScheme = schemeEnd !== -1 && SCHEME.test(source.slice(0, schemeEnd));
  return parseRepositoryUrl(hasScheme ? source : `https://${source}`);
}

/** The host part of an identity. */
export function hostOf(identity: string): string {
  const slash = identity.indexOf('/');
  return slash === -1 ? identity : identity.slice(0, slash);
}

function identityOf(host: string, segments: readonly string[]): IdentityResult {
  const normalisedHost = normaliseHost(host);
  if (normalisedHost === undefined) return { problem: 'has no valid host (a DNS name or [IPv6], optionally :port)' };
  const lowered = segments.map(asciiLowerCase);
  const last = lowered.length - 1;
  const name = lowered[last] ?? '';
  if (name.endsWith('.git')) lowered[last] = name.slice(0, -'.git'.length);
  for (const segment of lowered) {
    if (segment === '') return { problem: EMPTY_SEGMENT };
    if (segment === '.' || segment === '..') return { problem: DOT_SEGMENT };
    if (hasControlOr(segment, NOT_IN_SEGMENT)) return { problem: BAD_CHARACTER };
  }
  return { identity: `${normalisedHost}/${lowered.join('/')}` };
}

/** Lower-case host, default port dropped, other ports in canonical digits; undefined when malformed. */
function normaliseHost(host: string): string | undefined {
  const lowered = asciiLowerCase(host);
  const colon = lowered.lastIndexOf(':');
  const hasPort = colon > lowered.lastIndexOf(']');
  const name = hasPort ? lowered.slice(0, colon) : lowered;
  if (!HOST_NAME.test(name)) return undefined;
  if (!hasPort) return name;
  const digits = lowered.slice(colon + 1);
  if (!/^\d{1,5}$/.test(digits) || Number(digits) > 65_535) return undefined;
  const port = Number(digits);
  return DEFAULT_PORTS.has(port) ? name : `${name}:${port}`;
}

/** One URL path segment %-decoded once, or why it cannot be. */
function decodeSegment(written: string): string | { readonly problem: string } {
  for (let at = written.indexOf('%'); at !== -1; at = written.indexOf('%', at + 1)) {
    const hex = written.slice(at + 1, at + 3);
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return { problem: MALFORMED_ESCAPE };
    if (UNRESERVED.test(String.fromCharCode(Number.parseInt(hex, 16)))) return { problem: NEEDLESS_ESCAPE };
  }
  try {
    return decodeURIComponent(written);
  } catch {
    return { problem: MALFORMED_ESCAPE }; // escapes that are not UTF-8
  }
}

/** Whether `text` has a C0 control character, DEL, or one of `others`. */
function hasControlOr(text: string, others: string): boolean {
  for (let at = 0; at < text.length; at += 1) {
    const code = text.charCodeAt(at);
    if (code < 0x20 || code === 0x7f || others.includes(text.charAt(at))) return true;
  }
  return false;
}

/** Only A–Z change: a non-ASCII letter whose lower case is ASCII (K, the Kelvin sign) stays itself. */
function asciiLowerCase(text: string): string {
  return text.replace(/[A-Z]+/g, (letters) => letters.toLowerCase());
}
