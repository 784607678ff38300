/**
 * A local stand-in for every Git host's commit-status API (issue 13), for `npm start`, `npm run demo`
 * and the tests. It takes exactly the requests lib/report's builders send, answers like the host
 * would (routes.ts), and records what it received. Tokens are never kept: only whether one came.
 *
 * ```ts
 * const fake = await startStatusHost({ log: console.log });
 * // report.api_url: fake.apiUrl('gitlab') (Azure DevOps: fake.apiUrl('azure-devops', 'org'))
 * const request = reporterFor('gitlab').request(fake.apiUrl('gitlab'), 'group/api', status, token);
 * await fetch(request.url, { method: request.method, headers: request.headers, body: request.body });
 * fake.statuses({ api: 'gitlab' }); // [{ api: 'gitlab', repository: 'group/api', state: 'pending', … }]
 * // from another process: GET `${fake.url}/_status-host/statuses?api=gitlab` → { "statuses": [...] }
 * fake.fault({ status: 429, headers: { 'retry-after': '2' } }); // the next status request is refused
 * await fake.close();
 * ```
 */
import { createServer, STATUS_CODES, validateHeaderName, validateHeaderValue, type IncomingMessage, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import type { ReportHost } from '../../lib/report/types';
import { ADMIN_PREFIX, adminReply, type StatusFilter } from './admin';
import { readStatus, refusal, routeOf, type Reply } from './routes';

export type { StatusFilter } from './admin';

export interface StatusHostOptions {
  /** 0 picks a free port. @default 0 */
  readonly port?: number;
  /** @default '127.0.0.1' (the admin API has no authentication) */
  readonly host?: string;
  /**
   * Told one line per request answered, admin requests aside:
   * `status-host: github pending acme/demo@abc1234 (CodeArts mirror) → 201`. Never a header value.
   */
  readonly log?: (line: string) => void;
}

/** Whether a request carried a token (`authorization`, or GitLab's `private-token`); never the token. */
export type TokenPresence = 'present' | 'absent';

/** One status the fake accepted. */
export interface ReceivedStatus {
  readonly api: ReportHost;
  /** `owner/repo` (GitHub, Gitea), the project's path (GitLab), `workspace/slug`, `project/repo`, `org/project/repo`; %-decoded. */
  readonly repository: string;
  /** Lower case. */
  readonly sha: string;
  /** As sent: `pending`, `INPROGRESS`, `succeeded`, … */
  readonly state: string;
  /** `context` (GitHub, Gitea), `name` or `context` (GitLab), `key` (Bitbucket), `context.name` (Azure DevOps). */
  readonly context: string;
  readonly description?: string;
  readonly targetUrl?: string;
  /** `Date.now()` when it arrived. */
  readonly at: number;
  readonly authorization: TokenPresence;
  /** The JSON body as sent. */
  readonly body: unknown;
}

/** The next status requests' answer: an error, with the host's error body. */
export interface StatusFault {
  /** 400–599. */
  readonly status: number;
  /** e.g. `{ 'retry-after': '2' }`, or GitHub's `x-ratelimit-remaining` and `x-ratelimit-reset`. */
  readonly headers?: Readonly<Record<string, string>>;
  /** How many requests get it; `Infinity` until `clearFault()`. @default 1 */
  readonly times?: number;
}

/** Any request that arrived, admin requests aside. `path` has no query: a query could carry a credential. */
export interface ReceivedRequest {
  readonly method: string;
  readonly path: string;
  readonly at: number;
  readonly authorization: TokenPresence;
  /** The status API the path is one of; `unknown` for anything else (answered 404, or 413 before routing). */
  readonly api: ReportHost | 'unknown';
  readonly status: number;
}

/** A status request answered by a fault. */
export type RefusedRequest = Pick<ReceivedRequest, 'path' | 'status' | 'at'> & { readonly api: ReportHost };

export interface StatusHost {
  /** `http://127.0.0.1:<port>`. Also serves `GET /_status-host/statuses[?sha=&api=]` → `{ statuses }`, as `statuses()` lists them. */
  readonly url: string;
  /** The API base for `report.api_url`: GitLab `/api/v4`, Gitea `/api/v1`, Azure DevOps `/<organization>`, others `url`. */
  apiUrl(api: ReportHost, organization?: string): string;
  /** Accepted statuses, in arrival order. */
  statuses(filter?: StatusFilter): ReceivedStatus[];
  /** Polls (~50 ms) until `predicate(statuses())` holds or `timeoutMs` passes; resolves with `statuses()` either way. */
  waitFor(predicate: (statuses: ReceivedStatus[]) => boolean, timeoutMs: number): Promise<ReceivedStatus[]>;
  /** The next `times` status requests are answered with the fault and not recorded as statuses. @throws RangeError */
  fault(fault: StatusFault): void;
  clearFault(): void;
  refused(): RefusedRequest[];
  requests(): ReceivedRequest[];
  /** Forgets statuses, refusals, requests and the fault. */
  reset(): void;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 64 * 1024;
const POLL_MS = 50;
/** A log line's parts from the request (what arrived, why the answer) are cut to these many characters. */
const LOGGED_SAID = 160;
const LOGGED_WHY = 120;

/** How a request was answered: the reply, and for the log what arrived and why that answer. */
interface Answer {
  readonly api: ReportHost | 'unknown';
  readonly reply: Reply;
  readonly said: string;
  readonly why?: string;
}

/** Text from a request, fit for one log line: no control or format characters, at most `max` characters. */
function printable(text: string, max: number): string {
  const chars = [...text.replace(/[\p{Cc}\p{Cf}\u2028\u2029]/gu, '?')];
  return chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : chars.join('');
}

/** The body, or undefined past the limit; the rest is read and dropped so the 413 reaches the client. */
async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= MAX_BODY_BYTES) chunks.push(chunk);
  }
  return size > MAX_BODY_BYTES ? undefined : Buffer.concat(chunks);
}

