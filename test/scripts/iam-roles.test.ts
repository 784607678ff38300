/**
 * Least privilege per function: `sls package` (osls, offline) builds the CloudFormation template, and
 * the test reads what CloudFormation would deploy from it — conditions evaluated, `Fn::If` branches
 * taken — then checks each function's own role grant by grant.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

type IamStatements = (options: { env: Record<string, string | undefined>; serviceDir: string; warn: (message: string) => void }) => Promise<unknown[]>;
// serverless require()s the script, so the test loads it the same way.
const { iamStatements } = createRequire(import.meta.url)('../../scripts/iam-statements.cjs') as { iamStatements: IamStatements };

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const FUNCTIONS = { webhook: 'Webhook', reconcile: 'Reconcile', worker: 'Worker', codecommit: 'Codecommit' } as const;
type FunctionName = keyof typeof FUNCTIONS;
/** Resource (logical id, or `LedgerTable/index/*`, or an ARN text) → the actions allowed on it, sorted. */
type Grants = Record<string, string[]>;
type Json = unknown;
interface Resource {
  readonly Type: string;
  readonly Properties: Record<string, Json>;
  readonly DependsOn?: readonly string[];
}
interface Policy {
  readonly PolicyName: string;
  readonly PolicyDocument: { readonly Statement: readonly Record<string, Json>[] };
}

const LOGS = ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'];
const ITEM_WRITES = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem'];
const SEND = ['sqs:SendMessage'];
/** What each function does with the durable pipeline's resources (durable=true). */
const DURABLE_GRANTS: Record<FunctionName, Grants> = {
  webhook: { LedgerTable: ITEM_WRITES, 'LedgerTable/index/*': ['dynamodb:Query'], PushQueue: SEND, PushDeadLetterQueue: SEND },
  reconcile: { LedgerTable: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:UpdateItem'], 'LedgerTable/index/*': ['dynamodb:Query'], PushQueue: SEND },
  worker: {
    LedgerTable: ITEM_WRITES,
    'LedgerTable/index/*': ['dynamodb:Query'],
    PushQueue: ['sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ReceiveMessage', 'sqs:SendMessage'],
    PushDeadLetterQueue: SEND,
  },
  codecommit: { LedgerTable: ITEM_WRITES, PushQueue: SEND, PushDeadLetterQueue: SEND },
};
const SECRETS_CONFIG = JSON.stringify({
  mirrors: [
    { source: 'github.com/acme/api', repository_id: 1, secret: 'ssm:/bridge/github' },
    { source: 'github.com/acme/web', repository_id: 2, secret: 'secretsmanager:bridge/hooks#web' },
  ],
});

function isRecord(value: Json): value is Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A copy of the service with stub handlers (as package-guard.test.ts), packaged; its template, as deployed. */
async function deployedTemplate(params: readonly string[], env: Record<string, string> = {}): Promise<{ resources: Record<string, Resource>; serviceDir: string }> {
  const serviceDir = mkdtempSync(join(tmpdir(), 'iam-roles-'));
  dirs.push(serviceDir);
  cpSync(join(ROOT, 'serverless.yml'), join(serviceDir, 'serverless.yml'));
  cpSync(join(ROOT, 'scripts'), join(serviceDir, 'scripts'), { recursive: true });
  cpSync(join(ROOT, 'mirrors.example.yml'), join(serviceDir, 'mirrors.example.yml'));
  symlinkSync(join(ROOT, 'lib'), join(serviceDir, 'lib'));
  symlinkSync(join(ROOT, 'node_modules'), join(serviceDir, 'node_modules'));
  mkdirSync(join(serviceDir, 'dist'));
  for (const name of Object.keys(FUNCTIONS)) writeFileSync(join(serviceDir, 'dist', `${name}.js`), 'export const handler = () => {};\n');
  const bin = join(ROOT, 'node_modules', 'osls', 'bin', 'serverless.js');
  const processEnv = { PATH: process.env['PATH'] ?? '', HOME: serviceDir, SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off', MIRROR_CONFIG_FILE: 'mirrors.example.yml', ...env };
  await run(process.execPath, [bin, 'package', ...params.map((param) => `--param=${param}`)], { cwd: serviceDir, env: processEnv });
  const template = JSON.parse(readFileSync(join(serviceDir, '.serverless', 'cloudformation-template-update-stack.json'), 'utf8')) as Json;
  return { resources: asDeployed(template), serviceDir };
}

/**
 * The resources CloudFormation creates from the template: those whose condition holds, with every
 * `Fn::If` replaced by its branch and `AWS::NoValue` left out. Only the intrinsics serverless.yml uses
 * in conditions are known (Fn::Equals of two texts): anything else fails the test rather than guessing.
 */
function asDeployed(template: Json): Record<string, Resource> {
  if (!isRecord(template) || !isRecord(template.Resources)) throw new Error('the template has no Resources');
  const conditions: Record<string, boolean> = {};
  for (const [name, condition] of Object.entries(isRecord(template.Conditions) ? template.Conditions : {})) {
    const equals = isRecord(condition) ? condition['Fn::Equals'] : undefined;
    if (!Array.isArray(equals) || equals.length !== 2 || !equals.every((side) => typeof side === 'string')) throw new Error(`condition ${name} is not Fn::Equals of two texts`);
    conditions[name] = equals[0] === equals[1];
  }
  const holds = (name: Json): boolean => {
    const value = conditions[String(name)];
    if (value === undefined) throw new Error(`unknown condition ${String(name)}`);
    return value;
  };
  const NO_VALUE = Symbol('AWS::NoValue');
  const take = (value: Json): Json => {
    if (Array.isArray(value)) return value.map(take).filter((item) => item !== NO_VALUE);
    if (!isRecord(value)) return value;
    if (value.Ref === 'AWS::NoValue') return NO_VALUE;
    const branches = value['Fn::If'];
    if (Array.isArray(branches)) return take(holds(branches[0]) ? branches[1] : branches[2]);
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, take(item)]).filter(([, item]) => item !== NO_VALUE));
  };
  const deployed: Record<string, Resource> = {};
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    if (!isRecord(resource) || (resource.Condition !== undefined && !holds(resource.Condition))) continue;
    deployed[logicalId] = take(resource) as Resource;
  }
  return deployed;
}

