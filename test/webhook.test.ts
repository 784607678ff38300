import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { CallOptions, CodeHub, MirrorSyncRequest } from '../lib/codehub/types';
import type { MirrorConfig, MirrorTarget } from '../lib/config/types';
import { CodeHubError, ErrorCodes } from '../lib/errors';
import { createLogger } from '../lib/log';
import { buildMirrorIndex } from '../lib/mapping';
import { createWebhookHandler, type WebhookOptions } from '../lib/webhook';
import { fakeContext, httpApiEvent, restApiEvent } from './support/lambda';

const HOST_SECRET = 'host-secret-value-1';
const MIRROR_SECRET = 'mirror-own-secret-2';
const SOURCE_PASSWORD = 'source-password-3';

function mirror(source: string, repositoryId: number, extra: Partial<MirrorTarget> = {}): MirrorTarget {
  return { source, repositoryId, secrets: undefined, refs: undefined, forceFetch: true, ...extra };
}

const config: MirrorConfig = {
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

function setup(options: Partial<WebhookOptions> & { fail?: (id: number) => Error | undefined; cfg?: MirrorConfig } = {}) {
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

  it('answers 405 to anything but POST', async () => {
    // Prepare
    const { handler } = setup();
    // Act
    const response = await handler(httpApiEvent({ method: 'GET', headers: {}, body: '' }));
    // Assess
    expect(response.statusCode).toBe(405);
    expect(response.headers?.['allow']).toBe('POST');
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
