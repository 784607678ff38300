/**
 * Regression: an unsigned 6 MB body was HMAC'd once per configured secret, so with 1,000 per-mirror
 * secrets a forged request cost ~4.4 s of CPU. Verification now tries at most MAX_BODY_MACS secrets
 * on a body it MACs, narrowed by the source the body claims, and genuine deliveries still verify.
 */

import { createHmac } from 'node:crypto';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type * as Crypto from '../../lib/crypto';
import type { CodeHub } from '../../lib/codehub/types';
import { buildMirrorIndex, candidateSecretsFor, MAX_BODY_MACS, SHORT_BODY_CHARS, type MirrorIndex } from '../../lib/config/mapping';
import type { MirrorTarget } from '../../lib/config/types';
import { ErrorCodes } from '../../lib/errors';
import { createLogger } from '../../lib/observability/log';
import { createWebhookHandler } from '../../lib/pipeline/webhook';
import { azureDevops } from '../../lib/providers/azure-devops';
import { bitbucket } from '../../lib/providers/bitbucket';
import { forgejo, gitea, gogs } from '../../lib/providers/gitea';
import { gitcode } from '../../lib/providers/gitcode';
import { gitee } from '../../lib/providers/gitee';
import { github } from '../../lib/providers/github';
import { gitlab } from '../../lib/providers/gitlab';
import type { Delivery, Headers, Provider } from '../../lib/providers/types';
import { httpApiEvent } from '../support/lambda';
import { fixtureBytes, formBody, makeDelivery } from './support';

/** MACs over at least this much data: a body's, not a timestamp's or a short string's. */
const BODY_SIZED = 1024 * 1024;
const macs = vi.hoisted(() => ({ overBodies: 0 }));

// A counting wrapper around the real HMAC: every call still computes the real digest.
vi.mock('../../lib/crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof Crypto>();
  return {
    ...actual,
    hmacSha256: (key: string | Uint8Array, data: string | Uint8Array): Buffer => {
      if (data.length >= BODY_SIZED) macs.overBodies += 1;
      return actual.hmacSha256(key, data);
    },
  };
});

beforeEach(() => {
  macs.overBodies = 0;
});

const NOW = Date.UTC(2024, 4, 20, 2, 12, 33);
const SECRET_COUNT = 1000;

/** A secret that is also a valid GitLab signing token, so every host's scheme pays for it. */
function secretOf(name: string): string {
  return `whsec_${Buffer.from(`secret of ${name}`).toString('base64')}`;
}

function mirror(source: string, repositoryId: number, secret: string): MirrorTarget {
  return { source, repositoryId, secrets: [secret], refs: undefined, forceFetch: true };
}

/** 1,000 mirrors, each with its own secret, with `extra` placed late (at 700), where no prefix reaches. */
function manySecretsIndex(...extra: MirrorTarget[]): MirrorIndex {
  const mirrors = Array.from({ length: SECRET_COUNT }, (_, i) => mirror(`github.com/filler/repo${i}`, i + 1, secretOf(`filler ${i}`)));
  mirrors.splice(700, 0, ...extra);
  return buildMirrorIndex({ webhooks: new Map(), mirrors });
}

function hexMac(secret: string, data: string | Buffer): string {
  return createHmac('sha256', secret).update(data).digest('hex');
}

