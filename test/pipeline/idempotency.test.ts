import { IdempotencyItemAlreadyExistsError, IdempotencyItemNotFoundError } from '@aws-lambda-powertools/idempotency';
import { BasePersistenceLayer, type IdempotencyRecord } from '@aws-lambda-powertools/idempotency/persistence';
import { describe, expect, it, vi } from 'vitest';
import { jsonResponse, type HttpResponse } from '../../lib/http/event';
import {
  createMemoryIdempotencyStore,
  createPersistentIdempotencyStore,
  deliveryKey,
  idempotencyStoreFromEnv,
  isKeptAnswer,
} from '../../lib/pipeline/idempotency';
import { silentLogger } from '../../lib/observability/log';

const BODY = Buffer.from('{"ref":"refs/heads/main"}');
const DEADLINE = { deadline: Date.now() + 60_000 };

/** An answer function that counts its calls and answers `status`. */
function answering(status = 200, delayMs = 0) {
  let calls = 0;
  const answer = async (): Promise<HttpResponse> => {
    calls += 1;
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    return jsonResponse(status, { n: calls });
  };
  return { answer, calls: () => calls };
}

describe('deliveryKey', () => {
  it('is stable for the same host, delivery id and body', () => {
    // Act
    const keys = [deliveryKey('github', 'd-1', BODY), deliveryKey('github', 'd-1', Buffer.from(BODY))];
    // Assess
    expect(keys[0]).toBe(keys[1]);
    expect(keys[0]?.startsWith('github:')).toBe(true);
  });

  it('gives a text body the key of its UTF-8 bytes, so the form it arrived in does not matter', () => {
    // Prepare
    const text = '{"message":"Añadir € 😀"}';
    // Act
    const keys = [deliveryKey('gitlab', 'd-1', text), deliveryKey('gitlab', 'd-1', Buffer.from(text, 'utf8')), deliveryKey('gitlab', 'd-1', Buffer.from(text, 'latin1'))];
    // Assess
    expect(keys[0]).toBe(keys[1]);
    expect(keys[2]).not.toBe(keys[0]);
  });

  it('tells apart hosts, delivery ids and bodies', () => {
    // Act
    const keys = new Set([
      deliveryKey('github', 'd-1', BODY),
      deliveryKey('gitea', 'd-1', BODY),
      deliveryKey('github', 'd-2', BODY),
      deliveryKey('github', 'd-1', Buffer.from('{}')),
      deliveryKey('github', undefined, BODY),
    ]);
    // Assess
    expect(keys.size).toBe(5);
  });

  it('digests every delivery id, so that no id can shape the key', () => {
    // Act
    const keys = [deliveryKey('github', 'a:b', BODY), deliveryKey('github', 'a b', BODY), deliveryKey('github', '-', BODY), deliveryKey('github', undefined, BODY)];
    // Assess
    expect(new Set(keys).size).toBe(4);
    expect(keys[0]).not.toContain('a:b');
    expect(keys.map((key) => key.split(':').length)).toEqual([3, 3, 3, 3]);
  });

  it('tells a verified MAC apart from a body digest, and one MAC from another', () => {
    // Act
    const keys = new Set([
      deliveryKey('gitea', 'd-1', { mac: 'ab'.repeat(32) }),
      deliveryKey('gitea', 'd-1', { mac: 'cd'.repeat(32) }),
      deliveryKey('gitea', 'd-1', BODY),
    ]);
    // Assess
    expect(keys.size).toBe(3);
  });

  it('falls back to the body alone for a host without delivery ids, and stays short for a huge id', () => {
    // Act
    const sameBody = [deliveryKey('gitee', undefined, BODY), deliveryKey('gitee', undefined, BODY)];
    const huge = deliveryKey('github', 'x'.repeat(100_000), BODY);
    // Assess
    expect(sameBody[0]).toBe(sameBody[1]);
    expect(huge.length).toBeLessThan(120);
  });
});

describe('isKeptAnswer', () => {
  it.each([
    [200, true],
    [202, true],
    [400, false],
    [401, false],
    [409, false],
    [502, false],
    [503, false],
    [504, false],
  ])('keeps %i: %s', (status, kept) => {
    // Act
    const verdict = isKeptAnswer(jsonResponse(status, {}));
    // Assess
    expect(verdict).toBe(kept);
  });
});

