import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator } from '../../dev/codehub-emulator/index';
import type { Emulator, EmulatorOptions } from '../../dev/codehub-emulator/index';
import { createAkSkAuthenticator, createIamAuthenticator, createStaticTokenAuthenticator } from '../../lib/codehub/auth';
import type { Authenticator } from '../../lib/codehub/auth';
import { createCodeHubClient } from '../../lib/codehub/client';
import type { CodeHubClient, MirrorStatus } from '../../lib/codehub/client';
import type { Logger } from '../../lib/observability/log';
import { signRequest } from '../../lib/codehub/sign';
import { closeTransportPools } from '../../lib/codehub/transport';
import { captureLogger, codeHubErrorOf } from '../support/codehub';
import { commit, GIT_ENV, git } from '../support/git';

/**
 * The emulator against the project's real CodeHub client (authenticators and default undici
 * transport) and real git in temporary directories.
 */

const AK = 'EMULATORTESTAK';
const SK = 'emulator-test-SK-secret-0123';
const PROJECT_ID = '0123456789abcdef0123456789abcdef';
const TOKEN = 'static-test-TOKEN-abcdef';
const IAM_USER = { domain: 'acme-account', name: 'bridge-bot', password: 'iam-PASSWORD-hunter2' };
const SOURCE_USER = 'mirror-bot';
const SOURCE_PASSWORD = 'source-PAT-s3cr3t-xyz';

let root: string;
const closers: (() => Promise<void>)[] = [];

let upstreams = 0;

/** A working repository with one commit on `main`. */
async function createUpstream(): Promise<string> {
  upstreams += 1;
  const dir = join(root, `upstream-${upstreams}`);
  await git(root, 'init', '-q', '-b', 'main', dir);
  await commit(dir, 'first');
  return dir;
}

interface Started {
  readonly emulator: Emulator;
  readonly logs: string[];
}

async function start(options: Partial<EmulatorOptions> = {}): Promise<Started> {
  const logs: string[] = [];
  const emulator = await startEmulator({
    dataDir: join(root, `data-${Math.random().toString(36).slice(2)}`),
    credentials: { accessKeys: { [AK]: SK }, tokens: [TOKEN], iamUsers: [IAM_USER] },
    log: (line) => logs.push(line),
    ...options,
  });
  closers.push(() => emulator.close());
  return { emulator, logs };
}

function akSk(options: { secretKey?: string; securityToken?: string; now?: () => number } = {}): Authenticator {
  return createAkSkAuthenticator({
    accessKey: AK,
    secretKey: options.secretKey ?? SK,
    projectId: PROJECT_ID,
    ...(options.securityToken === undefined ? {} : { securityToken: options.securityToken }),
    ...(options.now ? { now: options.now } : {}),
  });
}

function iam(emulator: Emulator, password = IAM_USER.password): Authenticator {
  return createIamAuthenticator({
    iamEndpoint: emulator.url,
    user: IAM_USER.name,
    password,
    domain: IAM_USER.domain,
    project: 'cn-north-4',
  });
}

function client(emulator: Emulator, auth: Authenticator = createStaticTokenAuthenticator(TOKEN), logger?: Logger): CodeHubClient {
  return createCodeHubClient({ endpoint: emulator.url, auth, ...(logger ? { logger } : {}) });
}

/** Polls the mirror state, as the bridge would, until the sync settles. */
async function settled(codehub: CodeHubClient, id: number): Promise<MirrorStatus> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const status = await codehub.getMirrorStatus(id);
    if (status.updateStatus === 'success' || status.updateStatus === 'failed') return status;
    if (Date.now() > deadline) throw new Error(`mirror ${id} still ${String(status.updateStatus)}`);
    await delay(15);
  }
}

async function sync(codehub: CodeHubClient, id: number, forceFetch: boolean): Promise<MirrorStatus> {
  await codehub.startMirrorSync(id, { forceFetch });
  return settled(codehub, id);
}

async function raw(
  emulator: Emulator,
  method: string,
  path: string,
  options: { body?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
  const response = await fetch(`${emulator.url}${path}`, {
    method,
    headers: { 'Content-Type': 'application/json', ...options.headers },
    ...(options.body === undefined ? {} : { body: options.body }),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

const withToken = { 'X-Auth-Token': TOKEN };

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'codehub-emulator-test-'));
});

afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

afterAll(async () => {
  await closeTransportPools();
  await rm(root, { recursive: true, force: true });
});

