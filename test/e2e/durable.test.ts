import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ReceiveMessageCommand, SendMessageCommand, SetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildDelivery } from '../../dev/deliveries';
import { startStack, type Stack, type StackDurable } from '../../dev/stack';
import { startStatusHost, type StatusHost } from '../../dev/status-host';
import { createUpstream, type Upstream } from '../../dev/upstream';
import type { LedgerState, PushStatus } from '../../lib/ledger/types';
import { parseTask, type QueueTask } from '../../lib/pipeline/push-queue';

/**
 * The durable pipeline end to end, as `npm start` runs it: the built bundle behind serverless-offline
 * (`--param=durable=local`), the real local SQS and DynamoDB engines with serverless.yml's queues and
 * table, the worker fed from the push queue through serverless-offline's Lambda Invoke API, real git
 * upstreams, and the CodeHub emulator, which really mirrors. Nothing is mocked: a push is `mirrored`
 * only when the emulator's bare repository holds its commit.
 */

const SECRET = 'e2e-durable-webhook-secret';
const STATUS_KEY = 'e2e-durable-status-key';
const REPORT_TOKEN = 'e2e-durable-report-token';
const SYNCED_ID = 801;
const REFUSED_ID = 802;
const RUNNING_ID = 803;
const NEVER_ID = 804;
/** CONFIRM_GIVE_UP_AFTER_MINUTES takes whole minutes; two leave room for the outage of a minute below. */
const GIVE_UP_MS = 120_000;
/** Done-when 3: CodeHub refusing every call (for one mirror) for 60 s. */
const OUTAGE_MS = 60_000;
const REFUSED_BRANCHES = ['refused/one', 'refused/two', 'refused/three'];

const repo = (id: number): string => `acme/durable-${id}`;

let dataDir: string;
let stack: Stack;
let durable: StackDurable;
let upstream: Upstream;
/** The fake GitHub status API every mirror here reports to. */
let statusHost: StatusHost;
let output = '';
/** The push of the mirror that never catches up, sent first so its give-up time runs beside the other tests. */
let never: { pushId: string; sha: string; sentAt: number };
/** The pushes made while CodeHub refuses every call of REFUSED_ID, sent first too: their outage runs beside the other tests. */
let refused: { answers: Answer[]; shas: string[]; during: PushStatus[]; recovered: Promise<number> };

interface Answer {
  readonly status: number;
  readonly body: { jid?: string; push_id?: string; status?: string; error?: string };
}

async function push(id: number, ref: string, after: string): Promise<Answer> {
  const delivery = buildDelivery({ host: 'github', repo: repo(id), ref, after, secret: SECRET });
  const response = await fetch(stack.webhookUrl, { method: 'POST', headers: delivery.headers, body: delivery.body, signal: AbortSignal.timeout(20_000) });
  return { status: response.status, body: (await response.json()) as Answer['body'] };
}

