/**
 * A local stand-in for CodeHub's `POST /v4/repositories/{id}/remote-mirror`: node:http with
 * keep-alive, answering `{"jid": "…"}` like CodeHub does. It checks the AK/SK signature of the
 * first request on every connection and of every 16th request after, so a variant that signs
 * wrongly fails the bench instead of being timed; checking every request would add the verifier's
 * cost to every measured delivery.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { verifySignedRequest } from '../lib/codehub/verify';

export interface StandinOptions {
  readonly accessKey: string;
  readonly secretKey: string;
}

export interface Standin {
  readonly url: string;
  /** Holds every answer this long (ms), as a remote CodeHub's round trip would; 0 answers at once. */
  delayMs: number;
  /** Requests answered since the last `reset()`. */
  readonly stats: { requests: number; verified: number; failures: string[]; connections: number; maxInFlight: number };
  reset(): void;
  close(): Promise<void>;
}

const PATH = /^\/v4\/repositories\/(\d+)\/remote-mirror$/;
const VERIFY_EVERY = 16;

export async function startStandin(options: StandinOptions): Promise<Standin> {
  const sockets = new Set<Socket>();
  let inFlight = 0;
  const stats: Standin['stats'] = { requests: 0, verified: 0, failures: [], connections: 0, maxInFlight: 0 };
  const verifiedSockets = new WeakSet<Socket>();

  function check(req: IncomingMessage, body: Buffer): string | undefined {
    if (req.method !== 'POST' || !PATH.test(req.url ?? '')) return `unexpected ${req.method} ${req.url}`;
    const needed = !verifiedSockets.has(req.socket) || stats.requests % VERIFY_EVERY === 0;
    if (!needed) return undefined;
    verifiedSockets.add(req.socket);
    stats.verified += 1;
    const result = verifySignedRequest({
      method: req.method,
      pathAndQuery: req.url ?? '',
      headers: req.headers,
      body,
      lookupSecret: (key) => (key === options.accessKey ? options.secretKey : undefined),
      now: Date.now(),
      requiredSignedHeaders: ['host', 'x-sdk-date', 'content-type', 'x-project-id'],
    });
    if (!result.ok) return `${result.reason}: ${result.message}`;
    const payload: unknown = JSON.parse(body.toString('utf8'));
    if (typeof payload !== 'object' || payload === null || (payload as { force_fetch?: unknown }).force_fetch !== true) {
      return `body is not {"force_fetch":true}: ${body.toString('utf8')}`;
    }
    return undefined;
  }

  function answer(res: ServerResponse, status: number, body: string): void {
    res.writeHead(status, { 'content-type': 'application/json;charset=utf-8', 'content-length': Buffer.byteLength(body) });
    res.end(body);
    inFlight -= 1;
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    inFlight += 1;
    stats.maxInFlight = Math.max(stats.maxInFlight, inFlight);
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      stats.requests += 1;
      const problem = check(req, Buffer.concat(chunks));
      if (problem !== undefined) {
        stats.failures.push(problem);
        answer(res, 401, JSON.stringify({ error_code: 'APIG.0301', error_msg: `verify aksk signature fail: ${problem}` }));
        return;
      }
      const body = JSON.stringify({ jid: randomUUID() });
      if (standin.delayMs > 0) setTimeout(() => answer(res, 200, body), standin.delayMs);
      else answer(res, 200, body);
    });
  });
  server.keepAliveTimeout = 30_000;
  server.on('connection', (socket: Socket) => {
    stats.connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const standin: Standin = {
    url: `http://127.0.0.1:${port}`,
    delayMs: 0,
    stats,
    reset() {
      stats.requests = 0;
      stats.verified = 0;
      stats.failures = [];
      stats.connections = 0;
      stats.maxInFlight = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  return standin;
}
