import { describe, expect, it } from 'vitest';
import type { MirrorConfig, MirrorTarget } from '../lib/config/types';
import {
  buildMirrorIndex,
  candidateSecrets,
  effectiveSecrets,
  mirrorsFor,
  mirrorWantsRefs,
  refMatches,
  secretAuthorisesSource,
  selectMirrors,
} from '../lib/mapping';

function mirror(source: string, repositoryId: number, options: { secrets?: string[]; refs?: string[] } = {}): MirrorTarget {
  return { source, repositoryId, secrets: options.secrets, refs: options.refs, forceFetch: true };
}

function configOf(webhooks: Record<string, string[]>, mirrors: MirrorTarget[]): MirrorConfig {
  return { webhooks: new Map(Object.entries(webhooks)), mirrors };
}

function push(source: string, ...refs: string[]): { source: string; refs: { ref: string }[] } {
  return { source, refs: refs.map((ref) => ({ ref })) };
}

const API = mirror('github.com/acme/api', 1);
const API_COPY = mirror('github.com/acme/api', 2);
const PRIVATE = mirror('github.com/acme/private', 3, { secrets: ['private-new', 'private-old'], refs: ['refs/heads/main', 'refs/tags/*'] });
const GITLAB = mirror('gitlab.example.com/group/sub/project', 4);
const CONFIG = configOf(
  { 'github.com': ['github-secret'], 'gitlab.example.com': ['gl-new', 'gl-old', 'github-secret'] },
  [API, PRIVATE, API_COPY, GITLAB],
);

describe('buildMirrorIndex', () => {
  it('finds every mirror of a source, in config order (fan-out)', () => {
    // Act
    const index = buildMirrorIndex(CONFIG);

    // Assess
    expect(mirrorsFor(index, 'github.com/acme/api')).toEqual([API, API_COPY]);
    expect(mirrorsFor(index, 'github.com/acme/private')).toEqual([PRIVATE]);
  });

  it('looks up across 100,000 mirrors', () => {
    // Prepare
    const mirrors = Array.from({ length: 100_000 }, (_, i) => mirror(`git.example.com/team${i % 100}/repo${i}`, i + 1));
    mirrors.push(mirror('git.example.com/team7/repo7', 100_001));

    // Act
    const index = buildMirrorIndex(configOf({ 'git.example.com': ['s'] }, mirrors));

    // Assess
    expect(mirrorsFor(index, 'git.example.com/team0/repo0').map((m) => m.repositoryId)).toEqual([1]);
    expect(mirrorsFor(index, 'git.example.com/team50/repo50050').map((m) => m.repositoryId)).toEqual([50_051]);
    expect(mirrorsFor(index, 'git.example.com/team99/repo99999').map((m) => m.repositoryId)).toEqual([100_000]);
    expect(mirrorsFor(index, 'git.example.com/team7/repo7').map((m) => m.repositoryId)).toEqual([8, 100_001]);
    expect(mirrorsFor(index, 'git.example.com/team0/repo100000')).toEqual([]);
    expect(candidateSecrets(index)).toEqual(['s']);
  });
});

describe('mirrorsFor', () => {
  it('returns nothing for a source without mirrors', () => {
    // Prepare
    const index = buildMirrorIndex(CONFIG);

    // Act
    const mirrors = mirrorsFor(index, 'github.com/acme/unknown');

    // Assess
    expect(mirrors).toEqual([]);
  });

  it.each(['GitHub.com/Acme/API', 'https://github.com/acme/api.git', 'github.com:443/acme/api/'])(
    'finds the mirrors of a source written as %s',
    (source) => {
      // Prepare
      const index = buildMirrorIndex(CONFIG);

      // Act
      const mirrors = mirrorsFor(index, source);

      // Assess
      expect(mirrors).toEqual([API, API_COPY]);
    },
  );

  it('returns nothing, without throwing, for a source with a malformed %-escape', () => {
    // Prepare
    const index = buildMirrorIndex(CONFIG);

    // Act
    const mirrors = mirrorsFor(index, 'github.com/acme/%zz');

    // Assess
    expect(mirrors).toEqual([]);
  });
});

describe('candidateSecrets', () => {
  it('lists every distinct host and mirror secret once, host secrets first', () => {
    // Prepare
    const index = buildMirrorIndex(CONFIG);

    // Act
    const secrets = candidateSecrets(index);

    // Assess
    expect(secrets).toEqual(['github-secret', 'gl-new', 'gl-old', 'private-new', 'private-old']);
  });

  it('is computed once, at build time', () => {
    // Prepare
    const index = buildMirrorIndex(CONFIG);

    // Act
    const first = candidateSecrets(index);
    const second = candidateSecrets(index);

    // Assess
    expect(second).toBe(first);
  });
});

