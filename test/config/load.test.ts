import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { loadMirrorConfig, loadYamlParser, parseMirrorConfig, type Environment } from '../../lib/config/load';
import { ConfigError, ErrorCodes } from '../../lib/errors';
import { configError, configErrorAsync } from '../support/config-error';

const parseYaml = await loadYamlParser();
const EXAMPLE_FILE = fileURLToPath(new URL('../../mirrors.example.yml', import.meta.url));

/** A value no error message may ever contain. */
const CANARY = 'S3CRET-canary-9f2c';
const ENV: Environment = {
  GITHUB_WEBHOOK_SECRET: `${CANARY}-github`,
  GL_TOKEN: `${CANARY}-gl-new`,
  GL_OLD_TOKEN: `${CANARY}-gl-old`,
  PRIVATE_HOOK_SECRET: `${CANARY}-private`,
  SRC_USER: `${CANARY}-user`,
  SRC_TOKEN: `${CANARY}-token`,
  EMPTY: '',
};

/** A JSON config with one valid mirror, `mirror` merged into it. */
function withMirror(mirror: Record<string, unknown>, webhooks: Record<string, unknown> = {}): string {
  return JSON.stringify({ webhooks, mirrors: [{ source: 'github.com/acme/api', repository_id: 2111, ...mirror }] });
}

const CONTRACT_YAML = `
webhooks:
  github.com: { secret: env:GITHUB_WEBHOOK_SECRET }
  gitlab.example.com: { secret: [env:GL_TOKEN, env:GL_OLD_TOKEN, "whsec_literal"] }
mirrors:
  - source: github.com/acme/api
    repository_id: 2111
  - source: github.com/acme/private
    repository_id: 2112
    secret: env:PRIVATE_HOOK_SECRET
    refs: ["refs/heads/main", "refs/tags/*"]
    force_fetch: false
    username: env:SRC_USER
    password: env:SRC_TOKEN
  - source: gitlab.example.com/group/sub/project
    repository_id: 2113
    endpoint_uuid: "0f5c3e8a9b7d4c21a3e6f1b2c4d5e6f7"
`;

