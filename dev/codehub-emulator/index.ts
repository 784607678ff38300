/**
 * A local CodeHub (CodeArts Repo) + IAM emulator for tests and demos: strict authentication as
 * APIG does it, remote mirrors that really `git fetch` their upstream (or, for storms of hundreds
 * of repositories, simulated ones), fault injection, and an admin API under `/_emulator/`. `startEmulator` runs it in-process; `main.ts` runs it standalone.
 */
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { createAuthority } from './auth';
import type { AkLockout, EmulatorCredentials } from './auth';
import { createCallLog } from './calls';
import type { CallApi, CallRecord } from './calls';
import { createFaults } from './faults';
import { createRateLimit, type RateLimitSpec, type RateLimitSnapshot } from './rate-limit';
import type { Faults } from './faults';
import { createMirrorService } from './mirror';
import type { JobInfo, MirrorState, RepositoryInfo, RepositorySpec } from './mirror-types';
import { createFetchTimes, DEFAULT_SIMULATED_FETCH_MS } from './simulated';
import type { FetchTimeRange } from './simulated';
import { createRequestListener } from './server';
import { createSyncDelays } from './sync-delay';
import type { SyncDelay, SyncDelaySpec, SyncDelaysSnapshot } from './sync-delay';

export type { AkLockout, EmulatorCredentials, IamUser } from './auth';
export type { CallApi, CallRecord } from './calls';
export type { FaultSpec, FaultState, Faults, FaultsSnapshot } from './faults';
export type {
  GitRepositorySpec,
  JobInfo,
  JobStatus,
  MirrorState,
  RepositoryInfo,
  RepositorySpec,
  SimulatedRepositorySpec,
  UpdateStatus,
} from './mirror-types';
export type { FetchTimeRange } from './simulated';
export type { SyncDelay, SyncDelaySpec, SyncDelaysSnapshot } from './sync-delay';
export type { RateLimitSpec, RateLimitSnapshot } from './rate-limit';

export interface EmulatorOptions {
  /** 0 picks a free port. @default 0 */
  readonly port?: number;
  /** @default '127.0.0.1' (the admin API has no authentication) */
  readonly host?: string;
  /** Where the bare mirrors live (`<dataDir>/<id>.git`). @default '.data/codehub-emulator' */
  readonly dataDir?: string;
  readonly credentials: EmulatorCredentials;
  readonly repositories?: readonly RepositorySpec[];
  /** Clock for X-Sdk-Date checks, token expiry and timestamps. @default Date.now */
  readonly now?: () => number;
  /** Lifetime of IAM tokens the emulator issues. @default 86400000 (24 h) */
  readonly tokenLifetimeMs?: number;
  /** Per git command. @default 60000 */
  readonly gitTimeoutMs?: number;
  /** APIG's access-key lock after repeated signature failures; `false` disables it. @default { maxFailures: 5, durationMs: 300000 } */
  readonly akLockout?: AkLockout | false;
  /** One line per call and per sync job, never with a secret. @default no logging */
  readonly log?: (line: string) => void;
  /** How long every sync job waits before and after its git fetch; change it with `setSyncDelay`. @default none */
  readonly syncDelay?: Partial<SyncDelay>;
  /** APIG's sliding-window limit per API (429 `APIG.0308` with `Retry-After` past it); change it with `setRateLimit`. @default off */
  readonly rateLimit?: RateLimitSpec;
  /** How long a simulated repository's fetch takes: drawn uniformly, integers in ms. @default { min: 1000, max: 3000 } */
  readonly simulatedFetchMs?: FetchTimeRange;
  /** Seeds the draws of simulated fetch times, so a run can be repeated. @default unseeded (Math.random) */
  readonly seed?: number;
}

export interface Emulator {
  /** Base URL for both `CODEHUB_ENDPOINT` and `CODEHUB_IAM_ENDPOINT`, e.g. `http://127.0.0.1:8787`. */
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  /** Fault injection: `faults.set({ throttle: 2 })`, `faults.clear()`. */
  readonly faults: Faults;
  /** CodeHub and IAM calls received so far (a copy; `api` tells them apart). */
  readonly calls: readonly CallRecord[];
  callsTo(api: CallApi): CallRecord[];
  clearCalls(): void;
  /** Registers (or, for an existing id, replaces) a repository. */
  addRepository(spec: RepositorySpec): RepositoryInfo;
  removeRepository(id: number): boolean;
  repositories(): RepositoryInfo[];
  /** What `GET /v4/repositories/{id}/remote-mirror` would answer. */
  mirrorState(id: number): MirrorState | undefined;
  /** The mirror's refs (a git mirror's or a simulated one's): full ref name → object id. */
  mirrorRefs(id: number): Promise<Record<string, string>>;
  /**
   * Moves a simulated repository's upstream ref (`refs/heads/…` or `refs/tags/…`) to `sha` (40 or
   * 64 hex), or deletes it (`null`); later fetches see it. Returns the upstream's refs. Throws
   * `RangeError` for an unknown or git repository, or a bad ref or SHA.
   */
  setUpstreamRef(id: number, ref: string, sha: string | null): Record<string, string>;
  /** Several refs at once, all or none (`null` deletes). As `setUpstreamRef`. */
  setUpstreamRefs(id: number, refs: Readonly<Record<string, string | null>>): Record<string, string>;
  /** A simulated repository's upstream refs. Throws `RangeError` for an unknown or git repository. */
  upstreamRefs(id: number): Record<string, string>;
  job(jid: string): JobInfo | undefined;
  /** Resolves once no sync job is queued or running. @param timeoutMs default 30000 */
  waitForIdle(timeoutMs?: number): Promise<void>;
  /**
   * Makes sync jobs (of one repository, or all) wait before and/or after their git fetch. A trigger
   * while a job waits joins it (same `jid`, no second fetch).
   */
  setSyncDelay(spec: SyncDelaySpec): SyncDelaysSnapshot;
  /** Turns on (or changes) APIG's per-API limit of calls per sliding minute. */
  setRateLimit(spec: RateLimitSpec): RateLimitSnapshot;
  /** Turns the limit off and forgets the calls counted. */
  clearRateLimit(): RateLimitSnapshot;
  /** Removes the delay (of one repository, or all) and ends the waits under way at once. */
  clearSyncDelay(repositoryId?: number): SyncDelaysSnapshot;
  /** Accepts another `X-Auth-Token`. */
  addToken(token: string): void;
  /** Stops the server (dropping open connections), stops git and waits for jobs to end. */
  close(): Promise<void>;
}

