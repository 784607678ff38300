/**
 * `npm run provision-local`: creates the durable pipeline's queues and table in the local engines the
 * standard AWS_ENDPOINT_URL_SQS / AWS_ENDPOINT_URL_DYNAMODB point at, exactly as serverless.yml declares
 * them: the definitions are read from its `resources` (those under the `DurableEnabled` condition), so
 * the two cannot drift. Safe to run again: what exists is brought in line (queues) or checked (tables).
 * Prints the functions' environment, `NAME=value` one per line, with the names serverless.yml gives them
 * (PUSH_QUEUE_URL, PUSH_DLQ_URL, LEDGER_TABLE).
 *
 * It refuses to run without both endpoint variables: with them unset the SDK would create the resources
 * in whatever AWS account the machine's credentials reach.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
  type CreateTableCommandInput,
} from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueAttributesCommand, GetQueueUrlCommand, QueueNameExists, SetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { parse } from 'yaml';

const ROOT = resolve(import.meta.dirname, '..');
/** The condition serverless.yml puts on every resource of the durable pipeline. */
const DURABLE_CONDITION = 'DurableEnabled';
/** CloudFormation properties of AWS::SQS::Queue that are queue attributes of the same name. */
const QUEUE_ATTRIBUTES = new Set(['VisibilityTimeout', 'MessageRetentionPeriod', 'DelaySeconds', 'ReceiveMessageWaitTimeSeconds', 'MaximumMessageSize', 'RedrivePolicy', 'FifoQueue', 'ContentBasedDeduplication']);
const TABLE_PROPERTIES = new Set(['TableName', 'BillingMode', 'AttributeDefinitions', 'KeySchema', 'GlobalSecondaryIndexes', 'TimeToLiveSpecification']);

export class ProvisionError extends Error {
  override readonly name = 'ProvisionError';
}

export interface ProvisionOptions {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** @default the repository's serverless.yml */
  readonly serverlessFile?: string;
  /** `${sls:stage}` in resource names. @default env.STAGE, else 'dev' (serverless.yml's default) */
  readonly stage?: string;
  /** Where notes go (e.g. an engine without TTL support). @default stderr */
  readonly warn?: (message: string) => void;
}

type Yaml = unknown;
interface Resource {
  readonly Type: string;
  readonly Condition?: string;
  readonly Properties: Record<string, Yaml>;
}
/** What a provisioned resource answers to `Ref` and `Fn::GetAtt`. */
interface Provisioned {
  readonly ref: string;
  readonly attributes: Readonly<Record<string, string>>;
}

function isRecord(value: Yaml): value is Record<string, Yaml> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Provisions the resources and returns the functions' environment (NAME → value). */
export async function provisionLocal(options: ProvisionOptions): Promise<Record<string, string>> {
  const { env } = options;
  const sqsEndpoint = env.AWS_ENDPOINT_URL_SQS?.trim() ?? '';
  const dynamodbEndpoint = env.AWS_ENDPOINT_URL_DYNAMODB?.trim() ?? '';
  if (sqsEndpoint === '' || dynamodbEndpoint === '') {
    throw new ProvisionError('set AWS_ENDPOINT_URL_SQS and AWS_ENDPOINT_URL_DYNAMODB to the local engines (this script never provisions in AWS)');
  }
  const template = parse(readFileSync(options.serverlessFile ?? resolve(ROOT, 'serverless.yml'), 'utf8')) as Yaml;
  if (!isRecord(template)) throw new ProvisionError('serverless.yml is not a mapping');
  const variables: Record<string, string> = {
    'self:service': String(template.service),
    'sls:stage': options.stage ?? (env.STAGE?.trim() || 'dev'),
    'param:durable': 'true',
  };
  const resolveValue = (value: Yaml, done: ReadonlyMap<string, Provisioned>): Yaml => resolveIntrinsics(value, variables, done);

  // Dummy credentials: the local engines accept any signature, but the SDK will not sign without some.
  const clientConfig = {
    region: env.AWS_REGION?.trim() || env.AWS_DEFAULT_REGION?.trim() || 'us-east-1',
    credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID?.trim() || 'local', secretAccessKey: env.AWS_SECRET_ACCESS_KEY?.trim() || 'local' },
  };
  const sqs = new SQSClient({ ...clientConfig, endpoint: sqsEndpoint });
  const dynamodb = new DynamoDBClient({ ...clientConfig, endpoint: dynamodbEndpoint });
  const warn = options.warn ?? ((message: string) => process.stderr.write(`provision-local: ${message}\n`));
  try {
    const done = new Map<string, Provisioned>();
    for (const [logicalId, resource] of orderByReferences(durableResources(template))) {
      const properties = resolveValue(resource.Properties, done);
      if (!isRecord(properties)) throw new ProvisionError(`${logicalId}: Properties is not a mapping`);
      if (resource.Type === 'AWS::SQS::Queue') done.set(logicalId, await provisionQueue(sqs, logicalId, properties));
      else done.set(logicalId, await provisionTable(dynamodb, logicalId, properties, warn));
    }
    return functionEnvironment(template, (value) => resolveValue(value, done));
  } finally {
    sqs.destroy();
    dynamodb.destroy();
  }
}

