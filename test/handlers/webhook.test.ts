import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { verifySignedRequest } from '../../lib/codehub/verify';
import { closeTransportPools } from '../../lib/codehub/transport';
import { fakeContext, httpApiEvent } from '../support/lambda';

/**
 * The Lambda entry point as deployed: environment in, CodeHub over real HTTP out. The loopback
 * server checks every AK/SK signature from the exact bytes received, as CodeHub's gateway does.
 */

const AK = 'HANDLERTESTAK';
const SK = 'handler-test-SK-secret';
const WEBHOOK_SECRET = 'handler-webhook-secret';
const SOURCE_TOKEN = 'handler-source-token';

interface Received {
  readonly path: string;
  readonly body: Record<string, unknown>;
  readonly verified: boolean;
}

const received: Received[] = [];
let server: Server;
let endpoint: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
      const verdict = verifySignedRequest({
        method: req.method ?? '',
        pathAndQuery: req.url ?? '',
        headers,
        body,
        lookupSecret: (ak) => (ak === AK ? SK : undefined),
        now: Date.now(),
      });
      received.push({ path: req.url ?? '', body: JSON.parse(body.toString('utf8')) as Record<string, unknown>, verified: verdict.ok });
      res.setHeader('content-type', 'application/json');
      if (!verdict.ok) {
        res.statusCode = 401;
        res.end(JSON.stringify({ error_code: 'APIG.0301', error_msg: `Incorrect IAM authentication information: verify aksk signature fail, ${verdict.canonicalRequest ?? ''}` }));
        return;
      }
      res.end(JSON.stringify({ jid: `job-${received.length}` }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await closeTransportPools();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function stubEnvironment(config: unknown): void {
  vi.stubEnv('MIRROR_CONFIG', JSON.stringify(config));
  vi.stubEnv('MIRROR_CONFIG_FILE', '');
  vi.stubEnv('CODEHUB_ENDPOINT', endpoint);
  vi.stubEnv('CODEHUB_AK', AK);
  vi.stubEnv('CODEHUB_SK', SK);
  vi.stubEnv('CODEHUB_PROJECT_ID', '0123456789abcdef0123456789abcdef');
  vi.stubEnv('HOOK_SECRET', WEBHOOK_SECRET);
  vi.stubEnv('SRC_TOKEN', SOURCE_TOKEN);
  vi.stubEnv('LOG_LEVEL', 'silent');
}

async function importHandler() {
  vi.resetModules();
  return (await import('../../handlers/webhook')).handler;
}

describe('handlers/webhook', () => {
  it('turns a signed GitHub push into an AK/SK-signed CodeHub sync and answers its jid', async () => {
    // Prepare
    stubEnvironment({
      webhooks: { 'github.com': { secret: 'env:HOOK_SECRET' } },
      mirrors: [{ source: 'github.com/acme/api', repository_id: 2111, username: 'bot', password: 'env:SRC_TOKEN' }],
    });
    const handler = await importHandler();
    const body = JSON.stringify({
      ref: 'refs/heads/main',
      before: '1'.repeat(40),
      after: '2'.repeat(40),
      repository: { full_name: 'acme/api', html_url: 'https://github.com/acme/api' },
    });
    const signature = `sha256=${createHmac('sha256', WEBHOOK_SECRET).update(body).digest('hex')}`;
    const before = received.length;
    // Act
    const response = await handler(
      httpApiEvent({ headers: { 'x-github-event': 'push', 'x-hub-signature-256': signature, 'content-type': 'application/json' }, body }),
      fakeContext(),
    );
    // Assess
    expect(response.statusCode).toBe(200);
    const answer = JSON.parse(response.body) as { jid: string };
    const call = received[before];
    expect(call?.verified).toBe(true);
    expect(call?.path).toBe('/v4/repositories/2111/remote-mirror');
    expect(call?.body).toEqual({
      force_fetch: true,
      username: Buffer.from('bot').toString('base64'),
      password: Buffer.from(SOURCE_TOKEN).toString('base64'),
    });
    expect(answer.jid).toBe(`job-${before + 1}`);
  });

  it('writes one delivery log line with the request id and one EMF metrics line, with no secret in either', async () => {
    // Prepare
    stubEnvironment({
      webhooks: { 'github.com': { secret: 'env:HOOK_SECRET' } },
      mirrors: [{ source: 'github.com/acme/api', repository_id: 2111, username: 'bot', password: 'env:SRC_TOKEN' }],
    });
    vi.stubEnv('LOG_LEVEL', 'INFO');
    const handler = await importHandler();
    const body = JSON.stringify({ ref: 'refs/heads/main', before: '1'.repeat(40), after: '3'.repeat(40), repository: { full_name: 'acme/api', html_url: 'https://github.com/acme/api' } });
    const signature = `sha256=${createHmac('sha256', WEBHOOK_SECRET).update(body).digest('hex')}`;
    // Earlier tests' lines, still queued for their next immediate, are not this delivery's.
    await new Promise((resolve) => setImmediate(resolve));
    const written: string[] = [];
    for (const stream of [process.stdout, process.stderr]) {
      vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
        written.push(String(chunk));
        return true;
      });
    }
    // Act
    const response = await handler(httpApiEvent({ headers: { 'x-github-event': 'push', 'x-github-delivery': 'gh-42', 'x-hub-signature-256': signature }, body }), fakeContext());
    const writtenBeforeAnswer = written.join('');
    await new Promise((resolve) => setImmediate(resolve));
    vi.restoreAllMocks();
    // Assess: the lines follow the answer, in the next turn of the event loop
    expect(response.statusCode).toBe(200);
    expect(writtenBeforeAnswer).not.toContain('"message":"delivery"');
    expect(writtenBeforeAnswer).not.toContain('"_aws"');
    const lines = written.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    const deliveries = lines.filter((l) => l['message'] === 'delivery');
    expect(deliveries).toHaveLength(1);
    expect(deliveries[0]).toMatchObject({ function_request_id: 'req-test-1', host: 'github', deliveryId: 'gh-42', source: 'github.com/acme/api', outcome: 'synced', repositoryIds: [2111] });
    expect(lines.find((l) => '_aws' in l)).toMatchObject({ Deliveries: 1, Triggered: 1 });
    const everything = written.join('');
    for (const secret of [SK, WEBHOOK_SECRET, SOURCE_TOKEN]) expect(everything).not.toContain(secret);
  });

  it('writes the previous delivery\'s line under its own request id when the next invocation comes first', async () => {
    // Prepare: two invocations back to back, with no turn of the event loop between them
    stubEnvironment({
      webhooks: { 'github.com': { secret: 'env:HOOK_SECRET' } },
      mirrors: [{ source: 'github.com/acme/api', repository_id: 2111 }],
    });
    vi.stubEnv('LOG_LEVEL', 'INFO');
    const handler = await importHandler();
    const body = JSON.stringify({ ref: 'refs/heads/main', before: '1'.repeat(40), after: '3'.repeat(40), repository: { full_name: 'acme/api', html_url: 'https://github.com/acme/api' } });
    const signature = `sha256=${createHmac('sha256', WEBHOOK_SECRET).update(body).digest('hex')}`;
    const event = (id: string) => httpApiEvent({ headers: { 'x-github-event': 'push', 'x-github-delivery': id, 'x-hub-signature-256': signature }, body });
    const context = (requestId: string) => ({ ...fakeContext(), awsRequestId: requestId });
    await new Promise((resolve) => setImmediate(resolve));
    const written: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    // Act
    await handler(event('gh-1'), context('req-first'));
    await handler(event('gh-2'), context('req-second'));
    await new Promise((resolve) => setImmediate(resolve));
    vi.restoreAllMocks();
    // Assess
    const deliveries = written
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l['message'] === 'delivery');
    expect(deliveries.map((l) => [l['deliveryId'], l['function_request_id'], l['requestId']])).toEqual([
      ['gh-1', 'req-first', 'req-first'],
      ['gh-2', 'req-second', 'req-second'],
    ]);
  });

  it.each([
    ['null', null],
    ['a string', 'hello'],
    ['an array', []],
  ])('answers 400 BAD_EVENT in JSON to %s as the event, through the routing, without throwing', async (_name, event) => {
    // Prepare
    stubEnvironment({
      webhooks: { 'github.com': { secret: 'env:HOOK_SECRET' } },
      mirrors: [{ source: 'github.com/acme/api', repository_id: 2111 }],
    });
    const handler = await importHandler();
    const before = received.length;
    // Act
    const response = await handler(event, fakeContext());
    // Assess
    expect(response.statusCode).toBe(400);
    expect(JSON.parse(response.body)).toMatchObject({ code: 'BAD_EVENT' });
    expect(received.length).toBe(before);
  });

  it('fails at cold start with a message naming the invalid field', async () => {
    // Prepare
    stubEnvironment({ mirrors: [{ source: 'github.com/acme/api', repository_id: 'not-a-number' }] });
    // Act
    const loading = importHandler();
    // Assess
    await expect(loading).rejects.toThrow(/mirrors\[0\]\.repository_id/);
  });

  it('fails at cold start when no CodeHub credentials are set', async () => {
    // Prepare
    stubEnvironment({ mirrors: [] });
    vi.stubEnv('CODEHUB_AK', '');
    // Act
    const loading = importHandler();
    // Assess
    await expect(loading).rejects.toThrow(/CODEHUB_/);
  });
});
