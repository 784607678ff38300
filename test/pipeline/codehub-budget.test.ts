import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCodeHubBudget, slotIntervalMs, type CodeHubBudget, type Slot } from '../../lib/pipeline/codehub-budget';
import { createDynamoDbClient, LedgerStoreError } from '../../lib/pipeline/ledger-client';
import { startDurableEngines, unreachableDynamoDb, type DurableEngines } from '../support/durable';

/**
 * The global CodeHub budget against the real local DynamoDB (dynalite). Each container is a budget
 * with its own client and its own clock, set by the test: times are passed in, never waited for. All
 * budgets share the one schedule item, so each test starts a day after the last, where it is idle.
 */

const T0 = Date.UTC(2026, 0, 1, 12, 0);
const DAY_MS = 86_400_000;
const MINUTE = 60_000;
let durable: DurableEngines;
let documents: DynamoDBDocumentClient;
let start = T0;
const opened: CodeHubBudget[] = [];

/** A time where the schedule is idle: a day past anything an earlier test reserved. */
const fresh = (): number => (start += DAY_MS);

interface Container {
  readonly budget: CodeHubBudget;
  /** Reserves as if the clock read `at`. */
  reserveAt(at: number, maxWaitMs: number): Promise<Slot>;
}

/** One "container": a budget with its own DynamoDB client and a clock the test sets. */
function container(callsPerMinute = 300): Container {
  let clock = 0;
  const budget = createCodeHubBudget({ tableName: durable.tableName, callsPerMinute, now: () => clock });
  opened.push(budget);
  return {
    budget,
    reserveAt: (at, maxWaitMs) => {
      clock = at;
      return budget.reserve(maxWaitMs);
    },
  };
}

beforeAll(async () => {
  durable = await startDurableEngines();
  documents = DynamoDBDocumentClient.from(createDynamoDbClient());
}, 60_000);

afterAll(async () => {
  for (const budget of opened) budget.close();
  documents?.destroy();
  await durable?.close();
});

