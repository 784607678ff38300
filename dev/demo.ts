/**
 * `npm run demo`: the whole loop, unattended, against the stack `npm start` runs (or one it starts
 * itself when none answers): commit upstream → signed push to the bridge → recorded in the ledger
 * and synced by CodeHub (emulator) → the worker confirms the mirror holds that commit. It follows
 * the push on `GET /pushes/{push_id}` until `mirrored`, prints the commit statuses the (fake) GitHub
 * received on that commit (pending, then success), and ends with `mirrored: <sha>, confirmed after N s`
 * (arrival to proof); exits 1 on any failure.
 */
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildDelivery } from './deliveries';
import { startDemoStack } from './demo-stack';
import type { LedgerState, PushStatus } from '../lib/ledger/types';
import type { ReceivedStatus } from './status-host';
import { DEMO_REPOSITORY_ID, DEMO_SECRET_DEFAULT, DEMO_STATUS_KEY_DEFAULT } from './start-defaults';
import { createUpstream } from './upstream';

const env = process.env;
const port = Number(env['PORT'] ?? 3000);
const emulatorUrl = `http://127.0.0.1:${env['EMULATOR_PORT'] ?? 8787}`;
let statusHostUrl = `http://127.0.0.1:${env['STATUS_HOST_PORT'] ?? 8788}`;
const webhookUrl = `http://localhost:${port}/webhook`;
/** Probed to see whether a stack runs: a GET of the webhook would be logged as a rejected delivery. */
const statusUrl = `http://localhost:${port}/mirrors`;
const secret = env['DEMO_WEBHOOK_SECRET'] || DEMO_SECRET_DEFAULT;
const statusKey = env['MIRRORS_STATUS_KEY'] || DEMO_STATUS_KEY_DEFAULT;
/** From the push to its proof: the first check comes 2 s after it locally, and a re-trigger is a few seconds more. */
const CONFIRM_TIMEOUT_MS = 60_000;

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
  let own: { stop(): Promise<void> } | undefined;
  if (!(await answers(`${emulatorUrl}/_emulator`)) || !(await answers(statusUrl))) {
    step(`no stack on ${webhookUrl}; starting one (emulator on ${emulatorUrl})`);
    const demo = await startDemoStack({ port, emulatorPort: Number(env['EMULATOR_PORT'] ?? 8787), env: { ...env, DEMO_WEBHOOK_SECRET: secret } });
    own = demo;
    statusHostUrl = demo.statusHost.url;
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
    const answer = (await response.json()) as { jid?: string; push_id?: string; status?: string; error?: string };
    if ((response.status !== 200 && response.status !== 202) || typeof answer.push_id !== 'string') {
      const hint = response.status === 200 && answer.push_id === undefined ? ' (no push_id: the running stack has no durable pipeline; restart `npm start`)' : '';
      throw new Error(`the bridge answered ${response.status}${hint}: ${JSON.stringify(answer)}`);
    }
    const accepted = answer.jid === undefined ? `queued (${answer.status ?? ''})` : `jid ${answer.jid}`;
    step(`signed GitHub push delivered to ${webhookUrl}: HTTP ${response.status}, push_id ${answer.push_id}, ${accepted}`);

    const status = await followPush(answer.push_id);
    const head = status.mirrors.map((mirror) => mirror.confirmed_heads?.['refs/heads/main']).find((value) => value !== undefined);
    if (typeof head !== 'object' || head.sha !== sha) throw new Error(`the push is mirrored, but at ${JSON.stringify(head)}, not ${sha}`);
    const { refs } = await json<{ refs: Record<string, string> }>(`${emulatorUrl}/_emulator/repositories/${DEMO_REPOSITORY_ID}/refs`);
    step(`the mirror's refs/heads/main is ${refs['refs/heads/main'] ?? 'absent'}`);
    for (const status of await statusesOn(sha)) {
      step(`GitHub commit status on ${sha.slice(0, 7)}: ${status.state} "${status.context}": ${status.description ?? ''}`);
    }
    process.stdout.write(`\nmirrored: ${head.sha}, confirmed after ${confirmedAfterSeconds(status).toFixed(1)} s\n`);
  } finally {
    await own?.stop();
  }
}

/** Polls `GET /pushes/{pushId}` until the push is mirrored; throws when it failed or the wait ran out. */
async function followPush(pushId: string): Promise<PushStatus> {
  const url = webhookUrl.replace(/\/webhook$/, `/pushes/${encodeURIComponent(pushId)}`);
  const deadline = Date.now() + CONFIRM_TIMEOUT_MS;
  let last: LedgerState | undefined;
  for (;;) {
    const status = await json<PushStatus>(url, { headers: { authorization: `Bearer ${statusKey}` } });
    if (status.state !== last) step(`push ${pushId}: ${status.state}`);
    last = status.state;
    if (status.state === 'mirrored') return status;
    const lastError = status.mirrors.map((mirror) => mirror.last_error?.message).find((message) => message !== undefined);
    if (status.state === 'failed') throw new Error(`the push failed: ${lastError ?? 'no error recorded'}`);
    if (Date.now() >= deadline) {
      throw new Error(
        `the push was not confirmed within ${CONFIRM_TIMEOUT_MS / 1000} s: it is still ${status.state}${lastError ? ` (last error: ${lastError})` : ''}; ` +
          'the worker lines in npm start\'s output say why',
      );
    }
    await sleep(250);
  }
}

/**
 * The statuses the fake GitHub received on `sha`, once the last is final (the worker reports a few
 * moments after the confirm); throws when none came.
 */
async function statusesOn(sha: string): Promise<ReceivedStatus[]> {
  const url = `${statusHostUrl}/_status-host/statuses?api=github&sha=${sha}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    const { statuses } = await json<{ statuses: ReceivedStatus[] }>(url);
    if (statuses.at(-1)?.state === 'success') return statuses;
    if (Date.now() >= deadline) {
      throw new Error(`the commit has no success status on the fake GitHub after 20 s: ${JSON.stringify(statuses.map((status) => status.state))}`);
    }
    await sleep(250);
  }
}

/** From arrival to the proof of the mirror confirmed last. */
function confirmedAfterSeconds(status: PushStatus): number {
  const confirmed = status.mirrors.map((mirror) => (mirror.confirmed_at === null ? Number.NaN : Date.parse(mirror.confirmed_at)));
  return (Math.max(...confirmed) - Date.parse(status.arrived_at)) / 1000;
}

main().catch((error: unknown) => {
  process.stderr.write(`demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
