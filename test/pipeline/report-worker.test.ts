import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startStatusHost, type StatusHost } from '../../dev/status-host';
import { GiveUpCodes } from '../../lib/ledger/confirm';
import { createReportGate, type ReportGate } from '../../lib/pipeline/report-gate';
import { isReported } from '../../lib/pipeline/report-plan';
import { createStatusSender, type SendStatus } from '../../lib/pipeline/report-send';
import { startDurableEngines, type DurableEngines } from '../support/durable';
import { echoTokenWith, linesAt, newToken, pushEntry, randomSha, reportIndex, reportTaskOf, reportWorld, startLoopback, TOKEN_PREFIX, visibleBodies } from '../support/report';

/**
 * The reporting worker against the real engines: the ledger and the shared gate in dynalite, the push
 * queue in fauxqs, the real sender over HTTP to the status-host fake. Each test has its own token, so
 * its own reporter: one test's pause, rejection or spent budget never reaches another.
 */

let durable: DurableEngines;
let host: StatusHost;
let gate: ReportGate;
const world = reportWorld({ durable: () => durable, host: () => host, gate: () => gate });
const { newSource, setup, harness, recorded } = world;

beforeAll(async () => {
  durable = await startDurableEngines();
  host = await startStatusHost();
  gate = createReportGate({ tableName: durable.tableName });
}, 60_000);
beforeEach(() => {
  host.reset();
  world.forget();
});
// Whatever a test did, no token reached a log line, a metric, an outcome or a queued task.
afterEach(() => {
  for (const { lines, metrics, queued, outcomes } of world.harnesses) expect(JSON.stringify({ lines, metrics, queued, outcomes })).not.toContain(TOKEN_PREFIX);
});
afterAll(async () => {
  gate?.close();
  await host?.close();
  await durable?.close();
});

describe('createReportWorker: the state the ledger holds', () => {
  it('sets a pending status on each pushed commit of a triggered push, linked to the push', async () => {
    // Prepare
    const { source, index } = setup();
    const [a, b] = [randomSha(), randomSha()];
    const entry = await recorded({ source, shas: [a, b] });
    const h = harness(index, { settings: { targetUrl: 'https://bridge.example.com/pushes/{push_id}' } });
    // Act
    const outcome = await h.worker.handle(reportTaskOf(entry));
    // Assess
    expect(outcome).toEqual({ kind: 'reported', state: 'pending', shas: [a, b] });
    expect(host.statuses().map(({ sha }) => sha)).toEqual([a, b]);
    expect(host.statuses({ sha: a })).toMatchObject([
      { api: 'github', repository: source.slice('github.com/'.length), state: 'pending', context: 'CodeArts mirror', description: 'mirroring to CodeArts repository 1' },
    ]);
    expect(host.statuses({ sha: a })[0]).toMatchObject({ targetUrl: `https://bridge.example.com/pushes/${entry.pushId}`, authorization: 'present' });
    expect(h.metrics).toEqual(['ReportsSent', 'ReportsSent']);
    expect([...linesAt(h, 'warn'), ...linesAt(h, 'error')]).toEqual([]);
  });

  it.each([
    ['mirrored', { state: 'mirrored', confirmedAt: Date.UTC(2026, 0, 2, 3, 4, 5) }, 'success', 'mirrored to CodeArts repository 1 at 2026-01-02T03:04:05Z'],
    ['failed', { state: 'failed', lastError: { code: GiveUpCodes.NOT_MIRRORED, message: 'b0 is behind', at: 1 } }, 'failure', 'not mirrored to CodeArts repository 1: b0 is behind'],
  ] as const)('sets the final status of a %s push', async (_, mirror, state, description) => {
    // Prepare
    const { source, index } = setup();
    const entry = await recorded({ source, mirrors: [mirror] });
    // Act
    const outcome = await harness(index).worker.handle(reportTaskOf(entry));
    // Assess
    expect(outcome).toMatchObject({ kind: 'reported', state });
    expect(host.statuses()).toMatchObject([{ state, context: 'CodeArts mirror', description }]);
  });

  it('gives each mirror of a fan-out its own context', async () => {
    // Prepare
    const source = newSource();
    const { index } = setup({ mirrors: [{ source, repository_id: 1 }, { source, target: 'group/name' }] });
    const entry = await recorded({ source, mirrors: [{ repositoryId: 1 }, { repositoryId: 2, target: 'group/name' }] });
    const { worker } = harness(index);
    // Act
    const outcomes = [await worker.handle(reportTaskOf(entry, '1')), await worker.handle(reportTaskOf(entry, 'group/name'))];
    // Assess
    expect(outcomes.map((outcome) => outcome.kind)).toEqual(['reported', 'reported']);
    expect(host.statuses().map(({ context }) => context)).toEqual(['CodeArts mirror (repository 1)', 'CodeArts mirror (group/name)']);
  });

  it('reports the final state of a push confirmed while its pending status was on the way', async () => {
    // Prepare
    const { source, index } = setup();
    const sha = randomSha();
    const entry = await recorded({ source, shas: [sha] });
    const real = createStatusSender({ timeoutMs: 2000 });
    let confirmed = false;
    const send: SendStatus = async (request, token) => {
      if (!confirmed) {
        confirmed = true;
        await durable.store.updateMirror(entry.pushId, '1', { event: 'confirmed', heads: { 'refs/heads/b0': { sha } }, at: Date.UTC(2026, 0, 2) });
      }
      return real(request, token);
    };
    // Act
    const outcome = await harness(index, { send }).worker.handle(reportTaskOf(entry));
    // Assess
    expect(outcome).toEqual({ kind: 'reported', state: 'success', shas: [sha] });
    expect(host.statuses({ sha }).map(({ state, description }) => [state, description])).toEqual([
      ['pending', 'mirroring to CodeArts repository 1'],
      ['success', 'mirrored to CodeArts repository 1 at 2026-01-02T00:00:00Z'],
    ]);
  });
});

