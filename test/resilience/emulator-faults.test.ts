import { createHmac, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { startEmulator, type Emulator } from '../../dev/codehub-emulator/index';
import { createUpstream as createGitUpstream } from '../../dev/upstream';
import { createAkSkAuthenticator, createIamAuthenticator, type Authenticator } from '../../lib/codehub/auth';
import { createCodeHubClient } from '../../lib/codehub/client';
import { closeTransportPools } from '../../lib/codehub/transport';
import { ErrorCodes } from '../../lib/errors';
import type { HttpResponse } from '../../lib/http/event';
import { silentLogger } from '../../lib/observability/log';
import { buildMirrorIndex, type MirrorIndexInput } from '../../lib/config/mapping';
import type { BudgetMs } from '../../lib/pipeline/settings';
import { createWebhookHandler } from '../../lib/pipeline/webhook';
import { fakeContext, httpApiEvent } from '../support/lambda';

/**
 * Every fault the bridge promises to survive, driven through the CodeHub emulator (real HTTP,
 * real AK/SK verification, real IAM tokens) with the real client and pipeline. Each test asserts
 * the answer the Git host sees, its timing against the budget (upper bounds only, with margins for
 * a slow CI box) and the number of CodeHub calls, from the emulator's own call log.
 */

const AK = 'FAULTSTESTAK';
const SK = 'faults-test-SK-secret-0123';
const PROJECT_ID = '0123456789abcdef0123456789abcdef';
const IAM_USER = { domain: 'acme-account', name: 'bridge-bot', password: 'iam-PASSWORD-faults' };
const WEBHOOK_SECRET = 'faults-webhook-secret';
const REPOSITORY_ID = 2111;
const OTHER_REPOSITORY_ID = 2112;
/** Small budgets keep the suite fast; the margin is what a loaded 2-core box may add. */
const BUDGET_MS = 1200;
const MARGIN_MS = 800;

let root: string;
let emulator: Emulator;

/** A fresh upstream repository with one commit, in this suite's folder; its path. */
async function createUpstream(name: string): Promise<string> {
  const upstream = await createGitUpstream(join(root, name));
  await upstream.commit('first');
  return upstream.path;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'bridge-faults-'));
  const upstream = await createUpstream('upstream-api');
  const other = await createUpstream('upstream-web');
  emulator = await startEmulator({
    dataDir: join(root, 'data'),
    credentials: { accessKeys: { [AK]: SK }, iamUsers: [IAM_USER] },
    repositories: [
      { id: REPOSITORY_ID, name: 'api', group: 'acme', upstream },
      { id: OTHER_REPOSITORY_ID, name: 'web', group: 'acme', upstream: other },
    ],
    // The lock would turn later tests' signature failures into a different error.
    akLockout: false,
  });
}, 30_000);

afterAll(async () => {
  await closeTransportPools();
  await emulator.waitForIdle(10_000).catch(() => undefined);
  await emulator.close();
  await rm(root, { recursive: true, force: true });
}, 30_000);

beforeEach(() => {
  emulator.faults.clear();
  emulator.clearCalls();
});

const CONFIG: MirrorIndexInput = {
  webhooks: new Map([['github.com', [WEBHOOK_SECRET]]]),
  mirrors: [
    { source: 'github.com/acme/api', repositoryId: REPOSITORY_ID, secrets: undefined, refs: undefined, forceFetch: true },
    { source: 'github.com/acme/web', repositoryId: OTHER_REPOSITORY_ID, secrets: undefined, refs: undefined, forceFetch: true },
  ],
};

function akSk(secretKey = SK): Authenticator {
  return createAkSkAuthenticator({ accessKey: AK, secretKey, projectId: PROJECT_ID });
}

function iam(): Authenticator {
  return createIamAuthenticator({ iamEndpoint: emulator.url, user: IAM_USER.name, password: IAM_USER.password, domain: IAM_USER.domain, project: 'cn-north-4' });
}

/** The bridge as deployed, pointed at the emulator. */
function bridge(options: { auth?: Authenticator; budgetMs?: BudgetMs } = {}) {
  const codehub = createCodeHubClient({ endpoint: emulator.url, auth: options.auth ?? akSk() });
  return createWebhookHandler({ index: buildMirrorIndex(CONFIG), codehub, logger: silentLogger, budgetMs: options.budgetMs ?? BUDGET_MS });
}

