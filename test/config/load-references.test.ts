import { describe, expect, it, vi } from 'vitest';
import {
  inspectMirrorConfig,
  loadMirrorConfig,
  loadYamlParser,
  mirrorConfigOrigin,
  parseMirrorConfig,
} from '../../lib/config/load';
import type { FetchParameter, FetchSecret } from '../../lib/config/secrets';
import { configError, configErrorAsync } from '../support/config-error';

const parseYaml = await loadYamlParser();
/** A value no error message may ever contain. */
const CANARY = 'S3CRET-canary-c41b';

const PARAMETERS: Record<string, string> = {
  '/bridge/github': `${CANARY}-gh`,
  '/bridge/status': `${CANARY}-status`,
  '/bridge/mirrors': 'webhooks:\n  github.com: { secret: ssm:/bridge/github }\nmirrors:\n  - source: github.com/acme/api\n    repository_id: 7\n',
};
const SECRETS: Record<string, string> = {
  'bridge/hooks': JSON.stringify({ gitlab: `${CANARY}-gl`, old: `${CANARY}-gl-old` }),
  'bridge/source': JSON.stringify({ user: 'bot', token: `${CANARY}-token` }),
};

function fakeFetchers() {
  const fetchParameter = vi.fn<FetchParameter>(async (name) => {
    if (!Object.hasOwn(PARAMETERS, name)) throw Object.assign(new Error(`no ${name}`), { name: 'ParameterNotFound' });
    return PARAMETERS[name];
  });
  const fetchSecret = vi.fn<FetchSecret>(async (name) => {
    if (!Object.hasOwn(SECRETS, name)) throw Object.assign(new Error(`no ${name}`), { name: 'ResourceNotFoundException' });
    return SECRETS[name];
  });
  return { fetchParameter, fetchSecret };
}

const REFERENCES_YAML = `
webhooks:
  github.com: { secret: ssm:/bridge/github }
  gitlab.example.com: { secret: [secretsmanager:bridge/hooks#gitlab, secretsmanager:bridge/hooks#old, env:GL_LOCAL] }
mirrors:
  - source: github.com/acme/api
    repository_id: 1
  - source: gitlab.example.com/group/private
    target: mirror/{name}
    username: secretsmanager:bridge/source#user
    password: secretsmanager:bridge/source#token
  - source: gitlab.example.com/group/*
    target: mirror/{name}
    secret: ssm:/bridge/github
status:
  key: ssm:/bridge/status
`;

