/**
 * A repository's identity for mapping is `host/path`: lower-case, no scheme, no credentials, no
 * default port, no trailing `.git` or slash. The same function normalises the configured `source`
 * and what a payload says, so the two always meet.
 */

const DEFAULT_PORTS = new Set(['80', '443', '22']);

/** Normalises `host` (optionally `host:port`) and a repository path into an identity. */
export function sourceIdentity(host: string, path: string): string {
  let h = host.trim().toLowerCase();
  const colon = h.lastIndexOf(':');
  if (colon !== -1 && !h.endsWith(']') && DEFAULT_PORTS.has(h.slice(colon + 1))) h = h.slice(0, colon);
  let p = path.trim().toLowerCase().replace(/^\/+|\/+$/g, '');
  if (p.endsWith('.git')) p = p.slice(0, -4);
  return `${h}/${p}`;
}

/**
 * The identity of a repository given its web or clone URL (`https://host/owner/name(.git)`),
 * or undefined when it is not a URL with a host and a path.
 */
export function identityFromUrl(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  const path = parsed.pathname.replace(/^\/+|\/+$/g, '');
  if (parsed.host === '' || path === '') return undefined;
  try {
    return sourceIdentity(parsed.host, decodeURIComponent(path));
  } catch {
    // A broken %-escape is not a repository we could have configured.
    return undefined;
  }
}

/**
 * Normalises a configured source written as `host/path`, with or without a scheme or `.git`.
 * Returns undefined when there is no host or no path.
 */
export function normaliseConfiguredSource(source: string): string | undefined {
  const s = source.trim();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(s) ? s : `https://${s}`;
  return identityFromUrl(withScheme);
}

/** The host part of an identity. */
export function hostOf(identity: string): string {
  const slash = identity.indexOf('/');
  return slash === -1 ? identity : identity.slice(0, slash);
}
