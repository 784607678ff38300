/**
 * Sends one commit-status request to the upstream host, over undici's `Pool` (the project's one HTTP
 * stack; one pool per API origin, kept for the container's life), with every timeout explicit, and says what the answer means (`classifyStatusAnswer`). Never
 * throws: a host that cannot be reached is an `unavailable` answer like a 5xx. Redirects are not
 * followed, so the token never goes to a host it was not configured for.
 */

import { Pool } from 'undici';
import { classifyStatusAnswer, type StatusAnswer } from '../report/answer';
import type { StatusRequest } from '../report/types';
import { redactText } from '../observability/redact';

/** Sends `request`; what the reporting worker is given, so tests can point it anywhere. */
export type SendStatus = (request: StatusRequest, token: string) => Promise<StatusAnswer>;

export interface StatusSenderOptions {
  /** The whole request: connect, headers and body. @default 5000 */
  readonly timeoutMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/** How much of an error body is read for the log line: enough for a host's message. */
const DETAIL_BYTES = 2048;
const DETAIL_CHARS = 200;

export function createStatusSender(options: StatusSenderOptions = {}): SendStatus {
  const timeoutMs = options.timeoutMs ?? 5000;
  const now = options.now ?? Date.now;
  const pools = new Map<string, Pool>();
  const poolFor = (origin: string): Pool => {
    let pool = pools.get(origin);
    if (pool === undefined) {
      pool = new Pool(origin, { connections: 4, connectTimeout: timeoutMs });
      pools.set(origin, pool);
    }
    return pool;
  };
  return async (request, token) => {
    try {
      const url = new URL(request.url);
      const answer = await poolFor(url.origin).request({
        path: `${url.pathname}${url.search}`,
        method: request.method,
        headers: request.headers,
        body: request.body,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        signal: AbortSignal.timeout(timeoutMs),
      });
      const ok = answer.statusCode >= 200 && answer.statusCode < 300;
      const detail = ok ? '' : await readDetail(answer.body, token);
      if (ok) await answer.body.dump();
      return classifyStatusAnswer(answer.statusCode, answer.headers, now(), detail);
    } catch (error) {
      const name = error instanceof Error ? error.name : 'Error';
      const message = error instanceof Error ? error.message : String(error);
      return { kind: 'unavailable', status: undefined, detail: scrub(`${name}: ${message}`, token) };
    }
  };
}

/** The start of an error body, one line, with the token (should a host echo it) removed. */
async function readDetail(body: AsyncIterable<Uint8Array> & { dump(): Promise<void> }, token: string): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(Buffer.from(chunk));
    size += chunk.length;
    if (size >= DETAIL_BYTES) break;
  }
  await body.dump();
  return scrub(Buffer.concat(chunks).subarray(0, DETAIL_BYTES).toString('utf8'), token);
}

function scrub(text: string, token: string): string {
  // eslint-disable-next-line no-control-regex
  return redactText(text, [token]).replace(/[\u0000-\u001f\u007f\s]+/g, ' ').trim().slice(0, DETAIL_CHARS);
}