describe('CodeHub emulator', () => {
  describe('authentication', () => {
    it('accepts the client’s AK/SK signatures, with and without temporary credentials', async () => {
      // Prepare
      const { emulator } = await start({ repositories: [{ id: 7, name: 'widgets', upstream: await createUpstream() }] });

      // Act
      const first = await client(emulator, akSk()).startMirrorSync(7, { forceFetch: true });
      const second = await client(emulator, akSk({ securityToken: 'sts-temporary-token' })).getMirrorStatus(7);

      // Assess
      expect(first.jid).toMatch(/^[0-9a-f-]{36}$/);
      expect(second.repositoryId).toBe(7);
      expect(emulator.calls.map((call) => [call.auth, call.status])).toEqual([
        ['aksk', 200],
        ['aksk', 200],
      ]);
    });

    it('accepts a configured token and answers an unknown one 401 APIG.0301', async () => {
      // Prepare
      const { emulator } = await start({ repositories: [{ id: 7, name: 'widgets', upstream: await createUpstream() }] });

      // Act
      const status = await client(emulator).getMirrorStatus(7);
      const error = await codeHubErrorOf(client(emulator, createStaticTokenAuthenticator('not-a-token')).getMirrorStatus(7));
      const missing = await raw(emulator, 'GET', '/v4/repositories/7/remote-mirror');

      // Assess
      expect(status.updateStatus).toBe('init');
      expect([error.code, error.status, error.serviceCode]).toEqual(['CODEHUB_AUTH_FAILED', 401, 'APIG.0301']);
      expect([missing.status, missing.body.error_code]).toEqual([401, 'APIG.0301']);
    });

    it('issues a project-scoped IAM token (201, X-Subject-Token, expires_at) that the client then uses', async () => {
      // Prepare
      const now = Date.UTC(2024, 0, 1);
      const { emulator } = await start({
        now: () => now,
        tokenLifetimeMs: 3_600_000,
        repositories: [{ id: 7, name: 'widgets', upstream: await createUpstream() }],
      });
      const body = JSON.stringify({
        auth: {
          identity: { methods: ['password'], password: { user: { name: IAM_USER.name, password: IAM_USER.password, domain: { name: IAM_USER.domain } } } },
          scope: { project: { name: 'cn-north-4' } },
        },
      });

      // Act
      const issued = await raw(emulator, 'POST', '/v3/auth/tokens?nocatalog=true', { body });
      const viaClient = await client(emulator, iam(emulator)).startMirrorSync(7, { forceFetch: true });

      // Assess
      expect(issued.status).toBe(201);
      expect(issued.headers.get('x-subject-token')?.length).toBeGreaterThan(1000);
      expect(issued.body).toMatchObject({ token: { expires_at: '2024-01-01T01:00:00.000000Z', project: { name: 'cn-north-4' } } });
      expect(viaClient.jid).toBeTruthy();
      expect(emulator.calls.map((call) => [call.api, call.status, call.auth])).toEqual([
        ['iam', 201, undefined],
        ['iam', 201, undefined],
        ['codehub', 200, 'token'],
      ]);
    });

    it('refuses a wrong IAM password (401) and a token request without a project scope (400)', async () => {
      // Prepare
      const { emulator } = await start();
      const unscoped = JSON.stringify({
        auth: { identity: { methods: ['password'], password: { user: { name: IAM_USER.name, password: IAM_USER.password, domain: { name: IAM_USER.domain } } } } },
      });

      // Act
      const wrong = await codeHubErrorOf(client(emulator, iam(emulator, 'wrong-password')).getMirrorStatus(7));
      const noScope = await raw(emulator, 'POST', '/v3/auth/tokens', { body: unscoped });

      // Assess
      expect([wrong.code, wrong.status]).toEqual(['CODEHUB_AUTH_FAILED', 401]);
      expect(noScope.status).toBe(400);
      expect(emulator.callsTo('codehub')).toHaveLength(0);
    });

    it('answers a bad SK once with APIG.0301 and the canonical request it computed, matching the client’s', async () => {
      // Prepare
      const { emulator } = await start({ repositories: [{ id: 2111111, name: 'widgets', upstream: await createUpstream() }] });
      const { logger, lines } = captureLogger();

      // Act
      const error = await codeHubErrorOf(client(emulator, akSk({ secretKey: 'not-the-secret-key' }), logger).startMirrorSync(2111111, { forceFetch: true }));

      // Assess
      expect([error.code, error.status, error.serviceCode]).toEqual(['CODEHUB_SIGNATURE_FAILED', 401, 'APIG.0301']);
      expect(emulator.calls).toHaveLength(1);
      expect(emulator.calls[0]).toMatchObject({ status: 401, errorCode: 'APIG.0301', auth: 'aksk' });
      const logged = lines.find((line) => line.level === 'error')?.fields;
      const server = String(logged?.serverCanonicalRequest);
      expect(server.split('\n').slice(0, 2)).toEqual(['POST', '/v4/repositories/2111111/remote-mirror/']);
      expect(server).toBe(String(logged?.clientCanonicalRequest));
    });

    it('verifies the signature over the raw bytes and reports its canonical request with | for newlines', async () => {
      // Prepare
      const { emulator } = await start({ repositories: [{ id: 7, name: 'widgets', upstream: await createUpstream() }] });
      const url = `${emulator.url}/v4/repositories/7/remote-mirror`;
      const headers = { 'Content-Type': 'application/json', 'X-Project-Id': PROJECT_ID };
      const signed = signRequest({ method: 'POST', url, headers, body: '{"force_fetch":true}', ak: AK, sk: SK, date: Date.now() });

      // Act
      const sameBytes = await raw(emulator, 'POST', '/v4/repositories/7/remote-mirror', { headers: { ...headers, ...signed }, body: '{"force_fetch":true}' });
      const otherBytes = await raw(emulator, 'POST', '/v4/repositories/7/remote-mirror', { headers: { ...headers, ...signed }, body: '{"force_fetch": true}' });

      // Assess
      expect(sameBytes.status).toBe(200);
      expect(otherBytes.status).toBe(401);
      expect(otherBytes.body.error_code).toBe('APIG.0301');
      const message = String(otherBytes.body.error_msg);
      expect(message).toMatch(/^Incorrect IAM authentication information: verify aksk signature fail, canonicalRequest:POST\|\/v4\/repositories\/7\/remote-mirror\/\|\|content-type:application\/json\|/);
      expect(message).not.toContain('\n');
    });

    it('answers a stale X-Sdk-Date 401 as an authentication (not signature) failure, once', async () => {
      // Prepare
      const { emulator } = await start({ repositories: [{ id: 7, name: 'widgets', upstream: await createUpstream() }] });
      const slowClock = (): number => Date.now() - 16 * 60 * 1000;

      // Act
      const error = await codeHubErrorOf(client(emulator, akSk({ now: slowClock })).startMirrorSync(7, { forceFetch: true }));

      // Assess
      expect([error.code, error.status, error.serviceCode]).toEqual(['CODEHUB_AUTH_FAILED', 401, 'APIG.0301']);
      expect(error.serviceMessage).toContain('X-Sdk-Date');
      expect(emulator.calls).toHaveLength(1);
    });

    it('locks an access key after more signature failures in a row than allowed, until faults are cleared', async () => {
      // Prepare
      const { emulator } = await start({
        akLockout: { maxFailures: 2, durationMs: 60_000 },
        repositories: [{ id: 7, name: 'widgets', upstream: await createUpstream() }],
      });
      const bad = client(emulator, akSk({ secretKey: 'wrong' }));
      for (let i = 0; i < 3; i += 1) await codeHubErrorOf(bad.getMirrorStatus(7));

      // Act
      const locked = await codeHubErrorOf(client(emulator, akSk()).getMirrorStatus(7));
      emulator.faults.clear();
      const unlocked = await client(emulator, akSk()).getMirrorStatus(7);

      // Assess
      expect([locked.code, locked.serviceCode]).toEqual(['CODEHUB_AUTH_FAILED', 'APIG.0301']);
      expect(locked.serviceMessage).toContain('locked');
      expect(unlocked.repositoryId).toBe(7);
    });
  });

  describe('CodeHub API', () => {
    it('answers an unknown repository 404 CH.004404 "Repository Not Found"', async () => {
      // Prepare
      const { emulator } = await start();

      // Act
      const error = await codeHubErrorOf(client(emulator).startMirrorSync(424242, { forceFetch: true }));

      // Assess
      expect([error.code, error.status, error.serviceCode, error.serviceMessage]).toEqual([
        'CODEHUB_REJECTED',
        404,
        'CH.004404',
        'Repository Not Found',
      ]);
    });

    it('answers a body that is not JSON, and repository ids outside 1..2147483647, 400 CH.010001', async () => {
      // Prepare
      const { emulator } = await start({ repositories: [{ id: 7, name: 'widgets', upstream: await createUpstream() }] });

      // Act
      const answers = await Promise.all([
        raw(emulator, 'POST', '/v4/repositories/7/remote-mirror', { headers: withToken, body: '{"force_fetch":' }),
        raw(emulator, 'POST', '/v4/repositories/7/remote-mirror', { headers: withToken, body: '[1]' }),
        raw(emulator, 'POST', '/v4/repositories/7/remote-mirror', { headers: withToken, body: '{"force_fetch":"yes"}' }),
        raw(emulator, 'POST', '/v4/repositories/0/remote-mirror', { headers: withToken, body: '{}' }),
        raw(emulator, 'POST', '/v4/repositories/2147483648/remote-mirror', { headers: withToken, body: '{}' }),
        raw(emulator, 'GET', '/v4/repositories/abc/remote-mirror', { headers: withToken }),
      ]);

      // Assess
      expect(answers.map((answer) => [answer.status, answer.body.error_code])).toEqual(Array(6).fill([400, 'CH.010001']));
      await emulator.waitForIdle();
      expect(emulator.mirrorState(7)?.update_status).toBe('init');
    });

    it('decodes base64 source credentials and refuses invalid base64 with 400, without echoing it', async () => {
      // Prepare
      const { emulator } = await start({ repositories: [{ id: 7, name: 'widgets', upstream: await createUpstream() }] });
      const notBase64 = 'not base64 at all!';

      // Act
      const good = await client(emulator).startMirrorSync(7, { forceFetch: true, username: SOURCE_USER, password: SOURCE_PASSWORD });
      const bad = await raw(emulator, 'POST', '/v4/repositories/7/remote-mirror', {
        headers: withToken,
        body: JSON.stringify({ force_fetch: true, password: notBase64 }),
      });

      // Assess
      expect(good.jid).toBeTruthy();
      expect([bad.status, bad.body.error_code]).toEqual([400, 'CH.010001']);
      expect(String(bad.body.error_msg)).toContain('password');
      expect(JSON.stringify(bad.body)).not.toContain(notBase64);
      await emulator.waitForIdle();
      // A file:// upstream needs no credentials; the sync still succeeds.
      expect(emulator.mirrorState(7)).toMatchObject({ update_status: 'success', is_private: true });
    });

    it('resolves a repository id from group and name (v1), and fails for an unknown one', async () => {
      // Prepare
      const { emulator } = await start({ repositories: [{ id: 2111, group: 'acme/sub', name: 'widgets', upstream: await createUpstream() }] });

      // Act
      const id = await client(emulator).resolveRepositoryId('acme/sub', 'widgets');
      const error = await codeHubErrorOf(client(emulator).resolveRepositoryId('acme', 'nope'));

      // Assess
      expect(id).toBe(2111);
      expect([error.code, error.status, error.serviceCode, error.serviceMessage]).toEqual([
        'CODEHUB_REJECTED',
        200,
        'CH.004404',
        'Repository Not Found',
      ]);
    });

    it('serves repository details, updates the mirror config (PUT) and associates a remote (201)', async () => {
      // Prepare
      const first = await createUpstream();
      const second = await createUpstream();
      const { emulator } = await start({ repositories: [{ id: 7, group: 'acme', name: 'widgets', upstream: first }] });

      // Act
      const details = await raw(emulator, 'GET', '/v4/repositories/7', { headers: withToken });
      const disabled = await raw(emulator, 'PUT', '/v4/repositories/7/remote-mirror', {
        headers: withToken,
        body: JSON.stringify({ mirroring_enabled: false, sync_branch_type: 'default' }),
      });
      const refused = await raw(emulator, 'POST', '/v4/repositories/7/remote-mirror', { headers: withToken, body: '{}' });
      const associated = await raw(emulator, 'POST', '/v4/repositories/7/remote-mirror/associate', {
        headers: withToken,
        body: JSON.stringify({ url: second }),
      });
      const unknownRoute = await raw(emulator, 'DELETE', '/v4/repositories/7', { headers: withToken });

      // Assess
      expect(details.body).toMatchObject({ id: 7, name: 'widgets', path_with_namespace: 'acme/widgets' });
      expect(disabled.body).toMatchObject({ mirroring_enabled: false, sync_branch_type: 'default' });
      expect(refused.status).toBe(400);
      expect([associated.status, associated.body.url, associated.body.mirroring_enabled]).toEqual([201, second, true]);
      expect([unknownRoute.status, unknownRoute.body.error_code]).toEqual([404, 'APIG.0101']);
    });
  });

  describe('mirroring', () => {
    it('mirrors a new commit into the bare repository', async () => {
      // Prepare
      const upstream = await createUpstream();
      const { emulator } = await start({ repositories: [{ id: 7, name: 'widgets', upstream: `file://${upstream}` }] });
      const codehub = client(emulator);
      await sync(codehub, 7, true);
      const head = await commit(upstream, 'second');

      // Act
      const status = await sync(codehub, 7, true);

      // Assess
      expect(status).toMatchObject({ updateStatus: 'success', numberOfFailures: 0, lastError: undefined });
      expect(status.lastSuccessfulUpdateAt).toBeTruthy();
      expect(await emulator.mirrorRefs(7)).toEqual({ 'refs/heads/main': head });
    });

    it('mirrors a tag push', async () => {
      // Prepare
      const upstream = await createUpstream();
      const { emulator } = await start({ repositories: [{ id: 7, name: 'widgets', upstream }] });
      await git(upstream, 'tag', '-a', '-m', 'release', 'v1.0.0');
      const tag = await git(upstream, 'rev-parse', 'refs/tags/v1.0.0');

      // Act
      const status = await sync(client(emulator), 7, false);

      // Assess
      expect(status.updateStatus).toBe('success');
      expect((await emulator.mirrorRefs(7))['refs/tags/v1.0.0']).toBe(tag);
    });

    it('rewrites a force-pushed branch only with force_fetch; without it the sync fails and keeps the old commit', async () => {
      // Prepare
      const upstream = await createUpstream();
      const { emulator } = await start({ repositories: [{ id: 7, name: 'widgets', upstream }] });
      const codehub = client(emulator);
      const old = await commit(upstream, 'second');
      await sync(codehub, 7, true);
      await git(upstream, 'reset', '-q', '--hard', 'HEAD~1');
      const rewritten = await commit(upstream, 'rewritten');

      // Act
      const refused = await sync(codehub, 7, false);
      const refsAfterRefused = await emulator.mirrorRefs(7);
      const forced = await sync(codehub, 7, true);

      // Assess
      expect(refused).toMatchObject({ updateStatus: 'failed', numberOfFailures: 1 });
      expect(refused.lastError).toMatch(/rejected|non-fast-forward/);
      expect(refsAfterRefused['refs/heads/main']).toBe(old);
      expect(forced).toMatchObject({ updateStatus: 'success', numberOfFailures: 0, lastError: undefined });
      expect((await emulator.mirrorRefs(7))['refs/heads/main']).toBe(rewritten);
    });

    it('removes a branch deleted upstream with force_fetch (prune) and keeps it without', async () => {
      // Prepare
      const upstream = await createUpstream();
      const { emulator } = await start({ repositories: [{ id: 7, name: 'widgets', upstream }] });
      const codehub = client(emulator);
      await git(upstream, 'branch', 'feature');
      await sync(codehub, 7, true);
      await git(upstream, 'branch', '-D', 'feature');

      // Act
      await sync(codehub, 7, false);
      const withoutPrune = Object.keys(await emulator.mirrorRefs(7));
      await sync(codehub, 7, true);
      const withPrune = Object.keys(await emulator.mirrorRefs(7));

      // Assess
      expect(withoutPrune).toContain('refs/heads/feature');
      expect(withPrune).toEqual(['refs/heads/main']);
    });

    it('joins triggers that arrive while a job of the repository is queued or running: one job, one fetch', async () => {
      // Prepare
      const upstream = await createUpstream();
      const { emulator, logs } = await start({ repositories: [{ id: 7, name: 'widgets', upstream }] });
      const codehub = client(emulator);

      // Act
      const jobs = await Promise.all([1, 2, 3].map(() => codehub.startMirrorSync(7, { forceFetch: true })));
      const during = emulator.mirrorState(7)?.update_status;
      await emulator.waitForIdle();

      // Assess
      expect(during).toBe('running');
      expect(new Set(jobs.map(({ jid }) => jid)).size).toBe(1);
      expect(emulator.job(jobs[0]?.jid ?? '')?.status).toBe('success');
      expect(logs.filter((line) => line.startsWith('sync repository 7 job'))).toHaveLength(1);
    });

    it('fetches an http upstream with the decoded source credentials, and never shows them', async () => {
      // Prepare
      const upstream = await createUpstream();
      const head = await git(upstream, 'rev-parse', 'HEAD');
      const gitServer = await startGitHttpServer(root, SOURCE_USER, SOURCE_PASSWORD);
      const url = `${gitServer.url}/${upstream.slice(root.length + 1)}`;
      const { emulator, logs } = await start({ repositories: [{ id: 7, name: 'widgets', upstream: url }] });
      const codehub = client(emulator);

      // Act
      await codehub.startMirrorSync(7, { forceFetch: true, username: SOURCE_USER, password: SOURCE_PASSWORD });
      const good = await settled(codehub, 7);
      await codehub.startMirrorSync(7, { forceFetch: true, username: SOURCE_USER, password: `${SOURCE_PASSWORD}-wrong` });
      const wrong = await settled(codehub, 7);
      await codehub.startMirrorSync(7, { forceFetch: true });
      const none = await settled(codehub, 7);

      // Assess
      expect(good.updateStatus).toBe('success');
      expect(await emulator.mirrorRefs(7)).toEqual({ 'refs/heads/main': head });
      expect(gitServer.accepted).toBeGreaterThan(0);
      expect([wrong.updateStatus, none.updateStatus]).toEqual(['failed', 'failed']);
      expect(wrong.lastError).toMatch(/Authentication failed|could not read Username|401/i);
      const shown = JSON.stringify([logs, emulator.calls, emulator.mirrorState(7), emulator.repositories(), wrong, none]);
      const basic = (password: string): string => Buffer.from(`${SOURCE_USER}:${password}`).toString('base64');
      for (const secret of [SOURCE_PASSWORD, Buffer.from(SOURCE_PASSWORD).toString('base64'), basic(SOURCE_PASSWORD), basic(`${SOURCE_PASSWORD}-wrong`)]) {
        expect(shown).not.toContain(secret);
      }
    });
  });

  describe('faults', () => {
    it('adds latency before answering', async () => {
      // Prepare
      const { emulator } = await start({ repositories: [{ id: 7, name: 'widgets', upstream: await createUpstream() }] });
      emulator.faults.set({ latencyMs: 250 });
      const started = Date.now();

      // Act
      await client(emulator).getMirrorStatus(7);
      const elapsed = Date.now() - started;

      // Assess
      expect(elapsed).toBeGreaterThanOrEqual(240);
      expect(emulator.calls[0]).toMatchObject({ status: 200, fault: 'latency' });
    });

    it('throttles the next N calls with 429 APIG.0308 and Retry-After, then answers normally', async () => {
      // Prepare
      const { emulator } = await start({ repositories: [{ id: 7, name: 'widgets', upstream: await createUpstream() }] });
      emulator.faults.set({ throttle: 2, retryAfterSeconds: 3 });
      const codehub = client(emulator);

      // Act
      const first = await codeHubErrorOf(codehub.startMirrorSync(7, { forceFetch: true }));
      const second = await codeHubErrorOf(codehub.startMirrorSync(7, { forceFetch: true }));
      const third = await codehub.startMirrorSync(7, { forceFetch: true });

      // Assess
      for (const error of [first, second]) {
        expect([error.code, error.status, error.serviceCode, error.retryAfterSeconds]).toEqual(['CODEHUB_THROTTLED', 429, 'APIG.0308', 3]);
      }
      expect(first.serviceMessage).toBe('The throttling threshold has been reached');
      expect(third.jid).toBeTruthy();
      expect(emulator.calls.map((call) => call.status)).toEqual([429, 429, 200]);
    });

    it('answers 500 CH.000001 for the next N calls, or always until cleared', async () => {
      // Prepare
      const { emulator } = await start({ repositories: [{ id: 7, name: 'widgets', upstream: await createUpstream() }] });
      const codehub = client(emulator);

      // Act
      emulator.faults.set({ serverError: 1 });
      const once = await codeHubErrorOf(codehub.getMirrorStatus(7));
      await codehub.getMirrorStatus(7);
      emulator.faults.set({ serverError: 'always' });
      const always = await Promise.all([1, 2, 3].map(() => codeHubErrorOf(codehub.getMirrorStatus(7))));
      emulator.faults.clear();
      const recovered = await codehub.getMirrorStatus(7);

      // Assess
      expect([once.code, once.status, once.serviceCode]).toEqual(['CODEHUB_SERVER_ERROR', 500, 'CH.000001']);
      expect(always.map((error) => error.serviceCode)).toEqual(['CH.000001', 'CH.000001', 'CH.000001']);
      expect(recovered.repositoryId).toBe(7);
      expect(emulator.calls.map((call) => call.status)).toEqual([500, 200, 500, 500, 500, 200]);
    });

    it('drops the connection of the next N calls without an answer', async () => {
      // Prepare
      const { emulator } = await start({ repositories: [{ id: 7, name: 'widgets', upstream: await createUpstream() }] });
      emulator.faults.set({ dropConnection: 1 });
      const codehub = client(emulator);

      // Act
      const dropped = await codeHubErrorOf(codehub.startMirrorSync(7, { forceFetch: true }));
      const next = await codehub.startMirrorSync(7, { forceFetch: true });

      // Assess
      expect(dropped.code).toBe('CODEHUB_UNREACHABLE');
      expect(dropped.status).toBeUndefined();
      expect(next.jid).toBeTruthy();
      expect(emulator.calls.map((call) => [call.status, call.fault])).toEqual([
        [0, 'drop'],
        [200, undefined],
      ]);
    });

    it('expires every current token: a static token fails 401 DEV.00000003, an IAM client renews once and succeeds', async () => {
      // Prepare
      const { emulator } = await start({ repositories: [{ id: 7, name: 'widgets', upstream: await createUpstream() }] });
      const withStatic = client(emulator);
      const withIam = client(emulator, iam(emulator));
      await withStatic.getMirrorStatus(7);
      await withIam.getMirrorStatus(7);

      // Act
      emulator.faults.set({ expireTokens: true });
      const expired = await codeHubErrorOf(withStatic.getMirrorStatus(7));
      const renewed = await withIam.getMirrorStatus(7);

      // Assess
      expect([expired.code, expired.status, expired.serviceCode]).toEqual(['CODEHUB_AUTH_FAILED', 401, 'DEV.00000003']);
      expect(renewed.repositoryId).toBe(7);
      expect(emulator.callsTo('iam')).toHaveLength(2);
      expect(emulator.callsTo('codehub').map((call) => call.status)).toEqual([200, 200, 401, 401, 200]);
    });

    it('applies a repository’s faults to that repository only', async () => {
      // Prepare
      const upstream = await createUpstream();
      const { emulator } = await start({
        repositories: [
          { id: 7, name: 'widgets', upstream },
          { id: 8, name: 'gadgets', upstream },
        ],
      });
      emulator.faults.set({ repositoryId: 7, serverError: 'always' });
      const codehub = client(emulator);

      // Act
      const failing = await codeHubErrorOf(codehub.getMirrorStatus(7));
      const fine = await codehub.getMirrorStatus(8);

      // Assess
      expect(failing.serviceCode).toBe('CH.000001');
      expect(fine.repositoryId).toBe(8);
    });
  });

  describe('admin API', () => {
    it('registers repositories, follows jobs, reads refs, counts calls and sets faults over HTTP', async () => {
      // Prepare
      const upstream = await createUpstream();
      const head = await git(upstream, 'rev-parse', 'HEAD');
      const { emulator } = await start();

      // Act
      const registered = await raw(emulator, 'POST', '/_emulator/repositories', {
        body: JSON.stringify({ id: 2111, name: 'widgets', group: 'acme', upstream }),
      });
      const listed = await raw(emulator, 'GET', '/_emulator/repositories');
      const { jid } = await client(emulator).startMirrorSync(2111, { forceFetch: true });
      const idle = await raw(emulator, 'POST', '/_emulator/wait-idle');
      const job = await raw(emulator, 'GET', `/_emulator/jobs/${jid}`);
      const refs = await raw(emulator, 'GET', '/_emulator/repositories/2111/refs');
      const faults = await raw(emulator, 'POST', '/_emulator/faults', { body: JSON.stringify({ throttle: 1 }) });
      const throttled = await codeHubErrorOf(client(emulator).getMirrorStatus(2111));
      const cleared = await raw(emulator, 'DELETE', '/_emulator/faults');
      const calls = await raw(emulator, 'GET', '/_emulator/calls?api=codehub');

      // Assess
      expect(registered.status).toBe(201);
      expect(registered.body).toMatchObject({ id: 2111, name: 'widgets', group: 'acme', pathWithNamespace: 'acme/widgets' });
      expect(listed.body.repositories).toHaveLength(1);
      expect(idle.body).toMatchObject({ idle: true });
      expect(job.body).toMatchObject({ jid, repositoryId: 2111, status: 'success', error: null });
      expect(refs.body).toEqual({ repositoryId: 2111, head: 'refs/heads/main', refs: { 'refs/heads/main': head } });
      expect(faults.body).toMatchObject({ global: { throttle: 1 } });
      expect(throttled.code).toBe('CODEHUB_THROTTLED');
      expect(cleared.body).toMatchObject({ global: { throttle: 0 } });
      expect(calls.body.count).toBe(2);
      expect(calls.body.calls).toMatchObject([
        { method: 'POST', path: '/v4/repositories/2111/remote-mirror', status: 200 },
        { method: 'GET', path: '/v4/repositories/2111/remote-mirror', status: 429 },
      ]);
      expect(JSON.stringify(calls.body)).not.toContain(TOKEN);
    });

    it('rejects invalid admin requests with 400 and unknown ones with 404', async () => {
      // Prepare
      const { emulator } = await start();

      // Act
      const answers = await Promise.all([
        raw(emulator, 'POST', '/_emulator/repositories', { body: JSON.stringify({ name: 'x' }) }),
        raw(emulator, 'POST', '/_emulator/repositories', { body: JSON.stringify({ name: 'x', upstream: '/tmp/x', typo: 1 }) }),
        raw(emulator, 'POST', '/_emulator/faults', { body: JSON.stringify({ throttel: 2 }) }),
        raw(emulator, 'POST', '/_emulator/faults', { body: JSON.stringify({ serverError: -1 }) }),
        raw(emulator, 'POST', '/_emulator/faults', { body: '{' }),
        raw(emulator, 'GET', '/_emulator/jobs/nope'),
        raw(emulator, 'GET', '/_emulator/nothing-here'),
      ]);

      // Assess
      expect(answers.map((answer) => answer.status)).toEqual([400, 400, 400, 400, 400, 404, 404]);
      expect(answers.every((answer) => typeof answer.body.error === 'string')).toBe(true);
      expect(emulator.calls).toHaveLength(0);
    });
  });
});

