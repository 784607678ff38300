import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoDbClient, LedgerStoreError } from '../../lib/pipeline/ledger-client';
import { createReportGate, reporterKey, type ReportGate } from '../../lib/pipeline/report-gate';
import { startDurableEngines, unreachableDynamoDb, type DurableEngines } from '../support/durable';

/**
 * The reporters' shared state against the real local DynamoDB (dynalite). Two gates, each with its own
 * client, stand for two Lambda containers. Times are passed in, never waited for.
 */

const API = 'https://api.github.com';
const MINUTE = 60_000;
/** The start of a clock minute, so budget tests know where the next minute begins. */
const T0 = Date.UTC(2026, 0, 1, 12, 0);
const DAY_SECONDS = 86_400;
let durable: DurableEngines;
let gate: ReportGate;
let other: ReportGate;
let documents: DynamoDBDocumentClient;
let counter = 0;

/** A reporter no other test uses: its own token. */
const newKey = (): string => reporterKey(API, `token-${(counter += 1)}`);

beforeAll(async () => {
  durable = await startDurableEngines();
  gate = createReportGate({ tableName: durable.tableName });
  other = createReportGate({ tableName: durable.tableName });
  documents = DynamoDBDocumentClient.from(createDynamoDbClient());
}, 60_000);

afterAll(async () => {
  gate?.close();
  other?.close();
  documents?.destroy();
  await durable?.close();
});

describe('reporterKey', () => {
  it('is 32 hex characters that never contain the token, and differ per token and per URL', () => {
    // Prepare
    const token = 'ghp_0123456789abcdef';
    // Act
    const key = reporterKey(API, token);
    // Assess
    expect(key).toMatch(/^[0-9a-f]{32}$/);
    expect(key).not.toContain(token);
    expect(key).not.toContain('0123456789abcdef');
    expect(reporterKey(API, token)).toBe(key);
    expect(reporterKey(API, `${token}x`)).not.toBe(key);
    expect(reporterKey('https://ghe.example.com/api/v3', token)).not.toBe(key);
  });

  it('separates URL and token, so moving characters between them is another reporter', () => {
    expect(reporterKey('https://a.example', 'bc')).not.toBe(reporterKey('https://a.exampleb', 'c'));
  });
});

describe('state', () => {
  it('is open for a reporter never seen', async () => {
    expect(await gate.state(newKey(), T0)).toEqual({ kind: 'open' });
  });
});

describe('pause', () => {
  it('holds until `until` for every container, then reads as open', async () => {
    // Prepare
    const key = newKey();
    // Act
    await gate.pause(key, T0 + 30_000);
    // Assess
    expect(await other.state(key, T0)).toEqual({ kind: 'paused', until: T0 + 30_000 });
    expect(await other.state(key, T0 + 29_999)).toEqual({ kind: 'paused', until: T0 + 30_000 });
    expect(await other.state(key, T0 + 30_000)).toEqual({ kind: 'open' });
  });

  it('extends but never shortens', async () => {
    // Prepare
    const key = newKey();
    await gate.pause(key, T0 + 10_000);
    // Act
    await other.pause(key, T0 + 60_000);
    await gate.pause(key, T0 + 20_000);
    // Assess
    expect(await gate.state(key, T0)).toEqual({ kind: 'paused', until: T0 + 60_000 });
  });

  it('keeps the TTL at the later until (+1 h), whichever of pause and rejection wrote last', async () => {
    // Prepare
    const longPause = newKey();
    const longRejection = newKey();
    // Act
    await gate.pause(longPause, T0 + 2 * DAY_SECONDS * 1000);
    await gate.reject(longPause, T0, 401, DAY_SECONDS);
    await gate.reject(longRejection, T0, 401, DAY_SECONDS);
    await gate.pause(longRejection, T0 + 60_000);
    // Assess
    expect(await gateItem(longPause)).toMatchObject({ expires_at: T0 / 1000 + 2 * DAY_SECONDS + 3600, rejected_until: T0 + DAY_SECONDS * 1000 });
    expect(await gateItem(longRejection)).toMatchObject({ expires_at: T0 / 1000 + DAY_SECONDS + 3600 });
  });
});

