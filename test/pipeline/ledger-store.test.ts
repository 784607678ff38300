import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalEngines, type LocalEngines } from '../../dev/engines';
import { provisionLocal } from '../../scripts/provision-local';
import { pushIdOf, pushKey } from '../../lib/ledger/push-id';
import { refToConfirm, type RefToConfirm } from '../../lib/ledger/refs';
import type { LedgerEntry, LedgerMirror } from '../../lib/ledger/types';
import type { RefChange } from '../../lib/providers/types';
import { createDynamoDbClient, createLedgerStore, LedgerStoreError, mirrorKeyOf, type LedgerStore } from '../../lib/pipeline/ledger-store';

/**
 * Against the real local DynamoDB engine (dynalite), reached the standard way: the SDK reads
 * AWS_ENDPOINT_URL_DYNAMODB, region and credentials from the environment, set here for this file.
 */

const SOURCE = 'github.com/acme/app';
const SHA = (digit: string): string => digit.repeat(40);
const ENV_NAMES = ['AWS_ENDPOINT_URL_DYNAMODB', 'AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'] as const;

let engines: LocalEngines;
let tableName: string;
let store: LedgerStore;
let documents: DynamoDBDocumentClient;
const savedEnv = new Map<string, string | undefined>();
let arrival = Date.UTC(2026, 0, 1);

