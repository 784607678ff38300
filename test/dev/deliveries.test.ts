import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  buildDelivery,
  DeliveryOptionsError,
  sign,
  SUPPORTED_HOSTS,
  type BuiltDelivery,
  type DeliveryMode,
  type DeliveryOptions,
  type HostId,
} from '../../dev/deliveries';
import { formField } from '../../lib/providers/shared';
import { detectProvider } from '../../lib/providers';
import type { Delivery, ProviderId, ReadResult, VerifyResult } from '../../lib/providers/types';

const NOW = Date.UTC(2024, 4, 20, 2, 12, 33);
const BEFORE = '95790bf891e76fee5e1747ab589903a6a1f80f22';
const AFTER = 'da1560886d4f094c3e6c9ef40349f7d38b5d27d7';
const ZERO = '0'.repeat(40);
const SIGNING_TOKEN = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const OTHER_SIGNING_TOKEN = 'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD';

interface Case {
  readonly host: HostId;
  readonly mode: DeliveryMode;
  readonly provider: ProviderId;
  readonly repo: string;
  readonly source: string;
  readonly secret: string;
  readonly otherSecret: string;
  readonly serverUrl?: string;
  readonly form?: boolean;
}

function plain(host: HostId, mode: DeliveryMode, provider: ProviderId, source: string): Case {
  return { host, mode, provider, repo: 'acme/api', source, secret: 's3cret-for-tests', otherSecret: 'someone-else' };
}

/** Every host and mode, plus the variants whose bytes differ (form bodies, self-hosted URLs, nested groups). */
const CASES: readonly Case[] = [
  plain('github', 'signature', 'github', 'github.com/acme/api'),
  { ...plain('github', 'signature', 'github', 'github.com/acme/api'), form: true },
  { ...plain('github', 'signature', 'github', 'ghe.example.com/acme/api'), serverUrl: 'https://ghe.example.com' },
  plain('gitlab', 'token', 'gitlab', 'gitlab.com/acme/api'),
  { ...plain('gitlab', 'signature', 'gitlab', 'gitlab.com/acme/api'), secret: SIGNING_TOKEN, otherSecret: OTHER_SIGNING_TOKEN },
  { ...plain('gitlab', 'token', 'gitlab', 'gitlab.example.com/acme/platform/api'), repo: 'acme/platform/api', serverUrl: 'https://gitlab.example.com/' },
  plain('gitea', 'signature', 'gitea', 'gitea.com/acme/api'),
  { ...plain('gitea', 'signature', 'gitea', 'gitea.com/acme/api'), form: true },
  plain('forgejo', 'signature', 'forgejo', 'codeberg.org/acme/api'),
  { ...plain('forgejo', 'signature', 'forgejo', 'git.example.com:3000/acme/api'), serverUrl: 'http://git.example.com:3000', form: true },
  plain('gogs', 'signature', 'gogs', 'try.gogs.io/acme/api'),
  { ...plain('gogs', 'signature', 'gogs', 'try.gogs.io/acme/api'), form: true },
  plain('bitbucket', 'signature', 'bitbucket', 'bitbucket.org/acme/api'),
  {
    ...plain('bitbucket-dc', 'signature', 'bitbucket', 'bitbucket.example.com/proj/service'),
    repo: 'PROJ/service',
    serverUrl: 'https://bitbucket.example.com',
  },
  plain('gitee', 'password', 'gitee', 'gitee.com/acme/api'),
  plain('gitee', 'signature', 'gitee', 'gitee.com/acme/api'),
  plain('gitcode', 'token', 'gitcode', 'gitcode.com/acme/api'),
  plain('gitcode', 'signature', 'gitcode', 'gitcode.com/acme/api'),
  {
    ...plain('azure-devops', 'basic', 'azure-devops', 'dev.azure.com/acme/platform/_git/api'),
    repo: 'acme/platform/api',
    secret: 'hook:s3cret-for-tests',
    otherSecret: 'hook:someone-else',
  },
  {
    ...plain('azure-devops', 'basic', 'azure-devops', 'tfs.example.com/tfs/defaultcollection/platform/_git/api'),
    repo: 'DefaultCollection/Platform/api',
    serverUrl: 'https://tfs.example.com/tfs',
    secret: 'hook:s3cret-for-tests',
    otherSecret: 'hook:someone-else',
  },
];