describe('effectiveSecrets', () => {
  it('gives a mirror its own secrets, replacing its host secrets', () => {
    // Prepare
    const index = buildMirrorIndex(CONFIG);

    // Act
    const secrets = effectiveSecrets(index, PRIVATE);

    // Assess
    expect(secrets).toEqual(['private-new', 'private-old']);
  });

  it('gives a mirror without its own secrets those of its host', () => {
    // Prepare
    const index = buildMirrorIndex(CONFIG);

    // Act
    const secrets = effectiveSecrets(index, GITLAB);

    // Assess
    expect(secrets).toEqual(['gl-new', 'gl-old', 'github-secret']);
  });

  it('gives nothing to a mirror whose host has no webhooks entry', () => {
    // Prepare
    const orphan = mirror('git.example.com/a/b', 9);
    const index = buildMirrorIndex(configOf({ 'github.com': ['s'] }, [orphan]));

    // Act
    const secrets = effectiveSecrets(index, orphan);

    // Assess
    expect(secrets).toEqual([]);
  });
});

describe('secretAuthorisesSource', () => {
  it.each([
    ['the host secret', 'github-secret', 'github.com/acme/api', true],
    ['the host secret, for a mirror with its own secret', 'github-secret', 'github.com/acme/private', false],
    ['the new rotation secret', 'private-new', 'github.com/acme/private', true],
    ['the old rotation secret', 'private-old', 'github.com/acme/private', true],
    ["one mirror's own secret, for another source on the host", 'private-new', 'github.com/acme/api', false],
    ["another host's secret", 'gl-new', 'github.com/acme/api', false],
    ['a secret shared by two hosts, on either host', 'github-secret', 'gitlab.example.com/group/sub/project', true],
    ['the host secret, for a source without mirrors', 'github-secret', 'github.com/acme/unmapped', true],
    ["one mirror's own secret, for a source without mirrors", 'private-new', 'github.com/acme/unmapped', false],
    ['any secret, for a host without a webhooks entry', 'github-secret', 'gitea.example.com/a/b', false],
    ['an unknown secret', 'guess', 'github.com/acme/api', false],
    ['a prefix of the secret', 'github-secre', 'github.com/acme/api', false],
  ])('answers for %s', (_, secret, source, authorised) => {
    // Prepare
    const index = buildMirrorIndex(CONFIG);

    // Act
    const answer = secretAuthorisesSource(index, secret, source);

    // Assess
    expect(answer).toBe(authorised);
  });

  it('authorises either secret for a source fanned out to a mirror with its own secret and one without', () => {
    // Prepare
    const own = mirror('github.com/acme/api', 7, { secrets: ['own'] });
    const index = buildMirrorIndex(configOf({ 'github.com': ['host'] }, [own, mirror('github.com/acme/api', 8)]));

    // Act
    const answers = ['own', 'host', 'other'].map((secret) => secretAuthorisesSource(index, secret, 'github.com/acme/api'));

    // Assess
    expect(answers).toEqual([true, true, false]);
  });
});

describe('refMatches', () => {
  it.each([
    ['refs/heads/main', 'refs/heads/main', true],
    ['refs/heads/main', 'refs/heads/main2', false],
    ['refs/heads/main', 'refs/heads/mai', false],
    ['refs/tags/*', 'refs/tags/v1', true],
    ['refs/tags/*', 'refs/tags/a/b', true],
    ['refs/tags/*', 'refs/tags/', true],
    ['refs/tags/*', 'refs/heads/v1', false],
    ['refs/*/main', 'refs/heads/main', true],
    ['refs/*/main', 'refs/heads/feature/main', true],
    ['refs/*/main', 'refs/heads/main2', false],
    ['refs/heads/release-*-rc*', 'refs/heads/release-1.0-rc2', true],
    ['refs/heads/release-*-rc*', 'refs/heads/release-1.0', false],
    ['refs/heads/a*a', 'refs/heads/a', false],
    ['refs/heads/a*a', 'refs/heads/aa', true],
    ['refs/heads/**', 'refs/heads/x/y', true],
    ['refs/heads/v1.0', 'refs/heads/v1x0', false],
    ['refs/heads/(a|b)', 'refs/heads/a', false],
    ['refs/heads/(a|b)', 'refs/heads/(a|b)', true],
    ['refs/heads/.+', 'refs/heads/anything', false],
    ['refs/heads/[ab]', 'refs/heads/a', false],
    ['refs/heads/^x$', 'refs/heads/^x$', true],
    ['refs/heads/a?', 'refs/heads/ab', false],
  ])('%s against %s: %s', (pattern, ref, expected) => {
    // Act
    const matched = refMatches(pattern, ref);

    // Assess
    expect(matched).toBe(expected);
  });
});

