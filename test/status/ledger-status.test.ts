import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMirrorConfig } from '../../lib/config/load';
import type { MirrorTarget, PathMirror } from '../../lib/config/types';
import type { HttpRequest, HttpResponse } from '../../lib/http/event';
import { createLogger } from '../../lib/observability/log';
import type { LedgerMirrorSummary } from '../../lib/pipeline/ledger-store';
import { createLastTriggers } from '../../lib/status/last-triggers';
import { createStatusHandler, LEDGER_WINDOW, PENDING_IDS_SHOWN, type StatusConfig, type StatusLedger, type StatusOptions, type StatusReport } from '../../lib/status/status';
import { newPush, refusingEndpoint, silentServer, startStatusBackends, type StatusBackends } from './ledger-support';

/**
 * GET /mirrors with the push ledger: against the real local DynamoDB engine (dynalite, the table as
 * serverless.yml declares it) and the CodeHub emulator, pushes recorded with the ledger store itself.
 */

const KEY = 'ledger-status-key-0123456789';
const SECOND = 1000;

let backends: StatusBackends;
/** Arrival times: a test's pushes arrive a second apart, after every earlier test's. */
let clock = Date.UTC(2026, 2, 1, 10, 0, 0);
const arrival = (): number => (clock += SECOND);

beforeAll(async () => {
  backends = await startStatusBackends();
}, 60_000);

afterAll(async () => {
  await backends?.close();
});

let uniques = 0;
const uniqueTarget = (): string => `acme-mirror/ledger-${(uniques += 1)}`;

function idMirror(source: string, repositoryId: number): MirrorTarget {
  return { source, repositoryId, secrets: undefined, refs: undefined, forceFetch: true };
}

function pathMirror(source: string, target: string): PathMirror {
  return { source, target, secrets: undefined, refs: undefined, forceFetch: true };
}

function handlerOf(config: StatusConfig, options: Partial<StatusOptions> = {}) {
  const lines: string[] = [];
  const handler = createStatusHandler({
    config,
    codehub: backends.codehub,
    statusKey: KEY,
    lastTriggers: createLastTriggers(),
    logger: createLogger({ level: 'debug', write: (line) => lines.push(line) }),
    ledger: backends.store,
    ...options,
  });
  return { handler, lines };
}

function get(accept = 'application/json'): HttpRequest {
  return { method: 'GET', headers: { authorization: `Bearer ${KEY}`, accept }, body: '', bodyLength: 0 };
}

const reportOf = (response: HttpResponse): StatusReport => JSON.parse(response.body) as StatusReport;

/** The real store, with every `recentForMirror` call written down. */
function countingLedger(): StatusLedger & { readonly calls: [string, number][] } {
  const calls: [string, number][] = [];
  return {
    calls,
    getPush: (pushId) => backends.store.getPush(pushId),
    recentForMirror(mirrorKey, limit) {
      calls.push([mirrorKey, limit]);
      return backends.store.recentForMirror(mirrorKey, limit);
    },
  };
}

describe('LedgerStore.recentForMirror', () => {
  it("answers the mirror's newest pushes first, at most the limit, in this mirror's state, from the index alone", async () => {
    // Prepare
    const [target, other] = [uniqueTarget(), uniqueTarget()];
    const pushes = [1, 2, 3, 4].map(() => newPush([{ target }, { target: other }], arrival()));
    for (const push of pushes) await backends.store.recordPush(push);
    const [first, second, third, fourth] = pushes.map((push) => push.pushId) as [string, string, string, string];
    const confirmedAt = clock + 5 * SECOND;
    await backends.store.updateMirror(first, target, { event: 'confirmed', heads: {}, at: confirmedAt });
    await backends.store.updateMirror(second, target, { event: 'trigger-accepted', jid: 'jid-second' });
    await backends.store.updateMirror(fourth, other, { event: 'trigger-accepted', jid: 'jid-other' });
    // Act
    const three = await backends.store.recentForMirror(target, 3);
    const all = await backends.store.recentForMirror(target, 25);
    const none = await backends.store.recentForMirror(uniqueTarget(), 25);
    // Assess
    const summary = (pushId: string, index: number, state: LedgerMirrorSummary['state'], extra: Partial<LedgerMirrorSummary> = {}): LedgerMirrorSummary => ({
      pushId,
      arrivedAt: pushes[index]?.arrivedAt ?? 0,
      state,
      refs: ['refs/heads/main'],
      ...extra,
    });
    expect(three).toEqual([summary(fourth, 3, 'received'), summary(third, 2, 'received'), summary(second, 1, 'triggered')]);
    expect(all).toEqual([...three, summary(first, 0, 'mirrored', { confirmedAt })]);
    expect(none).toEqual([]);
  });
});

