import { describe, expect, it } from 'vitest';
import { loadYamlParser, parseMirrorConfig } from '../../lib/config/load';
import { configError } from '../support/config-error';

const parseYaml = await loadYamlParser();
const CANARY = 'S3CRET-canary-77d0';

/** A JSON config with one mirror (`mirror`) and a github.com host secret. */
function withMirror(mirror: Record<string, unknown>): string {
  return JSON.stringify({ webhooks: { 'github.com': { secret: 's' } }, mirrors: [mirror] });
}

describe('parseMirrorConfig: target instead of repository_id', () => {
  it('reads a path mirror, keeping the path as written', () => {
    // Prepare
    const text = withMirror({ source: 'GitHub.com/Acme/Web.git', target: ' Acme-Mirror/sub.group/Web_1 ', refs: ['refs/heads/main'] });

    // Act
    const { config, warnings } = parseMirrorConfig(text, {});

    // Assess
    expect(config.mirrors).toEqual([]);
    expect(config.pathMirrors).toEqual([
      { source: 'github.com/acme/web', target: 'Acme-Mirror/sub.group/Web_1', secrets: undefined, refs: ['refs/heads/main'], forceFetch: true },
    ]);
    expect(config.wildcardMirrors).toEqual([]);
    expect(warnings).toEqual([]);
  });

  it('expands placeholders of an exact source at load', () => {
    // Prepare
    const text = withMirror({ source: 'gitlab.example.com/group/sub/project', target: 'mirror/{owner}/{name}' });

    // Act
    const { config } = parseMirrorConfig(text, {});

    // Assess
    expect(config.pathMirrors[0]?.target).toBe('mirror/group/sub/project');
  });

  it.each([
    ['neither', { source: 'github.com/a/b' }, 'mirrors[0].repository_id', /is required \(or target/],
    ['both', { source: 'github.com/a/b', repository_id: 1, target: 'g/b' }, 'mirrors[0].target', /cannot be combined with repository_id/],
    ['a target that is a number', { source: 'github.com/a/b', target: 7 }, 'mirrors[0].target', /got a number/],
    ['a target without a group', { source: 'github.com/a/b', target: 'name-only' }, 'mirrors[0].target', /group\/name/],
    ['a target with an unknown placeholder', { source: 'github.com/a/b', target: 'g/{repo}' }, 'mirrors[0].target', /unknown placeholder/],
    ['a target with a space', { source: 'github.com/a/b', target: 'g/my repo' }, 'mirrors[0].target', /group\/name/],
    ['a placeholder expanding to a bad path', { source: 'github.com/a/b~c', target: 'g/{name}' }, 'mirrors[0].target', /expands/],
  ])('rejects %s, naming the field', (_, mirror, field, message) => {
    // Act
    const error = configError(() => parseMirrorConfig(withMirror(mirror), {}));

    // Assess
    expect(error.field).toBe(field);
    expect(error.message).toMatch(message);
  });

  it('allows the same source by id and by path (fan-out) but not the same target twice', () => {
    // Prepare
    const text = JSON.stringify({
      webhooks: { 'github.com': { secret: 's' } },
      mirrors: [
        { source: 'github.com/a/b', repository_id: 1 },
        { source: 'github.com/a/b', target: 'g/b' },
        { source: 'https://GitHub.com/a/b.git', target: 'g/b' },
      ],
    });

    // Act
    const error = configError(() => parseMirrorConfig(text, {}));

    // Assess
    expect(error.field).toBe('mirrors[2]');
    expect(error.message).toBe('invalid config at mirrors[2]: repeats the source and target of mirrors[1]');
  });
});

describe('parseMirrorConfig: wildcard sources', () => {
  it('reads a wildcard mirror with its compiled pattern and template', () => {
    // Prepare
    const text = `
webhooks:
  github.com: { secret: s }
mirrors:
  - source: GitHub.com/Acme/*
    target: acme-mirror/{name}
    secret: own
    refs: [refs/heads/main]
    force_fetch: false
`;

    // Act
    const { config, warnings } = parseMirrorConfig(text, {}, parseYaml);

    // Assess
    expect(config.wildcardMirrors).toEqual([
      {
        pattern: 'github.com/acme/*',
        host: 'github.com',
        target: 'acme-mirror/{name}',
        compiledPattern: { host: 'github.com', pieces: [['acme'], []] },
        compiledTarget: ['acme-mirror/', { placeholder: 'name' }],
        secrets: ['own'],
        refs: ['refs/heads/main'],
        forceFetch: false,
      },
    ]);
    expect(config.mirrors).toEqual([]);
    expect(config.pathMirrors).toEqual([]);
    expect(warnings).toEqual([expect.stringMatching(/^webhooks\["github.com"\] is used by no mirror/)]);
  });

  it.each([
    ['with repository_id', { source: 'github.com/acme/*', repository_id: 1 }, 'mirrors[0].repository_id', /wildcard source: set target/],
    ['without target', { source: 'github.com/acme/*' }, 'mirrors[0].target', /required for a wildcard source/],
    ['with * inside a segment', { source: 'github.com/acme/api-*', target: 'g/{name}' }, 'mirrors[0].source', /whole path segment/],
    ['with **', { source: 'github.com/acme/**', target: 'g/{name}' }, 'mirrors[0].source', /whole path segment/],
    ['with * in the host', { source: '*.github.com/acme/*', target: 'g/{name}' }, 'mirrors[0].source', /name its host/],
    ['with * as the host', { source: '*/acme/api', target: 'g/{name}' }, 'mirrors[0].source', /name its host/],
  ])('rejects a wildcard source %s', (_, mirror, field, message) => {
    // Act
    const error = configError(() => parseMirrorConfig(withMirror(mirror), {}));

    // Assess
    expect(error.field).toBe(field);
    expect(error.message).toMatch(message);
  });

  it('accepts a wildcard for a whole host and warns about a target without placeholder', () => {
    // Prepare
    const text = withMirror({ source: 'github.com/*', target: 'all/in-one' });

    // Act
    const { config, warnings } = parseMirrorConfig(text, {});

    // Assess
    expect(config.wildcardMirrors[0]?.pattern).toBe('github.com/*');
    expect(warnings).toEqual([expect.stringMatching(/^mirrors\[0\] \(github\.com\/\*\) has a target without a placeholder/)]);
  });

  it('warns about a wildcard mirror that no secret can reach', () => {
    // Prepare
    const text = JSON.stringify({ mirrors: [{ source: 'git.example.com/team/*', target: 'm/{name}' }] });

    // Act
    const { warnings } = parseMirrorConfig(text, {});

    // Assess
    expect(warnings).toEqual([
      'mirrors[0] (git.example.com/team/*) has no secret: neither its own secret nor webhooks["git.example.com"]; its deliveries will be rejected',
    ]);
  });

  it('rejects the same pattern and target twice', () => {
    // Prepare
    const text = JSON.stringify({
      webhooks: { 'github.com': { secret: 's' } },
      mirrors: [
        { source: 'github.com/acme/*', target: 'm/{name}' },
        { source: 'github.com/acme/*', target: 'n/{name}' },
        { source: 'GITHUB.com/acme/*', target: 'm/{name}' },
      ],
    });

    // Act
    const error = configError(() => parseMirrorConfig(text, {}));

    // Assess
    expect(error.field).toBe('mirrors[2]');
  });

  it('names positions in the config whatever the kind of the mirrors before', () => {
    // Prepare
    const text = JSON.stringify({
      mirrors: [
        { source: 'github.com/a/b', repository_id: 1, secret: 'x' },
        { source: 'github.com/a/*', target: 'm/{name}', secret: 'x' },
        { source: 'git.example.com/a/b', target: 'm/b' },
      ],
    });

    // Act
    const { warnings } = parseMirrorConfig(text, {});

    // Assess
    expect(warnings).toEqual([expect.stringMatching(/^mirrors\[2\] \(git\.example\.com\/a\/b\) has no secret/)]);
  });
});

describe('parseMirrorConfig: status', () => {
  it('reads status.key from the environment', () => {
    // Prepare
    const text = JSON.stringify({ mirrors: [], status: { key: 'env:STATUS_KEY' } });

    // Act
    const { config } = parseMirrorConfig(text, { STATUS_KEY: CANARY });

    // Assess
    expect(config.statusKey).toBe(CANARY);
  });

  it('leaves statusKey undefined without status', () => {
    // Act
    const { config } = parseMirrorConfig('{"mirrors": []}', {});

    // Assess
    expect(config.statusKey).toBeUndefined();
  });

  it.each([
    ['a string', { status: 'key' }, 'status', /must be a mapping/],
    ['no key', { status: {} }, 'status.key', /is required/],
    ['an unknown key', { status: { key: 'k', token: 'x' } }, 'status.token', /unknown key/],
    ['an unset variable', { status: { key: 'env:NOPE' } }, 'status.key', /NOPE, which is not set/],
    ['a number', { status: { key: 5 } }, 'status.key', /quote it/],
  ])('rejects status with %s', (_, extra, field, message) => {
    // Act
    const error = configError(() => parseMirrorConfig(JSON.stringify({ mirrors: [], ...extra }), {}));

    // Assess
    expect(error.field).toBe(field);
    expect(error.message).toMatch(message);
  });

  it('does not count the status key among webhook secrets', () => {
    // Prepare
    const text = JSON.stringify({ mirrors: [{ source: 'github.com/a/b', repository_id: 1 }], status: { key: 'k' } });

    // Act
    const { config, warnings } = parseMirrorConfig(text, {});

    // Assess
    expect(config.webhooks.size).toBe(0);
    expect(warnings).toEqual([expect.stringMatching(/has no secret/)]);
  });
});