function push(repo = 'acme/api', deliveryId: string = randomUUID()) {
  const body = JSON.stringify({
    ref: 'refs/heads/main',
    before: 'a'.repeat(40),
    after: 'b'.repeat(40),
    repository: { full_name: repo, html_url: `https://github.com/${repo}` },
  });
  const headers = {
    'content-type': 'application/json',
    'x-github-event': 'push',
    'x-github-delivery': deliveryId,
    'x-hub-signature-256': `sha256=${createHmac('sha256', WEBHOOK_SECRET).update(body).digest('hex')}`,
  };
  return httpApiEvent({ headers, body });
}

async function deliver(handler: ReturnType<typeof bridge>, event = push()): Promise<{ response: HttpResponse; body: Record<string, unknown>; elapsedMs: number }> {
  const started = Date.now();
  const response = await handler(event, fakeContext(10_000));
  return { response, body: JSON.parse(response.body) as Record<string, unknown>, elapsedMs: Date.now() - started };
}

function codehubCalls(repositoryId = REPOSITORY_ID) {
  return emulator.callsTo('codehub').filter((call) => call.repositoryId === repositoryId);
}

/** Calls held by injected latency are logged when they end: wait for `count` of them. */
async function settledCalls(count: number, repositoryId = REPOSITORY_ID, timeoutMs = 5000) {
  const until = Date.now() + timeoutMs;
  while (codehubCalls(repositoryId).length < count && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 25));
  return codehubCalls(repositoryId);
}

