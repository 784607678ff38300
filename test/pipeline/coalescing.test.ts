import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { startEmulator, type Emulator } from '../../dev/codehub-emulator';
import { createUpstream, type Upstream } from '../../dev/upstream';
import { closeTransportPools } from '../../lib/codehub/transport';
import { buildMirrorIndex } from '../../lib/config/mapping';
import type { MirrorTarget } from '../../lib/config/types';
import type { ConfirmSettings } from '../../lib/ledger/confirm';
import { acceptPush, type Accepted } from '../../lib/pipeline/accept';
import { createConfirmWorker, type ConfirmWorker } from '../../lib/pipeline/confirm-worker';
import { isDeferrable } from '../../lib/pipeline/sync';
import { CONFIRM_SETTINGS, QUIET, driveConfirms, startContainer, triggerCalls, type Container } from '../support/coalescing';
import { startDurableEngines, type DurableEngines } from '../support/durable';

/**
 * Coalescing across containers (issue 12 "Storms"), end to end below the handler: real DynamoDB and
 * SQS engines, the CodeHub emulator mirroring real git upstreams, `acceptPush` in containers that
 * share nothing but the ledger table, and the confirm worker over the real queue.
 */

const TOKEN = 'coalescing-test-token';
const DAY_MS = 86_400_000;
const BURST = { id: 901, source: 'github.com/acme/burst' };
const LATE = { id: 902, source: 'github.com/acme/late' };
const OFF = { id: 903, source: 'github.com/acme/off' };
const STORM = { id: 904, source: 'github.com/acme/storm' };

let dir: string;
let emulator: Emulator;
let durable: DurableEngines;
const upstreams = new Map<number, Upstream>();
const containers: Container[] = [];

const mirrorOf = (repo: { id: number; source: string }): MirrorTarget => ({ source: repo.source, repositoryId: repo.id, secrets: undefined, refs: undefined, forceFetch: true });
const index = buildMirrorIndex({ webhooks: new Map(), mirrors: [BURST, LATE, OFF, STORM].map(mirrorOf) });

function upstreamOf(repo: { id: number }): Upstream {
  const upstream = upstreams.get(repo.id);
  if (upstream === undefined) throw new Error(`no upstream for repository ${repo.id}`);
  return upstream;
}

function container(windowMs: number | undefined, extra: { readonly now?: () => number; readonly confirm?: ConfirmSettings } = {}): Container {
  const started = startContainer({ durable, emulator, token: TOKEN, windowMs, ...extra });
  containers.push(started);
  return started;
}

/** The worker in a container of its own. */
function workerIn(windowMs: number | undefined): ConfirmWorker {
  const { codehub, windows } = container(windowMs);
  return createConfirmWorker({ store: durable.store, queue: durable.queue, codehub, index, settings: CONFIRM_SETTINGS, windows, logger: QUIET });
}

/** A push of `before..after` to main, accepted in `where` as the webhook would. */
function push(where: Container, repo: { id: number; source: string }, before: string, after: string): Promise<Accepted> {
  const request = { push: { source: repo.source, refs: [{ ref: 'refs/heads/main', before, after, deleted: false }], defaultBranch: 'main' }, mirrors: [mirrorOf(repo)], deadline: Date.now() + 10_000, log: {} };
  return acceptPush(where.context, request);
}

/** Waits until the trigger `jid` is noted in the mirror's window and its job has fetched. */
async function sentAndFetched(repo: { id: number }, jid: string, windowMs: number): Promise<void> {
  const { windows } = container(windowMs);
  await vi.waitFor(async () => {
    expect(emulator.job(jid)?.fetchedAt).toEqual(expect.any(String));
    expect(await windows?.jidOf(String(repo.id))).toBe(jid);
  });
}