function write(res: ServerResponse, reply: Reply): void {
  const text = reply.body === undefined ? '' : JSON.stringify(reply.body);
  const json = text === '' ? {} : { 'content-type': 'application/json; charset=utf-8' };
  res.writeHead(reply.status, { ...reply.headers, ...json, 'content-length': String(Buffer.byteLength(text)) }).end(text);
}

/** Starts the fake on `options.host:options.port`. */
export async function startStatusHost(options: StatusHostOptions = {}): Promise<StatusHost> {
  let received: ReceivedStatus[] = [];
  let refusals: RefusedRequest[] = [];
  let arrivals: ReceivedRequest[] = [];
  let fault: { readonly status: number; readonly headers: Record<string, string>; remaining: number } | undefined;
  const keys = new Set<string>();
  const statuses: StatusHost['statuses'] = ({ sha, api } = {}) =>
    received.filter((s) => (sha === undefined || s.sha === sha.toLowerCase()) && (api === undefined || s.api === api));

  function answer(method: string, path: string, query: string, raw: Buffer, at: number, authorization: TokenPresence): Answer {
    const matched = method === 'POST' ? routeOf(path) : undefined;
    if (matched === undefined) return { api: 'unknown', reply: { status: 404, body: { message: 'Not Found' } }, said: `${method} ${path}` };
    const { route, repository, sha } = matched;
    const { api } = route;
    const said = `${api} ${repository}@${sha.slice(0, 7)}`;
    if (fault !== undefined) {
      const { status, headers } = fault;
      fault.remaining -= 1;
      if (fault.remaining <= 0) fault = undefined;
      refusals.push({ api, path, status, at });
      const message = status === 401 && (api === 'github' || api === 'gitea') ? 'Bad credentials' : (STATUS_CODES[status] ?? 'Error');
      return { api, reply: refusal(api, status, message, headers), said, why: 'fault' };
    }
    const read = readStatus(route, raw, query);
    if (!read.ok) return { api, reply: refusal(api, read.status, read.message), said, why: read.message };
    const { state, context, ...rest } = read.fields;
    const status: ReceivedStatus = { api, repository, sha, state, context, ...rest, at, authorization };
    received.push(status);
    // Bitbucket answers 200 when a status replaces one with the same key.
    const key = JSON.stringify([api, repository.toLowerCase(), sha, context]);
    const replaced = keys.has(key);
    keys.add(key);
    return { api, reply: route.answer(status, received.length, replaced), said: `${api} ${state} ${repository}@${sha.slice(0, 7)} (${context})` };
  }

  function tell({ said, why, reply }: Answer): void {
    if (options.log === undefined) return;
    try {
      options.log(`status-host: ${printable(said, LOGGED_SAID)} → ${reply.status}${why === undefined ? '' : ` (${printable(why, LOGGED_WHY)})`}`);
    } catch {
      // A failing logger must not change what the fake answers.
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const at = Date.now();
    const method = req.method ?? 'GET';
    const [path = '/', query = ''] = (req.url ?? '/').split('?');
    if (path.startsWith(ADMIN_PREFIX)) {
      req.resume(); // an admin request's body means nothing
      write(res, adminReply(method, path, query, statuses));
      return;
    }
    const token = req.headers.authorization ?? req.headers['private-token'];
    const authorization: TokenPresence = token !== undefined && token !== '' ? 'present' : 'absent';
    const raw = await readBody(req);
    const tooLarge: Answer = { api: 'unknown', reply: { status: 413, body: { message: `request body over ${MAX_BODY_BYTES} bytes` } }, said: `${method} ${path}`, why: 'body too large' };
    const answered = raw === undefined ? tooLarge : answer(method, path, query, raw, at, authorization);
    arrivals.push({ method, path, at, authorization, api: answered.api, status: answered.reply.status });
    tell(answered); // before the answer, so a caller that has it also has the line
    write(res, answered.reply);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  const host = options.host ?? '127.0.0.1';
  server.listen(options.port ?? 0, host);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  return {
    url,
    apiUrl(api, organization) {
      if (api === 'gitlab') return `${url}/api/v4`;
      if (api === 'gitea') return `${url}/api/v1`;
      if (api !== 'azure-devops') return url;
      if (organization === undefined || organization === '') throw new RangeError('the azure-devops API base needs an organization');
      return `${url}/${organization.split('/').map(encodeURIComponent).join('/')}`;
    },
    statuses,
    async waitFor(predicate, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(statuses()) && Date.now() < deadline) await delay(POLL_MS);
      return statuses();
    },
    fault({ status, headers = {}, times = 1 }) {
      if (!Number.isInteger(status) || status < 400 || status > 599) throw new RangeError('a fault status must be 400–599');
      if (times !== Number.POSITIVE_INFINITY && (!Number.isInteger(times) || times < 1)) throw new RangeError('times must be a positive integer or Infinity');
      const lower = Object.entries(headers).map(([name, value]) => {
        validateHeaderName(name);
        validateHeaderValue(name, value);
        return [name.toLowerCase(), value] as const;
      });
      fault = { status, headers: Object.fromEntries(lower), remaining: times };
    },
    clearFault() {
      fault = undefined;
    },
    refused: () => [...refusals],
    requests: () => [...arrivals],
    reset() {
      [received, refusals, arrivals, fault] = [[], [], [], undefined];
      keys.clear();
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error === undefined ? resolve() : reject(error)));
        server.closeAllConnections();
      }),
  };
}