const OPTION_KEYS = new Set([
  'port',
  'host',
  'dataDir',
  'credentials',
  'repositories',
  'now',
  'tokenLifetimeMs',
  'gitTimeoutMs',
  'akLockout',
  'log',
  'syncDelay',
  'rateLimit',
  'simulatedFetchMs',
  'seed',
]);

export const DEFAULT_DATA_DIR = '.data/codehub-emulator';

/** A simulated repository's refs, or `RangeError` when there is no repository `id`. */
function known(id: number, refs: Record<string, string> | undefined): Record<string, string> {
  if (refs === undefined) throw new RangeError(`no repository ${id}`);
  return refs;
}

/** Starts the emulator and resolves once it listens. */
export async function startEmulator(options: EmulatorOptions): Promise<Emulator> {
  const unknown = Object.keys(options).filter((key) => !OPTION_KEYS.has(key));
  if (unknown.length > 0) throw new TypeError(`startEmulator: unknown option(s) ${unknown.join(', ')}`);
  const now = options.now ?? Date.now;
  const log = options.log ?? ((): void => undefined);
  const dataDir = resolve(options.dataDir ?? DEFAULT_DATA_DIR);
  await mkdir(dataDir, { recursive: true });

  const closing = new AbortController();
  const authority = createAuthority({
    credentials: options.credentials,
    now,
    tokenLifetimeMs: options.tokenLifetimeMs ?? 24 * 3600 * 1000,
    akLockout: options.akLockout ?? { maxFailures: 5, durationMs: 5 * 60 * 1000 },
  });
  const gitTimeoutMs = options.gitTimeoutMs ?? 60_000;
  const delays = createSyncDelays();
  if (options.syncDelay) delays.set(options.syncDelay);
  const fetchTimes = createFetchTimes(options.simulatedFetchMs ?? DEFAULT_SIMULATED_FETCH_MS, options.seed);
  const mirrors = createMirrorService({ dataDir, now, gitTimeoutMs, log, delays, fetchTimes });
  const faults = createFaults({
    expireTokens: () => {
      const count = authority.expireTokens();
      log(`fault: ${count} token(s) expired`);
    },
    onClearAll: () => {
      authority.restoreConfiguredTokens();
      authority.resetLockouts();
    },
  });
  const calls = createCallLog();
  const rateLimit = createRateLimit(options.rateLimit);
  for (const spec of options.repositories ?? []) mirrors.add(spec);

  let url = '';
  const server = createServer(
    createRequestListener({
      url: () => url,
      dataDir,
      authority,
      mirrors,
      faults,
      calls,
      delays,
      rateLimit,
      gitTimeoutMs,
      now,
      log,
      sleep: (ms) => delay(ms, undefined, { signal: closing.signal }),
    }),
  );
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', fail);
      done();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  url = `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${address.port}`;

  let closed: Promise<void> | undefined;
  return {
    url,
    port: address.port,
    dataDir,
    faults,
    get calls() {
      return calls.list();
    },
    callsTo: (api) => calls.list(api),
    clearCalls: () => calls.clear(),
    addRepository: (spec) => mirrors.add(spec),
    removeRepository: (id) => mirrors.remove(id),
    repositories: () => mirrors.list(),
    mirrorState: (id) => mirrors.state(id),
    mirrorRefs: async (id) => (await mirrors.refs(id)).refs,
    setUpstreamRef: (id, ref, sha) => known(id, mirrors.setUpstreamRefs(id, { [ref]: sha })),
    setUpstreamRefs: (id, refs) => known(id, mirrors.setUpstreamRefs(id, refs)),
    upstreamRefs: (id) => known(id, mirrors.upstreamRefs(id)),
    job: (jid) => mirrors.job(jid),
    waitForIdle: (timeoutMs) => mirrors.waitForIdle(timeoutMs),
    setSyncDelay: (spec) => delays.set(spec),
    clearSyncDelay: (repositoryId) => delays.clear(repositoryId),
    setRateLimit: (spec) => rateLimit.set(spec),
    clearRateLimit: () => rateLimit.clear(),
    addToken: (token) => authority.addToken(token),
    close() {
      closed ??= (async () => {
        closing.abort();
        const stopped = new Promise<void>((done) => server.close(() => done()));
        server.closeAllConnections();
        await Promise.all([stopped, mirrors.close()]);
      })();
      return closed;
    },
  };
}
