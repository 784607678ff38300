import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { startEmulator, type Emulator } from '../../dev/codehub-emulator';
import { buildDelivery } from '../../dev/deliveries';
import { createUpstream, type Upstream } from '../../dev/upstream';
import { createStaticTokenAuthenticator } from '../../lib/codehub/auth';
import { createCodeHubClient } from '../../lib/codehub/client';
import { buildMirrorIndex } from '../../lib/config/mapping';
import type { MirrorTarget } from '../../lib/config/types';
import type { HttpResponse } from '../../lib/http/event';
import type { DeliveryRecord } from '../../lib/observability/delivery';
import { createLogger } from '../../lib/observability/log';
import { acceptPush } from '../../lib/pipeline/accept';
import { createCodeCommitSync } from '../../lib/pipeline/codecommit';
import type { Durable } from '../../lib/pipeline/durable';
import { createMirrorSyncer } from '../../lib/pipeline/sync';
import { createLedgerStore } from '../../lib/pipeline/ledger-store';
import { createPushQueue } from '../../lib/pipeline/push-queue';
import { createWebhookHandler, type WebhookHandler } from '../../lib/pipeline/webhook';
import { startDurableEngines, type DurableEngines } from '../support/durable';
import { fakeContext, httpApiEvent } from '../support/lambda';

/**
 * The webhook with the ledger: real DynamoDB and SQS engines, the CodeHub emulator mirroring a real
 * git upstream, the real CodeHub client. Issue "Every push lands", done-when 1, 3, 4, 5 and 7 (the
 * webhook's side; the worker's side is in confirm-worker.test.ts).
 */

const SECRET = 'accept-test-secret';
const TOKEN = 'accept-test-token';
const ID = 801;
const DEFAULT_ONLY_ID = 802;

let dir: string;
let upstream: Upstream;
let emulator: Emulator;
let durable: DurableEngines;
const records: DeliveryRecord[] = [];

function mirror(source: string, repositoryId: number, extra: Partial<MirrorTarget> = {}): MirrorTarget {
  return { source, repositoryId, secrets: undefined, refs: undefined, forceFetch: true, ...extra };
}

const codecommitEvent = JSON.parse(readFileSync(new URL('../fixtures/codecommit-reference-updated.json', import.meta.url), 'utf8')) as {
  region: string;
  detail: { repositoryName: string };
};
const CODECOMMIT_SOURCE = `git-codecommit.${codecommitEvent.region}.amazonaws.com/v1/repos/${codecommitEvent.detail.repositoryName}`.toLowerCase();

const index = buildMirrorIndex({
  webhooks: new Map([['github.com', [SECRET]]]),
  mirrors: [mirror('github.com/acme/app', ID), mirror('github.com/acme/default-only', DEFAULT_ONLY_ID, { branches: 'default' }), mirror(CODECOMMIT_SOURCE, ID)],
});

function handlerWith(parts: Partial<Durable> = {}): WebhookHandler {
  return createWebhookHandler({
    index,
    codehub: createCodeHubClient({ endpoint: emulator.url, auth: createStaticTokenAuthenticator(TOKEN), retry: false }),
    logger: createLogger({ level: 'error', write: () => undefined }),
    idempotency: false,
    observe: (record) => records.push(record),
    durable: { store: durable.store, queue: durable.queue, confirm: { confirmAfterSeconds: 1, giveUpAfterMinutes: 5 }, ...parts },
  });
}

async function deliver(handler: WebhookHandler, push: { repo?: string; ref?: string; before: string; after: string; deleted?: boolean; deliveryId?: string }) {
  const { headers, body } = buildDelivery({ host: 'github', repo: push.repo ?? 'acme/app', secret: SECRET, ...push });
  const response: HttpResponse = await handler(httpApiEvent({ headers, body }), fakeContext());
  return { response, body: JSON.parse(response.body) as Record<string, unknown> };
}

