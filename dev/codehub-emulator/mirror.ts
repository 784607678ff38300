/**
 * The emulated repositories and their remote mirrors. A sync job really runs `git fetch` of the
 * upstream into a bare repository under the data dir. A repository has at most one job at a time:
 * a trigger while one is queued or running gets that job back and fetches nothing more (as
 * GitLab's pull mirror does, and as CodeHub most likely does), so a push that lands upstream after
 * the job's fetch is missing from the mirror until a later trigger.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { GitError, gitEnvironment, runGit } from './git';
import type { SourceCredentials } from './git';
import type { SyncDelays } from './sync-delay';

export const MAX_REPOSITORY_ID = 2_147_483_647;

/** A repository to emulate. `upstream` is any git URL: `file://`, a local path, http(s). */
export interface RepositorySpec {
  /** @default the next free id from 1001 */
  readonly id?: number;
  readonly name: string;
  /** The path between host and name in the clone URL, e.g. `acme` or `acme/sub`. @default 'emulator' */
  readonly group?: string;
  readonly upstream: string;
}

export interface RepositoryInfo {
  readonly id: number;
  readonly name: string;
  readonly group: string;
  readonly pathWithNamespace: string;
  readonly upstream: string;
  /** The bare mirror repository (clone or inspect it with git). */
  readonly mirrorDir: string;
  readonly defaultBranch: string | null;
}

export type UpdateStatus = 'init' | 'running' | 'success' | 'failed';

/** `GET /v4/repositories/{id}/remote-mirror`, field for field. */
export interface MirrorState {
  readonly id: number;
  readonly repository_id: number;
  readonly update_status: UpdateStatus;
  readonly last_update_at: string | null;
  readonly last_successful_update_at: string | null;
  readonly number_of_failures: number;
  readonly mirroring_enabled: boolean;
  readonly is_private: boolean;
  readonly url: string;
  readonly endpoint_uuid: string | null;
  readonly last_error: string | null;
  readonly sync_branch_type: 'all' | 'default';
}

export type JobStatus = 'queued' | 'running' | 'success' | 'failed';

export interface JobInfo {
  readonly jid: string;
  readonly repositoryId: number;
  readonly status: JobStatus;
  readonly forceFetch: boolean;
  readonly createdAt: string;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  /** When its `git fetch` ended (the job may still be running: see `SyncDelays`). */
  readonly fetchedAt: string | null;
  /** git's error, credentials scrubbed. */
  readonly error: string | null;
}

export interface SyncRequest {
  readonly forceFetch: boolean;
  /** Decoded source credentials, used for http(s) upstreams only; never stored or logged. */
  readonly credentials?: SourceCredentials;
  readonly endpointUuid?: string;
}

export interface MirrorUpdate {
  readonly url?: string;
  readonly syncBranchType?: 'all' | 'default';
  readonly mirroringEnabled?: boolean;
  readonly endpointUuid?: string | null;
}

interface MutableJob {
  jid: string;
  repositoryId: number;
  status: JobStatus;
  forceFetch: boolean;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  fetchedAt: string | null;
  error: string | null;
}

interface RepositoryRecord {
  readonly id: number;
  name: string;
  group: string;
  upstream: string;
  defaultBranch: string | null;
  mirrorId: number;
  mirroringEnabled: boolean;
  syncBranchType: 'all' | 'default';
  endpointUuid: string | null;
  isPrivate: boolean;
  lastOutcome: 'success' | 'failed' | undefined;
  lastUpdateAt: string | null;
  lastSuccessfulUpdateAt: string | null;
  numberOfFailures: number;
  lastError: string | null;
  /** The job queued or running, which a trigger joins. */
  current: MutableJob | undefined;
}

export interface MirrorServiceOptions {
  readonly dataDir: string;
  readonly now: () => number;
  readonly gitTimeoutMs: number;
  readonly log: (line: string) => void;
  readonly delays: SyncDelays;
}

