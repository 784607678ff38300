import { describe, expect, it } from 'vitest';
import type { MirrorTarget } from '../../lib/config/types';
import { refsToConfirm, type RefToConfirm } from '../../lib/ledger/refs';
import type { RefChange } from '../../lib/providers/types';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);
const ZERO = '0'.repeat(40);

type Mirror = Pick<MirrorTarget, 'refs' | 'branches'>;
const change = (ref: string, before: string, after: string, deleted = false): RefChange => ({ ref, before, after, deleted });
const ALL: Mirror = { refs: undefined, branches: undefined };
const DEFAULT_ONLY: Mirror = { refs: undefined, branches: 'default' };

const branch = (name: string, expect: RefToConfirm['expect']): RefToConfirm => ({ ref: `refs/heads/${name}`, kind: 'branch', name, expect });
const tag = (name: string, expect: RefToConfirm['expect']): RefToConfirm => ({ ref: `refs/tags/${name}`, kind: 'tag', name, expect });

describe('refsToConfirm', () => {
  it.each<[string, readonly RefChange[], Mirror, string | undefined, readonly RefToConfirm[]]>([
    ['a branch push expects its after', [change('refs/heads/main', A, B)], ALL, 'main', [branch('main', { sha: B })]],
    ['a force-push expects its after, whatever before was', [change('refs/heads/main', C, A)], ALL, 'main', [branch('main', { sha: A })]],
    ['a new branch expects its after', [change('refs/heads/feature/x', ZERO, B)], ALL, 'main', [branch('feature/x', { sha: B })]],
    ['a branch deletion expects the branch absent', [change('refs/heads/old', A, ZERO, true)], ALL, 'main', [branch('old', 'absent')]],
    ['a deletion told only by zeros expects it absent', [change('refs/heads/old', A, ZERO)], ALL, 'main', [branch('old', 'absent')]],
    ['a tag push expects the tag at its after', [change('refs/tags/v1.0', ZERO, B)], ALL, 'main', [tag('v1.0', { sha: B })]],
    ['a tag deletion expects the tag absent', [change('refs/tags/v1.0', B, ZERO, true)], ALL, 'main', [tag('v1.0', 'absent')]],
    ['upper-case SHAs are expected in lower case', [change('refs/heads/main', A, B.toUpperCase())], ALL, 'main', [branch('main', { sha: B })]],
    ['refs that are neither branch nor tag are not waited for', [change('refs/pull/1/head', ZERO, B), change('refs/notes/x', ZERO, B)], ALL, 'main', []],
    ['default-branch-only: a tag push waits for nothing', [change('refs/tags/v1', ZERO, B)], DEFAULT_ONLY, 'main', []],
    ['default-branch-only: another branch waits for nothing', [change('refs/heads/dev', A, B)], DEFAULT_ONLY, 'main', []],
    ['default-branch-only: the default branch is waited for', [change('refs/heads/main', A, B), change('refs/tags/v1', ZERO, B)], DEFAULT_ONLY, 'main', [branch('main', { sha: B })]],
    ['default-branch-only, default unknown: every branch, still no tag', [change('refs/heads/dev', A, B), change('refs/tags/v1', ZERO, B)], DEFAULT_ONLY, undefined, [branch('dev', { sha: B })]],
    ['branches: all is every branch and tag', [change('refs/heads/dev', A, B), change('refs/tags/v1', ZERO, B)], { refs: undefined, branches: 'all' }, 'main', [branch('dev', { sha: B }), tag('v1', { sha: B })]],
    ['the refs filter leaves out what it does not match', [change('refs/heads/dev', A, B), change('refs/tags/v1', ZERO, B)], { refs: ['refs/tags/*'], branches: undefined }, 'main', [tag('v1', { sha: B })]],
    ['an all-filtered push waits for nothing', [change('refs/heads/dev', A, B)], { refs: ['refs/heads/main'], branches: undefined }, 'main', []],
    ['filter and default-only both apply', [change('refs/heads/main', A, B)], { refs: ['refs/tags/*'], branches: 'default' }, 'main', []],
    ['a ref listed twice counts once, at its last change', [change('refs/heads/main', A, B), change('refs/heads/dev', A, C), change('refs/heads/main', B, C)], ALL, 'main', [branch('dev', { sha: C }), branch('main', { sha: C })]],
    ['no ref, nothing', [], ALL, 'main', []],
  ])('%s', (_, refs, mirror, defaultBranch, expected) => {
    // Act
    const targets = refsToConfirm(refs, mirror, defaultBranch);

    // Assess
    expect(targets).toEqual(expected);
  });
});
