/**
 * `GET /mirrors`: for every configured mirror, CodeHub's remote-mirror state and the last sync this
 * container started, as JSON or (for a browser) a small self-contained HTML page.
 *
 * Fail closed: without `status.key` in the config the route does not exist (404); with it, every
 * request must carry `Authorization: Bearer <key>`. Nothing secret is shown: no source credentials,
 * no mirror URL (CodeHub's may embed them), no key; CodeHub's `last_error` is scrubbed of URL
 * credentials and of every configured secret.
 */
import { createHash } from 'node:crypto';
import { redactText, type MirrorStatus } from '../codehub/client';
import type { CallOptions } from '../codehub/types';
import type { MirrorConfig } from '../config/types';
import { safeEqual } from '../crypto';
import { CodeHubError, ErrorCodes } from '../errors';
import { jsonResponse, type HttpRequest, type HttpResponse } from '../http/event';
import type { LastTrigger, LastTriggers } from './last-triggers';
import type { Logger } from '../observability/log';

/** The one CodeHub call the status page makes. */
export interface StatusCodeHub {
  getMirrorStatus(repositoryId: number, options?: CallOptions): Promise<MirrorStatus>;
}

/** The mirrors to show: a loaded `MirrorConfig`, or (as tests build it) just its id mirrors. */
export type StatusConfig = Pick<MirrorConfig, 'mirrors'> & Partial<Pick<MirrorConfig, 'pathMirrors' | 'wildcardMirrors'>>;

export interface StatusOptions {
  readonly config: StatusConfig;
  readonly codehub: StatusCodeHub;
  /** `status.key`; undefined or empty: the route answers 404. */
  readonly statusKey: string | undefined;
  readonly lastTriggers: Pick<LastTriggers, 'get' | 'getByTarget'>;
  readonly logger: Logger;
  /** @default Date.now */
  readonly now?: (() => number) | undefined;
  /**
   * CodeHub calls in flight at once. CodeHub's limit (600/min per API per region) is shared by
   * every tenant, so a page of many mirrors must not burst. @default 4
   */
  readonly concurrency?: number | undefined;
  /** Milliseconds for the whole page, under the Lambda timeout (10 s); mirrors not read by then show a timeout. @default 8000 */
  readonly deadlineMs?: number | undefined;
}

export type StatusHandler = (request: HttpRequest) => Promise<HttpResponse>;

/** CodeHub's `GET remote-mirror` answer, minus the fields that may carry credentials (`url`, `endpoint_uuid`). */
export interface CodeHubMirrorState {
  readonly update_status: string | null;
  readonly last_update_at: string | null;
  readonly last_successful_update_at: string | null;
  readonly number_of_failures: number | null;
  readonly last_error: string | null;
  readonly mirroring_enabled: boolean | null;
}

/** Why CodeHub's state of one mirror is missing; the other mirrors are shown all the same. */
export interface CodeHubStateError {
  readonly error: string;
  /** The bridge's code, e.g. CODEHUB_TIMEOUT, CODEHUB_REJECTED. */
  readonly code: string;
  /** CodeHub's own `error_code` (e.g. CH.004404), when it sent one. */
  readonly error_code: string | null;
}

export type CodeHubState = CodeHubMirrorState | CodeHubStateError;

export interface MirrorStatusRow {
  /** The configured source; for a wildcard mirror, its pattern. */
  readonly source: string;
  /** For mirrors configured by CodeHub path: the path (a wildcard mirror: its template). */
  readonly target?: string;
  /** Null for a mirror by path that this container has not resolved (no push for it here yet). */
  readonly repository_id: number | null;
  /** Null when the repository id is not known. */
  readonly codehub: CodeHubState | null;
  readonly last_trigger: { readonly jid: string; readonly at: string } | null;
}

export interface StatusReport {
  readonly generated_at: string;
  /** Last triggers are kept in memory: another container (or a cold start) has its own. */
  readonly last_trigger_scope: 'this container';
  readonly mirrors: readonly MirrorStatusRow[];
}

