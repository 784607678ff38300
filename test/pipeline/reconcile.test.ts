import { describe, expect, it } from 'vitest';
import type { MirrorStatus } from '../../lib/codehub/client';
import type { MirrorSyncRequest } from '../../lib/codehub/types';
import type { MirrorTarget } from '../../lib/config/types';
import { CodeHubError, ErrorCodes } from '../../lib/errors';
import { createLogger } from '../../lib/observability/log';
import {
  createPacer,
  decideReconcile,
  metricLine,
  reconcileMirrors,
  type ReconcileCodeHub,
  type ReconcileOptions,
  resolvePathMirrors,
} from '../../lib/pipeline/reconcile';

const NOW = Date.parse('2026-03-01T12:00:00Z');
const HOUR = 60 * 60 * 1000;

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function status(extra: Partial<MirrorStatus> = {}): MirrorStatus {
  return {
    repositoryId: 1,
    updateStatus: 'success',
    lastUpdateAt: iso(NOW - 10 * 60 * 1000),
    lastSuccessfulUpdateAt: iso(NOW - 10 * 60 * 1000),
    numberOfFailures: 0,
    mirroringEnabled: true,
    lastError: undefined,
    url: 'https://github.com/acme/api.git',
    endpointUuid: undefined,
    ...extra,
  };
}

function mirror(repositoryId: number, extra: Partial<MirrorTarget> = {}): MirrorTarget {
  return { source: `github.com/acme/r${repositoryId}`, repositoryId, secrets: undefined, refs: undefined, forceFetch: true, ...extra };
}

describe('decideReconcile', () => {
  it.each([
    ['a fresh success', status(), { sync: false, reason: 'fresh' }],
    ['a success older than the threshold', status({ lastUpdateAt: iso(NOW - 2 * HOUR), lastSuccessfulUpdateAt: iso(NOW - 2 * HOUR) }), { sync: true, reason: 'stale' }],
    ['a failed last attempt', status({ updateStatus: 'failed', lastUpdateAt: iso(NOW - 60_000) }), { sync: true, reason: 'last-attempt-failed' }],
    [
      'an attempt after the last success, status unknown',
      status({ updateStatus: 'weird', lastUpdateAt: iso(NOW - 60_000), lastSuccessfulUpdateAt: iso(NOW - 30 * 60_000) }),
      { sync: true, reason: 'last-attempt-failed' },
    ],
    ['a mirror never synced', status({ updateStatus: 'init', lastUpdateAt: undefined, lastSuccessfulUpdateAt: undefined }), { sync: true, reason: 'never-synced' }],
    ['an unreadable timestamp', status({ lastSuccessfulUpdateAt: 'yesterday-ish' }), { sync: true, reason: 'never-synced' }],
    ['a sync under way', status({ updateStatus: 'running', lastUpdateAt: iso(NOW - 60_000), lastSuccessfulUpdateAt: iso(NOW - 3 * HOUR) }), { sync: false, reason: 'running' }],
    [
      'a sync "running" for longer than the threshold',
      status({ updateStatus: 'running', lastUpdateAt: iso(NOW - 2 * HOUR), lastSuccessfulUpdateAt: iso(NOW - 3 * HOUR) }),
      { sync: true, reason: 'stale' },
    ],
    ['mirroring disabled in CodeHub', status({ mirroringEnabled: false, updateStatus: 'failed' }), { sync: false, reason: 'disabled' }],
  ])('decides for %s', (_name, mirrorStatus, verdict) => {
    // Act
    const decision = decideReconcile(mirrorStatus, NOW, HOUR);
    // Assess
    expect(decision).toEqual(verdict);
  });
});

describe('createPacer', () => {
  it('spaces calls 1000/rate ms apart', async () => {
    // Prepare
    let time = 0;
    const starts: number[] = [];
    const pace = createPacer(5, () => time, (ms) => {
      time += ms;
      return Promise.resolve();
    });
    // Act
    for (let i = 0; i < 4; i += 1) {
      await pace();
      starts.push(time);
    }
    // Assess
    expect(starts).toEqual([0, 200, 400, 600]);
  });
});

