/**
 * The reporters' shared state in the ledger table (`LEDGER_TABLE`): what every container reporting
 * commit statuses upstream must agree on, so it lives in DynamoDB, never in one container's memory.
 * A reporter is one (API base URL, token) pair: what a Git host rate-limits and may reject.
 *
 *   REPORTER#<key>   GATE                 paused_until, rejected_at, rejected_status, rejected_until
 *                                         (ms); expires_at = the later until, in seconds, + 1 h
 *   REPORTER#<key>   MINUTE#<epoch min>   calls: that clock minute's budget taken; expires_at = the
 *                                         minute's end + 1 h
 *
 * Each answer is one conditional single-item write, so concurrent containers agree without a read
 * first: one wins the rejection, a pause only ever extends, and the budget is counted atomically. A
 * failed condition is the expected answer ('over', already paused longer, already rejected); any
 * other DynamoDB failure is a `LedgerStoreError`. Rejections and pauses end by their checked `until`,
 * not by the TTL, which only tidies up (DynamoDB deletes expired items within days, not on time).
 */

import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand, type UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import { sha256 } from '../crypto';
import { call, createDynamoDbClient, isConditionFailed } from './ledger-client';

export interface ReportGateOptions {
  /** `LEDGER_TABLE`. */
  readonly tableName: string;
  /** @default `createDynamoDbClient()` from ./ledger-client (owned by the gate: `close()` destroys it) */
  readonly client?: DynamoDBClient;
}

export type GateState =
  | { readonly kind: 'open' }
  /** `until`: epoch ms. */
  | { readonly kind: 'paused'; readonly until: number }
  /** `at` and `until`: epoch ms; `status`: the HTTP status the host rejected the token with. */
  | { readonly kind: 'rejected'; readonly at: number; readonly status: number; readonly until: number };

export type TakeResult = { readonly kind: 'taken' } | { readonly kind: 'over'; readonly retryAt: number };

export interface ReportGate {
  /** What holds for the reporter at `now` (a rejection or pause past its `until` reads as open). One GetItem, consistent read. */
  state(key: string, now: number): Promise<GateState>;
  /**
   * Takes one call from the reporter's budget for `now`'s clock minute: 'taken', or 'over' (then
   * `retryAt` = the next minute's start, epoch ms). One UpdateItem. `limit`: a positive integer.
   */
  take(key: string, now: number, limit: number): Promise<TakeResult>;
  /**
   * Pauses the reporter until `until` (epoch ms) unless already paused, or rejected, longer. One
   * UpdateItem; resolves either way (a DynamoDB failure still throws).
   */
  pause(key: string, until: number): Promise<void>;
  /**
   * Marks the reporter rejected by `status` at `at` (epoch ms) for `forSeconds`. True when THIS call
   * made it rejected (it was not, or the old rejection had run out by `at`); false when another had.
   * Only the caller that gets true logs and counts the rejection.
   */
  reject(key: string, at: number, status: number, forSeconds: number): Promise<boolean>;
  /** Releases a client the gate created (an injected one stays the caller's). */
  close(): void;
}

/** How long items outlive the state they hold, so a late reader never finds a live state gone. */
const SLACK_SECONDS = 3600;
const MINUTE_MS = 60_000;
/** Each call's wait, on top of the client's own per-attempt timeout: the SDK's retries stay within it. */
const TIMEOUT_MS = 2000;
const GATE_SK = 'GATE';

/**
 * A reporter's key, never the token: the first 32 hex characters of SHA-256 over `apiUrl`, a newline
 * and `token`. A new token is a new reporter, so a rejection of the old one does not hold for it.
 */
export function reporterKey(apiUrl: string, token: string): string {
  return sha256(`${apiUrl}\n${token}`, 'hex').slice(0, 32);
}

const reporterPk = (key: string): string => `REPORTER#${key}`;
const minuteSk = (minute: number): string => `MINUTE#${minute}`;
/** Epoch seconds for the TTL, rounded up: an item never expires before the ms instant it holds. */
const expiresAtOf = (untilMs: number): number => Math.ceil(untilMs / 1000) + SLACK_SECONDS;

interface Context {
  readonly table: string;
  readonly documents: DynamoDBDocumentClient;
}

export function createReportGate(options: ReportGateOptions): ReportGate {
  const client = options.client ?? createDynamoDbClient();
  const context: Context = {
    table: options.tableName,
    documents: DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } }),
  };
  return {
    state: (key, now) => state(context, key, now),
    take: (key, now, limit) => take(context, key, now, limit),
    pause: async (key, until) => {
      await pause(context, key, until);
    },
    reject: (key, at, status, forSeconds) => reject(context, key, at, status, forSeconds),
    close: () => {
      if (options.client === undefined) client.destroy();
    },
  };
}

