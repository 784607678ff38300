/**
 * The emulated CodeHub API, checked in APIG's order: route, injected fault, authentication, then
 * the service's own checks (repository id, repository, body). Answers use the real error shapes:
 * APIG `{error_code, error_msg, request_id}`, v4 `{error_code, error_msg}`, v1 `{error, status}`.
 */
import type { RateLimit } from './rate-limit';
import { randomUUID } from 'node:crypto';
import type { AuthMethod, Authority } from './auth';
import type { CallRecord } from './calls';
import type { FaultController } from './faults';
import { isRecord, parseJsonBody } from './http';
import type { ApiRequest, Outcome, Reply } from './http';
import type { MirrorService } from './mirror';
import { MAX_REPOSITORY_ID } from './mirror-types';
import type { MirrorUpdate } from './mirror-types';
import { answerRead, READ_PARAMETERS } from './reads';
import type { ReadRoute } from './reads';
import { answerSimulatedRead } from './simulated-reads';
import type { SourceCredentials } from './git';

export interface CodeHubContext {
  readonly authority: Authority;
  readonly mirrors: MirrorService;
  readonly faults: FaultController;
  /** APIG's sliding-window limit per API (off unless set). */
  readonly rateLimit: RateLimit;
  readonly now: () => number;
  /** Waits `ms` (rejects when the emulator closes). */
  readonly sleep: (ms: number) => Promise<void>;
  /** Per git command of a read (ShowBranch, ShowTag, ShowCommit). */
  readonly gitTimeoutMs: number;
}

export interface CodeHubAnswer {
  readonly outcome: Outcome;
  readonly repositoryId?: number;
  readonly auth?: AuthMethod;
  readonly fault?: NonNullable<CallRecord['fault']>;
}

type Version = 'v1' | 'v4';
type RouteName = 'startSync' | 'getMirror' | 'updateMirror' | 'associate' | 'getRepository' | 'repositoryId' | ReadRoute;

interface Route {
  readonly name: RouteName;
  readonly version: Version;
  /** The `{repository_id}` path segment, unparsed. */
  readonly idSegment?: string;
}

const ROUTES: readonly { method: string; pattern: RegExp; name: RouteName; version: Version }[] = [
  { method: 'POST', pattern: /^\/v4\/repositories\/([^/]+)\/remote-mirror$/, name: 'startSync', version: 'v4' },
  { method: 'GET', pattern: /^\/v4\/repositories\/([^/]+)\/remote-mirror$/, name: 'getMirror', version: 'v4' },
  { method: 'PUT', pattern: /^\/v4\/repositories\/([^/]+)\/remote-mirror$/, name: 'updateMirror', version: 'v4' },
  { method: 'POST', pattern: /^\/v4\/repositories\/([^/]+)\/remote-mirror\/associate$/, name: 'associate', version: 'v4' },
  { method: 'GET', pattern: /^\/v4\/repositories\/([^/]+)$/, name: 'getRepository', version: 'v4' },
  { method: 'GET', pattern: /^\/v4\/repositories\/([^/]+)\/repository\/branch$/, name: 'showBranch', version: 'v4' },
  { method: 'GET', pattern: /^\/v4\/repositories\/([^/]+)\/repository\/tag$/, name: 'showTag', version: 'v4' },
  { method: 'GET', pattern: /^\/v4\/repositories\/([^/]+)\/repository\/commits$/, name: 'showCommit', version: 'v4' },
  { method: 'GET', pattern: /^\/v1\/repositories\/repoid$/, name: 'repositoryId', version: 'v1' },
];

function matchRoute(method: string, pathname: string): Route | undefined {
  for (const route of ROUTES) {
    if (route.method !== method) continue;
    const match = route.pattern.exec(pathname);
    if (!match) continue;
    const idSegment = match[1];
    return idSegment === undefined ? { name: route.name, version: route.version } : { name: route.name, version: route.version, idSegment };
  }
  return undefined;
}

function requestId(): string {
  return randomUUID().replace(/-/g, '');
}

export function apigError(status: number, code: string, message: string, headers?: Record<string, string>): Reply {
  return { status, body: { error_code: code, error_msg: message, request_id: requestId() }, ...(headers ? { headers } : {}) };
}

function serviceError(version: Version, status: number, code: string, message: string): Reply {
  return version === 'v4'
    ? { status, body: { error_code: code, error_msg: message } }
    : { status, body: { error: { code, message }, status: 'failed' } };
}

function invalid(version: Version, message: string): Reply {
  return serviceError(version, 400, 'CH.010001', `Invalid parameter: ${message}`);
}

/** A repository id as CodeHub accepts it: a decimal integer 1..2147483647. */
export function parseRepositoryId(segment: string): number | undefined {
  if (!/^\d{1,10}$/.test(segment)) return undefined;
  const id = Number(segment);
  return id >= 1 && id <= MAX_REPOSITORY_ID ? id : undefined;
}

