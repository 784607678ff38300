/**
 * What makes two deliveries the same push, and the `push_id` the ledger and the status route use.
 *
 * A push is its source and the ref changes it made (ref, before, after, deleted). Not the delivery
 * id: the host does not sign it, so a captured delivery replayed with a fresh id verifies like the
 * original, and a few hosts send none. A redelivery and a replay change nothing in the repository,
 * so they are one push: one ledger entry, one `push_id`, no second CodeHub call.
 *
 * The same key can come back as a genuinely new push: main goes A→B, is force-pushed back to A,
 * then pushed A→B again. The third push repeats the first one's key, but the mirror must fetch
 * again. So a key match is a replay only while the earlier entry is still the latest push to every
 * ref it changed (`isReplay`); otherwise the push is new and takes the next `occurrence` of the key.
 */

import { sha256 } from '../crypto';
import type { RefChange } from '../providers/types';

/** Characters of the base64url SHA-256 a `push_id` keeps: 132 bits, far from any collision among pushes. */
const PUSH_ID_LENGTH = 22;
/** Bumped if what goes into a key ever changes, so old and new keys cannot meet. */
const KEY_VERSION = 'push/1';

/**
 * The stable key of a push: base64url SHA-256 over the source and its ref changes, sorted, so the
 * order a host lists refs in does not matter. SHAs are compared in lower case (hosts send hex).
 */
export function pushKey(source: string, refs: readonly RefChange[]): string {
  const changes = refs
    .map((change) => [change.ref, change.before.toLowerCase(), change.after.toLowerCase(), change.deleted ? 'deleted' : 'kept'].join(' '))
    .sort();
  // JSON keeps the parts apart: no ref, SHA or source can make two different pushes hash the same text.
  return sha256(JSON.stringify([KEY_VERSION, source, changes]), 'base64url');
}

/**
 * The key of a push that names no ref (a host that sent none; rare): it cannot be told from the next
 * such push by what it changed, so it is keyed by its delivery — a replay under a fresh delivery id
 * then costs one more sync, which is better than every later push of the source reading as a replay
 * and never syncing. `delivery` is the host's delivery id, or something unique when it sent none.
 */
export function noRefPushKey(source: string, delivery: string): string {
  return sha256(JSON.stringify([KEY_VERSION, 'no-refs', source, delivery]), 'base64url');
}

/**
 * The short URL-safe `push_id` of a key. `occurrence` 0 is the push itself; 1, 2, … are later,
 * genuinely new pushes with the same key (see the module comment), each with an id of its own.
 */
export function pushIdOf(key: string, occurrence = 0): string {
  if (!Number.isSafeInteger(occurrence) || occurrence < 0) throw new RangeError('occurrence must be a non-negative integer');
  const material = occurrence === 0 ? key : sha256(`${key}#${occurrence}`, 'base64url');
  return material.slice(0, PUSH_ID_LENGTH);
}

/**
 * Whether a delivery whose key matches the entry `pushId` is that same push again: true while that
 * entry is still the latest push to every ref it changed. `latestByRef` maps a ref to the `push_id`
 * of the latest push to it (what the ledger knows). A push that changed no ref is always a replay.
 */
export function isReplay(pushId: string, refs: readonly string[], latestByRef: ReadonlyMap<string, string>): boolean {
  return refs.every((ref) => latestByRef.get(ref) === pushId);
}
