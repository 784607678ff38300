import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { ConditionalCheckFailedException, DescribeTableCommand, DynamoDBClient, GetItemCommand, ListTablesCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import {
  ChangeMessageVisibilityCommand,
  GetQueueAttributesCommand,
  ListQueuesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startLocalEngines, type LocalEngines } from '../../dev/engines';
import { provisionLocal, ProvisionError } from '../../scripts/provision-local';

const ROOT = resolve(import.meta.dirname, '../..');
const SERVERLESS_TEXT = readFileSync(join(ROOT, 'serverless.yml'), 'utf8');
interface QueueDefinition {
  readonly Properties: { readonly VisibilityTimeout: number; readonly MessageRetentionPeriod: number; readonly RedrivePolicy: { readonly maxReceiveCount: number } };
}
interface TableDefinition {
  readonly Properties: { readonly KeySchema: unknown; readonly AttributeDefinitions: unknown; readonly GlobalSecondaryIndexes: readonly { readonly IndexName: string; readonly KeySchema: unknown }[] };
}
const DECLARED = (parse(SERVERLESS_TEXT) as { resources: { Resources: { PushQueue: QueueDefinition; PushDeadLetterQueue: QueueDefinition; LedgerTable: TableDefinition } } }).resources.Resources;
const CLIENT = { region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
const quiet = (): void => undefined;

let running: LocalEngines;
let env: Record<string, string>;
let sqs: SQSClient;
let dynamodb: DynamoDBClient;
let dir: string;
beforeEach(async () => {
  running = await startLocalEngines();
  env = { AWS_ENDPOINT_URL_SQS: running.sqsEndpoint, AWS_ENDPOINT_URL_DYNAMODB: running.dynamodbEndpoint };
  sqs = new SQSClient({ ...CLIENT, endpoint: running.sqsEndpoint });
  dynamodb = new DynamoDBClient({ ...CLIENT, endpoint: running.dynamodbEndpoint });
  dir = mkdtempSync(join(tmpdir(), 'provision-local-'));
});
afterEach(async () => {
  sqs.destroy();
  dynamodb.destroy();
  await running.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A copy of serverless.yml with one text replaced, to provision a changed definition. */
function serverlessWith(from: string, to: string): string {
  expect(SERVERLESS_TEXT).toContain(from);
  const file = join(dir, 'serverless.yml');
  writeFileSync(file, SERVERLESS_TEXT.replace(from, to));
  return file;
}

async function queueAttributes(queueUrl: string): Promise<Record<string, string>> {
  return (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['All'] }))).Attributes ?? {};
}

describe('provisionLocal', () => {
  it('refuses to run unless both local endpoints are set', async () => {
    await expect(provisionLocal({ env: { AWS_ENDPOINT_URL_SQS: running.sqsEndpoint }, warn: quiet })).rejects.toThrow(ProvisionError);
    await expect(provisionLocal({ env: { AWS_ENDPOINT_URL_DYNAMODB: running.dynamodbEndpoint, AWS_ENDPOINT_URL_SQS: ' ' }, warn: quiet })).rejects.toThrow(/AWS_ENDPOINT_URL_SQS and AWS_ENDPOINT_URL_DYNAMODB/);
  });

  it('creates the queues and the table as serverless.yml declares them', async () => {
    // Act
    const variables = await provisionLocal({ env, warn: quiet });

    // Assess
    expect(Object.keys(variables)).toEqual(['PUSH_QUEUE_URL', 'PUSH_DLQ_URL', 'LEDGER_TABLE']);
    expect(variables.PUSH_QUEUE_URL).toBe(`${running.sqsEndpoint}/000000000000/codehub-mirror-bridge-dev-push`);
    expect(variables.LEDGER_TABLE).toBe('codehub-mirror-bridge-dev-ledger');
    const queue = await queueAttributes(variables.PUSH_QUEUE_URL ?? '');
    const deadLetter = await queueAttributes(variables.PUSH_DLQ_URL ?? '');
    expect(queue.VisibilityTimeout).toBe(String(DECLARED.PushQueue.Properties.VisibilityTimeout));
    expect(queue.MessageRetentionPeriod).toBe(String(DECLARED.PushQueue.Properties.MessageRetentionPeriod));
    expect(JSON.parse(queue.RedrivePolicy ?? '{}')).toEqual({ deadLetterTargetArn: deadLetter.QueueArn, maxReceiveCount: DECLARED.PushQueue.Properties.RedrivePolicy.maxReceiveCount });
    expect(deadLetter.MessageRetentionPeriod).toBe(String(DECLARED.PushDeadLetterQueue.Properties.MessageRetentionPeriod));
    const { Table: table } = await dynamodb.send(new DescribeTableCommand({ TableName: variables.LEDGER_TABLE }));
    expect(table?.KeySchema).toEqual(DECLARED.LedgerTable.Properties.KeySchema);
    expect(table?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
    expect(table?.GlobalSecondaryIndexes?.map((index) => [index.IndexName, index.KeySchema])).toEqual(
      DECLARED.LedgerTable.Properties.GlobalSecondaryIndexes.map((index) => [index.IndexName, index.KeySchema]),
    );
  });

  it('is idempotent: a second run returns the same resources and keeps their contents', async () => {
    // Prepare
    const first = await provisionLocal({ env, warn: quiet });
    await sqs.send(new SendMessageCommand({ QueueUrl: first.PUSH_QUEUE_URL, MessageBody: 'kept' }));

    // Act
    const second = await provisionLocal({ env, warn: quiet });

    // Assess
    expect(second).toEqual(first);
    expect((await sqs.send(new ListQueuesCommand({}))).QueueUrls?.sort()).toEqual([first.PUSH_DLQ_URL, first.PUSH_QUEUE_URL].sort());
    expect((await dynamodb.send(new ListTablesCommand({}))).TableNames).toEqual([first.LEDGER_TABLE]);
    expect((await queueAttributes(first.PUSH_QUEUE_URL ?? '')).ApproximateNumberOfMessages).toBe('1');
  });

  it('brings an existing queue in line with a changed definition', async () => {
    // Prepare
    const before = await provisionLocal({ env, serverlessFile: serverlessWith('VisibilityTimeout: 360', 'VisibilityTimeout: 30'), warn: quiet });
    expect((await queueAttributes(before.PUSH_QUEUE_URL ?? '')).VisibilityTimeout).toBe('30');

    // Act
    const after = await provisionLocal({ env, warn: quiet });

    // Assess
    expect((await queueAttributes(after.PUSH_QUEUE_URL ?? '')).VisibilityTimeout).toBe('360');
  });

  it('refuses a table that exists with another key schema', async () => {
    const KEYS = '- { AttributeName: pk, KeyType: HASH }\n          - { AttributeName: sk, KeyType: RANGE }';
    // Prepare
    await provisionLocal({ env, serverlessFile: serverlessWith(KEYS, KEYS.replace('pk, KeyType: HASH', 'sk, KeyType: HASH').replace('sk, KeyType: RANGE', 'pk, KeyType: RANGE')), warn: quiet });

    // Act
    const again = provisionLocal({ env, warn: quiet });

    // Assess
    await expect(again).rejects.toThrow(/exists with another key schema/);
  });

  it('refuses a definition it cannot reproduce locally rather than dropping part of it', async () => {
    const file = serverlessWith('VisibilityTimeout: 360', 'VisibilityTimeout: 360\n        KmsMasterKeyId: alias/aws/sqs');
    await expect(provisionLocal({ env, serverlessFile: file, warn: quiet })).rejects.toThrow(/PushQueue: property KmsMasterKeyId has no local counterpart/);
  });

  it('says when the engine cannot enable the table TTL', async () => {
    const warnings: string[] = [];
    await provisionLocal({ env, warn: (message) => warnings.push(message) });
    expect(warnings).toEqual(["the DynamoDB engine cannot expire items: codehub-mirror-bridge-dev-ledger's TTL on expires_at is not enabled locally"]);
  });
});

describe('the provisioned resources', () => {
  it('the table accepts a conditional put once and rejects the second', async () => {
    // Prepare
    const { LEDGER_TABLE: table } = await provisionLocal({ env, warn: quiet });
    const put = (state: string) =>
      dynamodb.send(
        new PutItemCommand({ TableName: table, Item: { pk: { S: 'PUSH#p1' }, sk: { S: 'PUSH' }, state: { S: state } }, ConditionExpression: 'attribute_not_exists(pk)' }),
      );

    // Act
    await put('received');
    const second = put('overwritten');

    // Assess
    await expect(second).rejects.toBeInstanceOf(ConditionalCheckFailedException);
    const { Item: item } = await dynamodb.send(new GetItemCommand({ TableName: table, Key: { pk: { S: 'PUSH#p1' }, sk: { S: 'PUSH' } } }));
    expect(item?.state?.S).toBe('received');
  });

  it('a message sent with DelaySeconds is not received before its delay', async () => {
    // Prepare
    const { PUSH_QUEUE_URL: queueUrl } = await provisionLocal({ env, warn: quiet });
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'confirm p1', DelaySeconds: 1 }));

    // Act
    const early = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 0 }));
    const later = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 5 }));

    // Assess
    expect(early.Messages ?? []).toEqual([]);
    expect(later.Messages?.map((message) => message.Body)).toEqual(['confirm p1']);
  });

  it('a message received more than maxReceiveCount times lands in the DLQ', async () => {
    // Prepare
    const { PUSH_QUEUE_URL: queueUrl, PUSH_DLQ_URL: deadLetterUrl } = await provisionLocal({ env, warn: quiet });
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'confirm p2' }));
    const { maxReceiveCount } = DECLARED.PushQueue.Properties.RedrivePolicy;

    // Act: each receive fails (the worker throws) and hands the message back at once.
    for (let receive = 1; receive <= maxReceiveCount; receive += 1) {
      const { Messages: messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 1 }));
      expect(messages.map((message) => message.Body)).toEqual(['confirm p2']);
      await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: messages[0]?.ReceiptHandle, VisibilityTimeout: 0 }));
    }
    const past = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 0 }));

    // Assess
    expect(past.Messages ?? []).toEqual([]);
    const dead = await sqs.send(new ReceiveMessageCommand({ QueueUrl: deadLetterUrl, WaitTimeSeconds: 1 }));
    expect(dead.Messages?.map((message) => message.Body)).toEqual(['confirm p2']);
  });
});

