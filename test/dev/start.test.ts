import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDelivery } from '../../dev/deliveries';
import { demoBanner, startDemoStack, type DemoStack } from '../../dev/demo-stack';
import { main, type Output } from '../../dev/send';
import { DEMO_MIRRORS, DEMO_REPOSITORY_ID, DEMO_SECRET_DEFAULT, DEMO_STATUS_KEY_DEFAULT } from '../../dev/start-defaults';
import { createUpstream } from '../../dev/upstream';
import type { PushStatus } from '../../lib/ledger/types';
import type { StatusReport } from '../../lib/status/status';

/**
 * `npm start`'s demo, as the README tells a new user to drive it: the stack npm start runs
 * (dev/demo-stack.ts, built bundle behind serverless-offline, CodeHub emulator, the durable
 * pipeline on the local engines), then every `npm run send` and `curl` command of the README's
 * "Run it locally" section, run as written but against this stack's port.
 */

const README_URL = 'http://localhost:3000';
const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

/** The fenced code lines of the README's "Run it locally" section (up to the next `## ` heading). */
function runItLocallyCommands(): string[] {
  const start = README.indexOf('## Run it locally');
  const end = README.indexOf('\n## ', start + 1);
  const section = README.slice(start, end === -1 ? undefined : end);
  const blocks = [...section.matchAll(/```[a-z]*\n([\s\S]*?)```/g)].map((match) => match[1] ?? '');
  return blocks.flatMap((block) => block.split('\n')).map((line) => line.trim()).filter((line) => line !== '');
}

/** A push's status curl (`…/pushes/<push_id>`), as opposed to the mirrors report's. */
const isPushCurl = (line: string): boolean => line.includes('/pushes/');

/** Words of a shell line, with single-quoted words unquoted (all the README's lines need). */
function shellWords(line: string): string[] {
  return [...line.matchAll(/'([^']*)'|(\S+)/g)].map((match) => match[1] ?? match[2] ?? '');
}

interface SendCommand {
  readonly line: string;
  readonly env: Record<string, string>;
  readonly argv: string[];
}

function sendCommands(commands: readonly string[], baseUrl: string, dataDir: string): SendCommand[] {
  return commands
    .filter((line) => /\bnpm run send -- /.test(line))
    .map((line) => {
      const words = shellWords(line.replace(/\s+#.*$/, ''));
      const npm = words.indexOf('npm');
      const env = Object.fromEntries(words.slice(0, npm).map((word) => word.split('=', 2) as [string, string]));
      const argv = words.slice(words.indexOf('--') + 1).map((word) => word.replace(README_URL, baseUrl).replace(/^\.data\//, `${dataDir}/`));
      return { line, env, argv };
    });
}

function capture(): Output & { text(): string } {
  const lines: string[] = [];
  return { out: (text) => lines.push(text), err: (text) => lines.push(text), text: () => lines.join('\n') };
}

/**
 * The output once every line of the invocations so far is out: a delivery's log line is written
 * just after its answer, and at the latest when the next invocation starts. So this makes one more
 * (GET /mirrors without a key: a challenge, logged at debug only) and waits for serverless-offline's
 * line that reports it done.
 */
async function outputAfterOneMoreInvocation(): Promise<string> {
  const reported = (): number => output.split('Duration:').length;
  const before = reported();
  await fetch(demo.stack.statusUrl, { signal: AbortSignal.timeout(15_000) });
  for (const until = Date.now() + 15_000; reported() <= before && Date.now() < until; ) await sleep(20);
  return output;
}

let dataDir: string;
let demo: DemoStack;
let output = '';

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'bridge-start-'));
  // The environment of a new user: no demo variables set, the bridge's default log level.
  demo = await startDemoStack({ port: 0, emulatorPort: 0, dataDir, env: {}, onOutput: (text) => (output += text) });
}, 120_000);

