import { describe, expect, it } from 'vitest';
import type { MirrorStatus } from '../../lib/codehub/client';
import type { CallOptions } from '../../lib/codehub/types';
import { parseMirrorConfig } from '../../lib/config/load';
import type { MirrorTarget } from '../../lib/config/types';
import { CodeHubError, ErrorCodes } from '../../lib/errors';
import type { HttpRequest, HttpResponse } from '../../lib/http/event';
import { createLastTriggers, type LastTriggers } from '../../lib/status/last-triggers';
import { createLogger } from '../../lib/observability/log';
import { healthyMirrorStatus } from '../support/codehub';
import {
  createStatusHandler,
  escapeHtml,
  prefersHtml,
  type StatusCodeHub,
  type StatusConfig,
  type StatusOptions,
  type StatusReport,
} from '../../lib/status/status';

const KEY = 'status-key-0123456789';
const SOURCE_PASSWORD = 'source-password-xyz';
const MIRROR_SECRET = 'mirror-webhook-secret-abc';
const ENDPOINT_UUID = 'endpoint-uuid-5b2e9c';
const NOW = Date.parse('2026-03-01T10:00:00Z');

function idMirror(source: string, repositoryId: number, extra: Partial<MirrorTarget> = {}): MirrorTarget {
  return { source, repositoryId, secrets: undefined, refs: undefined, forceFetch: true, ...extra };
}

function mirrorStatus(repositoryId: number, extra: Partial<MirrorStatus> = {}): MirrorStatus {
  return healthyMirrorStatus(repositoryId, { url: `https://github.com/acme/${repositoryId}.git`, ...extra });
}

interface FakeCodeHub extends StatusCodeHub {
  readonly calls: { repositoryId: number; options: CallOptions | undefined }[];
}

/** Answers each repository's state after `delayMs`, or what `answer` returns (a state or an error to throw). */
function fakeCodeHub(answer: (repositoryId: number) => MirrorStatus | Error = (id) => mirrorStatus(id), delayMs = 0): FakeCodeHub {
  const calls: FakeCodeHub['calls'] = [];
  return {
    calls,
    async getMirrorStatus(repositoryId, options) {
      calls.push({ repositoryId, options });
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
      const result = answer(repositoryId);
      if (result instanceof Error) throw result;
      return result;
    },
  };
}

const CONFIG: StatusConfig = {
  mirrors: [idMirror('github.com/acme/api', 1001), idMirror('gitlab.com/acme/web', 1002)],
};

/** Every kind of mirror, as the loader produces them. */
const LOADED_CONFIG = parseMirrorConfig(
  JSON.stringify({
    webhooks: { 'github.com': { secret: 'hook-secret' }, 'gitlab.com': { secret: 'hook-secret' } },
    mirrors: [
      { source: 'github.com/acme/api', repository_id: 1001 },
      { source: 'gitlab.com/acme/web', repository_id: 1002 },
      { source: 'github.com/acme/docs', target: 'acme-mirror/docs' },
      { source: 'github.com/acme/site', target: 'acme-mirror/site' },
      { source: 'github.com/acme-labs/*', target: 'labs/{name}' },
    ],
    status: { key: KEY },
  }),
  {},
).config;

function setup(options: Partial<StatusOptions> = {}) {
  const lines: string[] = [];
  const lastTriggers: LastTriggers = createLastTriggers();
  const codehub = fakeCodeHub();
  const handler = createStatusHandler({
    config: CONFIG,
    codehub,
    statusKey: KEY,
    lastTriggers,
    logger: createLogger({ level: 'debug', write: (line) => lines.push(line) }),
    now: () => NOW,
    ...options,
  });
  return { handler, lastTriggers, codehub: (options.codehub ?? codehub) as FakeCodeHub, lines };
}

function get(headers: Record<string, string> = { authorization: `Bearer ${KEY}` }, method = 'GET'): HttpRequest {
  return { method, headers, body: '', bodyLength: 0 };
}