describe('loadMirrorConfig with ssm: and secretsmanager: references', () => {
  it('resolves every reference, each parameter and secret read once', async () => {
    // Prepare
    const fetchers = fakeFetchers();

    // Act
    const { config } = await loadMirrorConfig({ MIRROR_CONFIG: REFERENCES_YAML, GL_LOCAL: 'local' }, fetchers);

    // Assess
    expect(config.webhooks.get('github.com')).toEqual([PARAMETERS['/bridge/github']]);
    expect(config.webhooks.get('gitlab.example.com')).toEqual([`${CANARY}-gl`, `${CANARY}-gl-old`, 'local']);
    expect(config.pathMirrors[0]).toMatchObject({ target: 'mirror/private', username: 'bot', password: `${CANARY}-token` });
    expect(config.wildcardMirrors[0]?.secrets).toEqual([PARAMETERS['/bridge/github']]);
    expect(config.statusKey).toBe(PARAMETERS['/bridge/status']);
    expect(fetchers.fetchParameter.mock.calls.map(([name]) => name).sort()).toEqual(['/bridge/github', '/bridge/status']);
    expect(fetchers.fetchSecret.mock.calls.map(([name]) => name).sort()).toEqual(['bridge/hooks', 'bridge/source']);
  });

  it('passes SECRETS_CACHE_TTL_SECONDS to the fetchers (default 300)', async () => {
    // Prepare
    const fetchers = fakeFetchers();
    const text = JSON.stringify({ mirrors: [], status: { key: 'ssm:/bridge/status' } });

    // Act
    await loadMirrorConfig({ MIRROR_CONFIG: text }, fetchers);
    await loadMirrorConfig({ MIRROR_CONFIG: text, SECRETS_CACHE_TTL_SECONDS: '30' }, fetchers);

    // Assess
    expect(fetchers.fetchParameter.mock.calls.map(([, options]) => options)).toEqual([{ maxAgeSeconds: 300 }, { maxAgeSeconds: 30 }]);
  });

  it('fails with the field and the reference, never the value, when a reference cannot be read', async () => {
    // Prepare
    const text = REFERENCES_YAML.replace('secretsmanager:bridge/source#token', 'secretsmanager:bridge/source#pass');

    // Act
    const error = await configErrorAsync(() => loadMirrorConfig({ MIRROR_CONFIG: text, GL_LOCAL: 'l' }, fakeFetchers()));

    // Assess
    expect(error.field).toBe('mirrors[1].password');
    expect(error.message).toBe('invalid config at mirrors[1].password: refers to secretsmanager:bridge/source#pass, which has no key "pass"');
    expect(error.message).not.toContain(CANARY);
  });

  it('validates the whole config before reading any reference', async () => {
    // Prepare
    const fetchers = fakeFetchers();
    const text = JSON.stringify({ webhooks: { 'github.com': { secret: 'ssm:/bridge/github' } }, mirrors: [{ source: 'github.com/a/b' }] });

    // Act
    const error = await configErrorAsync(() => loadMirrorConfig({ MIRROR_CONFIG: text }, fetchers));

    // Assess
    expect(error.field).toBe('mirrors[0].repository_id');
    expect(fetchers.fetchParameter).not.toHaveBeenCalled();
  });

  it('rejects a malformed reference without reading anything', async () => {
    // Prepare
    const fetchers = fakeFetchers();
    const text = JSON.stringify({ mirrors: [{ source: 'github.com/a/b', repository_id: 1, secret: `ssm:${CANARY} x` }] });

    // Act
    const error = await configErrorAsync(() => loadMirrorConfig({ MIRROR_CONFIG: text }, fetchers));

    // Assess
    expect(error.field).toBe('mirrors[0].secret');
    expect(error.message).toMatch(/must be ssm:NAME/);
    expect(error.message).not.toContain(CANARY);
    expect(fetchers.fetchParameter).not.toHaveBeenCalled();
  });

  it('imports Powertools only when a reference needs it', async () => {
    // Prepare
    const imported: string[] = [];
    vi.resetModules();
    vi.doMock('@aws-lambda-powertools/parameters/ssm', () => {
      imported.push('ssm');
      return { getParameter: async () => 'from-ssm' };
    });
    vi.doMock('@aws-lambda-powertools/parameters/secrets', () => {
      imported.push('secrets');
      return { getSecret: async () => 'from-secrets' };
    });
    try {
      const fresh = await import('../../lib/config/load');
      const plain = JSON.stringify({ mirrors: [{ source: 'github.com/a/b', repository_id: 1, secret: 'env:S' }] });
      const withReference = JSON.stringify({ mirrors: [{ source: 'github.com/a/b', repository_id: 1, secret: 'ssm:/s' }] });

      // Act
      await fresh.loadMirrorConfig({ MIRROR_CONFIG: plain, S: 'x' });
      const importedForPlain = [...imported];
      const { config } = await fresh.loadMirrorConfig({ MIRROR_CONFIG: withReference });

      // Assess
      expect(importedForPlain).toEqual([]);
      expect(imported).toEqual(['ssm']);
      expect(config.mirrors[0]?.secrets).toEqual(['from-ssm']);
    } finally {
      vi.doUnmock('@aws-lambda-powertools/parameters/ssm');
      vi.doUnmock('@aws-lambda-powertools/parameters/secrets');
    }
  });

  it('still accepts the file reader as its second argument', async () => {
    // Prepare
    const readFile = vi.fn((): string => '{"mirrors": []}');

    // Act
    const { config } = await loadMirrorConfig({ MIRROR_CONFIG_FILE: 'm.json' }, readFile);

    // Assess
    expect(config.mirrors).toEqual([]);
    expect(readFile).toHaveBeenCalledWith('m.json', 'utf8');
  });
});