afterAll(async () => {
  await demo?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('npm start (the demo stack)', () => {
  it('prints the webhook and status URLs, the secret, the status key and the next command', () => {
    // Act
    const banner = demoBanner(demo);
    // Assess
    expect(banner).toContain(`POST ${demo.stack.webhookUrl}`);
    expect(banner).toContain(`GET  ${demo.stack.statusUrl}`);
    expect(banner).toContain(`Secret:      ${DEMO_SECRET_DEFAULT}`);
    expect(banner).toContain(`Status key:  ${DEMO_STATUS_KEY_DEFAULT}`);
    expect(banner).toContain(`WEBHOOK_SECRET=${DEMO_SECRET_DEFAULT} npm run send -- --host github --repo acme/demo --url ${demo.stack.webhookUrl}`);
    for (const mirror of DEMO_MIRRORS) expect(banner).toContain(mirror.source);
    expect(banner).toContain(`push queue ${demo.stack.durable?.queueUrl ?? 'none'}`);
    expect(banner).toContain(`ledger     table ${demo.stack.durable?.tableName ?? 'none'}`);
    expect(banner).toContain(`curl -H 'Authorization: Bearer ${DEMO_STATUS_KEY_DEFAULT}' ${demo.stack.pushUrl('<push_id>')}`);
  });

  it('logs no rejected delivery, nor any warning, while it waits for the bridge to answer', async () => {
    // Act
    const started = await outputAfterOneMoreInvocation();
    // Assess: the readiness probe is GET /mirrors without a key, not a delivery.
    const bridgeLines = started.split('\n').filter((line) => line.includes('"level"'));
    expect(started).toContain('GET /mirrors');
    expect(started).not.toMatch(/"outcome":\s*"rejected"/);
    expect(started).not.toMatch(/"message":\s*"delivery"/);
    expect(bridgeLines.filter((line) => /"level":\s*"(WARN|ERROR)"/i.test(line))).toEqual([]);
  });

  it('syncs every `npm run send` example of the README: 200 with a jid, and the replay answered as one', { timeout: 90_000 }, async () => {
    // Prepare
    const commands = sendCommands(runItLocallyCommands(), demo.stack.webhookUrl.replace(/\/webhook$/, ''), dataDir);
    const hosts = commands.filter((command) => command.argv.includes('--host')).map((command) => command.argv[command.argv.indexOf('--host') + 1]);
    // Act
    const results = [];
    for (const command of commands) {
      const printed = capture();
      const code = await main(command.argv, command.env, fetch, printed);
      results.push({ line: command.line, code, text: printed.text() });
    }
    // Assess
    expect(new Set(hosts)).toEqual(new Set(DEMO_MIRRORS.map((mirror) => mirror.host)));
    for (const result of results) {
      expect(result, result.line).toMatchObject({ code: 0, text: expect.stringContaining('HTTP 200') });
      expect(result.text, result.line).toMatch(/"jid": "[^"]+"/);
    }
    const replays = results.filter((result) => result.line.includes('--replay'));
    expect(replays.length).toBeGreaterThan(0);
    for (const replay of replays) expect(replay.text, replay.line).toContain('Idempotent-Replayed: true');
  });

  it('answers every `curl` example of the README with the status of the demo mirrors', async () => {
    // Prepare
    const curls = runItLocallyCommands().filter((line) => line.startsWith('curl ') && !isPushCurl(line));
    // Act
    const answers = await Promise.all(
      curls.map(async (line) => {
        const words = shellWords(line);
        const headers = Object.fromEntries(words.flatMap((word, i) => (words[i - 1] === '-H' ? [word.split(/:\s*/, 2) as [string, string]] : [])));
        const url = (words.find((word) => word.startsWith(README_URL)) ?? '').replace(README_URL, demo.stack.webhookUrl.replace(/\/webhook$/, ''));
        const response = await fetch(url, { headers, signal: AbortSignal.timeout(15_000) });
        return { line, status: response.status, type: response.headers.get('content-type'), body: await response.text() };
      }),
    );
    // Assess
    expect(curls.length).toBeGreaterThan(0);
    for (const answer of answers) {
      expect(answer.status, answer.line).toBe(200);
      for (const mirror of DEMO_MIRRORS) expect(answer.body, answer.line).toContain(mirror.source);
    }
    const json = answers.find((answer) => answer.type?.startsWith('application/json'));
    expect((JSON.parse(json?.body ?? '{}') as StatusReport).mirrors.map((row) => row.repository_id)).toEqual(DEMO_MIRRORS.map((mirror) => mirror.repositoryId));
  });

  it('follows a push with the banner\'s (and the README\'s) `curl …/pushes/<push_id>` until it is mirrored', { timeout: 60_000 }, async () => {
    // Prepare
    const baseUrl = demo.stack.webhookUrl.replace(/\/webhook$/, '');
    const bannerCurl = demoBanner(demo).split('\n').find((line) => line.includes('curl ') && isPushCurl(line)) ?? '';
    const curls = [bannerCurl.slice(bannerCurl.indexOf('curl ')), ...runItLocallyCommands().filter((line) => line.startsWith('curl ') && isPushCurl(line))];
    const sha = await (await createUpstream(demo.upstreamPath)).commit('followed push');
    const delivery = buildDelivery({ host: 'github', repo: 'acme/demo', ref: 'refs/heads/main', after: sha, secret: demo.secret });
    const answer = (await (await fetch(demo.stack.webhookUrl, { method: 'POST', headers: delivery.headers, body: delivery.body })).json()) as { push_id?: string };
    // Act
    const followed = await Promise.all(
      curls.map(async (line) => {
        const words = shellWords(line);
        const headers = Object.fromEntries(words.flatMap((word, i) => (words[i - 1] === '-H' ? [word.split(/:\s*/, 2) as [string, string]] : [])));
        const url = (words.find((word) => word.startsWith(baseUrl) || word.startsWith(README_URL)) ?? '').replace(README_URL, baseUrl).replace('<push_id>', answer.push_id ?? '');
        let status: Partial<PushStatus> = {};
        for (const until = Date.now() + 30_000; status.state !== 'mirrored' && Date.now() < until; await sleep(250)) {
          status = (await (await fetch(url, { headers, signal: AbortSignal.timeout(15_000) })).json()) as Partial<PushStatus>;
        }
        return { line, status };
      }),
    );
    // Assess
    expect(bannerCurl).toContain('/pushes/<push_id>');
    expect(answer.push_id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    for (const { line, status } of followed) {
      expect(status.state, line).toBe('mirrored');
      expect(status.mirrors?.map((mirror) => [mirror.repository_id, mirror.confirmed_heads]), line).toEqual([[DEMO_REPOSITORY_ID, { 'refs/heads/main': { sha } }]]);
    }
  });
});
