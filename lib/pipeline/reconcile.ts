/**
 * The periodic reconcile: the safety net for pushes no webhook reported (a host's outage, its size
 * and ref-count limits, a delivery that failed and was never redelivered). For every configured
 * mirror it reads CodeHub's mirror state and starts a sync where the last success is too old or
 * the last attempt failed.
 *
 * Gentle with a shared limit: CodeHub's APIG allows 600 calls/min per API per region for every
 * tenant together, so calls are paced (every HTTP call, retries included) and few run at once.
 * One mirror's failure is logged and counted; it never stops the others.
 */
import type { MirrorStatus } from '../codehub/client';
import { DEFAULT_RETRY_POLICY, sleep as sleepFor, withRetry, type RetryPolicy } from '../codehub/retry';
import type { CallOptions, MirrorSyncRequest, MirrorSyncResult } from '../codehub/types';
import type { MirrorTarget, PathMirror } from '../config/types';
import { CodeHubError, ErrorCodes } from '../errors';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../observability/lambda';
import type { Logger } from '../observability/log';
import { DEFAULT_RECONCILE_SETTINGS, type ReconcileSettings } from './settings';

/** The two CodeHub calls the reconcile makes. */
export interface ReconcileCodeHub {
  getMirrorStatus(repositoryId: number, options?: CallOptions): Promise<MirrorStatus>;
  startMirrorSync(repositoryId: number, request: MirrorSyncRequest, options?: CallOptions): Promise<MirrorSyncResult>;
}

export interface ReconcileOptions extends Partial<ReconcileSettings> {
  readonly mirrors: readonly MirrorTarget[];
  /** Called without a deadline (one HTTP call each): the reconcile paces and retries itself. */
  readonly codehub: ReconcileCodeHub;
  readonly logger: Logger;
  /** Epoch ms after which no mirror is started (the Lambda's remaining time, less a margin). */
  readonly deadline?: number | undefined;
  /** Time one mirror may take, retries included. @default 20000 */
  readonly mirrorBudgetMs?: number;
  /** @default DEFAULT_RETRY_POLICY */
  readonly retry?: Partial<RetryPolicy>;
  /** Where the EMF metric line goes. @default stdout */
  readonly writeMetrics?: (line: string) => void;
  /** The `service` dimension of the metrics. @default SERVICE_NAME */
  readonly service?: string;
  /** @default Date.now */
  readonly now?: () => number;
  /** @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
}

export type ReconcileVerdict =
  | { readonly sync: true; readonly reason: 'never-synced' | 'last-attempt-failed' | 'stale' }
  | { readonly sync: false; readonly reason: 'fresh' | 'running' | 'disabled' };

export type MirrorOutcome =
  | { readonly repositoryId: number; readonly outcome: 'triggered'; readonly reason: string; readonly jid: string }
  | { readonly repositoryId: number; readonly outcome: 'left'; readonly reason: string }
  | { readonly repositoryId: number; readonly outcome: 'failed'; readonly stage: 'status' | 'sync'; readonly code: string; readonly error: string }
  | { readonly repositoryId: number; readonly outcome: 'not-reached' };

export interface ReconcileSummary {
  /** Distinct CodeHub repositories configured. */
  readonly mirrors: number;
  /** Whose state was read. */
  readonly checked: number;
  readonly triggered: number;
  /** Read and left alone (fresh, running or disabled). */
  readonly left: number;
  readonly failed: number;
  /** Not started before the deadline. */
  readonly notReached: number;
  readonly durationMs: number;
  readonly outcomes: readonly MirrorOutcome[];
}

const RUNNING = /^(running|syncing|queued|pending|in[_ -]?progress|started)$/i;
const FAILED = /fail|error/i;

function timeOf(text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  const time = Date.parse(text);
  return Number.isNaN(time) ? undefined : time;
}

/**
 * Whether a mirror needs a sync, from its CodeHub state. `update_status` values are undocumented
 * (`init`, `running`, `success`, `failed` are what is seen), so the timestamps decide where the
 * status says nothing clear: a last attempt later than the last success is a failed attempt.
 */
