/**
 * Which mirrors a verified push syncs. Everything a delivery needs is computed once per cold start
 * by `buildMirrorIndex`: the source → mirrors maps, the wildcard mirrors by host, the distinct
 * candidate secrets, and each mirror's compiled ref patterns, so a delivery costs map lookups and
 * string scans, no regex. Lookup is O(1) in the number of exact mirrors; wildcards cost one segment
 * scan per wildcard mirror on the pushed repository's host.
 */

import { compiledRefPatterns, expandTarget, matchesRefPattern, matchSourcePattern, pathSegmentsOf } from './patterns';
import type { MirrorConfig, MirrorTarget, PathMirror, ReportSettings, WildcardMirror } from './types';
import { safeEqual } from '../crypto';
import { hostOf, normaliseConfiguredSource } from '../providers/identity';
import type { Delivery, Provider } from '../providers/types';

// Lives in patterns.ts with the other pattern matching; exported here too for its existing importers.
export { refMatches } from './patterns';

/**
 * Most secrets tried on an unverified delivery whose scheme MACs the body. Each try hashes up to
 * 6 MB (~4.4 ms): trying all of 1,000 per-mirror secrets cost ~4.4 s of CPU per forged request.
 */
export const MAX_BODY_MACS = 8;

/**
 * A body up to this many characters costs about a token comparison to MAC, so every secret may be
 * tried on it: pings (Bitbucket Data Center's is `{"test": true}`) name no repository to narrow by.
 */
export const SHORT_BODY_CHARS = 1024;

export interface MirrorIndex {
  /** Normalised source identity → its mirrors by repository id, in config order. */
  readonly bySource: ReadonlyMap<string, readonly MirrorTarget[]>;
  /** Normalised source identity → its mirrors by CodeHub path, in config order. */
  readonly pathsBySource: ReadonlyMap<string, readonly PathMirror[]>;
  /** Host → its wildcard mirrors, in config order. */
  readonly wildcardsByHost: ReadonlyMap<string, readonly WildcardMirror[]>;
  /** Host → the secrets its deliveries are signed with. */
  readonly webhooks: ReadonlyMap<string, readonly string[]>;
  /** Every distinct secret: host-level first, then mirror-level (id, path, wildcard mirrors), in config order. */
  readonly secrets: readonly string[];
  /** Host → how its commit statuses are reported (`webhooks[host].report`); see `reportSettingsFor`. */
  readonly reports: ReadonlyMap<string, ReportSettings>;
}

/**
 * What `buildMirrorIndex` needs: a loaded `MirrorConfig`, or just its webhooks and id mirrors (a
 * config built by hand, as tests do, has no path or wildcard mirrors).
 */
export type MirrorIndexInput = Pick<MirrorConfig, 'webhooks' | 'mirrors'> &
  Partial<Pick<MirrorConfig, 'pathMirrors' | 'wildcardMirrors' | 'reports'>>;

/** What secret checks need of a mirror of any kind. */
type SecretBearing = Pick<MirrorTarget, 'source' | 'secrets'>;

/** The mirrors to sync for a push; when there are none, `reason` says why in words. */
export interface MirrorSelection {
  readonly mirrors: MirrorTarget[];
  readonly reason?: string;
}

const NO_MIRRORS: readonly MirrorTarget[] = Object.freeze([]);
const NO_PATH_MIRRORS: readonly PathMirror[] = Object.freeze([]);
const NO_WILDCARD_MIRRORS: readonly WildcardMirror[] = Object.freeze([]);
const NO_SECRETS: readonly string[] = Object.freeze([]);
const NO_REPORTS: ReadonlyMap<string, ReportSettings> = new Map();

/** Indexes a loaded configuration for O(1) lookup by source identity. */
export function buildMirrorIndex(config: MirrorIndexInput): MirrorIndex {
  const secrets = new Set<string>();
  for (const hostSecrets of config.webhooks.values()) {
    for (const secret of hostSecrets) secrets.add(secret);
  }
  const remember = (mirror: Pick<MirrorTarget, 'secrets' | 'refs'>): void => {
    for (const secret of mirror.secrets ?? NO_SECRETS) secrets.add(secret);
    if (mirror.refs !== undefined) compiledRefPatterns(mirror.refs);
  };
  const bySource = groupBy(config.mirrors, (mirror) => mirror.source, remember);
  const pathsBySource = groupBy(config.pathMirrors ?? NO_PATH_MIRRORS, (mirror) => mirror.source, remember);
  const wildcardsByHost = groupBy(config.wildcardMirrors ?? NO_WILDCARD_MIRRORS, (mirror) => mirror.host, remember);
  const reports = config.reports ?? NO_REPORTS;
  return { bySource, pathsBySource, wildcardsByHost, webhooks: config.webhooks, secrets: Object.freeze([...secrets]), reports };
}

