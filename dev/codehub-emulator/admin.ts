/**
 * The admin API under `/_emulator/`, for the demo CLI and end-to-end tests in other processes.
 * No authentication: the emulator binds 127.0.0.1 by default. Errors answer `{error}`.
 */
import type { Authority } from './auth';
import type { CallApi, CallLog } from './calls';
import { parseFaultSpec } from './faults';
import type { Faults } from './faults';
import { isRecord, parseJsonBody } from './http';
import type { ApiRequest, Reply } from './http';
import type { MirrorService } from './mirror';
import type { RepositorySpec } from './mirror-types';
import { parseRateLimitSpec, type RateLimit } from './rate-limit';
import { parseUpstreamRefsBody } from './simulated';
import { parseSyncDelaySpec } from './sync-delay';
import type { SyncDelays } from './sync-delay';

export interface AdminContext {
  readonly url: () => string;
  readonly dataDir: string;
  readonly authority: Authority;
  readonly mirrors: MirrorService;
  readonly faults: Faults;
  readonly calls: CallLog;
  readonly delays: SyncDelays;
  readonly rateLimit: RateLimit;
}

const REPOSITORY_KEYS = new Set(['id', 'name', 'group', 'upstream', 'simulated']);
const SIMULATED_KEYS = new Set(['id', 'name', 'group', 'simulated', 'upstreamRefs', 'defaultBranch']);

function ok(body: unknown, status = 200): Reply {
  return { status, body };
}

function error(status: number, message: string): Reply {
  return { status, body: { error: message } };
}

/** `{refs}` of a simulated repository's registration: every value a SHA (checked when set). */
function upstreamRefsOf(value: unknown): Record<string, string> {
  if (!isRecord(value)) throw new RangeError('upstreamRefs must be an object {"refs/heads/main": "<sha>"}');
  return Object.fromEntries(
    Object.entries(value).map(([ref, sha]: [string, unknown]) => {
      if (typeof sha !== 'string') throw new RangeError(`upstreamRefs[${JSON.stringify(ref)}] must be a string`);
      return [ref, sha];
    }),
  );
}

/**
 * Validates a repository registration, `{id?, name, group?, upstream}` or `{id?, name, group?,
 * simulated: true, upstreamRefs?, defaultBranch?}`; throws `RangeError` naming the field.
 */
export function parseRepositorySpec(value: unknown): RepositorySpec {
  if (!isRecord(value)) throw new RangeError('the body must be a JSON object {id?, name, group?, upstream} or {id?, name, group?, simulated: true}');
  if (value.simulated !== undefined && typeof value.simulated !== 'boolean') throw new RangeError('simulated must be a boolean');
  const simulated = value.simulated === true;
  const keys = simulated ? SIMULATED_KEYS : REPOSITORY_KEYS;
  const unknown = Object.keys(value).filter((key) => !keys.has(key));
  if (unknown.length > 0) throw new RangeError(`unknown field(s): ${unknown.join(', ')}; expected ${[...keys].join(', ')}`);
  const { id, name, group, upstream, upstreamRefs, defaultBranch } = value;
  if (id !== undefined && (typeof id !== 'number' || !Number.isInteger(id))) throw new RangeError('id must be an integer');
  if (typeof name !== 'string') throw new RangeError('name is required (a string)');
  if (group !== undefined && typeof group !== 'string') throw new RangeError('group must be a string');
  const common = { name, ...(id === undefined ? {} : { id }), ...(group === undefined ? {} : { group }) };
  if (simulated) {
    if (defaultBranch !== undefined && typeof defaultBranch !== 'string') throw new RangeError('defaultBranch must be a string');
    return {
      ...common,
      simulated: true,
      ...(upstreamRefs === undefined ? {} : { upstreamRefs: upstreamRefsOf(upstreamRefs) }),
      ...(defaultBranch === undefined ? {} : { defaultBranch }),
    };
  }
  if (typeof upstream !== 'string') throw new RangeError('upstream is required (a git URL or local path), or simulated: true');
  return { ...common, upstream };
}

function jsonBody(request: ApiRequest): { ok: true; value: unknown } | { ok: false; reply: Reply } {
  const parsed = parseJsonBody(request.body);
  return parsed.ok ? { ok: true, value: parsed.value } : { ok: false, reply: error(400, 'the body is not valid JSON') };
}

function numericId(segment: string | undefined): number | undefined {
  return segment !== undefined && /^\d{1,10}$/.test(segment) ? Number(segment) : undefined;
}

