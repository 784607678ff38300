import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDelivery, SUPPORTED_HOSTS, type DeliveryMode, type HostId } from '../../dev/deliveries';
import { startStack, type Stack } from '../../dev/stack';
import { createUpstream, type Upstream } from '../../dev/upstream';

/**
 * End to end, as a user runs it: real git upstreams, the built bundle behind serverless-offline
 * (the routes of serverless.yml), real HTTP to the CodeHub emulator, which really mirrors.
 * serverless-offline starts in about 2 s here, so it is used rather than a hand-made adapter.
 */

const FORCE_ID = 501;
const NO_FORCE_ID = 502;
const SECRET = 'e2e-webhook-secret';
const GITLAB_SIGNING = `whsec_${Buffer.from('e2e-gitlab-signing-key-32-bytes!').toString('base64')}`;
const ZERO = '0'.repeat(40);
const BITBUCKET_DC = 'https://bitbucket.example.com';
const AZURE_BASIC = 'e2e-hook:e2e-webhook-secret';

/** Every host and mode the bridge supports, each mapped to its own emulated repository. */
const HOST_CASES: { host: HostId; mode: DeliveryMode; repositoryId: number; source: string; repo: string }[] = [];
let nextId = 600;
for (const [host, spec] of Object.entries(SUPPORTED_HOSTS) as [HostId, (typeof SUPPORTED_HOSTS)[HostId]][]) {
  for (const mode of spec.modes) {
    const serverUrl = spec.serverUrl ?? BITBUCKET_DC;
    const repo = host === 'bitbucket-dc' ? `PRJ/${mode}-e2e` : host === 'azure-devops' ? `acme/e2e/${mode}-e2e` : `acme/${mode}-e2e`;
    const path = host === 'azure-devops' ? `acme/e2e/_git/${mode}-e2e` : repo;
    HOST_CASES.push({ host, mode, repositoryId: nextId++, repo, source: `${new URL(serverUrl).host}/${path}` });
  }
}

let dataDir: string;
let stack: Stack;
let upstream: Upstream;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'bridge-e2e-'));
  upstream = await createUpstream(join(dataDir, 'upstream'));
  await upstream.commit('initial');
  const config = {
    webhooks: {
      'github.com': { secret: SECRET },
      'gitlab.com': { secret: [SECRET, GITLAB_SIGNING] },
      ...Object.fromEntries(HOST_CASES.filter((c) => !['github', 'gitlab'].includes(c.host)).map((c) => [c.source.split('/')[0], { secret: SECRET }])),
      'dev.azure.com': { secret: AZURE_BASIC },
    },
    mirrors: [
      { source: 'github.com/acme/e2e', repository_id: FORCE_ID, force_fetch: true },
      { source: 'github.com/acme/e2e-no-force', repository_id: NO_FORCE_ID, force_fetch: false },
      ...HOST_CASES.map((c) => ({ source: c.source, repository_id: c.repositoryId })),
    ],
  };
  stack = await startStack({
    port: 0,
    emulator: {
      port: 0,
      dataDir: join(dataDir, 'codehub'),
      repositories: [
        { id: FORCE_ID, group: 'acme', name: 'e2e', upstream: upstream.path },
        { id: NO_FORCE_ID, group: 'acme', name: 'e2e-no-force', upstream: upstream.path },
        ...HOST_CASES.map((c) => ({ id: c.repositoryId, group: 'hosts', name: `${c.host}-${c.mode}`, upstream: upstream.path })),
      ],
    },
    env: { MIRROR_CONFIG: JSON.stringify(config), LOG_LEVEL: 'warn' },
  });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

function emulator() {
  if (!stack.emulator) throw new Error('the e2e stack runs the emulator');
  return stack.emulator;
}

async function push(repo: string, ref: string, after: string, options: { deleted?: boolean } = {}) {
  const delivery = buildDelivery({ host: 'github', repo, ref, after, secret: SECRET, deleted: options.deleted });
  const response = await fetch(stack.webhookUrl, { method: 'POST', headers: delivery.headers, body: delivery.body, signal: AbortSignal.timeout(15_000) });
  const answer = (await response.json()) as { jid?: string; error?: string };
  await emulator().waitForIdle(20_000);
  return { status: response.status, answer };
}