function groupBy<T>(items: readonly T[], keyOf: (item: T) => string, visit: (item: T) => void): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [item]);
    else group.push(item);
    visit(item);
  }
  return groups;
}

/** The mirrors of a source that name their CodeHub repository by id, in config order (none: an empty list). */
export function mirrorsFor(index: MirrorIndex, source: string): readonly MirrorTarget[] {
  return index.bySource.get(identityIn(index, source)) ?? NO_MIRRORS;
}

/**
 * The mirrors of a source that name their CodeHub repository by path: its exact path mirrors, then
 * every wildcard mirror whose pattern it matches, expanded for it (`source` the concrete source,
 * `target` the concrete path), each in config order. Resolve `target` to an id before syncing.
 */
export function pathMirrorsFor(index: MirrorIndex, source: string): readonly PathMirror[] {
  return pathMirrorsOf(index, identityIn(index, source));
}

function pathMirrorsOf(index: MirrorIndex, identity: string): readonly PathMirror[] {
  const exact = index.pathsBySource.get(identity) ?? NO_PATH_MIRRORS;
  const wildcards = index.wildcardsByHost.get(hostOf(identity));
  if (wildcards === undefined) return exact;
  const segments = pathSegmentsOf(identity);
  // A repository is always at least owner/name; anything shorter cannot fill {owner}.
  if (segments.length < 2) return exact;
  const matched: PathMirror[] = [];
  for (const wildcard of wildcards) {
    if (matchSourcePattern(wildcard.compiledPattern, segments)) matched.push(expandWildcard(wildcard, identity, segments));
  }
  return matched.length === 0 ? exact : [...exact, ...matched];
}

/** The wildcard mirror as a path mirror of one source; `refs` stays the same list, so its compiled patterns are shared. */
function expandWildcard(wildcard: WildcardMirror, identity: string, segments: readonly string[]): PathMirror {
  return {
    source: identity,
    target: expandTarget(wildcard.compiledTarget, segments),
    secrets: wildcard.secrets,
    refs: wildcard.refs,
    forceFetch: wildcard.forceFetch,
    branches: wildcard.branches,
    username: wildcard.username,
    password: wildcard.password,
    endpointUuid: wildcard.endpointUuid,
    report: wildcard.report,
  };
}

/** Every distinct secret a delivery may be signed with (none configured: nothing can verify). */
export function candidateSecrets(index: MirrorIndex): readonly string[] {
  return index.secrets;
}

/**
 * The secrets to verify a delivery against, before its body is parsed. A token scheme, or a short
 * body, tries every secret. A scheme that MACs the body tries at most `MAX_BODY_MACS`: first those
 * that may act for the sources it claims (their host's, then their mirrors', as
 * `secretAuthorisesSource` counts them), then its host's, then the rest in config order, so a
 * config of a few secrets tries them all. The claim is untrusted; the source read after
 * verification must still be one the matched secret authorises.
 */
export function candidateSecretsFor(
  index: MirrorIndex,
  provider: Pick<Provider, 'claimSource'>,
  delivery: Delivery,
): readonly string[] {
  // Few enough to try them all: nothing to narrow, so the body is not searched.
  if (index.secrets.length <= MAX_BODY_MACS) return index.secrets;
  const claim = provider.claimSource(delivery);
  const bodyLength = delivery.bodyText?.length ?? delivery.rawBody.length;
  if (claim.scheme === 'token' || bodyLength <= SHORT_BODY_CHARS) return index.secrets;
  const chosen = new Set<string>();
  const offer = (secrets: readonly string[]): void => {
    for (const secret of secrets) {
      if (chosen.size === MAX_BODY_MACS) return;
      chosen.add(secret);
    }
  };
  for (const source of claim.sources) {
    const identity = identityIn(index, source);
    offer(index.webhooks.get(hostOf(identity)) ?? NO_SECRETS);
    for (const mirror of mirrorsOf(index, identity)) offer(mirror.secrets ?? NO_SECRETS);
  }
  if (claim.host !== undefined) {
    offer(index.webhooks.get(claim.host) ?? NO_SECRETS);
    for (const wildcard of index.wildcardsByHost.get(claim.host) ?? NO_WILDCARD_MIRRORS) offer(wildcard.secrets ?? NO_SECRETS);
  }
  offer(index.secrets);
  return [...chosen];
}

