import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { CallOptions, CodeHub, MirrorSyncRequest } from '../../lib/codehub/types';
import type { MirrorTarget } from '../../lib/config/types';
import { parseMirrorConfig } from '../../lib/config/load';
import { CodeHubError, ErrorCodes } from '../../lib/errors';
import { createLogger } from '../../lib/observability/log';
import { buildMirrorIndex, type MirrorIndexInput } from '../../lib/config/mapping';
import { createMemoryIdempotencyStore, type IdempotencyStore } from '../../lib/pipeline/idempotency';
import type { DeliveryRecord } from '../../lib/observability/delivery';
import { createWebhookHandler, type WebhookOptions } from '../../lib/pipeline/webhook';
import { fakeContext, httpApiEvent, restApiEvent } from '../support/lambda';

const HOST_SECRET = 'host-secret-value-1';
const MIRROR_SECRET = 'mirror-own-secret-2';
const SOURCE_PASSWORD = 'source-password-3';

function mirror(source: string, repositoryId: number, extra: Partial<MirrorTarget> = {}): MirrorTarget {
  return { source, repositoryId, secrets: undefined, refs: undefined, forceFetch: true, ...extra };
}

const config: MirrorIndexInput = {
  webhooks: new Map([['github.com', [HOST_SECRET]]]),
  mirrors: [
    mirror('github.com/acme/api', 2111, { username: 'bot', password: SOURCE_PASSWORD }),
    mirror('github.com/acme/fan', 3001),
    mirror('github.com/acme/fan', 3002, { forceFetch: false }),
    mirror('github.com/acme/private', 2112, { secrets: [MIRROR_SECRET] }),
    mirror('github.com/acme/tags-only', 2113, { refs: ['refs/tags/*'] }),
  ],
};

interface Call {
  readonly repositoryId: number;
  readonly request: MirrorSyncRequest;
  readonly options: CallOptions | undefined;
}

/** A CodeHub stand-in: records every call, answers a jid or the error a test asks for. */
function fakeCodeHub(fail?: (repositoryId: number) => Error | undefined): CodeHub & { calls: Call[] } {
  const calls: Call[] = [];
  return {
    calls,
    async startMirrorSync(repositoryId, request, options) {
      calls.push({ repositoryId, request, options });
      const error = fail?.(repositoryId);
      if (error) throw error;
      return { jid: `jid-${repositoryId}` };
    },
  };
}

function setup(options: Partial<WebhookOptions> & { fail?: (id: number) => Error | undefined; cfg?: MirrorIndexInput } = {}) {
  const codehub = fakeCodeHub(options.fail);
  const lines: string[] = [];
  const handler = createWebhookHandler({
    index: buildMirrorIndex(options.cfg ?? config),
    codehub,
    logger: createLogger({ level: 'debug', write: (l) => lines.push(l) }),
    ...options,
  });
  return { handler, codehub, lines };
}

function githubPush(fullName: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    ref: 'refs/heads/main',
    before: 'a'.repeat(40),
    after: 'b'.repeat(40),
    deleted: false,
    repository: { full_name: fullName, html_url: `https://github.com/${fullName}`, clone_url: `https://github.com/${fullName}.git` },
    ...extra,
  });
}

function githubHeaders(body: string, secret: string, event = 'push'): Record<string, string> {
  return {
    'content-type': 'application/json',
    'x-github-event': event,
    'x-github-delivery': 'd-1',
    'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
  };
}

function bodyOf(response: { body: string }): Record<string, unknown> {
  return JSON.parse(response.body) as Record<string, unknown>;
}