/** Strict base64 (padding required, standard alphabet) of UTF-8 text; undefined when not. */
export function decodeBase64Text(value: string): string | undefined {
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(value)) return undefined;
  const bytes = Buffer.from(value, 'base64');
  const text = bytes.toString('utf8');
  return Buffer.from(text, 'utf8').equals(bytes) ? text : undefined;
}

type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reply: Reply };

function objectBody(request: ApiRequest, version: Version): Parsed<Record<string, unknown>> {
  const parsed = parseJsonBody(request.body);
  if (!parsed.ok) return { ok: false, reply: invalid(version, 'the request body is not valid JSON') };
  if (!isRecord(parsed.value)) return { ok: false, reply: invalid(version, 'the request body must be a JSON object') };
  return { ok: true, value: parsed.value };
}

function optionalText(body: Record<string, unknown>, field: string): Parsed<string | undefined> {
  const value = body[field];
  if (value === undefined || value === null) return { ok: true, value: undefined };
  if (typeof value !== 'string') return { ok: false, reply: invalid('v4', `${field} must be a string`) };
  return { ok: true, value };
}

function syncRequestOf(body: Record<string, unknown>): Parsed<{ forceFetch: boolean; credentials?: SourceCredentials; endpointUuid?: string }> {
  const force = body.force_fetch;
  if (force !== undefined && force !== null && typeof force !== 'boolean') {
    return { ok: false, reply: invalid('v4', 'force_fetch must be a boolean') };
  }
  const decoded: Partial<Record<'username' | 'password', string>> = {};
  for (const field of ['username', 'password'] as const) {
    const text = optionalText(body, field);
    if (!text.ok) return text;
    if (text.value === undefined || text.value === '') continue;
    const plain = decodeBase64Text(text.value);
    // Never echo the value: it is a credential.
    if (plain === undefined) return { ok: false, reply: invalid('v4', `${field} must be base64-encoded UTF-8`) };
    decoded[field] = plain;
  }
  const endpoint = optionalText(body, 'endpoint_uuid');
  if (!endpoint.ok) return endpoint;
  const hasCredentials = decoded.username !== undefined || decoded.password !== undefined;
  return {
    ok: true,
    value: {
      forceFetch: force === true,
      ...(hasCredentials ? { credentials: { username: decoded.username ?? '', password: decoded.password ?? '' } } : {}),
      ...(endpoint.value !== undefined && endpoint.value !== '' ? { endpointUuid: endpoint.value } : {}),
    },
  };
}

function mirrorUpdateOf(body: Record<string, unknown>): Parsed<MirrorUpdate> {
  const update: { -readonly [K in keyof MirrorUpdate]: MirrorUpdate[K] } = {};
  const url = optionalText(body, 'url');
  if (!url.ok) return url;
  if (url.value !== undefined) {
    if (url.value.trim() === '') return { ok: false, reply: invalid('v4', 'url must not be empty') };
    update.url = url.value;
  }
  const type = body.sync_branch_type;
  if (type !== undefined && type !== null) {
    if (type !== 'all' && type !== 'default') return { ok: false, reply: invalid('v4', 'sync_branch_type must be "all" or "default"') };
    update.syncBranchType = type;
  }
  const enabled = body.mirroring_enabled;
  if (enabled !== undefined && enabled !== null) {
    if (typeof enabled !== 'boolean') return { ok: false, reply: invalid('v4', 'mirroring_enabled must be a boolean') };
    update.mirroringEnabled = enabled;
  }
  if (body.endpoint_uuid === null) update.endpointUuid = null;
  else {
    const endpoint = optionalText(body, 'endpoint_uuid');
    if (!endpoint.ok) return endpoint;
    if (endpoint.value !== undefined) update.endpointUuid = endpoint.value;
  }
  return { ok: true, value: update };
}

function handleRepositoryIdLookup(request: ApiRequest, mirrors: MirrorService): Reply {
  const group = request.query.get('group_name');
  const name = request.query.get('repository_name');
  if (!group || !name) return invalid('v1', 'group_name and repository_name are required');
  const repository = mirrors.findByPath(group.replace(/^\/+|\/+$/g, ''), name);
  if (!repository) return { status: 200, body: { error: { code: 'CH.004404', message: 'Repository Not Found' }, status: 'failed' } };
  return { status: 200, body: { result: repository.id, status: 'success' } };
}

