import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../dev/codehub-emulator/index';
import { createStaticTokenAuthenticator } from '../../lib/codehub/auth';
import { createCodeHubClient } from '../../lib/codehub/client';
import { closeTransportPools } from '../../lib/codehub/transport';
import { CodeHubError, ErrorCodes } from '../../lib/errors';
import { budgetCallsPerMinute, budgetGateFromEnv } from '../../lib/pipeline/budget-gate';
import { slotIntervalMs, type CodeHubBudget } from '../../lib/pipeline/codehub-budget';
import { arrivalTimes, busiestWindow, clearBudgetSchedule, closedPortDynamoDb, closestGapMs, gatedContainer, type GatedContainer } from '../support/budget';
import { captureLogger, codeHubErrorOf } from '../support/codehub';
import { configError } from '../support/config-error';
import { startDurableEngines, type DurableEngines } from '../support/durable';
import { commit, git } from '../support/git';

/**
 * The global CodeHub budget as the CodeHub client's call gate (issue 12, "Storms"), against the real
 * CodeHub emulator and the real local DynamoDB (dynalite): every "container" is a client with its own
 * budget object (its own DynamoDB client) on the one ledger table, on the real clock. What reached
 * CodeHub, and when, is read from the emulator's call log (`at`: when each call arrived).
 */

const TOKEN = 'budget-gate-test-TOKEN';
const ID = 21;
/** Consecutive arrivals may come this much closer than a slot: timers and loopback, not the schedule. */
const JITTER_MS = 50;

let root: string;
let emulator: Emulator;
let durable: DurableEngines;
const opened: CodeHubBudget[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'budget-gate-'));
  const upstream = join(root, 'upstream');
  await git(root, 'init', '-q', '-b', 'main', upstream);
  await commit(upstream, 'first');
  [emulator, durable] = await Promise.all([
    startEmulator({ dataDir: join(root, 'data'), credentials: { tokens: [TOKEN] }, repositories: [{ id: ID, name: 'budgeted', upstream }] }),
    startDurableEngines(),
  ]);
}, 60_000);

beforeEach(async () => {
  await clearBudgetSchedule(durable.tableName);
});

afterEach(async () => {
  await emulator.waitForIdle();
  emulator.faults.clear();
  emulator.clearCalls();
});