describe('createMemoryIdempotencyStore', () => {
  it('answers a repeated delivery with the first answer without answering again', async () => {
    // Prepare
    const store = createMemoryIdempotencyStore();
    const { answer, calls } = answering(200);
    // Act
    const first = await store.once('k', answer, DEADLINE);
    const second = await store.once('k', answer, DEADLINE);
    // Assess
    expect(first.kind).toBe('answered');
    expect(second).toEqual({ kind: 'replayed', response: (first as { response: HttpResponse }).response });
    expect(calls()).toBe(1);
  });

  it('forgets an answer after the TTL (10 minutes by default)', async () => {
    // Prepare
    let now = 0;
    const store = createMemoryIdempotencyStore({ now: () => now });
    const { answer, calls } = answering(200);
    await store.once('k', answer, DEADLINE);
    // Act
    now = 10 * 60 * 1000 - 1;
    const within = await store.once('k', answer, DEADLINE);
    now = 10 * 60 * 1000 + 1;
    const after = await store.once('k', answer, DEADLINE);
    // Assess
    expect(within.kind).toBe('replayed');
    expect(after.kind).toBe('answered');
    expect(calls()).toBe(2);
  });

  it.each([502, 503, 504, 400])('does not keep a %i, so the redelivery is answered afresh', async (status) => {
    // Prepare
    const store = createMemoryIdempotencyStore();
    const { answer, calls } = answering(status);
    // Act
    await store.once('k', answer, DEADLINE);
    const again = await store.once('k', answer, DEADLINE);
    // Assess
    expect(again.kind).toBe('answered');
    expect(calls()).toBe(2);
  });

  it('makes concurrent duplicates wait for the first answer', async () => {
    // Prepare
    const store = createMemoryIdempotencyStore();
    const { answer, calls } = answering(200, 30);
    // Act
    const results = await Promise.all([store.once('k', answer, DEADLINE), store.once('k', answer, DEADLINE), store.once('k', answer, DEADLINE)]);
    // Assess
    expect(calls()).toBe(1);
    expect(results.map((r) => r.kind)).toEqual(['answered', 'replayed', 'replayed']);
    expect(new Set(results.map((r) => ('response' in r ? r.response.body : undefined))).size).toBe(1);
  });

  it('evicts the least recently used answer when full', async () => {
    // Prepare
    const store = createMemoryIdempotencyStore({ maxEntries: 2 });
    const { answer, calls } = answering(200);
    await store.once('a', answer, DEADLINE);
    await store.once('b', answer, DEADLINE);
    await store.once('a', answer, DEADLINE); // a is now the most recently used
    // Act
    await store.once('c', answer, DEADLINE); // evicts b
    const a = await store.once('a', answer, DEADLINE);
    const b = await store.once('b', answer, DEADLINE);
    // Assess
    expect(a.kind).toBe('replayed');
    expect(b.kind).toBe('answered');
    expect(calls()).toBe(4);
  });

  it('keeps nothing when the answer throws, and rethrows', async () => {
    // Prepare
    const store = createMemoryIdempotencyStore();
    const { answer, calls } = answering(200);
    // Act
    const failed = await store.once('k', () => Promise.reject(new Error('bug')), DEADLINE).catch((e: unknown) => e);
    const retried = await store.once('k', answer, DEADLINE);
    // Assess
    expect(failed).toBeInstanceOf(Error);
    expect(retried.kind).toBe('answered');
    expect(calls()).toBe(1);
  });
});

/**
 * A DynamoDB table in a Map, behind Powertools' own persistence base class: the same conditional
 * put as `DynamoDBPersistenceLayer` (absent, expired, or in progress past its lock).
 */
class FakeTable extends BasePersistenceLayer {
  readonly items: Map<string, IdempotencyRecord>;
  readonly failures: { put?: Error; update?: Error; delete?: Error };
  puts = 0;

  constructor(items = new Map<string, IdempotencyRecord>(), failures: { put?: Error; update?: Error; delete?: Error } = {}) {
    super();
    this.items = items;
    this.failures = failures;
  }

