import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Context, SQSBatchResponse, SQSRecord } from 'aws-lambda';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startEmulator, type Emulator } from '../../dev/codehub-emulator/index';
import { startLocalEngines, type LocalEngines } from '../../dev/engines';
import { createSqsPoller, type SqsPoller } from '../../dev/sqs-poller';
import { closeTransportPools } from '../../lib/codehub/transport';
import { pushIdOf, pushKey } from '../../lib/ledger/push-id';
import { refsToConfirm } from '../../lib/ledger/refs';
import type { LedgerEntry } from '../../lib/ledger/types';
import { createLedgerStore, type LedgerStore } from '../../lib/pipeline/ledger-store';
import { createPushQueue, type PushQueue } from '../../lib/pipeline/push-queue';
import { provisionLocal } from '../../scripts/provision-local';
import { commit, git } from '../support/git';
import { fakeContext } from '../support/lambda';

/**
 * The worker's Lambda entry point as deployed: the environment in, records fed by the local stand-in
 * of the SQS event source mapping (dev/sqs-poller.ts) from the real local queue, the ledger in the
 * real local DynamoDB, CodeHub as the emulator with a real mirror.
 */

const TOKEN = 'worker-handler-TOKEN-0123';
const REPOSITORY_ID = 4200;
const SOURCE = 'github.com/acme/worker-app';
const ENV_NAMES = ['AWS_ENDPOINT_URL_SQS', 'AWS_ENDPOINT_URL_DYNAMODB', 'AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'] as const;
const savedEnv = new Map(ENV_NAMES.map((name) => [name, process.env[name]]));

let root: string;
let engines: LocalEngines;
let emulator: Emulator;
let variables: Record<string, string | undefined>;
let store: LedgerStore;
let queue: PushQueue;
let poller: SqsPoller;
let sender: SQSClient;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'worker-handler-'));
  engines = await startLocalEngines();
  // Set directly, not with vi.stubEnv: the SDK clients read them at their first call, after a test's unstub.
  Object.assign(process.env, { AWS_ENDPOINT_URL_SQS: engines.sqsEndpoint, AWS_ENDPOINT_URL_DYNAMODB: engines.dynamodbEndpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' });
  variables = await provisionLocal({ env: process.env, warn: () => undefined });
  store = createLedgerStore({ tableName: variables.LEDGER_TABLE ?? '' });
  queue = createPushQueue({ queueUrl: variables.PUSH_QUEUE_URL ?? '', deadLetterUrl: variables.PUSH_DLQ_URL ?? '' });
  poller = createSqsPoller({ queueUrl: variables.PUSH_QUEUE_URL ?? '' });
  sender = new SQSClient({ endpoint: engines.sqsEndpoint });
  emulator = await startEmulator({ dataDir: join(root, 'codehub'), credentials: { accessKeys: {}, tokens: [TOKEN] } });
});

afterAll(async () => {
  store.close();
  queue.close();
  poller.close();
  sender.destroy();
  await emulator.close();
  await closeTransportPools();
  await engines.close();
  for (const [name, value] of savedEnv) {
    if (value === undefined) Reflect.deleteProperty(process.env, name);
    else process.env[name] = value;
  }
  await rm(root, { recursive: true, force: true });
});

function stubEnvironment(durable: boolean): void {
  vi.stubEnv('MIRROR_CONFIG', JSON.stringify({ webhooks: { 'github.com': { secret: 'worker-hook-secret' } }, mirrors: [{ source: SOURCE, repository_id: REPOSITORY_ID }] }));
  vi.stubEnv('MIRROR_CONFIG_FILE', '');
  vi.stubEnv('CODEHUB_ENDPOINT', emulator.url);
  vi.stubEnv('CODEHUB_TOKEN', TOKEN);
  vi.stubEnv('LOG_LEVEL', 'INFO');
  vi.stubEnv('CONFIRM_AFTER_SECONDS', '1');
  for (const name of ['LEDGER_TABLE', 'PUSH_QUEUE_URL', 'PUSH_DLQ_URL'] as const) vi.stubEnv(name, durable ? (variables[name] ?? '') : '');
}

/** Everything written to stdout and stderr until `vi.restoreAllMocks()`. */
function captureOutput(): string[] {
  const written: string[] = [];
  for (const stream of [process.stdout, process.stderr]) {
    vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
  }
  return written;
}

const linesOf = (written: readonly string[]): Record<string, unknown>[] =>
  written.join('').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);

async function importHandler() {
  vi.resetModules();
  return (await import('../../handlers/worker')).handler;
}