describe('serverless.yml durable=local', () => {
  it('takes each variable provision-local prints from the environment of the same name', () => {
    const template = parse(SERVERLESS_TEXT) as { provider: { environment: Record<string, unknown> }; custom: { durable: Record<string, Record<string, unknown>> } };
    const fromEnvironment = Object.entries(template.provider.environment).flatMap(([name, value]) => {
      const key = /^\$\{self:custom\.durable\.\$\{param:durable\}\.(\w+)\}$/.exec(String(value))?.[1];
      return key === undefined ? [] : [[name, template.custom.durable.local?.[key]]];
    });
    expect(fromEnvironment).toEqual([
      ['PUSH_QUEUE_URL', "${env:PUSH_QUEUE_URL, ''}"],
      ['PUSH_DLQ_URL', "${env:PUSH_DLQ_URL, ''}"],
      ['LEDGER_TABLE', "${env:LEDGER_TABLE, ''}"],
    ]);
  });
});

describe('npm run provision-local', () => {
  it('prints NAME=value lines whose queue URLs resolve to the engine', async () => {
    // Act
    const { stdout } = await promisify(execFile)(join(ROOT, 'node_modules/.bin/tsx'), ['scripts/provision-local.ts'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    });

    // Assess
    const lines = stdout.trim().split('\n');
    expect(lines.map((line) => line.split('=')[0])).toEqual(['PUSH_QUEUE_URL', 'PUSH_DLQ_URL', 'LEDGER_TABLE']);
    const variables = Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
    expect(variables.LEDGER_TABLE).toBe('codehub-mirror-bridge-dev-ledger');
    for (const name of ['PUSH_QUEUE_URL', 'PUSH_DLQ_URL']) {
      const url = new URL(variables[name] ?? '');
      expect(url.hostname).toBe('127.0.0.1');
      // A client that knows only the URL (its origin as the endpoint) reaches the queue.
      const byUrl = new SQSClient({ ...CLIENT, endpoint: url.origin });
      const { Attributes: attributes } = await byUrl.send(new GetQueueAttributesCommand({ QueueUrl: url.href, AttributeNames: ['QueueArn'] }));
      byUrl.destroy();
      expect(attributes?.QueueArn).toMatch(/^arn:aws:sqs:us-east-1:000000000000:codehub-mirror-bridge-dev-push/);
    }
  });
});
