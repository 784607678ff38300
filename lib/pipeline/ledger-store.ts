/**
 * The ledger store: the push ledger (`LEDGER_TABLE`) over DynamoDB. Item layout in ledger-items.ts.
 *
 * No TransactWriteItems: the local engine (dynalite) has none, and the ledger must run one path
 * locally and in AWS. Atomicity comes from the order of single-item conditional writes instead:
 * 1. each PUSH×MIRROR item, `attribute_not_exists` (an item an earlier cut-short attempt left is kept);
 * 2. the PUSH item, `attribute_not_exists(pk)`: the commit point. Until it exists the push is not in
 *    the ledger: `getPush` and `pendingForMirror` see nothing of it;
 * 3. the MIRROR/REF pointers, each only forward (a newer arrival replaces it, an older never does), so
 *    a replay, which also runs this step, repairs pointers a cut-short write missed and moves none back.
 *
 * A mirror's update is optimistic: it is written on the condition that its `version` is the one read;
 * when another writer got there first it re-reads and applies the event again (a few times).
 *
 * The client finds DynamoDB only through the SDK's own configuration (region, credentials and the
 * standard `AWS_ENDPOINT_URL_DYNAMODB`). Every DynamoDB failure is a `LedgerStoreError`: no durable
 * record, so the webhook answers 5xx; expected outcomes are typed results, never thrown.
 */

import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, QueryCommand, UpdateCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import type { LedgerEntry, LedgerMirror } from '../ledger/types';
import {
  applyUpdate,
  DEFAULT_RETENTION_DAYS,
  entryOf,
  mirrorItemOf,
  mirrorKeyOf,
  mirrorOf,
  mirrorPk,
  mirrorSummaryOf,
  MIRROR_SK_PREFIX,
  MIRROR_SUMMARY_ATTRIBUTES,
  pushItemOf,
  pushPk,
  PUSH_SK,
  refPointersOf,
  refSk,
  type LedgerMirrorSummary,
  type MirrorItem,
  type MirrorUpdate,
  type PushItem,
  type RefPointerItem,
} from './ledger-items';
import { call, createDynamoDbClient, isConditionFailed, LedgerErrorCodes, LedgerStoreError } from './ledger-client';
import { noteTrigger, pushExists, type NoteResult } from './ledger-notes';

export { createDynamoDbClient, LedgerErrorCodes, LedgerStoreError, type DynamoDbClientOptions, type LedgerErrorCode } from './ledger-client';
export { mirrorKeyOf, type LedgerMirrorSummary, type MirrorUpdate } from './ledger-items';

export type RecordResult = { readonly kind: 'recorded' } | { readonly kind: 'exists'; readonly entry: LedgerEntry };

export type UpdateMirrorResult =
  | { readonly kind: 'updated'; readonly entry: LedgerEntry }
  /** Already final in the state the event leads to: nothing written. */
  | { readonly kind: 'unchanged'; readonly entry: LedgerEntry }
  /** The event would move the mirror backwards: nothing written. */
  | { readonly kind: 'refused'; readonly entry: LedgerEntry }
  | { readonly kind: 'not-found' }
  /** Other writers won every one of the tries: nothing written; the caller retries (SQS redelivers). */
  | { readonly kind: 'contended' };

export interface PendingPush {
  readonly entry: LedgerEntry;
  readonly mirror: LedgerMirror;
}

export interface LedgerStore {
  recordPush(entry: LedgerEntry): Promise<RecordResult>;
  getPush(pushId: string): Promise<LedgerEntry | undefined>;
  updateMirror(pushId: string, mirrorKey: string, update: MirrorUpdate): Promise<UpdateMirrorResult>;
  /** Whether `pushId` is taken: one GetItem (ledger-notes.ts), for the answer's path. */
  pushExists(pushId: string): Promise<boolean>;
  /** The webhook's note of an accepted sync: one request, no read (ledger-notes.ts). Needs the recorded push. */
  noteTrigger(pushId: string, mirrorKey: string, jid: string, repositoryId: number): Promise<NoteResult>;
  /** The `push_id` of the newest push to `ref` that `mirrorKey` is in; undefined = none known. */
  latestPushForRef(mirrorKey: string, ref: string): Promise<string | undefined>;
  /** The mirror's pushes neither mirrored nor failed, newest first, at most `limit`. */
  pendingForMirror(mirrorKey: string, limit: number): Promise<PendingPush[]>;
  /** The mirror's newest pushes, at most `limit`: one Query of by_mirror, its items only (eventually consistent). */
  recentForMirror(mirrorKey: string, limit: number): Promise<LedgerMirrorSummary[]>;
  /** Releases a client the store created (an injected one stays the caller's). */
  close(): void;
}

