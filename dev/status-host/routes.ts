/**
 * The status-host fake's per-host routes: each host's status path, the body it takes, how it refuses
 * a bad one, and what it answers. Pure: no I/O, no clock (the server stamps `at`).
 */
import type { ReportHost } from '../../lib/report/types';

type Body = Record<string, unknown>;

/** A JSON answer; no body means an empty one (Bitbucket Data Center's 204). */
export interface Reply {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

/** What a status says, read from the body the host's way. */
export interface StatusFields {
  /** As sent: `pending`, `INPROGRESS`, `succeeded`, … */
  readonly state: string;
  readonly context: string;
  readonly description?: string;
  readonly targetUrl?: string;
  /** The JSON body as sent. */
  readonly body: unknown;
}

/** What a host echoes of a status it took (a ReceivedStatus has all of it). */
export type AcceptedStatus = StatusFields & { readonly sha: string; readonly at: number };

type RawFields = { readonly state: unknown; readonly context: unknown; readonly description: unknown; readonly targetUrl: unknown };

/** One host's status endpoint: the path (repository segments, then the SHA), the body it takes, its answer. */
export interface Route {
  readonly api: ReportHost;
  readonly pattern: RegExp;
  readonly fields: (body: Body) => RawFields;
  readonly states: readonly string[];
  /** Bitbucket requires `url` (the builders always send one). */
  readonly needsUrl?: true;
  readonly answer: (status: AcceptedStatus, id: number, replaced: boolean) => Reply;
}

const SHA = '([0-9a-fA-F]{40}|[0-9a-fA-F]{64})';
const SEGMENT = '([^/]+)';

const iso = (at: number): string => new Date(at).toISOString();
const isRecord = (value: unknown): value is Body => typeof value === 'object' && value !== null && !Array.isArray(value);
const field = (body: unknown, key: string): unknown => (isRecord(body) ? body[key] : undefined);
const statusFields = (body: Body): RawFields => ({ state: body.state, context: body.context, description: body.description, targetUrl: body.target_url });
const buildFields = (body: Body): RawFields => ({ state: body.state, context: body.key, description: body.description, targetUrl: body.url });

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

/** Every status API the fake serves, in a fixed order. */
export const STATUS_APIS: readonly ReportHost[] = ROUTES.map((route) => route.api);

/** An error answer with a body shaped like the host's. */
export function refusal(api: ReportHost | 'unknown', status: number, message: string, headers: Readonly<Record<string, string>> = {}): Reply {
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
function problemOf(fields: RawFields, route: Route): string | undefined {
  if (typeof fields.state !== 'string' || !route.states.includes(fields.state)) return `state is not one of ${route.states.join(', ')}`;
  if (typeof fields.context !== 'string' || fields.context === '') return 'the context (name, key) is missing';
  if (fields.description !== undefined && typeof fields.description !== 'string') return 'description is not a string';
  if (fields.targetUrl === undefined ? route.needsUrl : typeof fields.targetUrl !== 'string') return 'the target URL is missing or not a string';
  return undefined;
}

/** The route `path` is on, with its repository (%-decoded) and SHA (lower case); undefined for any other path. */
export function routeOf(path: string): { route: Route; repository: string; sha: string } | undefined {
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

/** The status a request sets, or the status code and message the host would refuse it with. */
export function readStatus(
  route: Route,
  raw: Buffer,
  query: string,
): { readonly ok: true; readonly fields: StatusFields } | { readonly ok: false; readonly status: number; readonly message: string } {
  const { api } = route;
  if (api === 'azure-devops' && !new URLSearchParams(query).has('api-version')) return { ok: false, status: 400, message: 'No api-version was supplied' };
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    return { ok: false, status: 400, message: 'Problems parsing JSON' };
  }
  const fields = isRecord(body) ? route.fields(body) : undefined;
  const problem = fields === undefined ? 'the body is not a JSON object' : problemOf(fields, route);
  if (fields === undefined || problem !== undefined) {
    return { ok: false, status: api === 'github' || api === 'gitea' ? 422 : 400, message: `Validation Failed: ${problem ?? ''}` };
  }
  const { state, context, description, targetUrl } = fields;
  return {
    ok: true,
    fields: {
      state: String(state),
      context: String(context),
      ...(typeof description === 'string' ? { description } : {}),
      ...(typeof targetUrl === 'string' ? { targetUrl } : {}),
      body,
    },
  };
}