describe('mirrorWantsRefs', () => {
  it('lets a mirror without refs want every push, deletions and empty pushes included', () => {
    // Prepare
    const deletion = { ref: 'refs/heads/gone', before: 'a'.repeat(40), after: '0'.repeat(40), deleted: true };

    // Act
    const answers = [mirrorWantsRefs(API, [deletion]), mirrorWantsRefs(API, [{ ref: 'refs/anything' }]), mirrorWantsRefs(API, [])];

    // Assess
    expect(answers).toEqual([true, true, true]);
  });

  it('wants a push when any of its refs matches any pattern', () => {
    // Act
    const wanted = mirrorWantsRefs(PRIVATE, [{ ref: 'refs/heads/dev' }, { ref: 'refs/tags/v2.0' }]);

    // Assess
    expect(wanted).toBe(true);
  });

  it('does not want a push whose refs match no pattern', () => {
    // Act
    const wanted = [
      mirrorWantsRefs(PRIVATE, [{ ref: 'refs/heads/dev' }, { ref: 'refs/heads/main2' }]),
      mirrorWantsRefs(PRIVATE, []),
    ];

    // Assess
    expect(wanted).toEqual([false, false]);
  });

  it('works for a mirror that no index has seen', () => {
    // Prepare
    const loose = mirror('github.com/a/b', 1, { refs: ['refs/heads/release/*'] });

    // Act
    const wanted = [mirrorWantsRefs(loose, [{ ref: 'refs/heads/release/1.x' }]), mirrorWantsRefs(loose, [{ ref: 'refs/heads/main' }])];

    // Assess
    expect(wanted).toEqual([true, false]);
  });
});

describe('selectMirrors', () => {
  it('selects every mirror of a fanned-out source', () => {
    // Prepare
    const index = buildMirrorIndex(CONFIG);

    // Act
    const selection = selectMirrors(index, push('github.com/acme/api', 'refs/heads/main'), 'github-secret');

    // Assess
    expect(selection).toEqual({ mirrors: [API, API_COPY] });
  });

  it('selects only the mirrors the matched secret is effective for', () => {
    // Prepare
    const own = mirror('github.com/acme/api', 7, { secrets: ['own'] });
    const viaHost = mirror('github.com/acme/api', 8);
    const index = buildMirrorIndex(configOf({ 'github.com': ['host'] }, [own, viaHost]));

    // Act
    const byHost = selectMirrors(index, push('github.com/acme/api', 'refs/heads/main'), 'host');
    const byOwn = selectMirrors(index, push('github.com/acme/api', 'refs/heads/main'), 'own');

    // Assess
    expect(byHost.mirrors).toEqual([viaHost]);
    expect(byOwn.mirrors).toEqual([own]);
  });

  it('does not select a mirror with its own secret for a delivery signed with the host secret', () => {
    // Prepare
    const index = buildMirrorIndex(CONFIG);

    // Act
    const selection = selectMirrors(index, push('github.com/acme/private', 'refs/heads/main'), 'github-secret');

    // Assess
    expect(selection.mirrors).toEqual([]);
    expect(selection.reason).toBe("the delivery's secret is not a secret of any mirror for github.com/acme/private");
  });

  it('selects by either secret of a rotation list', () => {
    // Prepare
    const index = buildMirrorIndex(CONFIG);

    // Act
    const selections = ['private-new', 'private-old'].map((secret) =>
      selectMirrors(index, push('github.com/acme/private', 'refs/tags/v1'), secret),
    );

    // Assess
    expect(selections).toEqual([{ mirrors: [PRIVATE] }, { mirrors: [PRIVATE] }]);
  });

  it('explains a source without mirrors', () => {
    // Prepare
    const index = buildMirrorIndex(CONFIG);

    // Act
    const selection = selectMirrors(index, push('github.com/a/b', 'refs/heads/main'), 'github-secret');

    // Assess
    expect(selection).toEqual({ mirrors: [], reason: 'no mirror configured for github.com/a/b' });
  });

  it('explains a ref no mirror wants', () => {
    // Prepare
    const index = buildMirrorIndex(CONFIG);

    // Act
    const selection = selectMirrors(index, push('github.com/acme/private', 'refs/heads/x'), 'private-new');

    // Assess
    expect(selection).toEqual({
      mirrors: [],
      reason: 'ref refs/heads/x not in the refs of any mirror for github.com/acme/private',
    });
  });

  it('explains several refs no mirror wants, listing a few', () => {
    // Prepare
    const index = buildMirrorIndex(CONFIG);
    const refs = ['refs/heads/a', 'refs/heads/b', 'refs/heads/c', 'refs/heads/d', 'refs/heads/e'];

    // Act
    const selection = selectMirrors(index, push('github.com/acme/private', ...refs), 'private-new');

    // Assess
    expect(selection.reason).toBe(
      'refs refs/heads/a, refs/heads/b, refs/heads/c and 2 more not in the refs of any mirror for github.com/acme/private',
    );
  });

  it('selects, among a fan-out, only the mirrors whose refs match', () => {
    // Prepare
    const mainOnly = mirror('github.com/acme/api', 1, { refs: ['refs/heads/main'] });
    const tagsOnly = mirror('github.com/acme/api', 2, { refs: ['refs/tags/*'] });
    const everything = mirror('github.com/acme/api', 3);
    const index = buildMirrorIndex(configOf({ 'github.com': ['s'] }, [mainOnly, tagsOnly, everything]));

    // Act
    const selection = selectMirrors(index, push('github.com/acme/api', 'refs/tags/v1.2'), 's');

    // Assess
    expect(selection.mirrors).toEqual([tagsOnly, everything]);
  });
});