beforeAll(async () => {
  engines = await startLocalEngines();
  for (const name of ENV_NAMES) savedEnv.set(name, process.env[name]);
  Object.assign(process.env, { AWS_ENDPOINT_URL_DYNAMODB: engines.dynamodbEndpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' });
  const variables = await provisionLocal({ env: { AWS_ENDPOINT_URL_SQS: engines.sqsEndpoint, AWS_ENDPOINT_URL_DYNAMODB: engines.dynamodbEndpoint }, warn: () => undefined });
  tableName = variables.LEDGER_TABLE ?? '';
  store = createLedgerStore({ tableName });
  documents = DynamoDBDocumentClient.from(createDynamoDbClient());
});

afterAll(async () => {
  store.close();
  documents.destroy();
  await engines.close();
  for (const [name, value] of savedEnv) {
    if (value === undefined) Reflect.deleteProperty(process.env, name);
    else process.env[name] = value;
  }
});

function mirror(target: string, refs: readonly RefChange[]): LedgerMirror {
  return { repositoryId: 0, target, state: 'received', refs: refs.flatMap((change) => refToConfirm(change) ?? []), jids: [], attempts: 0 };
}

/** A new push (distinct SHAs each call) to `ref`, in the given mirrors, arriving a second after the previous. */
let counter = 0;
function newPush(targets: readonly string[], ref = 'refs/heads/main', options: { refs?: readonly RefChange[]; mirrorRefs?: readonly RefToConfirm[] } = {}): LedgerEntry {
  counter += 1;
  arrival += 1000;
  const refs = options.refs ?? [{ ref, before: SHA('a'), after: counter.toString(16).padStart(40, '0'), deleted: false }];
  const key = pushKey(SOURCE, refs);
  const mirrors = targets.map((target) => ({ ...mirror(target, refs), ...(options.mirrorRefs === undefined ? {} : { refs: options.mirrorRefs }) }));
  return { pushId: pushIdOf(key), key, source: SOURCE, refs, arrivedAt: arrival, state: 'received', mirrors };
}

const uniqueMirror = (): string => `group/repo-${(counter += 1)}`;

describe('recordPush', () => {
  it('records a push once; the same push again answers from the ledger with the original', async () => {
    // Prepare
    const target = uniqueMirror();
    const entry = newPush([target]);
    // Act
    const first = await store.recordPush(entry);
    const again = await store.recordPush({ ...entry, arrivedAt: entry.arrivedAt + 5000 });
    // Assess
    expect(first).toEqual({ kind: 'recorded' });
    expect(again).toEqual({ kind: 'exists', entry });
    expect(await store.getPush(entry.pushId)).toEqual(entry);
    expect(await store.latestPushForRef(target, 'refs/heads/main')).toBe(entry.pushId);
  });

  it('a replay of an older push does not move the newest-push pointer back', async () => {
    // Prepare
    const target = uniqueMirror();
    const older = newPush([target]);
    const newer = newPush([target]);
    await store.recordPush(older);
    await store.recordPush(newer);
    // Act
    const replay = await store.recordPush(older);
    // Assess
    expect(replay.kind).toBe('exists');
    expect(await store.latestPushForRef(target, 'refs/heads/main')).toBe(newer.pushId);
  });

  it('a write the table refuses leaves nothing of the push: no entry, no pending item, no pointer', async () => {
    // Prepare: the push item is over DynamoDB's 400 KB item limit; its mirror item (no refs to wait for) is small.
    const target = uniqueMirror();
    const refs = Array.from({ length: 3000 }, (_, index) => ({ ref: `refs/tags/v${index}-${'x'.repeat(60)}`, before: SHA('0'), after: SHA('b'), deleted: false }));
    const entry = newPush([target], undefined, { refs, mirrorRefs: [] });
    // Act
    const failure = await store.recordPush(entry).catch((error: unknown) => error);
    // Assess
    expect(failure).toBeInstanceOf(LedgerStoreError);
    expect((failure as LedgerStoreError).code).toBe('LEDGER_REJECTED');
    expect(await store.getPush(entry.pushId)).toBeUndefined();
    expect(await store.pendingForMirror(target, 10)).toEqual([]);
    expect(await store.latestPushForRef(target, refs[0]?.ref ?? '')).toBeUndefined();
  });

  it('a push recorded after a cut-short attempt is recorded whole', async () => {
    // Prepare: a first attempt that wrote the mirror item but not the push item (the refusal above).
    const target = uniqueMirror();
    const refs = Array.from({ length: 3000 }, (_, index) => ({ ref: `refs/tags/w${index}-${'x'.repeat(60)}`, before: SHA('0'), after: SHA('c'), deleted: false }));
    const tooLarge = newPush([target], undefined, { refs, mirrorRefs: [] });
    await expect(store.recordPush(tooLarge)).rejects.toThrow(LedgerStoreError);
    const fits = { ...tooLarge, refs: refs.slice(0, 2) };
    // Act
    const result = await store.recordPush(fits);
    // Assess
    expect(result).toEqual({ kind: 'recorded' });
    expect(await store.getPush(fits.pushId)).toEqual(fits);
    expect((await store.pendingForMirror(target, 10)).map((pending) => pending.entry.pushId)).toEqual([fits.pushId]);
  });
});

describe('updateMirror', () => {
  it('two concurrent updates of one mirror both land (no lost update)', async () => {
    // Prepare
    const target = uniqueMirror();
    const entry = newPush([target]);
    await store.recordPush(entry);
    // Act
    const results = await Promise.all(['jid-1', 'jid-2', 'jid-3'].map((jid) => store.updateMirror(entry.pushId, target, { event: 'trigger-accepted', jid, checked: true })));
    // Assess
    expect(results.map((result) => result.kind)).toEqual(['updated', 'updated', 'updated']);
    const stored = await store.getPush(entry.pushId);
    expect([...(stored?.mirrors[0]?.jids ?? [])].sort()).toEqual(['jid-1', 'jid-2', 'jid-3']);
    expect(stored?.mirrors[0]?.attempts).toBe(3);
    expect(stored?.state).toBe('triggered');
  });

  it('concurrent confirmations of two mirrors leave the stored push state mirrored', async () => {
    // Prepare
    const [first, second] = [uniqueMirror(), uniqueMirror()];
    const entry = newPush([first, second]);
    await store.recordPush(entry);
    const heads = { 'refs/heads/main': { sha: entry.refs[0]?.after ?? '' } };
    // Act
    await Promise.all([first, second].map((target) => store.updateMirror(entry.pushId, target, { event: 'confirmed', heads, at: arrival + 1 })));
    // Assess
    const item = await documents.send(new GetCommand({ TableName: tableName, Key: { pk: `PUSH#${entry.pushId}`, sk: 'PUSH' }, ConsistentRead: true }));
    expect(item.Item?.state).toBe('mirrored');
    expect((await store.getPush(entry.pushId))?.state).toBe('mirrored');
  });

  it('never moves a mirror backwards, and keeps the first confirmation', async () => {
    // Prepare
    const target = uniqueMirror();
    const entry = newPush([target]);
    await store.recordPush(entry);
    const heads = { 'refs/heads/main': { sha: entry.refs[0]?.after ?? '' } };
    await store.updateMirror(entry.pushId, target, { event: 'trigger-accepted', jid: 'jid-1' });
    await store.updateMirror(entry.pushId, target, { event: 'confirmed', heads, at: 111 });
    // Act
    const late = await store.updateMirror(entry.pushId, target, { event: 'trigger-accepted', jid: 'jid-late' });
    const repeated = await store.updateMirror(entry.pushId, target, { event: 'confirmed', heads, at: 222 });
    const gaveUp = await store.updateMirror(entry.pushId, target, { event: 'gave-up', error: { code: 'X', message: 'late', at: 333 } });
    // Assess
    expect([late.kind, repeated.kind, gaveUp.kind]).toEqual(['refused', 'unchanged', 'refused']);
    const stored = (await store.getPush(entry.pushId))?.mirrors[0];
    expect(stored).toMatchObject({ state: 'mirrored', jids: ['jid-1'], confirmedAt: 111, confirmedHeads: heads, attempts: 1 });
  });

  it('answers not-found for a push or mirror the ledger does not hold', async () => {
    // Prepare
    const target = uniqueMirror();
    const entry = newPush([target]);
    await store.recordPush(entry);
    // Act
    const noPush = await store.updateMirror('A'.repeat(22), target, { event: 'trigger-accepted', jid: 'j' });
    const noMirror = await store.updateMirror(entry.pushId, 'group/other', { event: 'trigger-accepted', jid: 'j' });
    // Assess
    expect([noPush.kind, noMirror.kind]).toEqual(['not-found', 'not-found']);
  });
});

describe('pendingForMirror', () => {
  it('lists only the mirror\'s open pushes, newest first, up to the limit', async () => {
    // Prepare
    const target = uniqueMirror();
    const [confirmed, failed, open1, open2, open3] = [1, 2, 3, 4, 5].map(() => newPush([target])) as [LedgerEntry, LedgerEntry, LedgerEntry, LedgerEntry, LedgerEntry];
    const other = newPush([uniqueMirror()]);
    for (const entry of [confirmed, failed, open1, open2, open3, other]) await store.recordPush(entry);
    await store.updateMirror(confirmed.pushId, target, { event: 'confirmed', heads: {}, at: arrival });
    await store.updateMirror(failed.pushId, target, { event: 'gave-up', error: { code: 'GIVEN_UP', message: 'behind', at: arrival } });
    await store.updateMirror(open2.pushId, target, { event: 'trigger-accepted', jid: 'jid-open2' });
    // Act
    const all = await store.pendingForMirror(target, 10);
    const two = await store.pendingForMirror(target, 2);
    // Assess
    expect(all.map((pending) => pending.entry.pushId)).toEqual([open3.pushId, open2.pushId, open1.pushId]);
    expect(all[1]?.mirror).toMatchObject({ state: 'triggered', jids: ['jid-open2'] });
    expect(two.map((pending) => pending.entry.pushId)).toEqual([open3.pushId, open2.pushId]);
    expect(mirrorKeyOf(all[0]?.mirror ?? { repositoryId: 0 })).toBe(target);
  });
});

describe('an unreachable DynamoDB', () => {
  /** `act` with the SDK's standard endpoint variable pointing at `endpoint`, through a store with a short timeout and one try. */
  async function atEndpoint<T>(endpoint: string, act: (unreachable: LedgerStore) => Promise<T>): Promise<T> {
    const saved = process.env.AWS_ENDPOINT_URL_DYNAMODB;
    process.env.AWS_ENDPOINT_URL_DYNAMODB = endpoint;
    const unreachable = createLedgerStore({ tableName, client: createDynamoDbClient({ requestTimeoutMs: 200, connectionTimeoutMs: 200, maxAttempts: 1 }) });
    try {
      return await act(unreachable);
    } finally {
      unreachable.close();
      process.env.AWS_ENDPOINT_URL_DYNAMODB = saved;
    }
  }

  async function listening(onConnection: (socket: Socket) => void): Promise<{ server: Server; endpoint: string }> {
    const server = createServer(onConnection);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { server, endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
  }

  it('a refused connection is LEDGER_UNAVAILABLE', async () => {
    // Prepare: a port that was just free.
    const { server, endpoint } = await listening(() => undefined);
    await new Promise((resolve) => server.close(resolve));
    // Act
    const failure = await atEndpoint(endpoint, (unreachable) => unreachable.recordPush(newPush([uniqueMirror()])).catch((error: unknown) => error));
    // Assess
    expect(failure).toBeInstanceOf(LedgerStoreError);
    expect(failure).toMatchObject({ code: 'LEDGER_UNAVAILABLE', operation: 'PutItem' });
  });

  it('a server that never answers is LEDGER_UNAVAILABLE after the request timeout, not a hang', async () => {
    // Prepare
    const sockets: Socket[] = [];
    const { server, endpoint } = await listening((socket) => sockets.push(socket));
    try {
      // Act
      const failure = await atEndpoint(endpoint, (silent) => silent.getPush('A'.repeat(22)).catch((error: unknown) => error));
      // Assess
      expect(failure).toMatchObject({ name: 'LedgerStoreError', code: 'LEDGER_UNAVAILABLE', operation: 'Query' });
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
