import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Context } from 'aws-lambda';
import { createBridgeMetrics, createDeliveryTelemetry, createLambdaLogger, recordDeliveryMetrics, type LambdaLogger } from '../../lib/observability/lambda';
import type { DeliveryRecord } from '../../lib/pipeline/webhook';

/** Everything written to stdout while `act` runs, one entry per line. */
let written: string[] = [];
beforeEach(() => {
  written = [];
  // Powertools writes warnings and errors to stderr, the rest (EMF included) to stdout.
  for (const stream of [process.stdout, process.stderr]) {
    vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(...String(chunk).split('\n').filter((l) => l !== ''));
      return true;
    });
  }
});
afterEach(() => vi.restoreAllMocks());

const lambdaContext = {
  awsRequestId: 'req-obs-1',
  functionName: 'codehub-mirror-bridge-dev-webhook',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:ap-southeast-1:123456789012:function:codehub-mirror-bridge-dev-webhook',
  memoryLimitInMB: '256',
  getRemainingTimeInMillis: () => 9000,
} as unknown as Context;

function lines(): Record<string, unknown>[] {
  return written.map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('createLambdaLogger', () => {
  it('writes structured JSON lines correlated with the Lambda request id', () => {
    // Prepare
    vi.stubEnv('LOG_LEVEL', 'INFO');
    const logger = createLambdaLogger();
    logger.addContext(lambdaContext);
    // Act
    logger.info('delivery', { host: 'github', jids: ['j1'] });
    // Assess
    expect(lines()).toEqual([expect.objectContaining({ message: 'delivery', host: 'github', jids: ['j1'], function_request_id: 'req-obs-1', service: 'codehub-mirror-bridge' })]);
  });

  it('counts the cold start against the first invocation, whether or not it wrote a line', () => {
    // Prepare
    vi.stubEnv('LOG_LEVEL', 'INFO');
    vi.stubEnv('AWS_LAMBDA_INITIALIZATION_TYPE', 'on-demand');
    const silentFirst = createLambdaLogger();
    const loggedFirst = createLambdaLogger();
    // Act: two invocations each; with the first silent, then with the first writing a line
    silentFirst.addContext({ ...lambdaContext, awsRequestId: 'req-first' } as Context);
    silentFirst.addContext({ ...lambdaContext, awsRequestId: 'req-second' } as Context);
    silentFirst.info('delivery');
    loggedFirst.addContext({ ...lambdaContext, awsRequestId: 'req-first' } as Context);
    loggedFirst.info('delivery');
    loggedFirst.addContext({ ...lambdaContext, awsRequestId: 'req-second' } as Context);
    loggedFirst.info('delivery');
    // Assess
    expect(lines().map((l) => [l['function_request_id'], l['cold_start']])).toEqual([
      ['req-second', false],
      ['req-first', true],
      ['req-second', false],
    ]);
  });

  it('never writes secret-looking fields', () => {
    // Prepare
    vi.stubEnv('LOG_LEVEL', 'INFO');
    const logger = createLambdaLogger();
    // Act
    logger.error('failed', { authorization: 'SDK-HMAC-SHA256 Access=AK, Signature=abc123secret', nested: { password: 'abc123secret', token: 'abc123secret' } });
    // Assess
    expect(written.join('\n')).not.toContain('abc123secret');
    expect(written).toHaveLength(1);
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
    const writtenAtOnce = written.length;
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
    const writtenByFlush = written.length;
    await nextTurn();
    // Assess
    expect(writtenByFlush).toBe(4);
    expect(written).toHaveLength(4);
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
