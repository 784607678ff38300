/** HTTP plumbing shared by the emulator's routes: what a handler answers, and reading/writing it. */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** A JSON answer. `body` is serialised with `JSON.stringify`. */
export interface Reply {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

/** What a route decides: an answer, or to destroy the socket without one (the "dropped connection" fault). */
export type Outcome = Reply | { readonly drop: true };

export function isDrop(outcome: Outcome): outcome is { readonly drop: true } {
  return 'drop' in outcome;
}

/** A received request, body read in full: the raw bytes are what AK/SK signatures are checked against. */
export interface ApiRequest {
  readonly method: string;
  /** Path and query exactly as on the request line. */
  readonly pathAndQuery: string;
  readonly pathname: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingMessage['headers'];
  readonly body: Buffer;
}

export class BodyTooLargeError extends Error {
  override name = 'BodyTooLargeError';
}

/** Reads the whole body; rejects with `BodyTooLargeError` past `limit` bytes. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new BodyTooLargeError(`request body over ${limit} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export function toApiRequest(req: IncomingMessage, body: Buffer): ApiRequest {
  const pathAndQuery = req.url ?? '/';
  const mark = pathAndQuery.indexOf('?');
  return {
    method: (req.method ?? 'GET').toUpperCase(),
    pathAndQuery,
    pathname: mark === -1 ? pathAndQuery : pathAndQuery.slice(0, mark),
    query: new URLSearchParams(mark === -1 ? '' : pathAndQuery.slice(mark + 1)),
    headers: req.headers,
    body,
  };
}

export function writeReply(res: ServerResponse, reply: Reply): void {
  const text = JSON.stringify(reply.body);
  res.writeHead(reply.status, {
    'Content-Type': 'application/json;charset=UTF-8',
    'Content-Length': String(Buffer.byteLength(text)),
    ...reply.headers,
  });
  res.end(text);
}

/** The first value of a header, as node:http gives them. */
export function headerOf(headers: IncomingMessage['headers'], name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

export type JsonParse = { readonly ok: true; readonly value: unknown } | { readonly ok: false };

/** Parses a body as JSON; an empty body counts as `{}` (how CodeHub's SDK callers send "no fields"). */
export function parseJsonBody(body: Buffer): JsonParse {
  const text = body.toString('utf8');
  if (text.trim() === '') return { ok: true, value: {} };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