describe('webhook pipeline: answers to the Git host', () => {
  it('syncs a verified push and answers 200 with the jid', async () => {
    // Prepare
    const { handler, codehub } = setup();
    const body = githubPush('Acme/API');
    // Act
    const response = await handler(httpApiEvent({ headers: githubHeaders(body, HOST_SECRET), body }), fakeContext());
    // Assess
    expect(response.statusCode).toBe(200);
    expect(bodyOf(response)).toMatchObject({ jid: 'jid-2111', jobs: [{ repository_id: 2111, jid: 'jid-2111' }] });
    expect(codehub.calls).toHaveLength(1);
    expect(codehub.calls[0]?.request).toEqual({ forceFetch: true, username: 'bot', password: SOURCE_PASSWORD, endpointUuid: undefined });
    expect(codehub.calls[0]?.options?.deadline).toBeGreaterThan(Date.now());
  });

  it('fans a push out to every mirror of the source, with no top-level jid', async () => {
    // Prepare
    const { handler, codehub } = setup();
    const body = githubPush('acme/fan');
    // Act
    const response = await handler(httpApiEvent({ headers: githubHeaders(body, HOST_SECRET), body }));
    // Assess
    expect(response.statusCode).toBe(200);
    const answer = bodyOf(response);
    expect(answer['jid']).toBeUndefined();
    expect(answer['jobs']).toEqual([
      { repository_id: 3001, jid: 'jid-3001' },
      { repository_id: 3002, jid: 'jid-3002' },
    ]);
    expect(codehub.calls.map((c) => c.request.forceFetch)).toEqual([true, false]);
  });

  it('accepts a REST API 1.0 event with mixed-case headers and a base64 body', async () => {
    // Prepare
    const { handler } = setup();
    const body = githubPush('acme/api');
    const headers = githubHeaders(body, HOST_SECRET);
    const mixed = { 'Content-Type': headers['content-type'] as string, 'X-GitHub-Event': 'push', 'X-Hub-Signature-256': headers['x-hub-signature-256'] as string };
    // Act
    const response = await handler(restApiEvent({ headers: mixed, body, base64: true }));
    // Assess
    expect(response.statusCode).toBe(200);
  });

  it('answers a verified ping with pong and calls nothing', async () => {
    // Prepare
    const { handler, codehub } = setup();
    const body = JSON.stringify({ zen: 'Keep it logically awesome.', hook_id: 1 });
    // Act
    const response = await handler(httpApiEvent({ headers: githubHeaders(body, HOST_SECRET, 'ping'), body }));
    // Assess
    expect(response.statusCode).toBe(200);
    expect(bodyOf(response)).toMatchObject({ status: 'pong' });
    expect(codehub.calls).toHaveLength(0);
  });

  it.each([
    ['no mirror for the source', githubPush('acme/unknown'), 'push', /no mirror configured for github.com\/acme\/unknown/],
    ['a ref no mirror wants', githubPush('acme/tags-only'), 'push', /refs\/heads\/main/],
    ['another event', JSON.stringify({ action: 'opened' }), 'issues', /issues/],
  ])('answers 202 ignored for %s', async (_name, body, event, reason) => {
    // Prepare
    const { handler, codehub } = setup();
    // Act
    const response = await handler(httpApiEvent({ headers: githubHeaders(body, HOST_SECRET, event), body }));
    // Assess
    expect(response.statusCode).toBe(202);
    expect(bodyOf(response)).toMatchObject({ status: 'ignored' });
    expect(String(bodyOf(response)['reason'])).toMatch(reason);
    expect(codehub.calls).toHaveLength(0);
  });

  it('lets a matching ref through a refs filter', async () => {
    // Prepare
    const { handler, codehub } = setup();
    const body = githubPush('acme/tags-only', { ref: 'refs/tags/v1.2.0' });
    // Act
    const response = await handler(httpApiEvent({ headers: githubHeaders(body, HOST_SECRET), body }));
    // Assess
    expect(response.statusCode).toBe(200);
    expect(codehub.calls.map((c) => c.repositoryId)).toEqual([2113]);
  });

  it.each([
    ['a missing signature', (h: Record<string, string>) => { delete h['x-hub-signature-256']; }, ErrorCodes.SIGNATURE_MISSING],
    ['a wrong signature', (h: Record<string, string>) => { h['x-hub-signature-256'] = `sha256=${'0'.repeat(64)}`; }, ErrorCodes.SIGNATURE_MISMATCH],
    ['a signature of the wrong length', (h: Record<string, string>) => { h['x-hub-signature-256'] = 'sha256=abc'; }, ErrorCodes.SIGNATURE_MISMATCH],
    ['no known host headers', (h: Record<string, string>) => { delete h['x-github-event']; }, ErrorCodes.UNKNOWN_SENDER],
  ])('answers 401 for %s and never calls CodeHub', async (_name, tamper, code) => {
    // Prepare
    const { handler, codehub } = setup();
    const body = githubPush('acme/api');
    const headers = githubHeaders(body, HOST_SECRET);
    tamper(headers);
    // Act
    const response = await handler(httpApiEvent({ headers, body }));
    // Assess
    expect(response.statusCode).toBe(401);
    expect(bodyOf(response)).toMatchObject({ code });
    expect(typeof bodyOf(response)['error']).toBe('string');
    expect(codehub.calls).toHaveLength(0);
  });

  it('answers 401 for a body changed after signing', async () => {
    // Prepare
    const { handler, codehub } = setup();
    const body = githubPush('acme/api');
    const headers = githubHeaders(body, HOST_SECRET);
    // Act
    const response = await handler(httpApiEvent({ headers, body: body.replace('acme/api', 'acme/fan') }));
    // Assess
    expect(response.statusCode).toBe(401);
    expect(codehub.calls).toHaveLength(0);
  });

  it('fails closed with 401 when no secret is configured at all', async () => {
    // Prepare
    const { handler, codehub } = setup({ cfg: { webhooks: new Map(), mirrors: [mirror('github.com/acme/api', 1)] } });
    const body = githubPush('acme/api');
    // Act
    const response = await handler(httpApiEvent({ headers: githubHeaders(body, ''), body }));
    // Assess
    expect(response.statusCode).toBe(401);
    expect(bodyOf(response)).toMatchObject({ code: ErrorCodes.NO_SECRET_CONFIGURED });
    expect(codehub.calls).toHaveLength(0);
  });

  it('answers 401 when the host secret signs a push for a mirror that has its own secret', async () => {
    // Prepare
    const { handler, codehub } = setup();
    const body = githubPush('acme/private');
    // Act
    const response = await handler(httpApiEvent({ headers: githubHeaders(body, HOST_SECRET), body }));
    // Assess
    expect(response.statusCode).toBe(401);
    expect(bodyOf(response)).toMatchObject({ code: ErrorCodes.SECRET_NOT_FOR_SOURCE });
    expect(codehub.calls).toHaveLength(0);
  });

  it('accepts the mirror secret for its own mirror only', async () => {
    // Prepare
    const { handler, codehub } = setup();
    const own = githubPush('acme/private');
    const other = githubPush('acme/api');
    // Act
    const ok = await handler(httpApiEvent({ headers: githubHeaders(own, MIRROR_SECRET), body: own }));
    const refused = await handler(httpApiEvent({ headers: githubHeaders(other, MIRROR_SECRET), body: other }));
    // Assess
    expect(ok.statusCode).toBe(200);
    expect(refused.statusCode).toBe(401);
    expect(codehub.calls.map((c) => c.repositoryId)).toEqual([2112]);
  });

  it.each([
    ['not JSON', 'this is not json'],
    ['not a push', JSON.stringify({ hello: 'world' })],
  ])('answers 400 for a verified body that is %s', async (_name, body) => {
    // Prepare
    const { handler, codehub } = setup();
    // Act
    const response = await handler(httpApiEvent({ headers: githubHeaders(body, HOST_SECRET), body }));
    // Assess
    expect(response.statusCode).toBe(400);
    expect(bodyOf(response)).toMatchObject({ code: ErrorCodes.BAD_PAYLOAD });
    expect(codehub.calls).toHaveLength(0);
  });

  it('answers 405 to anything but POST, as the same error shape as every rejection', async () => {
    // Prepare
    const { handler } = setup();
    // Act
    const response = await handler(httpApiEvent({ method: 'GET', headers: {}, body: '' }));
    // Assess
    expect(response.statusCode).toBe(405);
    expect(response.headers?.['allow']).toBe('POST');
    expect(bodyOf(response)).toEqual({ error: 'only POST is accepted', code: ErrorCodes.METHOD_NOT_ALLOWED });
  });

  it.each([
    ['null', null],
    ['undefined', undefined],
    ['a string', '{"version":"2.0"}'],
    ['a number', 7],
    ['an array', [httpApiEvent({ headers: {}, body: '' })]],
  ])('answers 400 BAD_EVENT in JSON to %s as the event, without throwing', async (_name, event) => {
    // Prepare
    const { handler, codehub } = setup();
    // Act
    const response = await handler(event);
    // Assess
    expect(response.statusCode).toBe(400);
    expect(response.headers?.['content-type']).toMatch(/^application\/json/);
    expect(bodyOf(response)).toMatchObject({ code: ErrorCodes.BAD_EVENT });
    expect(codehub.calls).toHaveLength(0);
  });

  it('answers 413 to a body over the limit before verifying it', async () => {
    // Prepare
    const { handler, codehub } = setup({ maxBodyBytes: 100 });
    const body = githubPush('acme/api', { padding: 'x'.repeat(200) });
    // Act
    const response = await handler(httpApiEvent({ headers: githubHeaders(body, HOST_SECRET), body }));
    // Assess
    expect(response.statusCode).toBe(413);
    expect(codehub.calls).toHaveLength(0);
  });

  it('answers 502 with CodeHub error_code and the repository when CodeHub refuses', async () => {
    // Prepare
    const { handler } = setup({
      fail: () => new CodeHubError(ErrorCodes.CODEHUB_REJECTED, 'CodeHub answered 404 CH.004404: Repository Not Found', { status: 404, serviceCode: 'CH.004404', serviceMessage: 'Repository Not Found' }),
    });
    const body = githubPush('acme/api');
    // Act
    const response = await handler(httpApiEvent({ headers: githubHeaders(body, HOST_SECRET), body }));
    // Assess
    expect(response.statusCode).toBe(502);
    expect(bodyOf(response)).toMatchObject({ error_code: 'CH.004404', repository_id: 2111, code: ErrorCodes.CODEHUB_REJECTED });
  });

  it('answers 504 when every failed sync timed out', async () => {
    // Prepare
    const { handler } = setup({ fail: () => new CodeHubError(ErrorCodes.CODEHUB_TIMEOUT, 'CodeHub did not answer in time') });
    const body = githubPush('acme/api');
    // Act
    const response = await handler(httpApiEvent({ headers: githubHeaders(body, HOST_SECRET), body }));
    // Assess
    expect(response.statusCode).toBe(504);
    expect(bodyOf(response)).toMatchObject({ code: ErrorCodes.CODEHUB_TIMEOUT, repository_id: 2111 });
  });

  it('answers 502 for a partial fan-out failure and still lists the jobs that started', async () => {
    // Prepare
    const { handler } = setup({ fail: (id) => (id === 3002 ? new CodeHubError(ErrorCodes.CODEHUB_SERVER_ERROR, 'CodeHub answered 500', { status: 500, serviceCode: 'CH.000001' }) : undefined) });
    const body = githubPush('acme/fan');
    // Act
    const response = await handler(httpApiEvent({ headers: githubHeaders(body, HOST_SECRET), body }));
    // Assess
    expect(response.statusCode).toBe(502);
    expect(bodyOf(response)).toMatchObject({ repository_id: 3002, error_code: 'CH.000001', jobs: [{ repository_id: 3001, jid: 'jid-3001' }] });
  });

  it('caps the CodeHub deadline by the Lambda remaining time', async () => {
    // Prepare
    const { handler, codehub } = setup({ budgetMs: 60_000 });
    const body = githubPush('acme/api');
    // Act
    await handler(httpApiEvent({ headers: githubHeaders(body, HOST_SECRET), body }), fakeContext(3_000));
    // Assess
    expect(codehub.calls[0]?.options?.deadline).toBeLessThanOrEqual(Date.now() + 3_000);
  });

  it('never puts a webhook secret or source password in an answer or a log line', async () => {
    // Prepare
    const { handler, lines } = setup({ fail: (id) => (id === 2111 ? new CodeHubError(ErrorCodes.CODEHUB_REJECTED, 'refused', { status: 403, serviceCode: 'CH.004403' }) : undefined) });
    const answers: string[] = [];
    const pushes = [githubPush('acme/api'), githubPush('acme/private'), githubPush('acme/fan')];
    // Act
    for (const body of pushes) {
      for (const secret of [HOST_SECRET, MIRROR_SECRET, 'wrong']) {
        answers.push((await handler(httpApiEvent({ headers: githubHeaders(body, secret), body }))).body);
      }
    }
    // Assess
    const everything = [...answers, ...lines].join('\n');
    for (const secret of [HOST_SECRET, MIRROR_SECRET, SOURCE_PASSWORD]) expect(everything).not.toContain(secret);
    expect(lines.length).toBeGreaterThan(0);
  });
});