describe('reject', () => {
  it('exactly one of two concurrent callers marks the reporter rejected', async () => {
    // Prepare
    const key = newKey();
    // Act
    const results = await Promise.all([gate.reject(key, T0, 401, DAY_SECONDS), other.reject(key, T0 + 1, 403, DAY_SECONDS)]);
    // Assess
    expect(results.filter(Boolean)).toHaveLength(1);
    const state = await gate.state(key, T0 + 1);
    expect(state).toMatchObject({ kind: 'rejected' });
    // The state is the winner's, whole: its time, its status, its end.
    const winner = results[0] === true ? { at: T0, status: 401 } : { at: T0 + 1, status: 403 };
    expect(state).toEqual({ kind: 'rejected', ...winner, until: winner.at + DAY_SECONDS * 1000 });
  });

  it('a later caller while the rejection holds gets false and changes nothing', async () => {
    // Prepare
    const key = newKey();
    await gate.reject(key, T0, 401, DAY_SECONDS);
    // Act
    const again = await other.reject(key, T0 + 1000, 403, DAY_SECONDS);
    // Assess
    expect(again).toBe(false);
    expect(await other.state(key, T0 + 1000)).toEqual({ kind: 'rejected', at: T0, status: 401, until: T0 + DAY_SECONDS * 1000 });
  });

  it('ends after forSeconds; a rejection after that is a new one, won again', async () => {
    // Prepare
    const key = newKey();
    await gate.reject(key, T0, 401, 600);
    // Act
    const during = await gate.state(key, T0 + 599_999);
    const after = await gate.state(key, T0 + 600_000);
    const renewed = await other.reject(key, T0 + 600_000, 403, 600);
    // Assess
    expect(during).toMatchObject({ kind: 'rejected', until: T0 + 600_000 });
    expect(after).toEqual({ kind: 'open' });
    expect(renewed).toBe(true);
    expect(await gate.state(key, T0 + 600_000)).toEqual({ kind: 'rejected', at: T0 + 600_000, status: 403, until: T0 + 1_200_000 });
  });

  it('holds for the token rejected only: the same host with another token is open', async () => {
    // Prepare
    const rejected = reporterKey(API, `token-old-${(counter += 1)}`);
    await gate.reject(rejected, T0, 401, DAY_SECONDS);
    // Act
    const renewed = await gate.state(reporterKey(API, `token-new-${counter}`), T0 + 1000);
    // Assess
    expect(renewed).toEqual({ kind: 'open' });
  });

  it('outranks a pause, and is won even while a longer pause holds', async () => {
    // Prepare
    const key = newKey();
    await gate.pause(key, T0 + 2 * DAY_SECONDS * 1000);
    // Act
    const won = await gate.reject(key, T0, 401, DAY_SECONDS);
    const lost = await other.reject(key, T0 + 1, 401, DAY_SECONDS);
    // Assess
    expect([won, lost]).toEqual([true, false]);
    expect(await gate.state(key, T0 + 1)).toMatchObject({ kind: 'rejected', status: 401 });
    expect(await gate.state(key, T0 + DAY_SECONDS * 1000)).toEqual({ kind: 'paused', until: T0 + 2 * DAY_SECONDS * 1000 });
  });
});