describe('GET /mirrors from the ledger', () => {
  it('shows per mirror the last push, the last confirmed push and its lag, and the pending pushes', async () => {
    // Prepare
    const repositoryId = backends.addRepository();
    const [docs, site] = [uniqueTarget(), uniqueTarget()];
    const confirmed = newPush([{ repositoryId }], arrival());
    const triggered = newPush([{ repositoryId }], arrival());
    const received = newPush([{ repositoryId }, { target: docs }], arrival(), { ref: 'refs/tags/v1.0' });
    for (const push of [confirmed, triggered, received]) await backends.store.recordPush(push);
    await backends.store.updateMirror(confirmed.pushId, String(repositoryId), { event: 'trigger-accepted', jid: 'jid-1' });
    await backends.store.updateMirror(confirmed.pushId, String(repositoryId), { event: 'confirmed', heads: {}, at: confirmed.arrivedAt + 12_500 });
    await backends.store.updateMirror(triggered.pushId, String(repositoryId), { event: 'trigger-accepted', jid: 'jid-2' });
    const config: StatusConfig = {
      mirrors: [idMirror('github.com/acme/api', repositoryId)],
      pathMirrors: [pathMirror('github.com/acme/docs', docs), pathMirror('github.com/acme/site', site)],
      wildcardMirrors: [],
    };
    const { handler } = handlerOf(config);
    // Act
    const response = await handler(get());
    // Assess
    expect(response.statusCode).toBe(200);
    const report = reportOf(response);
    expect(report.ledger_window).toBe(LEDGER_WINDOW);
    expect(report.mirrors.map((row) => row.ledger)).toEqual([
      {
        last_push: { push_id: received.pushId, state: 'received', arrived_at: new Date(received.arrivedAt).toISOString(), refs: ['refs/tags/v1.0'] },
        last_confirmed: { push_id: confirmed.pushId, confirmed_at: new Date(confirmed.arrivedAt + 12_500).toISOString(), lag_seconds: 12.5 },
        pending: 2,
        pending_push_ids: [received.pushId, triggered.pushId],
      },
      {
        last_push: { push_id: received.pushId, state: 'received', arrived_at: new Date(received.arrivedAt).toISOString(), refs: ['refs/tags/v1.0'] },
        last_confirmed: null,
        pending: 1,
        pending_push_ids: [received.pushId],
      },
      { last_push: null, last_confirmed: null, pending: 0, pending_push_ids: [] },
    ]);
    // CodeHub's part is there as before, read from the emulator.
    expect(report.mirrors[0]).toMatchObject({ repository_id: repositoryId, codehub: { mirroring_enabled: true } });
  });

  it('reads each mirror once, with one bounded Query, however many sources share it; a wildcard not at all', async () => {
    // Prepare
    const repositoryId = backends.addRepository();
    const target = uniqueTarget();
    const ledger = countingLedger();
    const config = parseMirrorConfig(
      JSON.stringify({
        webhooks: { 'github.com': { secret: 'hook-secret' }, 'gitee.com': { secret: 'hook-secret' }, 'gitlab.com': { secret: 'hook-secret' } },
        mirrors: [
          { source: 'github.com/acme/api', repository_id: repositoryId },
          { source: 'gitee.com/acme/api', repository_id: repositoryId },
          { source: 'github.com/acme/docs', target },
          { source: 'gitlab.com/acme/docs', target },
          { source: 'github.com/acme-labs/*', target: 'labs/{name}' },
        ],
      }),
      {},
    ).config;
    const { handler } = handlerOf(config, { ledger });
    // Act
    const response = await handler(get());
    // Assess
    expect(ledger.calls.sort()).toEqual([[String(repositoryId), LEDGER_WINDOW], [target, LEDGER_WINDOW]].sort());
    expect(reportOf(response).mirrors.map((row) => row.ledger === null)).toEqual([false, false, false, false, true]);
  });

  it(`counts pending pushes among the newest ${LEDGER_WINDOW} and lists the newest ${PENDING_IDS_SHOWN}`, async () => {
    // Prepare
    const target = uniqueTarget();
    const pushes = Array.from({ length: LEDGER_WINDOW + 5 }, () => newPush([{ target }], arrival()));
    await Promise.all(pushes.map((push) => backends.store.recordPush(push)));
    const { handler } = handlerOf({ mirrors: [], pathMirrors: [pathMirror('github.com/acme/many', target)], wildcardMirrors: [] });
    // Act
    const ledger = reportOf(await handler(get())).mirrors[0]?.ledger;
    // Assess
    const newestFirst = pushes.map((push) => push.pushId).reverse();
    expect(ledger).toEqual({
      last_push: expect.objectContaining({ push_id: newestFirst[0] }),
      last_confirmed: null,
      pending: LEDGER_WINDOW,
      pending_push_ids: newestFirst.slice(0, PENDING_IDS_SHOWN),
    });
  });

  it('shows a ledger that cannot be read as an error on every row, not a 500, and CodeHub state as usual', async () => {
    // Prepare
    const repositoryId = backends.addRepository();
    const endpoint = await refusingEndpoint();
    // Act
    const { json, html, lines } = await backends.atEndpoint(endpoint, async (unreachable) => {
      const { handler, lines } = handlerOf({ mirrors: [idMirror('github.com/acme/api', repositoryId)], pathMirrors: [pathMirror('github.com/acme/docs', uniqueTarget())], wildcardMirrors: [] }, { ledger: unreachable });
      return { json: await handler(get()), html: await handler(get('text/html')), lines };
    });
    // Assess
    expect(json.statusCode).toBe(200);
    const report = reportOf(json);
    const error = { error: 'the ledger could not be read now (DynamoDB unavailable); reload later', code: 'LEDGER_UNAVAILABLE' };
    expect(report.mirrors.map((row) => row.ledger)).toEqual([error, error]);
    expect(report.mirrors[0]?.codehub).toMatchObject({ mirroring_enabled: true });
    expect(html.statusCode).toBe(200);
    expect(html.body).toContain('<td class="ledger-error" colspan="6">the ledger could not be read now (DynamoDB unavailable); reload later (LEDGER_UNAVAILABLE)</td>');
    const warnings = lines.map((line) => JSON.parse(line) as { level: string; message: string; failed?: number }).filter((line) => line.message.startsWith('status: the ledger could not be read'));
    expect(warnings.map(({ level, failed }) => ({ level, failed }))).toEqual([
      { level: 'warn', failed: 2 },
      { level: 'warn', failed: 2 },
    ]);
  });

  it('answers at the page deadline when the ledger does not answer, the rows saying so', async () => {
    // Prepare
    const silent = await silentServer();
    const started = Date.now();
    try {
      // Act
      const response = await backends.atEndpoint(silent.endpoint, async (stalled) => {
        const { handler } = handlerOf({ mirrors: [], pathMirrors: [pathMirror('github.com/acme/docs', uniqueTarget())], wildcardMirrors: [] }, { ledger: stalled, deadlineMs: 50 });
        return handler(get());
      });
      // Assess
      expect(Date.now() - started).toBeLessThan(2000);
      expect(reportOf(response).mirrors[0]?.ledger).toEqual({ error: 'the ledger did not answer before the deadline', code: 'LEDGER_UNAVAILABLE' });
    } finally {
      await silent.close();
    }
  });
});