function pushIdOf(answer: Answer): string {
  if (typeof answer.body.push_id !== 'string') throw new Error(`no push_id in ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body.push_id;
}

async function pushStatus(pushId: string): Promise<PushStatus> {
  const response = await fetch(stack.pushUrl(pushId), { headers: { authorization: `Bearer ${STATUS_KEY}` }, signal: AbortSignal.timeout(10_000) });
  const text = await response.text();
  const status = (response.status === 200 ? JSON.parse(text) : {}) as Partial<PushStatus>;
  if (typeof status.state !== 'string' || status.push_id !== pushId) throw new Error(`GET /pushes/${pushId} answered ${response.status}, not the push: ${text.slice(0, 300)}`);
  return status as PushStatus;
}

/** The push's status once it is final (mirrored or failed), or its last status at `timeoutMs`. */
async function settled(pushId: string, timeoutMs: number): Promise<PushStatus> {
  const final: readonly LedgerState[] = ['mirrored', 'failed'];
  const deadline = Date.now() + timeoutMs;
  let status = await pushStatus(pushId);
  while (!final.includes(status.state) && Date.now() < deadline) {
    await sleep(250);
    status = await pushStatus(pushId);
  }
  return status;
}

function emulator() {
  if (!stack.emulator) throw new Error('the durable stack runs the emulator');
  return stack.emulator;
}

/** POST remote-mirror calls (triggers) the emulator received for a repository. */
function triggersOf(id: number): number {
  return emulator().callsTo('codehub').filter((call) => call.repositoryId === id && call.method === 'POST' && call.path.includes('remote-mirror')).length;
}

function sqsClient(): SQSClient {
  return new SQSClient({ endpoint: durable.sqsEndpoint, region: durable.region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
}

async function deadLetters(): Promise<QueueTask[]> {
  const sqs = sqsClient();
  try {
    const { Messages: messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: durable.deadLetterUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
    return messages.flatMap((message) => {
      const parsed = parseTask(message.Body ?? '');
      return parsed.ok ? [parsed.task] : [];
    });
  } finally {
    sqs.destroy();
  }
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'bridge-durable-e2e-'));
  upstream = await createUpstream(join(dataDir, 'upstream'));
  await upstream.commit('initial');
  const ids = [SYNCED_ID, REFUSED_ID, RUNNING_ID, NEVER_ID];
  statusHost = await startStatusHost();
  const config = {
    webhooks: { 'github.com': { secret: SECRET, report: { token: REPORT_TOKEN, api_url: statusHost.apiUrl('github') } } },
    mirrors: ids.map((id) => ({ source: `github.com/${repo(id)}`, repository_id: id })),
    status: { key: STATUS_KEY },
  };
  stack = await startStack({
    port: 0,
    emulator: {
      port: 0,
      dataDir: join(dataDir, 'codehub'),
      repositories: ids.map((id) => ({ id, group: 'acme', name: `durable-${id}`, upstream: upstream.path })),
    },
    // The budget is the storms' business (test/pipeline/budget-gate.test.ts); here it must not queue a push the test follows.
    env: { MIRROR_CONFIG: JSON.stringify(config), LOG_LEVEL: 'warn', CODEHUB_MAX_CALLS_PER_MINUTE: '6000' },
    durable: { confirmAfterSeconds: 1, giveUpAfterMinutes: GIVE_UP_MS / 60_000 },
    onOutput: (text) => (output += text),
  });
  if (stack.durable === undefined) throw new Error('startStack({ durable }) returned no durable resources');
  durable = stack.durable;

  // A real commit, made in another repository: the mirror's upstream never gets it.
  const elsewhere = await createUpstream(join(dataDir, 'elsewhere'));
  const sha = await elsewhere.commit('only here');
  const sentAt = Date.now();
  never = { pushId: pushIdOf(await push(NEVER_ID, 'refs/heads/main', sha)), sha, sentAt };

  // The outage: every CodeHub call of REFUSED_ID (triggers and reads) answers 500 until the test clears it.
  const shas: string[] = [];
  for (const branch of REFUSED_BRANCHES) shas.push(await upstream.commit(`while refused: ${branch}`, branch));
  const startedAt = Date.now();
  emulator().faults.set({ repositoryId: REFUSED_ID, serverError: 'always' });
  const answers: Answer[] = [];
  for (const [i, branch] of REFUSED_BRANCHES.entries()) answers.push(await push(REFUSED_ID, `refs/heads/${branch}`, shas[i] ?? ''));
  const during = await Promise.all(answers.map((answer) => pushStatus(pushIdOf(answer))));
  // CodeHub recovers OUTAGE_MS after the outage began, whichever test runs then; resolves with the refused reads.
  const recovered = sleep(Math.max(0, startedAt + OUTAGE_MS - Date.now())).then(() => {
    const reads = emulator().callsTo('codehub').filter((call) => call.repositoryId === REFUSED_ID && call.method === 'GET' && call.fault === 'serverError').length;
    emulator().faults.clear(REFUSED_ID);
    return reads;
  });
  refused = { answers, shas, during, recovered };
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await statusHost?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('the durable pipeline end to end: push → ledger → queue → worker → CodeHub emulator', () => {
  it('answers a push 200 with its jid and push_id, and the push becomes mirrored with the pushed SHA', { timeout: 60_000 }, async () => {
    // Prepare
    const sha = await upstream.commit('synced work');
    // Act
    const answer = await push(SYNCED_ID, 'refs/heads/main', sha);
    const status = await settled(pushIdOf(answer), 30_000);
    // Assess
    expect(answer.status).toBe(200);
    expect(answer.body.jid).toMatch(/\S/);
    expect(status.state).toBe('mirrored');
    expect(status.mirrors).toHaveLength(1);
    expect(status.mirrors[0]?.jids).toContain(answer.body.jid);
    expect(status.mirrors[0]?.confirmed_heads).toEqual({ 'refs/heads/main': { sha } });
    expect((await emulator().mirrorRefs(SYNCED_ID))['refs/heads/main']).toBe(sha);
  });

  it('reports the push on its commit upstream: pending "CodeArts mirror", then success once the mirror holds it', { timeout: 60_000 }, async () => {
    // Prepare
    const sha = await upstream.commit('reported work');
    // Act
    const status = await settled(pushIdOf(await push(SYNCED_ID, 'refs/heads/main', sha)), 30_000);
    const statuses = await statusHost.waitFor((received) => received.some((one) => one.sha === sha && one.state === 'success'), 20_000);
    // Assess
    expect(status.state).toBe('mirrored');
    const onSha = statuses.filter((one) => one.sha === sha);
    expect(onSha.map((one) => one.state)).toEqual(['pending', 'success']);
    expect(onSha.map((one) => [one.api, one.repository, one.context, one.authorization])).toEqual([
      ['github', repo(SYNCED_ID), 'CodeArts mirror', 'present'],
      ['github', repo(SYNCED_ID), 'CodeArts mirror', 'present'],
    ]);
    expect(onSha[0]?.description).toBe(`mirroring to CodeArts repository ${SYNCED_ID}`);
    expect(onSha[1]?.description).toMatch(new RegExp(`^mirrored to CodeArts repository ${SYNCED_ID} at \\d{4}-\\d\\d-\\d\\dT`));
    expect(output).not.toContain(REPORT_TOKEN);
  });
  it('mirrors a second push that lands while the first push\'s job is running: it joins that sync, then exactly one re-trigger', { timeout: 60_000 }, async () => {
    // Prepare
    const first = await upstream.commit('first push');
    emulator().setSyncDelay({ repositoryId: RUNNING_ID, afterFetchMs: 60_000 });
    const firstAnswer = await push(RUNNING_ID, 'refs/heads/main', first);
    // The second commit only once the first job has fetched: a slower fetch would carry both, and no re-trigger would be needed.
    await vi.waitFor(() => expect(emulator().job(firstAnswer.body.jid ?? '')?.fetchedAt ?? null).not.toBeNull(), { timeout: 20_000, interval: 50 });
    const second = await upstream.commit('second push, while the first job runs');
    // Act
    const secondAnswer = await push(RUNNING_ID, 'refs/heads/main', second);
    emulator().clearSyncDelay(RUNNING_ID);
    const [firstStatus, secondStatus] = await Promise.all([settled(pushIdOf(firstAnswer), 30_000), settled(pushIdOf(secondAnswer), 30_000)]);
    await emulator().waitForIdle(20_000);
    // Assess: the second push joined the first one's sync (coalesced: no call), whose job had fetched before the second commit.
    expect([firstAnswer.status, secondAnswer.status]).toEqual([200, 200]);
    expect(secondAnswer.body.jid).toBe(firstAnswer.body.jid);
    expect(firstStatus.state).toBe('mirrored');
    expect(secondStatus.state).toBe('mirrored');
    expect(secondStatus.mirrors[0]?.confirmed_heads).toEqual({ 'refs/heads/main': { sha: second } });
    // The first push's trigger, then one more: the re-trigger that fetched the second commit.
    expect(triggersOf(RUNNING_ID)).toBe(2);
    expect((await emulator().mirrorRefs(RUNNING_ID))['refs/heads/main']).toBe(second);
  });

  it('gives a record the worker reports failed (batchItemFailures) back to the queue, as Lambda\'s event source does', { timeout: 60_000 }, async () => {
    // Prepare: serverless.yml's 360 s visibility timeout would make "received again" a six-minute test.
    const sqs = sqsClient();
    let messageId = '';
    const seen = (): number => output.split('\n').filter((line) => line.includes(messageId) && line.includes('queue message is not a task')).length;
    try {
      await sqs.send(new SetQueueAttributesCommand({ QueueUrl: durable.queueUrl, Attributes: { VisibilityTimeout: '2' } }));
      // Act
      messageId = (await sqs.send(new SendMessageCommand({ QueueUrl: durable.queueUrl, MessageBody: 'not a confirm task' }))).MessageId ?? '';
      for (const until = Date.now() + 30_000; seen() < 2 && Date.now() < until; ) await sleep(200);
    } finally {
      await sqs.send(new SetQueueAttributesCommand({ QueueUrl: durable.queueUrl, Attributes: { VisibilityTimeout: '360' } }));
      sqs.destroy();
    }
    // Assess: handed to the worker, reported failed, left on the queue, and handed out again.
    expect(messageId).not.toBe('');
    expect(seen()).toBeGreaterThanOrEqual(2);
  });

  it('fails a push the mirror never catches up with at the give-up time, with a message naming it on the DLQ', { timeout: 200_000 }, async () => {
    // Act
    const status = await settled(never.pushId, never.sentAt + GIVE_UP_MS + 30_000 - Date.now());
    // Assess
    expect(status.state).toBe('failed');
    expect(status.mirrors[0]?.last_error?.message).toMatch(/refs\/heads\/main/);
    expect(triggersOf(NEVER_ID)).toBeGreaterThan(1);
    const failed = (await deadLetters()).flatMap((task) => (task.kind === 'failed' && task.push_id === never.pushId ? [task] : []));
    expect(failed).toHaveLength(1);
    expect((failed[0]?.failed_at ?? 0) - (failed[0]?.arrived_at ?? 0)).toBeGreaterThanOrEqual(GIVE_UP_MS);
    expect((await emulator().mirrorRefs(NEVER_ID))['refs/heads/main']).not.toBe(never.sha);
    // The ERROR line follows the ledger write, and reaches us through serverless-offline's output a little later.
    const errorLines = (): string[] => output.split('\n').filter((line) => line.includes(never.pushId) && /"level":\s*"ERROR"/i.test(line));
    await vi.waitFor(() => expect(errorLines().length).toBeGreaterThan(0), { timeout: 10_000, interval: 200 });
    // Every batch reached the worker and came back with its answer: the loop reported no failure.
    expect(output).not.toContain('worker loop:');
    // Upstream, the commit's status ends in failure, with the reason.
    const statuses = await statusHost.waitFor((received) => received.some((one) => one.sha === never.sha && one.state === 'failure'), 20_000);
    const onSha = statuses.filter((one) => one.sha === never.sha);
    expect(onSha.map((one) => one.state)).toEqual(['pending', 'failure']);
    expect(onSha[1]?.description).toMatch(/^not mirrored to CodeArts repository 804: refs\/heads\/main/);
  });
  it('queues every delivery while CodeHub refuses every call for 60 s (202), and mirrors them all once it recovers: 0 lost', { timeout: 180_000 }, async () => {
    // Prepare: the outage began in beforeAll and ends OUTAGE_MS later.
    const refusedReads = await refused.recovered;
    // Act
    const statuses = await Promise.all(refused.answers.map((answer) => settled(pushIdOf(answer), 90_000)));
    // Assess
    expect(refused.answers.map((answer) => [answer.status, answer.body.status])).toEqual(REFUSED_BRANCHES.map(() => [202, 'queued']));
    expect(refused.during.map((status) => status.state)).toEqual(REFUSED_BRANCHES.map(() => 'received'));
    // The worker's checks met the outage too, and kept the pushes.
    expect(refusedReads).toBeGreaterThan(0);
    expect(statuses.map((status) => status.state)).toEqual(REFUSED_BRANCHES.map(() => 'mirrored'));
    const mirror = await emulator().mirrorRefs(REFUSED_ID);
    expect(REFUSED_BRANCHES.map((branch) => mirror[`refs/heads/${branch}`])).toEqual(refused.shas);
  });
});
