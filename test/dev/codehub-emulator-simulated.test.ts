import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator } from '../../dev/codehub-emulator/index';
import type { Emulator, EmulatorOptions, JobInfo } from '../../dev/codehub-emulator/index';
import { createFetchTimes } from '../../dev/codehub-emulator/simulated';
import { createStaticTokenAuthenticator } from '../../lib/codehub/auth';
import { createCodeHubClient } from '../../lib/codehub/client';
import type { CodeHubClient } from '../../lib/codehub/client';
import { closeTransportPools } from '../../lib/codehub/transport';
import { ErrorCodes } from '../../lib/errors';
import { codeHubErrorOf } from '../support/codehub';

/**
 * Simulated repositories: no git, an in-memory upstream the test moves, fetches that take a drawn
 * time and copy the upstream as it was when they began. Read through the project's real client.
 */

const TOKEN = 'simulated-test-TOKEN-0123';
const ID = 31;
const DAY_MS = 86_400_000;
/** Short fetches, so tests run quickly; still long enough to move the upstream during one. */
const FETCH_MS = { min: 50, max: 100 };

let root: string;
const closers: (() => Promise<void>)[] = [];

/** A made-up commit id, different for each `n`. */
function sha(n: number | string): string {
  return createHash('sha1').update(String(n)).digest('hex');
}

async function start(options: Partial<EmulatorOptions> = {}): Promise<Emulator> {
  const emulator = await startEmulator({
    dataDir: join(root, `data-${Math.random().toString(36).slice(2)}`),
    credentials: { tokens: [TOKEN] },
    repositories: [{ id: ID, group: 'storm', name: 'widgets', simulated: true }],
    simulatedFetchMs: FETCH_MS,
    seed: 7,
    ...options,
  });
  closers.push(() => emulator.close());
  return emulator;
}

function client(emulator: Emulator): CodeHubClient {
  return createCodeHubClient({ endpoint: emulator.url, auth: createStaticTokenAuthenticator(TOKEN), retry: false });
}

/** Triggers a sync and waits until the emulator has no job left. */
async function sync(codehub: CodeHubClient, emulator: Emulator, id = ID, forceFetch = true): Promise<string> {
  const { jid } = await codehub.startMirrorSync(id, { forceFetch });
  await emulator.waitForIdle();
  return jid;
}

