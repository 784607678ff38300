import type { SQSRecord } from 'aws-lambda';
import { GetQueueAttributesCommand, ReceiveMessageCommand, SetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalEngines, type LocalEngines } from '../../dev/engines';
import { createSqsPoller, recordsDone, type SqsPoller } from '../../dev/sqs-poller';
import { createPushQueue, parseTask, type ConfirmTask, type PushQueue } from '../../lib/pipeline/push-queue';
import { provisionLocal } from '../../scripts/provision-local';

const ENV_NAMES = ['AWS_ENDPOINT_URL_SQS', 'AWS_ENDPOINT_URL_DYNAMODB', 'AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'] as const;
const savedEnv = new Map(ENV_NAMES.map((name) => [name, process.env[name]]));

let engines: LocalEngines;
let queueUrl: string;
let queue: PushQueue;
let poller: SqsPoller;
let reader: SQSClient;

function task(mirror: string): ConfirmTask {
  return { v: 1, kind: 'confirm', push_id: 'AbCdEfGhIjKlMnOpQrSt_-', mirror, attempt: 1, arrived_at: 1_767_225_600_000 };
}

beforeAll(async () => {
  engines = await startLocalEngines();
  // Set directly, not with vi.stubEnv: the config unstubs after each test, and the clients read them at first use.
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SQS: engines.sqsEndpoint,
    AWS_ENDPOINT_URL_DYNAMODB: engines.dynamodbEndpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
  });
  const env = await provisionLocal({ env: process.env, warn: () => undefined });
  queueUrl = env.PUSH_QUEUE_URL ?? '';
  queue = createPushQueue({ queueUrl, deadLetterUrl: env.PUSH_DLQ_URL ?? '' });
  poller = createSqsPoller({ queueUrl });
  reader = new SQSClient({ endpoint: engines.sqsEndpoint });
  // serverless.yml's 360 s would make "visible again" a six-minute test.
  await reader.send(new SetQueueAttributesCommand({ QueueUrl: queueUrl, Attributes: { VisibilityTimeout: '1' } }));
});

afterAll(async () => {
  queue.close();
  poller.close();
  reader.destroy();
  for (const [name, value] of savedEnv) {
    if (value === undefined) Reflect.deleteProperty(process.env, name);
    else process.env[name] = value;
  }
  await engines.close();
});

async function messagesOnQueue(): Promise<number> {
  const { Attributes: attributes = {} } = await reader.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return Number(attributes.ApproximateNumberOfMessages) + Number(attributes.ApproximateNumberOfMessagesNotVisible);
}

describe('createSqsPoller against fauxqs', () => {
  it('deletes the records the handler did, and gives back the failed one after the visibility timeout', async () => {
    // Prepare
    for (const mirror of ['a', 'b', 'c']) await queue.sendConfirm(task(mirror), 0);
    let first: SQSRecord[] = [];
    const failedMirror = 'b';

    // Act
    const firstPoll = await poller.pollOnce({ maxMessages: 10, waitSeconds: 1 }, async (records) => {
      first = records;
      const failed = records.filter((record) => {
        const parsed = parseTask(record.body);
        return parsed.ok && parsed.task.mirror === failedMirror;
      });
      return { batchItemFailures: failed.map((record) => ({ itemIdentifier: record.messageId })) };
    });
    const { Messages: hidden = [] } = await reader.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 0 }));
    let again: SQSRecord[] = [];
    const secondPoll = await poller.pollOnce({ maxMessages: 10, waitSeconds: 5 }, async (records) => {
      again = records;
      return { batchItemFailures: [] };
    });

    // Assess
    expect(firstPoll).toEqual({ received: 3, deleted: 2, failed: 1 });
    expect(first.map((record) => parseTask(record.body).ok)).toEqual([true, true, true]);
    expect(first[0]).toMatchObject({
      messageId: expect.any(String),
      receiptHandle: expect.any(String),
      eventSource: 'aws:sqs',
      eventSourceARN: expect.stringMatching(/^arn:aws:sqs:[a-z0-9-]+:\d+:.+-push$/),
      attributes: { ApproximateReceiveCount: '1', SentTimestamp: expect.stringMatching(/^\d+$/) },
    });
    expect(hidden).toEqual([]);
    expect(secondPoll).toEqual({ received: 1, deleted: 1, failed: 0 });
    expect(again.map((record) => parseTask(record.body))).toEqual([{ ok: true, task: task(failedMirror) }]);
    expect(again[0]?.attributes.ApproximateReceiveCount).toBe('2');
    expect(await messagesOnQueue()).toBe(0);
  });

  it('leaves the whole batch on the queue when the handler throws, and reports why', async () => {
    // Prepare
    await queue.sendConfirm(task('thrown'), 0);
    const failure = new Error('worker crashed');

    // Act
    const thrown = await poller.pollOnce({ maxMessages: 10, waitSeconds: 1 }, () => Promise.reject(failure));
    const retried = await poller.pollOnce({ maxMessages: 10, waitSeconds: 5 }, () => Promise.resolve(undefined));

    // Assess
    expect(thrown).toEqual({ received: 1, deleted: 0, failed: 1, handlerError: failure });
    expect(retried).toEqual({ received: 1, deleted: 1, failed: 0 });
    expect(await messagesOnQueue()).toBe(0);
  });

  it('answers an empty poll without calling the handler', async () => {
    // Prepare
    let called = false;

    // Act
    const summary = await poller.pollOnce({ maxMessages: 1, waitSeconds: 0 }, () => {
      called = true;
      return Promise.resolve(undefined);
    });

    // Assess
    expect(summary).toEqual({ received: 0, deleted: 0, failed: 0 });
    expect(called).toBe(false);
  });
});

describe('recordsDone', () => {
  const records = ['m1', 'm2'].map((messageId) => ({ messageId, receiptHandle: `r-${messageId}` }) as SQSRecord);

  it('is every record for no response or no failures, and all but the reported ones otherwise', () => {
    // Assess
    expect(recordsDone(records, undefined).map((record) => record.messageId)).toEqual(['m1', 'm2']);
    expect(recordsDone(records, { batchItemFailures: [] }).map((record) => record.messageId)).toEqual(['m1', 'm2']);
    expect(recordsDone(records, { batchItemFailures: [{ itemIdentifier: 'm2' }] }).map((record) => record.messageId)).toEqual(['m1']);
  });

  it('is none when a failure names no record of the batch, as Lambda fails the whole batch then', () => {
    // Assess
    expect(recordsDone(records, { batchItemFailures: [{ itemIdentifier: '' }] })).toEqual([]);
    expect(recordsDone(records, { batchItemFailures: [{ itemIdentifier: 'm1' }, { itemIdentifier: 'other' }] })).toEqual([]);
  });
});
