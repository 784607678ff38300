/**
 * The bridge's built bundles driven the way AWS drives them, in this process, for the storm bench:
 * - webhook "containers": each a separate instance of dist/webhook.js (its own module instance, so
 *   its own caches, clients and budget view), answering one API Gateway v2 event at a time; a
 *   delivery that finds every container busy gets a new one, as Lambda scales out.
 * - worker "containers": instances of dist/worker.js, each fed by its own poller the way the SQS
 *   event source mapping feeds Lambda (batches of 10, `ReportBatchItemFailures`).
 */
import { performance } from 'node:perf_hooks';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createSqsPoller } from '../dev/sqs-poller';
import { ROOT } from './harness';

type WebhookHandler = (event: unknown, context: unknown) => Promise<{ statusCode: number; body: string }>;
type WorkerHandler = (event: SQSEvent, context: unknown) => Promise<SQSBatchResponse>;

let instances = 0;

/** A fresh module instance of a bundle: its static chunks are shared, its handler's state is its own. */
async function loadBundle<T>(name: string): Promise<T> {
  instances += 1;
  const url = `${pathToFileURL(join(ROOT, 'dist', `${name}.js`)).href}?container=${instances}`;
  const module = (await import(url)) as { handler: T };
  return module.handler;
}

const context = (id: string) => ({ awsRequestId: id, getRemainingTimeInMillis: () => 30_000, functionName: 'storm' });

/** What one delivery came to, and when (ms on `performance.now()`'s clock). */
export interface Answered {
  readonly status: number;
  readonly body: string;
  /** From the moment it was due to its answer: queueing for a free container included. */
  readonly latencyMs: number;
}

export interface WebhookPool {
  deliver(event: unknown, dueAt: number): Promise<Answered>;
  readonly size: () => number;
}

/** Webhook containers, one delivery at a time each, growing to `max` as deliveries overlap. */
export function createWebhookPool(max: number): WebhookPool {
  const idle: WebhookHandler[] = [];
  const waiting: ((handler: WebhookHandler) => void)[] = [];
  let created = 0;
  let requests = 0;

  async function acquire(): Promise<WebhookHandler> {
    const free = idle.pop();
    if (free !== undefined) return free;
    if (created < max) {
      created += 1;
      return loadBundle<WebhookHandler>('webhook');
    }
    return new Promise((resolve) => waiting.push(resolve));
  }

  function release(handler: WebhookHandler): void {
    const next = waiting.shift();
    if (next !== undefined) next(handler);
    else idle.push(handler);
  }

  return {
    size: () => created,
    async deliver(event, dueAt) {
      const handler = await acquire();
      try {
        requests += 1;
        const answer = await handler(event, context(`storm-${requests}`));
        return { status: answer.statusCode, body: answer.body, latencyMs: performance.now() - dueAt };
      } catch (error) {
        return { status: 599, body: String(error), latencyMs: performance.now() - dueAt };
      } finally {
        release(handler);
      }
    },
  };
}

export interface WorkerFleet {
  /** Resolves once every loop has stopped after `stop()`. */
  stop(): Promise<void>;
  readonly batches: () => number;
}

/** `count` worker containers, each polling the push queue like an event source mapping. */
export async function startWorkerFleet(count: number, queueUrl: string): Promise<WorkerFleet> {
  let running = true;
  let batches = 0;
  const loops = await Promise.all(
    Array.from({ length: count }, async (_, n) => {
      const handler = await loadBundle<WorkerHandler>('worker');
      const poller = createSqsPoller({ queueUrl });
      // Wrapped, so that Promise.all waits for the containers to start, not for their loops to end.
      const loop = (async () => {
        while (running) {
          await poller
            .pollOnce({ maxMessages: 10, waitSeconds: 1 }, async (records) => {
              batches += 1;
              return handler({ Records: records }, context(`worker-${n}-${batches}`));
            })
            .catch(() => undefined);
        }
        poller.close();
      })();
      return { loop };
    }),
  );
  return {
    batches: () => batches,
    stop: async () => {
      running = false;
      await Promise.all(loops.map(({ loop }) => loop));
    },
  };
}