/** The queues and tables under the durable condition (alarms and IAM have no local counterpart). */
function durableResources(template: Record<string, Yaml>): Map<string, Resource> {
  const resources = isRecord(template.resources) && isRecord(template.resources.Resources) ? template.resources.Resources : {};
  const found = new Map<string, Resource>();
  for (const [logicalId, resource] of Object.entries(resources)) {
    if (!isRecord(resource) || resource.Condition !== DURABLE_CONDITION) continue;
    if (resource.Type !== 'AWS::SQS::Queue' && resource.Type !== 'AWS::DynamoDB::Table') continue;
    if (!isRecord(resource.Properties)) throw new ProvisionError(`${logicalId} has no Properties`);
    found.set(logicalId, { Type: resource.Type, Condition: DURABLE_CONDITION, Properties: resource.Properties });
  }
  if (found.size === 0) throw new ProvisionError(`serverless.yml declares no queue or table under the ${DURABLE_CONDITION} condition`);
  return found;
}

/** Logical ids a value refers to (Ref, Fn::GetAtt). */
function referencesIn(value: Yaml, into = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const item of value) referencesIn(item, into);
  else if (isRecord(value)) {
    if (typeof value.Ref === 'string') into.add(value.Ref);
    const getAtt = value['Fn::GetAtt'];
    if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') into.add(getAtt[0]);
    for (const item of Object.values(value)) referencesIn(item, into);
  }
  return into;
}

/** Each resource after those it refers to (the DLQ before the queue that redrives into it). */
function orderByReferences(resources: Map<string, Resource>): [string, Resource][] {
  const ordered: [string, Resource][] = [];
  const visiting = new Set<string>();
  const visit = (logicalId: string): void => {
    if (ordered.some(([id]) => id === logicalId)) return;
    const resource = resources.get(logicalId);
    if (resource === undefined) throw new ProvisionError(`a durable resource refers to ${logicalId}, which is not a durable queue or table`);
    if (visiting.has(logicalId)) throw new ProvisionError(`${logicalId} refers to itself through its references`);
    visiting.add(logicalId);
    for (const reference of referencesIn(resource.Properties)) visit(reference);
    ordered.push([logicalId, resource]);
  };
  for (const logicalId of resources.keys()) visit(logicalId);
  return ordered;
}

/**
 * Resolves the few serverless variables (${self:service}, ${sls:stage}, ${param:durable}) and the
 * intrinsics (Ref, Fn::GetAtt) the durable resources use. Anything else is an error, not a guess.
 */