function withDelivery(headers: Record<string, string>, id: string): Record<string, string> {
  return { ...headers, 'x-github-delivery': id };
}

function giteaHeaders(body: string, secret: string): Record<string, string> {
  return {
    'content-type': 'application/json',
    'x-gitea-event': 'push',
    'x-gitea-delivery': 'g-1',
    'x-gitea-signature': createHmac('sha256', secret).update(body).digest('hex'),
  };
}

const giteaConfig: MirrorIndexInput = {
  webhooks: new Map([['gitea.example.com', [HOST_SECRET]], ['github.com', [HOST_SECRET]]]),
  mirrors: [mirror('gitea.example.com/acme/api', 4001), mirror('github.com/acme/api', 4002)],
};

function giteaPush(): string {
  return JSON.stringify({
    ref: 'refs/heads/main',
    before: 'a'.repeat(40),
    after: 'b'.repeat(40),
    repository: { full_name: 'acme/api', html_url: 'https://gitea.example.com/acme/api' },
  });
}

describe('webhook pipeline: budgets per host', () => {
  it('gives Gitea (5 s wait) a 4 s budget and GitHub (10 s wait) an 8 s budget by default', async () => {
    // Prepare
    const { handler, codehub } = setup({ cfg: giteaConfig });
    const gitea = giteaPush();
    const github = githubPush('acme/api');
    // Act
    const before = Date.now();
    await handler(httpApiEvent({ headers: giteaHeaders(gitea, HOST_SECRET), body: gitea }), fakeContext(60_000));
    await handler(httpApiEvent({ headers: githubHeaders(github, HOST_SECRET), body: github }), fakeContext(60_000));
    const after = Date.now();
    // Assess
    const [giteaCall, githubCall] = codehub.calls;
    expect(giteaCall?.options?.deadline).toBeGreaterThanOrEqual(before + 4000);
    expect(giteaCall?.options?.deadline).toBeLessThanOrEqual(after + 4000);
    expect(githubCall?.options?.deadline).toBeGreaterThanOrEqual(before + 8000);
    expect(githubCall?.options?.deadline).toBeLessThanOrEqual(after + 8000);
  });
});

