/**
 * The webhook's one-request ledger calls on the answer's path: whether a push id is taken (one
 * GetItem, before the CodeHub call), and the note of the sync's `jid` on the push's mirror item once
 * CodeHub answered (one conditional UpdateItem, no read first). Everything else the ledger needs is
 * written while CodeHub is still answering.
 *
 * The note's condition keeps the ledger's rule that nothing moves backwards: a mirror already
 * `mirrored` or `failed` is left alone (a late note after the worker's confirm changes nothing), and a
 * `jid` already noted is not added twice.
 */
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { call, isConditionFailed } from './ledger-client';
import { mirrorSk, pushPk, PUSH_SK } from './ledger-items';

export interface NoteContext {
  readonly table: string;
  readonly documents: DynamoDBDocumentClient;
}

export type NoteResult = 'noted' | 'unchanged';

/** Whether the push item of `pushId` exists: one consistent GetItem of its key alone. */
export async function pushExists(context: NoteContext, pushId: string): Promise<boolean> {
  const answer = await call('GetItem', () =>
    context.documents.send(new GetCommand({ TableName: context.table, Key: { pk: pushPk(pushId), sk: PUSH_SK }, ConsistentRead: true, ProjectionExpression: 'pk' })),
  );
  return answer.Item !== undefined;
}

/**
 * Notes that CodeHub accepted a sync (`jid`) for the push in one mirror: one UpdateItem of the mirror
 * item. The push item's copy of the state (for queries) is left to the worker's next write: entries
 * are read with their state derived from the mirrors, and one request here is one less the ledger
 * must serve while the next delivery waits on it.
 */
export async function noteTrigger(context: NoteContext, pushId: string, mirrorKey: string, jid: string, repositoryId: number): Promise<NoteResult> {
  return update(context, {
    Key: { pk: pushPk(pushId), sk: mirrorSk(mirrorKey) },
    UpdateExpression: 'SET #state = :triggered, repository_id = :repository_id, jids = list_append(jids, :jids), version = version + :one',
    ConditionExpression: 'attribute_exists(pk) AND #state IN (:received, :triggered) AND NOT contains(jids, :jid)',
    ExpressionAttributeNames: { '#state': 'state' },
    ExpressionAttributeValues: { ':triggered': 'triggered', ':received': 'received', ':repository_id': repositoryId, ':jids': [jid], ':jid': jid, ':one': 1 },
  });
}

async function update(context: NoteContext, input: Omit<ConstructorParameters<typeof UpdateCommand>[0], 'TableName'>): Promise<NoteResult> {
  try {
    await call('UpdateItem', () => context.documents.send(new UpdateCommand({ TableName: context.table, ...input })));
    return 'noted';
  } catch (error) {
    if (isConditionFailed(error)) return 'unchanged';
    throw error;
  }
}
