/**
 * Which refs of a push a mirror must be seen to hold before the push counts as mirrored, and what
 * each must look like there. Pure: the caller passes the mirror's settings and its default branch.
 *
 * Only branches (`refs/heads/…`) and tags (`refs/tags/…`) are waited for: they are what a CodeArts
 * mirror fetches and what CodeHub can show (ShowBranch, ShowTag). Other refs (`refs/pull/…`,
 * `refs/merge-requests/…`, notes) are never mirrored, so waiting for them could only end in `failed`.
 */

import { refMatches } from '../config/mapping';
import type { MirrorTarget } from '../config/types';
import type { RefChange } from '../providers/types';

export type RefKind = 'branch' | 'tag';

/** What the mirror must show for a ref: this head SHA, or no such ref (a deletion). */
export type RefExpectation = { readonly sha: string } | 'absent';

export interface RefToConfirm {
  /** Full ref name, `refs/heads/main` or `refs/tags/v1.0`. */
  readonly ref: string;
  readonly kind: RefKind;
  /** Short name as CodeHub takes it (`branch_name=`, `tag_name=`): `main`, `v1.0`. */
  readonly name: string;
  readonly expect: RefExpectation;
}

const BRANCH_PREFIX = 'refs/heads/';
const TAG_PREFIX = 'refs/tags/';
/** A side of a ref change that does not exist: all zeros (40 for SHA-1, 64 for SHA-256). */
const NO_COMMIT = /^0+$/;

/**
 * The refs of `refs` the mirror must confirm, in the push's order, one per ref (the last change of
 * a ref a push lists twice wins). A ref is left out when the mirror's `refs` filter does not match
 * it, when it is neither a branch nor a tag, or when the mirror syncs only its default branch
 * (`branches: default`) and it is a tag or another branch. An empty result means nothing to wait for.
 *
 * `defaultBranch` is the short name (`main`); undefined = not known. Then a `branches: default`
 * mirror waits for every branch of the push: a push must never be dropped for want of a fact, and
 * the worst this costs is a push confirmed late or failed loudly, not one lost quietly. The caller
 * should pass it (CodeHub's `GET /v4/repositories/{id}` has `default_branch`).
 */
export function refsToConfirm(
  refs: readonly RefChange[],
  mirror: Pick<MirrorTarget, 'refs' | 'branches'>,
  defaultBranch: string | undefined,
): readonly RefToConfirm[] {
  const byRef = new Map<string, RefToConfirm>();
  for (const change of refs) {
    const target = refToConfirm(change);
    if (target === undefined || !syncedBy(mirror, target, defaultBranch)) continue;
    byRef.delete(target.ref); // keep the push's order of last changes
    byRef.set(target.ref, target);
  }
  return [...byRef.values()];
}

/** The ref's kind, name and expectation; undefined for a ref that is neither a branch nor a tag. */
export function refToConfirm(change: RefChange): RefToConfirm | undefined {
  const kind: RefKind | undefined = change.ref.startsWith(BRANCH_PREFIX) ? 'branch' : change.ref.startsWith(TAG_PREFIX) ? 'tag' : undefined;
  if (kind === undefined) return undefined;
  const name = change.ref.slice(kind === 'branch' ? BRANCH_PREFIX.length : TAG_PREFIX.length);
  if (name === '') return undefined;
  const gone = change.deleted || NO_COMMIT.test(change.after);
  return { ref: change.ref, kind, name, expect: gone ? 'absent' : { sha: change.after.toLowerCase() } };
}

function syncedBy(mirror: Pick<MirrorTarget, 'refs' | 'branches'>, target: RefToConfirm, defaultBranch: string | undefined): boolean {
  if (mirror.refs !== undefined && !mirror.refs.some((pattern) => refMatches(pattern, target.ref))) return false;
  if (mirror.branches !== 'default') return true;
  return target.kind === 'branch' && (defaultBranch === undefined || target.name === defaultBranch);
}
