import { clearCaches } from '@aws-lambda-powertools/parameters';
import { GetSecretValueCommand, ResourceNotFoundException, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, ParameterNotFound, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  fetchParameterWithPowertools,
  fetchSecretWithPowertools,
  parseSecretReference,
  readCacheTtlSeconds,
  resolveEnvironmentSecrets,
  resolveSecretReferences,
  type FetchParameter,
  type FetchSecret,
  type ReferenceUse,
} from '../../lib/config/secrets';
import { ConfigError } from '../../lib/errors';
import { configErrorAsync } from '../support/config-error';

/** A value no error message may ever contain. */
const CANARY = 'S3CRET-canary-5e1a';

function use(field: string, text: string): ReferenceUse {
  const reference = parseSecretReference(text, field);
  if (reference === undefined) throw new Error(`${text} is not a reference`);
  return { field, reference };
}

/** Fetchers over fixed values; every call is recorded. */
function fakeFetchers(parameters: Record<string, string>, secrets: Record<string, string | Uint8Array> = {}) {
  const fetchParameter = vi.fn<FetchParameter>(async (name) => {
    if (!Object.hasOwn(parameters, name)) throw Object.assign(new Error(`Parameter ${name} not found`), { name: 'ParameterNotFound' });
    return parameters[name];
  });
  const fetchSecret = vi.fn<FetchSecret>(async (name) => {
    if (!Object.hasOwn(secrets, name)) throw Object.assign(new Error(`Secret ${name} not found`), { name: 'ResourceNotFoundException' });
    return secrets[name];
  });
  return { fetchParameter, fetchSecret };
}

describe('parseSecretReference', () => {
  it.each([
    ['ssm:/bridge/github', { kind: 'ssm', name: '/bridge/github', jsonKey: undefined }],
    ['ssm:top-level_name.v2', { kind: 'ssm', name: 'top-level_name.v2', jsonKey: undefined }],
    ['secretsmanager:bridge/hooks', { kind: 'secretsmanager', name: 'bridge/hooks', jsonKey: undefined }],
    ['secretsmanager:bridge/hooks#github', { kind: 'secretsmanager', name: 'bridge/hooks', jsonKey: 'github' }],
    ['secretsmanager:prod+hooks=x.y@z-1#a#b', { kind: 'secretsmanager', name: 'prod+hooks=x.y@z-1', jsonKey: 'a#b' }],
  ])('reads %s', (text, expected) => {
    // Act
    const reference = parseSecretReference(text, 'f');

    // Assess
    expect(reference).toEqual({ ...expected, text });
  });

  it.each(['whsec_literal', 'env:NAME', 'SSM:/upper/case/prefix', 'arn:aws:ssm:x'])('leaves %s alone: not a reference', (text) => {
    // Act
    const reference = parseSecretReference(text, 'f');

    // Assess
    expect(reference).toBeUndefined();
  });

  it.each([
    ['an empty ssm name', 'ssm:', /ssm:NAME/],
    ['an ssm name with a space', `ssm:/bridge/${CANARY} x`, /ssm:NAME/],
    ['an ssm name with an empty level', `ssm:/${CANARY}//x`, /ssm:NAME/],
    ['an ssm name ending in /', `ssm:/${CANARY}/`, /ssm:NAME/],
    ['an empty secret name', 'secretsmanager:', /secretsmanager:NAME/],
    ['a secret ARN', `secretsmanager:arn:aws:secretsmanager:eu-west-1:1:secret:${CANARY}`, /not an ARN/],
    ['an empty JSON key', `secretsmanager:${CANARY}#`, /secretsmanager:NAME#KEY/],
  ])('rejects %s, naming the field without quoting the value', (_, text, message) => {
    // Act
    let error: unknown;
    try {
      parseSecretReference(text, 'mirrors[0].secret');
    } catch (caught) {
      error = caught;
    }

    // Assess
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).field).toBe('mirrors[0].secret');
    expect((error as ConfigError).message).toMatch(message);
    expect((error as ConfigError).message).not.toContain(CANARY);
  });
});

