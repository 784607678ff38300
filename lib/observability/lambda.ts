/**
 * Logs and metrics the AWS way, with Powertools for AWS Lambda: structured JSON log lines
 * correlated with the Lambda request id, and CloudWatch metrics in Embedded Metric Format written
 * to stdout with the logs (no API call, no latency on the delivery path). What a delivery's line
 * and metrics hold is `./delivery.ts`.
 */
import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import type { Logger } from './log';
import { redact } from './redact';

/** The `service` of every log line and the dimension of every metric, from every function. */
export const SERVICE_NAME = 'codehub-mirror-bridge';
export const METRICS_NAMESPACE = 'CodeHubMirrorBridge';

/** Powertools' number for DEBUG (`logger.level` is the current threshold; lower is more verbose). */
const DEBUG_LEVEL = 8;

/** Our `Logger`, written by Powertools; `addContext` adds the Lambda request id and cold start to every line. */
export interface LambdaLogger extends Logger {
  /** The invocation's context, for every line written from now on until the next invocation's. */
  addContext(context: Context): void;
}

/**
 * A Powertools logger behind the bridge's `Logger` interface. Fields go through `redact` first:
 * secret-looking fields never reach the log, whoever the caller. Level: `LOG_LEVEL` (Powertools reads it).
 */
export function createLambdaLogger(options: { readonly functionName?: string; readonly logger?: PowertoolsLogger } = {}): LambdaLogger {
  const logger = options.logger ?? new PowertoolsLogger({ serviceName: SERVICE_NAME, ...(options.functionName ? { persistentKeys: { function: options.functionName } } : {}) });
  const fields = (extra?: Record<string, unknown>) => (extra === undefined ? {} : (redact(extra) as Record<string, unknown>));
  // Known here so that a debug line costs nothing (not even its redaction) when debug is off. The
  // level is settled when the logger is built (LOG_LEVEL, Powertools' sampling, Lambda's own setting).
  const debugEnabled = logger.level <= DEBUG_LEVEL;
  // An invocation's context is handed to Powertools with its first line, not when it starts: on the
  // warm path the first line is the delivery line, written after the answer (createDeliveryTelemetry),
  // so the answer does not wait for Powertools' bookkeeping.
  let pending: Context | undefined;
  const applyContext = (): void => {
    if (pending === undefined) return;
    logger.addContext(pending);
    pending = undefined;
  };
  return {
    debug: (message, extra) => {
      if (!debugEnabled) return;
      applyContext();
      logger.debug(message, fields(extra));
    },
    info: (message, extra) => {
      applyContext();
      logger.info(message, fields(extra));
    },
    warn: (message, extra) => {
      applyContext();
      logger.warn(message, fields(extra));
    },
    error: (message, extra) => {
      applyContext();
      logger.error(message, fields(extra));
    },
    addContext: (context) => {
      // An invocation that wrote nothing still counts: it, not this one, was the cold start.
      applyContext();
      pending = context;
    },
  };
}

export function createBridgeMetrics(): Metrics {
  return new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });
}

/** What the CodeHub budget writes (lib/pipeline/budget-gate.ts): one call sent, after `waitMs` for its slot. */
export interface BudgetMetrics {
  call(kind: 'trigger' | 'read', waitMs: number): void;
}

/**
 * The budget's metrics, one EMF line per CodeHub call sent, written at once (no flush of the
 * function's own metrics needed), by `kind`: `CodeHubCallsPerMinute` (1; its one-minute sum is the
 * calls that minute) and `BudgetWaitMs`.
 */
export function createBudgetMetrics(): BudgetMetrics {
  return {
    call: (kind, waitMs) => {
      // A line of its own (a single metric would publish, and drop the dimension, after its first value).
      const line = createBridgeMetrics();
      line.addDimension('kind', kind);
      line.addMetric('CodeHubCallsPerMinute', MetricUnit.Count, 1);
      line.addMetric('BudgetWaitMs', MetricUnit.Milliseconds, waitMs);
      line.publishStoredMetrics();
    },
  };
}
