/**
 * Simulated repositories, for storms of hundreds of repositories where running git is not an
 * option. The upstream is an in-memory map ref → SHA that the caller moves; the mirror is another.
 * A fetch reads the upstream's refs when it begins (a real `git fetch` negotiates refs first, so a
 * push that lands during the fetch is not in it), takes a time drawn from a range, then makes the
 * mirror's refs equal what it read: forced and pruned, whatever `force_fetch` says (there are no
 * commits to tell a fast-forward from a force-push). Nothing runs while a repository is idle: no
 * file, no process, no timer.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { RepositorySpec } from './mirror-types';

/** How long a simulated fetch takes, in ms: drawn uniformly from min..max (both included). */
export interface FetchTimeRange {
  readonly min: number;
  readonly max: number;
}

export const DEFAULT_SIMULATED_FETCH_MS: FetchTimeRange = Object.freeze({ min: 1000, max: 3000 });

/** A day: longer is a mistake, not a simulation. */
const MAX_FETCH_MS = 86_400_000;

/** A ref's head, and when the upstream got it (the commit's date as reads show it). */
export interface SimulatedRef {
  readonly sha: string;
  readonly at: string;
}

/** Draws fetch times. */
export type FetchTimes = () => number;

/** mulberry32: a small, fast, seedable generator of [0, 1), plenty for spreading fetch times. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * Fetch times drawn uniformly from `range`; the same `seed` draws the same sequence.
 * Throws `RangeError` for a range that is not integers 0 ≤ min ≤ max ≤ 1 day.
 */
export function createFetchTimes(range: FetchTimeRange, seed?: number): FetchTimes {
  const { min, max } = range;
  const valid = (value: number): boolean => Number.isInteger(value) && value >= 0 && value <= MAX_FETCH_MS;
  if (!valid(min) || !valid(max) || min > max) {
    throw new RangeError(`simulatedFetchMs must be {min, max}, integers with 0 <= min <= max <= ${MAX_FETCH_MS}`);
  }
  if (seed !== undefined && !Number.isInteger(seed)) throw new RangeError('seed must be an integer');
  const random = seed === undefined ? Math.random : seededRandom(seed);
  return () => min + Math.floor(random() * (max - min + 1));
}

const REF_NAME = /^refs\/(heads|tags)\/[^\s~^:?*[\\]+$/;
const SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/** Throws `RangeError` unless `ref` is a full branch or tag name that git's `check-ref-format` would accept. */
function checkRefName(ref: string): void {
  const control = [...ref].some((char) => char.charCodeAt(0) < 0x20 || char.charCodeAt(0) === 0x7f);
  const malformed = ['..', '//', '@{', '/.'].some((part) => ref.includes(part)) || /[/.]$/.test(ref) || /\.lock(\/|$)/.test(ref);
  if (control || malformed || !REF_NAME.test(ref)) {
    throw new RangeError(`ref must be a full branch or tag name (refs/heads/… or refs/tags/…), got ${JSON.stringify(ref)}`);
  }
}

/** A commit id, lower-cased; throws `RangeError` unless 40 or 64 hex digits. */
function checkSha(sha: string, ref: string): string {
  const lower = sha.toLowerCase();
  if (!SHA.test(lower)) throw new RangeError(`the sha of ${ref} must be 40 or 64 hex digits (or null to delete it)`);
  return lower;
}

export interface SimulatedRepositoryOptions {
  readonly upstreamRefs?: Readonly<Record<string, string>>;
  /** @default 'main' */
  readonly defaultBranch?: string;
  readonly fetchTimes: FetchTimes;
  /** The emulator's clock, as ISO 8601. */
  readonly iso: () => string;
}

/** The mirror's side as reads see it. */
export interface SimulatedMirror {
  readonly refs: ReadonlyMap<string, SimulatedRef>;
}

export interface SimulatedRepository {
  /**
   * Moves upstream refs (`null` deletes one), all or none: throws `RangeError` on a bad ref or SHA
   * before changing anything. Returns the upstream's refs after.
   */
  setUpstreamRefs(changes: Readonly<Record<string, string | null>>): Record<string, string>;
  upstreamRefs(): Record<string, string>;
  /** The mirror's refs, updated by each fetch. Empty before the first. */
  readonly mirror: SimulatedMirror;
  /** Full ref name → SHA, as `mirrorRefs` shows a git mirror's. */
  mirrorRefs(): Record<string, string>;
  /**
   * One fetch: reads the upstream now, waits a drawn time, then replaces the mirror's refs. Rejects
   * (the mirror unchanged) when `signal` aborts. Resolves to the default branch, once the mirror has it.
   */
  fetch(signal: AbortSignal): Promise<{ defaultBranch: string | undefined }>;
}

function plain(refs: ReadonlyMap<string, SimulatedRef>): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [ref, head] of [...refs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) result[ref] = head.sha;
  return result;
}

