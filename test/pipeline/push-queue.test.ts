import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { ReceiveMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalEngines, type LocalEngines } from '../../dev/engines';
import { clampDelaySeconds, createPushQueue, parseTask, QueueError, type ConfirmTask, type PushQueue } from '../../lib/pipeline/push-queue';
import { provisionLocal } from '../../scripts/provision-local';

const TASK: ConfirmTask = { v: 1, kind: 'confirm', push_id: 'AbCdEfGhIjKlMnOpQrSt_-', mirror: 'acme/app', attempt: 1, arrived_at: 1_767_225_600_000 };

let engines: LocalEngines;
let queueUrl: string;
let deadLetterUrl: string;
let queue: PushQueue;
let reader: SQSClient;

const ENV_NAMES = ['AWS_ENDPOINT_URL_SQS', 'AWS_ENDPOINT_URL_DYNAMODB', 'AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'] as const;
const savedEnv = new Map(ENV_NAMES.map((name) => [name, process.env[name]]));

/**
 * The SDK's standard variables, as a deployment sets them. Set directly, not with vi.stubEnv: the
 * config unstubs after each test, and the clients made in beforeAll read them at their first call.
 */
function setEngineEnv(sqsEndpoint: string): void {
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SQS: sqsEndpoint,
    AWS_ENDPOINT_URL_DYNAMODB: engines.dynamodbEndpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
  });
}

beforeAll(async () => {
  engines = await startLocalEngines();
  setEngineEnv(engines.sqsEndpoint);
  const env = await provisionLocal({ env: process.env, warn: () => undefined });
  queueUrl = env.PUSH_QUEUE_URL ?? '';
  deadLetterUrl = env.PUSH_DLQ_URL ?? '';
  queue = createPushQueue({ queueUrl, deadLetterUrl });
  // The test's own reader: it looks at the queues as any SQS client would, apart from the code under test.
  reader = new SQSClient({ endpoint: engines.sqsEndpoint });
});

afterAll(async () => {
  queue.close();
  reader.destroy();
  for (const [name, value] of savedEnv) {
    if (value === undefined) Reflect.deleteProperty(process.env, name);
    else process.env[name] = value;
  }
  await engines.close();
});

async function receive(url: string, waitSeconds: number): Promise<Message[]> {
  const { Messages: messages = [] } = await reader.send(
    new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: waitSeconds, MaxNumberOfMessages: 10, MessageSystemAttributeNames: ['All'] }),
  );
  return messages;
}