export interface MirrorService {
  add(spec: RepositorySpec): RepositoryInfo;
  remove(id: number): boolean;
  get(id: number): RepositoryInfo | undefined;
  findByPath(group: string, name: string): RepositoryInfo | undefined;
  list(): RepositoryInfo[];
  state(id: number): MirrorState | undefined;
  update(id: number, update: MirrorUpdate): MirrorState | undefined;
  /** Starts a sync job and returns it at once (status `queued`), or the job already queued or running. */
  startSync(id: number, request: SyncRequest): JobInfo | undefined;
  job(jid: string): JobInfo | undefined;
  jobs(): JobInfo[];
  /** The mirror's refs (`git for-each-ref`): full ref name → object id. Empty before the first sync. */
  refs(id: number): Promise<{ head: string | null; refs: Record<string, string> }>;
  pendingJobs(): number;
  /** Resolves when no job is queued or running; rejects after `timeoutMs`. */
  waitForIdle(timeoutMs?: number): Promise<void>;
  /** Stops running git, fails queued jobs and waits for them. */
  close(): Promise<void>;
}

const FIRST_AUTO_ID = 1001;
const MAX_KEPT_JOBS = 5000;
const MAX_ERROR_CHARS = 4000;

/** Whether git would treat `upstream` as a URL (or scp-like `user@host:path`) rather than a local path. */
function isGitUrl(upstream: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(upstream) || /^[^/:]+@[^/:]+:/.test(upstream);
}

function isHttpUrl(upstream: string): boolean {
  return /^https?:\/\//i.test(upstream);
}

/** A local path made absolute (against `baseDir`, default the working directory); URLs as they are. */
export function normaliseUpstream(upstream: string, baseDir?: string): string {
  if (isGitUrl(upstream)) return upstream;
  return baseDir === undefined ? resolve(upstream) : resolve(baseDir, upstream);
}

/** Removes credentials from text git printed: URL user-info, and each secret that was in play. */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let result = text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^\s/@]+@/gi, '$1***@');
  for (const secret of secrets) if (secret.length >= 3) result = result.split(secret).join('***');
  return result;
}

function secretsOf(credentials: SourceCredentials | undefined): string[] {
  if (!credentials) return [];
  const basic = Buffer.from(`${credentials.username}:${credentials.password}`, 'utf8').toString('base64');
  return [credentials.password, Buffer.from(credentials.password, 'utf8').toString('base64'), basic];
}

function snapshotJob(job: MutableJob): JobInfo {
  return { ...job };
}

