import { describe, expect, it } from 'vitest';
import { compileSourcePattern, compileTargetTemplate } from '../../lib/config/patterns';
import type { MirrorConfig, MirrorTarget, PathMirror, WildcardMirror } from '../../lib/config/types';
import {
  buildMirrorIndex,
  candidateSecrets,
  candidateSecretsFor,
  effectiveSecrets,
  MAX_BODY_MACS,
  mirrorsFor,
  mirrorWantsRefs,
  pathMirrorsFor,
  refMatches,
  secretAuthorisesSource,
  selectMirrors,
  SHORT_BODY_CHARS,
} from '../../lib/config/mapping';
import type { Delivery, SourceClaim } from '../../lib/providers/types';

function mirror(source: string, repositoryId: number, options: { secrets?: string[]; refs?: string[] } = {}): MirrorTarget {
  return { source, repositoryId, secrets: options.secrets, refs: options.refs, forceFetch: true };
}

function configOf(
  webhooks: Record<string, string[]>,
  mirrors: MirrorTarget[],
  pathMirrors: PathMirror[] = [],
  wildcardMirrors: WildcardMirror[] = [],
): MirrorConfig {
  return { webhooks: new Map(Object.entries(webhooks)), mirrors, pathMirrors, wildcardMirrors, statusKey: undefined };
}

function pathMirror(source: string, target: string, options: { secrets?: string[]; refs?: string[] } = {}): PathMirror {
  return { source, target, secrets: options.secrets, refs: options.refs, forceFetch: true };
}