afterAll(async () => {
  for (const budget of opened) budget.close();
  await emulator?.close();
  await closeTransportPools();
  await durable?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

function container(callsPerMinute: number, maxWaitMs: number, logger = captureLogger().logger): GatedContainer {
  const made = gatedContainer({ emulator, token: TOKEN, tableName: durable.tableName, callsPerMinute, maxWaitMs, logger });
  opened.push(made.budget);
  return made;
}

const codehubCalls = () => emulator.callsTo('codehub');

describe('budgetCallsPerMinute', () => {
  const TABLE = { LEDGER_TABLE: 'bridge-ledger' };

  it('is 300 by default with a ledger table, and undefined (no budget) without one', () => {
    expect(budgetCallsPerMinute(TABLE)).toBe(300);
    expect(budgetCallsPerMinute({ ...TABLE, CODEHUB_MAX_CALLS_PER_MINUTE: '  ' })).toBe(300);
    expect(budgetCallsPerMinute({})).toBeUndefined();
    expect(budgetCallsPerMinute({ LEDGER_TABLE: '  ', CODEHUB_MAX_CALLS_PER_MINUTE: '60' })).toBeUndefined();
  });

  it('is off (undefined) at 0', () => {
    expect(budgetCallsPerMinute({ ...TABLE, CODEHUB_MAX_CALLS_PER_MINUTE: '0' })).toBeUndefined();
  });

  it('reads 1 to 100000', () => {
    expect(budgetCallsPerMinute({ ...TABLE, CODEHUB_MAX_CALLS_PER_MINUTE: '1' })).toBe(1);
    expect(budgetCallsPerMinute({ ...TABLE, CODEHUB_MAX_CALLS_PER_MINUTE: ' 550 ' })).toBe(550);
    expect(budgetCallsPerMinute({ ...TABLE, CODEHUB_MAX_CALLS_PER_MINUTE: '100000' })).toBe(100_000);
  });

  it.each(['100001', '-1', '2.5', 'sixty', '1e3', '0x10', '300/min'])('refuses %s with a ConfigError naming the variable', (value) => {
    // Act
    const error = configError(() => budgetCallsPerMinute({ ...TABLE, CODEHUB_MAX_CALLS_PER_MINUTE: value }));
    // Assess
    expect(error.field).toBe('CODEHUB_MAX_CALLS_PER_MINUTE');
    expect(error.message).toContain('CODEHUB_MAX_CALLS_PER_MINUTE');
  });
});

describe('budgetGateFromEnv', () => {
  it('has no gate without a ledger table or at 0', () => {
    const { logger } = captureLogger();
    expect(budgetGateFromEnv({ CODEHUB_MAX_CALLS_PER_MINUTE: '60' }, { maxWaitMs: 0, logger })).toBeUndefined();
    expect(budgetGateFromEnv({ LEDGER_TABLE: 'bridge-ledger', CODEHUB_MAX_CALLS_PER_MINUTE: '0' }, { maxWaitMs: 0, logger })).toBeUndefined();
  });

  it("gates calls by LEDGER_TABLE's budget at CODEHUB_MAX_CALLS_PER_MINUTE", async () => {
    // Prepare: at 60 a minute the second slot is a second off, past a wait of 0.
    const { logger } = captureLogger();
    const gate = budgetGateFromEnv({ LEDGER_TABLE: durable.tableName, CODEHUB_MAX_CALLS_PER_MINUTE: '60' }, { maxWaitMs: 0, logger });
    const codehub = createCodeHubClient({ endpoint: emulator.url, auth: createStaticTokenAuthenticator(TOKEN), gate });
    // Act
    await codehub.getMirrorStatus(ID);
    const error = await codeHubErrorOf(codehub.getMirrorStatus(ID));
    // Assess
    expect(error.code).toBe(ErrorCodes.CODEHUB_THROTTLED);
    expect(error.message).toContain('60 calls a minute');
    expect(codehubCalls()).toHaveLength(1);
  });
});

describe('the budget across containers', () => {
  it('spaces the calls of two workers and the webhook one slot apart, in any window', { timeout: 30_000 }, async () => {
    // Prepare: 600 a minute is a slot every 100 ms; 3 × 20 calls take about 6 s.
    const callsPerMinute = 600;
    const interval = slotIntervalMs(callsPerMinute);
    const containers = [container(callsPerMinute, 15_000), container(callsPerMinute, 15_000), container(callsPerMinute, 15_000)];
    // Act: every container sends all its calls at once, syncs and reads mixed.
    const outcomes = await Promise.allSettled(
      containers.flatMap(({ codehub }) =>
        Array.from({ length: 20 }, (_, call) => (call % 4 === 0 ? codehub.startMirrorSync(ID, { forceFetch: false }) : codehub.getMirrorStatus(ID))),
      ),
    );
    // Assess
    expect(outcomes.filter((outcome) => outcome.status === 'rejected')).toEqual([]);
    const times = arrivalTimes(codehubCalls());
    expect(times).toHaveLength(60);
    // Arrivals, not slots: a call that leaves its wait late (the event loop busy with the others) arrives
    // late, the next one on time. So the gap may shrink by that lateness, and a window hold a call or two
    // more than its slots; without the budget all 60 would arrive within a few ms.
    expect(closestGapMs(times)).toBeGreaterThanOrEqual(interval / 4);
    for (const windowMs of [500, 1000, 3000]) {
      expect(busiestWindow(times, windowMs), `calls in ${windowMs} ms`).toBeLessThanOrEqual(Math.ceil(windowMs / interval) + 2);
    }
    expect((times.at(-1) ?? 0) - (times[0] ?? 0)).toBeGreaterThanOrEqual(57 * interval);
  });

  it('does not send a call whose slot is past its wait: CODEHUB_THROTTLED, with when to come back', async () => {
    // Prepare: at 60 a minute the next slot is a second off; the worker waits 500 ms, the webhook's deadline is nearer.
    const [worker, webhook] = [container(60, 500), container(60, 10_000)];
    await worker.codehub.getMirrorStatus(ID);
    // Act
    const waitedTooLong = await codeHubErrorOf(worker.codehub.startMirrorSync(ID, { forceFetch: true }));
    const pastDeadline = await codeHubErrorOf(webhook.codehub.startMirrorSync(ID, { forceFetch: true }, { deadline: Date.now() + 600 }));
    // Assess
    for (const error of [waitedTooLong, pastDeadline]) {
      expect(error.code).toBe(ErrorCodes.CODEHUB_THROTTLED);
      expect(error.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    }
    expect(codehubCalls().map((call) => call.method)).toEqual(['GET']);
  });
});

/** Each call's failure, or `undefined` for a call that succeeded. */
async function failuresOf(calls: readonly Promise<unknown>[]): Promise<(CodeHubError | undefined)[]> {
  return Promise.all(calls.map((call) => call.then(() => undefined, (error: unknown) => (error instanceof CodeHubError ? error : Promise.reject(error)))));
}

describe('a 429 storm', () => {
  /** Five syncs and reads from each of two containers, each call with a deadline the client could retry a 429 in. */
  const stormFrom = (containers: readonly GatedContainer[]): Promise<unknown>[] =>
    containers.flatMap(({ codehub }) =>
      Array.from({ length: 5 }, (_, call) => {
        const options = { deadline: Date.now() + 10_000 };
        return call % 2 === 0 ? codehub.startMirrorSync(ID, { forceFetch: true }, options) : codehub.getMirrorStatus(ID, options);
      }),
    );

  it('the first 429 pauses every container: calls asked for during the pause are not sent, and flow after it', async () => {
    // Prepare: CodeHub answers every call 429 with Retry-After: 2.
    const [a, b] = [container(600, 1000), container(600, 1000)];
    emulator.faults.set({ throttle: 1000, retryAfterSeconds: 2 });
    const first = await codeHubErrorOf(a.codehub.getMirrorStatus(ID, { deadline: Date.now() + 10_000 }));
    // Act
    const failures = await failuresOf(stormFrom([a, b]));
    // Assess: the pause outlasts every wait, so nothing is sent, and each caller is told when to come back.
    expect(first).toMatchObject({ code: ErrorCodes.CODEHUB_THROTTLED, retryAfterSeconds: 2 });
    for (const failure of failures) {
      expect(failure?.code).toBe(ErrorCodes.CODEHUB_THROTTLED);
      expect(failure?.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    }
    expect(codehubCalls().map((call) => call.status)).toEqual([429]);
    // Act: CodeHub recovers; a caller that may wait out the pause is sent after it.
    const [throttledAt] = arrivalTimes(codehubCalls());
    emulator.faults.clear();
    const later = container(600, 5000);
    await later.codehub.getMirrorStatus(ID);
    // Assess
    const times = arrivalTimes(codehubCalls());
    expect(times).toHaveLength(2);
    expect(times[1]).toBeGreaterThanOrEqual((throttledAt ?? 0) + 2000 - JITTER_MS);
  });

  it('10 concurrent calls from two containers: ONE reaches CodeHub, even from callers that held a slot before the 429', async () => {
    // Prepare: the schedule is booked 500 ms ahead (as by earlier callers), so every call of the storm
    // holds its slot (200 ms apart) before CodeHub's first 429 comes back and pauses the budget.
    // Fails while the gate sends a slot reserved before the pause without looking at the pause again.
    const [a, b] = [container(300, 3000), container(300, 3000)];
    await a.budget.pause(Date.now() + 500);
    emulator.faults.set({ throttle: 1000, retryAfterSeconds: 2 });
    // Act
    const failures = await failuresOf(stormFrom([a, b]));
    // Assess
    for (const failure of failures) expect(failure?.code).toBe(ErrorCodes.CODEHUB_THROTTLED);
    expect(codehubCalls().map((call) => call.status)).toEqual([429]);
  });
});

describe('an unreadable budget', () => {
  it('fails the call closed: CODEHUB_THROTTLED, retry after 5 s, nothing sent to CodeHub, and a WARN', async () => {
    // Prepare: the budget's DynamoDB is a closed port.
    const { logger, lines } = captureLogger();
    const dynamodb = await closedPortDynamoDb();
    const unreadable = gatedContainer({ emulator, token: TOKEN, tableName: durable.tableName, callsPerMinute: 300, maxWaitMs: 1000, logger, dynamodb });
    try {
      // Act
      const error = await codeHubErrorOf(unreadable.codehub.startMirrorSync(ID, { forceFetch: true }, { deadline: Date.now() + 10_000 }));
      // Assess
      expect(error.code).toBe(ErrorCodes.CODEHUB_THROTTLED);
      expect(error.retryAfterSeconds).toBe(5);
      expect(codehubCalls()).toEqual([]);
      expect(lines).toContainEqual(expect.objectContaining({ level: 'warn', message: 'CodeHub budget not readable: the call waits' }));
    } finally {
      dynamodb.destroy();
    }
  });
});