function gitlabSignature(secret: string, id: string, timestamp: string, body: string | Buffer): string {
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest('base64')}`;
}

interface HostCase {
  readonly name: string;
  readonly provider: Provider;
  readonly fixture: string;
  /** Whether verification MACs the body (else it compares a token). */
  readonly macsBody: boolean;
  /** The source a ping is signed for (a push names its own). */
  readonly pingSource?: string;
  /** The delivery as the host sends it: its body from the fixture's JSON, signed with `secret`. */
  sign(json: string, secret: string): { readonly headers: Headers; readonly body: string };
}

const FORM = 'application/x-www-form-urlencoded';
const TIMESTAMP = String(NOW / 1000);
type Signer = HostCase['sign'];

/** `sha256=<hex HMAC of the body>` in `header` (GitHub, Bitbucket, GitCode). */
function prefixedHex(header: string, headers: Headers): Signer {
  return (json, secret) => ({ body: json, headers: { ...headers, [header]: `sha256=${hexMac(secret, json)}` } });
}

/** A bare hex HMAC of the JSON in `header` (Gitea, Forgejo, Gogs). */
function bareHex(header: string, headers: Headers): Signer {
  return (json, secret) => ({ body: json, headers: { ...headers, [header]: hexMac(secret, json) } });
}

/** The secret itself in `header`. */
function plainToken(header: string, headers: Headers): Signer {
  return (json, secret) => ({ body: json, headers: { ...headers, [header]: secret } });
}

const githubForm: Signer = (json, secret) => {
  const body = formBody(json);
  return { body, headers: { 'content-type': FORM, 'x-github-event': 'push', 'x-hub-signature-256': `sha256=${hexMac(secret, body)}` } };
};
const giteaForm: Signer = (json, secret) => ({
  body: formBody(json),
  headers: { 'content-type': FORM, 'x-gitea-event': 'push', 'x-gitea-signature': hexMac(secret, json) },
});
const gitlabSigningToken: Signer = (json, secret) => ({
  body: json,
  headers: {
    'x-gitlab-event': 'Push Hook',
    'webhook-id': 'msg_1',
    'webhook-timestamp': TIMESTAMP,
    'webhook-signature': gitlabSignature(secret, 'msg_1', TIMESTAMP, json),
  },
});
const azureBasic: Signer = (json, secret) => ({
  body: json,
  headers: { authorization: `Basic ${Buffer.from(`bridge:${secret}`).toString('base64')}` },
});

const HOSTS: readonly HostCase[] = [
  { name: 'GitHub JSON', provider: github, fixture: 'github-push-branch.json', macsBody: true, sign: prefixedHex('x-hub-signature-256', { 'x-github-event': 'push' }) },
  { name: 'GitHub form', provider: github, fixture: 'github-push-tag.json', macsBody: true, sign: githubForm },
  { name: 'GitHub Enterprise Server', provider: github, fixture: 'github-ghes-push-tag.json', macsBody: true, sign: prefixedHex('x-hub-signature-256', { 'x-github-event': 'push' }) },
  {
    name: 'GitHub ping', provider: github, fixture: 'github-ping.json', macsBody: true, pingSource: 'github.com/octocoders/hello-world',
    sign: prefixedHex('x-hub-signature-256', { 'x-github-event': 'ping' }),
  },
  { name: 'Gitea JSON', provider: gitea, fixture: 'gitea-push.json', macsBody: true, sign: bareHex('x-gitea-signature', { 'x-gitea-event': 'push' }) },
  { name: 'Gitea form', provider: gitea, fixture: 'gitea-push-tag-deleted.json', macsBody: true, sign: giteaForm },
  { name: 'Forgejo', provider: forgejo, fixture: 'forgejo-push-tag.json', macsBody: true, sign: bareHex('x-forgejo-signature', { 'x-forgejo-event': 'push' }) },
  { name: 'Gogs', provider: gogs, fixture: 'gogs-push.json', macsBody: true, sign: bareHex('x-gogs-signature', { 'x-gogs-event': 'push' }) },
  { name: 'Bitbucket Cloud', provider: bitbucket, fixture: 'bitbucket-cloud-push.json', macsBody: true, sign: prefixedHex('x-hub-signature', { 'x-event-key': 'repo:push' }) },
  {
    name: 'Bitbucket Cloud tag and deletion', provider: bitbucket, fixture: 'bitbucket-cloud-push-tag-and-deletion.json', macsBody: true,
    sign: prefixedHex('x-hub-signature', { 'x-event-key': 'repo:push' }),
  },
  {
    name: 'Bitbucket Data Center', provider: bitbucket, fixture: 'bitbucket-dc-refs-changed.json', macsBody: true,
    sign: prefixedHex('x-hub-signature', { 'x-event-key': 'repo:refs_changed' }),
  },
  {
    name: 'Bitbucket Data Center ping', provider: bitbucket, fixture: 'bitbucket-dc-ping.json', macsBody: true, pingSource: 'bitbucket.example.com/plat/mirror-me',
    sign: prefixedHex('x-hub-signature', { 'x-event-key': 'diagnostics:ping' }),
  },
  { name: 'GitLab signing token', provider: gitlab, fixture: 'gitlab-push.json', macsBody: true, sign: gitlabSigningToken },
  { name: 'GitLab classic token', provider: gitlab, fixture: 'gitlab-tag-push.json', macsBody: false, sign: plainToken('x-gitlab-token', { 'x-gitlab-event': 'Tag Push Hook' }) },
  { name: 'GitCode signature', provider: gitcode, fixture: 'gitcode-push.json', macsBody: true, sign: prefixedHex('x-gitcode-signature-256', { 'x-gitcode-event': 'Push Hook' }) },
  { name: 'GitCode token', provider: gitcode, fixture: 'gitcode-tag-push.json', macsBody: false, sign: plainToken('x-gitcode-token', { 'x-gitcode-event': 'Tag Push Hook' }) },
  { name: 'Gitee password', provider: gitee, fixture: 'gitee-push.json', macsBody: false, sign: plainToken('x-gitee-token', { 'x-gitee-event': 'Push Hook' }) },
  { name: 'Azure DevOps Basic', provider: azureDevops, fixture: 'azure-devops-git-push.json', macsBody: false, sign: azureBasic },
];

/** The secret a host case is configured with: Azure DevOps' is `username:password`. */
function configuredSecret(host: HostCase, secret: string): string {
  return host.provider === azureDevops ? `bridge:${secret}` : secret;
}

function sourceOf(host: HostCase, delivery: Delivery): string {
  if (host.pingSource !== undefined) return host.pingSource;
  const read = host.provider.read(delivery);
  if (read.kind !== 'push') throw new Error(`${host.fixture} is not a push`);
  return read.push.source;
}

function verifyAsThePipelineDoes(index: MirrorIndex, provider: Provider, delivery: Delivery) {
  const secrets = candidateSecretsFor(index, provider, delivery);
  const verdict = provider.verify(delivery, secrets);
  return { secrets, verdict, matched: verdict.ok ? secrets[verdict.secretIndex] : undefined };
}

describe('a genuine delivery verifies with 1,000 per-mirror secrets configured', () => {
  it.each(HOSTS)('$name', (host) => {
    // Prepare
    const secret = secretOf(host.name);
    const signed = host.sign(fixtureBytes(host.fixture).toString('utf8'), secret);
    const delivery = makeDelivery(signed.headers, signed.body, NOW);
    const index = manySecretsIndex(mirror(sourceOf(host, delivery), 5000, configuredSecret(host, secret)));

    // Act
    const { secrets, verdict, matched } = verifyAsThePipelineDoes(index, host.provider, delivery);

    // Assess
    expect(verdict.ok).toBe(true);
    expect(matched).toBe(configuredSecret(host, secret));
    // A short body (Bitbucket's ping) tries every secret; a longer one a host MACs, a bounded few.
    const bounded = host.macsBody && signed.body.length > SHORT_BODY_CHARS;
    if (bounded) expect(secrets.length).toBeLessThanOrEqual(MAX_BODY_MACS);
    else expect(secrets).toHaveLength(SECRET_COUNT + 1);
  });
});

/** A 6 MB body of the host's shape that names `fullName` (GitHub's and GitLab's members both). */
function forgedBody(fullName: string): string {
  const names = `"full_name":"${fullName}","html_url":"https://github.com/${fullName}","path_with_namespace":"${fullName}","web_url":"https://github.com/${fullName}"`;
  return `{"repository":{${names}},"padding":"${'x'.repeat(6_000_000)}"}`;
}

describe('a forged 6 MB body costs at most MAX_BODY_MACS body MACs', () => {
  const bodyMacHosts = HOSTS.filter((host) => host.macsBody && host.pingSource === undefined);

  it.each(bodyMacHosts)('$name, naming a configured source', (host) => {
    // Prepare
    const index = manySecretsIndex(mirror('github.com/acme/api', 5000, secretOf('acme/api')));
    const signed = host.sign(forgedBody('acme/api'), secretOf('the forger'));
    const delivery = makeDelivery(signed.headers, signed.body, NOW);

    // Act
    const { verdict } = verifyAsThePipelineDoes(index, host.provider, delivery);

    // Assess
    expect(verdict).toMatchObject({ ok: false, reason: 'SIGNATURE_MISMATCH' });
    expect(macs.overBodies).toBeGreaterThan(0);
    expect(macs.overBodies).toBeLessThanOrEqual(MAX_BODY_MACS);
  });

  it('through the webhook pipeline, answering 401, however many sources the body names', async () => {
    // Prepare
    const index = manySecretsIndex();
    const handler = createWebhookHandler({ index, codehub: syncingCodeHub(), logger: createLogger({ write: () => undefined }), idempotency: false });
    const claims = Array.from({ length: SECRET_COUNT }, (_, i) => `{"full_name":"filler/repo${i}"}`).join(',');
    const body = `{"repository":{"html_url":"https://github.com/filler/repo0"},"forks":[${claims}],"padding":"${'x'.repeat(6_000_000)}"}`;
    const headers = { 'content-type': 'application/json', 'x-github-event': 'push', 'x-hub-signature-256': `sha256=${hexMac('forged', body)}` };

    // Act
    const response = await handler(httpApiEvent({ headers, body }));

    // Assess
    expect(response.statusCode).toBe(401);
    expect(JSON.parse(response.body)).toMatchObject({ code: ErrorCodes.SIGNATURE_MISMATCH });
    expect(macs.overBodies).toBeLessThanOrEqual(MAX_BODY_MACS);
  });
});

function syncingCodeHub(): CodeHub & { synced: number[] } {
  const synced: number[] = [];
  return {
    synced,
    async startMirrorSync(repositoryId) {
      synced.push(repositoryId);
      return { jid: `jid-${repositoryId}` };
    },
  };
}

/** A large GitHub push of `repository`, whose body also names `alsoNamed` (a fork, say). */
function largeGitHubPush(repository: string, alsoNamed?: string): string {
  return JSON.stringify({
    ref: 'refs/heads/main',
    before: 'a'.repeat(40),
    after: 'b'.repeat(40),
    repository: { full_name: repository, html_url: `https://github.com/${repository}` },
    ...(alsoNamed === undefined ? {} : { forkee: { full_name: alsoNamed } }),
    head_commit: { message: 'm'.repeat(2_000_000) },
  });
}

