import { describe, expect, it } from 'vitest';
import { codehubEndpointForRegion, CODEHUB_REGIONS, iamEndpointForRegion } from '../../lib/codehub/endpoints';
import { readCodeHubSettings } from '../../lib/codehub/settings';
import { ConfigError } from '../../lib/errors';

const AKSK = { CODEHUB_AK: 'AK123', CODEHUB_SK: 'sk-secret-value', CODEHUB_PROJECT_ID: 'project-1' };
const IAM = { CODEHUB_IAM_USER: 'bridge', CODEHUB_IAM_PASSWORD: 'iam-pass-secret', CODEHUB_IAM_DOMAIN: 'acme' };
const TOKEN = { CODEHUB_TOKEN: 'static-token-secret' };
const SECRETS = ['sk-secret-value', 'iam-pass-secret', 'static-token-secret'];

/** The ConfigError `read` throws; fails the test when it does not throw one. */
function configErrorOf(read: () => unknown): ConfigError {
  try {
    read();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('codehubEndpointForRegion', () => {
  it('knows all 16 regions and their three host naming schemes', () => {
    // Act
    const endpoints = Object.fromEntries(CODEHUB_REGIONS.map((region) => [region, codehubEndpointForRegion(region)]));

    // Assess
    expect(CODEHUB_REGIONS).toHaveLength(16);
    expect(endpoints).toMatchObject({
      'cn-north-4': 'https://codehub-ext.cn-north-4.myhuaweicloud.com',
      'ap-southeast-3': 'https://codehub-ext.ap-southeast-3.myhuaweicloud.com',
      'la-south-2': 'https://codeartsrepo-ext.la-south-2.myhuaweicloud.com',
      'eu-west-101': 'https://codeartsrepo-ext.eu-west-101.myhuaweicloud.com',
      'me-east-1': 'https://repo.me-east-1.myhuaweicloud.com',
      'af-north-1': 'https://repo.af-north-1.myhuaweicloud.com',
    });
  });

  it('throws a ConfigError at CODEHUB_REGION for an unknown region', () => {
    // Act
    const error = configErrorOf(() => codehubEndpointForRegion('mars-north-1'));

    // Assess
    expect(error.field).toBe('CODEHUB_REGION');
    expect(error.message).toContain('mars-north-1');
  });
});

describe('iamEndpointForRegion', () => {
  it('builds the regional IAM endpoint and refuses a value that is not a region id', () => {
    // Act
    const endpoint = iamEndpointForRegion('cn-north-4');
    const error = configErrorOf(() => iamEndpointForRegion('evil.com/x'));

    // Assess
    expect(endpoint).toBe('https://iam.cn-north-4.myhuaweicloud.com');
    expect(error.field).toBe('CODEHUB_REGION');
  });
});

describe('readCodeHubSettings', () => {
  it('reads AK/SK credentials and the endpoint of the region, with default timeouts', () => {
    // Prepare
    const env = { CODEHUB_REGION: 'cn-north-4', ...AKSK };

    // Act
    const settings = readCodeHubSettings(env);

    // Assess
    expect(settings).toEqual({
      endpoint: 'https://codehub-ext.cn-north-4.myhuaweicloud.com',
      region: 'cn-north-4',
      auth: { kind: 'aksk', accessKey: 'AK123', secretKey: 'sk-secret-value', projectId: 'project-1', securityToken: undefined },
      connectTimeoutMs: 2000,
      timeoutMs: 5000,
      ignoredVariables: [],
    });
  });

  it('carries the optional security token of temporary credentials', () => {
    // Prepare
    const env = { CODEHUB_REGION: 'cn-north-4', ...AKSK, CODEHUB_SECURITY_TOKEN: 'sts-token' };

    // Act
    const { auth } = readCodeHubSettings(env);

    // Assess
    expect(auth).toMatchObject({ kind: 'aksk', securityToken: 'sts-token' });
  });

  it('lets CODEHUB_ENDPOINT win over the region table and keeps its path prefix', () => {
    // Prepare
    const env = { CODEHUB_ENDPOINT: 'http://127.0.0.1:9000/codehub/', CODEHUB_REGION: 'my-private-1', ...TOKEN };

    // Act
    const settings = readCodeHubSettings(env);

    // Assess
    expect(settings.endpoint).toBe('http://127.0.0.1:9000/codehub');
    expect(settings.region).toBe('my-private-1');
  });

  it('reads IAM password credentials, scoping the token to the region and finding IAM from it', () => {
    // Prepare
    const env = { CODEHUB_REGION: 'la-south-2', ...IAM };

    // Act
    const { auth } = readCodeHubSettings(env);

    // Assess
    expect(auth).toEqual({
      kind: 'iam',
      user: 'bridge',
      password: 'iam-pass-secret',
      domain: 'acme',
      project: 'la-south-2',
      iamEndpoint: 'https://iam.la-south-2.myhuaweicloud.com',
    });
  });

  it('takes CODEHUB_IAM_ENDPOINT and CODEHUB_IAM_PROJECT over the region defaults', () => {
    // Prepare
    const env = {
      CODEHUB_ENDPOINT: 'https://codehub.internal',
      ...IAM,
      CODEHUB_IAM_ENDPOINT: 'https://iam.internal/',
      CODEHUB_IAM_PROJECT: 'cn-north-4_sub',
    };

    // Act
    const { auth } = readCodeHubSettings(env);

    // Assess
    expect(auth).toMatchObject({ kind: 'iam', project: 'cn-north-4_sub', iamEndpoint: 'https://iam.internal' });
  });

  it('keeps spaces around the IAM password but trims other values', () => {
    // Prepare
    const env = { CODEHUB_REGION: ' cn-north-4\n', ...IAM, CODEHUB_IAM_PASSWORD: ' pass ', CODEHUB_IAM_USER: 'bridge\n' };

    // Act
    const { auth, region } = readCodeHubSettings(env);

    // Assess
    expect(region).toBe('cn-north-4');
    expect(auth).toMatchObject({ user: 'bridge', password: ' pass ' });
  });

  it('reads a static token', () => {
    // Prepare
    const env = { CODEHUB_REGION: 'cn-north-4', ...TOKEN };

    // Act
    const { auth } = readCodeHubSettings(env);

    // Assess
    expect(auth).toEqual({ kind: 'token', token: 'static-token-secret' });
  });

  it('uses the first complete set (AK/SK, then IAM, then token) and reports the others as ignored', () => {
    // Prepare
    const all = { CODEHUB_REGION: 'cn-north-4', ...AKSK, ...IAM, ...TOKEN };
    const iamAndToken = { CODEHUB_REGION: 'cn-north-4', ...IAM, ...TOKEN };
    const partialAkAndToken = { CODEHUB_REGION: 'cn-north-4', CODEHUB_AK: 'AK123', ...TOKEN };

    // Act
    const fromAll = readCodeHubSettings(all);
    const fromIamAndToken = readCodeHubSettings(iamAndToken);
    const fromPartial = readCodeHubSettings(partialAkAndToken);

    // Assess
    expect(fromAll.auth.kind).toBe('aksk');
    expect(fromAll.ignoredVariables).toEqual([
      'CODEHUB_IAM_USER',
      'CODEHUB_IAM_PASSWORD',
      'CODEHUB_IAM_DOMAIN',
      'CODEHUB_TOKEN',
    ]);
    expect(fromIamAndToken.auth.kind).toBe('iam');
    expect(fromIamAndToken.ignoredVariables).toEqual(['CODEHUB_TOKEN']);
    expect(fromPartial.auth.kind).toBe('token');
    expect(fromPartial.ignoredVariables).toEqual(['CODEHUB_AK']);
  });

  it('treats empty and blank values as unset', () => {
    // Prepare
    const env = { CODEHUB_REGION: 'cn-north-4', ...AKSK, CODEHUB_SK: '  ', ...TOKEN, CODEHUB_ENDPOINT: '' };

    // Act
    const settings = readCodeHubSettings(env);

    // Assess
    expect(settings.auth.kind).toBe('token');
    expect(settings.endpoint).toBe('https://codehub-ext.cn-north-4.myhuaweicloud.com');
  });

  it('reads the timeouts', () => {
    // Prepare
    const env = { CODEHUB_REGION: 'cn-north-4', ...TOKEN, CODEHUB_CONNECT_TIMEOUT_MS: '500', CODEHUB_TIMEOUT_MS: '2500' };

    // Act
    const settings = readCodeHubSettings(env);

    // Assess
    expect([settings.connectTimeoutMs, settings.timeoutMs]).toEqual([500, 2500]);
  });

  it.each([
    ['CODEHUB_CONNECT_TIMEOUT_MS', '0'],
    ['CODEHUB_CONNECT_TIMEOUT_MS', '-5'],
    ['CODEHUB_TIMEOUT_MS', '1.5'],
    ['CODEHUB_TIMEOUT_MS', '5s'],
    ['CODEHUB_TIMEOUT_MS', '99999999999'],
  ])('rejects %s=%s as not a positive integer', (name, value) => {
    // Prepare
    const env = { CODEHUB_REGION: 'cn-north-4', ...TOKEN, [name]: value };

    // Act
    const error = configErrorOf(() => readCodeHubSettings(env));

    // Assess
    expect(error.field).toBe(name);
    expect(error.message).toContain('positive integer');
  });

  it('names both ways to locate CodeHub when neither is set', () => {
    // Act
    const error = configErrorOf(() => readCodeHubSettings({ ...TOKEN }));

    // Assess
    expect(error.field).toBe('CODEHUB_REGION');
    expect(error.message).toContain('CODEHUB_ENDPOINT');
  });

  it('names CODEHUB_REGION for a region outside the table when no endpoint is set', () => {
    // Act
    const error = configErrorOf(() => readCodeHubSettings({ CODEHUB_REGION: 'cn-nowhere-9', ...TOKEN }));

    // Assess
    expect(error.field).toBe('CODEHUB_REGION');
  });

  it.each([
    ['not a URL', 'codehub.example.com', 'absolute URL'],
    ['another scheme', 'ftp://codehub.example.com', 'http(s)'],
    ['credentials', 'https://user:hunter2@codehub.example.com', 'credentials'],
    ['a query', 'https://codehub.example.com/?x=1', 'query'],
  ])('rejects CODEHUB_ENDPOINT with %s, without echoing it', (_what, value, expected) => {
    // Act
    const error = configErrorOf(() => readCodeHubSettings({ CODEHUB_ENDPOINT: value, ...TOKEN }));

    // Assess
    expect(error.field).toBe('CODEHUB_ENDPOINT');
    expect(error.message).toContain(expected);
    expect(error.message).not.toContain('hunter2');
  });

  it('lists every choice when no credentials are set at all', () => {
    // Act
    const error = configErrorOf(() => readCodeHubSettings({ CODEHUB_REGION: 'cn-north-4' }));

    // Assess
    for (const name of ['CODEHUB_AK', 'CODEHUB_SK', 'CODEHUB_PROJECT_ID', 'CODEHUB_IAM_USER', 'CODEHUB_IAM_PASSWORD', 'CODEHUB_IAM_DOMAIN', 'CODEHUB_TOKEN']) {
      expect(error.message).toContain(name);
    }
  });

  it.each([
    [{ CODEHUB_AK: 'AK123' }, 'CODEHUB_SK, CODEHUB_PROJECT_ID'],
    [{ CODEHUB_AK: 'AK123', CODEHUB_SK: 'sk-secret-value' }, 'CODEHUB_PROJECT_ID'],
    [{ CODEHUB_SK: 'sk-secret-value', CODEHUB_PROJECT_ID: 'p' }, 'CODEHUB_AK'],
    [{ CODEHUB_SECURITY_TOKEN: 'sts' }, 'CODEHUB_AK, CODEHUB_SK, CODEHUB_PROJECT_ID'],
    [{ CODEHUB_IAM_USER: 'bridge', CODEHUB_IAM_PASSWORD: 'iam-pass-secret' }, 'CODEHUB_IAM_DOMAIN'],
    [{ CODEHUB_IAM_PASSWORD: 'iam-pass-secret', CODEHUB_AK: 'AK123' }, 'CODEHUB_SK, CODEHUB_PROJECT_ID, CODEHUB_IAM_USER, CODEHUB_IAM_DOMAIN'],
  ])('names the missing variables of an incomplete set %#', (partial, missing) => {
    // Prepare
    const env: Record<string, string> = { CODEHUB_REGION: 'cn-north-4', ...partial };

    // Act
    const error = configErrorOf(() => readCodeHubSettings(env));

    // Assess
    expect(error.field).toBe(missing);
    expect(error.message).toContain(`missing ${missing.split(', ')[0] ?? ''}`);
  });

  it('requires a project scope for IAM: CODEHUB_REGION or CODEHUB_IAM_PROJECT', () => {
    // Prepare
    const env = { CODEHUB_ENDPOINT: 'https://codehub.internal', ...IAM, CODEHUB_IAM_ENDPOINT: 'https://iam.internal' };

    // Act
    const error = configErrorOf(() => readCodeHubSettings(env));

    // Assess
    expect(error.field).toBe('CODEHUB_REGION');
    expect(error.message).toContain('CODEHUB_IAM_PROJECT');
  });

  it('requires a way to find IAM: CODEHUB_IAM_ENDPOINT or CODEHUB_REGION', () => {
    // Prepare
    const env = { CODEHUB_ENDPOINT: 'https://codehub.internal', ...IAM, CODEHUB_IAM_PROJECT: 'cn-north-4' };

    // Act
    const error = configErrorOf(() => readCodeHubSettings(env));

    // Assess
    expect(error.field).toBe('CODEHUB_IAM_ENDPOINT');
  });

  it('never echoes a secret in any configuration error', () => {
    // Prepare
    const broken = [
      { CODEHUB_REGION: 'cn-north-4', CODEHUB_SK: 'sk-secret-value' },
      { CODEHUB_REGION: 'cn-north-4', CODEHUB_IAM_PASSWORD: 'iam-pass-secret', CODEHUB_IAM_USER: 'u' },
      { ...TOKEN },
      { CODEHUB_REGION: 'cn-north-4', ...TOKEN, CODEHUB_TIMEOUT_MS: 'x' },
      { CODEHUB_ENDPOINT: 'https://codehub.internal', ...IAM },
    ];

    // Act
    const messages = broken.map((env) => {
      const error = configErrorOf(() => readCodeHubSettings(env));
      return `${error.message} ${JSON.stringify(error)}`;
    });

    // Assess
    for (const message of messages) for (const secret of SECRETS) expect(message).not.toContain(secret);
  });
});
