import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator } from '../../dev/codehub-emulator/index';
import type { Emulator, EmulatorOptions } from '../../dev/codehub-emulator/index';
import { createAkSkAuthenticator, createStaticTokenAuthenticator } from '../../lib/codehub/auth';
import type { Authenticator } from '../../lib/codehub/auth';
import { createCodeHubClient } from '../../lib/codehub/client';
import type { CodeHubClient, CodeHubClientOptions } from '../../lib/codehub/client';
import { ErrorCodes } from '../../lib/errors';
import { closeTransportPools } from '../../lib/codehub/transport';
import { codeHubErrorOf } from '../support/codehub';
import { commit, git } from '../support/git';

/**
 * What the mirror holds, read through the project's real client (AK/SK signing, undici) from the
 * emulator's real bare repositories, synced by real `git fetch` from upstreams in temp dirs.
 */

const AK = 'EMULATORREADSAK';
const SK = 'emulator-reads-SK-secret-0123';
const PROJECT_ID = '0123456789abcdef0123456789abcdef';
const TOKEN = 'static-reads-TOKEN-abcdef';
const ID = 7;
const DAY_MS = 86_400_000;

let root: string;
const closers: (() => Promise<void>)[] = [];

let upstreams = 0;

async function createUpstream(): Promise<{ dir: string; first: string }> {
  upstreams += 1;
  const dir = join(root, `upstream-${upstreams}`);
  await git(root, 'init', '-q', '-b', 'main', dir);
  return { dir, first: await commit(dir, 'first') };
}

async function start(upstream: string, options: Partial<EmulatorOptions> = {}): Promise<Emulator> {
  const emulator = await startEmulator({
    dataDir: join(root, `data-${Math.random().toString(36).slice(2)}`),
    credentials: { accessKeys: { [AK]: SK }, tokens: [TOKEN] },
    repositories: [{ id: ID, name: 'widgets', upstream }],
    ...options,
  });
  closers.push(() => emulator.close());
  return emulator;
}

function akSk(secretKey = SK): Authenticator {
  return createAkSkAuthenticator({ accessKey: AK, secretKey, projectId: PROJECT_ID });
}

function client(emulator: Emulator, extra: Partial<CodeHubClientOptions> = {}): CodeHubClient {
  return createCodeHubClient({ endpoint: emulator.url, auth: akSk(), ...extra });
}

/** Triggers a sync and waits until the emulator has no job left. */
async function sync(codehub: CodeHubClient, emulator: Emulator, forceFetch = true): Promise<string> {
  const { jid } = await codehub.startMirrorSync(ID, { forceFetch });
  await emulator.waitForIdle();
  return jid;
}

/** Waits (polling, as the bridge would) until the job's git fetch has ended. */
async function fetched(emulator: Emulator, jid: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while ((emulator.job(jid)?.fetchedAt ?? null) === null) {
    if (Date.now() > deadline) throw new Error(`job ${jid} never fetched: ${JSON.stringify(emulator.job(jid))}`);
    await delay(10);
  }
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'codehub-reads-'));
});

afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

afterAll(async () => {
  await closeTransportPools();
  await rm(root, { recursive: true, force: true });
});

