import type { APIGatewayProxyEvent, APIGatewayProxyEventV2, Context } from 'aws-lambda';

/** One shared fake Lambda context. */
export function fakeContext(remainingMs = 10_000): Pick<Context, 'getRemainingTimeInMillis' | 'awsRequestId'> {
  const started = Date.now();
  return { awsRequestId: 'req-test-1', getRemainingTimeInMillis: () => remainingMs - (Date.now() - started) };
}

interface EventInput {
  readonly method?: string;
  readonly headers: Record<string, string>;
  readonly body: string | Buffer;
  readonly base64?: boolean;
}

function encodeBody(input: EventInput): { body: string; isBase64Encoded: boolean } {
  const bytes = typeof input.body === 'string' ? Buffer.from(input.body, 'utf8') : input.body;
  return input.base64 === true
    ? { body: bytes.toString('base64'), isBase64Encoded: true }
    : { body: bytes.toString('utf8'), isBase64Encoded: false };
}

/** An API Gateway HTTP API (payload 2.0) event; Function URLs send the same shape. */
export function httpApiEvent(input: EventInput): APIGatewayProxyEventV2 {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(input.headers)) headers[k.toLowerCase()] = v;
  return {
    version: '2.0',
    routeKey: 'POST /webhook',
    rawPath: '/webhook',
    rawQueryString: '',
    headers,
    requestContext: {
      accountId: '123456789012',
      apiId: 'api',
      domainName: 'example.execute-api.local',
      domainPrefix: 'example',
      http: { method: input.method ?? 'POST', path: '/webhook', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' },
      requestId: 'r1',
      routeKey: 'POST /webhook',
      stage: '$default',
      time: '28/Nov/2026:00:00:00 +0000',
      timeEpoch: 0,
    },
    ...encodeBody(input),
  };
}

/** An API Gateway REST API (payload 1.0) event: header names keep the sender's case. */
export function restApiEvent(input: EventInput): APIGatewayProxyEvent {
  const multi: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(input.headers)) multi[k] = [v];
  return {
    httpMethod: input.method ?? 'POST',
    path: '/webhook',
    resource: '/webhook',
    headers: { ...input.headers },
    multiValueHeaders: multi,
    pathParameters: null,
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    stageVariables: null,
    requestContext: {} as APIGatewayProxyEvent['requestContext'],
    ...encodeBody(input),
  };
}
