import { lookup } from 'node:dns/promises';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, DynamoDBClient, GetItemCommand, ListTablesCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it } from 'vitest';
import { startLocalEngines, type LocalEngines } from '../../dev/engines';

const CLIENT = { region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
const started: LocalEngines[] = [];
const dirs: string[] = [];

async function engines(dataDir?: string): Promise<LocalEngines> {
  const running = await startLocalEngines(dataDir === undefined ? {} : { dataDir });
  started.push(running);
  return running;
}

async function closeEngines(running: LocalEngines): Promise<void> {
  started.splice(started.indexOf(running), 1);
  await running.close();
}

afterEach(async () => {
  await Promise.all(started.splice(0).map((running) => running.close()));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function createLedgerLikeTable(dynamodb: DynamoDBClient): Promise<void> {
  await dynamodb.send(
    new CreateTableCommand({
      TableName: 'kept',
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    }),
  );
}

describe('startLocalEngines', () => {
  it('serves SQS on loopback with queue URLs that resolve to the engine itself', async () => {
    // Prepare
    const running = await engines();
    const sqs = new SQSClient({ ...CLIENT, endpoint: running.sqsEndpoint });

    // Act
    const { QueueUrl: queueUrl = '' } = await sqs.send(new CreateQueueCommand({ QueueName: 'probe' }));
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'hello' }));
    const { Messages: messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 1 }));

    // Assess
    expect(running.sqsEndpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(queueUrl).toBe(`${running.sqsEndpoint}/000000000000/probe`);
    expect((await lookup(new URL(queueUrl).hostname)).address).toBe('127.0.0.1');
    expect(messages.map((message) => message.Body)).toEqual(['hello']);
    await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: messages[0]?.ReceiptHandle }));
    sqs.destroy();
  });

  it('keeps DynamoDB tables and items across a restart with a dataDir, and none without', async () => {
    // Prepare
    const dataDir = mkdtempSync(join(tmpdir(), 'engines-'));
    dirs.push(dataDir);
    const first = await engines(dataDir);
    const firstClient = new DynamoDBClient({ ...CLIENT, endpoint: first.dynamodbEndpoint });
    await createLedgerLikeTable(firstClient);
    await firstClient.send(new PutItemCommand({ TableName: 'kept', Item: { pk: { S: 'PUSH#1' }, state: { S: 'received' } } }));
    firstClient.destroy();
    await closeEngines(first);

    // Act
    const again = await engines(dataDir);
    const inMemory = await engines();
    const againClient = new DynamoDBClient({ ...CLIENT, endpoint: again.dynamodbEndpoint });
    const memoryClient = new DynamoDBClient({ ...CLIENT, endpoint: inMemory.dynamodbEndpoint });
    const { Item: item } = await againClient.send(new GetItemCommand({ TableName: 'kept', Key: { pk: { S: 'PUSH#1' } } }));
    const { TableNames: memoryTables } = await memoryClient.send(new ListTablesCommand({}));

    // Assess
    expect(again.dynamodbEndpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(item?.state?.S).toBe('received');
    expect(memoryTables).toEqual([]);
    againClient.destroy();
    memoryClient.destroy();
  });

  it('frees both ports on close', async () => {
    // Prepare
    const running = await engines();
    await fetch(running.dynamodbEndpoint, { method: 'POST' });

    // Act
    await closeEngines(running);

    // Assess
    await expect(fetch(running.sqsEndpoint)).rejects.toThrow();
    await expect(fetch(running.dynamodbEndpoint)).rejects.toThrow();
  });
});