function policiesOf(resources: Record<string, Resource>, roleId: string): Policy[] {
  const role = resources[roleId];
  expect(role?.Type).toBe('AWS::IAM::Role');
  return (role?.Properties.Policies ?? []) as Policy[];
}

/** Logical id of `Fn::GetAtt [X, Arn]`, `X/index/*` of the index Join, or the text of an ARN. */
function resourceKey(resource: Json): string {
  if (typeof resource === 'string') return resource;
  if (isRecord(resource)) {
    const getAtt = resource['Fn::GetAtt'];
    if (Array.isArray(getAtt) && getAtt[1] === 'Arn') return String(getAtt[0]);
    const join = resource['Fn::Join'];
    if (Array.isArray(join) && typeof join[0] === 'string' && Array.isArray(join[1])) return join[1].map(resourceKey).join(join[0]);
    if (typeof resource['Fn::Sub'] === 'string') return resource['Fn::Sub'];
  }
  throw new Error(`a statement names a resource the test cannot read: ${JSON.stringify(resource)}`);
}

/** Everything a role allows, per resource. Deny, NotAction and NotResource would be misread, so they fail. */
function grantsOf(policies: readonly Policy[]): Grants {
  const grants: Record<string, Set<string>> = {};
  for (const statement of policies.flatMap((policy) => policy.PolicyDocument.Statement)) {
    expect(Object.keys(statement).filter((key) => !['Effect', 'Action', 'Resource', 'Condition'].includes(key))).toEqual([]);
    expect(statement.Effect).toBe('Allow');
    const actions = [statement.Action].flat().map(String);
    for (const resource of [statement.Resource].flat()) {
      const into = (grants[resourceKey(resource)] ??= new Set());
      for (const action of actions) into.add(action);
    }
  }
  return Object.fromEntries(Object.entries(grants).map(([key, actions]) => [key, [...actions].sort()]));
}

function allActions(grants: Grants): string[] {
  return Object.values(grants).flat();
}

/** Every function runs as its own role, which only Lambda may assume; there is no shared role. */
function expectOwnRoles(resources: Record<string, Resource>): void {
  for (const [name, id] of Object.entries(FUNCTIONS)) {
    const fn = resources[`${id}LambdaFunction`];
    expect(fn?.Properties.Role, name).toEqual({ 'Fn::GetAtt': [`${id}Role`, 'Arn'] });
    expect(resources[`${id}Role`]?.Properties.AssumeRolePolicyDocument).toEqual({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { Service: ['lambda.amazonaws.com'] }, Action: ['sts:AssumeRole'] }],
    });
  }
  const iam = Object.entries(resources).filter(([, resource]) => resource.Type.startsWith('AWS::IAM::'));
  expect(iam.map(([logicalId]) => logicalId).sort()).toEqual(Object.values(FUNCTIONS).map((id) => `${id}Role`).sort());
  expect(JSON.stringify(resources)).not.toContain('IamRoleLambdaExecution');
}