describe('the claim only narrows: the matched secret must belong to the source read', () => {
  const A = 'github.com/acme/a';
  const B = 'github.com/acme/b';

  function setup() {
    const index = manySecretsIndex(mirror(A, 1, secretOf(A)), mirror(B, 2, secretOf(B)));
    const codehub = syncingCodeHub();
    const handler = createWebhookHandler({ index, codehub, logger: createLogger({ write: () => undefined }), idempotency: false });
    const send = (body: string, secret: string) =>
      handler(httpApiEvent({ headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-hub-signature-256': `sha256=${hexMac(secret, body)}` }, body }));
    return { codehub, send };
  }

  it("rejects a body claiming A signed with B's secret, without trying B's secret", async () => {
    // Prepare
    const { codehub, send } = setup();

    // Act
    const response = await send(largeGitHubPush('acme/a'), secretOf(B));

    // Assess
    expect(response.statusCode).toBe(401);
    expect(JSON.parse(response.body)).toMatchObject({ code: ErrorCodes.SIGNATURE_MISMATCH });
    expect(codehub.synced).toEqual([]);
  });

  it("rejects a push of A that also names B, signed with B's secret, as not for the source", async () => {
    // Prepare
    const { codehub, send } = setup();

    // Act
    const response = await send(largeGitHubPush('acme/a', 'acme/b'), secretOf(B));

    // Assess
    expect(response.statusCode).toBe(401);
    expect(JSON.parse(response.body)).toMatchObject({ code: ErrorCodes.SECRET_NOT_FOR_SOURCE });
    expect(codehub.synced).toEqual([]);
  });

  it("syncs a large push of A signed with A's secret", async () => {
    // Prepare
    const { codehub, send } = setup();

    // Act
    const response = await send(largeGitHubPush('acme/a', 'acme/b'), secretOf(A));

    // Assess
    expect(response.statusCode).toBe(200);
    expect(codehub.synced).toEqual([1]);
    expect(macs.overBodies).toBeLessThanOrEqual(MAX_BODY_MACS);
  });
});
