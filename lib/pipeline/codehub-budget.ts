/**
 * The bridge's own CodeHub call budget, shared by every container and function (webhook, worker,
 * reconcile, status page) through the ledger table (`LEDGER_TABLE`), never one container's memory.
 * CodeHub allows 600 calls a minute per API per region to all its tenants together; the bridge keeps
 * to `CODEHUB_MAX_CALLS_PER_MINUTE` of them.
 *
 *   BUDGET#codehub   RATE   tat: the theoretical arrival time (epoch ms): when the next call's slot
 *                           starts; expires_at = tat's upper bound, in seconds, + 1 day
 *
 * Calls are spaced evenly by GCRA (the generic cell rate algorithm, a virtual scheduling limiter):
 * each slot starts at least `interval` = 60 s / limit after the one before, so the calls in ANY
 * sliding minute never exceed the limit (a fixed-minute count would let 300 through at 0:59 and 300
 * more at 1:00). A reservation is one conditional single-item write, so concurrent containers agree
 * without a read first: the idle case starts the schedule at now, the busy case takes the next slot
 * atomically (`tat + interval`) if it starts within the caller's wait. A failed condition is the
 * expected answer (busy, over, already paused longer); any other DynamoDB failure is a
 * `LedgerStoreError`. A tat in the past means the same as no item, so the TTL may tidy up an idle
 * schedule, and never removes a live one: `expires_at` is always a day past the tat it was written with.
 * The containers' clocks (NTP-synced on Lambda) agree to milliseconds, a small fraction of a slot.
 */

import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand, type UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import { call, createDynamoDbClient, isConditionFailed } from './ledger-client';

export interface CodeHubBudgetOptions {
  /** `LEDGER_TABLE`. */
  readonly tableName: string;
  /** Calls per minute across everything; an integer from 1 to 100000. */
  readonly callsPerMinute: number;
  /** @default `createDynamoDbClient()` from ./ledger-client (owned by the budget: `close()` destroys it) */
  readonly client?: DynamoDBClient;
  /** @default Date.now */
  readonly now?: () => number;
}

/**
 * A reservation's answer. 'slot': send after `waitMs` (whole ms, rounded up, 0 to the `maxWaitMs`
 * asked for). 'over': no slot starts within `maxWaitMs`; asking again after `retryAfterMs` (≥ 1) would
 * fit, unless others take those slots first. Nothing was reserved.
 */
export type Slot = { readonly kind: 'slot'; readonly waitMs: number } | { readonly kind: 'over'; readonly retryAfterMs: number };

export interface CodeHubBudget {
  readonly callsPerMinute: number;
  /**
   * Reserves the next slot if it starts within `maxWaitMs` (finite, ≥ 0); does NOT sleep (the caller
   * does). One UpdateItem when idle; two when busy; two and a consistent GetItem when over.
   */
  reserve(maxWaitMs: number): Promise<Slot>;
  /**
   * No call before `until` (epoch ms), for every caller: CodeHub answered 429 with a Retry-After. Only
   * extends a pause (or a schedule) already reaching further. Also raises `paused_until`, which callers
   * already holding a slot read before they send (`pausedUntil`). Two UpdateItems.
   */
  pause(until: number): Promise<void>;
  /** The end of the latest pause (epoch ms), if one was ever set. One consistent GetItem. */
  pausedUntil(): Promise<number | undefined>;
  /** Releases a client the budget created (an injected one stays the caller's). */
  close(): void;
}

/** Half of CodeHub's 600 a minute, which every tenant in the region shares. */
const MAX_CALLS_PER_MINUTE = 100_000;

const MINUTE_MS = 60_000;
const DAY_SECONDS = 86_400;
/** Each call's wait, on top of the client's own per-attempt timeout: the SDK's retries stay within it. */
const TIMEOUT_MS = 2000;
const KEY = { pk: 'BUDGET#codehub', sk: 'RATE' } as const;



/**
 * The spacing between slots, rounded UP to a whole microsecond: DynamoDB adds it in exact decimal,
 * so `limit` slots always span at least a minute (60 s / 7 as a double could fall a hair short), and
 * every tat stays on a microsecond grid that doubles near today's epoch ms still hold exactly.
 */
export function slotIntervalMs(callsPerMinute: number): number {
  return Math.ceil((MINUTE_MS * 1000) / callsPerMinute) / 1000;
}

interface Context {
  readonly table: string;
  readonly documents: DynamoDBDocumentClient;
  readonly interval: number;
  readonly now: () => number;
}