describe('webhook pipeline: failures the Git host must see', () => {
  it('answers 503 with Retry-After when CodeHub throttled to the end', async () => {
    // Prepare
    const { handler } = setup({ fail: () => new CodeHubError(ErrorCodes.CODEHUB_THROTTLED, 'throttled', { status: 429, serviceCode: 'APIG.0308', retryAfterSeconds: 12 }) });
    const body = githubPush('acme/api');
    // Act
    const response = await handler(httpApiEvent({ headers: githubHeaders(body, HOST_SECRET), body }));
    // Assess
    expect(response.statusCode).toBe(503);
    expect(response.headers?.['retry-after']).toBe('12');
    expect(bodyOf(response)).toMatchObject({ code: ErrorCodes.CODEHUB_THROTTLED, error_code: 'APIG.0308', budget_ms: 8000 });
  });

  it('answers 503 with a minute\'s Retry-After when CodeHub named no wait, and when the rest timed out', async () => {
    // Prepare
    const { handler } = setup({
      fail: (id) =>
        id === 3001
          ? new CodeHubError(ErrorCodes.CODEHUB_THROTTLED, 'throttled', { status: 429 })
          : new CodeHubError(ErrorCodes.CODEHUB_TIMEOUT, 'timed out'),
    });
    const body = githubPush('acme/fan');
    // Act
    const response = await handler(httpApiEvent({ headers: githubHeaders(body, HOST_SECRET), body }));
    // Assess
    expect(response.statusCode).toBe(503);
    expect(response.headers?.['retry-after']).toBe('60');
  });

  it('answers 502 for an AK/SK signature failure, with the reason', async () => {
    // Prepare
    const { handler } = setup({ fail: () => new CodeHubError(ErrorCodes.CODEHUB_SIGNATURE_FAILED, 'the AK/SK signature was rejected', { status: 401, serviceCode: 'APIG.0301' }) });
    const body = githubPush('acme/api');
    // Act
    const response = await handler(httpApiEvent({ headers: githubHeaders(body, HOST_SECRET), body }));
    // Assess
    expect(response.statusCode).toBe(502);
    expect(bodyOf(response)).toMatchObject({ code: ErrorCodes.CODEHUB_SIGNATURE_FAILED, error: 'the AK/SK signature was rejected' });
  });

  it('answers 504 at once when the Lambda has no time left for CodeHub', async () => {
    // Prepare
    const { handler, codehub } = setup();
    const body = githubPush('acme/api');
    // Act
    await handler(httpApiEvent({ headers: githubHeaders(body, HOST_SECRET), body }), fakeContext(100));
    // Assess
    expect(codehub.calls[0]?.options?.deadline).toBeLessThanOrEqual(Date.now());
  });

  it('never throws: a malformed event is a 4xx, a bug in CodeHub\'s stand-in a 502', async () => {
    // Prepare
    const throwing: CodeHub = { startMirrorSync: () => { throw new TypeError('not a promise'); } };
    const { handler } = setup({ codehub: throwing });
    const body = githubPush('acme/api');
    // Act
    const odd = await handler({ version: '2.0', requestContext: null, headers: 5, body: 7 } as unknown as Parameters<typeof handler>[0]);
    const broken = await handler(httpApiEvent({ headers: githubHeaders(body, HOST_SECRET), body }));
    // Assess
    expect(odd.statusCode).toBe(405);
    expect(broken.statusCode).toBe(502);
    expect(bodyOf(broken)).toMatchObject({ code: ErrorCodes.CODEHUB_UNREACHABLE, error: 'CodeHub call failed unexpectedly' });
  });
});