/** A TCP port nothing listens on: opened by the OS, then closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('createPushQueue against fauxqs', () => {
  it('finds the queues provisioned from serverless.yml', () => {
    // Assess
    expect(queueUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\d+\/.+-push$/);
    expect(deadLetterUrl).toMatch(/-push-dlq$/);
  });

  it('keeps a delayed confirm task invisible until its delay has passed, then delivers it intact', async () => {
    // Prepare
    const task: ConfirmTask = { ...TASK, attempt: 2 };

    // Act
    const sent = await queue.sendConfirm(task, 2);
    const early = await receive(queueUrl, 0);
    const later = await receive(queueUrl, 5);

    // Assess
    expect(sent).toEqual({ kind: 'sent', messageId: expect.any(String) });
    expect(early).toEqual([]);
    expect(later.map((message) => message.MessageId)).toEqual([sent.messageId]);
    const [message] = later;
    const waitedMs = Number(message?.Attributes?.ApproximateFirstReceiveTimestamp) - Number(message?.Attributes?.SentTimestamp);
    expect(waitedMs).toBeGreaterThanOrEqual(2000);
    expect(parseTask(message?.Body ?? '')).toEqual({ ok: true, task });
  });

  it('puts a failed push on the DLQ, named by its push_id, with the reason on one line', async () => {
    // Act
    const sent = await queue.sendFailed(TASK, 'refs/heads/main not at the pushed commit\nafter 1440 min', 1_767_312_000_000);
    const messages = await receive(deadLetterUrl, 2);

    // Assess
    expect(messages.map((message) => message.MessageId)).toEqual([sent.messageId]);
    expect(parseTask(messages[0]?.Body ?? '')).toEqual({
      ok: true,
      task: { ...TASK, kind: 'failed', reason: 'refs/heads/main not at the pushed commit after 1440 min', failed_at: 1_767_312_000_000 },
    });
  });

  it('answers QUEUE_REJECTED for a queue SQS does not know', async () => {
    // Prepare
    const missing = createPushQueue({ queueUrl: `${engines.sqsEndpoint}/000000000000/no-such-queue`, deadLetterUrl });

    // Act
    const error = await missing.sendConfirm(TASK, 0).catch((caught: unknown) => caught);
    missing.close();

    // Assess
    expect(error).toBeInstanceOf(QueueError);
    expect(error).toMatchObject({ code: 'QUEUE_REJECTED', operation: 'SendMessage' });
  });

  it('reaches SQS only through AWS_ENDPOINT_URL_SQS: a dead endpoint fails quickly with QUEUE_UNAVAILABLE, though the queue URL is live', async () => {
    // Prepare
    setEngineEnv(`http://127.0.0.1:${await closedPort()}`);
    const unreachable = createPushQueue({ queueUrl, deadLetterUrl });
    const started = Date.now();

    // Act
    const error = await unreachable.sendConfirm(TASK, 0).catch((caught: unknown) => caught);
    const elapsedMs = Date.now() - started;
    unreachable.close();
    setEngineEnv(engines.sqsEndpoint);

    // Assess
    expect(error).toBeInstanceOf(QueueError);
    expect(error).toMatchObject({ code: 'QUEUE_UNAVAILABLE', operation: 'SendMessage' });
    expect(elapsedMs).toBeLessThan(3000);
  });

  it('gives up on an endpoint that accepts but never answers within timeoutMs', async () => {
    // Prepare
    const sockets: Socket[] = [];
    const silent: Server = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    setEngineEnv(`http://127.0.0.1:${(silent.address() as AddressInfo).port}`);
    const stalled = createPushQueue({ queueUrl, deadLetterUrl, timeoutMs: 500 });
    const started = Date.now();

    // Act
    const error = await stalled.sendConfirm(TASK, 0).catch((caught: unknown) => caught);
    const elapsedMs = Date.now() - started;
    stalled.close();
    setEngineEnv(engines.sqsEndpoint);
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));

    // Assess
    expect(error).toMatchObject({ name: 'QueueError', code: 'QUEUE_UNAVAILABLE' });
    expect(elapsedMs).toBeLessThan(2500);
  });
});

describe('clampDelaySeconds', () => {
  it('keeps delays in SQS range, in whole seconds, never earlier than asked', () => {
    // Assess
    expect([-5, 0, 1.2, 20, 900, 901, 86_400, Number.NaN, Number.POSITIVE_INFINITY].map(clampDelaySeconds)).toEqual([0, 0, 2, 20, 900, 900, 900, 0, 900]);
  });
});

describe('parseTask', () => {
  const body = (fields: Record<string, unknown>): string => JSON.stringify({ ...TASK, ...fields });

  it('reads a confirm task and a failed notice of version 1', () => {
    // Prepare
    const failed = { ...TASK, kind: 'failed', reason: 'gave up', failed_at: TASK.arrived_at + 1 };

    // Assess
    expect(parseTask(JSON.stringify(TASK))).toEqual({ ok: true, task: TASK });
    expect(parseTask(JSON.stringify(failed))).toEqual({ ok: true, task: failed });
  });

  it.each([
    ['not JSON', '{"v":1,'],
    ['a JSON array', '[1]'],
    ['JSON null', 'null'],
    ['another version', body({ v: 2 })],
    ['a version as text', body({ v: '1' })],
    ['no version', JSON.stringify({ ...TASK, v: undefined })],
    ['another kind', body({ kind: 'sync' })],
    ['an unknown field', body({ delivery: 'x' })],
    ['a failed field on a confirm task', body({ reason: 'x' })],
    ['a missing mirror', JSON.stringify({ ...TASK, mirror: undefined })],
    ['a push_id of another shape', body({ push_id: 'short' })],
    ['an empty mirror', body({ mirror: '' })],
    ['a mirror with a line break', body({ mirror: 'acme\nforged log line' })],
    ['attempt 0', body({ attempt: 0 })],
    ['a fractional attempt', body({ attempt: 1.5 })],
    ['attempt as text', body({ attempt: '1' })],
    ['a negative arrival', body({ arrived_at: -1 })],
    ['a failed notice without a reason', body({ kind: 'failed', failed_at: TASK.arrived_at })],
    ['a failed notice without failed_at', body({ kind: 'failed', reason: 'gave up' })],
    ['a body larger than SQS allows', body({ mirror: 'm'.repeat(300_000) })],
  ])('refuses %s without throwing', (_, text) => {
    // Act
    const parsed = parseTask(text);

    // Assess
    expect(parsed).toEqual({ ok: false, problem: expect.any(String) });
  });

  it('names the field at fault, never its value', () => {
    // Act
    const parsed = parseTask(body({ push_id: 'ghp_secretTokenValue' }));

    // Assess
    expect(parsed).toEqual({ ok: false, problem: 'push_id is not a push id' });
  });
});

describe('createPushQueue before sending', () => {
  it('refuses to send a task the worker could not read', async () => {
    // Prepare
    const bad: ConfirmTask = { ...TASK, push_id: 'not-a-push-id' };

    // Act
    const error = await queue.sendConfirm(bad, 0).catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(RangeError);
    expect(await receive(queueUrl, 0)).toEqual([]);
  });
});
