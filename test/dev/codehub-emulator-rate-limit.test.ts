import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../dev/codehub-emulator/index';
import { createRateLimit } from '../../dev/codehub-emulator/rate-limit';
import { createStaticTokenAuthenticator } from '../../lib/codehub/auth';
import { createCodeHubClient } from '../../lib/codehub/client';
import { ErrorCodes } from '../../lib/errors';
import { codeHubErrorOf } from '../support/codehub';
import { commit, git } from '../support/git';

/** The emulator's APIG rate limit: a sliding 60 s window per API, 429 APIG.0308 with Retry-After past it. */

const TOKEN = 'rate-limit-test-token';
const ID = 9;

describe('createRateLimit', () => {
  it('admits perMinute calls per API in any 60 s window, refuses the next with the seconds until a slot frees', () => {
    // Prepare
    const limit = createRateLimit({ perMinute: 3 });
    // Act
    const first = [0, 1_000, 2_000].map((at) => limit.take('startSync', at));
    const refused = limit.take('startSync', 2_500);
    const otherApi = limit.take('showBranch', 2_500);
    const stillRefused = limit.take('startSync', 59_999);
    const freed = limit.take('startSync', 60_000);
    // Assess
    expect(first.every((decision) => decision.ok)).toBe(true);
    expect(refused).toEqual({ ok: false, retryAfterSeconds: 58 });
    expect(otherApi.ok).toBe(true);
    expect(stillRefused).toEqual({ ok: false, retryAfterSeconds: 1 });
    expect(freed.ok).toBe(true);
    // Refused calls are not counted: three admitted at 1, 2 and 60 s.
    expect(limit.snapshot(60_000).admitted).toEqual({ startSync: 3, showBranch: 1 });
  });

  it('admits everything when off, and again after clear()', () => {
    // Prepare
    const limit = createRateLimit();
    // Act
    const off = Array.from({ length: 1000 }, (_, i) => limit.take('startSync', i)).every((decision) => decision.ok);
    limit.set({ perMinute: 1 });
    limit.take('startSync', 2_000);
    const limited = limit.take('startSync', 2_001);
    limit.clear();
    // Assess
    expect(off).toBe(true);
    expect(limited.ok).toBe(false);
    expect(limit.take('startSync', 2_002).ok).toBe(true);
  });
});

describe('the emulator with a rate limit', () => {
  let root: string;
  let emulator: Emulator;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'emulator-rate-'));
    const upstream = join(root, 'upstream');
    await git(root, 'init', '-q', '-b', 'main', upstream);
    await commit(upstream, 'first');
    emulator = await startEmulator({ dataDir: join(root, 'data'), credentials: { tokens: [TOKEN] }, repositories: [{ id: ID, name: 'rated', upstream }], rateLimit: { perMinute: 2 } });
  });

  afterAll(async () => {
    await emulator?.close();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('answers the bridge 429 APIG.0308 with Retry-After past the limit, which the client reads as throttled', async () => {
    // Prepare
    const codehub = createCodeHubClient({ endpoint: emulator.url, auth: createStaticTokenAuthenticator(TOKEN), retry: false });
    // Act
    await codehub.startMirrorSync(ID, { forceFetch: true });
    await codehub.startMirrorSync(ID, { forceFetch: true });
    const error = await codeHubErrorOf(codehub.startMirrorSync(ID, { forceFetch: true }));
    const read = await codehub.getMirrorStatus(ID);
    // Assess
    expect(error.code).toBe(ErrorCodes.CODEHUB_THROTTLED);
    expect(error.serviceCode).toBe('APIG.0308');
    expect(error.retryAfterSeconds).toBeGreaterThanOrEqual(58);
    expect(read.repositoryId).toBe(ID);
    expect(emulator.callsTo('codehub').filter((call) => call.fault === 'rateLimit')).toHaveLength(1);
  });

  it('is turned on, read and off through the admin API', async () => {
    // Act
    const set = await fetch(`${emulator.url}/_emulator/rate-limit`, { method: 'POST', body: JSON.stringify({ perMinute: 600 }) });
    const read = (await (await fetch(`${emulator.url}/_emulator/rate-limit`)).json()) as { perMinute: number | null };
    const bad = await fetch(`${emulator.url}/_emulator/rate-limit`, { method: 'POST', body: JSON.stringify({ perMinute: 0 }) });
    const cleared = (await (await fetch(`${emulator.url}/_emulator/rate-limit`, { method: 'DELETE' })).json()) as { perMinute: number | null };
    // Assess
    expect(set.status).toBe(200);
    expect(read.perMinute).toBe(600);
    expect(bad.status).toBe(400);
    expect(cleared.perMinute).toBeNull();
  });
});
