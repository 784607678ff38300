/**
 * Logs and metrics the AWS way, with Powertools for AWS Lambda: one structured JSON log line per
 * delivery (correlated with the Lambda request id) and CloudWatch metrics in Embedded Metric Format,
 * written to stdout with the logs: no API call, no latency on the delivery path.
 */
import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { redact, type Logger } from './log';
import type { DeliveryRecord } from './webhook';

export const SERVICE_NAME = 'codehub-mirror-bridge';
export const METRICS_NAMESPACE = 'CodeHubMirrorBridge';

/** Powertools' number for DEBUG (`logger.level` is the current threshold; lower is more verbose). */
const DEBUG_LEVEL = 8;

/** Our `Logger`, written by Powertools; `addContext` adds the Lambda request id and cold start to every line. */
export interface LambdaLogger extends Logger {
  addContext(context: Context): void;
}

/**
 * A Powertools logger behind the bridge's `Logger` interface. Fields go through `redact` first:
 * secret-looking fields never reach the log, whoever the caller. Level: `LOG_LEVEL` (Powertools reads it).
 */
export function createLambdaLogger(options: { readonly functionName?: string; readonly logger?: PowertoolsLogger } = {}): LambdaLogger {
  const logger = options.logger ?? new PowertoolsLogger({ serviceName: SERVICE_NAME, ...(options.functionName ? { persistentKeys: { function: options.functionName } } : {}) });
  const fields = (extra?: Record<string, unknown>) => (extra === undefined ? {} : (redact(extra) as Record<string, unknown>));
  return {
    // Checked here so that a debug line costs nothing (not even its redaction) when debug is off.
    debug: (message, extra) => {
      if (logger.level <= DEBUG_LEVEL) logger.debug(message, fields(extra));
    },
    info: (message, extra) => logger.info(message, fields(extra)),
    warn: (message, extra) => logger.warn(message, fields(extra)),
    error: (message, extra) => logger.error(message, fields(extra)),
    addContext: (context) => logger.addContext(context),
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