const DEFAULT_CONCURRENCY = 4;
const DEFAULT_DEADLINE_MS = 8000;
const REALM = 'codehub-mirror-bridge';

export function createStatusHandler(options: StatusOptions): StatusHandler {
  const { config, codehub, lastTriggers, logger } = options;
  const now = options.now ?? Date.now;
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? DEFAULT_CONCURRENCY));
  const deadlineMs = options.deadlineMs ?? DEFAULT_DEADLINE_MS;
  // Compared as digests: equal lengths, so the comparison does not even reveal the key's length.
  const keyDigest = options.statusKey ? sha256(options.statusKey) : undefined;
  const secrets = configuredSecrets(config, options.statusKey);

  return async function handleStatus(request) {
    try {
      return await handle(request);
    } catch (error) {
      logger.error('status failed unexpectedly', { error });
      return jsonResponse(500, { error: 'the status page failed unexpectedly' }, { 'cache-control': 'no-store' });
    }
  };

  async function handle(request: HttpRequest): Promise<HttpResponse> {
    // Not configured: answer as if the route did not exist, rather than invite guessing a key.
    if (keyDigest === undefined) return jsonResponse(404, { error: 'status is not enabled' });
    const token = bearerToken(request.headers['authorization']);
    if (token === undefined || !safeEqual(sha256(token), keyDigest)) {
      logger.warn('status request refused', { reason: token === undefined ? 'no bearer key' : 'wrong bearer key' });
      const challenge = token === undefined ? `Bearer realm="${REALM}"` : `Bearer realm="${REALM}", error="invalid_token"`;
      return jsonResponse(401, { error: 'a valid bearer key is required' }, { 'www-authenticate': challenge, 'cache-control': 'no-store' });
    }
    if (request.method !== 'GET') {
      return jsonResponse(405, { error: 'only GET is accepted' }, { allow: 'GET' });
    }

    const started = now();
    const report = await buildReport(started, started + deadlineMs);
    const failed = report.mirrors.filter((row) => row.codehub !== null && 'error' in row.codehub).length;
    logger.info('status served', { mirrors: report.mirrors.length, failed, durationMs: now() - started });
    const common = { 'cache-control': 'no-store', vary: 'Accept' };
    if (prefersHtml(request.headers['accept'])) {
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
    return jsonResponse(200, report, common);
  }

  async function buildReport(started: number, deadline: number): Promise<StatusReport> {
    const idRows = config.mirrors.map((mirror) => ({
      source: mirror.source,
      repositoryId: mirror.repositoryId,
      trigger: lastTriggers.get(mirror.repositoryId),
    }));
    const pathRows = (config.pathMirrors ?? []).map((mirror) => {
      const trigger = lastTriggers.getByTarget(mirror.target);
      return { source: mirror.source, target: mirror.target, repositoryId: trigger?.repositoryId, trigger };
    });
    // One call per repository, however many mirrors (sources) share it.
    const ids = [...new Set([...idRows, ...pathRows].map((row) => row.repositoryId).filter((id): id is number => id !== undefined))];
    const states = await readStates(ids, deadline);
    const stateOf = (id: number | undefined): CodeHubState | null => (id === undefined ? null : (states.get(id) ?? TIMED_OUT));

    const mirrors: MirrorStatusRow[] = [
      ...idRows.map((row) => ({
        source: row.source,
        repository_id: row.repositoryId,
        codehub: stateOf(row.repositoryId),
        last_trigger: describeTrigger(row.trigger),
      })),
      ...pathRows.map((row) => ({
        source: row.source,
        target: row.target,
        repository_id: row.repositoryId ?? null,
        codehub: stateOf(row.repositoryId),
        last_trigger: describeTrigger(row.trigger),
      })),
      // A wildcard stands for any number of repositories: listed for completeness, not looked up.
      ...(config.wildcardMirrors ?? []).map((mirror) => ({
        source: mirror.pattern,
        target: mirror.target,
        repository_id: null,
        codehub: null,
        last_trigger: null,
      })),
    ];
    return { generated_at: new Date(started).toISOString(), last_trigger_scope: 'this container', mirrors };
  }

  /**
   * CodeHub's state of each repository, `concurrency` calls at a time. Returns at `deadline` with
   * what has arrived; a repository missing from the map did not answer in time.
   */
  async function readStates(ids: readonly number[], deadline: number): Promise<Map<number, CodeHubState>> {
    const states = new Map<number, CodeHubState>();
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < ids.length && now() < deadline) {
        const id = ids[next] as number;
        next += 1;
        states.set(id, await readState(id, deadline));
      }
    };
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<'expired'>((resolve) => {
      timer = setTimeout(() => resolve('expired'), Math.max(0, deadline - now()));
    });
    const workers = Array.from({ length: Math.min(concurrency, ids.length) }, worker);
    const outcome = await Promise.race([Promise.all(workers).then(() => 'done' as const), expired]);
    clearTimeout(timer);
    if (outcome === 'expired') logger.warn('status: CodeHub did not answer for every mirror before the deadline', { mirrors: ids.length, answered: states.size });
    // A copy: calls still in flight must not change a page already answered.
    return new Map(states);
  }

  async function readState(repositoryId: number, deadline: number): Promise<CodeHubState> {
    try {
      const status = await codehub.getMirrorStatus(repositoryId, { deadline });
      return {
        update_status: status.updateStatus ?? null,
        last_update_at: status.lastUpdateAt ?? null,
        last_successful_update_at: status.lastSuccessfulUpdateAt ?? null,
        number_of_failures: status.numberOfFailures ?? null,
        last_error: status.lastError === undefined ? null : redactSecrets(status.lastError, secrets),
        mirroring_enabled: status.mirroringEnabled ?? null,
      };
    } catch (error) {
      if (error instanceof CodeHubError) {
        return { error: redactSecrets(error.message, secrets), code: error.code, error_code: error.serviceCode ?? null };
      }
      logger.error('status: unexpected failure reading a mirror state', { repositoryId, error });
      return { error: 'CodeHub call failed unexpectedly', code: ErrorCodes.CODEHUB_UNREACHABLE, error_code: null };
    }
  }
}

