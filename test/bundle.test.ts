import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * What Lambda runs is the esbuild bundle, not the TypeScript: module interop, lazily loaded
 * chunks and top-level await only show up there. These tests build it and run it in a fresh Node.
 */

const run = promisify(execFile);
let outdir: string;

beforeAll(async () => {
  outdir = mkdtempSync(join(tmpdir(), 'bridge-bundle-'));
  await run(process.execPath, ['scripts/build.mjs'], { env: { ...process.env, BUILD_OUTDIR: outdir } });
}, 60_000);

afterAll(() => rmSync(outdir, { recursive: true, force: true }));

/** Loads the bundle in a child process with `env`, sends one event, prints the answer as JSON. */
async function invokeBundle(env: Record<string, string>, event: unknown): Promise<{ statusCode: number; body: string }> {
  const script = `import(${JSON.stringify(join(outdir, 'webhook.js'))}).then(async (m) => {
    const answer = await m.handler(${JSON.stringify(event)}, { awsRequestId: 'b', getRemainingTimeInMillis: () => 10000 });
    process.stdout.write('ANSWER' + JSON.stringify(answer) + '\\n');
  });`;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
    env: { PATH: process.env['PATH'] ?? '', LOG_LEVEL: 'silent', CODEHUB_ENDPOINT: 'http://127.0.0.1:9', CODEHUB_TOKEN: 'bundle-token', ...env },
  });
  // The answer's own line: the delivery's EMF metrics line follows it.
  const line = stdout.slice(stdout.indexOf('ANSWER') + 6).split('\n', 1)[0] ?? '';
  return JSON.parse(line) as { statusCode: number; body: string };
}

describe('dist/webhook.js', () => {
  it('exports a handler that reads a YAML mirror config through its lazily loaded parser', async () => {
    // Prepare
    const body = JSON.stringify({ zen: 'z', hook_id: 1 });
    const signature = `sha256=${createHmac('sha256', 'bundle-secret').update(body).digest('hex')}`;
    const yaml = 'webhooks:\n  github.com:\n    secret: env:BUNDLE_SECRET\nmirrors:\n  - source: github.com/acme/api\n    repository_id: 7\n';
    const event = { version: '2.0', requestContext: { http: { method: 'POST' } }, headers: { 'x-github-event': 'ping', 'x-hub-signature-256': signature }, body, isBase64Encoded: false };
    // Act
    const answer = await invokeBundle({ MIRROR_CONFIG: yaml, BUNDLE_SECRET: 'bundle-secret' }, event);
    // Assess
    expect(answer.statusCode).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ status: 'pong' });
  });

  it('reads the example config file shipped with the project', async () => {
    // Prepare
    const event = { version: '2.0', requestContext: { http: { method: 'GET' } }, headers: {}, body: '' };
    // Act
    const answer = await invokeBundle({ MIRROR_CONFIG_FILE: 'mirrors.example.yml', DEMO_WEBHOOK_SECRET: 'demo' }, event);
    // Assess
    expect(answer.statusCode).toBe(405);
  });

  it('is an ES module that declares itself one', () => {
    // Act
    const pkg = JSON.parse(readFileSync(join(outdir, 'package.json'), 'utf8')) as { type: string };
    // Assess
    expect(pkg.type).toBe('module');
    expect(statSync(join(outdir, 'webhook.js')).size).toBeGreaterThan(0);
  });
});