describe('webhook pipeline: the same delivery twice', () => {
  it('answers a redelivery with the first answer and no second CodeHub call', async () => {
    // Prepare
    const { handler, codehub } = setup();
    const body = githubPush('acme/api');
    const event = httpApiEvent({ headers: githubHeaders(body, HOST_SECRET), body });
    // Act
    const first = await handler(event);
    const second = await handler(event);
    // Assess
    expect(codehub.calls).toHaveLength(1);
    expect(second.statusCode).toBe(first.statusCode);
    expect(second.body).toBe(first.body);
    expect(second.headers?.['idempotent-replayed']).toBe('true');
    expect(first.headers?.['idempotent-replayed']).toBeUndefined();
  });

  it('answers a redelivery of a failed delivery afresh, so that it can succeed', async () => {
    // Prepare
    let failing = true;
    const { handler, codehub } = setup({ fail: () => (failing ? new CodeHubError(ErrorCodes.CODEHUB_SERVER_ERROR, 'CodeHub answered 500', { status: 500 }) : undefined) });
    const body = githubPush('acme/api');
    const event = httpApiEvent({ headers: githubHeaders(body, HOST_SECRET), body });
    // Act
    const first = await handler(event);
    failing = false;
    const second = await handler(event);
    // Assess
    expect([first.statusCode, second.statusCode]).toEqual([502, 200]);
    expect(codehub.calls).toHaveLength(2);
  });

  it('never answers an unverified delivery from the store, even with a known delivery id', async () => {
    // Prepare
    const { handler, codehub } = setup();
    const body = githubPush('acme/api');
    await handler(httpApiEvent({ headers: githubHeaders(body, HOST_SECRET), body }));
    // Act
    const forged = await handler(httpApiEvent({ headers: githubHeaders(body, 'guessed-secret'), body }));
    // Assess
    expect(forged.statusCode).toBe(401);
    expect(codehub.calls).toHaveLength(1);
  });

  it('treats a different body under the same delivery id as a different delivery', async () => {
    // Prepare
    const { handler, codehub } = setup();
    const main = githubPush('acme/api');
    const tag = githubPush('acme/api', { ref: 'refs/tags/v1' });
    // Act
    await handler(httpApiEvent({ headers: githubHeaders(main, HOST_SECRET), body: main }));
    await handler(httpApiEvent({ headers: githubHeaders(tag, HOST_SECRET), body: tag }));
    // Assess
    expect(codehub.calls).toHaveLength(2);
  });

  it('answers every delivery afresh with idempotency: false', async () => {
    // Prepare
    const { handler, codehub } = setup({ idempotency: false });
    const body = githubPush('acme/api');
    const event = httpApiEvent({ headers: githubHeaders(body, HOST_SECRET), body });
    // Act
    await handler(event);
    await handler(event);
    // Assess
    expect(codehub.calls).toHaveLength(2);
  });

  it('uses the store it is given', async () => {
    // Prepare
    const store = createMemoryIdempotencyStore();
    const first = setup({ idempotency: store });
    const second = setup({ idempotency: store });
    const body = githubPush('acme/api');
    const event = httpApiEvent({ headers: githubHeaders(body, HOST_SECRET), body });
    // Act
    await first.handler(event);
    const replay = await second.handler(event);
    // Assess
    expect(second.codehub.calls).toHaveLength(0);
    expect(replay.statusCode).toBe(200);
  });
});

