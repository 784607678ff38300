/**
 * A local stand-in for every Git host's commit-status API (issue 13), for `npm start`, `npm run demo`
 * and the tests. It takes exactly the requests lib/report's builders send, answers like the host
 * would, and records what it received. Tokens are never kept: only whether one came.
 *
 * ```ts
 * const fake = await startStatusHost();
 * // report.api_url: fake.apiUrl('gitlab') (Azure DevOps: fake.apiUrl('azure-devops', 'org'))
 * const request = reporterFor('gitlab').request(fake.apiUrl('gitlab'), 'group/api', status, token);
 * await fetch(request.url, { method: request.method, headers: request.headers, body: request.body });
 * fake.statuses({ api: 'gitlab' }); // [{ api: 'gitlab', repository: 'group/api', state: 'pending', … }]
 * fake.fault({ status: 429, headers: { 'retry-after': '2' } }); // the next status request is refused
 * await fake.close();
 * ```
 */
import { createServer, STATUS_CODES, validateHeaderName, validateHeaderValue, type IncomingMessage, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import type { ReportHost } from '../lib/report/types';

export interface StatusHostOptions {
  /** 0 picks a free port. @default 0 */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
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

/** Any request that arrived. `path` has no query: a query could carry a credential. */
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
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** The API base for `report.api_url`: GitLab `/api/v4`, Gitea `/api/v1`, Azure DevOps `/<organization>`, others `url`. */
  apiUrl(api: ReportHost, organization?: string): string;
  /** Accepted statuses, in arrival order. */
  statuses(filter?: { readonly sha?: string; readonly api?: ReportHost }): ReceivedStatus[];
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
const SHA = '([0-9a-fA-F]{40}|[0-9a-fA-F]{64})';
const SEGMENT = '([^/]+)';

type Body = Record<string, unknown>;
type Reply = { readonly status: number; readonly body?: unknown; readonly headers?: Readonly<Record<string, string>> };
type Fields = { readonly state: unknown; readonly context: unknown; readonly description: unknown; readonly targetUrl: unknown };

/** One host's status endpoint: the path (repository segments, then the SHA), the body it takes, its answer. */
interface Route {
  readonly api: ReportHost;
  readonly pattern: RegExp;
  readonly fields: (body: Body) => Fields;
  readonly states: readonly string[];
  /** Bitbucket requires `url` (the builders always send one). */
  readonly needsUrl?: true;
  readonly answer: (status: ReceivedStatus, id: number, replaced: boolean) => Reply;
}

const iso = (at: number): string => new Date(at).toISOString();
const isRecord = (value: unknown): value is Body => typeof value === 'object' && value !== null && !Array.isArray(value);
const field = (body: unknown, key: string): unknown => (isRecord(body) ? body[key] : undefined);
const statusFields = (body: Body): Fields => ({ state: body.state, context: body.context, description: body.description, targetUrl: body.target_url });
const buildFields = (body: Body): Fields => ({ state: body.state, context: body.key, description: body.description, targetUrl: body.url });

const ROUTES: readonly Route[] = [
  {
    api: 'github',
    pattern: new RegExp(`^(?:/api/v3)?/repos/${SEGMENT}/${SEGMENT}/statuses/${SHA}$`),
    fields: statusFields,
    states: ['error', 'failure', 'pending', 'success'],
    answer: ({ state, context, description, targetUrl, at }, id) => ({
      status: 201,
      body: { id, state, context, description, target_url: targetUrl, created_at: iso(at) },
    }),
  },
  {
    api: 'gitlab',
    pattern: new RegExp(`^/api/v4/projects/${SEGMENT}/statuses/${SHA}$`),
    fields: (body) => ({ ...statusFields(body), context: body.name ?? body.context }),
    states: ['pending', 'running', 'success', 'failed', 'canceled', 'skipped'],
    answer: ({ sha, state, context, description, targetUrl, body }, id) => ({
      status: 201,
      body: { id, sha, ref: field(body, 'ref'), status: state, name: context, description, target_url: targetUrl },
    }),
  },
  {
    api: 'gitea',
    pattern: new RegExp(`^/api/v1/repos/${SEGMENT}/${SEGMENT}/statuses/${SHA}$`),
    fields: statusFields,
    states: ['pending', 'success', 'error', 'failure', 'warning'],
    answer: ({ state, context, description, targetUrl, at }, id) => ({
      status: 201,
      body: { id, status: state, context, description, target_url: targetUrl, created_at: iso(at) },
    }),
  },
  {
    api: 'bitbucket',
    pattern: new RegExp(`^/2\\.0/repositories/${SEGMENT}/${SEGMENT}/commit/${SHA}/statuses/build$`),
    fields: buildFields,
    states: ['INPROGRESS', 'SUCCESSFUL', 'FAILED', 'STOPPED'],
    needsUrl: true,
    // A second status with the same key replaces the first.
    answer: ({ state, context, description, targetUrl, body, at }, _id, replaced) => ({
      status: replaced ? 200 : 201,
      body: { type: 'build', key: context, state, name: field(body, 'name'), description, url: targetUrl, updated_on: iso(at) },
    }),
  },
  {
    api: 'bitbucket-dc',
    pattern: new RegExp(`^/rest/api/(?:latest|1\\.0)/projects/${SEGMENT}/repos/${SEGMENT}/commits/${SHA}/builds$`),
    fields: buildFields,
    states: ['INPROGRESS', 'SUCCESSFUL', 'FAILED', 'CANCELLED', 'UNKNOWN'],
    needsUrl: true,
    answer: () => ({ status: 204 }),
  },
  {
    api: 'azure-devops',
    // The organization may be a collection path (`tfs/defaultcollection`).
    pattern: new RegExp(`^/(.+)/${SEGMENT}/_apis/git/repositories/${SEGMENT}/commits/${SHA}/statuses$`),
    fields: (body) => ({ state: body.state, context: field(body.context, 'name'), description: body.description, targetUrl: body.targetUrl }),
    states: ['notSet', 'pending', 'succeeded', 'failed', 'error', 'notApplicable', 'partiallySucceeded'],
    answer: ({ state, description, targetUrl, body, at }, id) => ({
      status: 201,
      body: { id, state, description, targetUrl, context: field(body, 'context'), creationDate: iso(at) },
    }),
  },
];

/** An error answer with a body shaped like the host's. */
function refusal(api: ReportHost | 'unknown', status: number, message: string, headers: Readonly<Record<string, string>> = {}): Reply {
  const bodies: Record<ReportHost | 'unknown', unknown> = {
    github: { message, documentation_url: 'https://docs.github.com/rest' },
    gitlab: { message: `${status} ${message}` },
    gitea: { message },
    bitbucket: { type: 'error', error: { message } },
    'bitbucket-dc': { errors: [{ context: null, message, exceptionName: null }] },
    'azure-devops': { $id: '1', innerException: null, message, typeKey: 'VssServiceException', errorCode: 0 },
    unknown: { message },
  };
  return { status, headers, body: bodies[api] };
}

/** Why the host would refuse a status with these fields; undefined when it takes them. */
function problemOf(fields: Fields, route: Route): string | undefined {
  if (typeof fields.state !== 'string' || !route.states.includes(fields.state)) return `state is not one of ${route.states.join(', ')}`;
  if (typeof fields.context !== 'string' || fields.context === '') return 'the context (name, key) is missing';
  if (fields.description !== undefined && typeof fields.description !== 'string') return 'description is not a string';
  if (fields.targetUrl === undefined ? route.needsUrl : typeof fields.targetUrl !== 'string') return 'the target URL is missing or not a string';
  return undefined;
}

/** The route `path` is on, with its repository (%-decoded) and SHA; undefined for any other path. */
function routeOf(path: string): { route: Route; repository: string; sha: string } | undefined {
  for (const route of ROUTES) {
    const groups = route.pattern.exec(path)?.slice(1);
    const sha = groups?.pop();
    if (groups === undefined || sha === undefined) continue;
    try {
      return { route, repository: groups.map((part) => decodeURIComponent(part)).join('/'), sha: sha.toLowerCase() };
    } catch {
      return undefined; // a malformed %-escape: no host would find this repository
    }
  }
  return undefined;
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

/** The status a request sets, or the host's answer when it would refuse the request. */
function readStatus(route: Route, raw: Buffer, query: string, received: Omit<ReceivedStatus, 'state' | 'context' | 'body'>): ReceivedStatus | Reply {
  const { api } = route;
  if (api === 'azure-devops' && !new URLSearchParams(query).has('api-version')) return refusal(api, 400, 'No api-version was supplied');
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    return refusal(api, 400, 'Problems parsing JSON');
  }
  const fields = isRecord(body) ? route.fields(body) : undefined;
  const problem = fields === undefined ? 'the body is not a JSON object' : problemOf(fields, route);
  if (fields === undefined || problem !== undefined) {
    return refusal(api, api === 'github' || api === 'gitea' ? 422 : 400, `Validation Failed: ${problem ?? ''}`);
  }
  const { state, context, description, targetUrl } = fields;
  return {
    ...received,
    state: String(state),
    context: String(context),
    ...(typeof description === 'string' ? { description } : {}),
    ...(typeof targetUrl === 'string' ? { targetUrl } : {}),
    body,
  };
}

/** Starts the fake on `options.host:options.port`. */
export async function startStatusHost(options: StatusHostOptions = {}): Promise<StatusHost> {
  let received: ReceivedStatus[] = [];
  let refusals: RefusedRequest[] = [];
  let arrivals: ReceivedRequest[] = [];
  let fault: { readonly status: number; readonly headers: Record<string, string>; remaining: number } | undefined;
  const keys = new Set<string>();

  function answer(method: string, path: string, query: string, raw: Buffer, at: number, authorization: TokenPresence): Reply & { api: ReportHost | 'unknown' } {
    const matched = method === 'POST' ? routeOf(path) : undefined;
    if (matched === undefined) return { api: 'unknown', status: 404, body: { message: 'Not Found' } };
    const { route, repository, sha } = matched;
    if (fault !== undefined) {
      const { status, headers } = fault;
      fault.remaining -= 1;
      if (fault.remaining <= 0) fault = undefined;
      refusals.push({ api: route.api, path, status, at });
      const message = status === 401 && (route.api === 'github' || route.api === 'gitea') ? 'Bad credentials' : (STATUS_CODES[status] ?? 'Error');
      return { api: route.api, ...refusal(route.api, status, message, headers) };
    }
    const status = readStatus(route, raw, query, { api: route.api, repository, sha, at, authorization });
    if (!('sha' in status)) return { api: route.api, ...status }; // the host's refusal
    received.push(status);
    // Bitbucket answers 200 when a status replaces one with the same key.
    const key = JSON.stringify([route.api, repository.toLowerCase(), sha, status.context]);
    const replaced = keys.has(key);
    keys.add(key);
    return { api: route.api, ...route.answer(status, received.length, replaced) };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const at = Date.now();
    const method = req.method ?? 'GET';
    const [path = '/', query = ''] = (req.url ?? '/').split('?');
    const token = req.headers.authorization ?? req.headers['private-token'];
    const authorization: TokenPresence = token !== undefined && token !== '' ? 'present' : 'absent';
    const raw = await readBody(req);
    const tooLarge = { api: 'unknown', status: 413, body: { message: `request body over ${MAX_BODY_BYTES} bytes` } } as const;
    const { api, ...reply } = raw === undefined ? tooLarge : answer(method, path, query, raw, at, authorization);
    arrivals.push({ method, path, at, authorization, api, status: reply.status });
    write(res, reply);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  const host = options.host ?? '127.0.0.1';
  server.listen(options.port ?? 0, host);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const statuses: StatusHost['statuses'] = ({ sha, api } = {}) =>
    received.filter((s) => (sha === undefined || s.sha === sha.toLowerCase()) && (api === undefined || s.api === api));

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