describe('reserve', () => {
  it('the first call is sent at once; quick calls after it are spaced one interval apart', async () => {
    // Prepare
    const a = container(300);
    const t = fresh();
    // Act
    const slots = [];
    for (let call = 0; call < 5; call += 1) slots.push(await a.reserveAt(t + call, MINUTE));
    // Assess: slots at t, t+200, t+400, … asked for at t, t+1, t+2, …
    expect(slotIntervalMs(300)).toBe(200);
    expect(slots).toEqual([0, 199, 398, 597, 796].map((waitMs) => ({ kind: 'slot', waitMs })));
  });

  it('is over past maxWait, with a retryAfterMs at which a reservation just fits, and reserves nothing meanwhile', async () => {
    // Prepare: six slots (t … t+1000) fit within a 1 s wait.
    const a = container(300);
    const t = fresh();
    const fitting = [];
    for (let call = 0; call < 6; call += 1) fitting.push(await a.reserveAt(t, 1000));
    // Act
    const over = await a.reserveAt(t, 1000);
    const stillOver = await a.reserveAt(t + 199, 1000);
    const retried = await a.reserveAt(t + 200, 1000);
    // Assess
    expect(fitting.map((slot) => slot.kind === 'slot' && slot.waitMs)).toEqual([0, 200, 400, 600, 800, 1000]);
    expect(over).toEqual({ kind: 'over', retryAfterMs: 200 });
    expect(stillOver).toEqual({ kind: 'over', retryAfterMs: 1 });
    // The slot the over answers did not take: t+1200, 1000 ms after t+200.
    expect(retried).toEqual({ kind: 'slot', waitMs: 1000 });
  });

  it('with no wait allowed, a busy schedule is over until its next slot', async () => {
    // Prepare
    const a = container(300);
    const t = fresh();
    await a.reserveAt(t, 0);
    // Act
    const busy = await a.reserveAt(t + 50, 0);
    const due = await a.reserveAt(t + 200, 0);
    // Assess
    expect(busy).toEqual({ kind: 'over', retryAfterMs: 150 });
    expect(due).toEqual({ kind: 'slot', waitMs: 0 });
  });

  it('after idle time starts at once again, with no burst saved up from the quiet', async () => {
    // Prepare
    const a = container(300);
    const t = fresh();
    await a.reserveAt(t, MINUTE);
    await a.reserveAt(t, MINUTE);
    // Act
    const afterIdle = await a.reserveAt(t + 10 * MINUTE, MINUTE);
    const next = await a.reserveAt(t + 10 * MINUTE, MINUTE);
    // Assess
    expect(afterIdle).toEqual({ kind: 'slot', waitMs: 0 });
    expect(next).toEqual({ kind: 'slot', waitMs: 200 });
  });

  it('with a limit that does not divide a minute, waits round up and the limit+1st slot starts after the minute', async () => {
    // Prepare: 60 s / 7 = 8571.428… ms, kept as 8571.429 ms.
    const a = container(7);
    const t = fresh();
    // Act
    const slots = [];
    for (let call = 0; call < 8; call += 1) slots.push(await a.reserveAt(t, 2 * MINUTE));
    // Assess
    expect(slotIntervalMs(7)).toBe(8571.429);
    const waits = slots.map((slot) => (slot.kind === 'slot' ? slot.waitMs : -1));
    expect(waits).toEqual([0, 8572, 17143, 25715, 34286, 42858, 51429, 60001]);
  });

  it('two containers share one schedule: 20 concurrent reservations get 20 distinct slots one interval apart', async () => {
    // Prepare
    const a = container(300);
    const b = container(300);
    const t = fresh();
    // Act: concurrent reservations from both containers, all at t.
    const slots = await Promise.all(Array.from({ length: 20 }, (_, index) => (index % 2 === 0 ? a : b).reserveAt(t, MINUTE)));
    // Assess
    const waits = slots.map((slot) => (slot.kind === 'slot' ? slot.waitMs : -1)).sort((x, y) => x - y);
    expect(waits).toEqual(Array.from({ length: 20 }, (_, index) => index * 200));
  });

  it('never lets more than callsPerMinute slots into any sliding minute: 1,000 calls from 4 containers over 3 minutes', async () => {
    // Prepare: random arrival times (seeded), four containers reserving concurrently with a generous wait.
    const limit = 300;
    const maxWaitMs = 10 * MINUTE;
    const containers = Array.from({ length: 4 }, () => container(limit));
    const t = fresh();
    const random = seeded(12);
    const arrivals = Array.from({ length: 1000 }, () => t + Math.floor(random() * 3 * MINUTE)).sort((x, y) => x - y);
    // Act: four at a time, one per container, each on its own clock.
    const answers: { readonly at: number; readonly slot: Slot | undefined }[] = [];
    for (let round = 0; round < arrivals.length; round += containers.length) {
      const batch = arrivals.slice(round, round + containers.length);
      answers.push(...(await Promise.all(batch.map(async (at, index) => ({ at, slot: await containers[index]?.reserveAt(at, maxWaitMs) })))));
    }
    // Assess: every call got a slot within its wait, each at least one interval after the one before.
    const sends = answers.flatMap(({ at, slot }) => (slot?.kind === 'slot' && slot.waitMs <= maxWaitMs ? [at + slot.waitMs] : [])).sort((x, y) => x - y);
    expect(sends).toHaveLength(1000);
    const gaps = sends.slice(1).map((send, index) => send - (sends[index] ?? Number.NEGATIVE_INFINITY));
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(slotIntervalMs(limit));
    // More calls came than fit (1,000 in 3 minutes against 900): any minute reached the limit, none passed it.
    const busiest = Math.max(...sends.map((first) => sends.filter((send) => send >= first && send < first + MINUTE).length));
    expect(busiest).toBe(limit);
  }, 120_000);

  it('refuses a wait that is negative or not a number, and a limit outside 1..100000, without a call', async () => {
    const a = container(300);
    await expect(a.budget.reserve(-1)).rejects.toThrow(RangeError);
    await expect(a.budget.reserve(Number.NaN)).rejects.toThrow(RangeError);
    for (const callsPerMinute of [0, 2.5, 100_001]) {
      expect(() => createCodeHubBudget({ tableName: durable.tableName, callsPerMinute })).toThrow(RangeError);
    }
  });
});