/** A CodeHub stand-in whose syncs answer only when released. */
function heldCodeHub() {
  const calls: Call[] = [];
  const pending: (() => void)[] = [];
  const codehub: CodeHub = {
    startMirrorSync(repositoryId, request, options) {
      calls.push({ repositoryId, request, options });
      return new Promise((resolve) => pending.push(() => resolve({ jid: `jid-${repositoryId}-${calls.length}` })));
    },
  };
  return { codehub, calls, release: () => pending.splice(0).forEach((resolve) => resolve()) };
}

describe('webhook pipeline: what the idempotency store says', () => {
  it('answers 409 DELIVERY_IN_PROGRESS when the first delivery is still being answered at this one\'s deadline', async () => {
    // Prepare
    const records: DeliveryRecord[] = [];
    const store: IdempotencyStore = { kind: 'persistent', once: async () => ({ kind: 'in-progress' }) };
    const { handler, codehub } = setup({ idempotency: store, observe: (r) => records.push(r) });
    const body = githubPush('acme/api');
    // Act
    const response = await handler(httpApiEvent({ headers: githubHeaders(body, HOST_SECRET), body }));
    // Assess
    expect(response.statusCode).toBe(409);
    expect(bodyOf(response)).toMatchObject({ code: ErrorCodes.DELIVERY_IN_PROGRESS });
    expect(records).toEqual([expect.objectContaining({ outcome: 'rejected', statusCode: 409, code: ErrorCodes.DELIVERY_IN_PROGRESS, host: 'github', deliveryId: 'd-1' })]);
    expect(codehub.calls).toHaveLength(0);
  });

  it('answers 500 INTERNAL_ERROR when the store fails, and records the error', async () => {
    // Prepare
    const records: DeliveryRecord[] = [];
    const store: IdempotencyStore = { kind: 'persistent', once: () => Promise.reject(new TypeError('a bug')) };
    const { handler } = setup({ idempotency: store, observe: (r) => records.push(r) });
    const body = githubPush('acme/api');
    // Act
    const response = await handler(httpApiEvent({ headers: githubHeaders(body, HOST_SECRET), body }));
    // Assess
    expect(response.statusCode).toBe(500);
    expect(bodyOf(response)).toEqual({ error: 'the bridge failed unexpectedly', code: ErrorCodes.INTERNAL_ERROR });
    expect(records).toEqual([expect.objectContaining({ outcome: 'error', statusCode: 500, code: ErrorCodes.INTERNAL_ERROR })]);
  });
});

