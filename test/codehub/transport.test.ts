import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { closeTransportPools, undiciTransport, type TransportRequest } from '../../lib/codehub/transport';

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

const servers: (Server | TcpServer)[] = [];
const rawSockets: Socket[] = [];

afterEach(async () => {
  vi.restoreAllMocks();
  for (const socket of rawSockets.splice(0)) socket.destroy();
  await closeTransportPools();
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
  return listen(
    createTcpServer((socket) => {
      rawSockets.push(socket);
      socket.once('data', () => reply(socket));
    }),
  );
}

function post(
  origin: string,
  extra: { timeoutMs?: number; totalTimeoutMs?: number; connectTimeoutMs?: number; body?: string | Buffer } = {},
): TransportRequest {
  return {
    origin,
    path: '/v4/repositories/2111111/remote-mirror?x=1',
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: 'SDK-HMAC-SHA256 Access=AK, SignedHeaders=host, Signature=00' },
    body: extra.body ?? Buffer.from('{"force_fetch":true}'),
    connectTimeoutMs: extra.connectTimeoutMs ?? 2000,
    timeoutMs: extra.timeoutMs ?? 5000,
    totalTimeoutMs: extra.totalTimeoutMs,
  };
}

/** The error `promise` rejects with. */
async function failureOf(promise: Promise<unknown>): Promise<{ name: string; code: string; message: string; status?: number }> {
  try {
    await promise;
  } catch (error) {
    return error as { name: string; code: string; message: string; status?: number };
  }
  throw new Error('expected the call to fail');
}

describe('undiciTransport', () => {
  it('sends the exact bytes and headers, and answers status, lower-case headers and body', async () => {
    // Prepare
    const fake = await startFake();
    const body = Buffer.from('{"force_fetch":true,"username":"dXNlcg=="}');

    // Act
    const response = await undiciTransport(post(fake.origin, { body }));

    // Assess
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

    // Act
    for (let i = 0; i < 5; i += 1) await undiciTransport(post(fake.origin));

    // Assess: the Pool may open a second socket when a call is dispatched before the previous one
    // has released the first.
    expect(new Set(fake.received.map((call) => call.socket)).size).toBeLessThanOrEqual(2);
  });

  it('fails with CODEHUB_UNREACHABLE when the connection is refused', async () => {
    // Prepare
    const closed = await startFake();
    const server = servers.pop();
    await new Promise<void>((resolve) => server?.close(() => resolve()));

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

    // Act
    const error = await failureOf(undiciTransport(post(fake.origin, { totalTimeoutMs: 0 })));

    // Assess
    expect(error.code).toBe('CODEHUB_TIMEOUT');
    expect(fake.received).toHaveLength(0);
  });

  it('fails with CODEHUB_BAD_RESPONSE when the answer is not HTTP', async () => {
    // Prepare
    const origin = await startRaw((socket) => socket.end('SSH-2.0-OpenSSH_9.6\r\n\r\n'));

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

    // Act
    const error = await failureOf(undiciTransport(post(origin)));

    // Assess
    expect(error.code).toBe('CODEHUB_UNREACHABLE');
  });

  it('fails with CODEHUB_TIMEOUT at the deadline while still connecting', async () => {
    // Prepare: TCP accepted, TLS handshake never answered, so the connect never completes.
    const port = new URL(await startRaw(() => undefined)).port;
    const started = Date.now();

    // Act
    const error = await failureOf(undiciTransport(post(`https://127.0.0.1:${port}`, { connectTimeoutMs: 10_000, totalTimeoutMs: 150 })));

    // Assess
    expect(error.code).toBe('CODEHUB_TIMEOUT');
    expect(error.message).toContain('before the deadline');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('opens a new connection once the pool has sat idle past keep-alive by the wall clock (a thawed container)', async () => {
    // Prepare
    const fake = await startFake();
    await undiciTransport(post(fake.origin));
    await undiciTransport(post(fake.origin));
    const thawedAt = Date.now() + 60_000;

    // Act: the container was frozen for a minute; its keep-alive timers never ran.
    vi.spyOn(Date, 'now').mockReturnValue(thawedAt);
    await undiciTransport(post(fake.origin));

    // Assess
    const [first, second, third] = fake.received.map((call) => call.socket);
    expect([first, second]).not.toContain(third);
  });
});