async function admin(emulator: Emulator, path: string, init?: RequestInit): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${emulator.url}/_emulator${path}`, init);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function jobsOf(emulator: Emulator, id: number): Promise<JobInfo[]> {
  const { body } = await admin(emulator, '/jobs');
  return (body.jobs as JobInfo[]).filter((job) => job.repositoryId === id);
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'codehub-simulated-'));
});

afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

afterAll(async () => {
  await closeTransportPools();
  await rm(root, { recursive: true, force: true });
});

describe('createFetchTimes', () => {
  it('draws integers from min to max, the same sequence for the same seed', () => {
    // Prepare
    const draw = (seed: number): number[] => {
      const times = createFetchTimes({ min: 1000, max: 3000 }, seed);
      return Array.from({ length: 200 }, () => times());
    };
    // Act
    const first = draw(42);
    const again = draw(42);
    const other = draw(43);
    // Assess
    expect(first.every((ms) => Number.isInteger(ms) && ms >= 1000 && ms <= 3000)).toBe(true);
    expect(again).toEqual(first);
    expect(other).not.toEqual(first);
    // Spread over the range, not stuck at one end.
    expect(Math.min(...first)).toBeLessThan(1500);
    expect(Math.max(...first)).toBeGreaterThan(2500);
    expect(createFetchTimes({ min: 5, max: 5 })()).toBe(5);
  });

  it('refuses a range that is not 0 <= min <= max <= a day, and a seed that is not an integer', async () => {
    // Assess
    expect(() => createFetchTimes({ min: 10, max: 5 })).toThrow(RangeError);
    expect(() => createFetchTimes({ min: -1, max: 5 })).toThrow(RangeError);
    expect(() => createFetchTimes({ min: 0, max: 1.5 })).toThrow(RangeError);
    expect(() => createFetchTimes({ min: 0, max: DAY_MS + 1 })).toThrow(RangeError);
    expect(() => createFetchTimes({ min: 0, max: 5 }, 0.5)).toThrow(RangeError);
    await expect(start({ simulatedFetchMs: { min: 3, max: 1 } })).rejects.toThrow(RangeError);
  });
});

describe('a simulated repository', () => {
  it('goes init → running → success, and its mirror takes the upstream head the fetch read', async () => {
    // Prepare
    const emulator = await start();
    const codehub = client(emulator);
    const a = sha('A');
    emulator.setUpstreamRef(ID, 'refs/heads/main', a);

    // Act
    const before = await codehub.getMirrorStatus(ID);
    const beforeHead = await codehub.getBranchHead(ID, 'main');
    const { jid } = await codehub.startMirrorSync(ID, { forceFetch: true });
    const during = await codehub.getMirrorStatus(ID);
    await emulator.waitForIdle();
    const after = await codehub.getMirrorStatus(ID);
    const job = emulator.job(jid);

    // Assess
    expect(before.updateStatus).toBe('init');
    expect(before.lastUpdateAt).toBeUndefined();
    expect(beforeHead).toBeUndefined();
    expect(during.updateStatus).toBe('running');
    expect(after).toMatchObject({ repositoryId: ID, updateStatus: 'success', numberOfFailures: 0, mirroringEnabled: true });
    expect(after.lastUpdateAt).toBe(job?.finishedAt);
    expect(after.lastSuccessfulUpdateAt).toBe(job?.finishedAt);
    expect(job).toMatchObject({ status: 'success', error: null });
    expect(job?.fetchedAt).not.toBeNull();
    expect(await codehub.getBranchHead(ID, 'main')).toEqual({ sha: a });
    expect(await emulator.mirrorRefs(ID)).toEqual({ 'refs/heads/main': a });
  });

  it('joins a trigger to the running job, whose mirror keeps what its fetch read; a later trigger fetches the new head', async () => {
    // Prepare: hold the job once its fetch is done, so the second trigger finds it running.
    const emulator = await start();
    const codehub = client(emulator);
    const [a, b] = [sha('A'), sha('B')];
    emulator.setUpstreamRef(ID, 'refs/heads/main', a);
    emulator.setSyncDelay({ repositoryId: ID, afterFetchMs: DAY_MS });

    // Act: the fetch has read the upstream by the time the trigger is answered.
    const first = await codehub.startMirrorSync(ID, { forceFetch: true });
    emulator.setUpstreamRef(ID, 'refs/heads/main', b);
    const joined = await codehub.startMirrorSync(ID, { forceFetch: true });
    const state = emulator.mirrorState(ID);
    emulator.clearSyncDelay(ID);
    await emulator.waitForIdle();
    const afterFirst = await codehub.getBranchHead(ID, 'main');
    const next = await sync(codehub, emulator);
    const afterNext = await codehub.getBranchHead(ID, 'main');

    // Assess
    expect(joined.jid).toBe(first.jid);
    expect(state?.update_status).toBe('running');
    expect(afterFirst).toEqual({ sha: a });
    expect(next).not.toBe(first.jid);
    expect(afterNext).toEqual({ sha: b });
    expect((await jobsOf(emulator, ID)).map((job) => job.jid)).toEqual([first.jid, next]);
  });

  it('takes the upstream as it is when the fetch begins, after any wait before it', async () => {
    // Prepare
    const emulator = await start();
    const codehub = client(emulator);
    emulator.setUpstreamRef(ID, 'refs/heads/main', sha('A'));
    emulator.setSyncDelay({ repositoryId: ID, beforeFetchMs: DAY_MS });

    // Act
    const { jid } = await codehub.startMirrorSync(ID, { forceFetch: true });
    emulator.setUpstreamRef(ID, 'refs/heads/main', sha('B'));
    emulator.clearSyncDelay(ID);
    await emulator.waitForIdle();

    // Assess
    expect(emulator.job(jid)?.status).toBe('success');
    expect(await codehub.getBranchHead(ID, 'main')).toEqual({ sha: sha('B') });
  });

  it('removes a deleted branch, answering ShowBranch 404 CH.004404 as for a git mirror, with or without force_fetch', async () => {
    // Prepare
    const emulator = await start();
    const codehub = client(emulator);
    emulator.setUpstreamRefs(ID, { 'refs/heads/main': sha(1), 'refs/heads/feature': sha(2), 'refs/heads/old': sha(3) });
    await sync(codehub, emulator);

    // Act
    emulator.setUpstreamRef(ID, 'refs/heads/feature', null);
    await sync(codehub, emulator, ID, true);
    emulator.setUpstreamRef(ID, 'refs/heads/old', null);
    await sync(codehub, emulator, ID, false);
    const raw = await fetch(`${emulator.url}/v4/repositories/${ID}/repository/branch?branch_name=feature`, { headers: { 'X-Auth-Token': TOKEN } });

    // Assess
    expect(await codehub.getBranchHead(ID, 'feature')).toBeUndefined();
    expect(await codehub.getBranchHead(ID, 'old')).toBeUndefined();
    expect(await codehub.getBranchHead(ID, 'main')).toEqual({ sha: sha(1) });
    expect(raw.status).toBe(404);
    expect(await raw.json()).toEqual({ error_code: 'CH.004404', error_msg: 'Branch Not Found' });
    expect(await emulator.mirrorRefs(ID)).toEqual({ 'refs/heads/main': sha(1) });
  });

  it('answers ShowTag with the commit and no target, and ShowCommit by sha, unambiguous prefix, branch or tag', async () => {
    // Prepare
    const emulator = await start();
    const codehub = client(emulator);
    const [head, tagged] = [sha('head'), sha('tagged')];
    emulator.setUpstreamRefs(ID, { 'refs/heads/main': head, 'refs/tags/v1.0.0': tagged });
    await sync(codehub, emulator);

    // Act
    const tag = await codehub.getTagHead(ID, 'v1.0.0');
    const rawTag = (await (await fetch(`${emulator.url}/v4/repositories/${ID}/repository/tag?tag_name=v1.0.0`, { headers: { 'X-Auth-Token': TOKEN } })).json()) as Record<string, unknown>;
    const reads = await Promise.all([
      codehub.getCommit(ID, head),
      codehub.getCommit(ID, tagged.slice(0, 10).toUpperCase()),
      codehub.getCommit(ID, 'main'),
      codehub.getCommit(ID, 'v1.0.0'),
    ]);
    const missing = await Promise.all([
      codehub.getTagHead(ID, 'v2'),
      codehub.getTagHead(ID, 'main'),
      codehub.getBranchHead(ID, 'v1.0.0'),
      codehub.getBranchHead(ID, 'refs/heads/main'),
      codehub.getCommit(ID, sha('never pushed')),
    ]);

    // Assess
    expect(tag).toEqual({ sha: tagged, target: undefined });
    expect(rawTag).toMatchObject({ name: 'v1.0.0', commit: { id: tagged } });
    expect(rawTag).not.toHaveProperty('target');
    expect(reads).toEqual([{ sha: head }, { sha: tagged }, { sha: head }, { sha: tagged }]);
    expect(missing).toEqual([undefined, undefined, undefined, undefined, undefined]);
  });

  it('shows the default branch once fetched, in ShowBranch and the repository', async () => {
    // Prepare
    const emulator = await start({ repositories: [{ id: ID, name: 'trunked', simulated: true, defaultBranch: 'trunk', upstreamRefs: { 'refs/heads/trunk': sha(1), 'refs/heads/dev': sha(2) } }] });
    const codehub = client(emulator);
    const repository = async (): Promise<Record<string, unknown>> =>
      (await (await fetch(`${emulator.url}/v4/repositories/${ID}`, { headers: { 'X-Auth-Token': TOKEN } })).json()) as Record<string, unknown>;

    // Act
    const before = await repository();
    await sync(codehub, emulator);
    const after = await repository();
    const branch = (await (await fetch(`${emulator.url}/v4/repositories/${ID}/repository/branch?branch_name=trunk`, { headers: { 'X-Auth-Token': TOKEN } })).json()) as Record<string, unknown>;
    const refs = await admin(emulator, `/repositories/${ID}/refs`);

    // Assess
    expect(before.default_branch).toBeNull();
    expect(after.default_branch).toBe('trunk');
    expect(branch).toMatchObject({ name: 'trunk', default: true, commit: { id: sha(1), short_id: sha(1).slice(0, 8), parent_ids: [] } });
    expect(refs.body).toEqual({ repositoryId: ID, head: 'refs/heads/trunk', refs: { 'refs/heads/dev': sha(2), 'refs/heads/trunk': sha(1) } });
  });

  it('fails its running job when the emulator closes mid-fetch, and closes promptly', async () => {
    // Prepare
    const emulator = await start({ simulatedFetchMs: { min: DAY_MS, max: DAY_MS } });
    emulator.setUpstreamRef(ID, 'refs/heads/main', sha(1));
    const { jid } = await client(emulator).startMirrorSync(ID, { forceFetch: true });

    // Act
    await emulator.close();

    // Assess
    expect(emulator.job(jid)).toMatchObject({ status: 'failed', fetchedAt: null });
    expect(emulator.job(jid)?.error).toMatch(/simulated fetch was stopped/);
    expect(await emulator.mirrorRefs(ID)).toEqual({});
  });
});

describe('the upstream of a simulated repository', () => {
  it('is set and read through the admin API, one ref or several at once', async () => {
    // Prepare
    const emulator = await start();
    const post = (body: unknown): ReturnType<typeof admin> =>
      admin(emulator, `/repositories/${ID}/upstream-refs`, { method: 'POST', body: JSON.stringify(body) });

    // Act
    const one = await post({ ref: 'refs/heads/main', sha: sha(1).toUpperCase() });
    const batch = await post({ refs: { 'refs/heads/main': null, 'refs/heads/next': sha(2), 'refs/tags/v1': sha(3) } });
    const read = await admin(emulator, `/repositories/${ID}/upstream-refs`);

    // Assess
    expect(one).toEqual({ status: 200, body: { repositoryId: ID, refs: { 'refs/heads/main': sha(1) } } });
    expect(batch.body.refs).toEqual({ 'refs/heads/next': sha(2), 'refs/tags/v1': sha(3) });
    expect(read.body).toEqual(batch.body);
    expect(emulator.upstreamRefs(ID)).toEqual(batch.body.refs);
  });

  it('refuses a bad ref or sha, changing nothing, and any repository that is unknown or not simulated', async () => {
    // Prepare
    const emulator = await start({ repositories: [{ id: ID, name: 'sim', simulated: true }, { id: ID + 1, name: 'git', upstream: join(root, 'nowhere') }] });
    emulator.setUpstreamRef(ID, 'refs/heads/main', sha(1));
    const post = (id: number, body: unknown): ReturnType<typeof admin> =>
      admin(emulator, `/repositories/${id}/upstream-refs`, { method: 'POST', body: JSON.stringify(body) });

    // Act
    const answers = await Promise.all([
      post(ID, { refs: { 'refs/heads/main': sha(2), 'refs/heads/bad..name': sha(3) } }),
      post(ID, { ref: 'main', sha: sha(2) }),
      post(ID, { ref: 'refs/heads/main', sha: 'abc123' }),
      post(ID, { ref: 'refs/heads/main' }),
      post(ID, { refs: { 'refs/heads/main': 7 } }),
      post(ID + 1, { ref: 'refs/heads/main', sha: sha(2) }),
      post(999, { ref: 'refs/heads/main', sha: sha(2) }),
    ]);

    // Assess
    expect(answers.map((answer) => answer.status)).toEqual([400, 400, 400, 400, 400, 400, 404]);
    expect(emulator.upstreamRefs(ID)).toEqual({ 'refs/heads/main': sha(1) });
    expect(() => emulator.setUpstreamRef(ID, 'refs/remotes/origin/main', sha(2))).toThrow(RangeError);
    expect(() => emulator.upstreamRefs(ID + 1)).toThrow(RangeError);
    expect(() => emulator.setUpstreamRef(999, 'refs/heads/main', sha(2))).toThrow(RangeError);
  });

  it('is registered through the admin API, which shows the repository as simulated and without a mirror directory', async () => {
    // Prepare
    const emulator = await start({ repositories: [] });
    const registration = { id: 77, name: 'api', group: 'storm', simulated: true, upstreamRefs: { 'refs/heads/main': sha(1) } };

    // Act
    const created = await admin(emulator, '/repositories', { method: 'POST', body: JSON.stringify(registration) });
    const unknownField = await admin(emulator, '/repositories', { method: 'POST', body: JSON.stringify({ name: 'x', simulated: true, upstream: '/tmp' }) });
    const shown = await admin(emulator, '/repositories/77');
    await sync(client(emulator), emulator, 77);

    // Assess
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id: 77, pathWithNamespace: 'storm/api', simulated: true, mirrorDir: null });
    expect(unknownField.status).toBe(400);
    expect(shown.body).toMatchObject({ simulated: true, mirror: { update_status: 'init', url: expect.stringContaining('.invalid/') } });
    expect(await emulator.mirrorRefs(77)).toEqual({ 'refs/heads/main': sha(1) });
  });
});

describe('registering a simulated repository again', () => {
  it('keeps its upstream, mirror and mirror state, with any upstreamRefs given set on top; as a git repository it is simulated no more', async () => {
    // Prepare
    const emulator = await start();
    const codehub = client(emulator);
    emulator.setUpstreamRefs(ID, { 'refs/heads/main': sha(1), 'refs/heads/dev': sha(2) });
    await sync(codehub, emulator);
    const synced = emulator.mirrorState(ID);

    // Act
    const again = emulator.addRepository({ id: ID, group: 'storm', name: 'renamed', simulated: true, upstreamRefs: { 'refs/heads/dev': sha(3) } });
    const upstreamAgain = emulator.upstreamRefs(ID);
    const mirrorAgain = await emulator.mirrorRefs(ID);
    const stateAgain = emulator.mirrorState(ID);
    const asGit = emulator.addRepository({ id: ID, group: 'storm', name: 'renamed', upstream: join(root, 'nowhere') });

    // Assess
    expect(again).toMatchObject({ name: 'renamed', simulated: true, mirrorDir: null, defaultBranch: 'main' });
    expect(upstreamAgain).toEqual({ 'refs/heads/dev': sha(3), 'refs/heads/main': sha(1) });
    expect(mirrorAgain).toEqual({ 'refs/heads/dev': sha(2), 'refs/heads/main': sha(1) });
    expect(stateAgain).toEqual(synced);
    expect(asGit.simulated).toBe(false);
    expect(asGit.mirrorDir).toEqual(expect.any(String));
    expect(emulator.mirrorState(ID)).toMatchObject({ update_status: 'init', url: join(root, 'nowhere') });
    expect(() => emulator.upstreamRefs(ID)).toThrow(RangeError);
  });
});

describe('the API around simulated repositories', () => {
  it('injects faults into their calls and records them in the call log', async () => {
    // Prepare
    const emulator = await start();
    const codehub = client(emulator);
    emulator.faults.set({ repositoryId: ID, serverError: 1, throttle: 1 });

    // Act
    const throttled = await codeHubErrorOf(codehub.startMirrorSync(ID, { forceFetch: true }));
    const failed = await codeHubErrorOf(codehub.startMirrorSync(ID, { forceFetch: true }));
    const jobsAfterFaults = await jobsOf(emulator, ID);
    await codehub.startMirrorSync(ID, { forceFetch: true });
    await emulator.waitForIdle();

    // Assess
    expect(throttled.code).toBe(ErrorCodes.CODEHUB_THROTTLED);
    expect(failed.status).toBe(500);
    expect(jobsAfterFaults).toEqual([]);
    expect(await jobsOf(emulator, ID)).toHaveLength(1);
    const calls = emulator.callsTo('codehub').filter((call) => call.repositoryId === ID);
    expect(calls.map((call) => [call.status, call.fault])).toEqual([
      [429, 'throttle'],
      [500, 'serverError'],
      [200, undefined],
    ]);
  });

  it('applies the rate limit to their calls', async () => {
    // Prepare
    const emulator = await start({ rateLimit: { perMinute: 2 } });
    const codehub = client(emulator);

    // Act
    await codehub.getBranchHead(ID, 'main');
    await codehub.getBranchHead(ID, 'main');
    const limited = await codeHubErrorOf(codehub.getBranchHead(ID, 'main'));
    emulator.clearRateLimit();
    const freed = await codehub.getBranchHead(ID, 'main');

    // Assess
    expect(limited.code).toBe(ErrorCodes.CODEHUB_THROTTLED);
    expect(limited.serviceCode).toBe('APIG.0308');
    expect(freed).toBeUndefined();
    expect(emulator.callsTo('codehub').filter((call) => call.fault === 'rateLimit')).toHaveLength(1);
  });

  it('syncs 500 simulated repositories triggered at once, each mirror ending at its upstream head', async () => {
    // Prepare
    const ids = Array.from({ length: 500 }, (_, index) => 5000 + index);
    const emulator = await start({ repositories: ids.map((id) => ({ id, group: 'storm', name: `r${id}`, simulated: true as const })) });
    const codehub = client(emulator);
    for (const id of ids) emulator.setUpstreamRef(id, 'refs/heads/main', sha(`first-${id}`));
    await Promise.all(ids.map((id) => codehub.startMirrorSync(id, { forceFetch: true })));
    await emulator.waitForIdle();
    for (const id of ids) emulator.setUpstreamRef(id, 'refs/heads/main', sha(`second-${id}`));

    // Act
    const jids = await Promise.all(ids.map(async (id) => (await codehub.startMirrorSync(id, { forceFetch: true })).jid));
    await emulator.waitForIdle();
    const heads = await Promise.all(ids.map(async (id) => (await emulator.mirrorRefs(id))['refs/heads/main']));

    // Assess
    expect(new Set(jids).size).toBe(500);
    expect(heads).toEqual(ids.map((id) => sha(`second-${id}`)));
    expect(jids.every((jid) => emulator.job(jid)?.status === 'success')).toBe(true);
  });
});