function label(c: Case): string {
  return `${c.host} ${c.mode}${c.form === true ? ' form' : ''}${c.serverUrl === undefined ? '' : ` at ${c.serverUrl}`}`;
}

function optionsFor(c: Case, extra: Partial<DeliveryOptions> = {}): DeliveryOptions {
  return {
    host: c.host,
    mode: c.mode,
    repo: c.repo,
    secret: c.secret,
    now: NOW,
    ...(c.serverUrl === undefined ? {} : { serverUrl: c.serverUrl }),
    ...(c.form === undefined ? {} : { form: c.form }),
    ...extra,
  };
}

function asDelivery(built: BuiltDelivery, now = NOW): Delivery {
  return { headers: built.headers, rawBody: Buffer.from(built.body, 'utf8'), now };
}

/** What the bridge makes of a built delivery: which provider, whether each secret verifies, and the read. */
function throughBridge(built: BuiltDelivery, secret: string, otherSecret: string) {
  const delivery = asDelivery(built);
  const provider = detectProvider(delivery.headers);
  if (provider === undefined) throw new Error('no provider detected');
  const verified: VerifyResult = provider.verify(delivery, [secret]);
  const rejected: VerifyResult = provider.verify(delivery, [otherSecret]);
  const read: ReadResult = provider.read(delivery);
  return { id: provider.id, verified, rejected, read };
}