function resolveIntrinsics(value: Yaml, variables: Readonly<Record<string, string>>, done: ReadonlyMap<string, Provisioned>): Yaml {
  if (typeof value === 'string') {
    return value.replace(/\$\{([^}]+)\}/g, (_, name: string) => {
      const known = variables[name.trim()];
      if (known === undefined) throw new ProvisionError(`serverless.yml variable \${${name}} is not one provision-local resolves`);
      return known;
    });
  }
  if (Array.isArray(value)) return value.map((item) => resolveIntrinsics(item, variables, done));
  if (!isRecord(value)) return value;
  if ('Ref' in value) return provisioned(done, String(value.Ref)).ref;
  const getAtt = value['Fn::GetAtt'];
  if (getAtt !== undefined) {
    if (!Array.isArray(getAtt) || getAtt.length !== 2) throw new ProvisionError('Fn::GetAtt wants [LogicalId, Attribute]');
    const [logicalId, attribute] = getAtt.map(String) as [string, string];
    const resolved = provisioned(done, logicalId).attributes[attribute];
    if (resolved === undefined) throw new ProvisionError(`Fn::GetAtt ${logicalId}.${attribute} is not one provision-local resolves`);
    return resolved;
  }
  const intrinsic = Object.keys(value).find((key) => key.startsWith('Fn::'));
  if (intrinsic !== undefined) throw new ProvisionError(`${intrinsic} is not an intrinsic provision-local resolves`);
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, resolveIntrinsics(item, variables, done)]));
}

function provisioned(done: ReadonlyMap<string, Provisioned>, logicalId: string): Provisioned {
  const resource = done.get(logicalId);
  if (resource === undefined) throw new ProvisionError(`${logicalId} is referred to but is not a durable queue or table`);
  return resource;
}

async function provisionQueue(sqs: SQSClient, logicalId: string, properties: Record<string, Yaml>): Promise<Provisioned> {
  const { QueueName: queueName, ...rest } = properties;
  if (typeof queueName !== 'string') throw new ProvisionError(`${logicalId}: QueueName must be set (local queues are found by name)`);
  const attributes: Record<string, string> = {};
  for (const [key, value] of Object.entries(rest)) {
    if (!QUEUE_ATTRIBUTES.has(key)) throw new ProvisionError(`${logicalId}: property ${key} has no local counterpart in provision-local`);
    // The SQS API takes every attribute as a string, the redrive policy as JSON.
    attributes[key] = isRecord(value) ? JSON.stringify(value) : String(value);
  }
  let queueUrl: string;
  try {
    queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: queueName, Attributes: attributes }))).QueueUrl ?? '';
  } catch (error) {
    // It exists with other attributes (serverless.yml changed since): bring it in line.
    if (!isQueueNameExists(error)) throw error;
    queueUrl = (await sqs.send(new GetQueueUrlCommand({ QueueName: queueName }))).QueueUrl ?? '';
    await sqs.send(new SetQueueAttributesCommand({ QueueUrl: queueUrl, Attributes: attributes }));
  }
  const { Attributes: current } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
  const arn = current?.QueueArn;
  if (queueUrl === '' || arn === undefined) throw new ProvisionError(`${logicalId}: the SQS engine returned no URL or ARN for ${queueName}`);
  return { ref: queueUrl, attributes: { Arn: arn, QueueName: queueName, QueueUrl: queueUrl } };
}

/**
 * SQS's "exists with other attributes". Its JSON protocol may name the error by the Query protocol's
 * code (fauxqs: `AWS.SimpleQueueService.QueueNameExists`; AWS: `QueueAlreadyExists`), which the
 * SDK does not map to its QueueNameExists class.
 */
function isQueueNameExists(error: unknown): boolean {
  return error instanceof QueueNameExists || (error instanceof Error && /(^|\.)Queue(Name|Already)Exists$/.test(error.name));
}