describe('faults between the bridge and CodeHub (emulator)', () => {
  it('answers 200 with the jid when nothing is wrong, in one call', async () => {
    // Prepare
    const handler = bridge();
    // Act
    const { response, body, elapsedMs } = await deliver(handler);
    // Assess
    expect(response.statusCode).toBe(200);
    expect(typeof body['jid']).toBe('string');
    expect(codehubCalls()).toHaveLength(1);
    expect(elapsedMs).toBeLessThan(BUDGET_MS);
  });

  it('answers 504 inside the budget when CodeHub is slower than the budget', async () => {
    // Prepare
    emulator.faults.set({ latencyMs: BUDGET_MS + 1000 });
    const handler = bridge();
    // Act
    const { response, body, elapsedMs } = await deliver(handler);
    // Assess
    expect(response.statusCode).toBe(504);
    expect(body).toMatchObject({ code: ErrorCodes.CODEHUB_TIMEOUT, repository_id: REPOSITORY_ID, budget_ms: BUDGET_MS });
    expect(typeof body['error']).toBe('string');
    expect(elapsedMs).toBeLessThan(BUDGET_MS + MARGIN_MS);
    expect(await settledCalls(1)).toHaveLength(1);
  });

  it('answers inside the Gitea-sized budget of its host, not the default', async () => {
    // Prepare
    emulator.faults.set({ latencyMs: 2000 });
    const handler = bridge({ budgetMs: { github: 600 } });
    // Act
    const { response, elapsedMs } = await deliver(handler);
    // Assess
    expect(response.statusCode).toBe(504);
    expect(elapsedMs).toBeLessThan(600 + MARGIN_MS);
    // The held call ends after the answer; let it, so it is not counted by the next test.
    expect(await settledCalls(1)).toHaveLength(1);
  });

  it('answers 200 after 429 ×3 then success, in 4 calls', async () => {
    // Prepare
    emulator.faults.set({ throttle: 3, retryAfterSeconds: 0 });
    const handler = bridge({ budgetMs: 3000 });
    // Act
    const { response, elapsedMs } = await deliver(handler);
    // Assess
    expect(response.statusCode).toBe(200);
    const calls = codehubCalls();
    expect(calls.map((c) => c.status)).toEqual([429, 429, 429, 200]);
    expect(calls.slice(0, 3).every((c) => c.errorCode === 'APIG.0308')).toBe(true);
    expect(elapsedMs).toBeLessThan(3000);
  });

  it('waits out a Retry-After of one second before the next call', async () => {
    // Prepare
    emulator.faults.set({ throttle: 1, retryAfterSeconds: 1 });
    const handler = bridge({ budgetMs: 3000 });
    // Act
    const { response, elapsedMs } = await deliver(handler);
    // Assess
    expect(response.statusCode).toBe(200);
    expect(codehubCalls().map((c) => c.status)).toEqual([429, 200]);
    expect(elapsedMs).toBeGreaterThanOrEqual(1000);
    expect(elapsedMs).toBeLessThan(3000 + MARGIN_MS);
  });

  it('answers 503 with Retry-After at once when CodeHub asks for a wait longer than the budget', async () => {
    // Prepare
    emulator.faults.set({ throttle: 10, retryAfterSeconds: 30 });
    const handler = bridge();
    // Act
    const { response, body, elapsedMs } = await deliver(handler);
    // Assess
    expect(response.statusCode).toBe(503);
    expect(response.headers?.['retry-after']).toBe('30');
    expect(body).toMatchObject({ code: ErrorCodes.CODEHUB_THROTTLED, error_code: 'APIG.0308' });
    expect(codehubCalls()).toHaveLength(1);
    expect(elapsedMs).toBeLessThan(BUDGET_MS);
  });

  it('answers 502 when CodeHub answers 500 every time, after a bounded number of calls inside the budget', async () => {
    // Prepare
    emulator.faults.set({ serverError: 'always' });
    const handler = bridge();
    // Act
    const { response, body, elapsedMs } = await deliver(handler);
    // Assess
    expect(response.statusCode).toBe(502);
    expect(body).toMatchObject({ code: ErrorCodes.CODEHUB_SERVER_ERROR, error_code: 'CH.000001' });
    expect(String(body['error'])).toMatch(/\d+ calls in \d+ ms/);
    const calls = codehubCalls();
    expect(calls.length).toBeGreaterThanOrEqual(2);
    expect(calls.length).toBeLessThanOrEqual(5);
    expect(calls.every((c) => c.status === 500)).toBe(true);
    expect(elapsedMs).toBeLessThan(BUDGET_MS + MARGIN_MS);
  });

  it('retries a dropped connection (reset) and answers 200', async () => {
    // Prepare
    emulator.faults.set({ dropConnection: 1 });
    const handler = bridge();
    // Act
    const { response, elapsedMs } = await deliver(handler);
    // Assess
    expect(response.statusCode).toBe(200);
    expect(codehubCalls().map((c) => c.status)).toEqual([0, 200]);
    expect(elapsedMs).toBeLessThan(BUDGET_MS + MARGIN_MS);
  });

  it('answers 502 when every connection drops, inside the budget', async () => {
    // Prepare
    emulator.faults.set({ dropConnection: 100 });
    const handler = bridge();
    // Act
    const { response, body, elapsedMs } = await deliver(handler);
    // Assess
    expect(response.statusCode).toBe(502);
    expect(body).toMatchObject({ code: ErrorCodes.CODEHUB_UNREACHABLE });
    expect(codehubCalls().length).toBeLessThanOrEqual(5);
    expect(elapsedMs).toBeLessThan(BUDGET_MS + MARGIN_MS);
  });

  it('refreshes an expired IAM token once, repeats the call and answers 200', async () => {
    // Prepare
    const handler = bridge({ auth: iam() });
    await deliver(handler);
    emulator.faults.set({ expireTokens: true });
    emulator.clearCalls();
    // Act
    const { response } = await deliver(handler);
    // Assess
    expect(response.statusCode).toBe(200);
    expect(codehubCalls().map((c) => [c.status, c.errorCode])).toEqual([
      [401, 'DEV.00000003'],
      [200, undefined],
    ]);
    expect(emulator.callsTo('iam')).toHaveLength(1);
  });

  it('makes exactly one call with a wrong SK and answers 502 with the signature failure', async () => {
    // Prepare
    const handler = bridge({ auth: akSk('not-the-secret-key'), budgetMs: 5000 });
    // Act
    const { response, body, elapsedMs } = await deliver(handler);
    // Assess
    expect(response.statusCode).toBe(502);
    expect(body).toMatchObject({ code: ErrorCodes.CODEHUB_SIGNATURE_FAILED, error_code: 'APIG.0301' });
    expect(codehubCalls()).toHaveLength(1);
    expect(elapsedMs).toBeLessThan(1000);
  });

  it('answers a redelivered delivery with its first answer and no second call', async () => {
    // Prepare
    const handler = bridge();
    const event = push('acme/api', 'redelivered-1');
    // Act
    const first = await deliver(handler, event);
    const second = await deliver(handler, event);
    // Assess
    expect(second.response.statusCode).toBe(200);
    expect(second.response.body).toBe(first.response.body);
    expect(codehubCalls()).toHaveLength(1);
  });

  it('retries a redelivery of a delivery that failed', async () => {
    // Prepare
    emulator.faults.set({ serverError: 'always' });
    const handler = bridge({ budgetMs: 400 });
    const event = push('acme/api', 'redelivered-2');
    const first = await deliver(handler, event);
    emulator.faults.clear();
    emulator.clearCalls();
    // Act
    const second = await deliver(handler, event);
    // Assess
    expect([first.response.statusCode, second.response.statusCode]).toEqual([502, 200]);
    expect(codehubCalls()).toHaveLength(1);
  });

  it('shares one call between pushes that arrive while it is in flight', async () => {
    // Prepare
    emulator.faults.set({ latencyMs: 300 });
    const handler = bridge({ budgetMs: 3000 });
    // Act
    const answers = await Promise.all([deliver(handler, push()), deliver(handler, push()), deliver(handler, push())]);
    // Assess
    expect(answers.map((a) => a.response.statusCode)).toEqual([200, 200, 200]);
    expect(new Set(answers.map((a) => a.body['jid'])).size).toBe(1);
    expect(await settledCalls(1)).toHaveLength(1);
  });

  it('keeps a fault on one repository from failing another', async () => {
    // Prepare
    emulator.faults.set({ repositoryId: OTHER_REPOSITORY_ID, serverError: 'always' });
    const handler = bridge();
    // Act
    const [broken, healthy] = await Promise.all([deliver(handler, push('acme/web')), deliver(handler, push('acme/api'))]);
    // Assess
    expect([broken.response.statusCode, healthy.response.statusCode]).toEqual([502, 200]);
    expect(codehubCalls(REPOSITORY_ID)).toHaveLength(1);
  });
});

