/**
 * Lambda entry point of the worker, fed by the push queue's SQS event source mapping (with
 * `ReportBatchItemFailures`): wires the environment into `createConfirmWorker` (confirm tasks and
 * failed notices) and `createReportWorker` (commit statuses upstream) once per cold start, like
 * `handlers/webhook.ts`. Invalid configuration throws at init; so does a deployment without the
 * ledger, which the worker cannot do without.
 *
 * Each record is one task. A record that fails (a body that is not a task, the ledger or the queue
 * unreachable) is reported in `batchItemFailures`: SQS hands it out again after the visibility
 * timeout, and after `maxReceiveCount` receives moves it to the DLQ. The others are done.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { ConfigError } from '../lib/errors';
import { createBridgeMetrics, createBudgetMetrics, createLambdaLogger } from '../lib/observability/lambda';
import { loadBridge } from '../lib/pipeline/bootstrap';
import { createConfirmWorker, type WorkerMetrics } from '../lib/pipeline/confirm-worker';
import { durableFromEnv } from '../lib/pipeline/durable';
import { parseTask } from '../lib/pipeline/push-queue';
import { createReportGate } from '../lib/pipeline/report-gate';
import { createStatusSender } from '../lib/pipeline/report-send';
import { reportSettingsFromEnv } from '../lib/pipeline/report-settings';
import { createReportWorker, type ReportMetric } from '../lib/pipeline/report-worker';

const logger = createLambdaLogger({ functionName: 'worker' });
const metrics = createBridgeMetrics();
// One per container, as Powertools intends: it holds only the batch in progress.
const processor = new BatchProcessor(EventType.SQS);

/** A queue message that is not a task this bridge reads: failed, so SQS moves it to the DLQ in the end. */
export class UnreadableTaskError extends Error {
  override name = 'UnreadableTaskError';
  readonly code = 'TASK_UNREADABLE';
}

type WorkerHandler = (event: SQSEvent, context?: Context) => Promise<SQSBatchResponse>;

function workerMetricsOf(target: Metrics): WorkerMetrics & { count(name: ReportMetric, value?: number): void } {
  return {
    count: (name: string, value = 1) => target.addMetric(name, MetricUnit.Count, value),
    milliseconds: (name, ms) => target.addMetric(name, MetricUnit.Milliseconds, ms),
  };
}

async function initialise(): Promise<(record: SQSRecord) => Promise<void>> {
  const { index, codehub, resolver } = await loadBridge(process.env, logger, { budgetWaitMs: 10_000, budgetMetrics: createBudgetMetrics() });
  const durable = await durableFromEnv(process.env);
  if (durable === undefined) {
    throw new ConfigError('LEDGER_TABLE', 'must be set, with PUSH_QUEUE_URL and PUSH_DLQ_URL: the worker confirms the pushes the ledger holds');
  }
  const worker = createConfirmWorker({
    store: durable.store,
    queue: durable.queue,
    codehub,
    index,
    resolver,
    settings: durable.confirm,
    windows: durable.windows,
    logger,
    metrics: workerMetricsOf(metrics),
  });
  const reportSettings = reportSettingsFromEnv(process.env);
  const reporter = createReportWorker({
    store: durable.store,
    queue: durable.queue,
    gate: createReportGate({ tableName: process.env['LEDGER_TABLE'] ?? '' }),
    index,
    send: createStatusSender({ timeoutMs: reportSettings.timeoutMs }),
    settings: reportSettings,
    logger,
    metrics: workerMetricsOf(metrics),
  });
  return async (record) => {
    const parsed = parseTask(record.body);
    if (!parsed.ok) {
      // The problem names the field at fault, never its value; the body itself is not echoed.
      logger.error('queue message is not a task', { messageId: record.messageId, problem: parsed.problem });
      throw new UnreadableTaskError(`message ${record.messageId}: ${parsed.problem}`);
    }
    const { task } = parsed;
    try {
      const outcome = task.kind === 'report' ? await reporter.handle(task) : await worker.handle(task);
      logger.debug(`${task.kind} task done`, { messageId: record.messageId, ...outcome });
    } catch (error) {
      logger.error(`${task.kind} task failed; SQS will deliver it again`, { messageId: record.messageId, pushId: task.push_id, mirror: task.mirror, error });
      throw error;
    }
  };
}

const handleRecord = await initialise();

export const handler: WorkerHandler = async (event, context) => {
  if (context) logger.addContext(context);
  try {
    // A batch whose every record failed is reported as such too: Lambda's answer is the same either way.
    return await processPartialResponse(event, handleRecord, processor, { ...(context ? { context } : {}), throwOnFullBatchFailure: false });
  } finally {
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  }
};
