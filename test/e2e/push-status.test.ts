import { statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readHttpRequest } from '../../lib/http/event';
import { statusRoute } from '../../lib/http/route';
import type { PushStatus } from '../../lib/ledger/types';
import { createLogger } from '../../lib/observability/log';
import { createLastTriggers } from '../../lib/status/last-triggers';
import { createStatusHandler, type StatusHandler } from '../../lib/status/status';
import { findChromium, launchChromium } from '../support/browser';
import { newPush, startStatusBackends, type StatusBackends } from '../status/ledger-support';

/**
 * GET /pushes/{push_id} and the ledger columns of GET /mirrors, in a real headless Chromium: the
 * status handler behind a loopback HTTP server that hands it Lambda's payload 2.0 event (routed by
 * `statusRoute`, as handlers/webhook.ts routes), the real local DynamoDB engine for the ledger, and
 * the CodeHub emulator mirroring a real upstream with real git. The pushes are recorded with the
 * ledger store, and confirmed at the head the emulator's bare mirror really holds.
 */

const STATUS_KEY = 'e2e-push-status-bearer-key';
const CHROMIUM = await findChromium();
if (!CHROMIUM.found) console.warn(`test/e2e/push-status.test.ts: the headless Chromium tests are skipped: ${CHROMIUM.reason}`);
const skipped = CHROMIUM.found ? '' : ` (skipped: no Chromium: ${CHROMIUM.reason})`;

let backends: StatusBackends;
let server: Server;
let baseUrl: string;
let browser: Browser | undefined;
let repositoryId: number;
/** Mirrored: the mirror was synced and holds its commit. */
let mirrored: { pushId: string; sha: string; jid: string };
/** Newer, received: not synced yet. */
let pending: { pushId: string };

/** The Lambda event API Gateway (payload 2.0) would hand the function for `request`. */
function eventOf(request: IncomingMessage): APIGatewayProxyEventV2 {
  const url = new URL(request.url ?? '/', 'http://localhost');
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    requestContext: { http: { method: request.method ?? 'GET', path: url.pathname, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: headers['user-agent'] ?? '' } },
    isBase64Encoded: false,
  } as APIGatewayProxyEventV2;
}

