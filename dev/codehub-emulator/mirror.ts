/**
 * The emulated repositories and their remote mirrors, and the sync job's lifecycle. The fetch
 * itself is either a real `git fetch` of the upstream into a bare repository under the data dir
 * (`./git-mirror`) or, for a simulated repository, a copy of an in-memory upstream (`./simulated`);
 * everything the API shows around it is the same. A repository has at most one job at a time: a
 * trigger while one is queued or running gets that job back and fetches nothing more (as GitLab's
 * pull mirror does, and as CodeHub most likely does), so a push that lands upstream after the
 * job's fetch began is missing from the mirror until a later trigger.
 */
import { setMaxListeners } from 'node:events';
import { join } from 'node:path';
import { GitError } from './git';
import { fetchIntoGitMirror, normaliseUpstream, readGitMirrorRefs, scrubSecrets, secretsOf } from './git-mirror';
import { createJobRegistry, snapshotJob } from './jobs';
import type { MutableJob } from './jobs';
import { MAX_REPOSITORY_ID } from './mirror-types';
import type { JobInfo, MirrorRefs, MirrorState, MirrorUpdate, RepositoryInfo, RepositorySpec, SyncRequest } from './mirror-types';
import { simulatedUpstreamUrl, simulationFor } from './simulated';
import type { FetchTimes, SimulatedRepository } from './simulated';
import type { SimulatedReadContext } from './simulated-reads';
import type { SyncDelays } from './sync-delay';