describe('take', () => {
  it('takes `limit` calls in a minute, then answers over until the next minute, which starts fresh', async () => {
    // Prepare
    const key = newKey();
    // Act
    const within = [];
    for (let call = 0; call < 3; call += 1) within.push(await gate.take(key, T0 + call * 1000, 3));
    const over = await gate.take(key, T0 + 59_999, 3);
    const next = await gate.take(key, T0 + MINUTE, 3);
    // Assess
    expect(within).toEqual([{ kind: 'taken' }, { kind: 'taken' }, { kind: 'taken' }]);
    expect(over).toEqual({ kind: 'over', retryAt: T0 + MINUTE });
    expect(next).toEqual({ kind: 'taken' });
  });

  it('two containers share one budget: 8 concurrent takes with limit 5 take exactly 5', async () => {
    // Prepare
    const key = newKey();
    // Act
    const results = await Promise.all(Array.from({ length: 8 }, (_, index) => (index % 2 === 0 ? gate : other).take(key, T0 + index, 5)));
    // Assess
    expect(results.filter((result) => result.kind === 'taken')).toHaveLength(5);
    expect(results.filter((result) => result.kind === 'over')).toEqual(Array.from({ length: 3 }, () => ({ kind: 'over', retryAt: T0 + MINUTE })));
  });

  it('each reporter has its own budget', async () => {
    // Prepare
    const spent = newKey();
    await gate.take(spent, T0, 1);
    // Act
    const fresh = await gate.take(newKey(), T0, 1);
    // Assess
    expect(await gate.take(spent, T0, 1)).toMatchObject({ kind: 'over' });
    expect(fresh).toEqual({ kind: 'taken' });
  });

  it('counts in an item that expires an hour after its minute', async () => {
    // Prepare
    const key = newKey();
    // Act
    await gate.take(key, T0 + 1234, 5);
    await gate.take(key, T0 + 5678, 5);
    // Assess
    const item = await documents.send(new GetCommand({ TableName: durable.tableName, Key: { pk: `REPORTER#${key}`, sk: `MINUTE#${T0 / MINUTE}` }, ConsistentRead: true }));
    expect(item.Item).toMatchObject({ calls: 2, expires_at: (T0 + MINUTE) / 1000 + 3600 });
  });

  it('refuses a limit that is not a positive integer, without a call', async () => {
    await expect(gate.take(newKey(), T0, 0)).rejects.toThrow(RangeError);
    await expect(gate.take(newKey(), T0, 2.5)).rejects.toThrow(RangeError);
  });

  it('a key DynamoDB refuses is LEDGER_REJECTED, not over', async () => {
    // Act: a partition key past DynamoDB's 2048-byte limit.
    const failure = await gate.take('k'.repeat(3000), T0, 5).catch((error: unknown) => error);
    // Assess
    expect(failure).toBeInstanceOf(LedgerStoreError);
    expect(failure).toMatchObject({ code: 'LEDGER_REJECTED', operation: 'UpdateItem' });
  });
});

describe('an unreachable DynamoDB', () => {
  it('every call is LEDGER_UNAVAILABLE: none passes for open, taken or resolved', async () => {
    // Prepare
    const unreachable = await unreachableDynamoDb();
    const gate = createReportGate({ tableName: durable.tableName, client: unreachable.client });
    try {
      const key = newKey();
      // Act
      const failures = await Promise.all([
        gate.state(key, T0).catch((error: unknown) => error),
        gate.take(key, T0, 5).catch((error: unknown) => error),
        gate.pause(key, T0 + 1000).catch((error: unknown) => error),
        gate.reject(key, T0, 401, DAY_SECONDS).catch((error: unknown) => error),
      ]);
      // Assess
      for (const failure of failures) expect(failure).toBeInstanceOf(LedgerStoreError);
      expect(failures.map((failure) => (failure as LedgerStoreError).code)).toEqual(Array.from({ length: 4 }, () => 'LEDGER_UNAVAILABLE'));
      expect((failures[0] as LedgerStoreError).operation).toBe('GetItem');
    } finally {
      gate.close();
      unreachable.restore();
    }
  });
});

async function gateItem(key: string): Promise<Record<string, unknown> | undefined> {
  const answer = await documents.send(new GetCommand({ TableName: durable.tableName, Key: { pk: `REPORTER#${key}`, sk: 'GATE' }, ConsistentRead: true }));
  return answer.Item;
}
