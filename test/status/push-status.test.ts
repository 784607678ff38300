import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readHttpRequest, type HttpRequest, type HttpResponse } from '../../lib/http/event';
import { statusRoute } from '../../lib/http/route';
import { pushStatusOf, type PushStatus } from '../../lib/ledger/types';
import { createLogger } from '../../lib/observability/log';
import { createLastTriggers } from '../../lib/status/last-triggers';
import { createStatusHandler, type StatusLedger, type StatusOptions } from '../../lib/status/status';
import { httpApiEvent } from '../support/lambda';
import { newPush, refusingEndpoint, silentServer, startStatusBackends, type StatusBackends } from './ledger-support';

/**
 * GET /pushes/{push_id}: against the real local DynamoDB engine (dynalite, the table as
 * serverless.yml declares it), pushes recorded and moved on with the ledger store itself.
 */

const KEY = 'push-status-key-0123456789';
const SOURCE_PASSWORD = 'push-status-source-password';
const SECOND = 1000;

let backends: StatusBackends;
let clock = Date.UTC(2026, 3, 1, 8, 0, 0);
const arrival = (): number => (clock += SECOND);

beforeAll(async () => {
  backends = await startStatusBackends();
}, 60_000);

afterAll(async () => {
  await backends?.close();
});

let uniques = 0;
const uniqueTarget = (): string => `acme-mirror/push-${(uniques += 1)}`;

function handlerOf(options: Partial<StatusOptions> = {}) {
  const lines: string[] = [];
  const handler = createStatusHandler({
    config: { mirrors: [{ source: 'github.com/acme/app', repositoryId: 1001, secrets: undefined, refs: undefined, forceFetch: true, username: 'bot', password: SOURCE_PASSWORD }] },
    codehub: backends.codehub,
    statusKey: KEY,
    lastTriggers: createLastTriggers(),
    logger: createLogger({ level: 'debug', write: (line) => lines.push(line) }),
    ledger: backends.store,
    ...options,
  });
  return { handler, lines };
}

function get(headers: Record<string, string> = { authorization: `Bearer ${KEY}` }, method = 'GET'): HttpRequest {
  return { method, headers, body: '', bodyLength: 0 };
}

const bodyOf = (response: HttpResponse): unknown => JSON.parse(response.body);

/** The real store, with every `getPush` call written down. */
function countingLedger(): StatusLedger & { readonly asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    getPush(pushId) {
      asked.push(pushId);
      return backends.store.getPush(pushId);
    },
    recentForMirror: (mirrorKey, limit) => backends.store.recentForMirror(mirrorKey, limit),
  };
}

/** A push to two mirrors: one triggered then mirrored, one deferred by CodeHub (its error quoting a credential). */
async function recordedPush(): Promise<{ pushId: string; target: string; confirmedAt: number }> {
  const target = uniqueTarget();
  const push = newPush([{ repositoryId: 1001 }, { target }], arrival());
  await backends.store.recordPush(push);
  const confirmedAt = push.arrivedAt + 8 * SECOND;
  await backends.store.updateMirror(push.pushId, '1001', { event: 'trigger-accepted', jid: 'jid-first' });
  await backends.store.updateMirror(push.pushId, '1001', { event: 'checked' });
  await backends.store.updateMirror(push.pushId, '1001', { event: 'trigger-accepted', jid: 'jid-again', checked: true });
  await backends.store.updateMirror(push.pushId, '1001', { event: 'confirmed', heads: { 'refs/heads/main': { sha: push.refs[0]?.after ?? '' } }, at: confirmedAt });
  await backends.store.updateMirror(push.pushId, target, {
    event: 'trigger-deferred',
    error: { code: 'CODEHUB_THROTTLED', message: `CodeHub throttled https://bot:${SOURCE_PASSWORD}@github.com/acme/app.git`, at: push.arrivedAt + SECOND },
  });
  return { pushId: push.pushId, target, confirmedAt };
}