describe('webhook pipeline: pushes while a sync is in flight', () => {
  it('lets pushes for a repository whose sync is in flight share that call', async () => {
    // Prepare
    const held = heldCodeHub();
    const { handler } = setup({ codehub: held.codehub });
    const first = githubPush('acme/api');
    const second = githubPush('acme/api', { after: 'c'.repeat(40) });
    // Act
    const answers = Promise.all([
      handler(httpApiEvent({ headers: withDelivery(githubHeaders(first, HOST_SECRET), 'd-1'), body: first })),
      handler(httpApiEvent({ headers: withDelivery(githubHeaders(second, HOST_SECRET), 'd-2'), body: second })),
    ]);
    await new Promise((resolve) => setTimeout(resolve, 10));
    held.release();
    const [a, b] = await answers;
    // Assess
    expect(held.calls).toHaveLength(1);
    expect([a.statusCode, b.statusCode]).toEqual([200, 200]);
    expect(bodyOf(a)['jid']).toBe(bodyOf(b)['jid']);
  });

  it('makes a new call once the shared one has answered', async () => {
    // Prepare
    const { handler, codehub } = setup();
    const first = githubPush('acme/api');
    const second = githubPush('acme/api', { after: 'c'.repeat(40) });
    // Act
    await handler(httpApiEvent({ headers: withDelivery(githubHeaders(first, HOST_SECRET), 'd-1'), body: first }));
    await handler(httpApiEvent({ headers: withDelivery(githubHeaders(second, HOST_SECRET), 'd-2'), body: second }));
    // Assess
    expect(codehub.calls).toHaveLength(2);
  });

  it('does not share between mirrors whose requests differ', async () => {
    // Prepare
    const held = heldCodeHub();
    const cfg: MirrorIndexInput = {
      webhooks: new Map([['github.com', [HOST_SECRET]]]),
      mirrors: [mirror('github.com/acme/one', 5000), mirror('github.com/acme/two', 5000, { forceFetch: false })],
    };
    const { handler } = setup({ codehub: held.codehub, cfg });
    const one = githubPush('acme/one');
    const two = githubPush('acme/two');
    // Act
    const answers = Promise.all([
      handler(httpApiEvent({ headers: withDelivery(githubHeaders(one, HOST_SECRET), 'd-1'), body: one })),
      handler(httpApiEvent({ headers: withDelivery(githubHeaders(two, HOST_SECRET), 'd-2'), body: two })),
    ]);
    await new Promise((resolve) => setTimeout(resolve, 10));
    held.release();
    await answers;
    // Assess
    expect(held.calls.map((c) => c.request.forceFetch)).toEqual([true, false]);
  });

  it('answers 504 within its own budget when the shared call outlasts it', async () => {
    // Prepare
    const held = heldCodeHub();
    const github = githubPush('acme/api');
    const gitea = giteaPush();
    const slowMirror = { ...giteaConfig, mirrors: [mirror('gitea.example.com/acme/api', 4002), mirror('github.com/acme/api', 4002)] };
    const shared = setup({ codehub: held.codehub, cfg: slowMirror, budgetMs: { github: 5000, gitea: 100 } });
    // Act
    const githubAnswer = shared.handler(httpApiEvent({ headers: githubHeaders(github, HOST_SECRET), body: github }));
    await new Promise((resolve) => setTimeout(resolve, 5));
    const started = Date.now();
    const giteaAnswer = await shared.handler(httpApiEvent({ headers: giteaHeaders(gitea, HOST_SECRET), body: gitea }));
    const elapsed = Date.now() - started;
    held.release();
    await githubAnswer;
    // Assess
    expect(held.calls).toHaveLength(1);
    expect(giteaAnswer.statusCode).toBe(504);
    expect(elapsed).toBeLessThan(1000);
  });
});

describe('webhook pipeline: mirrors configured by CodeHub path', () => {
  const pathConfig = parseMirrorConfig(
    JSON.stringify({
      webhooks: { 'github.com': { secret: HOST_SECRET } },
      mirrors: [
        { source: 'github.com/acme/by-path', target: 'acme-mirror/by-path' },
        { source: 'github.com/wild/*', target: 'wild-mirror/{name}' },
      ],
    }),
    {},
  ).config;

  function pathSetup(lookup: (path: string) => Promise<number>) {
    const looked: string[] = [];
    const deadlines: (number | undefined)[] = [];
    const resolver = {
      resolve: (path: string, options?: { readonly deadline?: number }) => {
        looked.push(path);
        deadlines.push(options?.deadline);
        return lookup(path);
      },
    };
    return { ...setup({ cfg: pathConfig, resolver }), looked, deadlines };
  }

  it('looks the target up within the delivery\'s deadline, the one its sync gets', async () => {
    // Prepare
    const { handler, codehub, deadlines } = pathSetup(async () => 4242);
    const body = githubPush('acme/by-path');
    // Act
    await handler(httpApiEvent({ headers: githubHeaders(body, HOST_SECRET), body }), fakeContext(3_000));
    // Assess
    expect(deadlines).toHaveLength(1);
    expect(deadlines[0]).toBeLessThanOrEqual(Date.now() + 3_000);
    expect(deadlines[0]).toBe(codehub.calls[0]?.options?.deadline);
  });

  it('resolves a target path to its repository and syncs it', async () => {
    // Prepare
    const { handler, codehub, looked } = pathSetup(async () => 4242);
    const body = githubPush('acme/by-path');
    // Act
    const response = await handler(httpApiEvent({ headers: githubHeaders(body, HOST_SECRET), body }));
    // Assess
    expect(response.statusCode).toBe(200);
    expect(looked).toEqual(['acme-mirror/by-path']);
    expect(codehub.calls.map((c) => c.repositoryId)).toEqual([4242]);
    expect(bodyOf(response)).toMatchObject({ jid: 'jid-4242', jobs: [{ repository_id: 4242, target: 'acme-mirror/by-path' }] });
  });

  it('expands a wildcard source into the pushed repository name', async () => {
    // Prepare
    const { handler, looked } = pathSetup(async () => 7);
    const body = githubPush('wild/Service-One');
    // Act
    const response = await handler(httpApiEvent({ headers: githubHeaders(body, HOST_SECRET), body }));
    // Assess
    expect(response.statusCode).toBe(200);
    expect(looked).toEqual(['wild-mirror/service-one']);
  });

  it('answers 502 naming the target when its path does not resolve', async () => {
    // Prepare
    const { handler, codehub } = pathSetup(async () => {
      throw new CodeHubError(ErrorCodes.CODEHUB_REJECTED, 'no repository acme-mirror/by-path', { status: 200, serviceCode: 'CH.004404' });
    });
    const body = githubPush('acme/by-path');
    // Act
    const response = await handler(httpApiEvent({ headers: githubHeaders(body, HOST_SECRET), body }));
    // Assess
    expect(response.statusCode).toBe(502);
    expect(bodyOf(response)).toMatchObject({ error_code: 'CH.004404', failures: [{ target: 'acme-mirror/by-path' }] });
    expect(codehub.calls).toHaveLength(0);
  });
});