describe('buildDelivery', () => {
  it.each(CASES.map((c) => [label(c), c] as const))('round-trips a branch push through the bridge: %s', (_, c) => {
    // Prepare
    const options = optionsFor(c, { ref: 'refs/heads/main', before: BEFORE, after: AFTER });

    // Act
    const result = throughBridge(buildDelivery(options), c.secret, c.otherSecret);

    // Assess
    expect(result.id).toBe(c.provider);
    expect(result.verified).toMatchObject({ ok: true, secretIndex: 0 });
    expect(result.rejected.ok).toBe(false);
    expect(result.read).toMatchObject({
      kind: 'push',
      push: { source: c.source, refs: [{ ref: 'refs/heads/main', before: BEFORE, after: AFTER, deleted: false }] },
    });
  });

  it.each(CASES.map((c) => [label(c), c] as const))('round-trips a new tag: %s', (_, c) => {
    // Prepare
    const options = optionsFor(c, { ref: 'refs/tags/v1.2.0', before: ZERO, after: AFTER });

    // Act
    const result = throughBridge(buildDelivery(options), c.secret, c.otherSecret);

    // Assess
    expect(result.verified.ok).toBe(true);
    expect(result.read).toMatchObject({
      kind: 'push',
      push: { source: c.source, refs: [{ ref: 'refs/tags/v1.2.0', before: ZERO, after: AFTER, deleted: false }] },
    });
  });

  it.each(CASES.map((c) => [label(c), c] as const))('round-trips a deleted branch: %s', (_, c) => {
    // Prepare
    const options = optionsFor(c, { ref: 'refs/heads/feature/old', before: BEFORE, deleted: true });

    // Act
    const result = throughBridge(buildDelivery(options), c.secret, c.otherSecret);

    // Assess
    expect(result.verified.ok).toBe(true);
    expect(result.read).toMatchObject({
      kind: 'push',
      push: { source: c.source, refs: [{ ref: 'refs/heads/feature/old', before: BEFORE, after: ZERO, deleted: true }] },
    });
  });

  it.each([
    ['github', {}],
    ['bitbucket-dc', { serverUrl: 'https://bitbucket.example.com' }],
    ['gitee', { mode: 'password' }],
    ['gitee', { mode: 'signature' }],
  ] as const)('sends a ping that the bridge reads as a ping: %s %o', (host, extra) => {
    // Prepare
    const options: DeliveryOptions = { host, repo: 'PROJ/service', secret: 'ping-secret', event: 'ping', now: NOW, ...extra };

    // Act
    const result = throughBridge(buildDelivery(options), 'ping-secret', 'someone-else');

    // Assess
    expect(result.verified.ok).toBe(true);
    expect(result.rejected.ok).toBe(false);
    expect(result.read).toEqual({ kind: 'ping' });
  });

  it('lists every host with a default mode and a public URL, except Bitbucket Data Center', () => {
    // Prepare
    const hosts = Object.entries(SUPPORTED_HOSTS);

    // Act
    const withoutUrl = hosts.filter(([, spec]) => spec.serverUrl === undefined).map(([id]) => id);

    // Assess
    expect(hosts.map(([id]) => id).sort()).toEqual(
      ['azure-devops', 'bitbucket', 'bitbucket-dc', 'forgejo', 'gitcode', 'gitea', 'gitee', 'github', 'gitlab', 'gogs'],
    );
    expect(hosts.every(([, spec]) => spec.modes.length > 0)).toBe(true);
    expect(withoutUrl).toEqual(['bitbucket-dc']);
  });

  it('names a tag push "Tag Push Hook" for GitLab, Gitee and GitCode', () => {
    // Prepare
    const tag = { repo: 'acme/api', secret: 's', ref: 'refs/tags/v1.0.0', now: NOW } as const;

    // Act
    const gitlab = buildDelivery({ host: 'gitlab', ...tag });
    const gitee = buildDelivery({ host: 'gitee', ...tag });
    const gitcode = buildDelivery({ host: 'gitcode', ...tag });

    // Assess
    expect(gitlab.headers['x-gitlab-event']).toBe('Tag Push Hook');
    expect(JSON.parse(gitlab.body)).toMatchObject({ object_kind: 'tag_push', event_name: 'tag_push' });
    expect(gitee.headers['x-gitee-event']).toBe('Tag Push Hook');
    expect(JSON.parse(gitee.body)).toMatchObject({ hook_name: 'tag_push_hooks' });
    expect(gitcode.headers['x-gitcode-event']).toBe('Tag Push Hook');
  });

  it('signs a GitHub form delivery over the raw payload= body', () => {
    // Prepare
    const options: DeliveryOptions = { host: 'github', repo: 'acme/api', secret: 'form-secret', form: true, now: NOW };

    // Act
    const built = buildDelivery(options);

    // Assess
    expect(built.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(built.body.startsWith('payload=%7B%22ref%22')).toBe(true);
    expect(built.headers['x-hub-signature-256']).toBe(
      `sha256=${createHmac('sha256', 'form-secret').update(built.body).digest('hex')}`,
    );
  });

  it('signs a Gitea form delivery over the JSON in the payload field, not the raw body', () => {
    // Prepare
    const options: DeliveryOptions = { host: 'gitea', repo: 'acme/api', secret: 'form-secret', form: true, now: NOW };

    // Act
    const built = buildDelivery(options);

    // Assess
    const json = formField(Buffer.from(built.body), 'payload')?.toString('utf8') ?? '';
    const overJson = createHmac('sha256', 'form-secret').update(json).digest('hex');
    expect(JSON.parse(json)).toMatchObject({ repository: { full_name: 'acme/api' } });
    expect(built.headers['x-gitea-signature']).toBe(overJson);
    expect(built.headers['x-hub-signature-256']).toBe(`sha256=${overJson}`);
    expect(built.headers['x-gitea-signature']).not.toBe(createHmac('sha256', 'form-secret').update(built.body).digest('hex'));
  });

  it('serialises Gitea-family payloads as Go does: indented, with <, > and & escaped', () => {
    // Prepare
    const options: DeliveryOptions = { host: 'forgejo', repo: 'acme/api', secret: 's', ref: 'refs/heads/a&b', now: NOW };

    // Act
    const built = buildDelivery(options);

    // Assess
    expect(built.body.startsWith('{\n  "ref": "refs/heads/a\\u0026b",\n')).toBe(true);
    expect(JSON.parse(built.body)).toMatchObject({ ref: 'refs/heads/a&b' });
  });

  it('sends every Gitea header alongside Forgejo\'s own, all with the same signature', () => {
    // Prepare
    const options: DeliveryOptions = { host: 'forgejo', repo: 'acme/api', secret: 's', now: NOW, deliveryId: 'd-1' };

    // Act
    const { headers } = buildDelivery(options);

    // Assess
    expect(headers).toMatchObject({
      'x-forgejo-event': 'push',
      'x-forgejo-delivery': 'd-1',
      'x-gitea-event': 'push',
      'x-gitea-delivery': 'd-1',
      'x-gogs-event': 'push',
      'x-github-event': 'push',
      'x-gitea-signature': headers['x-forgejo-signature'],
      'x-gogs-signature': headers['x-forgejo-signature'],
      'x-hub-signature-256': `sha256=${headers['x-forgejo-signature'] ?? ''}`,
    });
  });

  it('signs GitLab Standard Webhooks over id.timestamp.body with the decoded whsec_ key', () => {
    // Prepare
    const options: DeliveryOptions = {
      host: 'gitlab', mode: 'signature', repo: 'acme/api', secret: SIGNING_TOKEN, now: NOW, deliveryId: 'msg-1',
    };

    // Act
    const built = buildDelivery(options);

    // Assess
    const key = Buffer.from(SIGNING_TOKEN.slice('whsec_'.length), 'base64');
    const expected = createHmac('sha256', key).update(`msg-1.${NOW / 1000}.${built.body}`).digest('base64');
    expect(built.headers).toMatchObject({
      'webhook-id': 'msg-1',
      'idempotency-key': 'msg-1',
      'webhook-timestamp': String(NOW / 1000),
      'webhook-signature': `v1,${expected}`,
    });
    expect(built.headers['x-gitlab-token']).toBeUndefined();
  });

  it('puts now into the signed GitLab timestamp, so the bridge finds a late delivery stale', () => {
    // Prepare
    const built = buildDelivery({ host: 'gitlab', mode: 'signature', repo: 'acme/api', secret: SIGNING_TOKEN, now: NOW });
    const tenMinutesLater = asDelivery(built, NOW + 10 * 60 * 1000);

    // Act
    const result = detectProvider(tenMinutesLater.headers)?.verify(tenMinutesLater, [SIGNING_TOKEN]);

    // Assess
    expect(result).toMatchObject({ ok: false, reason: 'TIMESTAMP_STALE' });
  });

  it('sends the Gitee password in the header and the body, and a timestamp signature in signature mode', () => {
    // Prepare
    const common = { host: 'gitee', repo: 'acme/api', secret: 'gitee-signing-secret', now: 1716171153000 } as const;

    // Act
    const password = buildDelivery({ ...common, mode: 'password' });
    const signature = buildDelivery({ ...common, mode: 'signature' });

    // Assess
    expect(password.headers['x-gitee-token']).toBe('gitee-signing-secret');
    expect(JSON.parse(password.body)).toMatchObject({ password: 'gitee-signing-secret', sign: '' });
    expect(signature.headers).toMatchObject({
      'x-gitee-token': 'jx1BEWR7jT7/lMfQxt8N5UFVr0tSFo9wHAezIHtOhyI=',
      'x-gitee-timestamp': '1716171153000',
    });
    expect(signature.body).not.toContain('gitee-signing-secret');
  });

  it('sends Azure DevOps credentials as Basic auth and the delivery id only in the body', () => {
    // Prepare
    const options: DeliveryOptions = {
      host: 'azure-devops', repo: 'fabrikam/Fiber/web', secret: 'Aladdin:open sesame', now: NOW, deliveryId: 'event-1',
    };

    // Act
    const built = buildDelivery(options);

    // Assess
    expect(built.headers).toEqual({
      'content-type': 'application/json; charset=utf-8',
      authorization: 'Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==',
    });
    expect(JSON.parse(built.body)).toMatchObject({
      id: 'event-1',
      eventType: 'git.push',
      publisherId: 'tfs',
      resource: { repository: { name: 'web', project: { name: 'Fiber' }, remoteUrl: 'https://dev.azure.com/fabrikam/Fiber/_git/web' } },
      createdDate: '2024-05-20T02:12:33.0000000Z',
    });
    expect(built.body).not.toContain('open sesame');
  });

  it('builds the same bytes from the same options', () => {
    // Prepare
    const options: DeliveryOptions = {
      host: 'bitbucket', repo: 'acme/api', secret: 's', before: BEFORE, after: AFTER, now: NOW, deliveryId: 'd-1',
    };

    // Act
    const first = buildDelivery(options);
    const second = buildDelivery(options);

    // Assess
    expect(second).toEqual(first);
  });

  it('defaults to a random 40-hex after SHA and a random delivery id', () => {
    // Prepare
    const options: DeliveryOptions = { host: 'github', repo: 'acme/api', secret: 's' };

    // Act
    const first = JSON.parse(buildDelivery(options).body) as { ref: string; after: string };
    const second = buildDelivery(options);

    // Assess
    expect(first.ref).toBe('refs/heads/main');
    expect(first.after).toMatch(/^[0-9a-f]{40}$/);
    expect(second.headers['x-github-delivery']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it.each([
    ['an unknown mode', { host: 'github', mode: 'token' }, /github has no mode "token"/],
    ['a ping GitLab does not send', { host: 'gitlab', event: 'ping' }, /gitlab sends no "ping" event/],
    ['a form body for GitLab', { host: 'gitlab', form: true }, /always sends JSON/],
    ['Bitbucket Data Center without its URL', { host: 'bitbucket-dc' }, /self-hosted/],
    ['Bitbucket Cloud at another URL', { host: 'bitbucket', serverUrl: 'https://bitbucket.example.com' }, /use bitbucket-dc/],
    ['a non-whsec_ GitLab signing token', { host: 'gitlab', mode: 'signature' }, /whsec_/],
    ['a deletion with an after SHA', { host: 'github', deleted: true, after: AFTER }, /deleted ref has no after/],
    ['a short ref name', { host: 'github', ref: 'main' }, /full ref name/],
    ['a malformed SHA', { host: 'github', before: 'abc' }, /40 \(or 64\) hex/],
    ['a three-part GitHub path', { host: 'github', repo: 'a/b/c' }, /owner\/name/],
    ['a Bitbucket ref that is neither branch nor tag', { host: 'bitbucket', ref: 'refs/notes/x' }, /branches/],
    ['an Azure DevOps secret that is not user:password', { host: 'azure-devops', repo: 'acme/platform/api' }, /"user:password"/],
    ['a two-part Azure DevOps path', { host: 'azure-devops', secret: 'hook:pw' }, /org\/project\/repo/],
  ] as const)('refuses %s', (_, extra, message) => {
    // Prepare
    const options: DeliveryOptions = { repo: 'acme/api', secret: 'plain', ...extra };

    // Act
    const act = () => buildDelivery(options);

    // Assess
    expect(act).toThrow(DeliveryOptionsError);
    expect(act).toThrow(message);
  });
});

describe('sign', () => {
  it('matches GitHub\'s documented X-Hub-Signature-256 vector', () => {
    // Prepare
    const secret = "It's a Secret to Everybody";

    // Act
    const signature = sign.hubSha256(secret, 'Hello, World!');

    // Assess
    expect(signature).toBe('sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17');
  });

  it('matches the RFC 7617 Basic credentials example', () => {
    // Act
    const authorization = sign.basic('Aladdin:open sesame');

    // Assess
    expect(authorization).toBe('Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==');
  });

  it('matches the Standard Webhooks reference vector', () => {
    // Prepare
    const body = '{"test": 2432232314}';

    // Act
    const signature = sign.standardWebhooks(SIGNING_TOKEN, 'msg_p5jXN8AQM9LWM0D4loKWxJek', '1614265330', body);

    // Assess
    expect(signature).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });
});