/** A push CodeHub could not take when it arrived (`received`), recorded as the webhook would have. */
async function neverTriggeredPush(): Promise<{ entry: LedgerEntry; sha: string }> {
  const upstream = join(root, 'upstream');
  await git(root, 'init', '-q', '-b', 'main', upstream);
  const first = await commit(upstream, 'first');
  const sha = await commit(upstream, 'second');
  emulator.addRepository({ id: REPOSITORY_ID, name: 'worker-app', group: 'acme', upstream });
  const refs = [{ ref: 'refs/heads/main', before: first, after: sha, deleted: false }];
  const key = pushKey(SOURCE, refs);
  const entry: LedgerEntry = {
    pushId: pushIdOf(key),
    key,
    source: SOURCE,
    refs,
    arrivedAt: Date.now() - 5000,
    state: 'received',
    mirrors: [{ repositoryId: REPOSITORY_ID, state: 'received', refs: refsToConfirm(refs, { refs: undefined }, 'main'), jids: [], attempts: 0 }],
  };
  await store.recordPush(entry);
  return { entry, sha };
}

describe('handlers/worker', () => {
  it('fails only the record whose body is not a task, without echoing it, and does the others', async () => {
    // Prepare: a task for a push the ledger does not know (done: dropped), and a message that is not a task.
    stubEnvironment(true);
    const handler = await importHandler();
    await queue.sendConfirm({ v: 1, kind: 'confirm', push_id: 'NoSuchPushInTheLedger0', mirror: String(REPOSITORY_ID), attempt: 1, arrived_at: Date.now() }, 0);
    const junk = await sender.send(new SendMessageCommand({ QueueUrl: variables.PUSH_QUEUE_URL, MessageBody: '{"v":1,"kind":"confirm","push_id":"JUNK-BODY-DO-NOT-LOG"}' }));
    const written = captureOutput();
    let response: SQSBatchResponse | undefined;
    // Act
    const summary = await poller.pollOnce({ maxMessages: 10, waitSeconds: 2 }, async (records) => {
      response = await handler({ Records: records }, fakeContext() as Context);
      return response;
    });
    vi.restoreAllMocks();
    // Assess
    expect(summary).toEqual({ received: 2, deleted: 1, failed: 1 });
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: junk.MessageId }] });
    expect(linesOf(written)).toContainEqual(expect.objectContaining({ level: 'ERROR', message: 'queue message is not a task', messageId: junk.MessageId, problem: 'push_id is not a push id' }));
    expect(written.join('')).not.toContain('JUNK-BODY-DO-NOT-LOG');
  });

  it('triggers a push never triggered, confirms it at the next check, and publishes the metrics after each batch', async () => {
    // Prepare
    stubEnvironment(true);
    const handler = await importHandler();
    const { entry, sha } = await neverTriggeredPush();
    await queue.sendConfirm({ v: 1, kind: 'confirm', push_id: entry.pushId, mirror: String(REPOSITORY_ID), attempt: 1, arrived_at: entry.arrivedAt }, 0);
    const written = captureOutput();
    const invoke = (records: SQSRecord[]) => handler({ Records: records }, fakeContext() as Context);
    // Act: the first check triggers; the second (due CONFIRM_AFTER_SECONDS × 2 later) finds the commit.
    const first = await poller.pollOnce({ maxMessages: 10, waitSeconds: 2 }, invoke);
    await emulator.waitForIdle();
    const second = await poller.pollOnce({ maxMessages: 10, waitSeconds: 10 }, invoke);
    vi.restoreAllMocks();
    // Assess
    expect([first, second]).toEqual([
      { received: 1, deleted: 1, failed: 0 },
      { received: 1, deleted: 1, failed: 0 },
    ]);
    const lines = linesOf(written);
    expect(lines).toContainEqual(expect.objectContaining({ message: 'sync triggered', pushId: entry.pushId }));
    expect(lines).toContainEqual(expect.objectContaining({ message: 'push mirrored', pushId: entry.pushId }));
    // A first trigger writes no metric (SyncRetriggered counts repeats), so the only batch's EMF line is the second batch's.
    const emf = lines.filter((line) => '_aws' in line);
    expect(emf.filter((line) => !('CodeHubCallsPerMinute' in line))).toEqual([expect.objectContaining({ PushesMirrored: 1, ConfirmLag: expect.any(Number) })]);
    // Each CodeHub call the budget let through has its own line, by kind: one trigger, and the checks' reads.
    const calls = emf.filter((line) => 'CodeHubCallsPerMinute' in line);
    expect(calls.every((line) => line['CodeHubCallsPerMinute'] === 1 && typeof line['BudgetWaitMs'] === 'number')).toBe(true);
    expect(calls.filter((line) => line['kind'] === 'trigger')).toHaveLength(1);
    expect(calls.filter((line) => line['kind'] === 'read').length).toBeGreaterThan(0);
    expect((await store.getPush(entry.pushId))?.mirrors[0]).toMatchObject({ state: 'mirrored', confirmedHeads: { 'refs/heads/main': { sha } } });
  });

  it('refuses to start without the ledger: the worker has nothing to confirm without it', async () => {
    // Prepare
    stubEnvironment(false);
    // Act
    const failure = await importHandler().catch((error: unknown) => error);
    // Assess: a fresh module graph, so its ConfigError is matched by name, not by class
    expect(failure).toMatchObject({ name: 'ConfigError', code: 'CONFIG_INVALID', field: 'LEDGER_TABLE' });
  });
});