describe('handlers/reconcile against the emulator', () => {
  it('syncs the mirrors that need it, reports the one that fails, and writes the summary and metric', async () => {
    // Prepare
    const fresh = emulator.addRepository({ id: 2113, name: 'docs', group: 'acme', upstream: await createUpstream('upstream-docs') });
    const missing = 9999;
    vi.stubEnv('MIRROR_CONFIG', JSON.stringify({
      webhooks: { 'github.com': { secret: 'env:HOOK_SECRET' } },
      mirrors: [
        { source: 'github.com/acme/gone', repository_id: missing },
        { source: 'github.com/acme/docs', repository_id: fresh.id },
      ],
    }));
    vi.stubEnv('MIRROR_CONFIG_FILE', '');
    vi.stubEnv('HOOK_SECRET', WEBHOOK_SECRET);
    vi.stubEnv('CODEHUB_ENDPOINT', emulator.url);
    vi.stubEnv('CODEHUB_AK', AK);
    vi.stubEnv('CODEHUB_SK', SK);
    vi.stubEnv('CODEHUB_PROJECT_ID', PROJECT_ID);
    vi.stubEnv('RECONCILE_RATE_PER_SECOND', '20');
    vi.stubEnv('LOG_LEVEL', 'info');
    const written: string[] = [];
    // Powertools writes warnings and errors to stderr, the rest (EMF included) to stdout.
    for (const stream of [process.stdout, process.stderr]) {
      vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
        written.push(String(chunk));
        return true;
      });
    }
    vi.resetModules();
    const { handler } = await import('../../handlers/reconcile');
    // Act
    const result = await handler({ source: 'aws.events' }, fakeContext(120_000));
    // Assess
    expect(result).toMatchObject({ mirrors: 2, checked: 1, triggered: 1, failed: 1 });
    expect(codehubCalls(fresh.id).map((c) => c.method)).toEqual(['GET', 'POST']);
    // A 404 is not retried.
    expect(codehubCalls(missing)).toHaveLength(1);
    const lines = written.join('').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
    const finished = lines.filter((line) => String(line['message']).startsWith('reconcile finished'));
    expect(finished).toHaveLength(1);
    expect(finished[0]).toMatchObject({ triggeredRepositories: [{ repositoryId: fresh.id, reason: 'never-synced' }], failures: [{ repositoryId: missing, code: ErrorCodes.CODEHUB_REJECTED }] });
    const metric = lines.find((line) => '_aws' in line);
    expect(metric).toMatchObject({ ReconcileTriggered: 1, ReconcileFailed: 1, service: 'codehub-mirror-bridge' });
  });
});
