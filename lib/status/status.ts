/**
 * The status routes, as JSON or (for a browser) a small self-contained HTML page:
 * - `GET /mirrors`: for every configured mirror, CodeHub's remote-mirror state, the last sync this
 *   container started and, with the durable pipeline, its pushes in the ledger (./ledger-view);
 * - `GET /pushes/{push_id}`: one push as the ledger holds it (./push).
 *
 * Fail closed: without `status.key` in the config the routes do not exist (404); with it, every
 * request must carry `Authorization: Bearer <key>`. Nothing secret is shown: no source credentials,
 * no mirror URL (CodeHub's may embed them), no key; CodeHub's `last_error` is scrubbed of URL
 * credentials and of every configured secret. CodeHub's state is kept briefly and read within a
 * per-minute budget (./mirror-states), so reloading the page does not spend CodeHub's quota.
 */
import { createHash } from 'node:crypto';
import { safeEqual } from '../crypto';
import { MethodNotAllowedError } from '../errors';
import { jsonResponse, type HttpRequest, type HttpResponse } from '../http/event';
import type { StatusRoute } from '../http/route';
import type { Logger } from '../observability/log';
import { htmlResponse, prefersHtml } from './html';
import type { LastTriggers } from './last-triggers';
import { readLedgerViews, type StatusLedger } from './ledger-view';
import { createMirrorStates, type StatusCodeHub } from './mirror-states';
import { renderStatusHtml } from './page';
import { answerPush } from './push';
import { buildReport, configuredSecrets, planReport, type StatusConfig } from './report';

export { escapeHtml, prefersHtml } from './html';
export { LEDGER_WINDOW, PENDING_IDS_SHOWN, type LedgerMirrorView, type LedgerView, type LedgerViewError, type StatusLedger } from './ledger-view';
export { READS_PER_MINUTE, STATE_TTL_MS, type StatusCodeHub } from './mirror-states';
export { renderStatusHtml } from './page';
export { renderPushHtml } from './push-page';
export type { CodeHubMirrorState, CodeHubState, CodeHubStateError, MirrorStatusRow, StatusConfig, StatusReport } from './report';

export interface StatusOptions {
  readonly config: StatusConfig;
  readonly codehub: StatusCodeHub;
  /** `status.key`; undefined or empty: the routes answer 404. */
  readonly statusKey: string | undefined;
  readonly lastTriggers: Pick<LastTriggers, 'get' | 'getByTarget'>;
  readonly logger: Logger;
  /**
   * The push ledger (the durable pipeline's `store`). Undefined (the stateless bridge): `/mirrors`
   * shows no ledger part, `/pushes/{push_id}` answers 404.
   */
  readonly ledger?: StatusLedger | undefined;
  /** @default Date.now */
  readonly now?: (() => number) | undefined;
  /** CodeHub calls in flight at once, and ledger Queries likewise: a page of many mirrors must not burst. @default 4 */
  readonly concurrency?: number | undefined;
  /** Milliseconds for the whole page, under the Lambda timeout (10 s); mirrors not read by then show a timeout. @default 8000 */
  readonly deadlineMs?: number | undefined;
}

/** Answers a status request; `route` is `statusRoute(event)` of the request's event. @default route 'mirrors' */
export type StatusHandler = (request: HttpRequest, route?: StatusRoute) => Promise<HttpResponse>;

const DEFAULT_CONCURRENCY = 4;
const DEFAULT_DEADLINE_MS = 8000;
const REALM = 'codehub-mirror-bridge';

/** The handler of the status routes. Create it once per container: it keeps CodeHub's states between requests. */
export function createStatusHandler(options: StatusOptions): StatusHandler {
  const { config, lastTriggers, logger, ledger } = options;
  const now = options.now ?? Date.now;
  const deadlineMs = options.deadlineMs ?? DEFAULT_DEADLINE_MS;
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? DEFAULT_CONCURRENCY));
  const secrets = configuredSecrets(config, options.statusKey);
  // Compared as digests: equal lengths, so the comparison does not even reveal the key's length.
  const keyDigest = options.statusKey ? sha256(options.statusKey) : undefined;
  const states = createMirrorStates({ codehub: options.codehub, logger, secrets, now, concurrency });

  /** The refusal of a request that may not see the status, or undefined to go on. */
  function refusal(request: HttpRequest): HttpResponse | undefined {
    // Not configured: answer as if the route did not exist, rather than invite guessing a key.
    if (keyDigest === undefined) return jsonResponse(404, { error: 'status is not enabled' });
    const token = bearerToken(request.headers['authorization']);
    if (token === undefined) {
      // The first step of HTTP authentication (and of any health probe): a challenge, not an incident.
      logger.debug('status request without a key');
      return jsonResponse(401, { error: 'a valid bearer key is required' }, { 'www-authenticate': `Bearer realm="${REALM}"`, 'cache-control': 'no-store' });
    }
    if (!safeEqual(sha256(token), keyDigest)) {
      logger.warn('status request refused', { reason: 'wrong bearer key' });
      return jsonResponse(401, { error: 'a valid bearer key is required' }, { 'www-authenticate': `Bearer realm="${REALM}", error="invalid_token"`, 'cache-control': 'no-store' });
    }
    if (request.method !== 'GET') {
      const notAllowed = new MethodNotAllowedError('GET');
      return jsonResponse(notAllowed.statusCode, notAllowed.toJSON(), notAllowed.headers);
    }
    return undefined;
  }

  async function serveMirrors(request: HttpRequest): Promise<HttpResponse> {
    const started = now();
    const deadline = started + deadlineMs;
    const plan = planReport(config, lastTriggers);
    // CodeHub and the ledger are read side by side, both within the page's deadline.
    const [codehubStates, ledgerViews] = await Promise.all([
      states.read(plan.repositoryIds, deadline),
      ledger === undefined ? undefined : readLedgerViews({ ledger, logger, now, concurrency }, plan.mirrorKeys, deadline),
    ]);
    const report = buildReport(plan, codehubStates, started, ledgerViews);
    const failed = report.mirrors.filter((row) => row.codehub !== null && 'error' in row.codehub).length;
    const ledgerFailed = report.mirrors.filter((row) => row.ledger !== null && 'error' in row.ledger).length;
    logger.info('status served', { mirrors: report.mirrors.length, failed, ledgerFailed, durationMs: now() - started });
    const common = { 'cache-control': 'no-store', vary: 'Accept' };
    return prefersHtml(request.headers['accept']) ? htmlResponse(renderStatusHtml(report), common) : jsonResponse(200, report, common);
  }

  async function handle(request: HttpRequest, route: StatusRoute): Promise<HttpResponse> {
    const refused = refusal(request);
    if (refused !== undefined) return refused;
    if (route === 'mirrors') return serveMirrors(request);
    return answerPush({ ledger, logger, secrets, deadlineMs }, route.pushId, request.headers['accept']);
  }

  return async function handleStatus(request, route = 'mirrors') {
    try {
      return await handle(request, route);
    } catch (error) {
      logger.error('status failed unexpectedly', { error });
      return jsonResponse(500, { error: 'the status page failed unexpectedly' }, { 'cache-control': 'no-store' });
    }
  };
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** The token of `Authorization: Bearer <token>` (scheme in any case), or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? '');
  return match?.[1];
}