interface RepositoryRecord {
  readonly id: number;
  name: string;
  group: string;
  /** The git upstream; for a simulated repository only the URL shown. */
  upstream: string;
  /** Set for a simulated repository: its upstream and mirror. */
  simulation: SimulatedRepository | undefined;
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

/** A git mirror's bare repository, or a simulated mirror's refs. */
export type ReadSource =
  | { readonly kind: 'git'; readonly mirrorDir: string; readonly defaultBranch: string | null }
  | ({ readonly kind: 'simulated' } & SimulatedReadContext);

export interface MirrorServiceOptions {
  readonly dataDir: string;
  readonly now: () => number;
  readonly gitTimeoutMs: number;
  readonly log: (line: string) => void;
  readonly delays: SyncDelays;
  /** How long each simulated fetch takes. */
  readonly fetchTimes: FetchTimes;
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
  /** The mirror's refs: full ref name → object id. Empty before the first sync. */
  refs(id: number): Promise<MirrorRefs>;
  /**
   * Moves a simulated repository's upstream refs (`null` deletes); undefined when there is no such
   * repository. Throws `RangeError` for a git repository or a bad ref or SHA (then nothing changed).
   */
  setUpstreamRefs(id: number, changes: Readonly<Record<string, string | null>>): Record<string, string> | undefined;
  /** A simulated repository's upstream refs; undefined when there is no such repository, `RangeError` for a git one. */
  upstreamRefs(id: number): Record<string, string> | undefined;
  /** What ShowBranch, ShowTag and ShowCommit answer from; undefined when there is no such repository. */
  readSource(id: number): ReadSource | undefined;
  pendingJobs(): number;
  /** Resolves when no job is queued or running; rejects after `timeoutMs`. */
  waitForIdle(timeoutMs?: number): Promise<void>;
  /** Stops running git and simulated fetches, fails queued jobs and waits for them. */
  close(): Promise<void>;
}

const FIRST_AUTO_ID = 1001;
const MAX_ERROR_CHARS = 4000;

export function createMirrorService(options: MirrorServiceOptions): MirrorService {
  const repositories = new Map<number, RepositoryRecord>();
  const jobs = createJobRegistry();
  const closing = new AbortController();
  // Every job under way listens for the close: hundreds at once in a storm, none of them a leak.
  setMaxListeners(0, closing.signal);
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
      simulated: record.simulation !== undefined,
      mirrorDir: record.simulation ? null : mirrorDir(record.id),
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
    if (spec.simulated !== true && spec.upstream.trim() === '') throw new RangeError('upstream must be a git URL or a local path');
    const group = (spec.group ?? 'emulator').replace(/^\/+|\/+$/g, '');
    const clash = [...repositories.values()].find((r) => r.id !== id && r.group === group && r.name === spec.name);
    if (clash) throw new RangeError(`${group}/${spec.name} is already repository ${clash.id}`);
    const upstream = spec.simulated === true ? simulatedUpstreamUrl(id) : normaliseUpstream(spec.upstream);
    const existing = repositories.get(id);
    const simulation = simulationFor(spec, existing?.simulation, { fetchTimes: options.fetchTimes, iso });
    if (existing) {
      existing.name = spec.name;
      existing.group = group;
      const kindChanged = (existing.simulation === undefined) !== (simulation === undefined);
      existing.simulation = simulation;
      if (existing.upstream !== upstream || kindChanged) {
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
      simulation,
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

  async function runJob(record: RepositoryRecord, job: MutableJob, request: SyncRequest): Promise<void> {
    const started = Date.now();
    // What the job fetches is decided when it starts, even if the repository is registered again meanwhile.
    const { upstream, simulation } = record;
    const secrets = secretsOf(request.credentials);
    job.status = 'running';
    job.startedAt = iso();
    try {
      if (closing.signal.aborted) throw new GitError('the emulator closed before the job started', '');
      await options.delays.wait(record.id, 'beforeFetchMs', closing.signal);
      const fetched = simulation
        ? await simulation.fetch(closing.signal)
        : await fetchIntoGitMirror({ dir: mirrorDir(record.id), upstream, request, timeoutMs: options.gitTimeoutMs, signal: closing.signal });
      if (fetched.defaultBranch !== undefined) record.defaultBranch = fetched.defaultBranch;
      job.fetchedAt = iso();
      await options.delays.wait(record.id, 'afterFetchMs', closing.signal);
      job.status = 'success';
      record.lastOutcome = 'success';
      record.numberOfFailures = 0;
      record.lastError = null;
    } catch (error) {
      const detail =
        error instanceof GitError
          ? [error.message, error.stderr.trim()].filter(Boolean).join(': ')
          : error instanceof Error
            ? error.message
            : String(error);
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
    const job = jobs.create(id, request.forceFetch, iso());
    record.current = job;
    record.isPrivate = request.credentials !== undefined || request.endpointUuid !== undefined;
    if (request.endpointUuid !== undefined) record.endpointUuid = request.endpointUuid;
    jobs.start(() => runJob(record, job, request));
    return snapshotJob(job);
  }

  async function refs(id: number): Promise<MirrorRefs> {
    const record = repositories.get(id);
    if (record?.simulation) {
      const branch = record.defaultBranch;
      return { head: branch === null ? null : `refs/heads/${branch}`, refs: record.simulation.mirrorRefs() };
    }
    return readGitMirrorRefs(mirrorDir(id), options.gitTimeoutMs);
  }

  /** The simulation of repository `id`: undefined when there is no such repository, `RangeError` for a git one. */
  function simulationOf(id: number): SimulatedRepository | undefined {
    const record = repositories.get(id);
    if (!record) return undefined;
    if (!record.simulation) throw new RangeError(`repository ${id} is not simulated: its upstream is ${record.upstream}`);
    return record.simulation;
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
      // A simulated repository keeps fetching its in-memory upstream: the URL is only shown.
      if (update.url !== undefined) record.upstream = normaliseUpstream(update.url);
      if (update.syncBranchType !== undefined) record.syncBranchType = update.syncBranchType;
      if (update.mirroringEnabled !== undefined) record.mirroringEnabled = update.mirroringEnabled;
      if (update.endpointUuid !== undefined) record.endpointUuid = update.endpointUuid;
      return state(record);
    },
    startSync,
    job: (jid) => jobs.get(jid),
    jobs: () => jobs.list(),
    refs,
    setUpstreamRefs: (id, changes) => simulationOf(id)?.setUpstreamRefs(changes),
    upstreamRefs: (id) => simulationOf(id)?.upstreamRefs(),
    readSource(id) {
      const record = repositories.get(id);
      if (!record) return undefined;
      const { simulation, defaultBranch } = record;
      return simulation ? { kind: 'simulated', mirror: simulation.mirror, defaultBranch } : { kind: 'git', mirrorDir: mirrorDir(id), defaultBranch };
    },
    pendingJobs: () => jobs.pending(),
    waitForIdle: (timeoutMs) => jobs.waitForIdle(timeoutMs),
    async close() {
      closing.abort();
      await jobs.settled();
    },
  };
}
