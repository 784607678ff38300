/**
 * Local stand-in for Lambda's SQS event source mapping (with `ReportBatchItemFailures`), for
 * `npm start`: receive a batch, hand it to the worker as Lambda's SQS event records, delete the
 * records it did not report as failed. A failed record stays on the queue and is received again
 * after the visibility timeout (and redriven to the DLQ after `maxReceiveCount` receives), as in AWS.
 *
 * As Lambda does: a handler that throws, or reports an identifier that is not one of the batch's
 * (e.g. empty), fails the whole batch; an empty or absent response means every record is done.
 */

import type { SQSBatchResponse, SQSMessageAttributes, SQSRecord } from 'aws-lambda';
import { DeleteMessageBatchCommand, GetQueueAttributesCommand, ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import { createSqsClient } from '../lib/pipeline/push-queue';

/** SQS's longest long poll. */
const MAX_WAIT_SECONDS = 20;
/** SQS's largest receive batch (and DeleteMessageBatch's). */
const MAX_BATCH = 10;

export interface SqsPollerOptions {
  readonly queueUrl: string;
  /** @default an SQS client from the environment (AWS_ENDPOINT_URL_SQS), owned by the poller */
  readonly client?: SQSClient;
}

export interface PollOptions {
  /** 1..10. @default 10 */
  readonly maxMessages?: number;
  /** Long-poll wait, 0..20 s. @default 20 */
  readonly waitSeconds?: number;
}

/** Lambda's contract: return the failed records (`undefined` or `{ batchItemFailures: [] }` = all done), or throw. */
export type BatchHandler = (records: SQSRecord[]) => Promise<SQSBatchResponse | undefined>;

export interface PollSummary {
  readonly received: number;
  readonly deleted: number;
  /** Left on the queue: reported failed, the whole batch after a throw or a bad response, or not deleted. */
  readonly failed: number;
  /** What the handler threw, for the caller to log (Lambda logs it and retries the batch). */
  readonly handlerError?: unknown;
}

export interface SqsPoller {
  pollOnce(options: PollOptions, handle: BatchHandler): Promise<PollSummary>;
  close(): void;
}

export function createSqsPoller(options: SqsPollerOptions): SqsPoller {
  // A long poll holds the request up to 20 s: the answer timeout must outlast it.
  const client = options.client ?? createSqsClient({ requestTimeoutMs: (MAX_WAIT_SECONDS + 5) * 1000 });
  let queueArn: string | undefined;

  const arnOfQueue = async (): Promise<string> => {
    if (queueArn === undefined) {
      const { Attributes: attributes } = await client.send(new GetQueueAttributesCommand({ QueueUrl: options.queueUrl, AttributeNames: ['QueueArn'] }));
      queueArn = attributes?.QueueArn ?? '';
    }
    return queueArn;
  };

  return {
    async pollOnce(poll, handle) {
      const { Messages: messages = [] } = await client.send(
        new ReceiveMessageCommand({
          QueueUrl: options.queueUrl,
          MaxNumberOfMessages: Math.min(MAX_BATCH, Math.max(1, Math.floor(poll.maxMessages ?? MAX_BATCH))),
          WaitTimeSeconds: Math.min(MAX_WAIT_SECONDS, Math.max(0, Math.floor(poll.waitSeconds ?? MAX_WAIT_SECONDS))),
          MessageSystemAttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }),
      );
      if (messages.length === 0) return { received: 0, deleted: 0, failed: 0 };
      const arn = await arnOfQueue();
      const records = messages.map((message) => lambdaRecordOf(message, arn));

      let done: SQSRecord[];
      try {
        done = recordsDone(records, await handle(records));
      } catch (error) {
        return { received: records.length, deleted: 0, failed: records.length, handlerError: error };
      }
      if (done.length === 0) return { received: records.length, deleted: 0, failed: records.length };
      const { Successful: deleted = [] } = await client.send(
        new DeleteMessageBatchCommand({
          QueueUrl: options.queueUrl,
          Entries: done.map((record, index) => ({ Id: String(index), ReceiptHandle: record.receiptHandle })),
        }),
      );
      return { received: records.length, deleted: deleted.length, failed: records.length - deleted.length };
    },
    close() {
      if (options.client === undefined) client.destroy();
    },
  };
}

/** The records to delete, per Lambda's partial batch response rules (see the module comment). */
export function recordsDone(records: readonly SQSRecord[], response: SQSBatchResponse | undefined): SQSRecord[] {
  const failures = response?.batchItemFailures ?? [];
  const ids = new Set(records.map((record) => record.messageId));
  if (failures.some((failure) => typeof failure.itemIdentifier !== 'string' || !ids.has(failure.itemIdentifier))) return [];
  const failed = new Set(failures.map((failure) => failure.itemIdentifier));
  return records.filter((record) => !failed.has(record.messageId));
}

/** An SQS message as Lambda hands it to a function: camelCase, attributes as strings. */
function lambdaRecordOf(message: Message, queueArn: string): SQSRecord {
  const system = message.Attributes ?? {};
  const messageAttributes: SQSMessageAttributes = {};
  for (const [name, attribute] of Object.entries(message.MessageAttributes ?? {})) {
    messageAttributes[name] = {
      dataType: attribute.DataType ?? 'String',
      ...(attribute.StringValue === undefined ? {} : { stringValue: attribute.StringValue }),
      ...(attribute.BinaryValue === undefined ? {} : { binaryValue: Buffer.from(attribute.BinaryValue).toString('base64') }),
      stringListValues: [],
      binaryListValues: [],
    };
  }
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: system.ApproximateReceiveCount ?? '1',
      SentTimestamp: system.SentTimestamp ?? '',
      SenderId: system.SenderId ?? '',
      ApproximateFirstReceiveTimestamp: system.ApproximateFirstReceiveTimestamp ?? '',
      ...(system.AWSTraceHeader === undefined ? {} : { AWSTraceHeader: system.AWSTraceHeader }),
    },
    messageAttributes,
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    // arn:aws:sqs:<region>:<account>:<name>
    awsRegion: queueArn.split(':')[3] ?? '',
  };
}