async function state(context: Context, key: string, now: number): Promise<GateState> {
  const answer = await call('GetItem', () =>
    context.documents.send(new GetCommand({ TableName: context.table, Key: { pk: reporterPk(key), sk: GATE_SK }, ConsistentRead: true }), {
      abortSignal: AbortSignal.timeout(TIMEOUT_MS),
    }),
  );
  const item = answer.Item ?? {};
  const rejectedUntil = numberOf(item.rejected_until);
  // A rejection outranks a pause: the token must change before any call is worth making.
  if (rejectedUntil > now) return { kind: 'rejected', at: numberOf(item.rejected_at), status: numberOf(item.rejected_status), until: rejectedUntil };
  const pausedUntil = numberOf(item.paused_until);
  if (pausedUntil > now) return { kind: 'paused', until: pausedUntil };
  return { kind: 'open' };
}

async function take(context: Context, key: string, now: number, limit: number): Promise<TakeResult> {
  // `calls < limit` with a fraction or zero would let through what no caller meant: a bug, not a budget.
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`a reporter's budget must be a positive integer, not ${limit}`);
  const minute = Math.floor(now / MINUTE_MS);
  const nextMinute = (minute + 1) * MINUTE_MS;
  const taken = await updateIf(context, {
    Key: { pk: reporterPk(key), sk: minuteSk(minute) },
    UpdateExpression: 'ADD calls :one SET expires_at = :expires_at',
    ConditionExpression: 'attribute_not_exists(calls) OR calls < :limit',
    ExpressionAttributeValues: { ':one': 1, ':limit': limit, ':expires_at': expiresAtOf(nextMinute) },
  });
  return taken ? { kind: 'taken' } : { kind: 'over', retryAt: nextMinute };
}

/**
 * The GATE item's `expires_at` stays the later until's (+ slack) because a write only sets it from an
 * until no shorter than the other: a pause ending before a live rejection writes nothing (the
 * rejection stops calls longer anyway), and a rejection shorter than the pause leaves it as it is.
 */
async function pause(context: Context, key: string, until: number): Promise<boolean> {
  if (!Number.isFinite(until)) throw new RangeError(`a pause must end at a finite time, not ${until}`);
  return updateIf(context, {
    Key: { pk: reporterPk(key), sk: GATE_SK },
    UpdateExpression: 'SET paused_until = :until, expires_at = :expires_at',
    ConditionExpression: '(attribute_not_exists(paused_until) OR paused_until < :until) AND (attribute_not_exists(rejected_until) OR rejected_until < :until)',
    ExpressionAttributeValues: { ':until': until, ':expires_at': expiresAtOf(until) },
  });
}

async function reject(context: Context, key: string, at: number, status: number, forSeconds: number): Promise<boolean> {
  if (!Number.isFinite(at) || !Number.isFinite(forSeconds) || forSeconds <= 0) throw new RangeError(`a rejection needs a time and a positive duration, not ${at}, ${forSeconds}`);
  const until = at + forSeconds * 1000;
  const notRejected = '(attribute_not_exists(rejected_until) OR rejected_until <= :at)';
  const values = { ':at': at, ':status': status, ':until': until };
  const setRejection = 'SET rejected_at = :at, rejected_status = :status, rejected_until = :until';
  // Usually no pause outlasts the rejection: one write, which also sets the TTL from this until.
  const first = await updateIf(context, {
    Key: { pk: reporterPk(key), sk: GATE_SK },
    UpdateExpression: `${setRejection}, expires_at = :expires_at`,
    ConditionExpression: `${notRejected} AND (attribute_not_exists(paused_until) OR paused_until <= :until)`,
    ExpressionAttributeValues: { ...values, ':expires_at': expiresAtOf(until) },
  });
  if (first) return true;
  // Already rejected, or paused past this rejection (its TTL is already the later one): the same
  // condition on the rejection alone says which, and whether this call is the one that marks it.
  return updateIf(context, {
    Key: { pk: reporterPk(key), sk: GATE_SK },
    UpdateExpression: setRejection,
    ConditionExpression: notRejected,
    ExpressionAttributeValues: values,
  });
}

/** One conditional UpdateItem: true when written, false when its condition did not hold. */
async function updateIf(context: Context, input: Omit<UpdateCommandInput, 'TableName'>): Promise<boolean> {
  try {
    await call('UpdateItem', () => context.documents.send(new UpdateCommand({ TableName: context.table, ...input }), { abortSignal: AbortSignal.timeout(TIMEOUT_MS) }));
    return true;
  } catch (error) {
    if (isConditionFailed(error)) return false;
    throw error;
  }
}

const numberOf = (value: unknown): number => (typeof value === 'number' ? value : 0);