describe('readCacheTtlSeconds', () => {
  it.each([
    [{}, 300],
    [{ SECRETS_CACHE_TTL_SECONDS: '' }, 300],
    [{ SECRETS_CACHE_TTL_SECONDS: ' 60 ' }, 60],
    [{ SECRETS_CACHE_TTL_SECONDS: '0' }, 0],
  ])('reads %j as %i', (env, seconds) => {
    // Act
    const ttl = readCacheTtlSeconds(env);

    // Assess
    expect(ttl).toBe(seconds);
  });

  it.each(['-1', '1.5', 'five', '10s'])('rejects %s', (value) => {
    // Act
    const act = () => readCacheTtlSeconds({ SECRETS_CACHE_TTL_SECONDS: value });

    // Assess
    expect(act).toThrow(ConfigError);
    expect(act).toThrow(/SECRETS_CACHE_TTL_SECONDS: must be a whole number/);
  });
});

describe('resolveSecretReferences', () => {
  it('reads parameters and secrets, and picks keys of a JSON secret', async () => {
    // Prepare
    const fetchers = fakeFetchers(
      { '/bridge/github': `${CANARY}-gh` },
      { 'bridge/hooks': JSON.stringify({ gitlab: `${CANARY}-gl`, gitee: `${CANARY}-ge` }), 'bridge/plain': `${CANARY}-plain` },
    );
    const uses = [
      use('a', 'ssm:/bridge/github'),
      use('b', 'secretsmanager:bridge/hooks#gitlab'),
      use('c', 'secretsmanager:bridge/hooks#gitee'),
      use('d', 'secretsmanager:bridge/plain'),
    ];

    // Act
    const values = await resolveSecretReferences(uses, { ...fetchers, maxAgeSeconds: 300 });

    // Assess
    expect([...values]).toEqual([
      ['ssm:/bridge/github', `${CANARY}-gh`],
      ['secretsmanager:bridge/hooks#gitlab', `${CANARY}-gl`],
      ['secretsmanager:bridge/hooks#gitee', `${CANARY}-ge`],
      ['secretsmanager:bridge/plain', `${CANARY}-plain`],
    ]);
  });

  it('fetches each parameter and secret once, with the cache TTL, all at the same time', async () => {
    // Prepare
    const started: string[] = [];
    const release: (() => void)[] = [];
    const slow = (value: string) =>
      vi.fn(async (name: string) => {
        started.push(name);
        await new Promise<void>((resolve) => release.push(resolve));
        return value;
      });
    const fetchParameter = slow('p');
    const fetchSecret = slow('{"k1":"v1","k2":"v2"}');
    const uses = [
      use('a', 'ssm:/x'),
      use('b', 'ssm:/x'),
      use('c', 'secretsmanager:s#k1'),
      use('d', 'secretsmanager:s#k2'),
      use('e', 'ssm:/y'),
    ];

    // Act
    const resolving = resolveSecretReferences(uses, { fetchParameter, fetchSecret, maxAgeSeconds: 42 });
    await vi.waitFor(() => expect(started).toHaveLength(3));
    for (const resolve of release) resolve();
    const values = await resolving;

    // Assess
    expect(started.sort()).toEqual(['/x', '/y', 's']);
    expect(fetchParameter).toHaveBeenCalledWith('/x', { maxAgeSeconds: 42 });
    expect(fetchSecret).toHaveBeenCalledOnce();
    expect(values.get('secretsmanager:s#k2')).toBe('v2');
  });

  it.each([
    ['a missing parameter', 'ssm:/bridge/missing', /refers to ssm:\/bridge\/missing, which could not be read \(ParameterNotFound\)/],
    ['a missing secret', 'secretsmanager:bridge/missing', /which could not be read \(ResourceNotFoundException\)/],
    ['a missing JSON key', 'secretsmanager:bridge/json#nope', /has no key "nope"/],
    ['a key of a secret that is not JSON', 'secretsmanager:bridge/text#k', /is not JSON/],
    ['a key of a JSON list', 'secretsmanager:bridge/list#0', /is not a JSON object/],
    ['a key holding a number', 'secretsmanager:bridge/json#number', /non-string at key "number"/],
    ['a key holding an empty string', 'secretsmanager:bridge/json#empty', /empty string at key "empty"/],
    ['a binary secret', 'secretsmanager:bridge/binary', /binary secret/],
    ['an empty parameter', 'ssm:/bridge/empty', /is empty/],
  ])('rejects %s, naming the field and the reference but never a value', async (_, text, message) => {
    // Prepare
    const fetchers = fakeFetchers(
      { '/bridge/empty': '' },
      {
        'bridge/json': JSON.stringify({ number: 7, empty: '', other: CANARY }),
        'bridge/text': `${CANARY} not json`,
        'bridge/list': JSON.stringify([CANARY]),
        'bridge/binary': new TextEncoder().encode(CANARY),
      },
    );

    // Act
    const error = await configErrorAsync(() =>
      resolveSecretReferences([use('mirrors[2].password', text)], { ...fetchers, maxAgeSeconds: 300 }),
    );

    // Assess
    expect(error.field).toBe('mirrors[2].password');
    expect(error.message).toMatch(message);
    expect(error.message).toContain(text);
    expect(error.message).not.toContain(CANARY);
  });

  it('lists every failing field in config order, naming the first and counting the others', async () => {
    // Prepare
    const fetchers = fakeFetchers({ '/ok': 'v' });
    const uses = [use('first', 'ssm:/ok'), use('second', 'ssm:/gone'), use('third', 'secretsmanager:gone'), use('fourth', 'ssm:/gone2')];

    // Act
    const error = await configErrorAsync(() => resolveSecretReferences(uses, { ...fetchers, maxAgeSeconds: 1 }));

    // Assess
    expect(error.field).toBe('second');
    expect(error.message).toMatch(/\(and 2 more problems\)$/);
    expect(error.problems.map(({ field }) => field)).toEqual(['second', 'third', 'fourth']);
  });

  it('does not quote an AWS error message, only its name', async () => {
    // Prepare
    const fetchParameter: FetchParameter = async () => {
      throw Object.assign(new Error(`User is not authorized; value was ${CANARY}`), { name: 'AccessDeniedException' });
    };

    // Act
    const error = await configErrorAsync(() => resolveSecretReferences([use('f', 'ssm:/x')], { fetchParameter, maxAgeSeconds: 1 }));

    // Assess
    expect(error.message).toMatch(/\(AccessDeniedException; the function role must grant it/);
    expect(error.message).not.toContain(CANARY);
  });
});

describe('resolveEnvironmentSecrets', () => {
  it('resolves the CodeHub credentials written as references and leaves the rest', async () => {
    // Prepare
    const fetchers = fakeFetchers({ '/bridge/codehub/token': 'tok' }, { 'bridge/codehub': JSON.stringify({ sk: 'the-sk', pw: ' pass ' }) });
    const env = {
      CODEHUB_AK: 'AK',
      CODEHUB_SK: 'secretsmanager:bridge/codehub#sk',
      CODEHUB_IAM_PASSWORD: 'secretsmanager:bridge/codehub#pw',
      CODEHUB_TOKEN: ' ssm:/bridge/codehub/token ',
      CODEHUB_SECURITY_TOKEN: 'literal-token',
      OTHER: 'ssm:/not/a/credential',
    };

    // Act
    const resolved = await resolveEnvironmentSecrets(env, fetchers);

    // Assess
    expect(resolved).toEqual({ ...env, CODEHUB_SK: 'the-sk', CODEHUB_IAM_PASSWORD: ' pass ', CODEHUB_TOKEN: 'tok' });
    expect(env.CODEHUB_SK).toBe('secretsmanager:bridge/codehub#sk');
    expect(fetchers.fetchSecret).toHaveBeenCalledOnce();
  });

  it('returns the same environment, reading nothing, when no credential is a reference', async () => {
    // Prepare
    const fetchers = fakeFetchers({});
    const env = { CODEHUB_SK: 'plain', SECRETS_CACHE_TTL_SECONDS: 'not checked when unused' };

    // Act
    const resolved = await resolveEnvironmentSecrets(env, fetchers);

    // Assess
    expect(resolved).toBe(env);
    expect(fetchers.fetchParameter).not.toHaveBeenCalled();
  });

  it('names the variable whose reference cannot be read', async () => {
    // Act
    const error = await configErrorAsync(() => resolveEnvironmentSecrets({ CODEHUB_SK: 'ssm:/gone' }, fakeFetchers({})));

    // Assess
    expect(error.field).toBe('CODEHUB_SK');
    expect(error.message).toBe('invalid config at CODEHUB_SK: refers to ssm:/gone, which could not be read (ParameterNotFound)');
  });
});

describe('the default fetchers (Powertools over the AWS SDK, mocked)', () => {
  const ssm = mockClient(SSMClient);
  const secretsManager = mockClient(SecretsManagerClient);

  beforeEach(() => {
    vi.stubEnv('AWS_REGION', 'ap-southeast-1');
    ssm.reset();
    secretsManager.reset();
    clearCaches();
  });

  afterEach(() => clearCaches());

  it('reads an SSM parameter with decryption, and serves it from the cache afterwards', async () => {
    // Prepare
    ssm.on(GetParameterCommand, { Name: '/bridge/github', WithDecryption: true }).resolves({ Parameter: { Value: 'gh-secret' } });

    // Act
    const first = await fetchParameterWithPowertools('/bridge/github', { maxAgeSeconds: 300 });
    const second = await fetchParameterWithPowertools('/bridge/github', { maxAgeSeconds: 300 });

    // Assess
    expect([first, second]).toEqual(['gh-secret', 'gh-secret']);
    expect(ssm.commandCalls(GetParameterCommand)).toHaveLength(1);
  });

  it('reads a secret string', async () => {
    // Prepare
    secretsManager.on(GetSecretValueCommand, { SecretId: 'bridge/hooks' }).resolves({ SecretString: '{"github":"x"}' });

    // Act
    const value = await fetchSecretWithPowertools('bridge/hooks', { maxAgeSeconds: 300 });

    // Assess
    expect(value).toBe('{"github":"x"}');
  });

  it('lets resolveSecretReferences name the AWS error behind Powertools', async () => {
    // Prepare
    ssm.on(GetParameterCommand).rejects(new ParameterNotFound({ message: 'not found', $metadata: {} }));
    secretsManager.on(GetSecretValueCommand).rejects(new ResourceNotFoundException({ message: 'not found', $metadata: {} }));

    // Act
    const ssmError = await configErrorAsync(() => resolveSecretReferences([use('a', 'ssm:/gone')], { maxAgeSeconds: 1 }));
    const secretError = await configErrorAsync(() => resolveSecretReferences([use('b', 'secretsmanager:gone')], { maxAgeSeconds: 1 }));

    // Assess
    expect(ssmError.message).toBe('invalid config at a: refers to ssm:/gone, which could not be read (ParameterNotFound)');
    expect(secretError.message).toBe('invalid config at b: refers to secretsmanager:gone, which could not be read (ResourceNotFoundException)');
  });

  it('resolves CodeHub credentials end to end through the SDK', async () => {
    // Prepare
    secretsManager.on(GetSecretValueCommand, { SecretId: 'bridge/codehub' }).resolves({ SecretString: '{"sk":"from-sm"}' });
    ssm.on(GetParameterCommand, { Name: '/bridge/token' }).resolves({ Parameter: { Value: 'from-ssm' } });

    // Act
    const env = await resolveEnvironmentSecrets({ CODEHUB_SK: 'secretsmanager:bridge/codehub#sk', CODEHUB_TOKEN: 'ssm:/bridge/token' });

    // Assess
    expect(env['CODEHUB_SK']).toBe('from-sm');
    expect(env['CODEHUB_TOKEN']).toBe('from-ssm');
  });
});