export function decideReconcile(status: MirrorStatus, now: number, staleAfterMs: number): ReconcileVerdict {
  if (status.mirroringEnabled === false) return { sync: false, reason: 'disabled' };
  const lastAttempt = timeOf(status.lastUpdateAt);
  const lastSuccess = timeOf(status.lastSuccessfulUpdateAt);
  const updateStatus = status.updateStatus ?? '';
  // A sync under way is left to finish, unless it has been "running" for longer than the threshold.
  if (RUNNING.test(updateStatus) && lastAttempt !== undefined && now - lastAttempt < staleAfterMs) {
    return { sync: false, reason: 'running' };
  }
  if (FAILED.test(updateStatus)) return { sync: true, reason: 'last-attempt-failed' };
  if (lastSuccess === undefined) return { sync: true, reason: 'never-synced' };
  if (lastAttempt !== undefined && lastAttempt > lastSuccess && !RUNNING.test(updateStatus)) {
    return { sync: true, reason: 'last-attempt-failed' };
  }
  if (now - lastSuccess > staleAfterMs) return { sync: true, reason: 'stale' };
  return { sync: false, reason: 'fresh' };
}

/** Spaces calls `1000 / ratePerSecond` ms apart, across every worker. */
export function createPacer(ratePerSecond: number, now: () => number, sleep: (ms: number) => Promise<void>): () => Promise<void> {
  const intervalMs = 1000 / ratePerSecond;
  let nextSlot = -Infinity;
  return async function pace() {
    const at = now();
    const slot = Math.max(at, nextSlot);
    nextSlot = slot + intervalMs;
    if (slot > at) await sleep(slot - at);
  };
}

/** One mirror per CodeHub repository: the reconcile syncs repositories, not sources. */
function distinctRepositories(mirrors: readonly MirrorTarget[]): MirrorTarget[] {
  const seen = new Map<number, MirrorTarget>();
  for (const mirror of mirrors) if (!seen.has(mirror.repositoryId)) seen.set(mirror.repositoryId, mirror);
  return [...seen.values()];
}

function describeError(error: unknown): { code: string; error: string } {
  if (error instanceof CodeHubError) return { code: error.code, error: error.message };
  return { code: ErrorCodes.CODEHUB_UNREACHABLE, error: error instanceof Error ? error.message : String(error) };
}

/** Reconciles every configured mirror; resolves with what happened (never rejects for a mirror). */
export async function reconcileMirrors(options: ReconcileOptions): Promise<ReconcileSummary> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? sleepFor;
  const staleAfterMs = options.staleAfterMs ?? DEFAULT_RECONCILE_SETTINGS.staleAfterMs;
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? DEFAULT_RECONCILE_SETTINGS.concurrency));
  const mirrorBudgetMs = options.mirrorBudgetMs ?? 20_000;
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
  const pace = createPacer(options.ratePerSecond ?? DEFAULT_RECONCILE_SETTINGS.ratePerSecond, now, sleep);
  const { codehub, logger } = options;
  const started = now();
  const repositories = distinctRepositories(options.mirrors);
  const outcomes: MirrorOutcome[] = new Array<MirrorOutcome>(repositories.length);

  /** One paced HTTP call per attempt, retried by the shared policy inside the mirror's deadline. */
  function call<T>(deadline: number, run: () => Promise<T>): Promise<T> {
    return withRetry(
      async () => {
        await pace();
        return run();
      },
      { deadline, now, sleep, policy },
    );
  }

  async function reconcileOne(mirror: MirrorTarget): Promise<MirrorOutcome> {
    const repositoryId = mirror.repositoryId;
    const deadline = Math.min(now() + mirrorBudgetMs, options.deadline ?? Infinity);
    let status: MirrorStatus;
    try {
      status = await call(deadline, () => codehub.getMirrorStatus(repositoryId));
    } catch (error) {
      return { repositoryId, outcome: 'failed', stage: 'status', ...describeError(error) };
    }
    const verdict = decideReconcile(status, now(), staleAfterMs);
    if (!verdict.sync) return { repositoryId, outcome: 'left', reason: verdict.reason };
    try {
      const request = { forceFetch: mirror.forceFetch, username: mirror.username, password: mirror.password, endpointUuid: mirror.endpointUuid };
      const { jid } = await call(deadline, () => codehub.startMirrorSync(repositoryId, request));
      return { repositoryId, outcome: 'triggered', reason: verdict.reason, jid };
    } catch (error) {
      return { repositoryId, outcome: 'failed', stage: 'sync', ...describeError(error) };
    }
  }

  let nextIndex = 0;
  async function worker(): Promise<void> {
    for (;;) {
      const index = nextIndex;
      nextIndex += 1;
      const mirror = repositories[index];
      if (mirror === undefined) return;
      if (options.deadline !== undefined && now() >= options.deadline) {
        outcomes[index] = { repositoryId: mirror.repositoryId, outcome: 'not-reached' };
        continue;
      }
      try {
        outcomes[index] = await reconcileOne(mirror);
      } catch (error) {
        // reconcileOne catches CodeHub failures; this is a bug, still not a reason to stop the rest.
        outcomes[index] = { repositoryId: mirror.repositoryId, outcome: 'failed', stage: 'status', ...describeError(error) };
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, repositories.length) }, () => worker()));

  const count = (kind: MirrorOutcome['outcome']): number => outcomes.filter((o) => o.outcome === kind).length;
  const failedStatus = outcomes.filter((o) => o.outcome === 'failed' && o.stage === 'status').length;
  const summary: ReconcileSummary = {
    mirrors: repositories.length,
    checked: repositories.length - count('not-reached') - failedStatus,
    triggered: count('triggered'),
    left: count('left'),
    failed: count('failed'),
    notReached: count('not-reached'),
    durationMs: now() - started,
    outcomes,
  };
  const failures = outcomes.filter((o) => o.outcome === 'failed');
  const triggered = outcomes.filter((o) => o.outcome === 'triggered');
  const line = {
    ...reconcileCounts(summary),
    triggeredRepositories: triggered.map((o) => ({ repositoryId: o.repositoryId, reason: o.reason, jid: o.jid })),
    failures,
  };
  if (summary.failed > 0 || summary.notReached > 0) logger.warn('reconcile finished with failures', line);
  else logger.info('reconcile finished', line);
  const write = options.writeMetrics ?? ((text: string) => void process.stdout.write(`${text}\n`));
  write(metricLine(summary, { service: options.service ?? SERVICE_NAME, timestamp: now() }));
  return summary;
}