export function createCodeHubBudget(options: CodeHubBudgetOptions): CodeHubBudget {
  const { callsPerMinute } = options;
  // A fraction or zero would space calls by what no one configured: a bug, not a budget.
  if (!Number.isInteger(callsPerMinute) || callsPerMinute < 1 || callsPerMinute > MAX_CALLS_PER_MINUTE) {
    throw new RangeError(`a CodeHub budget must be an integer from 1 to ${MAX_CALLS_PER_MINUTE} calls a minute, not ${callsPerMinute}`);
  }
  const client = options.client ?? createDynamoDbClient();
  const context: Context = {
    table: options.tableName,
    documents: DynamoDBDocumentClient.from(client),
    interval: slotIntervalMs(callsPerMinute),
    now: options.now ?? Date.now,
  };
  return {
    callsPerMinute,
    reserve: (maxWaitMs) => reserve(context, maxWaitMs),
    pause: (until) => pause(context, until),
    pausedUntil: async () => {
      const answer = await call('GetItem', () =>
        context.documents.send(new GetCommand({ TableName: context.table, Key: KEY, ConsistentRead: true }), { abortSignal: AbortSignal.timeout(TIMEOUT_MS) }),
      );
      const until = answer.Item?.['paused_until'];
      return until === undefined ? undefined : numberOf(until);
    },
    close: () => {
      if (options.client === undefined) client.destroy();
    },
  };
}

async function reserve(context: Context, maxWaitMs: number): Promise<Slot> {
  if (!Number.isFinite(maxWaitMs) || maxWaitMs < 0) throw new RangeError(`a reservation's wait must be finite and ≥ 0, not ${maxWaitMs}`);
  // One instant for the whole reservation: the round trips only make the caller send later than its slot.
  const now = context.now();
  const { interval } = context;
  const idle = await updateIf(context, {
    UpdateExpression: 'SET tat = :now + :interval, expires_at = :expires_at',
    ConditionExpression: 'attribute_not_exists(tat) OR tat <= :now',
    ExpressionAttributeValues: { ':now': now, ':interval': interval, ':expires_at': expiresAtOf(now + interval) },
  });
  if (idle !== undefined) return { kind: 'slot', waitMs: 0 };
  // Busy: the slot is the current tat, taken by moving tat on; the condition has no arithmetic, so the latest start comes computed.
  const latest = now + maxWaitMs;
  const busy = await updateIf(context, {
    UpdateExpression: 'SET tat = tat + :interval, expires_at = :expires_at',
    ConditionExpression: 'tat <= :latest',
    ExpressionAttributeValues: { ':interval': interval, ':latest': latest, ':expires_at': expiresAtOf(latest + interval) },
    ReturnValues: 'ALL_NEW',
  });
  if (busy !== undefined) {
    const slotStart = onGrid(numberOf(busy.tat) - interval);
    return { kind: 'slot', waitMs: Math.max(0, Math.ceil(slotStart - now)) };
  }
  // Over: a retry fits once the next slot is within its wait. No item now means idle: retry at once.
  const answer = await call('GetItem', () =>
    context.documents.send(new GetCommand({ TableName: context.table, Key: KEY, ConsistentRead: true }), { abortSignal: AbortSignal.timeout(TIMEOUT_MS) }),
  );
  const retryAt = Math.max(now, numberOf(answer.Item?.tat) - maxWaitMs);
  return { kind: 'over', retryAfterMs: Math.max(1, Math.ceil(retryAt - now)) };
}

async function pause(context: Context, until: number): Promise<void> {
  if (!Number.isFinite(until)) throw new RangeError(`a pause must end at a finite time, not ${until}`);
  // A failed condition: the schedule already reaches past `until` (a longer pause, or slots taken), which holds anyway.
  await updateIf(context, {
    UpdateExpression: 'SET tat = :until, expires_at = :expires_at',
    ConditionExpression: 'attribute_not_exists(tat) OR tat < :until',
    ExpressionAttributeValues: { ':until': until, ':expires_at': expiresAtOf(Math.max(until, context.now())) },
  });
  // Slots taken before the 429 came back would still go out during the pause: their holders read this first.
  await updateIf(context, {
    UpdateExpression: 'SET paused_until = :until',
    ConditionExpression: 'attribute_not_exists(paused_until) OR paused_until < :until',
    ExpressionAttributeValues: { ':until': until },
  });
}

/** One conditional UpdateItem: the item's attributes (empty unless asked for) when written, undefined when its condition did not hold. */
async function updateIf(context: Context, input: Omit<UpdateCommandInput, 'TableName' | 'Key'>): Promise<Record<string, unknown> | undefined> {
  try {
    const answer = await call('UpdateItem', () =>
      context.documents.send(new UpdateCommand({ TableName: context.table, Key: KEY, ...input }), { abortSignal: AbortSignal.timeout(TIMEOUT_MS) }),
    );
    return answer.Attributes ?? {};
  } catch (error) {
    if (isConditionFailed(error)) return undefined;
    throw error;
  }
}

/** Epoch seconds for the TTL, rounded up, a day past the latest tat the write may leave. */
const expiresAtOf = (tatBoundMs: number): number => Math.ceil(tatBoundMs / 1000) + DAY_SECONDS;
/** Back onto the microsecond grid tats live on, shedding the subtraction's rounding. */
const onGrid = (ms: number): number => Math.round(ms * 1000) / 1000;
const numberOf = (value: unknown): number => (typeof value === 'number' ? value : 0);
