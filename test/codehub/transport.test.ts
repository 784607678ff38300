import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type * as TransportExports from '../../lib/codehub/transport';

/**
 * The default transport sends a cold container's first calls on node:http and moves to undici once
 * undici has loaded in the background. Whichever stack carries a call, the caller must get the same
 * answer and the same error codes: these tests run every case on both.
 */

type TransportModule = typeof TransportExports;
type Stack = 'node:http' | 'undici';

/** A transport module with its own state (no pools, undici not loaded), moved to `stack`. */
async function transportOn(stack: Stack): Promise<TransportModule> {
  vi.resetModules();
  const transport = await import('../../lib/codehub/transport');
  if (stack === 'undici') await transport.loadUndici();
  modules.push(transport);
  return transport;
}

interface Received {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
  readonly socket: Socket;
}

interface Fake {
  readonly origin: string;
  readonly received: Received[];
}

const modules: TransportModule[] = [];
const servers: (Server | TcpServer)[] = [];

afterEach(async () => {
  await Promise.all(modules.splice(0).map((module) => module.closeTransportPools()));
  for (const server of servers.splice(0)) {
    if ('closeAllConnections' in server) server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

async function listen(server: Server | TcpServer): Promise<string> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A loopback server that records each request and answers with `respond` (undefined: never answers). */
async function startFake(respond: (call: Received, res: ServerResponse) => unknown = defaultAnswer): Promise<Fake> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const call = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), socket: req.socket };
      received.push(call);
      respond(call, res);
    });
  });
  return { origin: await listen(server), received };
}

function defaultAnswer(_call: Received, res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'application/json', 'x-request-id': 'r-1' });
  res.end('{"jid":"09a56216-cb37-494c-b314-d88dc6c9ff57"}');
}

/** A raw TCP server answering every connection with `reply` bytes, for answers node:http cannot produce. */
async function startRaw(reply: (socket: Socket) => void): Promise<string> {
  return listen(createTcpServer((socket) => socket.once('data', () => reply(socket))));
}

function post(origin: string, extra: { timeoutMs?: number; totalTimeoutMs?: number; body?: string | Buffer } = {}) {
  return {
    origin,
    path: '/v4/repositories/2111111/remote-mirror?x=1',
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: 'SDK-HMAC-SHA256 Access=AK, SignedHeaders=host, Signature=00' },
    body: extra.body ?? Buffer.from('{"force_fetch":true}'),
    timeoutMs: extra.timeoutMs ?? 5000,
    ...(extra.totalTimeoutMs === undefined ? {} : { totalTimeoutMs: extra.totalTimeoutMs }),
  };
}

/** The error `promise` rejects with; transport errors are CodeHubErrors (checked by name: modules are reloaded). */
async function failureOf(promise: Promise<unknown>): Promise<{ name: string; code: string; message: string; status?: number }> {
  try {
    await promise;
  } catch (error) {
    return error as { name: string; code: string; message: string; status?: number };
  }
  throw new Error('expected the call to fail');
}