function report(response: HttpResponse): StatusReport {
  return JSON.parse(response.body) as StatusReport;
}

describe('createStatusHandler: access', () => {
  it.each([
    { key: undefined, why: 'no status.key' },
    { key: '', why: 'an empty status.key' },
  ])('answers 404 without calling CodeHub when the config has $why', async ({ key }) => {
    // Prepare
    const { handler, codehub } = setup({ statusKey: key });
    // Act
    const response = await handler(get());
    // Assess
    expect(response.statusCode).toBe(404);
    expect(JSON.parse(response.body)).toEqual({ error: 'status is not enabled' });
    expect(codehub.calls).toEqual([]);
  });

  it.each([
    { case: 'no Authorization header', headers: {} },
    { case: 'an empty Authorization header', headers: { authorization: '' } },
    { case: 'a wrong key', headers: { authorization: 'Bearer not-the-key' } },
    { case: 'the key with one character more', headers: { authorization: `Bearer ${KEY}x` } },
    { case: 'a prefix of the key', headers: { authorization: `Bearer ${KEY.slice(0, -1)}` } },
    { case: 'the key under another scheme', headers: { authorization: `Basic ${KEY}` } },
    { case: 'the key without a scheme', headers: { authorization: KEY } },
    { case: 'the key followed by another token', headers: { authorization: `Bearer ${KEY} extra` } },
  ])('answers 401 with a Bearer challenge for $case', async ({ headers }) => {
    // Prepare
    const { handler, codehub, lines } = setup();
    // Act
    const response = await handler(get(headers));
    // Assess
    expect(response.statusCode).toBe(401);
    expect(response.headers?.['www-authenticate']).toMatch(/^Bearer /);
    expect(JSON.parse(response.body)).toEqual({ error: 'a valid bearer key is required' });
    expect(codehub.calls).toEqual([]);
    expect(lines.join('\n')).not.toContain(KEY);
  });

  it('logs a request without a key at debug only (the first step of HTTP authentication), a wrong key as a warning', async () => {
    // Prepare
    const { handler, lines } = setup();
    // Act
    await handler(get({}));
    const afterNoKey = lines.map((line) => JSON.parse(line) as { level: string }).map((line) => line.level);
    await handler(get({ authorization: 'Bearer not-the-key' }));
    const afterWrongKey = lines.map((line) => JSON.parse(line) as { level: string; reason?: string });
    // Assess
    expect(afterNoKey).toEqual(['debug']);
    expect(afterWrongKey[1]).toMatchObject({ level: 'warn', reason: 'wrong bearer key' });
  });

  it('accepts the scheme in any case', async () => {
    // Prepare
    const { handler } = setup();
    // Act
    const response = await handler(get({ authorization: `bearer ${KEY}` }));
    // Assess
    expect(response.statusCode).toBe(200);
  });

  it('answers 405 to any method but GET, once the key is right', async () => {
    // Prepare
    const { handler, codehub } = setup();
    // Act
    const response = await handler(get({ authorization: `Bearer ${KEY}` }, 'POST'));
    // Assess
    expect(response.statusCode).toBe(405);
    expect(response.headers?.['allow']).toBe('GET');
    expect(JSON.parse(response.body)).toEqual({ error: 'only GET is accepted', code: 'METHOD_NOT_ALLOWED' });
    expect(codehub.calls).toEqual([]);
  });

  it('answers 401, not 405, to another method without the key', async () => {
    // Prepare
    const { handler } = setup();
    // Act
    const response = await handler(get({}, 'DELETE'));
    // Assess
    expect(response.statusCode).toBe(401);
  });
});

