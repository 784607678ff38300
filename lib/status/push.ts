/**
 * `GET /pushes/{push_id}`: one push as the ledger holds it (`pushStatusOf`), as JSON or (for a
 * browser) a page. Read from the ledger on every request, never cached: the answer is the same
 * from every container. The key check and the method are the status handler's (./status).
 */
import { ErrorCodes } from '../errors';
import { jsonResponse, type HttpResponse } from '../http/event';
import { pushStatusOf, type LedgerEntry, type PushStatus } from '../ledger/types';
import type { Logger } from '../observability/log';
import { redactText } from '../observability/redact';
import { htmlResponse, prefersHtml } from './html';
import { isLedgerStoreError, type StatusLedger } from './ledger-view';
import { renderPushHtml } from './push-page';

/** What `pushIdOf` makes: 22 base64url characters. Anything else is not looked up. */
const PUSH_ID = /^[A-Za-z0-9_-]{22}$/;

export interface PushRouteOptions {
  /** Undefined: the stateless bridge, which keeps no pushes (404). */
  readonly ledger: StatusLedger | undefined;
  readonly logger: Logger;
  /** Values to scrub from the mirrors' last errors, which may quote CodeHub. */
  readonly secrets: readonly string[];
  /** Milliseconds the ledger read may take before the answer is a 503. */
  readonly deadlineMs: number;
}

const HEADERS = { 'cache-control': 'no-store', vary: 'Accept' } as const;
const TIMED_OUT = Symbol('timed out');

/** The answer to `GET /pushes/{pushId}` for a request already let in (key, method). */
export async function answerPush(options: PushRouteOptions, pushId: string, accept: string | undefined): Promise<HttpResponse> {
  const { ledger, logger } = options;
  if (ledger === undefined) return jsonResponse(404, { error: 'push status needs the durable pipeline' }, HEADERS);
  // Not echoed: the id is the caller's text.
  if (!PUSH_ID.test(pushId)) return jsonResponse(404, { error: 'not a push id: push ids are 22 base64url characters' }, HEADERS);
  let entry: LedgerEntry | undefined | typeof TIMED_OUT;
  try {
    entry = await within(ledger.getPush(pushId), options.deadlineMs);
  } catch (error) {
    if (!isLedgerStoreError(error)) throw error;
    logger.warn('status: the ledger could not be read for a push', { pushId, code: error.code, error });
    return unavailable('the ledger could not be read now; try again');
  }
  if (entry === TIMED_OUT) {
    logger.warn('status: the ledger did not answer for a push before the deadline', { pushId, deadlineMs: options.deadlineMs });
    return unavailable('the ledger did not answer in time; try again');
  }
  if (entry === undefined) return jsonResponse(404, { error: 'no push with this id in the ledger', push_id: pushId }, HEADERS);
  const status = scrubbed(pushStatusOf(entry), options.secrets);
  logger.info('push status served', { pushId, state: status.state });
  return prefersHtml(accept) ? htmlResponse(renderPushHtml(status), HEADERS) : jsonResponse(200, status, HEADERS);
}

function unavailable(error: string): HttpResponse {
  return jsonResponse(503, { error, code: ErrorCodes.LEDGER_UNAVAILABLE }, HEADERS);
}

/** The status with every mirror's last error scrubbed: it may quote CodeHub, which may echo a credential. */
function scrubbed(status: PushStatus, secrets: readonly string[]): PushStatus {
  return {
    ...status,
    mirrors: status.mirrors.map((mirror) => (mirror.last_error === null ? mirror : { ...mirror, last_error: { ...mirror.last_error, message: redactText(mirror.last_error.message, secrets) } })),
  };
}

/** `promise`, or TIMED_OUT when `ms` pass first (the read goes on; its outcome is dropped). */
function within<T>(promise: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), Math.max(0, ms));
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}