describe('npm run emulator (dev/codehub-emulator/main.ts)', () => {
  it('serves the demo token and --repo repositories, never prints an SK from the environment, and stops on SIGTERM', async () => {
    // Prepare
    const upstream = await createUpstream();
    const envSecret = 'env-only-SK-never-printed';
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'dev/codehub-emulator/main.ts', '--port', '0', '--data-dir', join(root, 'cli-data'), '--repo', `2111:acme/widgets=${upstream}`],
      { env: { ...process.env, EMULATOR_AK: 'ENVACCESSKEY', EMULATOR_SK: envSecret }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const deadline = Date.now() + 10_000;
    while (!/listening on (http:\/\/\S+)/.test(output) && Date.now() < deadline) await delay(25);
    const url = /listening on (http:\/\/\S+)/.exec(output)?.[1] ?? '';

    // Act
    const status = await fetch(`${url}/v4/repositories/2111/remote-mirror`, { headers: { 'X-Auth-Token': 'local-dev-token' } });
    child.kill('SIGTERM');
    const code = await exited;

    // Assess
    expect(status.status).toBe(200);
    expect(code).toBe(0);
    expect(output).toContain('local-dev-token');
    expect(output).toContain('ENVACCESSKEY');
    expect(output).toContain('2111  acme/widgets');
    expect(output).toMatch(/codehub GET \/v4\/repositories\/2111\/remote-mirror 200 \d+ms/);
    expect(output).not.toContain(envSecret);
  });
});

