/**
 * The push queue: confirm tasks on SQS (`PUSH_QUEUE_URL`, a delay per message) and, when a push is
 * given up, a message naming it on the dead-letter queue (`PUSH_DLQ_URL`, the queue's redrive target).
 *
 * The wire format is versioned (`v: 1`) and parsed strictly by `parseTask`, which never throws: a
 * body the worker cannot read is a typed refusal, never a guess. A message the DLQ holds is either a
 * `failed` notice (sent here) or a `confirm` task SQS redrove after too many receives; redriving the
 * DLQ back feeds both to the worker, which checks the mirror again (a late proof is still proof).
 *
 * The client finds SQS only through the SDK's own configuration (region, credentials and the standard
 * `AWS_ENDPOINT_URL_SQS`): no endpoint option here, so production and the local engine run one path.
 */

import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { ErrorCodes } from '../errors';
import { MAX_DELAY_SECONDS } from '../ledger/confirm';
import { AwsCallError, awsClientSettings, sdkFailureOf, type AwsClientOptions } from './aws-call';

/** A check to make: is push `push_id` in mirror `mirror` yet? `attempt` is this check's number (1 = first). */
export interface ConfirmTask {
  readonly v: 1;
  readonly kind: 'confirm';
  readonly push_id: string;
  readonly mirror: string;
  readonly attempt: number;
  /** When the push arrived (epoch ms): the give-up time counts from it. */
  readonly arrived_at: number;
}

/** A push given up on: what the DLQ holds for someone to look at (and redrive). */
export interface FailedNotice extends Omit<ConfirmTask, 'kind'> {
  readonly kind: 'failed';
  /** Why, in words (refs behind or unread); never a secret. */
  readonly reason: string;
  /** When it was given up (epoch ms). */
  readonly failed_at: number;
}

/**
 * Report a push's state in one mirror as a commit status upstream (issue 13): the worker reads the
 * state from the ledger when it runs, so a late or repeated task reports the truth of that moment.
 * `attempt` counts this report's sends (1 = first); `arrived_at` is the push's arrival.
 */
export interface ReportTask extends Omit<ConfirmTask, 'kind'> {
  readonly kind: 'report';
}

export type QueueTask = ConfirmTask | FailedNotice | ReportTask;

export type ParsedTask = { readonly ok: true; readonly task: QueueTask } | { readonly ok: false; readonly problem: string };

export const QueueErrorCodes = {
  /** SQS could not be reached or did not answer in time, or failed (5xx, throttled): try again later. */
  QUEUE_UNAVAILABLE: ErrorCodes.QUEUE_UNAVAILABLE,
  /** SQS refused the call (no such queue, access denied, bad attribute): a deployment problem. */
  QUEUE_REJECTED: ErrorCodes.QUEUE_REJECTED,
} as const;
export type QueueErrorCode = (typeof QueueErrorCodes)[keyof typeof QueueErrorCodes];

/** A queue write that did not happen. Either code means "no durable record": the webhook answers 5xx. */
export class QueueError extends AwsCallError<QueueErrorCode> {
  override name = 'QueueError';
}

export interface PushQueueOptions {
  /** `PUSH_QUEUE_URL`. */
  readonly queueUrl: string;
  /** `PUSH_DLQ_URL`. */
  readonly deadLetterUrl: string;
  /** @default `createSqsClient()` (owned by the queue: `close()` destroys it) */
  readonly client?: SQSClient;
  /** The whole of one write, retries included, so a webhook answers inside the host's wait. @default 3000 */
  readonly timeoutMs?: number;
}

export type SendResult = { readonly kind: 'sent'; readonly messageId: string };

export interface PushQueue {
  /** Puts a confirm task on the queue, visible after `delaySeconds` (clamped to 0..900, whole seconds). */
  sendConfirm(task: ConfirmTask, delaySeconds: number): Promise<SendResult>;
  /** Puts a report task on the queue, visible after `delaySeconds` (clamped like `sendConfirm`'s). */
  sendReport(task: ReportTask, delaySeconds: number): Promise<SendResult>;
  /** Puts a message naming the push on the DLQ: the push is failed. */
  sendFailed(task: ConfirmTask, reason: string, failedAt?: number): Promise<SendResult>;
  /** Releases a client the queue created (an injected one stays the caller's). */
  close(): void;
}

export type SqsClientOptions = AwsClientOptions;

/**
 * An SQS client configured from the environment, with explicit timeouts (3 s per request by default).
 * `useQueueUrlAsEndpoint: false` is needed because, without it, the SDK sends to the host in the queue
 * URL whenever no endpoint is passed in code, and ignores `AWS_ENDPOINT_URL_SQS`.
 */
export function createSqsClient(options: SqsClientOptions = {}): SQSClient {
  return new SQSClient({ ...awsClientSettings(options, 3000), useQueueUrlAsEndpoint: false });
}

/** Whole seconds in 0..900 (SQS's range); not a number → 0. Rounded up: a check is never earlier than asked. */
export function clampDelaySeconds(delaySeconds: number): number {
  if (Number.isNaN(delaySeconds)) return 0;
  return Math.min(MAX_DELAY_SECONDS, Math.max(0, Math.ceil(delaySeconds)));
}