describe('end to end: push → bridge → CodeHub emulator → mirror', () => {
  it('mirrors a new commit', async () => {
    // Prepare
    const sha = await upstream.commit('feature work');
    // Act
    const { status, answer } = await push('acme/e2e', 'refs/heads/main', sha);
    // Assess
    expect(status).toBe(200);
    expect(answer.jid).toMatch(/\S/);
    expect((await emulator().mirrorRefs(FORCE_ID))['refs/heads/main']).toBe(sha);
  });

  it('mirrors a tag push', async () => {
    // Prepare
    const tagged = await upstream.tag('v1.0.0');
    // Act
    const { status } = await push('acme/e2e', 'refs/tags/v1.0.0', tagged);
    // Assess
    expect(status).toBe(200);
    expect((await emulator().mirrorRefs(FORCE_ID))['refs/tags/v1.0.0']).toBe(tagged);
  });

  it('rewrites the mirror on a force-push when force_fetch is true, and keeps it when false', async () => {
    // Prepare
    const original = await upstream.commit('to be rewritten');
    await push('acme/e2e', 'refs/heads/main', original);
    await push('acme/e2e-no-force', 'refs/heads/main', original);
    const rewritten = await upstream.rewriteLastCommit('rewritten history');
    // Act
    const forced = await push('acme/e2e', 'refs/heads/main', rewritten);
    const notForced = await push('acme/e2e-no-force', 'refs/heads/main', rewritten);
    // Assess
    expect(forced.status).toBe(200);
    expect(notForced.status).toBe(200);
    expect((await emulator().mirrorRefs(FORCE_ID))['refs/heads/main']).toBe(rewritten);
    expect((await emulator().mirrorRefs(NO_FORCE_ID))['refs/heads/main']).toBe(original);
    expect(emulator().mirrorState(NO_FORCE_ID)?.update_status).toBe('failed');
  });

  it('removes a deleted branch from the mirror', async () => {
    // Prepare
    const sha = await upstream.commit('short-lived', 'feature/tmp');
    await push('acme/e2e', 'refs/heads/feature/tmp', sha);
    expect((await emulator().mirrorRefs(FORCE_ID))['refs/heads/feature/tmp']).toBe(sha);
    await upstream.deleteBranch('feature/tmp');
    // Act
    const { status } = await push('acme/e2e', 'refs/heads/feature/tmp', ZERO, { deleted: true });
    // Assess
    expect(status).toBe(200);
    expect((await emulator().mirrorRefs(FORCE_ID))['refs/heads/feature/tmp']).toBeUndefined();
  });

  it.each(HOST_CASES)('delivers a $host push ($mode mode) to CodeHub', async ({ host, mode, repo, repositoryId }) => {
    // Prepare
    const sha = await upstream.resolve('refs/heads/main');
    const secret = host === 'gitlab' && mode === 'signature' ? GITLAB_SIGNING : host === 'azure-devops' ? AZURE_BASIC : SECRET;
    const delivery = buildDelivery({ host, mode, repo, after: sha, secret, serverUrl: host === 'bitbucket-dc' ? BITBUCKET_DC : undefined });
    // Act
    const response = await fetch(stack.webhookUrl, { method: 'POST', headers: delivery.headers, body: delivery.body, signal: AbortSignal.timeout(15_000) });
    const answer = (await response.json()) as { jid?: string };
    await emulator().waitForIdle(20_000);
    // Assess
    expect(response.status).toBe(200);
    const calls = emulator().callsTo('codehub').filter((c) => c.repositoryId === repositoryId && c.method === 'POST');
    expect(calls).toHaveLength(1);
    expect(answer.jid).toMatch(/\S/);
    expect((await emulator().mirrorRefs(repositoryId))['refs/heads/main']).toBe(sha);
  });

  it('rejects a delivery signed with the wrong secret before CodeHub sees it', async () => {
    // Prepare
    const before = emulator().callsTo('codehub').length;
    const delivery = buildDelivery({ host: 'github', repo: 'acme/e2e', secret: 'not-the-secret' });
    // Act
    const response = await fetch(stack.webhookUrl, { method: 'POST', headers: delivery.headers, body: delivery.body });
    // Assess
    expect(response.status).toBe(401);
    expect(emulator().callsTo('codehub')).toHaveLength(before);
  });
});