async function provisionTable(dynamodb: DynamoDBClient, logicalId: string, properties: Record<string, Yaml>, warn: (message: string) => void): Promise<Provisioned> {
  for (const key of Object.keys(properties)) {
    if (!TABLE_PROPERTIES.has(key)) throw new ProvisionError(`${logicalId}: property ${key} has no local counterpart in provision-local`);
  }
  const { TimeToLiveSpecification: ttl, ...definition } = properties;
  const input = definition as unknown as CreateTableCommandInput;
  const tableName = input.TableName;
  if (typeof tableName !== 'string') throw new ProvisionError(`${logicalId}: TableName must be set (local tables are found by name)`);
  try {
    await dynamodb.send(new CreateTableCommand(input));
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
    // Keys cannot change in place; a table with other keys would fail the bridge's writes later.
    const { Table: existing } = await dynamodb.send(new DescribeTableCommand({ TableName: tableName }));
    const keys = (schema: readonly { AttributeName?: string | undefined; KeyType?: string | undefined }[] | undefined): string =>
      JSON.stringify((schema ?? []).map((key) => [key.AttributeName, key.KeyType]));
    if (keys(existing?.KeySchema) !== keys(input.KeySchema)) {
      throw new ProvisionError(`${logicalId}: table ${tableName} exists with another key schema; delete it (or the engine's data) and run again`);
    }
  }
  await waitUntilTableExists({ client: dynamodb, maxWaitTime: 30, minDelay: 1 }, { TableName: tableName });
  const { Table: table } = await dynamodb.send(new DescribeTableCommand({ TableName: tableName }));
  if (isRecord(ttl) && ttl.Enabled === true) await enableTimeToLive(dynamodb, tableName, String(ttl.AttributeName), warn);
  return { ref: tableName, attributes: { Arn: table?.TableArn ?? '' } };
}

async function enableTimeToLive(dynamodb: DynamoDBClient, tableName: string, attributeName: string, warn: (message: string) => void): Promise<void> {
  const { TimeToLiveDescription: current } = await dynamodb.send(new DescribeTimeToLiveCommand({ TableName: tableName }));
  if (current?.TimeToLiveStatus === 'ENABLED' || current?.TimeToLiveStatus === 'ENABLING') return;
  try {
    await dynamodb.send(new UpdateTimeToLiveCommand({ TableName: tableName, TimeToLiveSpecification: { AttributeName: attributeName, Enabled: true } }));
  } catch (error) {
    // dynalite has no UpdateTimeToLive: items keep their `attributeName` but never expire locally.
    if (!(error instanceof Error) || error.name !== 'UnknownOperationException') throw error;
    warn(`the DynamoDB engine cannot expire items: ${tableName}'s TTL on ${attributeName} is not enabled locally`);
  }
}

/**
 * The functions' variables that name durable resources: provider.environment entries of the form
 * ${self:custom.durable.${param:durable}.KEY}, resolved through custom.durable['true'].KEY.
 */
function functionEnvironment(template: Record<string, Yaml>, resolveValue: (value: Yaml) => Yaml): Record<string, string> {
  const environment = isRecord(template.provider) && isRecord(template.provider.environment) ? template.provider.environment : {};
  const durable = isRecord(template.custom) && isRecord(template.custom.durable) && isRecord(template.custom.durable.true) ? template.custom.durable.true : {};
  const variables: Record<string, string> = {};
  for (const [name, value] of Object.entries(environment)) {
    const key = typeof value === 'string' ? /^\$\{self:custom\.durable\.\$\{param:durable\}\.([A-Za-z0-9]+)\}$/.exec(value)?.[1] : undefined;
    if (key === undefined) continue;
    if (!(key in durable)) throw new ProvisionError(`provider.environment.${name} names custom.durable.true.${key}, which serverless.yml does not define`);
    variables[name] = String(resolveValue(durable[key]));
  }
  return variables;
}

async function main(): Promise<void> {
  const variables = await provisionLocal({ env: process.env });
  for (const [name, value] of Object.entries(variables)) process.stdout.write(`${name}=${value}\n`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((error: unknown) => {
    process.stderr.write(`provision-local: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
