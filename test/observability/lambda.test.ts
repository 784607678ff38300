import { describe, expect, it, vi } from 'vitest';
import { captureProcessOutput } from '../support/stdout';
import type { Context } from 'aws-lambda';
import { createLambdaLogger } from '../../lib/observability/lambda';

/** Everything written to stdout and stderr during each test. */
const output = captureProcessOutput();

const lambdaContext = {
  awsRequestId: 'req-obs-1',
  functionName: 'codehub-mirror-bridge-dev-webhook',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:ap-southeast-1:123456789012:function:codehub-mirror-bridge-dev-webhook',
  memoryLimitInMB: '256',
  getRemainingTimeInMillis: () => 9000,
} as unknown as Context;

const lines = output.json;

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
    expect(output.lines().join('\n')).not.toContain('abc123secret');
    expect(output.lines()).toHaveLength(1);
  });
});