export interface LedgerStoreOptions {
  /** `LEDGER_TABLE`. */
  readonly tableName: string;
  /** @default `createDynamoDbClient()` (owned by the store: `close()` destroys it) */
  readonly client?: DynamoDBClient;
  /** @default 30 */
  readonly retentionDays?: number;
  /** Tries of one optimistic update before `contended`. @default 5 */
  readonly updateTries?: number;
}

interface Context {
  readonly table: string;
  readonly documents: DynamoDBDocumentClient;
  readonly retentionDays: number;
  readonly updateTries: number;
}

export function createLedgerStore(options: LedgerStoreOptions): LedgerStore {
  const client = options.client ?? createDynamoDbClient();
  const context: Context = {
    table: options.tableName,
    documents: DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } }),
    retentionDays: options.retentionDays ?? DEFAULT_RETENTION_DAYS,
    updateTries: options.updateTries ?? 5,
  };
  return {
    recordPush: (entry) => recordPush(context, entry),
    getPush: async (pushId) => (await readPush(context, pushId))?.entry,
    updateMirror: (pushId, mirrorKey, update) => updateMirror(context, pushId, mirrorKey, update),
    pushExists: (pushId) => pushExists(context, pushId),
    noteTrigger: (pushId, mirrorKey, jid, repositoryId) => noteTrigger(context, pushId, mirrorKey, jid, repositoryId),
    latestPushForRef: (mirrorKey, ref) => latestPushForRef(context, mirrorKey, ref),
    pendingForMirror: (mirrorKey, limit) => pendingForMirror(context, mirrorKey, limit),
    recentForMirror: (mirrorKey, limit) => recentForMirror(context, mirrorKey, limit),
    close: () => {
      if (options.client === undefined) client.destroy();
    },
  };
}

async function recordPush(context: Context, entry: LedgerEntry): Promise<RecordResult> {
  const mirrorItems = entry.mirrors.map((mirror) => mirrorItemOf(entry, mirror, context.retentionDays));
  await Promise.all(mirrorItems.map((item) => putIfAbsent(context, item)));
  const created = await putIfAbsent(context, pushItemOf(entry, context.retentionDays));
  // A replay also moves the pointers (only ever forward): it completes what a cut-short first write left.
  await Promise.all(refPointersOf(entry, context.retentionDays).map((pointer) => movePointerForward(context, pointer)));
  if (created) return { kind: 'recorded' };
  const stored = await readPush(context, entry.pushId);
  if (stored === undefined) throw new LedgerStoreError(LedgerErrorCodes.LEDGER_UNAVAILABLE, 'Query', `push ${entry.pushId} exists but could not be read back`);
  return { kind: 'exists', entry: stored.entry };
}

/** Writes `item` unless its key exists; false when it did. */
async function putIfAbsent(context: Context, item: PushItem | MirrorItem): Promise<boolean> {
  try {
    await call('PutItem', () => context.documents.send(new PutCommand({ TableName: context.table, Item: item, ConditionExpression: 'attribute_not_exists(pk)' })));
    return true;
  } catch (error) {
    if (isConditionFailed(error)) return false;
    throw error;
  }
}

async function movePointerForward(context: Context, pointer: RefPointerItem): Promise<void> {
  try {
    await call('UpdateItem', () =>
      context.documents.send(
        new UpdateCommand({
          TableName: context.table,
          Key: { pk: pointer.pk, sk: pointer.sk },
          UpdateExpression: 'SET push_id = :push_id, arrived_at = :arrived_at, expires_at = :expires_at',
          // Ties by id, so writing the same pointer again succeeds and two pushes of one millisecond agree.
          ConditionExpression: 'attribute_not_exists(pk) OR arrived_at < :arrived_at OR (arrived_at = :arrived_at AND push_id <= :push_id)',
          ExpressionAttributeValues: { ':push_id': pointer.push_id, ':arrived_at': pointer.arrived_at, ':expires_at': pointer.expires_at },
        }),
      ),
    );
  } catch (error) {
    if (!isConditionFailed(error)) throw error; // a newer push holds the pointer: as it should
  }
}

interface StoredPush {
  readonly entry: LedgerEntry;
  readonly push: PushItem;
  readonly mirrors: readonly MirrorItem[];
}

/** The push and its mirrors, one consistent Query of its partition; undefined until the push item exists. */
async function readPush(context: Context, pushId: string): Promise<StoredPush | undefined> {
  const items = await queryAll(context, {
    TableName: context.table,
    KeyConditionExpression: 'pk = :pk',
    ExpressionAttributeValues: { ':pk': pushPk(pushId) },
    ConsistentRead: true,
  });
  const push = items.find((item) => item.sk === PUSH_SK) as PushItem | undefined;
  if (push === undefined) return undefined;
  const mirrors = items.filter((item) => typeof item.sk === 'string' && item.sk.startsWith(MIRROR_SK_PREFIX)) as unknown as MirrorItem[];
  return { entry: entryOf(push, mirrors), push, mirrors };
}