describe('reading what the mirror holds', () => {
  it('reads a branch head equal to the pushed SHA after a sync, by ShowBranch and ShowCommit', async () => {
    // Prepare
    const upstream = await createUpstream();
    const emulator = await start(upstream.dir);
    const codehub = client(emulator);
    await sync(codehub, emulator);
    const pushed = await commit(upstream.dir, 'second');

    // Act
    const before = await codehub.getBranchHead(ID, 'main');
    await sync(codehub, emulator);
    const after = await codehub.getBranchHead(ID, 'main');
    const byBranch = await codehub.getCommit(ID, 'main');
    const bySha = await codehub.getCommit(ID, pushed);
    const byShortSha = await codehub.getCommit(ID, pushed.slice(0, 12));

    // Assess
    expect(before).toEqual({ sha: upstream.first });
    expect(after).toEqual({ sha: pushed });
    expect(byBranch).toEqual({ sha: pushed });
    expect(bySha).toEqual({ sha: pushed });
    expect(byShortSha).toEqual({ sha: pushed });
  });

  it('reads the commit of a lightweight and of an annotated tag, and the tag object as its target', async () => {
    // Prepare
    const upstream = await createUpstream();
    const emulator = await start(upstream.dir);
    const codehub = client(emulator);
    await git(upstream.dir, 'tag', 'v1.0.0');
    const second = await commit(upstream.dir, 'second');
    await git(upstream.dir, 'tag', '-a', '-m', 'release 2', 'v2.0.0');
    const tagObject = await git(upstream.dir, 'rev-parse', 'v2.0.0');

    // Act
    await sync(codehub, emulator);
    const lightweight = await codehub.getTagHead(ID, 'v1.0.0');
    const annotated = await codehub.getTagHead(ID, 'v2.0.0');
    const viaShowCommit = await codehub.getCommit(ID, 'v2.0.0');

    // Assess
    expect(tagObject).not.toBe(second);
    expect(lightweight).toEqual({ sha: upstream.first, target: upstream.first });
    // The tag object is what a host's tag push names as `after`; the confirm accepts either.
    expect(annotated).toEqual({ sha: second, target: tagObject });
    expect(viaShowCommit).toEqual({ sha: second });
  });

  it('resolves undefined for a deleted branch, an unknown tag or commit, and before the first sync', async () => {
    // Prepare
    const upstream = await createUpstream();
    const emulator = await start(upstream.dir);
    const codehub = client(emulator);
    const neverSynced = await codehub.getBranchHead(ID, 'main');
    await git(upstream.dir, 'branch', 'feature');
    await sync(codehub, emulator);
    const whileThere = await codehub.getBranchHead(ID, 'feature');
    await git(upstream.dir, 'branch', '-D', 'feature');

    // Act
    await sync(codehub, emulator);
    const deleted = await codehub.getBranchHead(ID, 'feature');
    const unknownTag = await codehub.getTagHead(ID, 'v9');
    const unknownCommit = await codehub.getCommit(ID, 'f'.repeat(40));

    // Assess
    expect(neverSynced).toBeUndefined();
    expect(whileThere).toEqual({ sha: upstream.first });
    expect([deleted, unknownTag, unknownCommit]).toEqual([undefined, undefined, undefined]);
    const reads = emulator.callsTo('codehub').filter((call) => call.method === 'GET');
    expect(reads.map((call) => call.status)).toEqual([404, 200, 404, 404, 404]);
    expect(reads.map((call) => call.errorCode)).toEqual(['CH.004404', undefined, 'CH.004404', 'CH.004404', 'CH.004404']);
  });

  it('signs and reads branch names with a slash and a plus (AK/SK over the query string)', async () => {
    // Prepare
    const upstream = await createUpstream();
    const emulator = await start(upstream.dir);
    const codehub = client(emulator);
    await git(upstream.dir, 'branch', 'feature/x');
    await git(upstream.dir, 'checkout', '-q', '-b', 'a+b');
    const plus = await commit(upstream.dir, 'on a+b');
    await sync(codehub, emulator);

    // Act
    const slash = await codehub.getBranchHead(ID, 'feature/x');
    const withPlus = await codehub.getBranchHead(ID, 'a+b');
    const commitOfPlus = await codehub.getCommit(ID, 'a+b');
    const spaceForPlus = await codehub.getBranchHead(ID, 'a b');

    // Assess
    expect(slash).toEqual({ sha: upstream.first });
    expect(withPlus).toEqual({ sha: plus });
    expect(commitOfPlus).toEqual({ sha: plus });
    expect(spaceForPlus).toBeUndefined();
    const paths = emulator.callsTo('codehub').filter((call) => call.method === 'GET').map((call) => call.path);
    expect(paths[0]).toBe(`/v4/repositories/${ID}/repository/branch?branch_name=feature%2Fx`);
    expect(paths[1]).toBe(`/v4/repositories/${ID}/repository/branch?branch_name=a%2Bb`);
    expect(emulator.callsTo('codehub').every((call) => call.auth === 'aksk' && call.status !== 401)).toBe(true);
  });

  it('never resolves a branch name as a revision (main~1 is not the parent of main)', async () => {
    // Prepare
    const upstream = await createUpstream();
    await commit(upstream.dir, 'second');
    const emulator = await start(upstream.dir);
    const codehub = client(emulator);
    await sync(codehub, emulator);

    // Act
    const heads = await Promise.all(['main~1', 'main^', 'HEAD', 'refs/heads/main'].map((name) => codehub.getBranchHead(ID, name)));

    // Assess
    expect(heads).toEqual([undefined, undefined, undefined, undefined]);
  });

  it('answers a read without its parameter 400 CH.010001, and an unknown repository 404', async () => {
    // Prepare
    const upstream = await createUpstream();
    const emulator = await start(upstream.dir);
    const codehub = client(emulator);

    // Act
    const empty = await codeHubErrorOf(codehub.getBranchHead(ID, ''));
    const unknownRepository = await codehub.getBranchHead(ID + 1, 'main');
    const response = await fetch(`${emulator.url}/v4/repositories/${ID}/repository/tag`, { headers: { 'X-Auth-Token': TOKEN } });

    // Assess
    expect(empty.code).toBe(ErrorCodes.CODEHUB_REJECTED);
    // Undocumented, and so the same as CodeHub is expected to answer for a missing ref: 404 CH.004404.
    expect(unknownRepository).toBeUndefined();
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error_code: 'CH.010001' });
  });
});