function recorded(accepted: Accepted): Extract<Accepted, { kind: 'recorded' }> {
  if (accepted.kind !== 'recorded') throw new Error(`expected the push recorded, got ${accepted.kind}`);
  return accepted;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'coalescing-'));
  for (const repo of [BURST, LATE, OFF, STORM]) {
    const upstream = await createUpstream(join(dir, `upstream-${repo.id}`));
    await upstream.commit('initial');
    upstreams.set(repo.id, upstream);
  }
  emulator = await startEmulator({
    dataDir: join(dir, 'codehub'),
    credentials: { tokens: [TOKEN] },
    repositories: [BURST, LATE, OFF, STORM].map((repo) => ({ id: repo.id, group: 'acme', name: repo.source.split('/').at(-1) ?? '', upstream: upstreamOf(repo).path })),
  });
  durable = await startDurableEngines();
}, 60_000);

afterAll(async () => {
  for (const one of containers) one.close();
  await emulator?.close();
  await closeTransportPools();
  await durable?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  emulator.faults.clear();
  emulator.clearSyncDelay();
  emulator.clearCalls();
});

describe('coalescing across containers', () => {
  it('answers a burst of 20 pushes to one repository with one trigger, and confirms every push', async () => {
    // Prepare: 20 commits on main, each push from a container of its own. The ledger orders a ref's
    // pushes by arrival, so each arrives a second after the one before it (as a host delivers them);
    // the window (30 s) outlasts the 19 s of skew.
    const upstream = upstreamOf(BURST);
    const shas = [await upstream.resolve('refs/heads/main')];
    for (let i = 1; i <= 20; i += 1) shas.push(await upstream.commit(`burst ${i}`));
    const webhooks = shas.slice(1).map((_, i) => container(30_000, { now: () => Date.now() + i * 1000 }));
    // Act
    const answers = (await Promise.all(webhooks.map((where, i) => push(where, BURST, shas[i] ?? '', shas[i + 1] ?? '')))).map(recorded);
    const triggersByWebhooks = triggerCalls(emulator, BURST.id);
    const handled = await driveConfirms({ durable, worker: workerIn(30_000), pushIds: answers.map((answer) => answer.pushId) });
    // Assess
    expect(triggersByWebhooks).toBe(1);
    const jids = new Set(answers.flatMap((answer) => answer.jobs.map((job) => job.jid)));
    expect(jids.size).toBe(1);
    for (const answer of answers) {
      // With the carrying job's id, or queued (202) while that trigger was still in flight.
      if (answer.failures.length === 0) expect(answer.jobs).toEqual([expect.objectContaining({ repository_id: BURST.id })]);
      else expect(answer.jobs.length === 0 && answer.failures.every(isDeferrable)).toBe(true);
    }
    const entries = await Promise.all(answers.map((answer) => durable.store.getPush(answer.pushId)));
    expect(entries.map((entry) => entry?.state)).toEqual(answers.map(() => 'mirrored'));
    expect(entries.at(-1)?.mirrors[0]?.confirmedHeads).toEqual({ 'refs/heads/main': { sha: shas[20] } });
    expect(handled.filter((one) => one.outcome.kind === 'mirrored')).toHaveLength(20);
    expect(triggerCalls(emulator, BURST.id)).toBeLessThanOrEqual(2);
    expect((await emulator.mirrorRefs(BURST.id))['refs/heads/main']).toBe(shas[20]);
  }, 90_000);

  it('triggers once more, at the window end, for a push that landed after the coalesced job fetched', async () => {
    // Prepare: push A's trigger is sent and its job has fetched.
    const WINDOW_MS = 2000;
    const upstream = upstreamOf(LATE);
    const initial = await upstream.resolve('refs/heads/main');
    const a = await upstream.commit('push A');
    const aStarted = Date.now();
    const first = recorded(await push(container(WINDOW_MS), LATE, initial, a));
    const jidA = first.jobs[0]?.jid ?? '';
    await sentAndFetched(LATE, jidA, WINDOW_MS);
    const b = await upstream.commit('push B');
    // Act
    const second = recorded(await push(container(WINDOW_MS), LATE, a, b));
    const triggersAtB = triggerCalls(emulator, LATE.id);
    const handled = await driveConfirms({ durable, worker: workerIn(WINDOW_MS), pushIds: [first.pushId, second.pushId] });
    // Assess: B joined A's job. Its first check comes before the window ends (1 s < 2 s), so no extra
    // check was queued for the window's end: that first check joined again and looked once the window had ended.
    expect(second.jobs).toEqual([expect.objectContaining({ repository_id: LATE.id, jid: jidA })]);
    expect(triggersAtB).toBe(1);
    const ofB = handled.filter((one) => one.task.push_id === second.pushId);
    expect(ofB.filter((one) => one.task.attempt === 1)).toHaveLength(1);
    const retriggers = ofB.filter((one) => one.outcome.kind === 'retriggered');
    expect(retriggers).toHaveLength(1);
    // Its claim could only succeed once the window, opened after A started, had ended.
    expect(retriggers[0]?.doneAt).toBeGreaterThanOrEqual(aStarted + WINDOW_MS);
    expect(retriggers[0]?.outcome).not.toMatchObject({ jid: jidA });
    expect(triggerCalls(emulator, LATE.id)).toBe(2);
    expect(ofB.at(-1)?.outcome).toMatchObject({ kind: 'mirrored', heads: { 'refs/heads/main': { sha: b } } });
    expect((await durable.store.getPush(first.pushId))?.state).toBe('mirrored');
    expect((await emulator.mirrorRefs(LATE.id))['refs/heads/main']).toBe(b);
  }, 60_000);

  it('triggers by the window end for the newest push when the push that took the trailing trigger is superseded', async () => {
    // Prepare: A's job has fetched; B, then C, land on main. B takes the window's trailing trigger,
    // but C supersedes it, so B's check at the window end confirms B without looking at the mirror.
    // The pushes' own first checks are far off: only the window's end can bring C. Fails today: the
    // one trailing trigger per window is lost when its taker is superseded (sync-windows.ts `claim`).
    const WINDOW_MS = 2000;
    const late: ConfirmSettings = { confirmAfterSeconds: 900, giveUpAfterMinutes: 60 };
    const webhook = (): Container => container(WINDOW_MS, { confirm: late });
    const upstream = upstreamOf(STORM);
    const initial = await upstream.resolve('refs/heads/main');
    const a = await upstream.commit('push A');
    const first = recorded(await push(webhook(), STORM, initial, a));
    await sentAndFetched(STORM, first.jobs[0]?.jid ?? '', WINDOW_MS);
    const b = await upstream.commit('push B');
    const second = recorded(await push(webhook(), STORM, a, b));
    const c = await upstream.commit('push C');
    const third = recorded(await push(webhook(), STORM, b, c));
    // Act
    const handled = driveConfirms({ durable, worker: workerIn(WINDOW_MS), pushIds: [first.pushId, second.pushId, third.pushId], until: [third.pushId], giveUpMs: 15_000 });
    // Assess: "a push that missed a fetch waits at most one window for the next" (sync-windows.ts).
    await expect(handled).resolves.toContainEqual(expect.objectContaining({ outcome: expect.objectContaining({ kind: 'mirrored', pushId: third.pushId }) }));
    expect(triggerCalls(emulator, STORM.id)).toBe(2);
    expect((await emulator.mirrorRefs(STORM.id))['refs/heads/main']).toBe(c);
  }, 60_000);

  it('keeps one trigger per push with coalescing off: the emulator joins the second to the running job', async () => {
    // Prepare: jobs wait before their fetch, so the first is still running when the second push comes.
    emulator.setSyncDelay({ repositoryId: OFF.id, beforeFetchMs: DAY_MS });
    const upstream = upstreamOf(OFF);
    const initial = await upstream.resolve('refs/heads/main');
    const a = await upstream.commit('push A');
    const first = recorded(await push(container(undefined), OFF, initial, a));
    const b = await upstream.commit('push B');
    // Act
    const second = recorded(await push(container(undefined), OFF, a, b));
    // Assess
    expect(triggerCalls(emulator, OFF.id)).toBe(2);
    expect(first.jobs).toEqual([{ repository_id: OFF.id, jid: expect.any(String) }]);
    expect(second.jobs).toEqual(first.jobs);
    emulator.clearSyncDelay(OFF.id);
    await emulator.waitForIdle();
    expect((await emulator.mirrorRefs(OFF.id))['refs/heads/main']).toBe(b);
  });
});