describe('parseMirrorConfig', () => {
  it('reads the documented YAML shape into resolved, normalised mirrors', () => {
    // Prepare
    const text = CONTRACT_YAML;

    // Act
    const { config, warnings } = parseMirrorConfig(text, ENV, parseYaml);

    // Assess
    expect([...config.webhooks]).toEqual([
      ['github.com', [ENV['GITHUB_WEBHOOK_SECRET']]],
      ['gitlab.example.com', [ENV['GL_TOKEN'], ENV['GL_OLD_TOKEN'], 'whsec_literal']],
    ]);
    expect(config.mirrors).toEqual([
      { source: 'github.com/acme/api', repositoryId: 2111, secrets: undefined, refs: undefined, forceFetch: true },
      {
        source: 'github.com/acme/private',
        repositoryId: 2112,
        secrets: [ENV['PRIVATE_HOOK_SECRET']],
        refs: ['refs/heads/main', 'refs/tags/*'],
        forceFetch: false,
        username: ENV['SRC_USER'],
        password: ENV['SRC_TOKEN'],
      },
      {
        source: 'gitlab.example.com/group/sub/project',
        repositoryId: 2113,
        secrets: undefined,
        refs: undefined,
        forceFetch: true,
        endpointUuid: '0f5c3e8a9b7d4c21a3e6f1b2c4d5e6f7',
      },
    ]);
    expect(warnings).toEqual([]);
  });

  it('reads the same config written as JSON', () => {
    // Prepare
    const data = parseYaml(CONTRACT_YAML);
    const json = JSON.stringify(data, null, 2);

    // Act
    const fromJson = parseMirrorConfig(json, ENV);
    const fromYaml = parseMirrorConfig(CONTRACT_YAML, ENV, parseYaml);

    // Assess
    expect(fromJson).toEqual(fromYaml);
  });

  it('parses JSON without ever calling the YAML parser', () => {
    // Prepare
    const json = `\uFEFF \n\t${withMirror({}, { 'github.com': { secret: 'whsec_x' } })}`;
    const throwingYaml = vi.fn((): unknown => {
      throw new Error('the YAML parser must not be needed for JSON');
    });

    // Act
    const { config } = parseMirrorConfig(json, {}, throwingYaml);

    // Assess
    expect(config.mirrors).toHaveLength(1);
    expect(throwingYaml).not.toHaveBeenCalled();
  });

  it('rejects YAML text when no YAML parser is given', () => {
    // Prepare
    const text = 'mirrors: []\n';

    // Act
    const error = configError(() => parseMirrorConfig(text, {}));

    // Assess
    expect(error.field).toBe('MIRROR_CONFIG');
    expect(error.message).toMatch(/no YAML parser/);
  });

  it('rejects broken JSON with its position but without quoting the text', () => {
    // Prepare
    const text = `{\n  "webhooks": { "github.com": { "secret": "${CANARY}" } }\n  "mirrors": []\n}`;

    // Act
    const error = configError(() => parseMirrorConfig(text, {}));

    // Assess
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.code).toBe(ErrorCodes.CONFIG_INVALID);
    expect(error.field).toBe('MIRROR_CONFIG');
    expect(error.message).toMatch(/not valid JSON at line 3, column 3 /);
    expect(error.message).not.toContain(CANARY);
  });

  it('rejects broken YAML with its position but without quoting the line', () => {
    // Prepare
    const text = `webhooks:\n  github.com:\n    secret: ${CANARY}: nested\nmirrors: []\n`;

    // Act
    const error = configError(() => parseMirrorConfig(text, {}, parseYaml));

    // Assess
    expect(error.field).toBe('MIRROR_CONFIG');
    expect(error.message).toMatch(/not valid YAML at line 3, column \d+ \([A-Z_]+\)/);
    expect(error.message).not.toContain(CANARY);
  });

  it.each([
    ['a duplicate key', 'mirrors: []\nmirrors: []\n', 'DUPLICATE_KEY'],
    ['an unresolved tag, which YAML would only warn about', 'mirrors:\n  - source: !env X\n', 'TAG_RESOLVE_FAILED'],
    ['several documents', 'mirrors: []\n---\nmirrors: []\n', 'MULTIPLE_DOCS'],
  ])('rejects YAML with %s', (_, text, code) => {
    // Act
    const error = configError(() => parseMirrorConfig(text, {}, parseYaml));

    // Assess
    expect(error.field).toBe('MIRROR_CONFIG');
    expect(error.message).toContain(`(${code})`);
  });

  it.each([
    ['a list', '- source: github.com/a/b\n'],
    ['a scalar', 'just text\n'],
    ['empty text', '\n# nothing\n'],
  ])('rejects a document that is %s instead of a mapping', (_, text) => {
    // Act
    const error = configError(() => parseMirrorConfig(text, {}, parseYaml));

    // Assess
    expect(error.field).toBe('MIRROR_CONFIG');
    expect(error.message).toMatch(/must be a mapping/);
  });

  it('tells a YAML flow mapping apart from broken JSON in the message', () => {
    // Prepare
    const text = '{mirrors: []}';

    // Act
    const error = configError(() => parseMirrorConfig(text, {}, parseYaml));

    // Assess
    expect(error.message).toMatch(/read as JSON; write YAML in block style/);
  });

  it.each([
    ['at the top level', '{"mirrors": [], "mirror": []}', 'mirror'],
    ['in a webhooks entry', '{"webhooks": {"github.com": {"secret": "x", "secrets": "y"}}, "mirrors": []}', 'webhooks["github.com"].secrets'],
    ['in a mirror', withMirror({ repositry_id: 1 }), 'mirrors[0].repositry_id'],
    ['with a name that is not an identifier', withMirror({ 'force-fetch': true }), 'mirrors[0]["force-fetch"]'],
    ['named constructor', withMirror({ constructor: 1 }), 'mirrors[0].constructor'],
  ])('rejects an unknown key %s and names it', (_, text, field) => {
    // Act
    const error = configError(() => parseMirrorConfig(text, {}));

    // Assess
    expect(error.field).toBe(field);
    expect(error.message).toContain(`invalid config at ${field}: unknown key`);
  });

  it.each([
    ['JSON at the top level', '{"mirrors": [], "__proto__": {"polluted": true}}', undefined, '__proto__'],
    ['JSON in a mirror', withMirror({}).replace('"source"', '"__proto__":{"polluted":true},"source"'), undefined, 'mirrors[0].__proto__'],
    ['YAML in a mirror', 'mirrors:\n  - __proto__: { polluted: true }\n    source: github.com/a/b\n', parseYaml, 'mirrors[0].__proto__'],
    ['YAML as a webhook host', 'webhooks:\n  __proto__: { secret: x }\nmirrors: []\n', parseYaml, 'webhooks["__proto__"]'],
  ])('rejects a __proto__ key in %s without polluting Object.prototype', (_, text, parser, field) => {
    // Act
    const error = configError(() => parseMirrorConfig(text, {}, parser));

    // Assess
    expect(error.field).toBe(field);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  it('requires mirrors', () => {
    // Act
    const error = configError(() => parseMirrorConfig('{"webhooks": {}}', {}));

    // Assess
    expect(error.field).toBe('mirrors');
    expect(error.message).toMatch(/is required/);
  });

  it.each([
    ['null (an empty YAML key)', 'mirrors:\n', 'mirrors'],
    ['a mapping', 'mirrors: { source: github.com/a/b }\n', 'mirrors'],
    ['null webhooks', 'webhooks:\nmirrors: []\n', 'webhooks'],
    ['a list of webhooks', 'webhooks: [github.com]\nmirrors: []\n', 'webhooks'],
    ['a mirror that is a string', 'mirrors: [github.com/a/b]\n', 'mirrors[0]'],
  ])('rejects %s and names the field', (_, text, field) => {
    // Act
    const error = configError(() => parseMirrorConfig(text, {}, parseYaml));

    // Assess
    expect(error.field).toBe(field);
  });

  it('allows an empty mirrors list and warns about it', () => {
    // Act
    const { config, warnings } = parseMirrorConfig('{"mirrors": []}', {});

    // Assess
    expect(config.mirrors).toEqual([]);
    expect(config.webhooks.size).toBe(0);
    expect(warnings).toEqual([expect.stringMatching(/mirrors is empty/)]);
  });

  describe('repository_id', () => {
    it.each([
      ['missing', { repository_id: undefined }, /is required/],
      ['a numeric string', { repository_id: '2111' }, /got a string/],
      ['zero', { repository_id: 0 }, /out of range/],
      ['negative', { repository_id: -5 }, /out of range/],
      ['above 2147483647', { repository_id: 2_147_483_648 }, /out of range/],
      ['a fraction', { repository_id: 21.5 }, /got a fraction/],
      ['null', { repository_id: null }, /got null/],
      ['a boolean', { repository_id: true }, /got a boolean/],
    ])('rejects a repository_id that is %s', (_, mirror, message) => {
      // Act
      const error = configError(() => parseMirrorConfig(withMirror(mirror), {}));

      // Assess
      expect(error.field).toBe('mirrors[0].repository_id');
      expect(error.message).toMatch(message);
    });

    it.each([1, 2_147_483_647])('accepts %i', (repositoryId) => {
      // Act
      const { config } = parseMirrorConfig(withMirror({ repository_id: repositoryId, secret: 'x' }), {});

      // Assess
      expect(config.mirrors[0]?.repositoryId).toBe(repositoryId);
    });
  });

  describe('source', () => {
    it.each([
      ['missing', undefined, /is required/],
      ['a number', 42, /got a number/],
      ['empty', '  ', /host\/path/],
      ['a bare host', 'github.com', /host\/path/],
      ['a host and one segment', 'github.com/acme', /owner\/name/],
      ['an empty segment', 'github.com/acme//api', /host\/path/],
      ['a path with spaces', 'github.com/acme/my api', /host\/path/],
      ['a query', 'github.com/acme/api?x=1', /host\/path/],
      ['a malformed %-escape', 'github.com/acme/%zz', /host\/path/],
      ['a __proto__ host', '__proto__/acme/api', /host\/path/],
      ['a scp-style address', 'git@github.com:acme/api.git', /credentials/],
      ['a trailing slash', 'github.com/acme/api/', /empty path segment/],
      ['a dot-dot segment', 'github.com/other/../acme/api', /\. or \.\. path segment/],
      ['a %-escaped letter', 'github.com/acme/%61pi', /%-escape of a letter/],
      ['a %-escaped slash', 'github.com/acme%2Fapi', /%/],
      ['a fragment', 'github.com/acme/api#x', /host\/path/],
      ['a backslash', 'github.com/acme\\api', /host\/path/],
      ['a control character', 'github.com/acme/api\u0000', /host\/path/],
    ])('rejects a source that is %s', (_, source, message) => {
      // Act
      const error = configError(() => parseMirrorConfig(withMirror({ source }), {}));

      // Assess
      expect(error.field).toBe('mirrors[0].source');
      expect(error.message).toMatch(message);
    });

    it('rejects credentials in a source without repeating them', () => {
      // Prepare
      const source = `https://bot:${CANARY}@github.com/acme/api`;

      // Act
      const error = configError(() => parseMirrorConfig(withMirror({ source }), {}));

      // Assess
      expect(error.field).toBe('mirrors[0].source');
      expect(error.message).not.toContain(CANARY);
    });

    it.each([
      ['GitHub.com/Acme/API', 'github.com/acme/api'],
      ['https://github.com/acme/api.git', 'github.com/acme/api'],
      ['git.example.com:443/group/sub/project', 'git.example.com/group/sub/project'],
      ['bitbucket.example.com:7990/PROJ/service', 'bitbucket.example.com:7990/proj/service'],
    ])('normalises %s to %s', (source, identity) => {
      // Act
      const { config } = parseMirrorConfig(withMirror({ source, secret: 'x' }), {});

      // Assess
      expect(config.mirrors[0]?.source).toBe(identity);
    });
  });

  describe('refs', () => {
    it.each([
      ['a string', 'refs/heads/main', 'mirrors[0].refs'],
      ['an empty list', [], 'mirrors[0].refs'],
      ['null', null, 'mirrors[0].refs'],
      ['a list with a number', ['refs/heads/main', 7], 'mirrors[0].refs[1]'],
      ['a list with an empty string', [''], 'mirrors[0].refs[0]'],
      ['a list with a short branch name', ['refs/tags/*', 'main'], 'mirrors[0].refs[1]'],
    ])('rejects refs that are %s', (_, refs, field) => {
      // Act
      const error = configError(() => parseMirrorConfig(withMirror({ refs }), {}));

      // Assess
      expect(error.field).toBe(field);
    });

    it('keeps the patterns as written', () => {
      // Act
      const { config } = parseMirrorConfig(withMirror({ refs: ['refs/heads/release-(1.0)', 'refs/tags/*'], secret: 'x' }), {});

      // Assess
      expect(config.mirrors[0]?.refs).toEqual(['refs/heads/release-(1.0)', 'refs/tags/*']);
    });
  });

  describe('force_fetch', () => {
    it.each([
      ['the string "yes"', 'yes'],
      ['the number 1', 1],
      ['null', null],
    ])('rejects %s', (_, forceFetch) => {
      // Act
      const error = configError(() => parseMirrorConfig(withMirror({ force_fetch: forceFetch }), {}));

      // Assess
      expect(error.field).toBe('mirrors[0].force_fetch');
      expect(error.message).toMatch(/true or false/);
    });

    it('defaults to true and keeps false', () => {
      // Prepare
      const text = JSON.stringify({
        webhooks: { 'github.com': { secret: 'x' } },
        mirrors: [
          { source: 'github.com/a/one', repository_id: 1 },
          { source: 'github.com/a/two', repository_id: 2, force_fetch: false },
        ],
      });

      // Act
      const { config } = parseMirrorConfig(text, {});

      // Assess
      expect(config.mirrors.map((mirror) => mirror.forceFetch)).toEqual([true, false]);
    });
  });

  describe('source credentials', () => {
    it.each([
      ['username without password', { username: 'bot' }, 'mirrors[0].password', /required when username is set/],
      ['password without username', { password: 'pw' }, 'mirrors[0].username', /required when password is set/],
      [
        'endpoint_uuid with username and password',
        { username: 'bot', password: 'pw', endpoint_uuid: 'e-1' },
        'mirrors[0].endpoint_uuid',
        /cannot be combined/,
      ],
      ['an empty username', { username: '', password: 'pw' }, 'mirrors[0].username', /must not be empty/],
      ['a numeric password', { username: 'bot', password: 1234 }, 'mirrors[0].password', /quote it/],
    ])('rejects %s', (_, mirror, field, message) => {
      // Act
      const error = configError(() => parseMirrorConfig(withMirror(mirror), {}));

      // Assess
      expect(error.field).toBe(field);
      expect(error.message).toMatch(message);
    });

    it('accepts an endpoint_uuid alone, from the environment', () => {
      // Act
      const { config } = parseMirrorConfig(withMirror({ endpoint_uuid: 'env:ENDPOINT', secret: 'x' }), {
        ENDPOINT: 'uuid-1',
      });

      // Assess
      expect(config.mirrors[0]?.endpointUuid).toBe('uuid-1');
      expect(config.mirrors[0]?.username).toBeUndefined();
    });
  });

  describe('secrets', () => {
    it.each([
      ['a number', 1234, 'mirrors[0].secret', /got a number/],
      ['an empty string', '', 'mirrors[0].secret', /must not be empty/],
      ['an empty list', [], 'mirrors[0].secret', /at least one/],
      ['null', null, 'mirrors[0].secret', /got null/],
      ['a mapping', { value: 'x' }, 'mirrors[0].secret', /got a mapping/],
      ['a list holding a number', ['ok', 5], 'mirrors[0].secret[1]', /got a number/],
      ['a malformed env reference', 'env:1BAD', 'mirrors[0].secret', /env:NAME/],
      ['a bare env: prefix', 'env:', 'mirrors[0].secret', /env:NAME/],
    ])('rejects a secret that is %s', (_, secret, field, message) => {
      // Act
      const error = configError(() => parseMirrorConfig(withMirror({ secret }), {}));

      // Assess
      expect(error.field).toBe(field);
      expect(error.message).toMatch(message);
    });

    it('resolves env:NAME references and keeps literals', () => {
      // Prepare
      const text = withMirror({ secret: ['env:GL_TOKEN', 'whsec_literal', 'env:GL_OLD_TOKEN'] });

      // Act
      const { config } = parseMirrorConfig(text, ENV);

      // Assess
      expect(config.mirrors[0]?.secrets).toEqual([ENV['GL_TOKEN'], 'whsec_literal', ENV['GL_OLD_TOKEN']]);
    });

    it('drops repeated secrets in a rotation list', () => {
      // Act
      const { config } = parseMirrorConfig(withMirror({ secret: ['a', 'env:A', 'b'] }), { A: 'a' });

      // Assess
      expect(config.mirrors[0]?.secrets).toEqual(['a', 'b']);
    });

    it.each([
      ['an unset variable', withMirror({ secret: ['x', 'env:MISSING'] }), 'mirrors[0].secret[1]', 'MISSING', /not set/],
      ['an empty variable', withMirror({ secret: 'env:EMPTY' }), 'mirrors[0].secret', 'EMPTY', /empty/],
      ['an unset username', withMirror({ username: 'env:NO_USER', password: 'x' }), 'mirrors[0].username', 'NO_USER', /not set/],
      ['an unset password', withMirror({ username: 'x', password: 'env:NO_PW' }), 'mirrors[0].password', 'NO_PW', /not set/],
      ['an unset endpoint', withMirror({ endpoint_uuid: 'env:NO_EP' }), 'mirrors[0].endpoint_uuid', 'NO_EP', /not set/],
      [
        'an unset host secret',
        withMirror({}, { 'gitlab.example.com': { secret: ['env:GL_TOKEN', 'env:GL_NEXT'] } }),
        'webhooks["gitlab.example.com"].secret[1]',
        'GL_NEXT',
        /not set/,
      ],
    ])('rejects a reference to %s, naming the field and the variable', (_, text, field, variable, message) => {
      // Act
      const error = configError(() => parseMirrorConfig(text, ENV));

      // Assess
      expect(error.field).toBe(field);
      expect(error.message).toContain(`environment variable ${variable}`);
      expect(error.message).toMatch(message);
    });
  });

  describe('webhooks', () => {
    it.each([
      ['GitHub.com', 'github.com'],
      ['git.example.com:443', 'git.example.com'],
      ['git.example.com:8443', 'git.example.com:8443'],
      [' Gitee.COM ', 'gitee.com'],
    ])('normalises the host key %s to %s', (key, host) => {
      // Act
      const { config } = parseMirrorConfig(JSON.stringify({ webhooks: { [key]: { secret: 's' } }, mirrors: [] }), {});

      // Assess
      expect([...config.webhooks.keys()]).toEqual([host]);
    });

    it('rejects two keys for the same host, naming the second', () => {
      // Prepare
      const text = JSON.stringify({ webhooks: { 'github.com': { secret: 'a' }, 'GitHub.com:443': { secret: 'b' } }, mirrors: [] });

      // Act
      const error = configError(() => parseMirrorConfig(text, {}));

      // Assess
      expect(error.field).toBe('webhooks["GitHub.com:443"]');
      expect(error.message).toContain('same host as webhooks["github.com"]');
    });

    it.each([
      ['https://github.com'],
      ['github.com/acme'],
      ['user@github.com'],
      ['git_host'],
      ['host:notaport'],
      [''],
    ])('rejects the host key %j', (key) => {
      // Act
      const error = configError(() => parseMirrorConfig(JSON.stringify({ webhooks: { [key]: { secret: 's' } }, mirrors: [] }), {}));

      // Assess
      expect(error.field).toBe(`webhooks[${JSON.stringify(key)}]`);
      expect(error.message).toMatch(/host name/);
    });

    it.each([
      ['a bare secret instead of a mapping', { 'github.com': 'whsec' }, 'webhooks["github.com"]'],
      ['a mapping without secret', { 'github.com': {} }, 'webhooks["github.com"].secret'],
      ['an empty secret list', { 'github.com': { secret: [] } }, 'webhooks["github.com"].secret'],
    ])('rejects %s', (_, webhooks, field) => {
      // Act
      const error = configError(() => parseMirrorConfig(JSON.stringify({ webhooks, mirrors: [] }), {}));

      // Assess
      expect(error.field).toBe(field);
    });
  });

  describe('mirrors', () => {
    it('keeps two mirrors of the same source (fan-out), in order', () => {
      // Prepare
      const text = JSON.stringify({
        webhooks: { 'github.com': { secret: 's' } },
        mirrors: [
          { source: 'github.com/acme/api', repository_id: 1 },
          { source: 'GitHub.com/acme/API.git', repository_id: 2 },
        ],
      });

      // Act
      const { config } = parseMirrorConfig(text, {});

      // Assess
      expect(config.mirrors.map((mirror) => [mirror.source, mirror.repositoryId])).toEqual([
        ['github.com/acme/api', 1],
        ['github.com/acme/api', 2],
      ]);
    });

    it('rejects a repeated source and repository_id pair, however the source is written', () => {
      // Prepare
      const text = JSON.stringify({
        webhooks: { 'github.com': { secret: 's' } },
        mirrors: [
          { source: 'github.com/acme/api', repository_id: 1 },
          { source: 'github.com/acme/web', repository_id: 1 },
          { source: 'https://GitHub.com/acme/api.git', repository_id: 1 },
        ],
      });

      // Act
      const error = configError(() => parseMirrorConfig(text, {}));

      // Assess
      expect(error.field).toBe('mirrors[2]');
      expect(error.message).toContain('mirrors[0]');
    });

    it('warns about a mirror that no secret can reach, and about an unused host secret', () => {
      // Prepare
      const text = JSON.stringify({
        webhooks: { 'gitlab.com': { secret: 'unused' } },
        mirrors: [
          { source: 'gitlab.com/acme/own', repository_id: 1, secret: 'own' },
          { source: 'git.example.com/acme/api', repository_id: 2 },
        ],
      });

      // Act
      const { config, warnings } = parseMirrorConfig(text, {});

      // Assess
      expect(config.mirrors).toHaveLength(2);
      expect(warnings).toEqual([
        expect.stringMatching(/^mirrors\[1\] \(git\.example\.com\/acme\/api\) has no secret.*webhooks\["git\.example\.com"\]/),
        expect.stringMatching(/^webhooks\["gitlab\.com"\] is used by no mirror/),
      ]);
    });

    it('loads 100,000 mirrors', () => {
      // Prepare
      const mirrors = Array.from({ length: 100_000 }, (_, i) => ({ source: `github.com/org${i % 1000}/repo${i}`, repository_id: i + 1 }));
      const text = JSON.stringify({ webhooks: { 'github.com': { secret: 's' } }, mirrors });

      // Act
      const { config, warnings } = parseMirrorConfig(text, {});

      // Assess
      expect(config.mirrors).toHaveLength(100_000);
      expect(config.mirrors[99_999]).toMatchObject({ source: 'github.com/org999/repo99999', repositoryId: 100_000 });
      expect(warnings).toEqual([]);
    });
  });

  it('returns frozen results', () => {
    // Act
    const { config } = parseMirrorConfig(withMirror({ secret: 'x', refs: ['refs/heads/main'] }), {});

    // Assess
    expect(Object.isFrozen(config.mirrors)).toBe(true);
    expect(Object.isFrozen(config.mirrors[0])).toBe(true);
    expect(Object.isFrozen(config.mirrors[0]?.refs)).toBe(true);
  });

  it.each([
    ['broken JSON', `{"webhooks": {"github.com": {"secret": "${CANARY}"}}, "mirrors": [}`],
    ['broken YAML', `webhooks:\n  github.com:\n   secret: "${CANARY}\nmirrors: []\n`],
    ['an unknown key beside a literal secret', withMirror({ secret: CANARY, sekret: CANARY })],
    ['a bad repository_id beside env secrets', withMirror({ secret: 'env:PRIVATE_HOOK_SECRET', username: 'env:SRC_USER', password: 'env:SRC_TOKEN', repository_id: 'x' })],
    ['username without password', withMirror({ username: 'env:SRC_USER' })],
    ['password without username', withMirror({ password: CANARY })],
    ['endpoint_uuid with credentials', withMirror({ username: CANARY, password: 'env:SRC_TOKEN', endpoint_uuid: CANARY })],
    ['a secret in a list of non-strings', withMirror({ secret: [CANARY, ['nested']] })],
    ['a secret given where refs belong', withMirror({ refs: [CANARY] })],
    ['a secret given as a source', withMirror({ source: CANARY })],
    ['a secret as a malformed env reference', withMirror({ secret: `env:${CANARY}` })],
    ['a repeated mirror', JSON.stringify({ mirrors: [{ source: 'github.com/a/b', repository_id: 1, secret: CANARY }, { source: 'github.com/a/b', repository_id: 1, secret: CANARY }] })],
    ['a duplicate host', JSON.stringify({ webhooks: { 'github.com': { secret: CANARY }, 'GITHUB.COM': { secret: 'env:GITHUB_WEBHOOK_SECRET' } }, mirrors: [] })],
  ])('never puts a secret value in the message: %s', (_, text) => {
    // Act
    const error = configError(() => parseMirrorConfig(text, ENV, parseYaml));

    // Assess
    expect(error.message).not.toContain(CANARY);
    expect(error.field).not.toContain(CANARY);
    expect(JSON.stringify(error)).not.toContain(CANARY);
  });

  it('never puts a secret value in a warning', () => {
    // Prepare
    const text = JSON.stringify({
      webhooks: { 'gitlab.com': { secret: CANARY } },
      mirrors: [{ source: 'git.example.com/a/b', repository_id: 1, username: CANARY, password: 'env:SRC_TOKEN' }],
    });

    // Act
    const { warnings } = parseMirrorConfig(text, ENV);

    // Assess
    expect(warnings).toHaveLength(2);
    for (const warning of warnings) expect(warning).not.toContain(CANARY);
  });
});

describe('every problem at once', () => {
  it('lists every problem in the config, in config order, naming the first in the message', () => {
    // Prepare
    const text = JSON.stringify({
      webhooks: { 'github.com/x': { secret: 's' }, 'gitlab.com': { secret: 'env:UNSET' } },
      mirrors: [
        { source: 'github.com/acme/api', repository_id: '2111', 'force-fetch': true },
        { source: 'github.com/other/../acme/api', repository_id: 2112, refs: ['main', 'refs/heads/dev', 7] },
        'not a mapping',
        { source: 'github.com/acme/web', target: 'mirror/web', repository_id: 1, username: 'u' },
        { source: 'github.com/acme/ok', repository_id: 5, secret: [CANARY, 'env:EMPTY'] },
      ],
      status: { key: 42 },
      extra: true,
    });

    // Act
    const error = configError(() => parseMirrorConfig(text, ENV));

    // Assess
    expect(error.problems.map(({ field }) => field)).toEqual([
      'extra',
      'webhooks["github.com/x"]',
      'webhooks["gitlab.com"].secret',
      'mirrors[0]["force-fetch"]',
      'mirrors[0].repository_id',
      'mirrors[1].source',
      'mirrors[1].refs[0]',
      'mirrors[1].refs[2]',
      'mirrors[2]',
      'mirrors[3].target',
      'mirrors[3].password',
      'mirrors[4].secret[1]',
      'status.key',
    ]);
    expect(error.field).toBe('extra');
    expect(error.message).toMatch(/^invalid config at extra: unknown key; allowed here: webhooks, mirrors, status \(and 12 more problems\)$/);
    expect(JSON.stringify(error.problems)).not.toContain(CANARY);
  });

  it('reports a repeated mirror alongside the other problems', () => {
    // Prepare
    const mirror = { source: 'github.com/a/b', repository_id: 1, secret: 's' };
    const text = JSON.stringify({ mirrors: [mirror, { ...mirror, refs: [] }, mirror] });

    // Act
    const error = configError(() => parseMirrorConfig(text, {}));

    // Assess
    expect(error.problems).toEqual([
      { field: 'mirrors[1].refs', message: expect.stringMatching(/non-empty list/) },
      { field: 'mirrors[2]', message: 'repeats the source and repository_id of mirrors[0]' },
    ]);
  });

  it('carries the line and column of every YAML problem', () => {
    // Prepare
    const text = 'mirrors:\n  - source: a\n    source: b\n  - x: 1\n    x: 2\n';

    // Act
    const error = configError(() => parseMirrorConfig(text, {}, parseYaml));

    // Assess
    expect(error.problems).toEqual([
      { field: 'MIRROR_CONFIG', message: 'is not valid YAML at line 3, column 5 (DUPLICATE_KEY)', line: 3, column: 5 },
      { field: 'MIRROR_CONFIG', message: 'is not valid YAML at line 5, column 5 (DUPLICATE_KEY)', line: 5, column: 5 },
    ]);
  });
});

describe('loadMirrorConfig', () => {
  const JSON_CONFIG = withMirror({ secret: 'env:PRIVATE_HOOK_SECRET' });

  it('reads MIRROR_CONFIG and no file', async () => {
    // Prepare
    const readFile = vi.fn((): string => 'mirrors: []\n');

    // Act
    const { config } = await loadMirrorConfig({ ...ENV, MIRROR_CONFIG: JSON_CONFIG, MIRROR_CONFIG_FILE: 'mirrors.yml' }, readFile);

    // Assess
    expect(config.mirrors[0]?.secrets).toEqual([ENV['PRIVATE_HOOK_SECRET']]);
    expect(readFile).not.toHaveBeenCalled();
  });

  it('reads a YAML file named by MIRROR_CONFIG_FILE', async () => {
    // Prepare
    const readFile = vi.fn((): string => CONTRACT_YAML);

    // Act
    const { config } = await loadMirrorConfig({ ...ENV, MIRROR_CONFIG_FILE: 'mirrors.yml' }, readFile);

    // Assess
    expect(readFile).toHaveBeenCalledWith('mirrors.yml', 'utf8');
    expect(config.mirrors).toHaveLength(3);
  });

  it('falls back to the file when MIRROR_CONFIG is empty', async () => {
    // Prepare
    const readFile = vi.fn((): string => JSON_CONFIG);

    // Act
    const { config } = await loadMirrorConfig({ ...ENV, MIRROR_CONFIG: '', MIRROR_CONFIG_FILE: 'mirrors.json' }, readFile);

    // Assess
    expect(config.mirrors).toHaveLength(1);
    expect(readFile).toHaveBeenCalledOnce();
  });

  it('rejects an environment with neither variable, naming MIRROR_CONFIG', async () => {
    // Act
    const error = await configErrorAsync(() => loadMirrorConfig(ENV));

    // Assess
    expect(error.field).toBe('MIRROR_CONFIG');
    expect(error.message).toContain('MIRROR_CONFIG_FILE');
  });

  it('rejects an unreadable file, naming MIRROR_CONFIG_FILE and the path', async () => {
    // Act
    const error = await configErrorAsync(() =>
      loadMirrorConfig({ MIRROR_CONFIG_FILE: '/nonexistent/mirrors.yml' }),
    );

    // Assess
    expect(error.field).toBe('MIRROR_CONFIG_FILE');
    expect(error.message).toContain('"/nonexistent/mirrors.yml" (ENOENT)');
  });

  it('names MIRROR_CONFIG_FILE for a syntax error in the file', async () => {
    // Act
    const error = await configErrorAsync(() => loadMirrorConfig({ MIRROR_CONFIG_FILE: 'x.yml' }, () => 'mirrors: [\n'));

    // Assess
    expect(error.field).toBe('MIRROR_CONFIG_FILE');
    expect(error.message).toMatch(/not valid YAML/);
  });

  it('imports yaml only for text that is not JSON', async () => {
    // Prepare
    let yamlImported = false;
    vi.resetModules();
    vi.doMock('yaml', async () => {
      yamlImported = true;
      return vi.importActual('yaml');
    });
    try {
      const fresh = await import('../../lib/config/load');

      // Act
      await fresh.loadMirrorConfig({ ...ENV, MIRROR_CONFIG: JSON_CONFIG });
      const importedForJson = yamlImported;
      await fresh.loadMirrorConfig({ ...ENV, MIRROR_CONFIG: CONTRACT_YAML });

      // Assess
      expect(importedForJson).toBe(false);
      expect(yamlImported).toBe(true);
    } finally {
      vi.doUnmock('yaml');
    }
  });

  it('loads mirrors.example.yml', async () => {
    // Prepare
    const env = { MIRROR_CONFIG_FILE: EXAMPLE_FILE, DEMO_WEBHOOK_SECRET: 'demo-secret' };

    // Act
    const { config, warnings } = await loadMirrorConfig(env);

    // Assess
    expect(config.mirrors).toEqual([
      { source: 'github.com/acme/demo', repositoryId: 1001, secrets: ['demo-secret'], refs: undefined, forceFetch: true },
    ]);
    expect(warnings).toEqual([]);
  });

  it('names DEMO_WEBHOOK_SECRET when mirrors.example.yml is loaded without it', async () => {
    // Act
    const error = await configErrorAsync(() => loadMirrorConfig({ MIRROR_CONFIG_FILE: EXAMPLE_FILE }));

    // Assess
    expect(error.field).toBe('mirrors[0].secret');
    expect(error.message).toContain('DEMO_WEBHOOK_SECRET');
  });

  it('keeps every commented field of mirrors.example.yml valid once uncommented', async () => {
    // Prepare
    const example = readFileSync(EXAMPLE_FILE, 'utf8');
    const uncommented = example
      .split('\n')
      .map((line) => line.replace(/^(\s*)# (\s*)(webhooks:|- |[a-z_.:0-9]+:)/, '$1$2$3'))
      .join('\n');
    const env = { ...ENV, DEMO_WEBHOOK_SECRET: 'd', BITBUCKET_WEBHOOK_SECRET: 'b', BITBUCKET_STATUS_TOKEN: 't', PRIVATE_STATUS_TOKEN: 'p', MIRRORS_STATUS_KEY: 'k' };

    // Act
    const result = parseMirrorConfig(uncommented, env, parseYaml);

    // Assess
    expect(result.config.mirrors.map((mirror) => mirror.repositoryId)).toEqual([1001, 2112, 1002, 3001]);
    expect([...result.config.webhooks.keys()]).toEqual(['github.com', 'gitlab.example.com', 'bitbucket.example.com:7990']);
    expect(result.config.pathMirrors.map((mirror) => [mirror.source, mirror.target])).toEqual([['github.com/acme/web', 'acme-mirror/web']]);
    expect(result.config.wildcardMirrors.map((mirror) => [mirror.pattern, mirror.target])).toEqual([['github.com/acme/*', 'acme-mirror/{name}']]);
    expect(result.config.statusKey).toBe('k');
    expect(result.config.mirrors.find((mirror) => mirror.repositoryId === 2112)?.branches).toBe('all');
  });
});