export function createSimulatedRepository(options: SimulatedRepositoryOptions): SimulatedRepository {
  const defaultBranch = options.defaultBranch ?? 'main';
  checkRefName(`refs/heads/${defaultBranch}`);
  const upstream = new Map<string, SimulatedRef>();
  const mirror = { refs: new Map<string, SimulatedRef>() };

  function setUpstreamRefs(changes: Readonly<Record<string, string | null>>): Record<string, string> {
    const checked = Object.entries(changes).map(([ref, sha]) => {
      checkRefName(ref);
      return [ref, sha === null ? null : checkSha(sha, ref)] as const;
    });
    for (const [ref, sha] of checked) {
      if (sha === null) upstream.delete(ref);
      // The same head again keeps its date: nothing was pushed.
      else if (upstream.get(ref)?.sha !== sha) upstream.set(ref, { sha, at: options.iso() });
    }
    return plain(upstream);
  }

  if (options.upstreamRefs) setUpstreamRefs(options.upstreamRefs);

  return {
    setUpstreamRefs,
    upstreamRefs: () => plain(upstream),
    mirror,
    mirrorRefs: () => plain(mirror.refs),
    async fetch(signal) {
      // The ref advertisement comes first: what lands upstream after this is not in this fetch.
      const advertised = new Map(upstream);
      try {
        await sleep(options.fetchTimes(), undefined, { signal });
      } catch (error) {
        throw new Error('the simulated fetch was stopped: the emulator is closing', { cause: error });
      }
      mirror.refs = advertised;
      return { defaultBranch: advertised.has(`refs/heads/${defaultBranch}`) ? defaultBranch : undefined };
    },
  };
}

/** What a simulated repository's mirror shows as its `url`: made up, and never fetched. */
export function simulatedUpstreamUrl(id: number): string {
  return `https://upstream.emulator.invalid/simulated/${id}.git`;
}

/**
 * The simulation a registration asks for: none for a git repository; for a simulated one registered
 * again, the same upstream and mirror with the refs given set on top; else a new one.
 */
export function simulationFor(
  spec: RepositorySpec,
  existing: SimulatedRepository | undefined,
  options: Pick<SimulatedRepositoryOptions, 'fetchTimes' | 'iso'>,
): SimulatedRepository | undefined {
  if (spec.simulated !== true) return undefined;
  if (existing) {
    if (spec.upstreamRefs) existing.setUpstreamRefs(spec.upstreamRefs);
    return existing;
  }
  return createSimulatedRepository({
    ...options,
    ...(spec.upstreamRefs === undefined ? {} : { upstreamRefs: spec.upstreamRefs }),
    ...(spec.defaultBranch === undefined ? {} : { defaultBranch: spec.defaultBranch }),
  });
}

/** Validates the admin body `{ref, sha}` or `{refs: {ref: sha | null}}`; throws `RangeError` naming the field. */
export function parseUpstreamRefsBody(value: unknown): Record<string, string | null> {
  const expected = 'the body must be {"ref": "refs/heads/…", "sha": "<hex>" | null} or {"refs": {"<ref>": "<hex>" | null}}';
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new RangeError(expected);
  const keys = Object.keys(value).sort().join(',');
  const body = value as Record<string, unknown>;
  if (keys === 'ref,sha') {
    const { ref, sha } = body;
    if (typeof ref !== 'string') throw new RangeError('ref must be a string');
    if (sha !== null && typeof sha !== 'string') throw new RangeError('sha must be a string, or null to delete the ref');
    return Object.fromEntries([[ref, sha]]);
  }
  if (keys === 'refs') {
    const refs = body.refs;
    if (typeof refs !== 'object' || refs === null || Array.isArray(refs)) throw new RangeError('refs must be an object {"<ref>": "<hex>" | null}');
    const changes = Object.entries(refs).map(([ref, sha]: [string, unknown]) => {
      if (sha !== null && typeof sha !== 'string') throw new RangeError(`refs[${JSON.stringify(ref)}] must be a string, or null to delete the ref`);
      return [ref, sha] as const;
    });
    // fromEntries defines each key, so even "__proto__" arrives as a ref (and is refused as one).
    return Object.fromEntries(changes);
  }
  throw new RangeError(expected);
}
