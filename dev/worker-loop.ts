/**
 * The local stack's stand-in for Lambda's SQS event source mapping of the `worker` function: polls
 * the push queue (./sqs-poller) and hands each batch, as Lambda's SQS event `{ Records }`, to the
 * worker running inside serverless-offline through its Lambda Invoke API. The answer's
 * `batchItemFailures` go back to the poller, which deletes the rest, as Lambda does.
 *
 * serverless-offline has no SQS event source of its own, so this runs in the stack's process. A
 * failed poll or invocation is reported through `onError` and the loop goes on after a short pause:
 * the records stay on the queue and come back after their visibility timeout, as in AWS.
 */
import type { SQSBatchResponse, SQSRecord } from 'aws-lambda';
import { SQSClient } from '@aws-sdk/client-sqs';
import { setTimeout as sleep } from 'node:timers/promises';
import { createSqsPoller, type SqsPoller } from './sqs-poller';

export interface WorkerLoopOptions {
  readonly queueUrl: string;
  /** The SQS engine (`http://127.0.0.1:{port}`); the loop owns its client. */
  readonly sqsEndpoint: string;
  readonly region: string;
  /** The worker's Invoke URL: `http://localhost:{lambdaPort}/2015-03-31/functions/{name}/invocations`. */
  readonly invokeUrl: string;
  /** Long-poll wait per receive: short, so `stop()` is prompt. @default 1 */
  readonly waitSeconds?: number;
  /** One invocation, start to answer: past the worker's 60 s timeout, so serverless-offline times out first. @default 75000 */
  readonly invokeTimeoutMs?: number;
  /** Pause after a failed poll or invocation, so a stopped engine is not hammered. @default 1000 */
  readonly pauseAfterErrorMs?: number;
  /** Where a failed poll or invocation is told, one line each. */
  readonly onError: (line: string) => void;
}

export interface WorkerLoop {
  /** Batches handed to the worker so far. */
  readonly batches: () => number;
  /** Ends the loop: an invocation under way is abandoned (its records come back, as after a Lambda crash). */
  stop(): Promise<void>;
}

/** The Invoke API's answer was not a Lambda SQS handler's (unhandled error, unknown function, not JSON). */
export class WorkerInvokeError extends Error {
  override readonly name = 'WorkerInvokeError';
  readonly code = 'WORKER_INVOKE_FAILED';
}

/** The Invoke API path of a function, as serverless-offline serves it (and AWS names it). */
export function invokePath(functionName: string): string {
  return `/2015-03-31/functions/${encodeURIComponent(functionName)}/invocations`;
}

/**
 * Invokes the worker once with Lambda's SQS event (RequestResponse) and returns its partial batch
 * response. Throws `WorkerInvokeError` for anything else, which fails the whole batch (Lambda's rule).
 */
export async function invokeWorker(invokeUrl: string, records: readonly SQSRecord[], signal: AbortSignal): Promise<SQSBatchResponse | undefined> {
  const response = await fetch(invokeUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-amz-invocation-type': 'RequestResponse' },
    body: JSON.stringify({ Records: records }),
    signal,
  });
  const text = await response.text();
  if (!response.ok || response.headers.has('x-amz-function-error') || response.headers.has('x-amzn-errortype')) {
    throw new WorkerInvokeError(`the worker invocation answered ${response.status}: ${text.slice(0, 500)}`);
  }
  return batchResponseOf(text);
}

/** `{ batchItemFailures: [...] }`, or an empty answer (every record done); anything else is an error. */
function batchResponseOf(text: string): SQSBatchResponse | undefined {
  if (text.trim() === '' || text.trim() === 'null') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new WorkerInvokeError(`the worker answered something that is not JSON: ${text.slice(0, 200)}`);
  }
  if (typeof parsed !== 'object' || parsed === null || !Array.isArray((parsed as { batchItemFailures?: unknown }).batchItemFailures)) {
    throw new WorkerInvokeError(`the worker answered no batchItemFailures: ${text.slice(0, 200)}`);
  }
  // The poller checks each identifier (Lambda fails the whole batch for one it does not know).
  return parsed as SQSBatchResponse;
}

export function startWorkerLoop(options: WorkerLoopOptions): WorkerLoop {
  const waitSeconds = options.waitSeconds ?? 1;
  const client = new SQSClient({
    endpoint: options.sqsEndpoint,
    region: options.region,
    // The local engine accepts any signature, but the SDK will not sign without credentials.
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
    requestHandler: { requestTimeout: (waitSeconds + 5) * 1000, connectionTimeout: 1000, throwOnRequestTimeout: true },
  });
  const poller: SqsPoller = createSqsPoller({ queueUrl: options.queueUrl, client });
  const stopping = new AbortController();
  let batches = 0;

  const handle = async (records: SQSRecord[]): Promise<SQSBatchResponse | undefined> => {
    batches += 1;
    const signal = AbortSignal.any([stopping.signal, AbortSignal.timeout(options.invokeTimeoutMs ?? 75_000)]);
    return invokeWorker(options.invokeUrl, records, signal);
  };

  const loop = async (): Promise<void> => {
    while (!stopping.signal.aborted) {
      let failed = false;
      try {
        const summary = await poller.pollOnce({ maxMessages: 10, waitSeconds }, handle);
        if (summary.handlerError !== undefined && !stopping.signal.aborted) {
          options.onError(`worker loop: a batch of ${summary.received} failed, back on the queue: ${messageOf(summary.handlerError)}`);
          failed = true;
        }
      } catch (error) {
        if (stopping.signal.aborted) break;
        options.onError(`worker loop: polling the push queue failed: ${messageOf(error)}`);
        failed = true;
      }
      if (failed) await sleep(options.pauseAfterErrorMs ?? 1000, undefined, { signal: stopping.signal }).catch(() => undefined);
    }
  };
  const running = loop();

  return {
    batches: () => batches,
    async stop() {
      stopping.abort();
      await running;
      poller.close();
      client.destroy();
    },
  };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