describe('GET /pushes/{push_id}: JSON', () => {
  it('answers the push as the ledger holds it: overall state, refs, and per mirror jids, checks, confirmed head and time, last error', async () => {
    // Prepare
    const { pushId, target, confirmedAt } = await recordedPush();
    const { handler } = handlerOf();
    // Act
    const response = await handler(get(), { pushId });
    // Assess
    expect(response.statusCode).toBe(200);
    expect(response.headers).toMatchObject({ 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
    const status = bodyOf(response) as PushStatus;
    const stored = await backends.store.getPush(pushId);
    expect(stored).toBeDefined();
    const expected = pushStatusOf(stored ?? (undefined as never));
    expect(status).toEqual({
      ...expected,
      mirrors: [expected.mirrors[0], { ...expected.mirrors[1], last_error: { ...expected.mirrors[1]?.last_error, message: 'CodeHub throttled https://<redacted>@github.com/acme/app.git' } }],
    });
    expect(status.state).toBe('triggered');
    expect(status.refs).toEqual([{ ref: 'refs/heads/main', before: 'a'.repeat(40), after: expect.stringMatching(/^[0-9a-f]{40}$/), deleted: false }]);
    expect(status.mirrors[0]).toMatchObject({
      repository_id: 1001,
      state: 'mirrored',
      waits_for: ['refs/heads/main'],
      jids: ['jid-first', 'jid-again'],
      attempts: 3,
      confirmed_heads: { 'refs/heads/main': { sha: status.refs[0]?.after } },
      confirmed_at: new Date(confirmedAt).toISOString(),
      last_error: null,
    });
    expect(status.mirrors[1]).toMatchObject({ target, state: 'received', jids: [], last_error: { code: 'CODEHUB_THROTTLED' } });
    expect(response.body).not.toContain(SOURCE_PASSWORD);
  });

  it('is reached through the route, under a stage segment too', async () => {
    // Prepare
    const { pushId } = await recordedPush();
    const { handler } = handlerOf();
    const event = { ...httpApiEvent({ method: 'GET', headers: { authorization: `Bearer ${KEY}` }, body: '' }), rawPath: `/dev/pushes/${pushId}` };
    // Act
    const response = await handler(readHttpRequest(event), statusRoute(event));
    // Assess
    expect(response.statusCode).toBe(200);
    expect((bodyOf(response) as PushStatus).push_id).toBe(pushId);
  });

  it('answers 404 for a well-formed id the ledger does not hold', async () => {
    // Prepare
    const { handler } = handlerOf();
    const unknown = 'Q'.repeat(22);
    // Act
    const response = await handler(get(), { pushId: unknown });
    // Assess
    expect(response.statusCode).toBe(404);
    expect(bodyOf(response)).toEqual({ error: 'no push with this id in the ledger', push_id: unknown });
  });

  it.each([
    { case: 'too short', pushId: 'Q'.repeat(21) },
    { case: 'too long', pushId: 'Q'.repeat(23) },
    { case: 'padded base64', pushId: `${'Q'.repeat(20)}==` },
    { case: 'standard base64', pushId: `${'Q'.repeat(20)}+/` },
    { case: 'a path', pushId: '..%2F..%2Fetc%2Fpasswd' },
    { case: 'markup', pushId: '<script>alert(1)</scri' },
  ])('answers 404 for a malformed id ($case) without reading the ledger or echoing it', async ({ pushId }) => {
    // Prepare
    const ledger = countingLedger();
    const { handler } = handlerOf({ ledger });
    // Act
    const response = await handler(get(), { pushId });
    // Assess
    expect(response.statusCode).toBe(404);
    expect(bodyOf(response)).toEqual({ error: 'not a push id: push ids are 22 base64url characters' });
    expect(ledger.asked).toEqual([]);
  });

  it('answers 404 when there is no ledger (the stateless bridge)', async () => {
    // Prepare
    const { handler } = handlerOf({ ledger: undefined });
    // Act
    const response = await handler(get(), { pushId: 'Q'.repeat(22) });
    // Assess
    expect(response.statusCode).toBe(404);
    expect(bodyOf(response)).toEqual({ error: 'push status needs the durable pipeline' });
  });
});

describe('GET /pushes/{push_id}: access', () => {
  it('answers 404 when status is not enabled, before anything else', async () => {
    // Prepare
    const ledger = countingLedger();
    const { handler } = handlerOf({ statusKey: undefined, ledger });
    // Act
    const response = await handler(get(), { pushId: 'Q'.repeat(22) });
    // Assess
    expect(response.statusCode).toBe(404);
    expect(bodyOf(response)).toEqual({ error: 'status is not enabled' });
    expect(ledger.asked).toEqual([]);
  });

  it.each([
    { case: 'no key', headers: {} },
    { case: 'a wrong key', headers: { authorization: 'Bearer not-the-key' } },
    { case: 'the key under another scheme', headers: { authorization: `Basic ${KEY}` } },
  ])('answers 401 with a Bearer challenge for $case, without reading the ledger', async ({ headers }) => {
    // Prepare
    const { pushId } = await recordedPush();
    const ledger = countingLedger();
    const { handler } = handlerOf({ ledger });
    // Act
    const response = await handler(get(headers), { pushId });
    // Assess
    expect(response.statusCode).toBe(401);
    expect(response.headers?.['www-authenticate']).toMatch(/^Bearer /);
    expect(bodyOf(response)).toEqual({ error: 'a valid bearer key is required' });
    expect(ledger.asked).toEqual([]);
  });

  it('answers 405 to any method but GET, once the key is right', async () => {
    // Prepare
    const { pushId } = await recordedPush();
    const { handler } = handlerOf();
    // Act
    const response = await handler(get({ authorization: `Bearer ${KEY}` }, 'DELETE'), { pushId });
    // Assess
    expect(response.statusCode).toBe(405);
    expect(response.headers?.['allow']).toBe('GET');
  });
});

describe('GET /pushes/{push_id}: a ledger that cannot be read', () => {
  it('answers 503 LEDGER_UNAVAILABLE when DynamoDB refuses the connection', async () => {
    // Prepare
    const endpoint = await refusingEndpoint();
    // Act
    const { response, lines } = await backends.atEndpoint(endpoint, async (unreachable) => {
      const { handler, lines } = handlerOf({ ledger: unreachable });
      return { response: await handler(get(), { pushId: 'Q'.repeat(22) }), lines };
    });
    // Assess
    expect(response.statusCode).toBe(503);
    expect(bodyOf(response)).toEqual({ error: 'the ledger could not be read now; try again', code: 'LEDGER_UNAVAILABLE' });
    expect(lines.map((line) => JSON.parse(line) as { level: string; message: string }).filter((line) => line.level === 'warn').map((line) => line.message)).toEqual([
      'status: the ledger could not be read for a push',
    ]);
  });

  it('answers 503 LEDGER_UNAVAILABLE when the table does not exist (a deployment under way)', async () => {
    // Prepare
    const endpoint = process.env.AWS_ENDPOINT_URL_DYNAMODB ?? '';
    // Act
    const response = await backends.atEndpoint(endpoint, (missing) => handlerOf({ ledger: missing }).handler(get(), { pushId: 'Q'.repeat(22) }), { tableName: 'no-such-ledger' });
    // Assess
    expect(response.statusCode).toBe(503);
    expect(bodyOf(response)).toMatchObject({ code: 'LEDGER_UNAVAILABLE' });
  });

  it('answers 503 at the deadline when DynamoDB does not answer', async () => {
    // Prepare
    const silent = await silentServer();
    const started = Date.now();
    try {
      // Act
      const response = await backends.atEndpoint(silent.endpoint, (stalled) => handlerOf({ ledger: stalled, deadlineMs: 50 }).handler(get(), { pushId: 'Q'.repeat(22) }));
      // Assess
      expect(Date.now() - started).toBeLessThan(1000);
      expect(response.statusCode).toBe(503);
      expect(bodyOf(response)).toEqual({ error: 'the ledger did not answer in time; try again', code: 'LEDGER_UNAVAILABLE' });
    } finally {
      await silent.close();
    }
  });
});

describe('GET /pushes/{push_id}: HTML', () => {
  it('answers a self-contained page with a strict CSP, every value escaped and no credential', async () => {
    // Prepare
    const target = uniqueTarget();
    const push = newPush([{ target }], arrival(), { source: 'github.com/acme/"><script>x()</script>', ref: 'refs/heads/<b>main</b>' });
    await backends.store.recordPush(push);
    await backends.store.updateMirror(push.pushId, target, { event: 'gave-up', error: { code: 'GIVEN_UP', message: `<img src=x onerror=alert(1)> ${SOURCE_PASSWORD}`, at: push.arrivedAt + SECOND } });
    const { handler } = handlerOf();
    // Act
    const response = await handler(get({ authorization: `Bearer ${KEY}`, accept: 'text/html,application/xhtml+xml,*/*;q=0.8' }), { pushId: push.pushId });
    // Assess
    expect(response.statusCode).toBe(200);
    expect(response.headers).toMatchObject({ 'content-type': 'text/html; charset=utf-8', 'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'", 'cache-control': 'no-store' });
    expect(response.body).toMatch(/^<!doctype html>/);
    expect(response.body).toContain(`<span class="id push-id">${push.pushId}</span>: <span class="state failed">failed</span>`);
    expect(response.body).toContain('<span class="source">github.com/acme/&quot;&gt;&lt;script&gt;x()&lt;/script&gt;</span>');
    expect(response.body).toContain('<td class="ref">refs/heads/&lt;b&gt;main&lt;/b&gt;</td>');
    expect(response.body).toContain('<td class="repository">not resolved yet</td>');
    expect(response.body).toContain('<td class="last-error">GIVEN_UP: &lt;img src=x onerror=alert(1)&gt; &lt;redacted&gt;');
    expect(response.body).not.toMatch(/<script|<img|<b>/);
    expect(response.body).not.toContain(SOURCE_PASSWORD);
  });
});