describe.each<Stack>(['node:http', 'undici'])('undiciTransport on %s', (stack) => {
  it('sends the exact bytes and headers, and answers status, lower-case headers and body', async () => {
    // Prepare
    const fake = await startFake();
    const { undiciTransport, activeHttpStack } = await transportOn(stack);
    const body = Buffer.from('{"force_fetch":true,"username":"dXNlcg=="}');

    // Act
    const stackUsed = activeHttpStack();
    const response = await undiciTransport(post(fake.origin, { body }));

    // Assess
    expect(stackUsed).toBe(stack);
    expect(response).toEqual({
      status: 200,
      headers: expect.objectContaining({ 'content-type': 'application/json', 'x-request-id': 'r-1' }) as unknown,
      body: '{"jid":"09a56216-cb37-494c-b314-d88dc6c9ff57"}',
    });
    expect(fake.received).toHaveLength(1);
    const [call] = fake.received;
    expect(call?.method).toBe('POST');
    expect(call?.url).toBe('/v4/repositories/2111111/remote-mirror?x=1');
    expect(call?.body).toBe(body.toString('utf8'));
    expect(call?.headers['content-length']).toBe(String(body.length));
    expect(call?.headers.host).toBe(new URL(fake.origin).host);
    expect(call?.headers.authorization).toBe('SDK-HMAC-SHA256 Access=AK, SignedHeaders=host, Signature=00');
  });

  it('answers a non-2xx status as an answer, not an error', async () => {
    // Prepare
    const fake = await startFake((_call, res) => {
      res.writeHead(429, { 'retry-after': '3' });
      res.end('{"error_code":"APIG.0308","error_msg":"The throttling threshold has been reached"}');
    });
    const { undiciTransport } = await transportOn(stack);

    // Act
    const response = await undiciTransport(post(fake.origin));

    // Assess
    expect(response.status).toBe(429);
    expect(response.headers['retry-after']).toBe('3');
    expect(JSON.parse(response.body)).toEqual({ error_code: 'APIG.0308', error_msg: 'The throttling threshold has been reached' });
  });

  it('sends a bodyless GET without a body', async () => {
    // Prepare
    const fake = await startFake();
    const { undiciTransport } = await transportOn(stack);

    // Act
    await undiciTransport({ ...post(fake.origin), method: 'GET', body: Buffer.alloc(0) });

    // Assess
    expect(fake.received[0]?.method).toBe('GET');
    expect(fake.received[0]?.body).toBe('');
    expect(fake.received[0]?.headers['content-length']).toBeUndefined();
  });

  it('keeps connections alive between calls', async () => {
    // Prepare
    const fake = await startFake();
    const { undiciTransport } = await transportOn(stack);

    // Act: each call made as soon as the previous one has answered (on node:http, before the
    // transport moves to undici, which waits for the event loop to come round).
    for (let i = 0; i < (stack === 'undici' ? 5 : 2); i += 1) await undiciTransport(post(fake.origin));

    // Assess: node:http reuses its socket; undici's Pool may open a second one when a call is
    // dispatched before the previous one has released the first.
    expect(new Set(fake.received.map((call) => call.socket)).size).toBeLessThanOrEqual(stack === 'undici' ? 2 : 1);
  });

  it('fails with CODEHUB_UNREACHABLE when the connection is refused', async () => {
    // Prepare
    const closed = await startFake();
    const server = servers.pop();
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    const { undiciTransport } = await transportOn(stack);

    // Act
    const error = await failureOf(undiciTransport(post(closed.origin)));

    // Assess
    expect(error.name).toBe('CodeHubError');
    expect(error.code).toBe('CODEHUB_UNREACHABLE');
    expect(error.message).toContain(`POST ${closed.origin}/v4/repositories/2111111/remote-mirror`);
    expect(error.message).not.toContain('?x=1');
  });

  it('fails with CODEHUB_TIMEOUT when no answer comes within timeoutMs', async () => {
    // Prepare
    const fake = await startFake(() => undefined);
    const { undiciTransport } = await transportOn(stack);
    const started = Date.now();

    // Act
    const error = await failureOf(undiciTransport(post(fake.origin, { timeoutMs: 300 })));

    // Assess: undici checks its timers on a ~0.5 s tick.
    expect(error.code).toBe('CODEHUB_TIMEOUT');
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('fails with CODEHUB_TIMEOUT as soon as the total timeout passes', async () => {
    // Prepare
    const fake = await startFake(() => undefined);
    const { undiciTransport } = await transportOn(stack);
    const started = Date.now();

    // Act
    const error = await failureOf(undiciTransport(post(fake.origin, { timeoutMs: 10_000, totalTimeoutMs: 100 })));

    // Assess
    expect(error.code).toBe('CODEHUB_TIMEOUT');
    expect(error.message).toContain('before the deadline');
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('fails with CODEHUB_TIMEOUT without sending when no time is left', async () => {
    // Prepare
    const fake = await startFake();
    const { undiciTransport } = await transportOn(stack);

    // Act
    const error = await failureOf(undiciTransport(post(fake.origin, { totalTimeoutMs: 0 })));

    // Assess
    expect(error.code).toBe('CODEHUB_TIMEOUT');
    expect(fake.received).toHaveLength(0);
  });

  it('fails with CODEHUB_BAD_RESPONSE when the answer is not HTTP', async () => {
    // Prepare
    const origin = await startRaw((socket) => socket.end('SSH-2.0-OpenSSH_9.6\r\n\r\n'));
    const { undiciTransport } = await transportOn(stack);

    // Act
    const error = await failureOf(undiciTransport(post(origin)));

    // Assess
    expect(error.code).toBe('CODEHUB_BAD_RESPONSE');
  });

  it('fails with CODEHUB_BAD_RESPONSE when the answer is over 1 MiB', async () => {
    // Prepare
    const fake = await startFake((_call, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(Buffer.alloc(1024 * 1024 + 10, 0x20));
    });
    const { undiciTransport } = await transportOn(stack);

    // Act
    const error = await failureOf(undiciTransport(post(fake.origin)));

    // Assess
    expect(error.code).toBe('CODEHUB_BAD_RESPONSE');
    expect(error.status).toBe(200);
  });

  it('fails with CODEHUB_UNREACHABLE when the connection closes mid-answer', async () => {
    // Prepare
    const origin = await startRaw((socket) => {
      socket.write('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"jid":');
      setTimeout(() => socket.destroy(), 20);
    });
    const { undiciTransport } = await transportOn(stack);

    // Act
    const error = await failureOf(undiciTransport(post(origin)));

    // Assess
    expect(error.code).toBe('CODEHUB_UNREACHABLE');
  });
});

describe('the move from node:http to undici', () => {
  it('starts on node:http, loads undici once the first call has settled, and answers the same on it', async () => {
    // Prepare
    const fake = await startFake();
    const { undiciTransport, activeHttpStack } = await transportOn('node:http');

    // Act
    const first = await undiciTransport(post(fake.origin));
    const stackDuringFirstAnswer = activeHttpStack();
    await vi.waitFor(() => expect(activeHttpStack()).toBe('undici'), { timeout: 5000, interval: 10 });
    const second = await undiciTransport(post(fake.origin));

    // Assess
    expect(stackDuringFirstAnswer).toBe('node:http');
    expect(second).toEqual(first);
    expect(fake.received).toHaveLength(2);
    // undici opens its own connection; node:http's is closed once undici carries the calls.
    expect(fake.received[1]?.socket).not.toBe(fake.received[0]?.socket);
    await vi.waitFor(() => expect(fake.received[0]?.socket.destroyed).toBe(true), { timeout: 2000, interval: 10 });
  });

  it('moves after a failed first call too, and keeps the error codes', async () => {
    // Prepare
    const closed = await startFake();
    const server = servers.pop();
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    const { undiciTransport, activeHttpStack } = await transportOn('node:http');

    // Act
    const onNodeHttp = await failureOf(undiciTransport(post(closed.origin)));
    await vi.waitFor(() => expect(activeHttpStack()).toBe('undici'), { timeout: 5000, interval: 10 });
    const onUndici = await failureOf(undiciTransport(post(closed.origin)));

    // Assess
    expect(onNodeHttp.code).toBe('CODEHUB_UNREACHABLE');
    expect(onUndici.code).toBe('CODEHUB_UNREACHABLE');
  });

  it('answers concurrent calls made before undici has loaded, each on its own node:http connection', async () => {
    // Prepare
    const fake = await startFake();
    const { undiciTransport, activeHttpStack } = await transportOn('node:http');

    // Act: ten at once, before anything has settled.
    const stackUsed = activeHttpStack();
    const answers = await Promise.all(Array.from({ length: 10 }, () => undiciTransport(post(fake.origin))));

    // Assess
    expect(stackUsed).toBe('node:http');
    expect(answers.every((answer) => answer.status === 200)).toBe(true);
    expect(new Set(fake.received.map((call) => call.socket)).size).toBe(10);
  });
});