export function createPushQueue(options: PushQueueOptions): PushQueue {
  const timeoutMs = options.timeoutMs ?? 3000;
  const client = options.client ?? createSqsClient({ requestTimeoutMs: timeoutMs });

  const send = async (queueUrl: string, message: QueueTask, delaySeconds: number): Promise<SendResult> => {
    const body = JSON.stringify(message);
    // What the worker would refuse is a bug here, not a message to send.
    const parsed = parseTask(body);
    if (!parsed.ok) throw new RangeError(`not a valid ${message.kind} message: ${parsed.problem}`);
    try {
      const answer = await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body, DelaySeconds: delaySeconds }), {
        abortSignal: AbortSignal.timeout(timeoutMs),
      });
      if (answer.MessageId === undefined) throw new Error('SQS answered without a MessageId');
      return { kind: 'sent', messageId: answer.MessageId };
    } catch (error) {
      throw queueErrorOf('SendMessage', error);
    }
  };

  return {
    sendConfirm: (task, delaySeconds) => send(options.queueUrl, confirmFields(task), clampDelaySeconds(delaySeconds)),
    sendReport: (task, delaySeconds) => send(options.queueUrl, { ...confirmFields(task), kind: 'report' }, clampDelaySeconds(delaySeconds)),
    sendFailed: (task, reason, failedAt = Date.now()) =>
      send(options.deadLetterUrl, { ...confirmFields(task), kind: 'failed', reason: reasonText(reason), failed_at: failedAt }, 0),
    close: () => {
      if (options.client === undefined) client.destroy();
    },
  };
}

/** The task's own fields only (a caller's object may carry more; the wire format takes no others). */
function confirmFields(task: Pick<ConfirmTask, 'push_id' | 'mirror' | 'attempt' | 'arrived_at'>): ConfirmTask {
  return { v: 1, kind: 'confirm', push_id: task.push_id, mirror: task.mirror, attempt: task.attempt, arrived_at: task.arrived_at };
}

/** A reason as the notice carries it: one line, at most MAX_REASON_LENGTH characters. */
function reasonText(reason: string): string {
  // eslint-disable-next-line no-control-regex
  return reason.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim().slice(0, MAX_REASON_LENGTH) || 'given up';
}

/** What an SDK error means for the caller: a refusal or SQS unavailable. */
function queueErrorOf(operation: string, error: unknown): QueueError {
  const { refused, name, detail } = sdkFailureOf(error);
  if (refused) return new QueueError(QueueErrorCodes.QUEUE_REJECTED, operation, `SQS refused ${operation}: ${name}: ${detail}`, { cause: error });
  return new QueueError(QueueErrorCodes.QUEUE_UNAVAILABLE, operation, `SQS did not take ${operation}: ${name}: ${detail}`, { cause: error });
}

// ---- the wire format, pure ----

/** `pushIdOf`'s ids: 22 base64url characters. */
const PUSH_ID = /^[A-Za-z0-9_-]{22}$/;
const MAX_MIRROR_LENGTH = 512;
const MAX_REASON_LENGTH = 1000;
/** SQS's largest message: anything longer is not ours. */
const MAX_BODY_LENGTH = 256 * 1024;
const CONFIRM_FIELDS = ['v', 'kind', 'push_id', 'mirror', 'attempt', 'arrived_at'] as const;
const FAILED_FIELDS = [...CONFIRM_FIELDS, 'reason', 'failed_at'] as const;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isEpochMs(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}

/** Printable text of 1..max characters (no control characters: it goes into logs). */
function isText(value: unknown, max: number): value is string {
  // eslint-disable-next-line no-control-regex
  return typeof value === 'string' && value.length > 0 && value.length <= max && !/[\u0000-\u001f\u007f]/.test(value);
}

/**
 * Reads a queue message body: a `confirm` or `report` task or a `failed` notice of version 1, with exactly its
 * fields. Never throws; a refusal names the first field at fault, never the value.
 */
export function parseTask(body: string): ParsedTask {
  const refuse = (problem: string): ParsedTask => ({ ok: false, problem });
  if (body.length > MAX_BODY_LENGTH) return refuse('body is larger than an SQS message');
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return refuse('body is not JSON');
  }
  if (!isRecord(value)) return refuse('body is not a JSON object');
  if (value.v !== 1) return refuse('v is not a version this bridge reads (1)');
  if (value.kind !== 'confirm' && value.kind !== 'failed' && value.kind !== 'report') return refuse('kind is not confirm, failed or report');
  const fields: readonly string[] = value.kind === 'failed' ? FAILED_FIELDS : CONFIRM_FIELDS;
  const unknown = Object.keys(value).find((key) => !fields.includes(key));
  if (unknown !== undefined) return refuse(`unexpected field ${JSON.stringify(unknown.slice(0, 40))}`);
  if (typeof value.push_id !== 'string' || !PUSH_ID.test(value.push_id)) return refuse('push_id is not a push id');
  if (!isText(value.mirror, MAX_MIRROR_LENGTH)) return refuse('mirror is not a mirror name');
  if (typeof value.attempt !== 'number' || !Number.isSafeInteger(value.attempt) || value.attempt < 1) return refuse('attempt is not a positive integer');
  if (!isEpochMs(value.arrived_at)) return refuse('arrived_at is not a time in epoch ms');
  const confirm: ConfirmTask = { v: 1, kind: 'confirm', push_id: value.push_id, mirror: value.mirror, attempt: value.attempt, arrived_at: value.arrived_at };
  if (value.kind === 'confirm') return { ok: true, task: confirm };
  if (value.kind === 'report') return { ok: true, task: { ...confirm, kind: 'report' } };
  if (!isText(value.reason, MAX_REASON_LENGTH)) return refuse('reason is not text');
  if (!isEpochMs(value.failed_at)) return refuse('failed_at is not a time in epoch ms');
  return { ok: true, task: { ...confirm, kind: 'failed', reason: value.reason, failed_at: value.failed_at } };
}
