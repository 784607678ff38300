/**
 * The status-host fake's admin API under `/_status-host/`, for `npm run demo`, which runs in another
 * process than the fake. No authentication: the fake binds 127.0.0.1 by default. Errors answer
 * `{ "error": "…" }`.
 */
import type { ReportHost } from '../../lib/report/types';
import { STATUS_APIS, type Reply } from './routes';

export const ADMIN_PREFIX = '/_status-host/';

/** Which statuses to list: all, or those of one commit and/or one status API. */
export interface StatusFilter {
  /** Any case; compared in lower case. */
  readonly sha?: string;
  readonly api?: ReportHost;
}

const QUERY_KEYS: readonly string[] = ['sha', 'api'];
const FULL_SHA = /^(?:[0-9a-fA-F]{40}|[0-9a-fA-F]{64})$/;

const error = (status: number, message: string, headers: Readonly<Record<string, string>> = {}): Reply => ({ status, headers, body: { error: message } });
const isStatusApi = (value: string): value is ReportHost => (STATUS_APIS as readonly string[]).includes(value);

/** The filter a `GET /_status-host/statuses` query asks for, or why it is not one (a typo must not list everything). */
export function parseStatusFilter(query: string): StatusFilter | string {
  const params = new URLSearchParams(query);
  const keys = [...params.keys()];
  const unknown = keys.filter((key) => !QUERY_KEYS.includes(key));
  if (unknown.length > 0) return `unknown query parameter(s): ${unknown.join(', ')}; expected sha, api`;
  if (new Set(keys).size < keys.length) return 'give each query parameter once';
  const sha = params.get('sha');
  const api = params.get('api');
  if (sha !== null && !FULL_SHA.test(sha)) return 'sha must be a full commit SHA (40 or 64 hex digits)';
  if (api !== null && !isStatusApi(api)) return `api must be one of ${STATUS_APIS.join(', ')}`;
  return { ...(sha === null ? {} : { sha }), ...(api === null ? {} : { api }) };
}

/** The answer to an admin request; `statuses` lists what the fake accepted, in arrival order. */
export function adminReply(method: string, path: string, query: string, statuses: (filter: StatusFilter) => readonly unknown[]): Reply {
  if (path !== `${ADMIN_PREFIX}statuses`) return error(404, `no such admin route; try GET ${ADMIN_PREFIX}statuses`);
  if (method !== 'GET') return error(405, `${ADMIN_PREFIX}statuses takes GET`, { allow: 'GET' });
  const filter = parseStatusFilter(query);
  if (typeof filter === 'string') return error(400, filter);
  return { status: 200, body: { statuses: statuses(filter) } };
}