describe('createReportWorker: a rejected token', () => {
  it("stops its reporter with one ERROR line, sends nothing more for it, and leaves another token's reporting alone", async () => {
    // Prepare: a second source reports with a token of its own.
    const [source, own] = [newSource(), newSource()];
    const { index } = setup({ mirrors: [{ source, repository_id: 1 }, { source: own, repository_id: 1, report: { token: newToken(), api_url: host.apiUrl('github') } }] });
    const h = harness(index);
    host.fault({ status: 401, times: 1 });
    // Act
    const first = await h.worker.handle(reportTaskOf(await recorded({ source })));
    const sent = host.requests().length;
    const later = await h.worker.handle(reportTaskOf(await recorded({ source })));
    const unsent = host.requests().length - sent;
    const other = await h.worker.handle(reportTaskOf(await recorded({ source: own })));
    // Assess
    expect([first, later]).toEqual([{ kind: 'disabled' }, { kind: 'disabled' }]);
    expect(unsent).toBe(0);
    expect(other).toMatchObject({ kind: 'reported', state: 'pending' });
    expect(linesAt(h, 'error')).toMatchObject([{ message: expect.stringContaining('rejected the reporting token'), fields: { status: 401, apiHost: new URL(host.url).host } }]);
    expect(h.metrics.filter((name) => name === 'ReportRejected')).toHaveLength(1);
  });

  it('says so once when two containers are rejected at the same time', async () => {
    // Prepare: both containers' requests wait for each other, so both are answered 401.
    const { source, index } = setup();
    const real = createStatusSender({ timeoutMs: 2000 });
    const waiting: (() => void)[] = [];
    const together: SendStatus = async (request, token) => {
      if (waiting.length < 2) await new Promise<void>((resolve) => (waiting.push(resolve) === 2 ? waiting.forEach((go) => go()) : undefined));
      return real(request, token);
    };
    const otherGate = createReportGate({ tableName: durable.tableName });
    const [one, two] = [harness(index, { send: together }), harness(index, { send: together, gate: otherGate })];
    host.fault({ status: 401, times: 2 });
    // Act
    const outcomes = await Promise.all([one.worker.handle(reportTaskOf(await recorded({ source }))), two.worker.handle(reportTaskOf(await recorded({ source })))]);
    const after = await two.worker.handle(reportTaskOf(await recorded({ source })));
    otherGate.close();
    // Assess
    expect(host.refused()).toHaveLength(2);
    expect([...outcomes, after]).toEqual([{ kind: 'disabled' }, { kind: 'disabled' }, { kind: 'disabled' }]);
    expect([...linesAt(one, 'error'), ...linesAt(two, 'error')]).toHaveLength(1);
    expect([...one.metrics, ...two.metrics].filter((name) => name === 'ReportRejected')).toHaveLength(1);
    expect(host.requests()).toHaveLength(2);
  });
});