  protected override _putRecord(record: IdempotencyRecord): Promise<void> {
    this.puts += 1;
    if (this.failures.put) return Promise.reject(this.failures.put);
    const existing = this.items.get(record.idempotencyKey);
    const nowMs = Date.now();
    const lockLapsed =
      existing?.getStatus() === 'INPROGRESS' && existing.inProgressExpiryTimestamp !== undefined && existing.inProgressExpiryTimestamp < nowMs;
    if (existing && existing.getStatus() !== 'EXPIRED' && !lockLapsed) {
      return Promise.reject(new IdempotencyItemAlreadyExistsError('exists', existing));
    }
    this.items.set(record.idempotencyKey, record);
    return Promise.resolve();
  }

  protected override _getRecord(idempotencyKey: string): Promise<IdempotencyRecord> {
    const record = this.items.get(idempotencyKey);
    return record ? Promise.resolve(record) : Promise.reject(new IdempotencyItemNotFoundError());
  }

  protected override _updateRecord(record: IdempotencyRecord): Promise<void> {
    if (this.failures.update) return Promise.reject(this.failures.update);
    this.items.set(record.idempotencyKey, record);
    return Promise.resolve();
  }

  protected override _deleteRecord(record: IdempotencyRecord): Promise<void> {
    if (this.failures.delete) return Promise.reject(this.failures.delete);
    this.items.delete(record.idempotencyKey);
    return Promise.resolve();
  }
}

/** Two "containers" sharing one table. */
async function twoContainers(items = new Map<string, IdempotencyRecord>()) {
  const options = { logger: silentLogger, pollIntervalMs: 10 };
  const first = await createPersistentIdempotencyStore({ persistenceStore: new FakeTable(items), ...options });
  const second = await createPersistentIdempotencyStore({ persistenceStore: new FakeTable(items), ...options });
  return { first, second, items };
}

