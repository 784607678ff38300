/**
 * The source an unverified delivery claims, found without parsing it: the values of a few JSON
 * members, found by searching the text. A genuine payload names its repository by members like
 * `"full_name": "…"`; since a `"` inside a JSON string is always escaped, `"key"` followed by `:`
 * occurs only where a member of that name is. The claim is untrusted and may be wrong: it only
 * narrows which secrets are tried (`candidateSecretsFor` in lib/config/mapping.ts).
 *
 * The search covers the whole body, because Gitea puts the repository after the commits, but its
 * work is bounded: native `indexOf`, a few occurrences looked at, each value read to a short length.
 */

import { sourceIdentity } from './identity';
import { hostOfUrl, type SignedContent } from './shared';
import type { SourceClaim } from './types';

/** Occurrences of a member looked at per body: a genuine payload names its repository a handful of times. */
const MAX_OCCURRENCES = 16;
/** Longer values are no repository path or URL a host sends. */
const MAX_VALUE_LENGTH = 2048;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;

/** The claim of a scheme that compares a short token per secret. */
export const TOKEN_SCHEME: SourceClaim = Object.freeze({ scheme: 'token' });

/** The claim of a scheme that MACs the body, naming `host` and `sources`. */
export function bodyMacClaim(host: string | undefined, sources: readonly (string | undefined)[] = []): SourceClaim {
  const named = sources.filter((source) => source !== undefined);
  return { scheme: 'body-mac', host, sources: [...new Set(named)] };
}

/** The body as searchable text: a string as it is, bytes through a Buffer view (no copy). */
type Searchable = string | Buffer;

function searchable(content: SignedContent): Searchable {
  if (typeof content === 'string' || Buffer.isBuffer(content)) return content;
  return Buffer.from(content.buffer, content.byteOffset, content.byteLength);
}

// JSON's structure is ASCII, so a byte of UTF-8 and a UTF-16 unit read the same wherever it matters.
function codeAt(text: Searchable, index: number): number {
  return typeof text === 'string' ? text.charCodeAt(index) : (text[index] ?? Number.NaN);
}

function isWhitespace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d;
}

function skipWhitespace(text: Searchable, index: number): number {
  let at = index;
  while (isWhitespace(codeAt(text, at))) at += 1;
  return at;
}

/** Index of the quote closing the JSON string opening at `start`, or -1 (none within reach, or not a string). */
function endOfString(text: Searchable, start: number): number {
  if (codeAt(text, start) !== QUOTE) return -1;
  const limit = Math.min(text.length, start + 1 + MAX_VALUE_LENGTH);
  for (let at = start + 1; at < limit; at += 1) {
    const code = codeAt(text, at);
    if (code === QUOTE) return at;
    if (code === BACKSLASH) at += 1;
    else if (code < 0x20) return -1;
  }
  return -1;
}

/** The JSON string literal at [start, end], decoded; JSON.parse of a short literal decodes escapes as the reader will. */
function decodeLiteral(text: Searchable, start: number, end: number): string | undefined {
  const literal = typeof text === 'string' ? text.slice(start, end + 1) : text.toString('utf8', start, end + 1);
  try {
    const value: unknown = JSON.parse(literal);
    return typeof value === 'string' && value !== '' ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The distinct non-empty string values of members named `key`, in order of appearance (a bounded search). */
export function jsonStringValues(content: SignedContent, key: string): string[] {
  const text = searchable(content);
  const needle = `"${key}"`;
  const values: string[] = [];
  let from = 0;
  for (let seen = 0; seen < MAX_OCCURRENCES; seen += 1) {
    const found = text.indexOf(needle, from);
    if (found === -1) break;
    const colon = skipWhitespace(text, found + needle.length);
    from = colon;
    if (codeAt(text, colon) !== COLON) continue;
    const start = skipWhitespace(text, colon + 1);
    from = start;
    const end = endOfString(text, start);
    if (end === -1) continue;
    from = end + 1;
    const value = decodeLiteral(text, start, end);
    if (value !== undefined && !values.includes(value)) values.push(value);
  }
  return values;
}

/** The host of the first `key` member holding a usable URL. */
export function firstUrlHost(content: SignedContent, key: string): string | undefined {
  for (const url of jsonStringValues(content, key)) {
    const host = hostOfUrl(url);
    if (host !== undefined) return host;
  }
  return undefined;
}

/** The identity `host/path` as the readers build it; a path they would refuse claims nothing. */
export function claimedIdentity(host: string, path: string): string | undefined {
  try {
    return sourceIdentity(host, path);
  } catch {
    return undefined;
  }
}

/**
 * Claims `pathKey` values on the host of the first `urlKey` URL: `full_name` and `html_url` for
 * GitHub's shape (GitHub, Gitea, Forgejo, Gogs), `path_with_namespace` and `web_url` for GitLab's
 * (GitLab, GitCode). Every URL in such a payload is on the repository's host.
 */
export function claimPathsOnHost(content: SignedContent | undefined, pathKey: string, urlKey: string): SourceClaim {
  if (content === undefined) return bodyMacClaim(undefined);
  const host = firstUrlHost(content, urlKey);
  if (host === undefined) return bodyMacClaim(undefined);
  return bodyMacClaim(host, jsonStringValues(content, pathKey).map((path) => claimedIdentity(host, path)));
}