describe('loadMirrorConfig with MIRROR_CONFIG_PARAMETER', () => {
  it('reads the config text from SSM, and the references in it', async () => {
    // Prepare
    const fetchers = fakeFetchers();
    const readFile = vi.fn((): string => '{"mirrors": []}');

    // Act
    const { config } = await loadMirrorConfig(
      { MIRROR_CONFIG_PARAMETER: '/bridge/mirrors', MIRROR_CONFIG_FILE: 'mirrors.yml' },
      { ...fetchers, readFile },
    );

    // Assess
    expect(config.mirrors.map((mirror) => mirror.repositoryId)).toEqual([7]);
    expect(config.webhooks.get('github.com')).toEqual([PARAMETERS['/bridge/github']]);
    expect(readFile).not.toHaveBeenCalled();
  });

  it('loses to MIRROR_CONFIG', async () => {
    // Prepare
    const fetchers = fakeFetchers();

    // Act
    const { config } = await loadMirrorConfig({ MIRROR_CONFIG: '{"mirrors": []}', MIRROR_CONFIG_PARAMETER: '/bridge/mirrors' }, fetchers);

    // Assess
    expect(config.mirrors).toEqual([]);
    expect(fetchers.fetchParameter).not.toHaveBeenCalled();
  });

  it.each([
    [{ MIRROR_CONFIG_PARAMETER: '/bridge/absent' }, 'cannot read SSM parameter /bridge/absent (ParameterNotFound)'],
    [{ MIRROR_CONFIG_PARAMETER: 'not a name' }, 'must be an SSM parameter name such as /bridge/mirrors'],
  ])('names MIRROR_CONFIG_PARAMETER when %j cannot be read', async (env, message) => {
    // Act
    const error = await configErrorAsync(() => loadMirrorConfig(env, fakeFetchers()));

    // Assess
    expect(error.field).toBe('MIRROR_CONFIG_PARAMETER');
    expect(error.message).toBe(`invalid config at MIRROR_CONFIG_PARAMETER: ${message}`);
  });

  it('names MIRROR_CONFIG_PARAMETER for a syntax error in the parameter', async () => {
    // Prepare
    const fetchParameter: FetchParameter = async () => `mirrors: [\n  ${CANARY}`;

    // Act
    const error = await configErrorAsync(() => loadMirrorConfig({ MIRROR_CONFIG_PARAMETER: 'ssm:/bridge/mirrors' }, { fetchParameter }));

    // Assess
    expect(error.field).toBe('MIRROR_CONFIG_PARAMETER');
    expect(error.message).toMatch(/not valid YAML/);
    expect(error.message).not.toContain(CANARY);
  });

  it.each([
    [{ MIRROR_CONFIG: 'x', MIRROR_CONFIG_PARAMETER: '/p', MIRROR_CONFIG_FILE: 'f' }, 'MIRROR_CONFIG'],
    [{ MIRROR_CONFIG: ' ', MIRROR_CONFIG_PARAMETER: '/p', MIRROR_CONFIG_FILE: 'f' }, 'MIRROR_CONFIG_PARAMETER'],
    [{ MIRROR_CONFIG_PARAMETER: '', MIRROR_CONFIG_FILE: 'f' }, 'MIRROR_CONFIG_FILE'],
    [{}, undefined],
  ])('takes its text from the first of MIRROR_CONFIG, MIRROR_CONFIG_PARAMETER, MIRROR_CONFIG_FILE (%j)', (env, origin) => {
    // Act
    const chosen = mirrorConfigOrigin(env);

    // Assess
    expect(chosen).toBe(origin);
  });
});

describe('parseMirrorConfig with references', () => {
  it('refuses an ssm: reference, naming the field and pointing at loadMirrorConfig', () => {
    // Prepare
    const text = JSON.stringify({ mirrors: [{ source: 'github.com/a/b', repository_id: 1, secret: 'ssm:/bridge/x' }] });

    // Act
    const error = configError(() => parseMirrorConfig(text, {}));

    // Assess
    expect(error.field).toBe('mirrors[0].secret');
    expect(error.message).toMatch(/reference to ssm:\/bridge\/x.*loadMirrorConfig/);
  });
});

describe('inspectMirrorConfig', () => {
  it('lists every reference with its field, in config order, without reading any', () => {
    // Act
    const { config, references } = inspectMirrorConfig(REFERENCES_YAML, { GL_LOCAL: 'l' }, parseYaml);

    // Assess
    expect(references.map(({ field, reference }) => [field, reference.text])).toEqual([
      ['webhooks["github.com"].secret', 'ssm:/bridge/github'],
      ['webhooks["gitlab.example.com"].secret[0]', 'secretsmanager:bridge/hooks#gitlab'],
      ['webhooks["gitlab.example.com"].secret[1]', 'secretsmanager:bridge/hooks#old'],
      ['mirrors[1].username', 'secretsmanager:bridge/source#user'],
      ['mirrors[1].password', 'secretsmanager:bridge/source#token'],
      ['mirrors[2].secret', 'ssm:/bridge/github'],
      ['status.key', 'ssm:/bridge/status'],
    ]);
    expect(config.webhooks.get('github.com')).toEqual(['ssm:/bridge/github']);
  });

  it('checks env: references for form only when given no environment', () => {
    // Act
    const { config } = inspectMirrorConfig(REFERENCES_YAML, undefined, parseYaml);
    const error = configError(() => inspectMirrorConfig(REFERENCES_YAML.replace('env:GL_LOCAL', 'env:1BAD'), undefined, parseYaml));

    // Assess
    expect(config.webhooks.get('gitlab.example.com')?.[2]).toBe('env:GL_LOCAL');
    expect(error.field).toBe('webhooks["gitlab.example.com"].secret[2]');
  });

  it('uses the env: references the environment holds and lists the others, unset or empty', () => {
    // Act
    const held = inspectMirrorConfig(REFERENCES_YAML, { GL_LOCAL: 'local' }, parseYaml);
    const unset = inspectMirrorConfig(REFERENCES_YAML, {}, parseYaml);
    const empty = inspectMirrorConfig(REFERENCES_YAML, { GL_LOCAL: '' }, parseYaml);

    // Assess
    expect(held.config.webhooks.get('gitlab.example.com')?.[2]).toBe('local');
    expect(held.unresolvedVariables).toEqual([]);
    expect(unset.unresolvedVariables).toEqual([{ field: 'webhooks["gitlab.example.com"].secret[2]', name: 'GL_LOCAL', state: 'unset' }]);
    expect(empty.unresolvedVariables).toEqual([{ field: 'webhooks["gitlab.example.com"].secret[2]', name: 'GL_LOCAL', state: 'empty' }]);
  });
});
