/**
 * Coalescing across containers (issue 12): one sync per repository per burst. Since `force_fetch`
 * syncs the whole repository, one sync serves every push that landed before its job fetched. The
 * state lives in the ledger table, one item per mirror, changed by conditional single-item writes:
 *
 *   MIRROR#<mirror>  SYNC   owner (push id), state pending | sent, claimed_at, sent_at, jid,
 *                           trailing_due (ms); expires_at (s)
 *
 * - A push that finds no open window **claims** one (`pending`): it triggers the sync.
 * - A push that finds a `pending` window (its trigger in flight, or queued by a throttle) **joins** it:
 *   that trigger has not fetched yet, so it will carry the push.
 * - A push that finds a `sent` window younger than `windowMs` joins it too, but that job may have
 *   fetched already: the first such push also takes the window's **trailing** trigger, due when the
 *   window ends (its confirm check comes then, finds the mirror behind and triggers again: the next
 *   window); the other joiners look just after it (`recheckAtOf`), so one of them triggers should
 *   the holder be settled meanwhile (superseded by one of them). So a steady storm costs one trigger
 *   per repository per window, and a push that missed a fetch waits about one window for the next.
 * - Any push whose check later finds the mirror behind triggers again through the same claim, so
 *   coalescing never loses a push: the confirm proves each one from the mirror's heads.
 * A `pending` window older than `STALE_PENDING_MS` (its owner died, or gave up) may be claimed anew.
 */

import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { call, createDynamoDbClient, isConditionFailed } from './ledger-client';
import { mirrorPk } from './ledger-items';

export type Claim =
  /** Yours: trigger the sync, then `sent` (or `release` when it failed for good). */
  | { readonly kind: 'claimed' }
  /**
   * Another push's sync carries this one. `jid` once that trigger was sent; `trailingDue` (epoch ms)
   * when this push took the window's trailing trigger: check the mirror then, not before.
   */
  | {
      readonly kind: 'joined';
      readonly jid?: string | undefined;
      readonly trailingDue?: number | undefined;
      /** When the sent window ends (epoch ms): past it, a push still behind claims the next one. */
      readonly windowEnds?: number | undefined;
    };

export interface SyncWindows {
  claim(mirrorKey: string, pushId: string, now: number): Promise<Claim>;
  /** The owner's trigger was accepted with `jid` at `now`: the window's fetch clock starts. */
  sent(mirrorKey: string, pushId: string, jid: string, now: number): Promise<void>;
  /** The owner's trigger failed for good: the next push may claim at once. */
  release(mirrorKey: string, pushId: string): Promise<void>;
  /** The window's jid, when its trigger was sent. One consistent GetItem. */
  jidOf(mirrorKey: string): Promise<string | undefined>;
  close(): void;
}

export interface SyncWindowsOptions {
  /** `LEDGER_TABLE`. */
  readonly tableName: string;
  /** How long after a trigger its job may still fetch a push (`COALESCE_WINDOW_SECONDS`). @default 10_000 */
  readonly windowMs?: number;
  /** @default `createDynamoDbClient()` (owned: `close()` destroys it) */
  readonly client?: DynamoDBClient;
}

/** A claim whose trigger was never sent this long after it is treated as abandoned. */
export const STALE_PENDING_MS = 60_000;
export const DEFAULT_WINDOW_MS = 10_000;
const SYNC_SK = 'SYNC';
const TIMEOUT_MS = 2000;
/** Items outlive their window by a day: the TTL only tidies up. */
const TTL_SECONDS = 86_400;

interface SyncItem {
  readonly owner?: string;
  readonly state?: 'pending' | 'sent';
  readonly sent_at?: number;
  readonly jid?: string;
  readonly trailing_due?: number;
}

