/**
 * Wildcard sources, target templates and ref patterns, pure and regex-free.
 *
 * A wildcard source is `host/segments` where a segment that is exactly `*` matches one or more whole
 * path segments: `github.com/acme/*` matches `github.com/acme/api` and `github.com/acme/sub/api`, not
 * `github.com/acme`. The host is always written out.
 *
 * A target template is a CodeHub path `group/name` (the group may have subgroups) with placeholders
 * filled from the concrete source `host/a/b/name`: `{name}` = `name` (the last segment), `{owner}` =
 * `a/b` (the path before it), `{path}` = `a/b/name` (the whole path). Sources are normalised identities,
 * so placeholders are lower-case.
 *
 * A ref pattern (a mirror's `refs`) is a ref with `*` standing for any run of characters, `/` included.
 */

/** A wildcard source split once, at load: the host, and its path pieces between `*` segments. */
export interface CompiledSourcePattern {
  readonly host: string;
  /** Literal segment runs around each `*`: `acme/*` → [['acme'], []]; always at least two pieces. */
  readonly pieces: readonly (readonly string[])[];
}

export const TARGET_PLACEHOLDERS = ['name', 'owner', 'path'] as const;
export type TargetPlaceholder = (typeof TARGET_PLACEHOLDERS)[number];

/** A target template split once: literal text and placeholders, in order. */
export type CompiledTargetTemplate = readonly (string | { readonly placeholder: TargetPlaceholder })[];

/** Compiles a normalised wildcard source (`host/…/*`); the loader has checked its form. */
export function compileSourcePattern(pattern: string): CompiledSourcePattern {
  const [host = '', ...segments] = pattern.split('/');
  const pieces: string[][] = [[]];
  for (const segment of segments) {
    if (segment === '*') pieces.push([]);
    else pieces[pieces.length - 1]?.push(segment);
  }
  return { host, pieces };
}

/**
 * Whether the path segments of a source (host removed) match the pattern: the first piece is a
 * prefix, the last a suffix, the pieces between are found left to right, and each `*` covers at least
 * one segment. Leftmost placement is always right for this kind of glob, so nothing backtracks.
 */
export function matchSourcePattern(pattern: CompiledSourcePattern, pathSegments: readonly string[]): boolean {
  const { pieces } = pattern;
  const first = pieces[0] ?? [];
  const last = pieces[pieces.length - 1] ?? [];
  const stars = pieces.length - 1;
  let literal = 0;
  for (const piece of pieces) literal += piece.length;
  if (pathSegments.length < literal + stars) return false;
  if (!segmentsAt(pathSegments, first, 0) || !segmentsAt(pathSegments, last, pathSegments.length - last.length)) return false;
  const end = pathSegments.length - last.length;
  let position = first.length;
  for (let i = 1; i < pieces.length - 1; i += 1) {
    const piece = pieces[i] ?? [];
    let found = -1;
    // The `*` before this piece covers at least one segment; the one after it, too.
    for (let at = position + 1; at + piece.length <= end - 1; at += 1) {
      if (segmentsAt(pathSegments, piece, at)) {
        found = at;
        break;
      }
    }
    if (found === -1) return false;
    position = found + piece.length;
  }
  return end - position >= 1;
}

function segmentsAt(segments: readonly string[], piece: readonly string[], at: number): boolean {
  for (let i = 0; i < piece.length; i += 1) if (segments[at + i] !== piece[i]) return false;
  return true;
}

/**
 * Splits a target template into literals and placeholders, or says in words what is wrong with it.
 * A valid template is `/`-separated non-empty segments of letters, digits, `_ . -` and placeholders,
 * and yields at least `group/name` even when every placeholder is as short as it can be.
 */