interface FakeOptions {
  readonly statuses: Record<number, MirrorStatus | Error | (MirrorStatus | Error)[]>;
  readonly syncFails?: Record<number, Error>;
  /** Virtual ms each call takes. */
  readonly callMs?: number;
}

/** A CodeHub stand-in on a virtual clock: records every call with its start time and the calls in flight. */
function fakeCodeHub(options: FakeOptions) {
  let time = NOW;
  let inFlight = 0;
  let maxInFlight = 0;
  const calls: { kind: 'status' | 'sync'; repositoryId: number; at: number; request?: MirrorSyncRequest }[] = [];
  const sleep = async (ms: number): Promise<void> => {
    const until = time + ms;
    // Yield so other workers run, then move the clock (never backwards).
    await new Promise((resolve) => setImmediate(resolve));
    time = Math.max(time, until);
  };
  const perRepo = new Map<number, number>();
  async function during<T>(work: () => T): Promise<T> {
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    try {
      await sleep(options.callMs ?? 50);
      return work();
    } finally {
      inFlight -= 1;
    }
  }
  const codehub: ReconcileCodeHub = {
    getMirrorStatus(repositoryId) {
      calls.push({ kind: 'status', repositoryId, at: time });
      return during(() => {
        const answer = options.statuses[repositoryId];
        const index = perRepo.get(repositoryId) ?? 0;
        perRepo.set(repositoryId, index + 1);
        const current = Array.isArray(answer) ? answer[Math.min(index, answer.length - 1)] : answer;
        if (current === undefined) throw new CodeHubError(ErrorCodes.CODEHUB_REJECTED, 'Repository Not Found', { status: 404 });
        if (current instanceof Error) throw current;
        return current;
      });
    },
    startMirrorSync(repositoryId, request) {
      calls.push({ kind: 'sync', repositoryId, at: time, request });
      return during(() => {
        const failure = options.syncFails?.[repositoryId];
        if (failure) throw failure;
        return { jid: `jid-${repositoryId}` };
      });
    },
  };
  return { codehub, calls, sleep, now: () => time, maxInFlight: () => maxInFlight };
}

function run(fake: ReturnType<typeof fakeCodeHub>, mirrors: readonly MirrorTarget[], extra: Partial<ReconcileOptions> = {}) {
  const lines: Record<string, unknown>[] = [];
  const metrics: string[] = [];
  const result = reconcileMirrors({
    mirrors,
    codehub: fake.codehub,
    logger: createLogger({ level: 'debug', write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>) }),
    now: fake.now,
    sleep: fake.sleep,
    writeMetrics: (line) => metrics.push(line),
    retry: { random: () => 0.5 },
    ...extra,
  });
  return { result, lines, metrics };
}

const STALE = status({ lastUpdateAt: iso(NOW - 2 * HOUR), lastSuccessfulUpdateAt: iso(NOW - 2 * HOUR) });
const FAILED = status({ updateStatus: 'failed' });