describe('createStatusHandler: JSON', () => {
  it('shows CodeHub state and the last trigger of every mirror, in config order', async () => {
    // Prepare
    const { handler, lastTriggers } = setup({
      config: LOADED_CONFIG,
      statusKey: LOADED_CONFIG.statusKey,
      codehub: fakeCodeHub((id) =>
        id === 1002
          ? mirrorStatus(id, { updateStatus: 'failed', numberOfFailures: 3, lastError: 'fatal: could not read from remote repository', lastSuccessfulUpdateAt: undefined })
          : mirrorStatus(id),
      ),
    });
    lastTriggers.record(1001, { jid: 'jid-api', at: NOW - 60_000, source: 'github.com/acme/api' });
    lastTriggers.recordJob({ repository_id: 3003, jid: 'jid-docs', target: 'acme-mirror/docs', at: NOW - 30_000, source: 'github.com/acme/docs' });
    // Act
    const response = await handler(get());
    // Assess
    expect(response.statusCode).toBe(200);
    expect(response.headers?.['content-type']).toBe('application/json; charset=utf-8');
    expect(response.headers?.['cache-control']).toBe('no-store');
    const success = {
      update_status: 'success',
      last_update_at: '2026-03-01T09:59:00Z',
      last_successful_update_at: '2026-03-01T09:59:00Z',
      number_of_failures: 0,
      last_error: null,
      mirroring_enabled: true,
    };
    const readAt = '2026-03-01T10:00:00.000Z';
    expect(report(response)).toEqual({
      generated_at: '2026-03-01T10:00:00.000Z',
      last_trigger_scope: 'this container',
      ledger_window: null,
      mirrors: [
        { source: 'github.com/acme/api', repository_id: 1001, codehub: success, codehub_read_at: readAt, last_trigger: { jid: 'jid-api', at: '2026-03-01T09:59:00.000Z' }, ledger: null },
        {
          source: 'gitlab.com/acme/web',
          repository_id: 1002,
          codehub: { ...success, update_status: 'failed', number_of_failures: 3, last_error: 'fatal: could not read from remote repository', last_successful_update_at: null },
          codehub_read_at: readAt,
          last_trigger: null,
          ledger: null,
        },
        { source: 'github.com/acme/docs', target: 'acme-mirror/docs', repository_id: 3003, codehub: success, codehub_read_at: readAt, last_trigger: { jid: 'jid-docs', at: '2026-03-01T09:59:30.000Z' }, ledger: null },
        { source: 'github.com/acme/site', target: 'acme-mirror/site', repository_id: null, codehub: null, codehub_read_at: null, last_trigger: null, ledger: null },
        { source: 'github.com/acme-labs/*', target: 'labs/{name}', repository_id: null, codehub: null, codehub_read_at: null, last_trigger: null, ledger: null },
      ],
    });
  });

  it('asks CodeHub once per repository, however many sources share it, with the page deadline', async () => {
    // Prepare
    const codehub = fakeCodeHub();
    const { handler } = setup({
      codehub,
      deadlineMs: 5000,
      config: { mirrors: [idMirror('github.com/acme/api', 1001), idMirror('gitee.com/acme/api', 1001), idMirror('gitlab.com/acme/web', 1002)] },
    });
    // Act
    const response = await handler(get());
    // Assess
    expect(report(response).mirrors.map((row) => row.repository_id)).toEqual([1001, 1001, 1002]);
    expect(codehub.calls).toEqual([
      { repositoryId: 1001, options: { deadline: NOW + 5000 } },
      { repositoryId: 1002, options: { deadline: NOW + 5000 } },
    ]);
  });

  it('answers JSON to curl and fetch (Accept: */*) and when Accept prefers JSON', async () => {
    // Prepare
    const { handler } = setup();
    // Act
    const answers = await Promise.all(['*/*', 'application/json', 'application/json, text/html', 'text/html;q=0.5, application/json'].map((accept) => handler(get({ authorization: `Bearer ${KEY}`, accept }))));
    // Assess
    expect(answers.map((a) => a.headers?.['content-type'])).toEqual(Array(4).fill('application/json; charset=utf-8'));
  });
});