export function compileTargetTemplate(template: string): CompiledTargetTemplate | { readonly problem: string } {
  const parts: (string | { readonly placeholder: TargetPlaceholder })[] = [];
  let literal = '';
  let position = 0;
  while (position < template.length) {
    const open = template.indexOf('{', position);
    const close = template.indexOf('}', position);
    if (close !== -1 && (open === -1 || close < open)) return { problem: 'has a } without {' };
    if (open === -1) {
      literal += template.slice(position);
      break;
    }
    literal += template.slice(position, open);
    const end = template.indexOf('}', open);
    if (end === -1) return { problem: 'has a { without }' };
    const name = template.slice(open + 1, end);
    if (!(TARGET_PLACEHOLDERS as readonly string[]).includes(name)) {
      return { problem: `has an unknown placeholder; allowed: ${TARGET_PLACEHOLDERS.map((p) => `{${p}}`).join(', ')}` };
    }
    if (literal !== '') parts.push(literal);
    literal = '';
    parts.push({ placeholder: name as TargetPlaceholder });
    position = end + 1;
  }
  if (literal !== '') parts.push(literal);

  // Checked on the shortest expansion: every placeholder one plain segment (`{path}` two).
  const sample = expandTarget(parts, ['o', 'n']);
  const segments = sample.split('/');
  if (segments.length < 2 || segments.some((segment) => !/^[A-Za-z0-9_.-]+$/.test(segment))) {
    return { problem: 'must be a CodeHub path group/name (subgroups allowed): segments of letters, digits, _ . - and placeholders' };
  }
  return Object.freeze(parts);
}

/** Whether a compiled template has a placeholder (without one, every match syncs the same repository). */
export function hasPlaceholder(template: CompiledTargetTemplate): boolean {
  return template.some((part) => typeof part !== 'string');
}

/** Fills a template from the path segments (host removed) of a concrete source of two or more segments. */
export function expandTarget(template: CompiledTargetTemplate, pathSegments: readonly string[]): string {
  let target = '';
  for (const part of template) {
    if (typeof part === 'string') target += part;
    else if (part.placeholder === 'name') target += pathSegments[pathSegments.length - 1] ?? '';
    else if (part.placeholder === 'owner') target += pathSegments.slice(0, -1).join('/');
    else target += pathSegments.join('/');
  }
  return target;
}

/** The path segments of an identity `host/a/b/name`: `['a', 'b', 'name']`. */
export function pathSegmentsOf(identity: string): string[] {
  return identity.split('/').slice(1);
}

/** A ref pattern split at its `*`s; one piece means an exact ref. */
export type CompiledRefPattern = readonly string[];

/**
 * Keyed by a mirror's `refs` list, which the mirrors a wildcard expands to share with it. Filled by
 * `buildMirrorIndex`; a list from elsewhere is compiled on first use.
 */
const compiledRefs = new WeakMap<readonly string[], readonly CompiledRefPattern[]>();

/** Whether `ref` matches `pattern`: exact, or `*` standing for any run of characters, `/` included. */
export function refMatches(pattern: string, ref: string): boolean {
  return matchesRefPattern(pattern.split('*'), ref);
}

/** A `refs` list compiled, once per list. */
export function compiledRefPatterns(refs: readonly string[]): readonly CompiledRefPattern[] {
  let patterns = compiledRefs.get(refs);
  if (patterns === undefined) {
    patterns = refs.map((pattern) => pattern.split('*'));
    compiledRefs.set(refs, patterns);
  }
  return patterns;
}

/**
 * Glob match without a regex (nothing to inject, nothing to backtrack): the first piece is a prefix,
 * the last a suffix, and the pieces between are found left to right without overlapping them.
 */
export function matchesRefPattern(pieces: CompiledRefPattern, ref: string): boolean {
  const first = pieces[0] ?? '';
  if (pieces.length === 1) return ref === first;
  const last = pieces[pieces.length - 1] ?? '';
  if (ref.length < first.length + last.length || !ref.startsWith(first) || !ref.endsWith(last)) return false;
  const end = ref.length - last.length;
  let position = first.length;
  for (let i = 1; i < pieces.length - 1; i += 1) {
    const piece = pieces[i] ?? '';
    const found = ref.indexOf(piece, position);
    if (found === -1 || found + piece.length > end) return false;
    position = found + piece.length;
  }
  return true;
}