describe('reconcileMirrors', () => {
  it('syncs the stale and the failed mirrors and leaves the fresh ones', async () => {
    // Prepare
    const fake = fakeCodeHub({ statuses: { 1: status(), 2: STALE, 3: FAILED, 4: status({ mirroringEnabled: false }) } });
    // Act
    const summary = await run(fake, [mirror(1), mirror(2, { username: 'bot', password: 'pat' }), mirror(3), mirror(4)]).result;
    // Assess
    expect(summary).toMatchObject({ mirrors: 4, checked: 4, triggered: 2, left: 2, failed: 0, notReached: 0 });
    const syncs = fake.calls.filter((c) => c.kind === 'sync');
    expect(syncs.map((c) => c.repositoryId).sort()).toEqual([2, 3]);
    expect(syncs.find((c) => c.repositoryId === 2)?.request).toEqual({ forceFetch: true, username: 'bot', password: 'pat', endpointUuid: undefined });
  });

  it('reads each CodeHub repository once, even when several sources mirror into it', async () => {
    // Prepare
    const fake = fakeCodeHub({ statuses: { 7: STALE } });
    // Act
    await run(fake, [mirror(7), mirror(7, { source: 'gitlab.com/acme/r7' })]).result;
    // Assess
    expect(fake.calls.map((c) => c.kind)).toEqual(['status', 'sync']);
  });

  it('carries on past a mirror that fails, and counts it', async () => {
    // Prepare
    const fake = fakeCodeHub({
      statuses: { 1: new CodeHubError(ErrorCodes.CODEHUB_REJECTED, 'Repository Not Found', { status: 404 }), 2: STALE, 3: STALE },
      syncFails: { 2: new CodeHubError(ErrorCodes.CODEHUB_SIGNATURE_FAILED, 'signature rejected', { status: 401 }) },
    });
    // Act
    const { result, lines } = run(fake, [mirror(1), mirror(2), mirror(3)]);
    const summary = await result;
    // Assess
    expect(summary).toMatchObject({ mirrors: 3, checked: 2, triggered: 1, failed: 2 });
    expect(summary.outcomes).toContainEqual(expect.objectContaining({ repositoryId: 1, outcome: 'failed', stage: 'status', code: ErrorCodes.CODEHUB_REJECTED }));
    expect(summary.outcomes).toContainEqual(expect.objectContaining({ repositoryId: 2, outcome: 'failed', stage: 'sync', code: ErrorCodes.CODEHUB_SIGNATURE_FAILED }));
    expect(summary.outcomes).toContainEqual(expect.objectContaining({ repositoryId: 3, outcome: 'triggered' }));
    // Neither 404 nor a signature failure is retried.
    expect(fake.calls.filter((c) => c.repositoryId !== 3)).toHaveLength(3);
    expect(lines.at(-1)).toMatchObject({ level: 'warn', message: 'reconcile finished with failures', failed: 2 });
  });

  it('retries a 5xx, and a 429 after its Retry-After', async () => {
    // Prepare
    const fake = fakeCodeHub({
      statuses: {
        1: [new CodeHubError(ErrorCodes.CODEHUB_SERVER_ERROR, '500', { status: 500 }), STALE],
        2: [new CodeHubError(ErrorCodes.CODEHUB_THROTTLED, '429', { status: 429, retryAfterSeconds: 2 }), status()],
      },
    });
    // Act
    const summary = await run(fake, [mirror(1), mirror(2)]).result;
    // Assess
    expect(summary).toMatchObject({ triggered: 1, left: 1, failed: 0 });
    const reads = fake.calls.filter((c) => c.repositoryId === 2 && c.kind === 'status');
    expect((reads[1]?.at ?? 0) - (reads[0]?.at ?? 0)).toBeGreaterThanOrEqual(2000);
  });

  it('keeps to the rate and the concurrency', async () => {
    // Prepare
    const statuses: Record<number, MirrorStatus> = {};
    for (let id = 1; id <= 12; id += 1) statuses[id] = STALE;
    const fake = fakeCodeHub({ statuses, callMs: 10 });
    // Act
    const summary = await run(fake, Object.keys(statuses).map((id) => mirror(Number(id))), { ratePerSecond: 5, concurrency: 2 }).result;
    // Assess
    expect(summary.triggered).toBe(12);
    const starts = fake.calls.map((c) => c.at).sort((a, b) => a - b);
    expect(starts).toHaveLength(24);
    for (let i = 1; i < starts.length; i += 1) expect((starts[i] ?? 0) - (starts[i - 1] ?? 0)).toBeGreaterThanOrEqual(200);
    expect(fake.maxInFlight()).toBeLessThanOrEqual(2);
  });

  it('leaves the mirrors it cannot start before the deadline for the next run', async () => {
    // Prepare
    const statuses: Record<number, MirrorStatus> = { 1: STALE, 2: STALE, 3: STALE, 4: STALE };
    const fake = fakeCodeHub({ statuses });
    // Act
    const summary = await run(fake, [mirror(1), mirror(2), mirror(3), mirror(4)], { ratePerSecond: 1, concurrency: 1, deadline: NOW + 2500 }).result;
    // Assess
    expect(summary.notReached).toBeGreaterThan(0);
    expect(summary.triggered + summary.notReached).toBe(4);
    // One at a time, in config order: the last ones are those left over.
    expect(summary.outcomes.filter((o) => o.outcome === 'not-reached').map((o) => o.repositoryId)).toEqual([1, 2, 3, 4].slice(4 - summary.notReached));
  });

  it('writes one summary log line and one EMF metric line per run', async () => {
    // Prepare
    const fake = fakeCodeHub({ statuses: { 1: STALE, 2: status() } });
    // Act
    const { result, lines, metrics } = run(fake, [mirror(1), mirror(2)], { service: 'bridge-test' });
    await result;
    // Assess
    const finished = lines.filter((line) => String(line['message']).startsWith('reconcile finished'));
    expect(finished).toHaveLength(1);
    expect(finished[0]).toMatchObject({ level: 'info', mirrors: 2, checked: 2, triggered: 1, triggeredRepositories: [{ repositoryId: 1, reason: 'stale', jid: 'jid-1' }] });
    expect(metrics).toHaveLength(1);
    const emf = JSON.parse(metrics[0] ?? '{}') as Record<string, unknown> & { _aws: { Timestamp: number; CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] } };
    expect(emf._aws.CloudWatchMetrics[0]).toMatchObject({ Namespace: 'CodeHubMirrorBridge', Dimensions: [['service']] });
    expect(emf._aws.CloudWatchMetrics[0]?.Metrics).toContainEqual({ Name: 'ReconcileTriggered', Unit: 'Count' });
    expect(emf).toMatchObject({ service: 'bridge-test', ReconcileTriggered: 1, ReconcileChecked: 2, ReconcileFailed: 0 });
    expect(typeof emf._aws.Timestamp).toBe('number');
  });

  it('writes the metric line even when there is nothing to reconcile', async () => {
    // Prepare
    const fake = fakeCodeHub({ statuses: {} });
    // Act
    const { result, metrics } = run(fake, []);
    const summary = await result;
    // Assess
    expect(summary).toMatchObject({ mirrors: 0, triggered: 0 });
    expect(metrics).toHaveLength(1);
  });
});