describe('serverless.yml IAM with durable=true (the default)', () => {
  let resources: Record<string, Resource>;
  beforeAll(async () => {
    ({ resources } = await deployedTemplate([]));
  }, 60_000);

  it('gives every function a role of its own', () => {
    // Assess
    expectOwnRoles(resources);
  });

  it.each(Object.keys(FUNCTIONS) as FunctionName[])('grants %s exactly its own log group and its part of the ledger and queues', (name) => {
    // Prepare
    const id = FUNCTIONS[name];

    // Act
    const grants = grantsOf(policiesOf(resources, `${id}Role`));

    // Assess
    expect(grants).toEqual({ [`${id}LogGroup`]: LOGS, ...DURABLE_GRANTS[name] });
    expect(resources[`${id}LogGroup`]?.Properties.LogGroupName).toBe(`/aws/lambda/codehub-mirror-bridge-dev-${name}`);
  });

  it('lets only the worker take messages off the push queue', () => {
    // Act
    const takers = (Object.keys(FUNCTIONS) as FunctionName[]).filter((name) => {
      const actions = allActions(grantsOf(policiesOf(resources, `${FUNCTIONS[name]}Role`)));
      return ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility'].some((action) => actions.includes(action));
    });

    // Assess
    expect(takers).toEqual(['worker']);
  });

  it('creates the worker’s SQS event source only after the role that may read the queue', () => {
    // Assess
    expect(resources.WorkerEventSourceMappingSQSPushQueue?.DependsOn).toContain('WorkerRole');
  });
});

describe('serverless.yml IAM with durable=false', () => {
  let resources: Record<string, Resource>;
  beforeAll(async () => {
    ({ resources } = await deployedTemplate(['durable=false']));
  }, 60_000);

  it('keeps one role per function, with nothing on SQS or DynamoDB', () => {
    // Act
    const grants = Object.fromEntries(Object.values(FUNCTIONS).map((id) => [id, grantsOf(policiesOf(resources, `${id}Role`))]));

    // Assess
    expectOwnRoles(resources);
    expect(grants).toEqual(Object.fromEntries(Object.values(FUNCTIONS).map((id) => [id, { [`${id}LogGroup`]: LOGS }])));
    const durableActions = Object.values(grants)
      .flatMap(allActions)
      .filter((action) => action.startsWith('sqs:') || action.startsWith('dynamodb:'));
    expect(durableActions).toEqual([]);
    expect(Object.values(resources).filter((resource) => /^AWS::(SQS|DynamoDB)::/.test(resource.Type))).toEqual([]);
  });
});

describe('serverless.yml IAM with named secrets and idempotencyTable=true', () => {
  let resources: Record<string, Resource>;
  let serviceDir: string;
  const env = { MIRROR_CONFIG: SECRETS_CONFIG };
  beforeAll(async () => {
    ({ resources, serviceDir } = await deployedTemplate(['idempotencyTable=true'], env));
  }, 60_000);

  it('gives every role the statements scripts/iam-statements.cjs builds for the config', async () => {
    // Prepare
    const expected = await iamStatements({ env, serviceDir, warn: () => undefined });

    // Act
    const secrets = Object.values(FUNCTIONS).map((id) => policiesOf(resources, `${id}Role`).find((policy) => policy.PolicyName === 'secrets')?.PolicyDocument.Statement);

    // Assess
    expect(expected).toHaveLength(2);
    for (const statements of secrets) expect(statements).toEqual(expected);
  });

  it('lets only the webhook use the idempotency table', () => {
    // Act
    const users = Object.entries(FUNCTIONS)
      .map(([name, id]) => ({ name, grants: grantsOf(policiesOf(resources, `${id}Role`)) }))
      .filter(({ grants }) => 'IdempotencyTable' in grants);

    // Assess
    expect(users).toEqual([{ name: 'webhook', grants: expect.objectContaining({ IdempotencyTable: ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'] }) }]);
  });
});