function wildcardMirror(pattern: string, target: string, options: { secrets?: string[]; refs?: string[]; username?: string } = {}): WildcardMirror {
  const compiledTarget = compileTargetTemplate(target);
  if ('problem' in compiledTarget) throw new Error(compiledTarget.problem);
  const compiledPattern = compileSourcePattern(pattern);
  return {
    pattern,
    host: compiledPattern.host,
    target,
    compiledPattern,
    compiledTarget,
    secrets: options.secrets,
    refs: options.refs,
    forceFetch: false,
    ...(options.username === undefined ? {} : { username: options.username, password: 'pw' }),
  };
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

  it.each(['GitHub.com/Acme/API', 'https://github.com/acme/api.git', 'github.com:443/acme/api'])(
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

describe('pathMirrorsFor', () => {
  const WEB = pathMirror('github.com/acme/web', 'acme-mirror/web');
  const ACME = wildcardMirror('github.com/acme/*', 'acme-mirror/{name}', { secrets: ['acme-own'], refs: ['refs/heads/main'], username: 'bot' });
  const DEEP = wildcardMirror('gitlab.example.com/group/*', 'mirror/{owner}/{name}');
  const EVERY = wildcardMirror('gitlab.example.com/*', 'all/{path}');
  const PATH_CONFIG = configOf(
    { 'github.com': ['github-secret'], 'gitlab.example.com': ['gl'] },
    [API, PRIVATE],
    [WEB, pathMirror('github.com/acme/api', 'acme-mirror/api-copy')],
    [ACME, DEEP, EVERY],
  );

  it('finds exact path mirrors, then the wildcard mirrors a source matches, expanded for it', () => {
    // Prepare
    const index = buildMirrorIndex(PATH_CONFIG);

    // Act
    const mirrors = pathMirrorsFor(index, 'github.com/acme/web');

    // Assess
    expect(mirrors).toEqual([
      WEB,
      {
        source: 'github.com/acme/web',
        target: 'acme-mirror/web',
        secrets: ['acme-own'],
        refs: ['refs/heads/main'],
        forceFetch: false,
        username: 'bot',
        password: 'pw',
        endpointUuid: undefined,
      },
    ]);
  });

  it('leaves id mirrors to mirrorsFor, unchanged', () => {
    // Prepare
    const index = buildMirrorIndex(PATH_CONFIG);

    // Act
    const byId = mirrorsFor(index, 'github.com/acme/api');
    const byPath = pathMirrorsFor(index, 'github.com/acme/api').map((mirror) => mirror.target);

    // Assess
    expect(byId).toEqual([API]);
    expect(byPath).toEqual(['acme-mirror/api-copy', 'acme-mirror/api']);
  });

  it.each([
    ['gitlab.example.com/group/sub/project', ['mirror/group/sub/project', 'all/group/sub/project']],
    ['gitlab.example.com/group/project', ['mirror/group/project', 'all/group/project']],
    ['gitlab.example.com/other/project', ['all/other/project']],
    ['GitLab.example.com/Group/Project.git', ['mirror/group/project', 'all/group/project']],
    ['github.com/acme/sub/repo', ['acme-mirror/repo']],
    ['github.com/other/repo', []],
    ['gitea.example.com/acme/repo', []],
  ])('expands the wildcards %s matches', (source, targets) => {
    // Prepare
    const index = buildMirrorIndex(PATH_CONFIG);

    // Act
    const mirrors = pathMirrorsFor(index, source);

    // Assess
    expect(mirrors.map((mirror) => mirror.target)).toEqual(targets);
  });

  it("applies a wildcard mirror's refs to every source it matches", () => {
    // Prepare
    const index = buildMirrorIndex(PATH_CONFIG);
    const [expanded] = pathMirrorsFor(index, 'github.com/acme/new-repo');

    // Act
    const wanted = [mirrorWantsRefs(expanded as PathMirror, [{ ref: 'refs/heads/main' }]), mirrorWantsRefs(expanded as PathMirror, [{ ref: 'refs/heads/dev' }])];

    // Assess
    expect(wanted).toEqual([true, false]);
  });

  it('stays a map lookup with 100,000 exact mirrors beside a few wildcards', () => {
    // Prepare
    const pathMirrors = Array.from({ length: 100_000 }, (_, i) => pathMirror(`git.example.com/team${i % 100}/repo${i}`, `m/repo${i}`));
    const index = buildMirrorIndex(configOf({ 'git.example.com': ['s'] }, [], pathMirrors, [wildcardMirror('git.example.com/team7/*', 'seven/{name}')]));

    // Act
    const started = performance.now();
    for (let i = 0; i < 10_000; i += 1) pathMirrorsFor(index, `git.example.com/team${i % 100}/repo${i}`);
    const elapsedMs = performance.now() - started;

    // Assess
    expect(pathMirrorsFor(index, 'git.example.com/team7/repo7').map((mirror) => mirror.target)).toEqual(['m/repo7', 'seven/repo7']);
    expect(pathMirrorsFor(index, 'git.example.com/team8/repo99908').map((mirror) => mirror.target)).toEqual(['m/repo99908']);
    expect(elapsedMs).toBeLessThan(1000);
  });
});

describe('secrets with path and wildcard mirrors', () => {
  const OWN_WILDCARD = wildcardMirror('github.com/acme/*', 'acme-mirror/{name}', { secrets: ['acme-own'] });
  const HOST_WILDCARD = wildcardMirror('gitlab.example.com/group/*', 'mirror/{name}');
  const OWN_PATH = pathMirror('gitea.example.com/a/b', 'g/b', { secrets: ['path-own'] });
  const SECRET_CONFIG = configOf({ 'github.com': ['github-secret'], 'gitlab.example.com': ['gl'] }, [API], [OWN_PATH], [OWN_WILDCARD, HOST_WILDCARD]);

  it('lists path and wildcard mirror secrets among the candidates', () => {
    // Prepare
    const index = buildMirrorIndex(SECRET_CONFIG);

    // Act
    const secrets = candidateSecrets(index);

    // Assess
    expect(secrets).toEqual(['github-secret', 'gl', 'path-own', 'acme-own']);
  });

  it("gives an expanded wildcard mirror the wildcard's own secret, or its host's", () => {
    // Prepare
    const index = buildMirrorIndex(SECRET_CONFIG);
    const [own] = pathMirrorsFor(index, 'github.com/acme/anything');
    const [viaHost] = pathMirrorsFor(index, 'gitlab.example.com/group/x');

    // Act
    const secrets = [effectiveSecrets(index, own as PathMirror), effectiveSecrets(index, viaHost as PathMirror)];

    // Assess
    expect(secrets).toEqual([['acme-own'], ['gl']]);
  });

  it.each([
    ["the wildcard's own secret, for a source it matches", 'acme-own', 'github.com/acme/anything', true],
    ['the host secret, for a source only a wildcard with its own secret matches', 'github-secret', 'github.com/acme/anything', false],
    ["the wildcard's own secret, for a source it does not match", 'acme-own', 'github.com/other/repo', false],
    ["the wildcard's own secret, for a source that also has an id mirror", 'acme-own', 'github.com/acme/api', true],
    ['the host secret, for that source', 'github-secret', 'github.com/acme/api', true],
    ['the host secret, for a source a host-secret wildcard matches', 'gl', 'gitlab.example.com/group/x', true],
    ["a path mirror's own secret", 'path-own', 'gitea.example.com/a/b', true],
    ["a path mirror's own secret, for another source", 'path-own', 'github.com/acme/api', false],
  ])('authorises %s: %s', (_, secret, source, authorised) => {
    // Prepare
    const index = buildMirrorIndex(SECRET_CONFIG);

    // Act
    const answer = secretAuthorisesSource(index, secret, source);

    // Assess
    expect(answer).toBe(authorised);
  });

  it('builds an index from a config that only has webhooks and id mirrors', () => {
    // Prepare
    const handMade = { webhooks: new Map([['github.com', ['s']]]), mirrors: [API] };

    // Act
    const index = buildMirrorIndex(handMade);

    // Assess
    expect(mirrorsFor(index, 'github.com/acme/api')).toEqual([API]);
    expect(pathMirrorsFor(index, 'github.com/acme/api')).toEqual([]);
    expect(secretAuthorisesSource(index, 's', 'github.com/acme/api')).toBe(true);
  });
});

describe('candidateSecretsFor', () => {
  const LARGE: Delivery = { headers: {}, bodyText: 'x'.repeat(SHORT_BODY_CHARS + 1), rawBody: Buffer.alloc(0), now: 0 };
  const claiming = (claim: SourceClaim) => ({ claimSource: () => claim });
  const bodyMac = (host: string | undefined, ...sources: string[]): SourceClaim => ({ scheme: 'body-mac', host, sources });
  /** 1,000 mirrors, each with its own secret, and two path and wildcard mirrors with theirs. */
  const MANY = configOf(
    { 'github.com': ['gh-host'], 'gitlab.example.com': ['gl-host'] },
    Array.from({ length: 1000 }, (_, i) => mirror(`github.com/acme/repo${i}`, i + 1, { secrets: [`own-${i}`] })),
    [pathMirror('github.com/acme/repo500', 'mirrors/repo500', { secrets: ['path-500'] })],
    [
      wildcardMirror('github.com/acme/*', 'acme/{name}', { secrets: ['acme-wild'] }),
      wildcardMirror('gitlab.example.com/*', 'gl/{name}', { secrets: ['gl-wild'] }),
    ],
  );

  it("tries the claimed source's secrets: its host's, then its mirrors' by id, path and wildcard", () => {
    // Prepare
    const index = buildMirrorIndex(MANY);

    // Act
    const secrets = candidateSecretsFor(index, claiming(bodyMac('github.com', 'github.com/acme/repo500')), LARGE);

    // Assess
    expect(secrets.slice(0, 4)).toEqual(['gh-host', 'own-500', 'path-500', 'acme-wild']);
    expect(secrets).toHaveLength(MAX_BODY_MACS);
  });

  it('tries at most MAX_BODY_MACS secrets, however many sources the body claims', () => {
    // Prepare
    const index = buildMirrorIndex(MANY);
    const sources = Array.from({ length: 100 }, (_, i) => `github.com/acme/repo${i}`);

    // Act
    const secrets = candidateSecretsFor(index, claiming(bodyMac('github.com', ...sources)), LARGE);

    // Assess
    expect(secrets).toEqual(['gh-host', 'own-0', 'acme-wild', 'own-1', 'own-2', 'own-3', 'own-4', 'own-5']);
  });

  it('without a claimed source, tries the host secrets and its wildcards first, then the rest in config order', () => {
    // Prepare
    const index = buildMirrorIndex(MANY);

    // Act
    const onHost = candidateSecretsFor(index, claiming(bodyMac('gitlab.example.com')), LARGE);
    const nowhere = candidateSecretsFor(index, claiming(bodyMac(undefined)), LARGE);

    // Assess
    expect(onHost).toEqual(['gl-host', 'gl-wild', 'gh-host', 'own-0', 'own-1', 'own-2', 'own-3', 'own-4']);
    expect(nowhere).toEqual(candidateSecrets(index).slice(0, MAX_BODY_MACS));
  });

  it('tries every secret of a config with no more than MAX_BODY_MACS, without searching the body', () => {
    // Prepare
    const index = buildMirrorIndex(CONFIG);
    const searched: Delivery[] = [];
    const provider = { claimSource: (delivery: Delivery) => (searched.push(delivery), bodyMac('github.com', 'github.com/acme/private')) };

    // Act
    const secrets = candidateSecretsFor(index, provider, LARGE);

    // Assess
    expect(secrets).toBe(candidateSecrets(index));
    expect(secrets).toEqual(['github-secret', 'gl-new', 'gl-old', 'private-new', 'private-old']);
    expect(searched).toEqual([]);
  });

  it('tries every secret on a token scheme, and on a body short enough to MAC cheaply', () => {
    // Prepare
    const index = buildMirrorIndex(MANY);
    const short: Delivery = { ...LARGE, bodyText: '{"test":true}' };

    // Act
    const byToken = candidateSecretsFor(index, claiming({ scheme: 'token' }), LARGE);
    const byShortBody = candidateSecretsFor(index, claiming(bodyMac(undefined)), short);

    // Assess
    expect(byToken).toBe(candidateSecrets(index));
    expect(byShortBody).toBe(candidateSecrets(index));
  });
});