describe('createStatusHandler: one mirror failing', () => {
  it('shows a CodeHub error on its own row and every other mirror as usual', async () => {
    // Prepare
    const { handler } = setup({
      codehub: fakeCodeHub((id) =>
        id === 1001
          ? new CodeHubError(ErrorCodes.CODEHUB_REJECTED, 'CodeHub read mirror status of repository 1001: HTTP 404 CH.004404: Repository Not Found', { status: 404, serviceCode: 'CH.004404' })
          : mirrorStatus(id),
      ),
    });
    // Act
    const response = await handler(get());
    // Assess
    expect(response.statusCode).toBe(200);
    const [broken, fine] = report(response).mirrors;
    expect(broken?.codehub).toEqual({
      error: 'CodeHub read mirror status of repository 1001: HTTP 404 CH.004404: Repository Not Found',
      code: 'CODEHUB_REJECTED',
      error_code: 'CH.004404',
    });
    expect(fine?.codehub).toMatchObject({ update_status: 'success' });
  });

  it('shows a generic error for an unexpected failure, whose message it does not repeat', async () => {
    // Prepare
    const { handler, lines } = setup({
      codehub: {
        getMirrorStatus(id) {
          if (id === 1001) throw new TypeError(`internal detail ${SOURCE_PASSWORD}`);
          return Promise.resolve(mirrorStatus(id));
        },
      },
    });
    // Act
    const response = await handler(get());
    // Assess
    expect(report(response).mirrors.map((row) => row.codehub)).toEqual([
      { error: 'CodeHub call failed unexpectedly', code: 'CODEHUB_UNREACHABLE', error_code: null },
      expect.objectContaining({ update_status: 'success' }),
    ]);
    expect(response.body).not.toContain(SOURCE_PASSWORD);
    expect(lines.join('\n')).toContain('unexpected failure reading a mirror state');
  });

  it('answers at the deadline, showing a timeout for the mirror CodeHub did not answer', async () => {
    // Prepare
    const { handler } = setup({
      now: Date.now,
      deadlineMs: 100,
      codehub: {
        getMirrorStatus: (id) => (id === 1001 ? new Promise<MirrorStatus>(() => undefined) : Promise.resolve(mirrorStatus(id))),
      },
    });
    const started = Date.now();
    // Act
    const response = await handler(get());
    // Assess
    expect(Date.now() - started).toBeLessThan(2000);
    expect(report(response).mirrors.map((row) => row.codehub)).toEqual([
      { error: 'CodeHub did not answer before the deadline', code: 'CODEHUB_TIMEOUT', error_code: null },
      expect.objectContaining({ update_status: 'success' }),
    ]);
  });
});

describe('createStatusHandler: concurrency', () => {
  it.each([1, 3, 4])('has at most %i CodeHub calls in flight and reads every mirror', async (concurrency) => {
    // Prepare
    let inFlight = 0;
    let most = 0;
    const asked: number[] = [];
    const mirrors = Array.from({ length: 10 }, (_, i) => idMirror(`github.com/acme/repo-${i}`, 2000 + i));
    const { handler } = setup({
      concurrency,
      config: { mirrors },
      codehub: {
        async getMirrorStatus(id) {
          asked.push(id);
          inFlight += 1;
          most = Math.max(most, inFlight);
          await new Promise((resolve) => setTimeout(resolve, 5));
          inFlight -= 1;
          return mirrorStatus(id);
        },
      },
    });
    // Act
    const response = await handler(get());
    // Assess
    expect(most).toBe(concurrency);
    expect(asked.sort()).toEqual(mirrors.map((m) => m.repositoryId));
    expect(report(response).mirrors.every((row) => row.codehub !== null && 'update_status' in row.codehub)).toBe(true);
  });
});

