import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

interface IamOptions {
  readonly env?: Record<string, string | undefined>;
  readonly serviceDir?: string;
  readonly warn?: (message: string) => void;
}
type IamStatements = (options?: IamOptions) => Promise<unknown[]>;

// serverless require()s the script, so the test loads it the same way.
const { iamStatements } = createRequire(import.meta.url)('../../scripts/iam-statements.cjs') as { iamStatements: IamStatements };

const ARN_PREFIX = 'arn:${AWS::Partition}';
const ACCOUNT = '${AWS::Region}:${AWS::AccountId}';

function parameterArn(path: string): { 'Fn::Sub': string } {
  return { 'Fn::Sub': `${ARN_PREFIX}:ssm:${ACCOUNT}:parameter${path}` };
}

function secretArn(name: string): { 'Fn::Sub': string } {
  return { 'Fn::Sub': `${ARN_PREFIX}:secretsmanager:${ACCOUNT}:secret:${name}-??????` };
}

const CONFIG = `
webhooks:
  github.com: { secret: ssm:/bridge/github }
  gitlab.example.com: { secret: [secretsmanager:bridge/hooks#gitlab, secretsmanager:bridge/hooks#old, env:GL_LOCAL] }
mirrors:
  - source: github.com/acme/api
    repository_id: 1
    secret: ssm:/bridge/github
  - source: gitlab.example.com/group/*
    target: mirror/{name}
    username: secretsmanager:bridge/source#user
    password: secretsmanager:bridge/source#token
status:
  key: ssm:top-level
`;

let serviceDir: string;
beforeAll(() => {
  serviceDir = mkdtempSync(join(tmpdir(), 'iam-statements-'));
  writeFileSync(join(serviceDir, 'mirrors.yml'), CONFIG);
  writeFileSync(join(serviceDir, 'plain.yml'), 'mirrors:\n  - source: github.com/a/b\n    repository_id: 1\n    secret: env:X\n');
  writeFileSync(join(serviceDir, 'invalid.yml'), 'mirrors:\n  - source: github.com/a/b\n    secret: ssm:/never/granted\n');
});
afterAll(() => rmSync(serviceDir, { recursive: true, force: true }));

async function statementsFor(env: Record<string, string>) {
  const warnings: string[] = [];
  const statements = await iamStatements({ env, serviceDir, warn: (message) => warnings.push(message) });
  return { statements, warnings };
}

describe('scripts/iam-statements.cjs', () => {
  it('grants exactly the parameters and secrets the config names, each once', async () => {
    // Act
    const { statements, warnings } = await statementsFor({});

    // Assess
    expect(statements).toEqual([
      { Effect: 'Allow', Action: ['ssm:GetParameter'], Resource: [parameterArn('/bridge/github'), parameterArn('/top-level')] },
      { Effect: 'Allow', Action: ['secretsmanager:GetSecretValue'], Resource: [secretArn('bridge/hooks'), secretArn('bridge/source')] },
    ]);
    expect(warnings).toEqual([]);
  });

  it('grants nothing for a config without references', async () => {
    // Act
    const { statements } = await statementsFor({ MIRROR_CONFIG_FILE: 'plain.yml' });

    // Assess
    expect(statements).toEqual([]);
  });

  it('grants nothing when there is no config file at all', async () => {
    // Act
    const { statements } = await statementsFor({ MIRROR_CONFIG_FILE: 'absent.yml' });

    // Assess
    expect(statements).toEqual([]);
  });

  it('reads MIRROR_CONFIG before the file, and adds the CodeHub credentials', async () => {
    // Prepare
    const env = {
      MIRROR_CONFIG: JSON.stringify({ mirrors: [], status: { key: 'secretsmanager:bridge/status' } }),
      CODEHUB_SK: 'ssm:/bridge/codehub/sk',
      CODEHUB_TOKEN: 'secretsmanager:bridge/codehub#token',
      CODEHUB_AK: 'ssm:/not/a/secret/variable',
    };

    // Act
    const { statements } = await statementsFor(env);

    // Assess
    expect(statements).toEqual([
      { Effect: 'Allow', Action: ['ssm:GetParameter'], Resource: [parameterArn('/bridge/codehub/sk')] },
      { Effect: 'Allow', Action: ['secretsmanager:GetSecretValue'], Resource: [secretArn('bridge/codehub'), secretArn('bridge/status')] },
    ]);
  });

  it('grants MIRROR_CONFIG_PARAMETER, taking its references from the local copy and saying so', async () => {
    // Act
    const { statements, warnings } = await statementsFor({ MIRROR_CONFIG_PARAMETER: '/bridge/mirrors' });

    // Assess
    expect(statements[0]).toEqual({
      Effect: 'Allow',
      Action: ['ssm:GetParameter'],
      Resource: [parameterArn('/bridge/github'), parameterArn('/bridge/mirrors'), parameterArn('/top-level')],
    });
    expect(warnings).toEqual([expect.stringMatching(/references in it are taken from mirrors\.yml/)]);
  });

  it('warns that the references of MIRROR_CONFIG_PARAMETER go ungranted without a local copy', async () => {
    // Act
    const { statements, warnings } = await statementsFor({ MIRROR_CONFIG_PARAMETER: 'ssm:/bridge/mirrors', MIRROR_CONFIG_FILE: 'absent.yml' });

    // Assess
    expect(statements).toEqual([{ Effect: 'Allow', Action: ['ssm:GetParameter'], Resource: [parameterArn('/bridge/mirrors')] }]);
    expect(warnings).toEqual([expect.stringMatching(/none of them is granted/)]);
  });

  it('grants nothing from an invalid config and says why, so packaging still works', async () => {
    // Act
    const { statements, warnings } = await statementsFor({ MIRROR_CONFIG_FILE: 'invalid.yml' });

    // Assess
    expect(statements).toEqual([]);
    expect(warnings).toEqual([expect.stringMatching(/invalid.*mirrors\[0\]\.repository_id: is required/)]);
  });

  it('adds kms:Decrypt on the listed customer managed keys, through the services in use only', async () => {
    // Prepare
    const key = 'arn:aws:kms:ap-southeast-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';

    // Act
    const { statements } = await statementsFor({ MIRROR_CONFIG_FILE: 'mirrors.yml', SECRETS_KMS_KEY_ARNS: ` ${key}, ${key} ` });
    const unused = await statementsFor({ MIRROR_CONFIG_FILE: 'plain.yml', SECRETS_KMS_KEY_ARNS: key });

    // Assess
    expect(statements[2]).toEqual({
      Effect: 'Allow',
      Action: ['kms:Decrypt'],
      Resource: [key],
      Condition: {
        StringEquals: { 'kms:ViaService': [{ 'Fn::Sub': 'ssm.${AWS::Region}.amazonaws.com' }, { 'Fn::Sub': 'secretsmanager.${AWS::Region}.amazonaws.com' }] },
      },
    });
    expect(unused.statements).toEqual([]);
  });

  it('rejects a KMS key that is not an ARN', async () => {
    // Act
    const failure = statementsFor({ SECRETS_KMS_KEY_ARNS: 'alias/my-key' });

    // Assess
    await expect(failure).rejects.toThrow(/SECRETS_KMS_KEY_ARNS: not a KMS key ARN/);
  });
});
