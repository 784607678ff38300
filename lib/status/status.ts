/**
 * `GET /mirrors`: for every configured mirror, CodeHub's remote-mirror state and the last sync this
 * container started, as JSON or (for a browser) a small self-contained HTML page.
 *
 * Fail closed: without `status.key` in the config the route does not exist (404); with it, every
 * request must carry `Authorization: Bearer <key>`. Nothing secret is shown: no source credentials,
 * no mirror URL (CodeHub's may embed them), no key; CodeHub's `last_error` is scrubbed of URL
 * credentials and of every configured secret. CodeHub's state is kept briefly and read within a
 * per-minute budget (./mirror-states), so reloading the page does not spend CodeHub's quota.
 */
import { createHash } from 'node:crypto';
import { safeEqual } from '../crypto';
import { MethodNotAllowedError } from '../errors';
import { jsonResponse, type HttpRequest, type HttpResponse } from '../http/event';
import type { Logger } from '../observability/log';
import type { LastTriggers } from './last-triggers';
import { createMirrorStates, type StatusCodeHub } from './mirror-states';
import { prefersHtml, renderStatusHtml } from './page';
import { buildReport, configuredSecrets, planReport, type StatusConfig } from './report';

export { READS_PER_MINUTE, STATE_TTL_MS, type StatusCodeHub } from './mirror-states';
export { escapeHtml, prefersHtml, renderStatusHtml } from './page';
export type { CodeHubMirrorState, CodeHubState, CodeHubStateError, MirrorStatusRow, StatusConfig, StatusReport } from './report';

export interface StatusOptions {
  readonly config: StatusConfig;
  readonly codehub: StatusCodeHub;
  /** `status.key`; undefined or empty: the route answers 404. */
  readonly statusKey: string | undefined;
  readonly lastTriggers: Pick<LastTriggers, 'get' | 'getByTarget'>;
  readonly logger: Logger;
  /** @default Date.now */
  readonly now?: (() => number) | undefined;
  /** CodeHub calls in flight at once: a page of many mirrors must not burst. @default 4 */
  readonly concurrency?: number | undefined;
  /** Milliseconds for the whole page, under the Lambda timeout (10 s); mirrors not read by then show a timeout. @default 8000 */
  readonly deadlineMs?: number | undefined;
}

export type StatusHandler = (request: HttpRequest) => Promise<HttpResponse>;

const DEFAULT_CONCURRENCY = 4;
const DEFAULT_DEADLINE_MS = 8000;
const REALM = 'codehub-mirror-bridge';

/** The handler of GET /mirrors. Create it once per container: it keeps CodeHub's states between requests. */
export function createStatusHandler(options: StatusOptions): StatusHandler {
  const { config, lastTriggers, logger } = options;
  const now = options.now ?? Date.now;
  const deadlineMs = options.deadlineMs ?? DEFAULT_DEADLINE_MS;
  // Compared as digests: equal lengths, so the comparison does not even reveal the key's length.
  const keyDigest = options.statusKey ? sha256(options.statusKey) : undefined;
  const states = createMirrorStates({
    codehub: options.codehub,
    logger,
    secrets: configuredSecrets(config, options.statusKey),
    now,
    concurrency: Math.max(1, Math.floor(options.concurrency ?? DEFAULT_CONCURRENCY)),
  });

  async function handle(request: HttpRequest): Promise<HttpResponse> {
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
      const refusal = new MethodNotAllowedError('GET');
      return jsonResponse(refusal.statusCode, refusal.toJSON(), refusal.headers);
    }

    const started = now();
    const plan = planReport(config, lastTriggers);
    const report = buildReport(plan, await states.read(plan.repositoryIds, started + deadlineMs), started);
    const failed = report.mirrors.filter((row) => row.codehub !== null && 'error' in row.codehub).length;
    logger.info('status served', { mirrors: report.mirrors.length, failed, durationMs: now() - started });
    const common = { 'cache-control': 'no-store', vary: 'Accept' };
    if (!prefersHtml(request.headers['accept'])) return jsonResponse(200, report, common);
    return {
      statusCode: 200,
      headers: {
        'content-type': 'text/html; charset=utf-8',
        // The page has no script, image or external asset: nothing else may load, even if injected.
        'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'",
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
        ...common,
      },
      body: renderStatusHtml(report),
    };
  }

  return async function handleStatus(request) {
    try {
      return await handle(request);
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
