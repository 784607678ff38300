import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDelivery } from '../../dev/deliveries';
import { startStack, type Stack } from '../../dev/stack';
import { createUpstream } from '../../dev/upstream';
import type { StatusReport } from '../../lib/status/status';
import { findChromium, launchChromium } from '../support/browser';

/**
 * GET /mirrors end to end: the built bundle behind serverless-offline (the routes of
 * serverless.yml), one real push synced by the CodeHub emulator, then the status as JSON and as
 * the page a browser gets, rendered by a real headless Chromium: the system's, or the one
 * `@sparticuz/chromium` brings with `npm ci` (test/support/browser.ts). Where none can run, the
 * browser test is skipped under a name that says why.
 */

const REPOSITORY_ID = 701;
const SOURCE = 'github.com/acme/status-e2e';
const WEBHOOK_SECRET = 'e2e-status-webhook-secret';
const STATUS_KEY = 'e2e-status-bearer-key';
const CHROMIUM = await findChromium();
if (!CHROMIUM.found) console.warn(`test/e2e/status.test.ts: the headless Chromium test is skipped: ${CHROMIUM.reason}`);
const CHROMIUM_TEST = CHROMIUM.found
  ? `renders the page in headless Chromium (${CHROMIUM.origin}): source, repository id and jid in the table`
  : `renders the page in headless Chromium (skipped: no Chromium: ${CHROMIUM.reason})`;

let dataDir: string;
let stack: Stack;
let statusUrl: string;
let browser: Browser | undefined;
/** The job the bridge answered for the one push. */
let pushedJid: string;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'bridge-status-e2e-'));
  const upstream = await createUpstream(join(dataDir, 'upstream'));
  const sha = await upstream.commit('initial');
  const config = {
    webhooks: { 'github.com': { secret: WEBHOOK_SECRET } },
    mirrors: [{ source: SOURCE, repository_id: REPOSITORY_ID }],
    status: { key: STATUS_KEY },
  };
  stack = await startStack({
    port: 0,
    emulator: { port: 0, dataDir: join(dataDir, 'codehub'), repositories: [{ id: REPOSITORY_ID, group: 'acme', name: 'status-e2e', upstream: upstream.path }] },
    env: { MIRROR_CONFIG: JSON.stringify(config), LOG_LEVEL: 'warn' },
  });
  statusUrl = stack.webhookUrl.replace(/\/webhook$/, '/mirrors');

  const delivery = buildDelivery({ host: 'github', repo: 'acme/status-e2e', after: sha, secret: WEBHOOK_SECRET });
  const response = await fetch(stack.webhookUrl, { method: 'POST', headers: delivery.headers, body: delivery.body, signal: AbortSignal.timeout(15_000) });
  const answer = (await response.json()) as { jid?: string };
  if (response.status !== 200 || answer.jid === undefined) throw new Error(`the push was not synced: ${response.status} ${JSON.stringify(answer)}`);
  pushedJid = answer.jid;
  await stack.emulator?.waitForIdle(20_000);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('end to end: GET /mirrors', () => {
  it('shows the jid of the push and CodeHub state as JSON to a client with the key', async () => {
    // Act
    const response = await fetch(statusUrl, { headers: { authorization: `Bearer ${STATUS_KEY}`, accept: 'application/json' }, signal: AbortSignal.timeout(15_000) });
    const report = (await response.json()) as StatusReport;
    // Assess
    expect(response.status).toBe(200);
    expect(report.last_trigger_scope).toBe('this container');
    expect(report.mirrors).toEqual([
      {
        source: SOURCE,
        repository_id: REPOSITORY_ID,
        codehub: {
          update_status: 'success',
          last_update_at: expect.any(String),
          last_successful_update_at: expect.any(String),
          number_of_failures: 0,
          last_error: null,
          mirroring_enabled: true,
        },
        codehub_read_at: expect.any(String),
        last_trigger: { jid: pushedJid, at: expect.any(String) },
        // The stack runs the stateless bridge: no ledger.
        ledger: null,
      },
    ]);
    expect(JSON.stringify(report)).not.toContain(STATUS_KEY);
  });

  it('answers 401 without the key', async () => {
    // Act
    const response = await fetch(statusUrl, { signal: AbortSignal.timeout(15_000) });
    // Assess
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer /);
    expect(await response.json()).toEqual({ error: 'a valid bearer key is required' });
  });

  it.skipIf(!CHROMIUM.found)(CHROMIUM_TEST, async () => {
    // Prepare
    if (!CHROMIUM.found) throw new Error(CHROMIUM.reason);
    browser = await launchChromium(CHROMIUM.executablePath);
    const context = await browser.newContext({ extraHTTPHeaders: { authorization: `Bearer ${STATUS_KEY}` } });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));
    const screenshot = join(dataDir, 'mirrors.png');
    // Act
    const response = await page.goto(statusUrl, { waitUntil: 'load', timeout: 15_000 });
    const row = page.locator('tbody tr');
    const rows = await row.count();
    const cells = {
      source: await row.locator('td.source').textContent(),
      repository: await row.locator('td.repository').textContent(),
      status: await row.locator('td.update-status').textContent(),
      jid: await row.locator('td.jid').textContent(),
    };
    // The inline stylesheet applied under the page's CSP (style-src 'unsafe-inline').
    const headerBackground = await page.evaluate("getComputedStyle(document.querySelector('th')).backgroundColor");
    await page.screenshot({ path: screenshot, fullPage: true });
    await context.close();
    // Assess
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-type']).toBe('text/html; charset=utf-8');
    expect(rows).toBe(1);
    expect(cells).toEqual({ source: SOURCE, repository: String(REPOSITORY_ID), status: 'success', jid: pushedJid });
    expect(headerBackground).toBe('rgb(246, 248, 250)');
    expect(problems).toEqual([]);
    expect(statSync(screenshot).size).toBeGreaterThan(0);
  });
});