describe('createPersistentIdempotencyStore (Powertools persistence layer)', () => {
  it('replays the first answer on another container', async () => {
    // Prepare
    const { first, second, items } = await twoContainers();
    const { answer, calls } = answering(200);
    // Act
    const original = await first.once('k', answer, DEADLINE);
    const replay = await second.once('k', answer, DEADLINE);
    // Assess
    expect(first.kind).toBe('persistent');
    expect(calls()).toBe(1);
    expect(replay).toEqual({ ...original, kind: 'replayed' });
    expect([...items.values()].map((r) => r.getStatus())).toEqual(['COMPLETED']);
    expect([...items.keys()][0]).toMatch(/^webhook-delivery#/);
  });

  it('keeps the record for 10 minutes', async () => {
    // Prepare
    const { first, items } = await twoContainers();
    // Act
    await first.once('k', answering(200).answer, DEADLINE);
    // Assess
    const expiry = [...items.values()][0]?.expiryTimestamp ?? 0;
    expect(expiry - Date.now() / 1000).toBeGreaterThan(590);
    expect(expiry - Date.now() / 1000).toBeLessThanOrEqual(601);
  });

  it('deletes the record of a failed answer, so that the redelivery is answered afresh', async () => {
    // Prepare
    const { first, second, items } = await twoContainers();
    const failing = answering(502);
    const succeeding = answering(200);
    // Act
    await first.once('k', failing.answer, DEADLINE);
    const redelivered = await second.once('k', succeeding.answer, DEADLINE);
    // Assess
    expect(redelivered.kind).toBe('answered');
    expect(succeeding.calls()).toBe(1);
    expect(items.size).toBe(1);
  });

  it('makes a duplicate on another container wait for the first, then replay it', async () => {
    // Prepare
    const { first, second } = await twoContainers();
    const slow = answering(200, 80);
    const other = answering(200);
    // Act
    const [original, duplicate] = await Promise.all([
      first.once('k', slow.answer, DEADLINE),
      new Promise((resolve) => setTimeout(resolve, 10)).then(() => second.once('k', other.answer, DEADLINE)),
    ]);
    // Assess
    expect(other.calls()).toBe(0);
    expect(duplicate).toEqual({ ...original, kind: 'replayed' });
  });

  it('says the first is still in progress at the duplicate’s deadline, without answering it', async () => {
    // Prepare
    const { first, second } = await twoContainers();
    const slow = answering(200, 300);
    // Act
    const running = first.once('k', slow.answer, DEADLINE);
    await new Promise((resolve) => setTimeout(resolve, 10));
    const other = answering(200);
    const duplicate = await second.once('k', other.answer, { deadline: Date.now() + 50 });
    await running;
    // Assess
    expect(duplicate).toEqual({ kind: 'in-progress' });
    expect(other.calls()).toBe(0);
  });

  it('takes over a lock whose holder died (its lock lapsed)', async () => {
    // Prepare
    const items = new Map<string, IdempotencyRecord>();
    const { second } = await twoContainers(items);
    const dead = await createPersistentIdempotencyStore({ persistenceStore: new FakeTable(items), logger: silentLogger });
    // The "dead" container claims with a deadline already past, then never answers.
    void dead.once('k', () => new Promise<HttpResponse>(() => undefined), { deadline: Date.now() - 1000 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const { answer, calls } = answering(200);
    // Act
    const taken = await second.once('k', answer, DEADLINE);
    // Assess
    expect(taken.kind).toBe('answered');
    expect(calls()).toBe(1);
  });

  it('answers without the table when the table cannot be reached', async () => {
    // Prepare
    const warn = vi.fn();
    const store = await createPersistentIdempotencyStore({
      persistenceStore: new FakeTable(new Map(), { put: new Error('ResourceNotFoundException') }),
      logger: { ...silentLogger, warn },
    });
    const { answer, calls } = answering(200);
    // Act
    const result = await store.once('k', answer, DEADLINE);
    // Assess
    expect(result).toMatchObject({ kind: 'answered', response: { statusCode: 200 } });
    expect(calls()).toBe(1);
    expect(warn).toHaveBeenCalledWith('idempotency store unavailable; answering without it', expect.anything());
  });

  it('still answers when keeping the answer fails', async () => {
    // Prepare
    const store = await createPersistentIdempotencyStore({
      persistenceStore: new FakeTable(new Map(), { update: new Error('ProvisionedThroughputExceededException') }),
      logger: silentLogger,
    });
    // Act
    const result = await store.once('k', answering(200).answer, DEADLINE);
    // Assess
    expect(result).toMatchObject({ kind: 'answered', response: { statusCode: 200 } });
  });

  it('releases the lock and rethrows when the answer throws', async () => {
    // Prepare
    const { first, items } = await twoContainers();
    // Act
    const error = await first.once('k', () => Promise.reject(new Error('bug')), DEADLINE).catch((e: unknown) => e);
    // Assess
    expect(error).toBeInstanceOf(Error);
    expect(items.size).toBe(0);
  });
});

describe('idempotencyStoreFromEnv', () => {
  it('keeps answers in memory when no table is configured', async () => {
    // Act
    const store = await idempotencyStoreFromEnv({ IDEMPOTENCY_TABLE: '' });
    // Assess
    expect(store.kind).toBe('memory');
  });

  it('uses DynamoDB through Powertools when IDEMPOTENCY_TABLE is set (no AWS call at construction)', async () => {
    // Prepare
    vi.stubEnv('AWS_REGION', 'ap-southeast-1');
    // Act
    const store = await idempotencyStoreFromEnv({ IDEMPOTENCY_TABLE: 'bridge-idempotency' });
    // Assess
    expect(store.kind).toBe('persistent');
  });
});

describe('deliveryKey: payload fingerprint', () => {
  it('keys by the verified MAC where the host signs the payload, and tells different MACs apart', () => {
    // Act
    const first = deliveryKey('github', 'd-1', { mac: 'a'.repeat(64) });
    const again = deliveryKey('github', 'd-1', { mac: 'a'.repeat(64) });
    const other = deliveryKey('github', 'd-1', { mac: 'b'.repeat(64) });
    const byBody = deliveryKey('github', 'd-1', Buffer.from('a'.repeat(64)));
    // Assess
    expect(again).toBe(first);
    expect(other).not.toBe(first);
    expect(byBody).not.toBe(first);
  });
});