describe('createReportWorker: waiting', () => {
  it("waits the host's Retry-After, back on the queue unchanged, and holds every task of the reporter meanwhile", async () => {
    // Prepare
    const { source, index } = setup();
    const now = Date.now();
    const h = harness(index, { now: () => now });
    const entry = await recorded({ source });
    host.fault({ status: 429, headers: { 'retry-after': '7' } });
    // Act
    const outcome = await h.worker.handle(reportTaskOf(entry));
    const visible = await visibleBodies(durable);
    const requests = host.requests().length;
    const held = await h.worker.handle(reportTaskOf(await recorded({ source })));
    // Assess
    expect(outcome).toEqual({ kind: 'waiting', delaySeconds: 7, why: 'the host asked to wait' });
    expect(h.queued[0]).toEqual({ task: reportTaskOf(entry), delaySeconds: 7 });
    expect(visible.filter((body) => body.includes(entry.pushId))).toEqual([]);
    expect(held).toEqual({ kind: 'waiting', delaySeconds: 7, why: 'the host asked to wait' });
    expect(host.requests()).toHaveLength(requests);
    expect(h.metrics).toEqual(['ReportThrottled']);
    expect(linesAt(h, 'warn')).toMatchObject([{ fields: { status: 429, retryAfterMs: 7000 } }]);
  });

  it('tries a failing host again with a doubling backoff, counting attempts, and drops the status at maxAttempts', async () => {
    // Prepare
    const { source, index } = setup();
    const h = harness(index, { settings: { maxAttempts: 3 } });
    const entry = await recorded({ source });
    host.fault({ status: 500, times: Number.POSITIVE_INFINITY });
    // Act
    const outcomes = [];
    for (const attempt of [1, 2, 3]) outcomes.push(await h.worker.handle(reportTaskOf(entry, '1', attempt)));
    const capped = await harness(index, { settings: { maxAttempts: 100 } }).worker.handle(reportTaskOf(entry, '1', 8));
    // Assess
    expect(outcomes.slice(0, 2)).toEqual([
      { kind: 'waiting', delaySeconds: 15, why: 'the host failed: 500' },
      { kind: 'waiting', delaySeconds: 30, why: 'the host failed: 500' },
    ]);
    expect(h.queued.map(({ task, delaySeconds }) => [task.attempt, delaySeconds])).toEqual([[2, 15], [3, 30]]);
    expect(outcomes[2]).toEqual({ kind: 'dropped', reason: expect.stringMatching(/^the host failed 3 times: 500 /) });
    expect(h.metrics).toEqual(['ReportDropped']);
    expect(linesAt(h, 'warn')).toMatchObject([{ message: 'commit status not reported', fields: { pushId: entry.pushId } }]);
    expect(capped).toMatchObject({ kind: 'waiting', delaySeconds: 900 });
  });

  it.each([404, 422])('drops a status the host refuses with %i, with a WARN line', async (status) => {
    // Prepare
    const { source, index } = setup();
    const h = harness(index);
    host.fault({ status });
    // Act
    const outcome = await h.worker.handle(reportTaskOf(await recorded({ source })));
    // Assess
    expect(outcome).toEqual({ kind: 'dropped', reason: expect.stringContaining(`the host refused the status: ${status} `) });
    expect([h.metrics, h.queued]).toEqual([['ReportDropped'], []]);
    expect(linesAt(h, 'warn')).toHaveLength(1);
  });

  it("keeps to the reporter's budget per minute: the third task waits for the next minute", async () => {
    // Prepare: 20 s into a clock minute.
    const { source, index } = setup();
    const now = Math.floor(Date.now() / 60_000) * 60_000 + 20_000;
    const h = harness(index, { settings: { maxCallsPerMinute: 2 }, now: () => now });
    const entries = [await recorded({ source }), await recorded({ source }), await recorded({ source })];
    // Act
    const outcomes = [];
    for (const entry of entries) outcomes.push(await h.worker.handle(reportTaskOf(entry)));
    // Assess
    expect(outcomes.map((outcome) => outcome.kind)).toEqual(['reported', 'reported', 'waiting']);
    expect(outcomes[2]).toEqual({ kind: 'waiting', delaySeconds: 40, why: 'the reporter spent its budget for this minute' });
    expect(host.statuses()).toHaveLength(2);
    expect(h.queued).toMatchObject([{ task: { push_id: entries[2]?.pushId, attempt: 1 }, delaySeconds: 40 }]);
  });
});