async function serve(handler: StatusHandler): Promise<Server> {
  const http = createServer((request, response) => {
    const event = eventOf(request);
    const route = statusRoute(event);
    if (route === undefined) {
      response.writeHead(404).end();
      return;
    }
    void handler(readHttpRequest(event), route).then((answer) => {
      response.writeHead(answer.statusCode, answer.headers as Record<string, string>).end(answer.body);
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return http;
}

beforeAll(async () => {
  backends = await startStatusBackends();
  repositoryId = backends.addRepository();
  const before = await backends.upstream.resolve('HEAD');
  const sha = await backends.upstream.commit('the mirrored push');
  // Real git: the emulator fetches the upstream into its bare mirror; the confirmed head is what it holds.
  const { jid } = await backends.codehub.startMirrorSync(repositoryId, { forceFetch: true });
  await backends.emulator.waitForIdle(20_000);
  const held = (await backends.emulator.mirrorRefs(repositoryId))['refs/heads/main'];
  if (held !== sha) throw new Error(`the emulator's mirror holds ${String(held)}, not the pushed ${sha}`);
  const arrivedAt = Date.now() - 5000;
  const first = newPush([{ repositoryId }], arrivedAt, { source: 'github.com/acme/push-status-e2e', before, after: sha });
  await backends.store.recordPush(first);
  await backends.store.updateMirror(first.pushId, String(repositoryId), { event: 'trigger-accepted', jid });
  await backends.store.updateMirror(first.pushId, String(repositoryId), { event: 'confirmed', heads: { 'refs/heads/main': { sha: held } }, at: arrivedAt + 2500 });
  mirrored = { pushId: first.pushId, sha, jid };
  const next = newPush([{ repositoryId }], Date.now(), { source: 'github.com/acme/push-status-e2e', before: sha, after: await backends.upstream.commit('not synced yet') });
  await backends.store.recordPush(next);
  pending = { pushId: next.pushId };

  const handler = createStatusHandler({
    config: { mirrors: [{ source: 'github.com/acme/push-status-e2e', repositoryId, secrets: undefined, refs: undefined, forceFetch: true }] },
    codehub: backends.codehub,
    statusKey: STATUS_KEY,
    lastTriggers: createLastTriggers(),
    logger: createLogger({ level: 'warn', write: () => undefined }),
    ledger: backends.store,
  });
  server = await serve(handler);
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  if (CHROMIUM.found) browser = await launchChromium(CHROMIUM.executablePath);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  if (server) await new Promise((resolve) => server.close(resolve));
  await backends?.close();
});

/** A page of the browser that sends the key and collects console errors. */
async function openPage(): Promise<{ page: Page; problems: string[]; close(): Promise<void> }> {
  if (browser === undefined) throw new Error(CHROMIUM.found ? 'Chromium did not start' : CHROMIUM.reason);
  const context = await browser.newContext({ extraHTTPHeaders: { authorization: `Bearer ${STATUS_KEY}` } });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));
  return { page, problems, close: () => context.close() };
}

describe('end to end: GET /pushes/{push_id}', () => {
  it('answers the push as JSON to a client with the key, and 401 without it', async () => {
    // Act
    const response = await fetch(`${baseUrl}/pushes/${mirrored.pushId}`, { headers: { authorization: `Bearer ${STATUS_KEY}` }, signal: AbortSignal.timeout(15_000) });
    const refused = await fetch(`${baseUrl}/pushes/${mirrored.pushId}`, { signal: AbortSignal.timeout(15_000) });
    // Assess
    expect(response.status).toBe(200);
    const status = (await response.json()) as PushStatus;
    expect(status).toMatchObject({ push_id: mirrored.pushId, state: 'mirrored', mirrors: [{ repository_id: repositoryId, jids: [mirrored.jid], confirmed_heads: { 'refs/heads/main': { sha: mirrored.sha } } }] });
    expect(refused.status).toBe(401);
  });

  it.skipIf(!CHROMIUM.found)(`renders the push page in headless Chromium: state, refs, jid and the confirmed head${skipped}`, async () => {
    // Prepare
    const { page, problems, close } = await openPage();
    const screenshot = join(backends.emulator.dataDir, 'push.png');
    // Act: under a stage segment, as a REST API or named HTTP API stage serves it.
    const response = await page.goto(`${baseUrl}/dev/pushes/${mirrored.pushId}`, { waitUntil: 'load', timeout: 15_000 });
    const seen = {
      pushId: await page.locator('h1 .push-id').textContent(),
      state: await page.locator('h1 .state').textContent(),
      after: await page.locator('table.refs td.after').textContent(),
      mirrorState: await page.locator('table.mirrors td.mirror-state').textContent(),
      jids: await page.locator('table.mirrors td.jids').textContent(),
      heads: await page.locator('table.mirrors td.confirmed-heads').textContent(),
    };
    const stateColour = await page.evaluate("getComputedStyle(document.querySelector('h1 .state')).color");
    await page.screenshot({ path: screenshot, fullPage: true });
    await close();
    // Assess
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-type']).toBe('text/html; charset=utf-8');
    expect(seen).toEqual({ pushId: mirrored.pushId, state: 'mirrored', after: mirrored.sha, mirrorState: 'mirrored', jids: mirrored.jid, heads: `refs/heads/main: ${mirrored.sha}` });
    // The inline stylesheet applied under the page's CSP (style-src 'unsafe-inline').
    expect(stateColour).toBe('rgb(26, 127, 55)');
    expect(problems).toEqual([]);
    expect(statSync(screenshot).size).toBeGreaterThan(0);
  });

  it.skipIf(!CHROMIUM.found)(`renders the ledger columns of the mirrors page in headless Chromium${skipped}`, async () => {
    // Prepare
    const { page, problems, close } = await openPage();
    // Act
    const response = await page.goto(`${baseUrl}/mirrors`, { waitUntil: 'load', timeout: 15_000 });
    const row = page.locator('tbody tr');
    const seen = {
      rows: await row.count(),
      lastPush: await row.locator('td.last-push .id').textContent(),
      pushState: await row.locator('td.push-state').textContent(),
      lastConfirmed: await row.locator('td.last-confirmed .id').textContent(),
      lag: await row.locator('td.lag').textContent(),
      pending: await row.locator('td.pending .count').textContent(),
      pendingIds: await row.locator('td.pending .id').textContent(),
    };
    await close();
    // Assess
    expect(response?.status()).toBe(200);
    expect(seen).toEqual({ rows: 1, lastPush: pending.pushId, pushState: 'received', lastConfirmed: mirrored.pushId, lag: '2.5 s', pending: '1', pendingIds: pending.pushId });
    expect(problems).toEqual([]);
  });
});
