/**
 * What became of each webhook delivery, told once per delivery: one structured log line and one
 * set of CloudWatch metrics (Embedded Metric Format, written to stdout with the logs: no API call).
 * The pipeline builds the record; this module only writes it.
 */
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import type { Logger } from './log';

/** What became of a delivery. */
export type DeliveryOutcomeKind = 'synced' | 'queued' | 'pong' | 'ignored' | 'rejected' | 'failed' | 'replayed' | 'unavailable' | 'error';

/** Everything known about one delivery when its answer was ready. */
export interface DeliveryRecord {
  readonly requestId: string | undefined;
  /** The Git host's id (`github`, `gitea`, …), once its headers named one. */
  readonly host?: string;
  readonly deliveryId?: string | undefined;
  readonly source?: string;
  readonly refs?: readonly string[];
  /** The push's id in the ledger (durable pipeline only). */
  readonly pushId?: string;
  readonly outcome: DeliveryOutcomeKind;
  readonly statusCode: number;
  /** The bridge's code for a rejection or failure (`SIGNATURE_MISMATCH`, `CODEHUB_REJECTED`, …). */
  readonly code?: string;
  readonly reason?: string;
  readonly repositoryIds?: readonly (number | undefined)[];
  readonly jids?: readonly string[];
  /** How many of `jids` this push joined (another push's trigger carries it: coalescing). */
  readonly coalesced?: number;
  /** CodeHub's own error codes, one per failed sync (`APIG.0308`, `CH.004404`, or the bridge's code when CodeHub sent none). */
  readonly codehubErrors?: readonly string[];
  readonly codehubMs?: number;
  readonly durationMs: number;
}

/** Receives one record per delivery. */
export type DeliveryObserver = (record: DeliveryRecord) => void;

/** The default observer: the record as one structured log line, its level by outcome. */
export function logDelivery(logger: Logger): DeliveryObserver {
  return (record) => {
    if (record.outcome === 'failed' || record.outcome === 'unavailable' || record.outcome === 'error') logger.error('delivery', { ...record });
    else if (record.outcome === 'rejected') logger.warn('delivery', { ...record });
    else logger.info('delivery', { ...record });
  };
}

/**
 * The metrics of one delivery: Deliveries; Triggered (syncs started); Ignored; Rejected by reason
 * (the bridge's code); CodeHubErrors by CodeHub's code; CodeHubLatency; and with the ledger,
 * PushesAccepted (a new push recorded), PushesQueued (recorded, its sync left to the worker) and
 * PushesCoalesced (syncs it joined instead of triggering).
 * Dimensioned counts go out as single metrics, so each carries its own reason or code.
 */
export function recordDeliveryMetrics(metrics: Metrics, record: DeliveryRecord): void {
  metrics.addMetric('Deliveries', MetricUnit.Count, 1);
  if (record.pushId !== undefined && record.outcome !== 'replayed') metrics.addMetric('PushesAccepted', MetricUnit.Count, 1);
  if (record.outcome === 'queued') metrics.addMetric('PushesQueued', MetricUnit.Count, 1);
  const coalesced = record.coalesced ?? 0;
  const triggered = (record.jids?.length ?? 0) - coalesced;
  if (triggered > 0) metrics.addMetric('Triggered', MetricUnit.Count, triggered);
  if (coalesced > 0) metrics.addMetric('PushesCoalesced', MetricUnit.Count, coalesced);
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
 * put together (~100 µs), and none of it is news the Git host is waiting for.
 *
 * Nothing is lost or misattributed. Lambda's Node.js runtime posts the answer synchronously when
 * the handler's promise settles, then asks for the next event with an asynchronous call, so the
 * immediate queued here runs before the next event can arrive (and before the sandbox can be
 * frozen). Where a next invocation starts without a turn of the event loop in between (tests,
 * local emulators), it calls `flush` first, so every line is written under its own request id.
 */
export function createDeliveryTelemetry(options: { readonly logger: Logger; readonly metrics: Metrics }): DeliveryTelemetry {
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