describe('metricLine', () => {
  it('names every value it declares', () => {
    // Act
    const line = JSON.parse(metricLine({ mirrors: 1, checked: 1, triggered: 1, left: 0, failed: 0, notReached: 0, durationMs: 5, outcomes: [] }, { service: 's', timestamp: 1 })) as Record<string, unknown> & {
      _aws: { CloudWatchMetrics: { Metrics: { Name: string }[] }[] };
    };
    // Assess
    for (const { Name } of line._aws.CloudWatchMetrics[0]?.Metrics ?? []) expect(typeof line[Name]).toBe('number');
  });
});

describe('resolvePathMirrors', () => {
  it('turns mirrors by CodeHub path into mirrors by id, and reports the targets that do not resolve', async () => {
    // Prepare
    const base = { secrets: undefined, refs: undefined, forceFetch: true };
    const pathMirrors = [
      { ...base, source: 'github.com/acme/web', target: 'acme-mirror/web' },
      { ...base, source: 'github.com/acme/gone', target: 'acme-mirror/gone' },
    ];
    const ids: Record<string, number> = { 'acme-mirror/web': 77 };
    // Act
    const { mirrors, unresolved } = await resolvePathMirrors(pathMirrors, async (target) => {
      const id = ids[target];
      if (id === undefined) throw new Error(`no repository ${target}`);
      return id;
    });
    // Assess
    expect(mirrors).toEqual([{ ...base, source: 'github.com/acme/web', repositoryId: 77 }]);
    expect(unresolved).toEqual([{ target: 'acme-mirror/gone', error: 'no repository acme-mirror/gone' }]);
  });
});