describe('GET /mirrors from the ledger: the page', () => {
  it('shows the ledger columns, every value escaped', async () => {
    // Prepare
    const target = uniqueTarget();
    const hostileRef = 'refs/heads/<script>alert(1)</script>';
    const confirmed = newPush([{ target }], arrival());
    const latest = newPush([{ target }], arrival(), { ref: hostileRef });
    for (const push of [confirmed, latest]) await backends.store.recordPush(push);
    await backends.store.updateMirror(confirmed.pushId, target, { event: 'confirmed', heads: {}, at: confirmed.arrivedAt + 3000 });
    const { handler } = handlerOf({ mirrors: [], pathMirrors: [pathMirror('github.com/acme/docs', target)], wildcardMirrors: [] });
    // Act
    const response = await handler(get('text/html'));
    // Assess
    expect(response.headers?.['content-security-policy']).toBe("default-src 'none'; style-src 'unsafe-inline'");
    expect(response.body).toContain('<th class="ledger">Last push</th>');
    expect(response.body).toContain(`<td class="last-push"><span class="id">${latest.pushId}</span><br><span class="refs">refs/heads/&lt;script&gt;alert(1)&lt;/script&gt;</span></td>`);
    expect(response.body).toContain('<td class="push-state">received</td>');
    expect(response.body).toContain(`<td class="last-confirmed"><span class="id">${confirmed.pushId}</span>`);
    expect(response.body).toContain('<td class="lag">3 s</td>');
    expect(response.body).toContain(`<td class="pending"><span class="count">1</span><br><span class="id">${latest.pushId}</span></td>`);
    expect(response.body).not.toContain('<script>');
  });

  it('has no ledger columns without a ledger (the stateless bridge)', async () => {
    // Prepare
    const { handler } = handlerOf({ mirrors: [], pathMirrors: [pathMirror('github.com/acme/docs', uniqueTarget())], wildcardMirrors: [] }, { ledger: undefined });
    // Act
    const response = await handler(get('text/html'));
    const json = reportOf(await handler(get()));
    // Assess
    expect(response.body).not.toContain('Last push');
    expect(response.body).not.toMatch(/<t[dh] class="(?:ledger|last-push|push-state|pending)/);
    expect(json.ledger_window).toBeNull();
    expect(json.mirrors[0]?.ledger).toBeNull();
  });
});