function handleRepositoryCall(route: Route & { readonly name: Exclude<RouteName, ReadRoute> }, id: number, request: ApiRequest, mirrors: MirrorService): Reply {
  const repository = mirrors.get(id);
  const mirror = mirrors.state(id);
  if (!repository || !mirror) return serviceError('v4', 404, 'CH.004404', 'Repository Not Found');
  switch (route.name) {
    case 'getMirror':
      return { status: 200, body: mirror };
    case 'getRepository':
      return {
        status: 200,
        body: {
          id: repository.id,
          name: repository.name,
          path_with_namespace: repository.pathWithNamespace,
          http_url_to_repo: `https://codehub.emulator.invalid/${repository.pathWithNamespace}.git`,
          ssh_url_to_repo: `git@codehub.emulator.invalid:${repository.pathWithNamespace}.git`,
          web_url: `https://codehub.emulator.invalid/${repository.pathWithNamespace}`,
          default_branch: repository.defaultBranch,
          visibility_level: 0,
          is_mirror: true,
        },
      };
    case 'startSync': {
      const body = objectBody(request, 'v4');
      if (!body.ok) return body.reply;
      const sync = syncRequestOf(body.value);
      if (!sync.ok) return sync.reply;
      if (!mirror.mirroring_enabled) return invalid('v4', 'remote mirroring is disabled for this repository');
      const job = mirrors.startSync(id, sync.value);
      return job ? { status: 200, body: { jid: job.jid } } : serviceError('v4', 404, 'CH.004404', 'Repository Not Found');
    }
    case 'updateMirror': {
      const body = objectBody(request, 'v4');
      if (!body.ok) return body.reply;
      const update = mirrorUpdateOf(body.value);
      if (!update.ok) return update.reply;
      return { status: 200, body: mirrors.update(id, update.value) };
    }
    case 'associate': {
      const body = objectBody(request, 'v4');
      if (!body.ok) return body.reply;
      const url = body.value.url;
      if (typeof url !== 'string' || url.trim() === '') return invalid('v4', 'url is required');
      return { status: 201, body: mirrors.update(id, { url, mirroringEnabled: true }) };
    }
    case 'repositoryId':
      return handleRepositoryIdLookup(request, mirrors);
  }
}

function isReadRoute(name: RouteName): name is ReadRoute {
  return name === 'showBranch' || name === 'showTag' || name === 'showCommit';
}

/** ShowBranch, ShowTag, ShowCommit: from the mirror (bare repository or simulated refs), as it is at this moment. */
async function handleRead(route: ReadRoute, id: number, request: ApiRequest, context: CodeHubContext): Promise<Reply> {
  const source = context.mirrors.readSource(id);
  if (!source) return serviceError('v4', 404, 'CH.004404', 'Repository Not Found');
  const parameter = READ_PARAMETERS[route];
  const name = request.query.get(parameter);
  if (name === null || name === '') return invalid('v4', `${parameter} is required`);
  if (source.kind === 'simulated') return answerSimulatedRead(route, name, source);
  return answerRead(route, name, { mirrorDir: source.mirrorDir, defaultBranch: source.defaultBranch, gitTimeoutMs: context.gitTimeoutMs });
}

/** Answers one CodeHub API call. */
export async function handleCodeHub(request: ApiRequest, context: CodeHubContext): Promise<CodeHubAnswer> {
  const route = matchRoute(request.method, request.pathname);
  if (!route) {
    return { outcome: apigError(404, 'APIG.0101', 'The API does not exist or has not been published in the environment') };
  }
  const id = route.idSegment === undefined ? undefined : parseRepositoryId(route.idSegment);
  const scope = id === undefined ? {} : { repositoryId: id };

  const plan = context.faults.next(id);
  if (plan.latencyMs > 0) await context.sleep(plan.latencyMs);
  const latency = plan.latencyMs > 0 ? { fault: 'latency' as const } : {};
  switch (plan.action?.kind) {
    case 'drop':
      return { outcome: { drop: true }, ...scope, fault: 'drop' };
    case 'throttle':
      return {
        outcome: apigError(429, 'APIG.0308', 'The throttling threshold has been reached', {
          'Retry-After': String(plan.action.retryAfterSeconds),
        }),
        ...scope,
        fault: 'throttle',
      };
    case 'serverError':
      return { outcome: serviceError(route.version, 500, 'CH.000001', 'Internal server error'), ...scope, fault: 'serverError' };
    case undefined:
      break;
  }
  // APIG counts and throttles before it authenticates.
  const admitted = context.rateLimit.take(route.name, context.now());
  if (!admitted.ok) {
    const reply = apigError(429, 'APIG.0308', 'The throttling threshold has been reached', { 'Retry-After': String(admitted.retryAfterSeconds) });
    return { outcome: reply, ...scope, fault: 'rateLimit' };
  }

  const auth = context.authority.authenticate(request);
  if (!auth.ok) {
    const reply = auth.by === 'apig' ? apigError(401, auth.code, auth.message) : serviceError(route.version, 401, auth.code, auth.message);
    return { outcome: reply, ...scope, auth: auth.method, ...latency };
  }
  if (route.name === 'repositoryId') {
    return { outcome: handleRepositoryIdLookup(request, context.mirrors), auth: auth.method, ...latency };
  }
  if (id === undefined) {
    return {
      outcome: invalid('v4', `repository_id must be an integer 1..${MAX_REPOSITORY_ID}`),
      auth: auth.method,
      ...latency,
    };
  }
  const name = route.name;
  const outcome = isReadRoute(name) ? await handleRead(name, id, request, context) : handleRepositoryCall({ ...route, name }, id, request, context.mirrors);
  return { outcome, repositoryId: id, auth: auth.method, ...latency };
}