/** A source's mirrors of every kind: by id, by path, and the wildcards it matches. */
function mirrorsOf(index: MirrorIndex, identity: string): readonly SecretBearing[] {
  return [...(index.bySource.get(identity) ?? NO_MIRRORS), ...pathMirrorsOf(index, identity)];
}

/**
 * The mirror's own secrets when it has them, else its host's `webhooks` secrets, else none. Takes a
 * mirror of any kind: by id, by path, or expanded from a wildcard (whose own secret it carries).
 */
export function effectiveSecrets(index: MirrorIndex, mirror: SecretBearing): readonly string[] {
  return mirror.secrets ?? index.webhooks.get(hostOf(mirror.source)) ?? NO_SECRETS;
}

/**
 * Whether the secret a delivery was verified with may act for `source`: it is an effective secret
 * of one of the source's mirrors (by id, by path or by wildcard) or, for a source without mirrors,
 * one of its host's secrets. Without this check, the secret of one repository could trigger the
 * mirrors of another.
 */
export function secretAuthorisesSource(index: MirrorIndex, secret: string, source: string): boolean {
  const identity = identityIn(index, source);
  const mirrors = mirrorsOf(index, identity);
  if (mirrors.length === 0) return includesSecret(index.webhooks.get(hostOf(identity)) ?? NO_SECRETS, secret);
  return mirrors.some((mirror) => includesSecret(effectiveSecrets(index, mirror), secret));
}

/**
 * How a mirror of any kind reports commit statuses upstream: its own `report` when it has one (it
 * replaces its host's), else its host's `webhooks[host].report`, else undefined: report nothing.
 */
export function reportSettingsFor(index: MirrorIndex, mirror: Pick<MirrorTarget, 'source' | 'report'>): ReportSettings | undefined {
  return mirror.report ?? index.reports.get(hostOf(mirror.source));
}

/**
 * Whether a push touching `refs` concerns the mirror (of any kind). A mirror without `refs` wants
 * every push, deletions included.
 */
export function mirrorWantsRefs(mirror: Pick<MirrorTarget, 'refs'>, refs: readonly { readonly ref: string }[]): boolean {
  if (mirror.refs === undefined) return true;
  const patterns = compiledRefPatterns(mirror.refs);
  return refs.some(({ ref }) => patterns.some((pattern) => matchesRefPattern(pattern, ref)));
}

/**
 * The mirrors a verified push syncs: those of its source that the matched secret is effective for
 * and whose refs match. None → a reason fit to show the Git host.
 */
export function selectMirrors(
  index: MirrorIndex,
  push: { readonly source: string; readonly refs: readonly { readonly ref: string }[] },
  matchedSecret: string,
): MirrorSelection {
  const mirrors = mirrorsFor(index, push.source);
  if (mirrors.length === 0) return { mirrors: [], reason: `no mirror configured for ${push.source}` };
  const authorised = mirrors.filter((mirror) => includesSecret(effectiveSecrets(index, mirror), matchedSecret));
  if (authorised.length === 0) {
    return { mirrors: [], reason: `the delivery's secret is not a secret of any mirror for ${push.source}` };
  }
  const selected = authorised.filter((mirror) => mirrorWantsRefs(mirror, push.refs));
  if (selected.length > 0) return { mirrors: selected };
  return { mirrors: [], reason: `${describeRefs(push.refs)} of any mirror for ${push.source}` };
}

function describeRefs(refs: readonly { readonly ref: string }[]): string {
  if (refs.length === 0) return 'the push changed no ref, so nothing matches the refs';
  const [first] = refs;
  if (refs.length === 1 && first !== undefined) return `ref ${first.ref} not in the refs`;
  const shown = refs.slice(0, 3).map(({ ref }) => ref).join(', ');
  const more = refs.length > 3 ? ` and ${refs.length - 3} more` : '';
  return `refs ${shown}${more} not in the refs`;
}

/** Payload identities arrive normalised; anything else (e.g. typed by hand) is normalised on a miss. */
function identityIn(index: MirrorIndex, source: string): string {
  if (index.bySource.has(source) || index.pathsBySource.has(source)) return source;
  let normalised: string | undefined;
  try {
    normalised = normaliseConfiguredSource(source);
  } catch {
    normalised = undefined; // a malformed %-escape: no configured source can equal it
  }
  return normalised ?? source;
}

/** Compares against every candidate, not stopping at a match, each comparison in constant time. */
function includesSecret(secrets: readonly string[], secret: string): boolean {
  let found = false;
  for (const candidate of secrets) found = safeEqual(candidate, secret) || found;
  return found;
}