export async function handleAdmin(request: ApiRequest, context: AdminContext): Promise<Reply> {
  const { mirrors, faults, calls } = context;
  const parts = request.pathname.replace(/\/+$/, '').split('/').slice(2);
  const [resource, id, sub] = parts;
  const method = request.method;
  const route = `${method} ${resource ?? ''}${id === undefined ? '' : '/:id'}${sub === undefined ? '' : `/${sub}`}`;

  try {
    switch (route) {
      case 'GET ':
        return ok({
          url: context.url(),
          dataDir: context.dataDir,
          credentials: context.authority.summary(),
          repositories: mirrors.list().length,
          pendingJobs: mirrors.pendingJobs(),
        });
      case 'GET repositories':
        return ok({ repositories: mirrors.list() });
      case 'POST repositories': {
        const body = jsonBody(request);
        if (!body.ok) return body.reply;
        return ok(mirrors.add(parseRepositorySpec(body.value)), 201);
      }
      case 'GET repositories/:id': {
        const repositoryId = numericId(id);
        const repository = repositoryId === undefined ? undefined : mirrors.get(repositoryId);
        if (repositoryId === undefined || !repository) return error(404, `no repository ${id ?? ''}`);
        return ok({ ...repository, mirror: mirrors.state(repositoryId) });
      }
      case 'DELETE repositories/:id': {
        const repositoryId = numericId(id);
        if (repositoryId === undefined || !mirrors.remove(repositoryId)) return error(404, `no repository ${id ?? ''}`);
        return ok({ deleted: repositoryId });
      }
      case 'GET repositories/:id/refs': {
        const repositoryId = numericId(id);
        if (repositoryId === undefined || !mirrors.get(repositoryId)) return error(404, `no repository ${id ?? ''}`);
        return ok({ repositoryId, ...(await mirrors.refs(repositoryId)) });
      }
      case 'GET repositories/:id/upstream-refs':
      case 'POST repositories/:id/upstream-refs': {
        const repositoryId = numericId(id);
        if (repositoryId === undefined || !mirrors.get(repositoryId)) return error(404, `no repository ${id ?? ''}`);
        if (method === 'GET') return ok({ repositoryId, refs: mirrors.upstreamRefs(repositoryId) });
        const body = jsonBody(request);
        if (!body.ok) return body.reply;
        return ok({ repositoryId, refs: mirrors.setUpstreamRefs(repositoryId, parseUpstreamRefsBody(body.value)) });
      }
      case 'GET calls': {
        const api = request.query.get('api');
        if (api !== null && api !== 'codehub' && api !== 'iam') return error(400, 'api must be "codehub" or "iam"');
        const list = calls.list((api ?? undefined) as CallApi | undefined);
        return ok({ count: list.length, calls: list });
      }
      case 'DELETE calls':
        calls.clear();
        return ok({ count: 0, calls: [] });
      case 'GET faults':
        return ok(faults.snapshot());
      case 'POST faults': {
        const body = jsonBody(request);
        if (!body.ok) return body.reply;
        return ok(faults.set(parseFaultSpec(body.value)));
      }
      case 'DELETE faults': {
        const scoped = request.query.get('repositoryId');
        if (scoped === null) return ok(faults.clear());
        const repositoryId = numericId(scoped);
        if (repositoryId === undefined) return error(400, 'repositoryId must be an integer');
        return ok(faults.clear(repositoryId));
      }
      case 'GET rate-limit':
        return ok(context.rateLimit.snapshot(Date.now()));
      case 'POST rate-limit': {
        const body = jsonBody(request);
        if (!body.ok) return body.reply;
        return ok(context.rateLimit.set(parseRateLimitSpec(body.value)));
      }
      case 'DELETE rate-limit':
        return ok(context.rateLimit.clear());
      case 'GET sync-delay':
        return ok(context.delays.snapshot());
      case 'POST sync-delay': {
        const body = jsonBody(request);
        if (!body.ok) return body.reply;
        return ok(context.delays.set(parseSyncDelaySpec(body.value)));
      }
      case 'DELETE sync-delay': {
        const scoped = request.query.get('repositoryId');
        if (scoped === null) return ok(context.delays.clear());
        const repositoryId = numericId(scoped);
        if (repositoryId === undefined) return error(400, 'repositoryId must be an integer');
        return ok(context.delays.clear(repositoryId));
      }
      case 'GET jobs':
        return ok({ jobs: mirrors.jobs() });
      case 'GET jobs/:id': {
        const job = id === undefined ? undefined : mirrors.job(id);
        return job ? ok(job) : error(404, `no job ${id ?? ''}`);
      }
      case 'POST wait-idle': {
        const raw = request.query.get('timeoutMs');
        const timeoutMs = raw === null ? 30_000 : Number(raw);
        if (!Number.isInteger(timeoutMs) || timeoutMs < 0) return error(400, 'timeoutMs must be a non-negative integer');
        try {
          await mirrors.waitForIdle(timeoutMs);
        } catch (cause) {
          return error(504, cause instanceof Error ? cause.message : String(cause));
        }
        return ok({ idle: true, jobs: mirrors.jobs().length });
      }
      case 'POST tokens': {
        const body = jsonBody(request);
        if (!body.ok) return body.reply;
        const token = isRecord(body.value) ? body.value.token : undefined;
        if (typeof token !== 'string' || token.length < 8) return error(400, 'token must be a string of at least 8 characters');
        context.authority.addToken(token);
        return ok({ added: true }, 201);
      }
      default:
        return error(404, `no admin route ${method} ${request.pathname}`);
    }
  } catch (cause) {
    if (cause instanceof RangeError) return error(400, cause.message);
    throw cause;
  }
}
