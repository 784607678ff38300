/**
 * CodeHub path (`group/name`, the group possibly with subgroups) → repository id, for mirrors written
 * with `target:` instead of `repository_id:`. Ids are cached (they never change for a repository, but
 * a repository can be deleted and re-created, so not forever), concurrent lookups of one path share
 * one call, and a failed lookup is remembered briefly so a burst of pushes to an unknown path does not
 * hammer CodeHub, then tried again. Transient failures (timeouts, throttling, 5xx) are not remembered.
 */

import { settleWithin } from '../deadline';
import { CodeHubError, ConfigError, ErrorCodes, type ErrorCode } from '../errors';
import type { CallOptions } from './types';

/** Looks a repository up by group and name: `CodeHubClient.resolveRepositoryId` fits. */
export type RepositoryLookup = (group: string, name: string, options?: CallOptions) => Promise<number>;

export interface RepositoryResolverOptions {
  /** How long a resolved id is reused. @default 600_000 (10 minutes) */
  readonly ttlMs?: number;
  /** How long a failed lookup is answered from memory with the same error. @default 30_000 */
  readonly negativeTtlMs?: number;
  /** Paths remembered at most; the oldest is forgotten first. @default 10_000 */
  readonly maxEntries?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

export interface RepositoryResolver {
  /**
   * The id of the repository at `path` (`group/name`). Rejects with the lookup's error; a path
   * without a group or a name rejects with a ConfigError naming `target`. With a `deadline` the
   * lookup (retries included) ends by it; a caller joining a lookup already in flight waits for it
   * until its own deadline at most.
   */
  resolve(path: string, options?: CallOptions): Promise<number>;
}

export const DEFAULT_RESOLVER_TTL_MS = 10 * 60_000;
export const DEFAULT_RESOLVER_NEGATIVE_TTL_MS = 30_000;
export const DEFAULT_RESOLVER_MAX_ENTRIES = 10_000;

/** Failures that say nothing about the path: asking again soon may well succeed. */
const TRANSIENT_CODES: ReadonlySet<ErrorCode> = new Set([
  ErrorCodes.CODEHUB_TIMEOUT,
  ErrorCodes.CODEHUB_UNREACHABLE,
  ErrorCodes.CODEHUB_THROTTLED,
  ErrorCodes.CODEHUB_SERVER_ERROR,
]);

type CacheEntry =
  | { readonly expiresAt: number; readonly id: number }
  | { readonly expiresAt: number; readonly error: unknown };

export function createRepositoryResolver(lookup: RepositoryLookup, options: RepositoryResolverOptions = {}): RepositoryResolver {
  const ttlMs = options.ttlMs ?? DEFAULT_RESOLVER_TTL_MS;
  const negativeTtlMs = options.negativeTtlMs ?? DEFAULT_RESOLVER_NEGATIVE_TTL_MS;
  const maxEntries = options.maxEntries ?? DEFAULT_RESOLVER_MAX_ENTRIES;
  const now = options.now ?? Date.now;
  const cache = new Map<string, CacheEntry>();
  const inFlight = new Map<string, Promise<number>>();

  function remember(path: string, entry: CacheEntry): void {
    cache.delete(path); // re-inserted last, so Map order stays oldest-first
    cache.set(path, entry);
    if (cache.size > maxEntries) {
      const oldest = cache.keys().next();
      if (oldest.done !== true) cache.delete(oldest.value);
    }
  }

  async function resolve(path: string, options: CallOptions = {}): Promise<number> {
    const cached = cache.get(path);
    if (cached !== undefined) {
      if (cached.expiresAt > now()) {
        if ('id' in cached) return cached.id;
        throw cached.error;
      }
      cache.delete(path);
    }
    const running = inFlight.get(path);
    if (running !== undefined) {
      const ms = options.deadline === undefined ? undefined : options.deadline - now();
      return settleWithin(running, ms, `the lookup of ${path} already in flight`);
    }

    const slash = path.lastIndexOf('/');
    const group = path.slice(0, slash);
    const name = path.slice(slash + 1);
    if (slash <= 0 || name === '') {
      throw new ConfigError('target', `must be a CodeHub path group/name, got ${JSON.stringify(path)}`);
    }
    const call = (async () => {
      try {
        const id = await lookup(group, name, options);
        remember(path, { expiresAt: now() + ttlMs, id });
        return id;
      } catch (error) {
        if (!(error instanceof CodeHubError && TRANSIENT_CODES.has(error.code))) {
          remember(path, { expiresAt: now() + negativeTtlMs, error });
        }
        throw error;
      }
    })();
    inFlight.set(path, call);
    // Removed once settled (even when `lookup` threw before its first await).
    const forget = (): void => {
      if (inFlight.get(path) === call) inFlight.delete(path);
    };
    call.then(forget, forget);
    return call;
  }

  return { resolve };
}