const TIMED_OUT: CodeHubStateError = Object.freeze({
  error: 'CodeHub did not answer before the deadline',
  code: ErrorCodes.CODEHUB_TIMEOUT,
  error_code: null,
});

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** The token of `Authorization: Bearer <token>` (scheme in any case), or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? '');
  return match?.[1];
}

/**
 * Whether `Accept` prefers HTML to JSON: `text/html` with a q above 0, and above JSON's (or equal
 * and listed first). Browsers send `text/html,…,*\/*;q=0.8`; curl and fetch send `*\/*` (JSON).
 */
export function prefersHtml(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  const weights = new Map<string, { q: number; order: number }>();
  accept.split(',').forEach((range, order) => {
    const [type = '', ...parameters] = range.split(';').map((part) => part.trim().toLowerCase());
    const qParameter = parameters.find((p) => p.startsWith('q='));
    const q = qParameter === undefined ? 1 : Number(qParameter.slice(2));
    if (!weights.has(type)) weights.set(type, { q: Number.isFinite(q) ? q : 0, order });
  });
  const html = weights.get('text/html');
  if (html === undefined || html.q <= 0) return false;
  const json = weights.get('application/json');
  if (json === undefined) return true;
  return html.q > json.q || (html.q === json.q && html.order < json.order);
}