async function updateMirror(context: Context, pushId: string, mirrorKey: string, update: MirrorUpdate): Promise<UpdateMirrorResult> {
  for (let tries = 0; tries < context.updateTries; tries += 1) {
    const stored = await readPush(context, pushId);
    const current = stored?.mirrors.find((item) => item.mirror_key === mirrorKey);
    if (stored === undefined || current === undefined) return { kind: 'not-found' };
    const applied = applyUpdate(mirrorOf(current), update);
    if (applied.kind !== 'changed') return { kind: applied.kind, entry: stored.entry };
    const next = mirrorItemOf(stored.entry, applied.mirror, context.retentionDays, current.version + 1);
    if (await putIfVersion(context, next, current.version)) {
      await refreshPushState(context, pushId);
      const after = await readPush(context, pushId);
      return after === undefined ? { kind: 'not-found' } : { kind: 'updated', entry: after.entry };
    }
  }
  return { kind: 'contended' };
}

async function putIfVersion(context: Context, item: MirrorItem | PushItem, version: number): Promise<boolean> {
  try {
    await call('PutItem', () =>
      context.documents.send(
        new PutCommand({ TableName: context.table, Item: item, ConditionExpression: 'version = :version', ExpressionAttributeValues: { ':version': version } }),
      ),
    );
    return true;
  } catch (error) {
    if (isConditionFailed(error)) return false;
    throw error;
  }
}

/**
 * Brings the push item's stored state (for queries) in line with its mirrors. Each writer re-reads
 * after its own mirror write, so the last to succeed has seen every mirror write before it.
 */
async function refreshPushState(context: Context, pushId: string): Promise<void> {
  for (let tries = 0; tries < context.updateTries; tries += 1) {
    const stored = await readPush(context, pushId);
    if (stored === undefined || stored.push.state === stored.entry.state) return;
    if (await putIfVersion(context, { ...stored.push, state: stored.entry.state, version: stored.push.version + 1 }, stored.push.version)) return;
  }
}

async function latestPushForRef(context: Context, mirrorKey: string, ref: string): Promise<string | undefined> {
  const items = await queryAll(context, {
    TableName: context.table,
    KeyConditionExpression: 'pk = :pk AND sk = :sk',
    ExpressionAttributeValues: { ':pk': mirrorPk(mirrorKey), ':sk': refSk(ref) },
    ConsistentRead: true,
  });
  const pushId = items[0]?.push_id;
  return typeof pushId === 'string' ? pushId : undefined;
}

async function pendingForMirror(context: Context, mirrorKey: string, limit: number): Promise<PendingPush[]> {
  const pending: PendingPush[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await call('Query', () =>
      context.documents.send(
        new QueryCommand({
          TableName: context.table,
          IndexName: 'by_mirror',
          KeyConditionExpression: 'gsi1pk = :gsi1pk',
          FilterExpression: '#state IN (:received, :triggered)',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':gsi1pk': mirrorPk(mirrorKey), ':received': 'received', ':triggered': 'triggered' },
          ScanIndexForward: false,
          ExclusiveStartKey: startKey,
        }),
      ),
    );
    for (const item of page.Items ?? []) {
      if (pending.length >= limit) break;
      // The index is eventually consistent and may hold a mirror item whose push never committed: read the truth.
      const stored = await readPush(context, String(item.push_id));
      const mirror = stored?.entry.mirrors.find((candidate) => mirrorKeyOf(candidate) === mirrorKey);
      if (stored !== undefined && mirror !== undefined && (mirror.state === 'received' || mirror.state === 'triggered')) pending.push({ entry: stored.entry, mirror });
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined && pending.length < limit);
  return pending;
}

async function recentForMirror(context: Context, mirrorKey: string, limit: number): Promise<LedgerMirrorSummary[]> {
  const page = await call('Query', () =>
    context.documents.send(
      new QueryCommand({
        TableName: context.table,
        IndexName: 'by_mirror',
        KeyConditionExpression: 'gsi1pk = :gsi1pk',
        ProjectionExpression: MIRROR_SUMMARY_ATTRIBUTES.map((name) => `#${name}`).join(', '),
        ExpressionAttributeNames: Object.fromEntries(MIRROR_SUMMARY_ATTRIBUTES.map((name) => [`#${name}`, name])), // `state` is reserved
        ExpressionAttributeValues: { ':gsi1pk': mirrorPk(mirrorKey) },
        ScanIndexForward: false,
        Limit: Math.max(1, Math.floor(limit)),
      }),
    ),
  );
  return (page.Items ?? []).map((item) => mirrorSummaryOf(item as Pick<MirrorItem, (typeof MIRROR_SUMMARY_ATTRIBUTES)[number]>));
}

async function queryAll(context: Context, input: QueryCommandInput): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await call('Query', () => context.documents.send(new QueryCommand({ ...input, ExclusiveStartKey: startKey })));
    items.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
  return items;
}
