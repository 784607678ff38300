import { describe, expect, it, vi } from 'vitest';
import { captureProcessOutput } from '../support/stdout';
import { createDeliveryTelemetry, logDelivery, recordDeliveryMetrics, type DeliveryRecord } from '../../lib/observability/delivery';
import { createBridgeMetrics, createLambdaLogger, type LambdaLogger } from '../../lib/observability/lambda';
import { createLogger } from '../../lib/observability/log';

/** Everything written to stdout and stderr during each test. */
const output = captureProcessOutput();

const lines = output.json;

describe('logDelivery', () => {
  it('writes one line per delivery, at error for a failure, warn for a rejection, info otherwise', () => {
    // Prepare
    const out: string[] = [];
    const observe = logDelivery(createLogger({ level: 'debug', write: (line) => out.push(line) }));
    const outcomes = ['failed', 'error', 'rejected', 'synced', 'ignored', 'pong', 'replayed'] as const;
    // Act
    for (const outcome of outcomes) observe({ requestId: 'r', outcome, statusCode: 200, durationMs: 1 });
    // Assess
    const levels = out.map((line) => JSON.parse(line) as { level: string; message: string; outcome: string });
    expect(levels.map((l) => [l.outcome, l.level])).toEqual([
      ['failed', 'error'],
      ['error', 'error'],
      ['rejected', 'warn'],
      ['synced', 'info'],
      ['ignored', 'info'],
      ['pong', 'info'],
      ['replayed', 'info'],
    ]);
    expect(new Set(levels.map((l) => l.message))).toEqual(new Set(['delivery']));
  });
});

describe('recordDeliveryMetrics', () => {
  function emf(): { names: string[]; values: Record<string, unknown>; dimensions: string[][] }[] {
    return lines()
      .filter((l) => '_aws' in l)
      .map((l) => {
        const aws = l['_aws'] as { CloudWatchMetrics: { Metrics: { Name: string }[]; Dimensions: string[][] }[] };
        const directive = aws.CloudWatchMetrics[0];
        return { names: directive?.Metrics.map((m) => m.Name) ?? [], values: l, dimensions: directive?.Dimensions ?? [] };
      });
  }

  it('counts a synced delivery, the syncs it started and CodeHub latency', () => {
    // Prepare
    const metrics = createBridgeMetrics();
    const record: DeliveryRecord = { requestId: 'r', outcome: 'synced', statusCode: 200, jids: ['a', 'b'], codehubMs: 42, durationMs: 50 };
    // Act
    recordDeliveryMetrics(metrics, record);
    metrics.publishStoredMetrics();
    // Assess
    const [line] = emf();
    expect(line?.names.sort()).toEqual(['CodeHubLatency', 'Deliveries', 'Triggered']);
    expect(line?.values).toMatchObject({ Deliveries: 1, Triggered: 2, CodeHubLatency: 42, service: 'codehub-mirror-bridge' });
  });

  it('counts a rejection by its reason, as its own metric with a reason dimension', () => {
    // Prepare
    const metrics = createBridgeMetrics();
    // Act
    recordDeliveryMetrics(metrics, { requestId: 'r', outcome: 'rejected', statusCode: 401, code: 'SIGNATURE_MISMATCH', durationMs: 1 });
    metrics.publishStoredMetrics();
    // Assess
    const rejected = emf().find((m) => m.names.includes('Rejected'));
    expect(rejected?.values).toMatchObject({ Rejected: 1, reason: 'SIGNATURE_MISMATCH' });
    expect(rejected?.dimensions.flat()).toContain('reason');
  });

  it('counts each CodeHub error by CodeHub code, and ignored deliveries', () => {
    // Prepare
    const metrics = createBridgeMetrics();
    // Act
    recordDeliveryMetrics(metrics, { requestId: 'r', outcome: 'failed', statusCode: 502, codehubErrors: ['CH.004404', 'APIG.0308'], durationMs: 1 });
    recordDeliveryMetrics(metrics, { requestId: 'r', outcome: 'ignored', statusCode: 202, durationMs: 1 });
    metrics.publishStoredMetrics();
    // Assess
    const errors = emf().filter((m) => m.names.includes('CodeHubErrors')).map((m) => m.values['code']);
    expect(errors).toEqual(['CH.004404', 'APIG.0308']);
    // Two values of one metric in one flush are sent as a list.
    expect(emf().find((m) => m.names.includes('Ignored'))?.values).toMatchObject({ Ignored: 1, Deliveries: [1, 1] });
  });
});

describe('createDeliveryTelemetry', () => {
  const synced: DeliveryRecord = { requestId: 'req-obs-1', deliveryId: 'd-1', outcome: 'synced', statusCode: 200, jids: ['j1'], codehubMs: 5, durationMs: 7 };
  const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

  it('writes the delivery line and its EMF line after the answer, in the next immediate', async () => {
    // Prepare
    vi.stubEnv('LOG_LEVEL', 'INFO');
    const telemetry = createDeliveryTelemetry({ logger: createLambdaLogger(), metrics: createBridgeMetrics() });
    // Act
    telemetry.observe(synced);
    const writtenAtOnce = output.lines().length;
    await nextTurn();
    // Assess
    expect(writtenAtOnce).toBe(0);
    expect(lines()).toEqual([
      expect.objectContaining({ message: 'delivery', deliveryId: 'd-1', outcome: 'synced' }),
      expect.objectContaining({ Deliveries: 1, Triggered: 1, CodeHubLatency: 5 }),
    ]);
  });

  it('writes what is queued when flushed, once, in the order the deliveries were answered', async () => {
    // Prepare
    vi.stubEnv('LOG_LEVEL', 'INFO');
    const telemetry = createDeliveryTelemetry({ logger: createLambdaLogger(), metrics: createBridgeMetrics() });
    telemetry.observe(synced);
    telemetry.observe({ ...synced, deliveryId: 'd-2' });
    // Act
    telemetry.flush();
    const writtenByFlush = output.lines().length;
    await nextTurn();
    // Assess
    expect(writtenByFlush).toBe(4);
    expect(output.lines()).toHaveLength(4);
    expect(lines().filter((l) => l['message'] === 'delivery').map((l) => l['deliveryId'])).toEqual(['d-1', 'd-2']);
  });

  it('survives a logger that throws, and reports it through the logger when it can', async () => {
    // Prepare
    const errors: string[] = [];
    const logger: LambdaLogger = {
      debug: () => undefined,
      info: () => {
        throw new Error('stdout is gone');
      },
      warn: () => undefined,
      error: (message) => errors.push(message),
      addContext: () => undefined,
    };
    const telemetry = createDeliveryTelemetry({ logger, metrics: createBridgeMetrics() });
    // Act
    telemetry.observe(synced);
    await nextTurn();
    // Assess
    expect(errors).toEqual(['delivery telemetry failed']);
  });
});