describe('createStatusHandler: HTML', () => {
  it('answers a small self-contained page with a strict CSP when the client asks for text/html', async () => {
    // Prepare
    const { handler, lastTriggers } = setup();
    lastTriggers.record(1001, { jid: 'jid-api', at: NOW });
    // Act
    const response = await handler(get({ authorization: `Bearer ${KEY}`, accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' }));
    // Assess
    expect(response.statusCode).toBe(200);
    expect(response.headers).toMatchObject({
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'",
      'cache-control': 'no-store',
    });
    expect(response.body).toMatch(/^<!doctype html>/);
    expect(response.body).toContain('<td class="source">github.com/acme/api</td>');
    expect(response.body).toContain('<td class="repository">1001</td>');
    expect(response.body).toContain('<td class="jid">jid-api</td>');
    expect(response.body).not.toMatch(/<script|<link|<img|src=|href=/i);
  });

  it('escapes a hostile last_error and source instead of running them', async () => {
    // Prepare
    const hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>';
    const { handler } = setup({
      config: { mirrors: [idMirror('github.com/acme/"><b>api', 1001)] },
      codehub: fakeCodeHub((id) => mirrorStatus(id, { updateStatus: 'failed"><i>', lastError: hostile })),
    });
    // Act
    const response = await handler(get({ authorization: `Bearer ${KEY}`, accept: 'text/html' }));
    // Assess
    expect(response.body).not.toContain('<script');
    expect(response.body).not.toContain('<img');
    expect(response.body).not.toContain('"><b>');
    expect(response.body).not.toContain('"><i>');
    expect(response.body).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;');
  });

  it('shows a per-mirror error in its row', async () => {
    // Prepare
    const { handler } = setup({
      codehub: fakeCodeHub((id) => (id === 1002 ? new CodeHubError(ErrorCodes.CODEHUB_THROTTLED, 'CodeHub throttled <us>', { serviceCode: 'APIG.0308' }) : mirrorStatus(id))),
    });
    // Act
    const response = await handler(get({ authorization: `Bearer ${KEY}`, accept: 'text/html' }));
    // Assess
    expect(response.body).toContain('<td class="codehub-error" colspan="6">CodeHub throttled &lt;us&gt; (APIG.0308)</td>');
    expect(response.body).toContain('<td class="update-status">success</td>');
  });
});

describe('createStatusHandler: secrets', () => {
  it('shows no credential, secret, endpoint id, mirror URL or key, in JSON, HTML or the log', async () => {
    // Prepare
    const { handler, lastTriggers, lines } = setup({
      config: {
        mirrors: [idMirror('github.com/acme/api', 1001, { username: 'mirror-bot', password: SOURCE_PASSWORD, secrets: [MIRROR_SECRET], endpointUuid: ENDPOINT_UUID })],
      },
      codehub: fakeCodeHub((id) =>
        mirrorStatus(id, {
          url: `https://mirror-bot:${SOURCE_PASSWORD}@github.com/acme/api.git`,
          endpointUuid: ENDPOINT_UUID,
          updateStatus: 'failed',
          lastError: `fatal: unable to access 'https://mirror-bot:${SOURCE_PASSWORD}@github.com/acme/api.git/': token ${SOURCE_PASSWORD} rejected for ${ENDPOINT_UUID}`,
        }),
      ),
    });
    lastTriggers.record(1001, { jid: 'jid-api', at: NOW });
    // Act
    const json = await handler(get());
    const html = await handler(get({ authorization: `Bearer ${KEY}`, accept: 'text/html' }));
    // Assess
    for (const text of [json.body, html.body, lines.join('\n')]) {
      for (const secret of [SOURCE_PASSWORD, MIRROR_SECRET, ENDPOINT_UUID, KEY, 'mirror-bot:']) expect(text).not.toContain(secret);
    }
    expect(report(json).mirrors[0]?.codehub).toMatchObject({
      last_error: "fatal: unable to access 'https://<redacted>@github.com/acme/api.git/': token <redacted> rejected for <redacted>",
    });
    expect(json.body).not.toMatch(/"url"|endpoint_uuid/);
  });
});

describe('createStatusHandler: what CodeHub echoes', () => {
  it('shows no source password that CodeHub echoes base64-encoded, nor the credentials of a URL in any scheme', async () => {
    // Prepare
    const encoded = Buffer.from(SOURCE_PASSWORD, 'utf8').toString('base64');
    const { handler } = setup({
      config: { mirrors: [idMirror('github.com/acme/api', 1001, { username: 'mirror-bot', password: SOURCE_PASSWORD })] },
      codehub: fakeCodeHub((id) =>
        mirrorStatus(id, { updateStatus: 'failed', lastError: `auth ${encoded} refused; ssh://deploy:hunter2@git.example.com/acme/api.git unreachable` }),
      ),
    });
    // Act
    const json = await handler(get());
    const html = await handler(get({ authorization: `Bearer ${KEY}`, accept: 'text/html' }));
    // Assess
    for (const text of [json.body, html.body]) {
      for (const secret of [encoded, SOURCE_PASSWORD, 'deploy:hunter2', 'hunter2']) expect(text).not.toContain(secret);
    }
    expect(report(json).mirrors[0]?.codehub).toMatchObject({ last_error: 'auth <redacted> refused; ssh://<redacted>@git.example.com/acme/api.git unreachable' });
  });

  it.each([
    { case: 'letters without a scheme', lastError: 'a'.repeat(100_000) },
    { case: 'a scheme and no @', lastError: `x://${'a'.repeat(100_000)}` },
    { case: 'scheme-like runs with dashes', lastError: 'a-'.repeat(50_000) },
  ])('scrubs a 100 KB last_error of $case in one pass', { timeout: 5_000 }, async ({ lastError }) => {
    // Prepare: the quadratic scrub this replaces took 40-80 s on each here (2.5 s at 40 KB); the timeout guards that.
    const { handler } = setup({ codehub: fakeCodeHub((id) => mirrorStatus(id, { updateStatus: 'failed', lastError })) });
    // Act
    const response = await handler(get({ authorization: `Bearer ${KEY}`, accept: 'text/html' }));
    const json = await handler(get());
    // Assess
    expect(response.statusCode).toBe(200);
    expect(report(json).mirrors[0]?.codehub).toMatchObject({ last_error: lastError });
  });
});

describe('escapeHtml', () => {
  it('escapes the five characters that matter in content and quoted attributes', () => {
    // Act
    const escaped = escapeHtml(`<script>alert('1' & "2")</script>`);
    // Assess
    expect(escaped).toBe('&lt;script&gt;alert(&#39;1&#39; &amp; &quot;2&quot;)&lt;/script&gt;');
  });

  it('renders numbers and booleans as text', () => {
    // Act
    const escaped = [escapeHtml(3), escapeHtml(false)];
    // Assess
    expect(escaped).toEqual(['3', 'false']);
  });
});

describe('prefersHtml', () => {
  it.each([
    { accept: undefined, html: false },
    { accept: '', html: false },
    { accept: '*/*', html: false },
    { accept: 'application/json', html: false },
    { accept: 'text/html', html: true },
    { accept: 'TEXT/HTML; charset=utf-8', html: true },
    { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', html: true },
    { accept: 'text/html, application/json', html: true },
    { accept: 'application/json, text/html', html: false },
    { accept: 'application/json;q=0.5, text/html', html: true },
    { accept: 'text/html;q=0.5, application/json', html: false },
    { accept: 'text/html;q=0', html: false },
  ])('answers $html for Accept: $accept', ({ accept, html }) => {
    // Act
    const prefers = prefersHtml(accept);
    // Assess
    expect(prefers).toBe(html);
  });
});
