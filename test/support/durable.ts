import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { createDynamoDbClient } from '../../lib/pipeline/ledger-client';
import { startLocalEngines, type LocalEngines } from '../../dev/engines';
import { provisionLocal } from '../../scripts/provision-local';
import { createLedgerStore, type LedgerStore } from '../../lib/pipeline/ledger-store';
import { createPushQueue, createSqsClient, parseTask, type PushQueue, type QueueTask } from '../../lib/pipeline/push-queue';

/**
 * The real local engines (fauxqs, dynalite) with the durable resources of serverless.yml, reached the
 * standard way: AWS_ENDPOINT_URL_* and credentials set in this process's environment until `close()`.
 */
export interface DurableEngines {
  readonly engines: LocalEngines;
  readonly tableName: string;
  readonly queueUrl: string;
  readonly deadLetterUrl: string;
  readonly store: LedgerStore;
  readonly queue: PushQueue;
  readonly sqs: SQSClient;
  /** The tasks on `queueUrl` visible within `waitSeconds`, received (and left to expire back). */
  receive(queueUrl: string, waitSeconds?: number): Promise<QueueTask[]>;
  close(): Promise<void>;
}

const ENV_NAMES = ['AWS_ENDPOINT_URL_SQS', 'AWS_ENDPOINT_URL_DYNAMODB', 'AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'] as const;

export async function startDurableEngines(): Promise<DurableEngines> {
  const engines = await startLocalEngines();
  const saved = new Map(ENV_NAMES.map((name) => [name, process.env[name]]));
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SQS: engines.sqsEndpoint,
    AWS_ENDPOINT_URL_DYNAMODB: engines.dynamodbEndpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
  });
  const variables = await provisionLocal({ env: process.env, warn: () => undefined });
  const tableName = variables.LEDGER_TABLE ?? '';
  const queueUrl = variables.PUSH_QUEUE_URL ?? '';
  const deadLetterUrl = variables.PUSH_DLQ_URL ?? '';
  const store = createLedgerStore({ tableName });
  const queue = createPushQueue({ queueUrl, deadLetterUrl });
  const sqs = createSqsClient({ requestTimeoutMs: 25_000 });
  return {
    engines,
    tableName,
    queueUrl,
    deadLetterUrl,
    store,
    queue,
    sqs,
    async receive(url, waitSeconds = 0) {
      const { Messages: messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: waitSeconds }));
      return messages.flatMap((message) => {
        const parsed = parseTask(message.Body ?? '');
        return parsed.ok ? [parsed.task] : [];
      });
    },
    async close() {
      store.close();
      queue.close();
      sqs.destroy();
      await engines.close();
      for (const [name, value] of saved) {
        if (value === undefined) Reflect.deleteProperty(process.env, name);
        else process.env[name] = value;
      }
    },
  };
}

/**
 * A DynamoDB client that reaches nothing, found the standard way (`AWS_ENDPOINT_URL_DYNAMODB` set to a
 * loopback port that was just free), with one short try; `restore()` puts the variable back and
 * destroys the client.
 */
export async function unreachableDynamoDb(): Promise<{ readonly client: DynamoDBClient; restore(): void }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  await new Promise((resolve) => server.close(resolve));
  const saved = process.env['AWS_ENDPOINT_URL_DYNAMODB'];
  process.env['AWS_ENDPOINT_URL_DYNAMODB'] = endpoint;
  const client = createDynamoDbClient({ requestTimeoutMs: 200, connectionTimeoutMs: 200, maxAttempts: 1 });
  return {
    client,
    restore() {
      client.destroy();
      if (saved === undefined) Reflect.deleteProperty(process.env, 'AWS_ENDPOINT_URL_DYNAMODB');
      else process.env['AWS_ENDPOINT_URL_DYNAMODB'] = saved;
    },
  };
}