/** Every configured value that must never be shown: source passwords, mirror secrets, endpoint ids, the key. */
function configuredSecrets(config: StatusConfig, statusKey: string | undefined): string[] {
  const all: string[] = statusKey ? [statusKey] : [];
  for (const mirror of [...config.mirrors, ...(config.pathMirrors ?? []), ...(config.wildcardMirrors ?? [])]) {
    if (mirror.password) all.push(mirror.password);
    if (mirror.endpointUuid) all.push(mirror.endpointUuid);
    all.push(...(mirror.secrets ?? []));
  }
  // Longest first, so that a secret containing another is replaced whole.
  return [...new Set(all)].sort((a, b) => b.length - a.length);
}

/** `text` without URL credentials (`https://user:token@host`) or any of `secrets`. */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  const withoutUserinfo = text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/\s@]+@/gi, '$1<redacted>@');
  return redactText(withoutUserinfo, secrets);
}

function describeTrigger(trigger: LastTrigger | undefined): MirrorStatusRow['last_trigger'] {
  return trigger === undefined ? null : { jid: trigger.jid, at: new Date(trigger.at).toISOString() };
}

const HTML_ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text safe inside HTML element content and quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (char) => HTML_ESCAPES[char] ?? char);
}

/** The report as a page: one table, inline CSS, no script; every value escaped. */
export function renderStatusHtml(report: StatusReport): string {
  const cell = (field: string, value: string | number | boolean | null | undefined): string =>
    `<td class="${field}">${value === null || value === undefined ? '<span class="none">—</span>' : escapeHtml(value)}</td>`;
  const rows = report.mirrors.map((row) => {
    const state = row.codehub;
    const trigger = row.last_trigger;
    const repository = row.repository_id ?? (row.target === undefined ? null : `${row.target} (not resolved here)`);
    const codehubCells =
      state === null
        ? `<td class="codehub-unknown" colspan="6">repository id not known in this container</td>`
        : 'error' in state
          ? `<td class="codehub-error" colspan="6">${escapeHtml(state.error)}${state.error_code === null ? '' : ` (${escapeHtml(state.error_code)})`}</td>`
          : [
              cell('update-status', state.update_status),
              cell('last-update', state.last_update_at),
              cell('last-success', state.last_successful_update_at),
              cell('failures', state.number_of_failures),
              cell('last-error', state.last_error),
              cell('enabled', state.mirroring_enabled),
            ].join('');
    const tone = state !== null && !('error' in state) ? toneOf(state.update_status) : state === null ? '' : 'bad';
    return `<tr class="${tone}">${cell('source', row.source)}${cell('repository', repository)}${codehubCells}${cell('jid', trigger?.jid)}${cell('triggered-at', trigger?.at)}</tr>`;
  });
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>CodeHub mirrors</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #1f2328; }
h1 { font-size: 1.3rem; margin: 0 0 .3rem; }
p { color: #59636e; margin: 0 0 1rem; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #d1d9e0; padding: .35rem .5rem; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
td.jid, td.last-error { font-family: ui-monospace, monospace; word-break: break-all; }
td.last-update, td.last-success, td.triggered-at { white-space: nowrap; }
tr.ok td.update-status { color: #1a7f37; font-weight: 600; }
tr.bad td.update-status, td.codehub-error { color: #d1242f; }
td.codehub-unknown, .none { color: #8c959f; }
</style>
</head>
<body>
<h1>CodeHub mirrors</h1>
<p>Generated ${escapeHtml(report.generated_at)}. CodeHub's state is read live; last triggers are those of ${escapeHtml(report.last_trigger_scope)} only.</p>
<table>
<thead><tr><th>Source</th><th>CodeHub repository</th><th>Status</th><th>Last update</th><th>Last success</th><th>Failures</th><th>Last error</th><th>Enabled</th><th>Last trigger (jid)</th><th>Triggered at</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody>
</table>
</body>
</html>
`;
}

/** A row class from CodeHub's undocumented `update_status` (values seen: init, running, success, failed). */
function toneOf(updateStatus: string | null): string {
  if (updateStatus === null) return '';
  if (/fail|error/i.test(updateStatus)) return 'bad';
  return /^success/i.test(updateStatus) ? 'ok' : '';
}