export function createMirrorService(options: MirrorServiceOptions): MirrorService {
  const repositories = new Map<number, RepositoryRecord>();
  const jobs = new Map<string, MutableJob>();
  const active = new Set<Promise<void>>();
  const closing = new AbortController();
  let nextMirrorId = 1;
  const iso = (): string => new Date(options.now()).toISOString();
  const mirrorDir = (id: number): string => join(options.dataDir, `${id}.git`);

  function info(record: RepositoryRecord): RepositoryInfo {
    return {
      id: record.id,
      name: record.name,
      group: record.group,
      pathWithNamespace: `${record.group}/${record.name}`,
      upstream: record.upstream,
      mirrorDir: mirrorDir(record.id),
      defaultBranch: record.defaultBranch,
    };
  }

  function state(record: RepositoryRecord): MirrorState {
    return {
      id: record.mirrorId,
      repository_id: record.id,
      update_status: record.current ? 'running' : (record.lastOutcome ?? 'init'),
      last_update_at: record.lastUpdateAt,
      last_successful_update_at: record.lastSuccessfulUpdateAt,
      number_of_failures: record.numberOfFailures,
      mirroring_enabled: record.mirroringEnabled,
      is_private: record.isPrivate,
      url: record.upstream,
      endpoint_uuid: record.endpointUuid,
      last_error: record.lastError,
      sync_branch_type: record.syncBranchType,
    };
  }

  function freshMirrorState(record: RepositoryRecord): void {
    record.mirrorId = nextMirrorId++;
    record.lastOutcome = undefined;
    record.lastUpdateAt = null;
    record.lastSuccessfulUpdateAt = null;
    record.numberOfFailures = 0;
    record.lastError = null;
  }

  function add(spec: RepositorySpec): RepositoryInfo {
    const id = spec.id ?? Math.max(FIRST_AUTO_ID - 1, ...repositories.keys()) + 1;
    if (!Number.isInteger(id) || id < 1 || id > MAX_REPOSITORY_ID) {
      throw new RangeError(`repository id must be an integer 1..${MAX_REPOSITORY_ID}`);
    }
    if (spec.name.trim() === '' || spec.name.includes('/')) throw new RangeError('name must be a non-empty name without "/"');
    if (spec.upstream.trim() === '') throw new RangeError('upstream must be a git URL or a local path');
    const group = (spec.group ?? 'emulator').replace(/^\/+|\/+$/g, '');
    const clash = [...repositories.values()].find((r) => r.id !== id && r.group === group && r.name === spec.name);
    if (clash) throw new RangeError(`${group}/${spec.name} is already repository ${clash.id}`);
    const upstream = normaliseUpstream(spec.upstream);
    const existing = repositories.get(id);
    if (existing) {
      existing.name = spec.name;
      existing.group = group;
      if (existing.upstream !== upstream) {
        existing.upstream = upstream;
        if (!existing.current) freshMirrorState(existing);
      }
      return info(existing);
    }
    const record: RepositoryRecord = {
      id,
      name: spec.name,
      group,
      upstream,
      defaultBranch: null,
      mirrorId: 0,
      mirroringEnabled: true,
      syncBranchType: 'all',
      endpointUuid: null,
      isPrivate: false,
      lastOutcome: undefined,
      lastUpdateAt: null,
      lastSuccessfulUpdateAt: null,
      numberOfFailures: 0,
      lastError: null,
      current: undefined,
    };
    freshMirrorState(record);
    repositories.set(id, record);
    return info(record);
  }

  function rememberJob(job: MutableJob): void {
    jobs.set(job.jid, job);
    if (jobs.size <= MAX_KEPT_JOBS) return;
    for (const [jid, old] of jobs) {
      if (old.status === 'success' || old.status === 'failed') {
        jobs.delete(jid);
        break;
      }
    }
  }

  async function ensureBareRepository(dir: string, env: NodeJS.ProcessEnv): Promise<void> {
    if (existsSync(join(dir, 'HEAD'))) return;
    await mkdir(options.dataDir, { recursive: true });
    await runGit(['init', '--bare', '--quiet', dir], { env, timeoutMs: options.gitTimeoutMs, signal: closing.signal });
  }

  /** Points the mirror's HEAD at the upstream's default branch; best effort. */
  async function followUpstreamHead(record: RepositoryRecord, dir: string, upstream: string, env: NodeJS.ProcessEnv): Promise<void> {
    try {
      const { stdout } = await runGit(['--git-dir', dir, 'ls-remote', '--symref', '--', upstream, 'HEAD'], {
        env,
        timeoutMs: options.gitTimeoutMs,
        signal: closing.signal,
      });
      const head = /^ref: (refs\/heads\/\S+)\tHEAD$/m.exec(stdout)?.[1];
      if (head === undefined) return;
      await runGit(['--git-dir', dir, 'symbolic-ref', 'HEAD', head], { env, timeoutMs: options.gitTimeoutMs });
      record.defaultBranch = head.slice('refs/heads/'.length);
    } catch {
      // An upstream without a HEAD (empty, or a server that hides it) leaves the mirror's as it was.
    }
  }

  async function runJob(record: RepositoryRecord, job: MutableJob, request: SyncRequest): Promise<void> {
    const started = Date.now();
    const upstream = record.upstream;
    const credentials = isHttpUrl(upstream) ? request.credentials : undefined;
    const secrets = secretsOf(request.credentials);
    job.status = 'running';
    job.startedAt = iso();
    try {
      if (closing.signal.aborted) throw new GitError('the emulator closed before the job started', '');
      await options.delays.wait(record.id, 'beforeFetchMs', closing.signal);
      const env = gitEnvironment(credentials);
      const dir = mirrorDir(record.id);
      await ensureBareRepository(dir, env);
      const refspecs = request.forceFetch
        ? ['+refs/heads/*:refs/heads/*', '+refs/tags/*:refs/tags/*']
        : ['refs/heads/*:refs/heads/*', 'refs/tags/*:refs/tags/*'];
      await runGit(
        [
          '--git-dir',
          dir,
          'fetch',
          '--no-write-fetch-head',
          '--no-recurse-submodules',
          ...(request.forceFetch ? ['--force', '--prune'] : []),
          '--',
          upstream,
          ...refspecs,
        ],
        { env, timeoutMs: options.gitTimeoutMs, signal: closing.signal },
      );
      await followUpstreamHead(record, dir, upstream, env);
      job.fetchedAt = iso();
      await options.delays.wait(record.id, 'afterFetchMs', closing.signal);
      job.status = 'success';
      record.lastOutcome = 'success';
      record.numberOfFailures = 0;
      record.lastError = null;
    } catch (error) {
      const detail =
        error instanceof GitError ? [error.message, error.stderr.trim()].filter(Boolean).join(': ') : String(error);
      const message = scrubSecrets(detail, secrets).slice(0, MAX_ERROR_CHARS);
      job.status = 'failed';
      job.error = message;
      record.lastOutcome = 'failed';
      record.numberOfFailures += 1;
      record.lastError = message;
    } finally {
      job.finishedAt = iso();
      record.lastUpdateAt = job.finishedAt;
      if (job.status === 'success') record.lastSuccessfulUpdateAt = job.finishedAt;
      record.current = undefined;
      const ms = Date.now() - started;
      options.log(
        `sync repository ${record.id} job ${job.jid} ${job.status} in ${ms}ms${job.error ? `: ${job.error.split('\n').join(' | ')}` : ''}`,
      );
    }
  }

  function startSync(id: number, request: SyncRequest): JobInfo | undefined {
    const record = repositories.get(id);
    if (!record) return undefined;
    if (record.current) return snapshotJob(record.current);
    const job: MutableJob = {
      jid: randomUUID(),
      repositoryId: id,
      status: 'queued',
      forceFetch: request.forceFetch,
      createdAt: iso(),
      startedAt: null,
      finishedAt: null,
      fetchedAt: null,
      error: null,
    };
    rememberJob(job);
    record.current = job;
    record.isPrivate = request.credentials !== undefined || request.endpointUuid !== undefined;
    if (request.endpointUuid !== undefined) record.endpointUuid = request.endpointUuid;
    // runJob records its own failures; the catch only keeps a surprise from going unhandled.
    const run = Promise.resolve()
      .then(() => runJob(record, job, request))
      .catch(() => undefined);
    active.add(run);
    void run.finally(() => active.delete(run));
    return snapshotJob(job);
  }

  async function refs(id: number): Promise<{ head: string | null; refs: Record<string, string> }> {
    const dir = mirrorDir(id);
    const result: Record<string, string> = {};
    if (!existsSync(join(dir, 'HEAD'))) return { head: null, refs: result };
    const env = gitEnvironment();
    const { stdout } = await runGit(['--git-dir', dir, 'for-each-ref', '--format=%(objectname) %(refname)'], {
      env,
      timeoutMs: options.gitTimeoutMs,
    });
    for (const line of stdout.split('\n')) {
      const space = line.indexOf(' ');
      if (space > 0) result[line.slice(space + 1)] = line.slice(0, space);
    }
    let head: string | null = null;
    try {
      head = (await runGit(['--git-dir', dir, 'symbolic-ref', '--quiet', 'HEAD'], { env, timeoutMs: options.gitTimeoutMs })).stdout.trim();
    } catch {
      head = null;
    }
    return { head, refs: result };
  }

  async function waitForIdle(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (active.size > 0) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`${active.size} sync job(s) still queued or running after ${timeoutMs} ms`);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...active]),
        new Promise<void>((done) => {
          timer = setTimeout(done, remaining);
        }),
      ]);
      clearTimeout(timer);
    }
  }

  return {
    add,
    remove: (id) => repositories.delete(id),
    get(id) {
      const record = repositories.get(id);
      return record ? info(record) : undefined;
    },
    findByPath(group, name) {
      const record = [...repositories.values()].find((r) => r.group === group && r.name === name);
      return record ? info(record) : undefined;
    },
    list: () => [...repositories.values()].sort((a, b) => a.id - b.id).map(info),
    state(id) {
      const record = repositories.get(id);
      return record ? state(record) : undefined;
    },
    update(id, update) {
      const record = repositories.get(id);
      if (!record) return undefined;
      if (update.url !== undefined) record.upstream = normaliseUpstream(update.url);
      if (update.syncBranchType !== undefined) record.syncBranchType = update.syncBranchType;
      if (update.mirroringEnabled !== undefined) record.mirroringEnabled = update.mirroringEnabled;
      if (update.endpointUuid !== undefined) record.endpointUuid = update.endpointUuid;
      return state(record);
    },
    startSync,
    job(jid) {
      const job = jobs.get(jid);
      return job ? snapshotJob(job) : undefined;
    },
    jobs: () => [...jobs.values()].map(snapshotJob),
    refs,
    pendingJobs: () => active.size,
    waitForIdle,
    async close() {
      closing.abort();
      await Promise.allSettled([...active]);
    },
  };
}