/** The summary without the per-mirror detail: what a run returns and its log line leads with. */
export function reconcileCounts(summary: ReconcileSummary): Omit<ReconcileSummary, 'outcomes'> {
  const { mirrors, checked, triggered, left, failed, notReached, durationMs } = summary;
  return { mirrors, checked, triggered, left, failed, notReached, durationMs };
}

/**
 * The run as one CloudWatch Embedded Metric Format line: CloudWatch turns it into metrics
 * (ReconcileChecked, ReconcileTriggered, ReconcileFailed, ReconcileNotReached, ReconcileDuration)
 * without an API call or an agent.
 */
export function metricLine(summary: ReconcileSummary, meta: { readonly service: string; readonly timestamp: number }): string {
  const values = {
    ReconcileChecked: summary.checked,
    ReconcileTriggered: summary.triggered,
    ReconcileFailed: summary.failed,
    ReconcileNotReached: summary.notReached,
    ReconcileDuration: summary.durationMs,
  };
  return JSON.stringify({
    _aws: {
      Timestamp: meta.timestamp,
      CloudWatchMetrics: [
        {
          Namespace: METRICS_NAMESPACE,
          Dimensions: [['service']],
          Metrics: Object.keys(values).map((name) => ({ Name: name, Unit: name === 'ReconcileDuration' ? 'Milliseconds' : 'Count' })),
        },
      ],
    },
    service: meta.service,
    ...values,
  });
}

/**
 * Mirrors configured by CodeHub path (`target: group/name`), as mirrors by id, for a reconcile run:
 * each target resolved (and cached) like a delivery would. A target that does not resolve is left
 * out of this run and reported; wildcard mirrors cannot be listed (their sources are only known
 * when a push names them), so the reconcile covers them only once a delivery has synced them.
 */
export async function resolvePathMirrors(
  pathMirrors: readonly PathMirror[],
  resolve: (target: string) => Promise<number>,
): Promise<{ mirrors: MirrorTarget[]; unresolved: { target: string; error: string }[] }> {
  const settled = await Promise.allSettled(pathMirrors.map((m) => resolve(m.target)));
  const mirrors: MirrorTarget[] = [];
  const unresolved: { target: string; error: string }[] = [];
  settled.forEach((outcome, i) => {
    const { target, ...mirror } = pathMirrors[i] as PathMirror;
    if (outcome.status === 'fulfilled') mirrors.push({ ...mirror, repositoryId: outcome.value });
    else unresolved.push({ target, error: outcome.reason instanceof Error ? outcome.reason.message : String(outcome.reason) });
  });
  return { mirrors, unresolved };
}
