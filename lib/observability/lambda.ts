/**
 * Logs and metrics the AWS way, with Powertools for AWS Lambda: one structured JSON log line per
 * delivery (correlated with the Lambda request id) and CloudWatch metrics in Embedded Metric Format,
 * written to stdout with the logs: no API call, no latency on the delivery path.
 */
import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { redact, type Logger } from './log';
import { logDelivery, type DeliveryRecord } from '../pipeline/webhook';

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

/**
 * The metrics of one delivery: Deliveries; Triggered (syncs started); Ignored; Rejected by reason
 * (the bridge's code); CodeHubErrors by CodeHub's code; CodeHubLatency. Dimensioned counts go out
 * as single metrics, so each carries its own reason or code.
 */
export function recordDeliveryMetrics(metrics: Metrics, record: DeliveryRecord): void {
  metrics.addMetric('Deliveries', MetricUnit.Count, 1);
  const triggered = record.jids?.length ?? 0;
  if (triggered > 0) metrics.addMetric('Triggered', MetricUnit.Count, triggered);
  if (record.codehubMs !== undefined) metrics.addMetric('CodeHubLatency', MetricUnit.Milliseconds, record.codehubMs);
  if (record.outcome === 'ignored') metrics.addMetric('Ignored', MetricUnit.Count, 1);
  if (record.outcome === 'rejected') {
    const single = metrics.singleMetric();
    single.addDimension('reason', record.code ?? 'UNKNOWN');
    single.addMetric('Rejected', MetricUnit.Count, 1);
  }
  for (const code of record.codehubErrors ?? []) {
    const single = metrics.singleMetric();
    single.addDimension('code', code);
    single.addMetric('CodeHubErrors', MetricUnit.Count, 1);
  }
}

/** The log line and metrics of each delivery, written once its answer has been handed back. */
export interface DeliveryTelemetry {
  /** Queues `record`'s log line and EMF metrics; they are written in the next immediate, or by `flush`. */
  observe(record: DeliveryRecord): void;
  /** Writes whatever is queued, now. Called as each invocation starts, under the previous one's context. */
  flush(): void;
}

/**
 * One structured log line and one EMF metrics line per delivery, written right after the answer
 * rather than before it: Powertools' logger and metrics cost more than the rest of a warm delivery
 * put together, and none of it is news the Git host is waiting for.
 *
 * Nothing is lost or misattributed. Lambda's Node.js runtime posts the answer synchronously when
 * the handler's promise settles, then asks for the next event with an asynchronous call, so the
 * immediate queued here runs before the next event can arrive (and before the sandbox can be
 * frozen). Where a next invocation starts without a turn of the event loop in between (tests,
 * local emulators), it calls `flush` first, so every line is written under its own request id.
 */
export function createDeliveryTelemetry(options: { readonly logger: LambdaLogger; readonly metrics: Metrics }): DeliveryTelemetry {
  const { logger, metrics } = options;
  const logLine = logDelivery(logger);
  const pending: DeliveryRecord[] = [];
  let scheduled = false;

  function write(record: DeliveryRecord): void {
    try {
      logLine(record);
      recordDeliveryMetrics(metrics, record);
      metrics.publishStoredMetrics();
    } catch (error) {
      // Telemetry must never take the function down; an immediate has no caller to tell.
      try {
        logger.error('delivery telemetry failed', { requestId: record.requestId, error });
      } catch {
        // The logger itself is failing: nothing left to report through.
      }
    }
  }

  function flush(): void {
    scheduled = false;
    // Taken one at a time: a line written by `write` cannot queue another, but be safe if it did.
    for (let record = pending.shift(); record !== undefined; record = pending.shift()) write(record);
  }

  return {
    observe(record) {
      pending.push(record);
      if (scheduled) return;
      scheduled = true;
      setImmediate(flush);
    },
    flush,
  };
}