const syncCalls = (): number => emulator.callsTo('codehub').filter((call) => call.method === 'POST' && call.path.endsWith('/remote-mirror')).length;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'accept-'));
  upstream = await createUpstream(join(dir, 'upstream'));
  await upstream.commit('initial');
  emulator = await startEmulator({
    dataDir: join(dir, 'codehub'),
    credentials: { tokens: [TOKEN] },
    repositories: [
      { id: ID, group: 'acme', name: 'app', upstream: upstream.path },
      { id: DEFAULT_ONLY_ID, group: 'acme', name: 'default-only', upstream: upstream.path },
    ],
  });
  durable = await startDurableEngines();
}, 60_000);

afterAll(async () => {
  await emulator?.close();
  await durable?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  emulator.faults.clear();
  emulator.clearCalls();
  records.length = 0;
});

describe('webhook with the ledger', () => {
  it('answers 200 with the jid and push_id only once the push is recorded and its confirm task queued', async () => {
    // Prepare
    const before = await upstream.resolve('refs/heads/main');
    const after = await upstream.commit('one');
    // Act
    const { response, body } = await deliver(handlerWith(), { before, after });
    // Assess
    expect(response.statusCode).toBe(200);
    expect(body).toMatchObject({ jid: expect.any(String), push_id: expect.stringMatching(/^[\w-]{22}$/) });
    // The jid is noted as the answer goes out (one request, not waited for).
    await vi.waitFor(async () => {
      const entry = await durable.store.getPush(String(body.push_id));
      expect(entry).toMatchObject({ state: 'triggered', source: 'github.com/acme/app' });
      expect(entry?.mirrors[0]).toMatchObject({ repositoryId: ID, state: 'triggered', jids: [body.jid], refs: [{ ref: 'refs/heads/main', expect: { sha: after } }] });
    });
    const tasks = await durable.receive(durable.queueUrl, 3);
    expect(tasks).toContainEqual(expect.objectContaining({ kind: 'confirm', push_id: body.push_id, mirror: String(ID), attempt: 1 }));
    expect(records.at(-1)).toMatchObject({ outcome: 'synced', pushId: body.push_id });
  });

  it('answers 202 queued with the push_id while CodeHub refuses every call, and records the push', async () => {
    // Prepare
    emulator.faults.set({ serverError: 'always' });
    const before = await upstream.resolve('refs/heads/main');
    const after = await upstream.commit('during an outage');
    // Act
    const { response, body } = await deliver(handlerWith(), { before, after });
    // Assess
    expect(response.statusCode).toBe(202);
    expect(body).toMatchObject({ status: 'queued', push_id: expect.any(String), reason: expect.stringContaining('CODEHUB_SERVER_ERROR') });
    const entry = await durable.store.getPush(String(body.push_id));
    expect(entry?.mirrors[0]).toMatchObject({ state: 'received', jids: [], lastError: { code: 'CODEHUB_SERVER_ERROR' } });
    expect(records.at(-1)).toMatchObject({ outcome: 'queued', statusCode: 202 });
  });

  it('answers 202 queued when CodeHub throttles', async () => {
    // Prepare
    emulator.faults.set({ throttle: 5, retryAfterSeconds: 30 });
    const before = await upstream.resolve('refs/heads/main');
    const after = await upstream.commit('throttled');
    // Act
    const { response, body } = await deliver(handlerWith(), { before, after });
    // Assess
    expect(response.statusCode).toBe(202);
    expect(body).toMatchObject({ status: 'queued', reason: expect.stringContaining('CODEHUB_THROTTLED') });
  });

  it('answers a replay with a fresh delivery id from the ledger: the same push_id, no CodeHub call', async () => {
    // Prepare
    const handler = handlerWith();
    const before = await upstream.resolve('refs/heads/main');
    const after = await upstream.commit('replayed');
    const first = await deliver(handler, { before, after, deliveryId: 'first-delivery' });
    emulator.clearCalls();
    // Act
    const replays = await Promise.all([1, 2, 3].map((n) => deliver(handler, { before, after, deliveryId: `replay-${n}` })));
    // Assess
    expect(syncCalls()).toBe(0);
    for (const replay of replays) {
      expect(replay.response.statusCode).toBe(200);
      expect(replay.response.headers?.['idempotent-replayed']).toBe('true');
      expect(replay.body).toMatchObject({ status: 'replayed', push_id: first.body.push_id });
    }
  });

  it('takes a repeated key for a new push once a later push moved the ref (A→B, B→A, A→B)', async () => {
    // Prepare
    const handler = handlerWith();
    const a = await upstream.resolve('refs/heads/main');
    const b = await upstream.commit('b');
    const first = await deliver(handler, { before: a, after: b });
    await deliver(handler, { before: b, after: a });
    emulator.clearCalls();
    // Act
    const again = await deliver(handler, { before: a, after: b });
    // Assess
    expect(again.response.statusCode).toBe(200);
    expect(again.body.push_id).not.toBe(first.body.push_id);
    expect(syncCalls()).toBe(1);
  });

  it('answers 503 LEDGER_UNAVAILABLE, never a 2xx, when the table cannot be reached', async () => {
    // Prepare: a real DynamoDB client on a port nothing listens on.
    const unreachable = new DynamoDBClient({ endpoint: 'http://127.0.0.1:9', maxAttempts: 1, requestHandler: { connectionTimeout: 500, requestTimeout: 500, throwOnRequestTimeout: true } });
    const handler = handlerWith({ store: createLedgerStore({ tableName: durable.tableName, client: unreachable }) });
    const before = await upstream.resolve('refs/heads/main');
    const afters = [await upstream.commit('no ledger 1'), await upstream.commit('no ledger 2')];
    // Act
    const answers = await Promise.all(afters.map((after) => deliver(handler, { before, after })));
    // Assess
    for (const { response, body } of answers) {
      expect(response.statusCode).toBe(503);
      expect(body).toMatchObject({ code: 'LEDGER_UNAVAILABLE' });
    }
    unreachable.destroy();
  });

  it('answers 503 QUEUE_UNAVAILABLE when the queue cannot be reached, even though CodeHub took the sync', async () => {
    // Prepare
    const unreachable = new SQSClient({ endpoint: 'http://127.0.0.1:9', maxAttempts: 1, useQueueUrlAsEndpoint: false });
    const handler = handlerWith({ queue: createPushQueue({ queueUrl: durable.queueUrl, deadLetterUrl: durable.deadLetterUrl, client: unreachable, timeoutMs: 1000 }) });
    const before = await upstream.resolve('refs/heads/main');
    const after = await upstream.commit('no queue');
    // Act
    const { response, body } = await deliver(handler, { before, after });
    // Assess
    expect(response.statusCode).toBe(503);
    expect(body).toMatchObject({ code: 'QUEUE_UNAVAILABLE' });
    expect(records.at(-1)).toMatchObject({ outcome: 'unavailable', code: 'QUEUE_UNAVAILABLE' });
    unreachable.destroy();
  });

  it('ignores (202) a push only to refs a default-branch-only mirror does not sync, with no CodeHub call', async () => {
    // Prepare
    const before = await upstream.resolve('refs/heads/main');
    const feature = await upstream.commit('feature work', 'feature');
    // Act
    const branch = await deliver(handlerWith(), { repo: 'acme/default-only', ref: 'refs/heads/feature', before: '0'.repeat(40), after: feature });
    const tag = await deliver(handlerWith(), { repo: 'acme/default-only', ref: 'refs/tags/v9', before: '0'.repeat(40), after: before });
    // Assess
    expect(branch.response.statusCode).toBe(202);
    expect(branch.body).toMatchObject({ status: 'ignored' });
    expect(tag.response.statusCode).toBe(202);
    expect(syncCalls()).toBe(0);
  });

  it('gives a push CodeHub refuses for good up at once: 502 with its push_id, failed in the ledger, named on the DLQ', async () => {
    // Prepare: a token CodeHub does not know (401: a repeat cannot fix it).
    const handler = createWebhookHandler({
      index,
      codehub: createCodeHubClient({ endpoint: emulator.url, auth: createStaticTokenAuthenticator('not-a-known-token'), retry: false }),
      logger: createLogger({ level: 'error', write: () => undefined }),
      idempotency: false,
      durable: { store: durable.store, queue: durable.queue, confirm: { confirmAfterSeconds: 1, giveUpAfterMinutes: 5 } },
    });
    const before = await upstream.resolve('refs/heads/main');
    const after = await upstream.commit('refused');
    // Act
    const { response, body } = await deliver(handler, { before, after });
    // Assess
    expect(response.statusCode).toBe(502);
    expect(body).toMatchObject({ push_id: expect.any(String), code: 'CODEHUB_AUTH_FAILED' });
    expect((await durable.store.getPush(String(body.push_id)))?.state).toBe('failed');
    const notices = await durable.receive(durable.deadLetterUrl, 2);
    expect(notices).toContainEqual(expect.objectContaining({ kind: 'failed', push_id: body.push_id }));
  });

  it('records a CodeCommit push like a webhook push, and recognises EventBridge delivering it again', async () => {
    // Prepare
    const logger = createLogger({ level: 'error', write: () => undefined });
    const codehub = createCodeHubClient({ endpoint: emulator.url, auth: createStaticTokenAuthenticator(TOKEN), retry: false });
    const sync = createCodeCommitSync({
      index,
      logger,
      syncMirrors: createMirrorSyncer({ codehub, logger }),
      durable: { store: durable.store, queue: durable.queue, confirm: { confirmAfterSeconds: 1, giveUpAfterMinutes: 5 } },
    });
    // Act
    const first = await sync(codecommitEvent, 30_000);
    const again = await sync(codecommitEvent, 30_000);
    // Assess
    expect(first).toMatchObject({ status: 'synced', source: CODECOMMIT_SOURCE, pushId: expect.any(String) });
    const pushId = 'pushId' in first ? first.pushId : '';
    await vi.waitFor(async () => expect((await durable.store.getPush(pushId ?? ''))?.state).toBe('triggered'));
    expect(again).toEqual({ status: 'replayed', source: CODECOMMIT_SOURCE, pushId });
    expect(syncCalls()).toBe(1);
  });

  it('tells pushes that name no ref apart by their delivery: a new delivery syncs again, the same one is a replay', async () => {
    // Prepare: a push as a host that listed no ref change would give it.
    const logger = createLogger({ level: 'error', write: () => undefined });
    const codehub = createCodeHubClient({ endpoint: emulator.url, auth: createStaticTokenAuthenticator(TOKEN), retry: false });
    const context = { durable: { store: durable.store, queue: durable.queue, confirm: { confirmAfterSeconds: 1, giveUpAfterMinutes: 5 } }, syncMirrors: createMirrorSyncer({ codehub, logger }), logger, now: Date.now };
    const request = (deliveryId: string) => ({ push: { source: 'github.com/acme/app', refs: [] }, deliveryId, mirrors: [mirror('github.com/acme/app', ID)], deadline: Date.now() + 5000, log: {} });
    // Act
    const first = await acceptPush(context, request('no-refs-1'));
    const second = await acceptPush(context, request('no-refs-2'));
    const again = await acceptPush(context, request('no-refs-1'));
    // Assess
    expect(first.kind).toBe('recorded');
    expect(second.kind).toBe('recorded');
    expect(again).toMatchObject({ kind: 'known-push', entry: { pushId: first.kind === 'recorded' ? first.pushId : '' } });
    expect(syncCalls()).toBe(2);
  });
});