export function createSyncWindows(options: SyncWindowsOptions): SyncWindows {
  const client = options.client ?? createDynamoDbClient();
  const documents = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  const table = options.tableName;
  const windowMs = options.windowMs ?? DEFAULT_WINDOW_MS;
  const key = (mirrorKey: string): Record<string, string> => ({ pk: mirrorPk(mirrorKey), sk: SYNC_SK });
  const signal = (): { abortSignal: AbortSignal } => ({ abortSignal: AbortSignal.timeout(TIMEOUT_MS) });

  async function conditional(operation: string, command: UpdateCommand): Promise<boolean> {
    try {
      await call(operation, () => documents.send(command, signal()));
      return true;
    } catch (error) {
      if (isConditionFailed(error)) return false;
      throw error;
    }
  }

  async function read(mirrorKey: string): Promise<SyncItem | undefined> {
    const answer = await call('GetItem', () => documents.send(new GetCommand({ TableName: table, Key: key(mirrorKey), ConsistentRead: true }), signal()));
    return answer.Item as SyncItem | undefined;
  }

  async function claim(mirrorKey: string, pushId: string, now: number): Promise<Claim> {
    const claimed = await conditional(
      'UpdateItem',
      new UpdateCommand({
        TableName: table,
        Key: key(mirrorKey),
        UpdateExpression: 'SET #owner = :owner, #state = :pending, claimed_at = :now, expires_at = :expires REMOVE sent_at, jid, trailing_due',
        // Free: no window, a sent window past its fetch time, a pending one abandoned, or the owner's own
        // pending one (its trigger was deferred). Its own sent window the owner joins like anyone: its trigger is out.
        ConditionExpression:
          'attribute_not_exists(pk) OR (#state = :sent AND sent_at <= :windowStart) OR (#state = :pending AND (claimed_at <= :staleBefore OR #owner = :owner))',
        ExpressionAttributeNames: { '#owner': 'owner', '#state': 'state' },
        ExpressionAttributeValues: {
          ':owner': pushId,
          ':pending': 'pending',
          ':sent': 'sent',
          ':now': now,
          ':windowStart': now - windowMs,
          ':staleBefore': now - STALE_PENDING_MS,
          ':expires': Math.ceil(now / 1000) + TTL_SECONDS,
        },
      }),
    );
    if (claimed) return { kind: 'claimed' };
    const window = await read(mirrorKey);
    if (window?.state !== 'sent' || window.sent_at === undefined) return { kind: 'joined', jid: window?.jid };
    const due = window.sent_at + windowMs;
    // The first push after a sent trigger takes the trailing one; the rest of the window rides on it.
    const trailing =
      window.trailing_due === undefined &&
      (await conditional(
        'UpdateItem',
        new UpdateCommand({
          TableName: table,
          Key: key(mirrorKey),
          UpdateExpression: 'SET trailing_due = :due',
          ConditionExpression: 'attribute_not_exists(trailing_due) AND sent_at = :sentAt',
          ExpressionAttributeValues: { ':due': due, ':sentAt': window.sent_at },
        }),
      ));
    return { kind: 'joined', jid: window.jid, windowEnds: due, ...(trailing ? { trailingDue: due } : {}) };
  }

  async function sent(mirrorKey: string, pushId: string, jid: string, now: number): Promise<void> {
    await conditional(
      'UpdateItem',
      new UpdateCommand({
        TableName: table,
        Key: key(mirrorKey),
        UpdateExpression: 'SET #state = :sent, sent_at = :now, jid = :jid',
        // A window claimed anew meanwhile (this one was stale) is the new owner's.
        ConditionExpression: '#owner = :owner',
        ExpressionAttributeNames: { '#owner': 'owner', '#state': 'state' },
        ExpressionAttributeValues: { ':owner': pushId, ':sent': 'sent', ':now': now, ':jid': jid },
      }),
    );
  }

  async function release(mirrorKey: string, pushId: string): Promise<void> {
    await conditional(
      'UpdateItem',
      new UpdateCommand({
        TableName: table,
        Key: key(mirrorKey),
        // Claimable at once, by the rules of `claim`: a pending window abandoned long ago.
        UpdateExpression: 'SET claimed_at = :zero',
        ConditionExpression: '#owner = :owner AND #state = :pending',
        ExpressionAttributeNames: { '#owner': 'owner', '#state': 'state' },
        ExpressionAttributeValues: { ':owner': pushId, ':pending': 'pending', ':zero': 0 },
      }),
    );
  }

  return {
    claim,
    sent,
    release,
    jidOf: async (mirrorKey) => {
      const window = await read(mirrorKey);
      return window?.state === 'sent' ? window.jid : undefined;
    },
    close: () => {
      if (options.client === undefined) client.destroy();
    },
  };
}