describe('pause', () => {
  it('moves every container’s next slot past `until`, and never shortens', async () => {
    // Prepare
    const a = container(300);
    const b = container(300);
    const t = fresh();
    await a.reserveAt(t, MINUTE);
    // Act
    await b.budget.pause(t + 5000);
    const first = await a.reserveAt(t + 1, MINUTE);
    const second = await b.reserveAt(t + 1, MINUTE);
    await a.budget.pause(t + 1000);
    const third = await b.reserveAt(t + 2, MINUTE);
    // Assess
    expect([first, second, third]).toEqual([4999, 5199, 5398].map((waitMs) => ({ kind: 'slot', waitMs })));
  });

  it('on an idle schedule: a caller that may not wait that long is over until it could', async () => {
    // Prepare
    const a = container(300);
    const t = fresh();
    await a.budget.pause(t + 3000);
    // Act
    const over = await a.reserveAt(t, 1000);
    const fits = await a.reserveAt(t + 2000, 1000);
    // Assess
    expect(over).toEqual({ kind: 'over', retryAfterMs: 2000 });
    expect(fits).toEqual({ kind: 'slot', waitMs: 1000 });
  });

  it('does not shorten slots already reserved past `until`', async () => {
    // Prepare: slots at t … t+800; the next starts at t+1000.
    const a = container(300);
    const t = fresh();
    for (let call = 0; call < 5; call += 1) await a.reserveAt(t, MINUTE);
    // Act
    await a.budget.pause(t + 500);
    const next = await a.reserveAt(t, MINUTE);
    // Assess
    expect(next).toEqual({ kind: 'slot', waitMs: 1000 });
  });

  it('keeps the item a day past the latest tat, so the TTL never removes a live schedule or pause', async () => {
    // Prepare
    const a = container(300);
    const t = fresh();
    // Act
    await a.reserveAt(t, MINUTE);
    const afterReserve = await rateItem();
    await a.budget.pause(t + 2 * DAY_MS);
    const afterPause = await rateItem();
    // Assess
    expect(afterReserve).toMatchObject({ tat: t + 200, expires_at: Math.ceil((t + 200) / 1000) + 86_400 });
    expect(afterPause).toMatchObject({ tat: t + 2 * DAY_MS, expires_at: (t + 2 * DAY_MS) / 1000 + 86_400 });
    start += 2 * DAY_MS;
  });

  it('refuses an end that is not finite', async () => {
    await expect(container().budget.pause(Number.POSITIVE_INFINITY)).rejects.toThrow(RangeError);
  });
});

describe('an unreachable DynamoDB', () => {
  it('reserve and pause are LEDGER_UNAVAILABLE: none passes for a slot or a pause', async () => {
    // Prepare
    const unreachable = await unreachableDynamoDb();
    const budget = createCodeHubBudget({ tableName: durable.tableName, callsPerMinute: 300, client: unreachable.client });
    try {
      // Act
      const failures = await Promise.all([budget.reserve(MINUTE).catch((error: unknown) => error), budget.pause(Date.now() + 1000).catch((error: unknown) => error)]);
      // Assess
      for (const failure of failures) expect(failure).toBeInstanceOf(LedgerStoreError);
      expect(failures).toMatchObject([
        { code: 'LEDGER_UNAVAILABLE', operation: 'UpdateItem' },
        { code: 'LEDGER_UNAVAILABLE', operation: 'UpdateItem' },
      ]);
    } finally {
      budget.close();
      unreachable.restore();
    }
  });
});


async function rateItem(): Promise<Record<string, unknown> | undefined> {
  const answer = await documents.send(new GetCommand({ TableName: durable.tableName, Key: { pk: 'BUDGET#codehub', sk: 'RATE' }, ConsistentRead: true }));
  return answer.Item;
}

/** A small seeded generator (mulberry32), so the random arrivals are the same on every run. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = state;
    mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4_294_967_296;
  };
}