describe('a trigger while a job is running', () => {
  it('answers the running job’s jid and fetches nothing more: the second push lands only with a later trigger', async () => {
    // Prepare
    const upstream = await createUpstream();
    const emulator = await start(upstream.dir);
    const codehub = client(emulator);
    emulator.setSyncDelay({ repositoryId: ID, afterFetchMs: DAY_MS });
    const first = await codehub.startMirrorSync(ID, { forceFetch: true });
    await fetched(emulator, first.jid);
    const second = await commit(upstream.dir, 'pushed during the sync');

    // Act
    const joined = await codehub.startMirrorSync(ID, { forceFetch: true });
    const during = await codehub.getMirrorStatus(ID);
    emulator.clearSyncDelay(ID);
    await emulator.waitForIdle();
    const afterJob = await codehub.getBranchHead(ID, 'main');
    const later = await sync(codehub, emulator);
    const afterLater = await codehub.getBranchHead(ID, 'main');

    // Assess
    expect(joined.jid).toBe(first.jid);
    expect(during.updateStatus).toBe('running');
    expect(emulator.job(first.jid)?.status).toBe('success');
    expect(afterJob).toEqual({ sha: upstream.first });
    expect(later).not.toBe(first.jid);
    expect(afterLater).toEqual({ sha: second });
  });

  it('holds a job before its fetch too, so a push made then is in the mirror', async () => {
    // Prepare
    const upstream = await createUpstream();
    const emulator = await start(upstream.dir, { syncDelay: { beforeFetchMs: DAY_MS } });
    const codehub = client(emulator);
    const { jid } = await codehub.startMirrorSync(ID, { forceFetch: true });
    const second = await commit(upstream.dir, 'pushed before the fetch');

    // Act
    const stillRunning = emulator.job(jid)?.status;
    emulator.clearSyncDelay();
    await emulator.waitForIdle();

    // Assess
    expect(stillRunning).toBe('running');
    expect(await codehub.getBranchHead(ID, 'main')).toEqual({ sha: second });
  });

  it('sets, shows and clears sync delays over the admin API, and refuses invalid ones', async () => {
    // Prepare
    const upstream = await createUpstream();
    const emulator = await start(upstream.dir);
    const admin = (method: string, path: string, body?: unknown): Promise<Response> =>
      fetch(`${emulator.url}/_emulator/${path}`, { method, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });

    // Act
    const set = await admin('POST', 'sync-delay', { repositoryId: ID, afterFetchMs: 500 });
    const shown = await (await admin('GET', 'sync-delay')).json();
    const invalid = await admin('POST', 'sync-delay', { afterFetchMs: -1 });
    const unknown = await admin('POST', 'sync-delay', { afterFetch: 1 });
    const cleared = await (await admin('DELETE', `sync-delay?repositoryId=${ID}`)).json();

    // Assess
    expect(set.status).toBe(200);
    expect(shown).toEqual({ global: { beforeFetchMs: 0, afterFetchMs: 0 }, repositories: { [ID]: { beforeFetchMs: 0, afterFetchMs: 500 } } });
    expect([invalid.status, unknown.status]).toEqual([400, 400]);
    expect(cleared).toEqual({ global: { beforeFetchMs: 0, afterFetchMs: 0 }, repositories: {} });
  });
});

describe('read calls follow the retry rules', () => {
  it('retries a throttled read (429) inside its deadline', async () => {
    // Prepare
    const upstream = await createUpstream();
    const emulator = await start(upstream.dir);
    const waits: number[] = [];
    const codehub = client(emulator, { sleep: async (ms) => void waits.push(ms), retry: { random: () => 0 } });
    await sync(codehub, emulator);
    emulator.faults.set({ throttle: 2, retryAfterSeconds: 1 });
    emulator.clearCalls();

    // Act
    const head = await codehub.getBranchHead(ID, 'main', { deadline: Date.now() + 30_000 });

    // Assess
    expect(head).toEqual({ sha: upstream.first });
    expect(emulator.callsTo('codehub').map((call) => call.status)).toEqual([429, 429, 200]);
    expect(waits).toEqual([1000, 1000]);
  });

  it('does not retry a read whose AK/SK signature is rejected', async () => {
    // Prepare
    const upstream = await createUpstream();
    const emulator = await start(upstream.dir);
    const codehub = client(emulator, { auth: akSk('a-wrong-secret-key-0123'), sleep: async () => undefined });

    // Act
    const error = await codeHubErrorOf(codehub.getTagHead(ID, 'v1', { deadline: Date.now() + 30_000 }));

    // Assess
    expect(error.code).toBe(ErrorCodes.CODEHUB_SIGNATURE_FAILED);
    expect(emulator.callsTo('codehub')).toHaveLength(1);
  });

  it('treats a 404 from APIG (no such API) as an error, never as an absent ref', async () => {
    // Prepare
    const upstream = await createUpstream();
    const emulator = await start(upstream.dir);
    const misrouted = createCodeHubClient({ endpoint: `${emulator.url}/not-codehub`, auth: createStaticTokenAuthenticator(TOKEN) });

    // Act
    const error = await codeHubErrorOf(misrouted.getBranchHead(ID, 'main'));

    // Assess
    expect(error).toMatchObject({ code: ErrorCodes.CODEHUB_REJECTED, status: 404, serviceCode: 'APIG.0101' });
  });
});