interface GitHttpServer {
  readonly url: string;
  /** Requests that carried the expected Basic credentials. */
  readonly accepted: number;
}

/** Serves the repositories under `projectRoot` with `git http-backend`, behind HTTP Basic auth. */
async function startGitHttpServer(projectRoot: string, user: string, password: string): Promise<GitHttpServer> {
  const expected = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  let accepted = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.headers.authorization !== expected) {
        res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="git"' });
        res.end();
        return;
      }
      accepted += 1;
      const body = Buffer.concat(chunks);
      const [path = '/', query = ''] = (req.url ?? '/').split('?');
      const child = spawn('git', ['http-backend'], {
        env: {
          ...GIT_ENV,
          GIT_PROJECT_ROOT: projectRoot,
          GIT_HTTP_EXPORT_ALL: '1',
          REQUEST_METHOD: req.method ?? 'GET',
          PATH_INFO: path,
          QUERY_STRING: query,
          CONTENT_TYPE: req.headers['content-type'] ?? '',
          CONTENT_LENGTH: String(body.length),
          HTTP_CONTENT_ENCODING: req.headers['content-encoding'] ?? '',
          HTTP_GIT_PROTOCOL: String(req.headers['git-protocol'] ?? ''),
          REMOTE_USER: user,
          REMOTE_ADDR: '127.0.0.1',
        },
      });
      const out: Buffer[] = [];
      child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
      child.on('close', () => {
        const output = Buffer.concat(out);
        const split = output.indexOf('\r\n\r\n');
        const headerText = output.subarray(0, Math.max(split, 0)).toString('utf8');
        let status = 200;
        const headers: Record<string, string> = {};
        for (const line of headerText.split('\r\n')) {
          const colon = line.indexOf(':');
          if (colon <= 0) continue;
          const name = line.slice(0, colon).trim();
          const value = line.slice(colon + 1).trim();
          if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10);
          else headers[name] = value;
        }
        res.writeHead(status, headers);
        res.end(split === -1 ? output : output.subarray(split + 4));
      });
      child.stdin.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get accepted() {
      return accepted;
    },
  };
}