describe('createReportWorker: nothing to report', () => {
  it.each([
    ['no token is configured', { token: null }, {}, 'no report token is configured for github.com'],
    ['the push came from Gitee', {}, { source: 'gitee.com/acme/app', provider: 'gitee' }, 'gitee has no commit-status API the bridge can set'],
    ['the push came from no provider', {}, { provider: null }, 'the push came from no host with a status API'],
    ['the push is of deletions only', {}, { mirrors: [{ refs: [] }] }, 'the mirror waits for no commit'],
  ] as const)('sends nothing when %s, and says so at DEBUG only', async (_, config, push, reason) => {
    // Prepare
    const { source, index } = setup(config);
    const h = harness(index);
    // Act
    const outcome = await h.worker.handle(reportTaskOf(await recorded({ source, ...push })));
    // Assess
    expect(outcome).toEqual({ kind: 'dropped', reason });
    expect([h.metrics, h.queued, host.requests()]).toEqual([[], [], []]);
    expect(h.lines.map(({ level }) => level)).toEqual(['debug']);
  });

  it('looks again in 5 s for a young push the ledger does not show yet, and drops an old one', async () => {
    // Prepare: never recorded.
    const { source, index } = setup();
    const h = harness(index);
    const young = pushEntry({ source });
    const old = pushEntry({ source, arrivedAt: Date.now() - 61_000 });
    // Act
    const outcomes = [await h.worker.handle(reportTaskOf(young)), await h.worker.handle(reportTaskOf(old))];
    // Assess
    expect(outcomes).toEqual([
      { kind: 'waiting', delaySeconds: 5, why: 'the push is not in the ledger yet' },
      { kind: 'dropped', reason: 'the ledger has no such push' },
    ]);
    expect(h.queued).toEqual([{ task: reportTaskOf(young), delaySeconds: 5 }]);
    expect(h.metrics).toEqual(['ReportDropped']);
    expect(host.requests()).toEqual([]);
  });

  it('drops a task for a mirror the push does not have', async () => {
    // Prepare
    const { source, index } = setup();
    const h = harness(index);
    // Act
    const outcome = await h.worker.handle(reportTaskOf(await recorded({ source }), '99'));
    // Assess
    expect(outcome).toEqual({ kind: 'dropped', reason: 'the push has no such mirror' });
    expect([h.metrics, linesAt(h, 'warn').length, host.requests()]).toEqual([['ReportDropped'], 1, []]);
  });
});

describe('createReportWorker: the token stays secret', () => {
  it.each([
    [422, 1],
    [500, 6],
  ])('keeps a token a host echoes (%i) out of the reason, the log and the queue', async (status, attempt) => {
    // Prepare
    const echo = await startLoopback(echoTokenWith(status));
    const source = newSource();
    const { index } = setup({ mirrors: [{ source, repository_id: 1, report: { token: newToken(), api_url: echo.url } }] });
    const h = harness(index);
    // Act
    const outcome = await h.worker.handle(reportTaskOf(await recorded({ source }), '1', attempt));
    await echo.close();
    // Assess
    expect(echo.received()).toBe(1);
    expect(outcome).toEqual({ kind: 'dropped', reason: expect.stringContaining('<redacted>') });
    expect(JSON.stringify(h.lines)).toContain('<redacted>');
  });
});

describe('isReported', () => {
  const source = 'github.com/acme/one';
  const index = reportIndex({ apiUrl: 'https://ghe.example.com/api/v3', hostToken: newToken(), mirrors: [{ source, repository_id: 1 }] });
  const bare = reportIndex({ apiUrl: 'https://ghe.example.com/api/v3', mirrors: [{ source, repository_id: 1 }] });
  const own = { token: newToken(), apiUrl: undefined };

  it.each([
    ['a GitHub push with the host token', index, 'github', { source, report: undefined }, true],
    ['a GitHub push with a token of its own', bare, 'github', { source, report: own }, true],
    ['a GitHub push with no token anywhere', bare, 'github', { source, report: undefined }, false],
    ['a push from no provider (CodeCommit)', index, undefined, { source, report: own }, false],
    ['a Gitee push, though gitee.com has a token', index, 'gitee', { source: 'gitee.com/acme/one', report: undefined }, false],
    ['a Gogs push with a token of its own', index, 'gogs', { source: 'gogs.example.com/acme/one', report: own }, false],
  ] as const)('%s', (_, mirrors, provider, mirror, expected) => {
    expect(isReported(mirrors, provider, mirror)).toBe(expected);
  });
});