describe('webhook pipeline: one record per delivery', () => {
  function observed(options: Partial<WebhookOptions> & { fail?: (id: number) => Error | undefined } = {}) {
    const records: DeliveryRecord[] = [];
    const { handler } = setup({ ...options, observe: (r) => records.push(structuredClone(r)) });
    return { handler, records };
  }

  it('records a sync with its host, delivery id, source, refs, repositories, jids and CodeHub latency', async () => {
    // Prepare
    const { handler, records } = observed();
    const body = githubPush('acme/fan');
    // Act
    await handler(httpApiEvent({ headers: githubHeaders(body, HOST_SECRET), body }), fakeContext());
    // Assess
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      requestId: 'req-test-1',
      host: 'github',
      deliveryId: 'd-1',
      source: 'github.com/acme/fan',
      refs: ['refs/heads/main'],
      outcome: 'synced',
      statusCode: 200,
      repositoryIds: [3001, 3002],
      jids: ['jid-3001', 'jid-3002'],
    });
    expect(records[0]?.codehubMs).toBeGreaterThanOrEqual(0);
  });

  it('records a rejection with its code and no CodeHub fields', async () => {
    // Prepare
    const { handler, records } = observed();
    const body = githubPush('acme/api');
    // Act
    await handler(httpApiEvent({ headers: githubHeaders(body, 'wrong-secret'), body }));
    // Assess
    expect(records).toEqual([expect.objectContaining({ outcome: 'rejected', statusCode: 401, code: ErrorCodes.SIGNATURE_MISMATCH, host: 'github' })]);
    expect(records[0]?.jids).toBeUndefined();
  });

  it('records a failed sync with CodeHub error codes', async () => {
    // Prepare
    const { handler, records } = observed({ fail: () => new CodeHubError(ErrorCodes.CODEHUB_THROTTLED, 'throttled', { status: 429, serviceCode: 'APIG.0308' }) });
    const body = githubPush('acme/api');
    // Act
    await handler(httpApiEvent({ headers: githubHeaders(body, HOST_SECRET), body }));
    // Assess
    expect(records[0]).toMatchObject({ outcome: 'failed', statusCode: 503, code: ErrorCodes.CODEHUB_THROTTLED, codehubErrors: ['APIG.0308'], repositoryIds: [2111] });
  });

  it('records a redelivery as replayed', async () => {
    // Prepare
    const { handler, records } = observed();
    const body = githubPush('acme/api');
    const event = httpApiEvent({ headers: githubHeaders(body, HOST_SECRET), body });
    // Act
    await handler(event);
    await handler(event);
    // Assess
    expect(records.map((r) => r.outcome)).toEqual(['synced', 'replayed']);
  });

  it('logs one line per delivery by default, without secrets', async () => {
    // Prepare
    const { handler, lines } = setup();
    const body = githubPush('acme/api');
    // Act
    await handler(httpApiEvent({ headers: githubHeaders(body, HOST_SECRET), body }));
    // Assess
    const deliveries = lines.map((l) => JSON.parse(l) as { message: string }).filter((l) => l.message === 'delivery');
    expect(deliveries).toHaveLength(1);
    expect(lines.join('\n')).not.toContain(SOURCE_PASSWORD);
  });
});
