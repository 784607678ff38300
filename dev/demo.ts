/**
 * `npm run demo`: the whole loop, unattended, against the stack `npm start` runs (or one it starts
 * itself when none answers): commit upstream → signed push to the bridge → CodeHub (emulator)
 * sync → the mirror holds that commit. Prints the jid and the mirrored SHA; exits 1 on any failure.
 */
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildDelivery } from './deliveries';
import { startDemoStack } from './demo-stack';
import type { Stack } from './stack';
import { DEMO_REPOSITORY_ID, DEMO_SECRET_DEFAULT } from './start-defaults';
import { createUpstream } from './upstream';

const env = process.env;
const port = Number(env['PORT'] ?? 3000);
const emulatorUrl = `http://127.0.0.1:${env['EMULATOR_PORT'] ?? 8787}`;
const webhookUrl = `http://localhost:${port}/webhook`;
/** Probed to see whether a stack runs: a GET of the webhook would be logged as a rejected delivery. */
const statusUrl = `http://localhost:${port}/mirrors`;
const secret = env['DEMO_WEBHOOK_SECRET'] || DEMO_SECRET_DEFAULT;

async function answers(url: string): Promise<boolean> {
  try {
    await fetch(url, { signal: AbortSignal.timeout(2_000) });
    return true;
  } catch {
    return false;
  }
}

async function json<T>(url: string, init?: RequestInit): Promise<T> {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  if (!response.ok) throw new Error(`${init?.method ?? 'GET'} ${url} answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as T;
}

function step(text: string): void {
  process.stdout.write(`• ${text}\n`);
}

async function main(): Promise<void> {
  let own: Stack | undefined;
  if (!(await answers(`${emulatorUrl}/_emulator`)) || !(await answers(statusUrl))) {
    step(`no stack on ${webhookUrl}; starting one (emulator on ${emulatorUrl})`);
    own = (await startDemoStack({ port, emulatorPort: Number(env['EMULATOR_PORT'] ?? 8787), env: { ...env, DEMO_WEBHOOK_SECRET: secret } })).stack;
  }
  try {
    const upstream = await createUpstream(resolve('.data/demo-upstream'));
    const sha = await upstream.commit(`demo commit at ${new Date().toISOString()}`);
    step(`committed ${sha} to ${upstream.path} (main)`);

    await json(`${emulatorUrl}/_emulator/repositories`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: DEMO_REPOSITORY_ID, group: 'acme', name: 'demo', upstream: upstream.path }),
    });
    step(`CodeHub repository ${DEMO_REPOSITORY_ID} mirrors that upstream`);

    const delivery = buildDelivery({ host: 'github', repo: 'acme/demo', ref: 'refs/heads/main', after: sha, secret });
    const response = await fetch(webhookUrl, { method: 'POST', headers: delivery.headers, body: delivery.body, signal: AbortSignal.timeout(15_000) });
    const answer = (await response.json()) as { jid?: string; error?: string };
    if (response.status !== 200 || typeof answer.jid !== 'string') {
      throw new Error(`the bridge answered ${response.status}: ${JSON.stringify(answer)}`);
    }
    step(`signed GitHub push delivered to ${webhookUrl}: HTTP 200, jid ${answer.jid}`);

    const deadline = Date.now() + 30_000;
    let mirrored: string | undefined;
    while (Date.now() < deadline) {
      const { refs } = await json<{ refs: Record<string, string> }>(`${emulatorUrl}/_emulator/repositories/${DEMO_REPOSITORY_ID}/refs`);
      mirrored = refs['refs/heads/main'];
      if (mirrored === sha) break;
      await sleep(200);
    }
    if (mirrored !== sha) throw new Error(`the mirror did not reach ${sha} within 30 s (it has ${mirrored ?? 'nothing'})`);
    step(`the mirror's refs/heads/main is ${mirrored}`);
    process.stdout.write(`\nOK  jid ${answer.jid}  mirrored ${mirrored}\n`);
  } finally {
    await own?.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
