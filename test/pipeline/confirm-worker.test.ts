import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { DeleteMessageCommand, ReceiveMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../dev/codehub-emulator/index';
import { startLocalEngines, type LocalEngines } from '../../dev/engines';
import { createAkSkAuthenticator } from '../../lib/codehub/auth';
import { createCodeHubClient, type CodeHubClient } from '../../lib/codehub/client';
import { createRepositoryResolver } from '../../lib/codehub/repository-resolver';
import { closeTransportPools } from '../../lib/codehub/transport';
import { buildMirrorIndex } from '../../lib/config/mapping';
import type { MirrorBranches, MirrorTarget, PathMirror } from '../../lib/config/types';
import type { ConfirmSettings } from '../../lib/ledger/confirm';
import { pushIdOf, pushKey } from '../../lib/ledger/push-id';
import { refsToConfirm } from '../../lib/ledger/refs';
import type { LedgerEntry, LedgerMirror } from '../../lib/ledger/types';
import type { Logger } from '../../lib/observability/log';
import { createConfirmWorker, type CheckTask, type ConfirmWorker, type WorkerMetric } from '../../lib/pipeline/confirm-worker';
import { createLedgerStore, type LedgerStore } from '../../lib/pipeline/ledger-store';
import { createPushQueue, parseTask, type ConfirmTask, type PushQueue, type QueueTask } from '../../lib/pipeline/push-queue';
import type { RefChange } from '../../lib/providers/types';
import { provisionLocal } from '../../scripts/provision-local';
import { commit, git } from '../support/git';

/**
 * The worker against the real engines: the ledger in dynalite, the queue and its DLQ in fauxqs (both
 * provisioned from serverless.yml), and CodeHub as the emulator, whose mirrors really `git fetch`
 * from upstream repositories in a temp dir. The worker's CodeHub client signs with AK/SK.
 */

const AK = 'WORKERTESTAK';
const SK = 'worker-test-SK-secret-0123';
// A key of its own for the wrong-secret test, so the emulator's lockout cannot reach the other tests.
const LOCKABLE_AK = 'WORKERLOCKABLEAK';
const PROJECT_ID = '0123456789abcdef0123456789abcdef';
const ZERO = '0'.repeat(40);
const DAY_MS = 86_400_000;
const SETTINGS: ConfirmSettings = { confirmAfterSeconds: 1, giveUpAfterMinutes: 60 };
const ENV_NAMES = ['AWS_ENDPOINT_URL_SQS', 'AWS_ENDPOINT_URL_DYNAMODB', 'AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'] as const;
const savedEnv = new Map(ENV_NAMES.map((name) => [name, process.env[name]]));

let root: string;
let engines: LocalEngines;
let store: LedgerStore;
let queue: PushQueue;
let reader: SQSClient;
let queueUrl: string;
let deadLetterUrl: string;
let emulator: Emulator;
let codehub: CodeHubClient;
let nextId = 3100;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'confirm-worker-'));
  engines = await startLocalEngines();
  Object.assign(process.env, { AWS_ENDPOINT_URL_SQS: engines.sqsEndpoint, AWS_ENDPOINT_URL_DYNAMODB: engines.dynamodbEndpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' });
  const env = await provisionLocal({ env: process.env, warn: () => undefined });
  queueUrl = env.PUSH_QUEUE_URL ?? '';
  deadLetterUrl = env.PUSH_DLQ_URL ?? '';
  store = createLedgerStore({ tableName: env.LEDGER_TABLE ?? '' });
  queue = createPushQueue({ queueUrl, deadLetterUrl });
  reader = new SQSClient({ endpoint: engines.sqsEndpoint });
  emulator = await startEmulator({ dataDir: join(root, 'codehub'), credentials: { accessKeys: { [AK]: SK, [LOCKABLE_AK]: 'the-right-secret' }, tokens: [] } });
  codehub = clientWith(SK, AK);
});

beforeEach(() => {
  emulator.faults.clear();
  emulator.clearSyncDelay();
});

afterAll(async () => {
  store.close();
  queue.close();
  reader.destroy();
  await emulator.close();
  await closeTransportPools();
  await engines.close();
  for (const [name, value] of savedEnv) {
    if (value === undefined) Reflect.deleteProperty(process.env, name);
    else process.env[name] = value;
  }
  await rm(root, { recursive: true, force: true });
});

/** A task the confirm worker takes (a report task here would be a bug of the test). */
function checkTask(task: QueueTask): CheckTask {
  if (task.kind === 'report') throw new Error('expected a confirm task, got a report task');
  return task;
}

function clientWith(secretKey: string, accessKey: string): CodeHubClient {
  // No retries: each test counts the calls the worker decided to make.
  return createCodeHubClient({ endpoint: emulator.url, auth: createAkSkAuthenticator({ accessKey, secretKey, projectId: PROJECT_ID }), retry: false });
}

interface Repo {
  readonly id: number;
  readonly dir: string;
  readonly first: string;
  readonly source: string;
}

/** A real upstream with one commit on main, registered in the emulator, and its mirror synced once. */
async function newRepo(options: { sync?: boolean } = {}): Promise<Repo> {
  nextId += 1;
  const dir = join(root, `upstream-${nextId}`);
  await git(root, 'init', '-q', '-b', 'main', dir);
  const first = await commit(dir, 'first');
  emulator.addRepository({ id: nextId, name: `app-${nextId}`, group: 'acme', upstream: dir });
  const repo = { id: nextId, dir, first, source: `github.com/acme/app-${nextId}` };
  if (options.sync !== false) await syncNow(repo);
  return repo;
}

/** Triggers the mirror's sync as the webhook would, and waits until it is done. */
async function syncNow(repo: Repo): Promise<string> {
  const { jid } = await codehub.startMirrorSync(repo.id, { forceFetch: true });
  await emulator.waitForIdle();
  return jid;
}

function mirrorTarget(repo: Repo, branches?: MirrorBranches): MirrorTarget {
  return { source: repo.source, repositoryId: repo.id, secrets: undefined, refs: undefined, forceFetch: true, branches };
}

let arrival = Date.now() - 60_000;

/** Records a push as the webhook would have; `mirror` overrides the mirror's side. */
async function recordPush(repo: Repo, refs: readonly RefChange[], mirror: Partial<LedgerMirror> = {}, arrivedAt = (arrival += 1000)): Promise<LedgerEntry> {
  const key = pushKey(repo.source, refs);
  const side: LedgerMirror = { repositoryId: repo.id, state: 'triggered', refs: refsToConfirm(refs, { refs: undefined }, 'main'), jids: ['job-by-webhook'], attempts: 0, ...mirror };
  const entry: LedgerEntry = { pushId: pushIdOf(key), key, source: repo.source, refs, arrivedAt, state: side.state, mirrors: [side] };
  await store.recordPush(entry);
  return entry;
}

const change = (ref: string, before: string, after: string): RefChange => ({ ref, before, after, deleted: /^0+$/.test(after) });

function taskOf(entry: LedgerEntry, attempt = 1, mirror = String(entry.mirrors[0]?.repositoryId)): ConfirmTask {
  return { v: 1, kind: 'confirm', push_id: entry.pushId, mirror, attempt, arrived_at: entry.arrivedAt };
}

interface Harness {
  readonly worker: ConfirmWorker;
  readonly lines: { level: string; message: string; fields: Record<string, unknown> }[];
  readonly counted: WorkerMetric[];
  readonly lags: number[];
}

function harness(mirrors: readonly (MirrorTarget | PathMirror)[], options: { settings?: ConfirmSettings; client?: CodeHubClient } = {}): Harness {
  const lines: Harness['lines'] = [];
  const at = (level: string) => (message: string, fields: Record<string, unknown> = {}) => void lines.push({ level, message, fields });
  const logger: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  const counted: WorkerMetric[] = [];
  const lags: number[] = [];
  const client = options.client ?? codehub;
  const byPath = mirrors.filter((mirror): mirror is PathMirror => 'target' in mirror);
  const worker = createConfirmWorker({
    store,
    queue,
    codehub: client,
    index: buildMirrorIndex({ webhooks: new Map(), mirrors: mirrors.filter((mirror): mirror is MirrorTarget => 'repositoryId' in mirror), pathMirrors: byPath }),
    resolver: byPath.length > 0 ? createRepositoryResolver((group, name, o) => client.resolveRepositoryId(group, name, o)) : undefined,
    settings: options.settings ?? SETTINGS,
    logger,
    metrics: { count: (name) => void counted.push(name), milliseconds: (_name, ms) => void lags.push(ms) },
  });
  return { worker, lines, counted, lags };
}

/** Receives from `url` until a message for `pushId` arrives, deleting what it reads (earlier tests' leftovers too). */
async function receiveFor(url: string, pushId: string, waitMs: number): Promise<{ task: QueueTask; message: Message }> {
  const until = Date.now() + waitMs;
  while (Date.now() < until) {
    const { Messages: messages = [] } = await reader.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 1, MaxNumberOfMessages: 10, MessageSystemAttributeNames: ['All'] }));
    let found: { task: QueueTask; message: Message } | undefined;
    for (const message of messages) {
      await reader.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: message.ReceiptHandle }));
      const parsed = parseTask(message.Body ?? '');
      if (parsed.ok && parsed.task.push_id === pushId) found ??= { task: parsed.task, message };
    }
    if (found !== undefined) return found;
  }
  throw new Error(`no message for ${pushId} on ${url} within ${waitMs} ms`);
}

const codehubCalls = (repositoryId?: number) => emulator.callsTo('codehub').filter((call) => repositoryId === undefined || call.repositoryId === repositoryId);
const triggers = (repositoryId: number) => codehubCalls(repositoryId).filter((call) => call.method === 'POST');
const mirrorOf = async (entry: LedgerEntry): Promise<LedgerMirror | undefined> => (await store.getPush(entry.pushId))?.mirrors[0];

describe('createConfirmWorker: confirming', () => {
  it('marks a push mirrored when the mirror shows the pushed SHA, without a trigger', async () => {
    // Prepare
    const repo = await newRepo();
    const pushed = await commit(repo.dir, 'second');
    await syncNow(repo);
    const entry = await recordPush(repo, [change('refs/heads/main', repo.first, pushed)]);
    const { worker, lines, counted, lags } = harness([mirrorTarget(repo)]);
    emulator.clearCalls();
    // Act
    const outcome = await worker.handle(taskOf(entry));
    // Assess
    expect(outcome).toMatchObject({ kind: 'mirrored', pushId: entry.pushId, heads: { 'refs/heads/main': { sha: pushed } } });
    const stored = await store.getPush(entry.pushId);
    expect(stored?.state).toBe('mirrored');
    expect(stored?.mirrors[0]).toMatchObject({ state: 'mirrored', attempts: 1, confirmedHeads: { 'refs/heads/main': { sha: pushed } }, confirmedAt: expect.any(Number) });
    expect(counted).toEqual(['PushesMirrored']);
    expect(lags).toHaveLength(1);
    expect(lines).toContainEqual(expect.objectContaining({ level: 'info', message: 'push mirrored', fields: expect.objectContaining({ pushId: entry.pushId }) }));
    expect(triggers(repo.id)).toEqual([]);
  });

  it('looks again later while the job is still running, then confirms once it has fetched, with no second trigger', async () => {
    // Prepare: the webhook's job waits before its fetch, still `running`.
    const repo = await newRepo();
    emulator.setSyncDelay({ repositoryId: repo.id, beforeFetchMs: DAY_MS });
    const pushed = await commit(repo.dir, 'second');
    const { jid } = await codehub.startMirrorSync(repo.id, { forceFetch: true });
    const entry = await recordPush(repo, [change('refs/heads/main', repo.first, pushed)], { jids: [jid] });
    const { worker } = harness([mirrorTarget(repo)]);
    emulator.clearCalls();
    // Act
    const first = await worker.handle(taskOf(entry));
    const afterFirst = await mirrorOf(entry);
    emulator.clearSyncDelay(repo.id);
    await emulator.waitForIdle();
    const next = await receiveFor(queueUrl, entry.pushId, 10_000);
    const second = await worker.handle(checkTask(next.task));
    // Assess
    expect(first).toMatchObject({ kind: 'checked', delaySeconds: 2 });
    expect(afterFirst).toMatchObject({ state: 'triggered', attempts: 1 });
    expect(next.task).toEqual({ ...taskOf(entry), attempt: 2 });
    expect(Number(next.message.Attributes?.ApproximateFirstReceiveTimestamp) - Number(next.message.Attributes?.SentTimestamp)).toBeGreaterThanOrEqual(2000);
    expect(second).toMatchObject({ kind: 'mirrored', heads: { 'refs/heads/main': { sha: pushed } } });
    expect(triggers(repo.id)).toEqual([]);
  });

  it('triggers again exactly once when the push landed after the running job fetched, then confirms', async () => {
    // Prepare: push A's job fetches, then stays running; push B lands and its trigger joins that job.
    const repo = await newRepo();
    emulator.setSyncDelay({ repositoryId: repo.id, afterFetchMs: DAY_MS });
    const a = await commit(repo.dir, 'push A');
    const { jid } = await codehub.startMirrorSync(repo.id, { forceFetch: true });
    while ((emulator.job(jid)?.fetchedAt ?? null) === null) await delay(10);
    const b = await commit(repo.dir, 'push B');
    const joined = await codehub.startMirrorSync(repo.id, { forceFetch: true });
    emulator.clearSyncDelay(repo.id);
    await emulator.waitForIdle();
    const entry = await recordPush(repo, [change('refs/heads/main', a, b)], { jids: [joined.jid] });
    const { worker, counted } = harness([mirrorTarget(repo)]);
    emulator.clearCalls();
    // Act
    const first = await worker.handle(taskOf(entry));
    await emulator.waitForIdle();
    const second = await worker.handle(taskOf(entry, 2));
    // Assess
    expect(joined.jid).toBe(jid);
    expect(first).toMatchObject({ kind: 'retriggered', delaySeconds: 2 });
    expect(first.kind === 'retriggered' && first.jid).not.toBe(jid);
    expect(triggers(repo.id)).toHaveLength(1);
    expect(counted).toContain('SyncRetriggered');
    expect(second).toMatchObject({ kind: 'mirrored', heads: { 'refs/heads/main': { sha: b } } });
    expect((await mirrorOf(entry))?.jids).toEqual([jid, first.kind === 'retriggered' ? first.jid : '']);
  });

  it('confirms a push a later push to the same ref superseded, without reading that ref', async () => {
    // Prepare
    const repo = await newRepo();
    const x = await commit(repo.dir, 'x');
    const y = await commit(repo.dir, 'y');
    const older = await recordPush(repo, [change('refs/heads/main', repo.first, x)]);
    const newer = await recordPush(repo, [change('refs/heads/main', x, y)]);
    await syncNow(repo);
    const { worker } = harness([mirrorTarget(repo)]);
    emulator.clearCalls();
    // Act
    const outcome = await worker.handle(taskOf(older));
    const reads = codehubCalls(repo.id).length;
    const latest = await worker.handle(taskOf(newer));
    // Assess
    expect(outcome).toMatchObject({ kind: 'mirrored', heads: { 'refs/heads/main': 'superseded' } });
    expect(reads).toBe(0);
    expect(latest).toMatchObject({ kind: 'mirrored', heads: { 'refs/heads/main': { sha: y } } });
  });

  it('confirms a tag push by the tag (ShowTag)', async () => {
    // Prepare
    const repo = await newRepo();
    const tagged = await commit(repo.dir, 'release');
    await git(repo.dir, 'tag', 'v1.0.0');
    await syncNow(repo);
    const entry = await recordPush(repo, [change('refs/tags/v1.0.0', ZERO, tagged)]);
    const { worker } = harness([mirrorTarget(repo)]);
    emulator.clearCalls();
    // Act
    const outcome = await worker.handle(taskOf(entry));
    // Assess
    expect(outcome).toMatchObject({ kind: 'mirrored', heads: { 'refs/tags/v1.0.0': { sha: tagged } } });
    expect(codehubCalls(repo.id).map((call) => call.path)).toEqual([`/v4/repositories/${repo.id}/repository/tag?tag_name=v1.0.0`]);
  });

  it('confirms a branch deletion once the mirror no longer has the branch (triggering it first)', async () => {
    // Prepare
    const repo = await newRepo({ sync: false });
    await git(repo.dir, 'branch', 'feature');
    await syncNow(repo);
    await git(repo.dir, 'branch', '-D', 'feature');
    const entry = await recordPush(repo, [change('refs/heads/feature', repo.first, ZERO)]);
    const { worker } = harness([mirrorTarget(repo)]);
    // Act
    const first = await worker.handle(taskOf(entry));
    await emulator.waitForIdle();
    const second = await worker.handle(taskOf(entry, 2));
    // Assess
    expect(first.kind).toBe('retriggered');
    expect(second).toMatchObject({ kind: 'mirrored', heads: { 'refs/heads/feature': 'absent' } });
  });

  it('waits only for the default branch of a mirror that syncs only its default branch', async () => {
    // Prepare: the push also moves a branch and a tag to commits the mirror will never show.
    const repo = await newRepo();
    const pushed = await commit(repo.dir, 'second');
    await syncNow(repo);
    const refs = [change('refs/heads/main', repo.first, pushed), change('refs/heads/feature', ZERO, 'f'.repeat(40)), change('refs/tags/v9', ZERO, 'e'.repeat(40))];
    const entry = await recordPush(repo, refs, { refs: refsToConfirm(refs, { refs: undefined, branches: 'default' }, 'main') });
    const { worker } = harness([mirrorTarget(repo, 'default')]);
    emulator.clearCalls();
    // Act
    const outcome = await worker.handle(taskOf(entry));
    // Assess
    expect(outcome).toMatchObject({ kind: 'mirrored', heads: { 'refs/heads/main': { sha: pushed } } });
    expect(Object.keys(outcome.kind === 'mirrored' ? outcome.heads : {})).toEqual(['refs/heads/main']);
    expect(codehubCalls(repo.id)).toHaveLength(1);
  });
});

describe('createConfirmWorker: giving up, retrying and doing nothing', () => {
  it('gives up a push not mirrored by the give-up time: DLQ notice, failed in the ledger, metric and ERROR line', async () => {
    // Prepare: arrived two minutes ago, with a one-minute give-up time; the mirror never fetched it.
    const repo = await newRepo();
    const pushed = await commit(repo.dir, 'never mirrored');
    const entry = await recordPush(repo, [change('refs/heads/main', repo.first, pushed)], {}, Date.now() - 2 * 60_000);
    const { worker, lines, counted } = harness([mirrorTarget(repo)], { settings: { confirmAfterSeconds: 1, giveUpAfterMinutes: 1 } });
    emulator.clearCalls();
    // Act
    const outcome = await worker.handle(taskOf(entry, 7));
    const notice = await receiveFor(deadLetterUrl, entry.pushId, 5000);
    // Assess
    expect(outcome).toMatchObject({ kind: 'failed', code: 'PUSH_NOT_MIRRORED', reason: 'refs/heads/main not at the pushed commit after 1 min' });
    expect(notice.task).toMatchObject({ kind: 'failed', push_id: entry.pushId, mirror: String(repo.id), attempt: 7, reason: 'refs/heads/main not at the pushed commit after 1 min' });
    expect(await mirrorOf(entry)).toMatchObject({ state: 'failed', lastError: { code: 'PUSH_NOT_MIRRORED' } });
    expect((await store.getPush(entry.pushId))?.state).toBe('failed');
    expect(counted).toEqual(['PushesFailed']);
    expect(lines.filter((line) => line.level === 'error')).toEqual([
      expect.objectContaining({ message: 'push failed', fields: expect.objectContaining({ pushId: entry.pushId, mirror: String(repo.id), shas: [pushed] }) }),
    ]);
    expect(triggers(repo.id)).toEqual([]);
  });

  it('gives up at once, with one call and no trigger, when CodeHub refuses the AK/SK signature', async () => {
    // Prepare: the webhook could not trigger it (received); the worker's secret key is wrong.
    const repo = await newRepo();
    const pushed = await commit(repo.dir, 'second');
    const entry = await recordPush(repo, [change('refs/heads/main', repo.first, pushed)], { state: 'received', jids: [] });
    const { worker, counted } = harness([mirrorTarget(repo)], { client: clientWith('a-wrong-secret', LOCKABLE_AK) });
    emulator.clearCalls();
    // Act
    const outcome = await worker.handle(taskOf(entry));
    const notice = await receiveFor(deadLetterUrl, entry.pushId, 5000);
    // Assess
    expect(outcome).toMatchObject({ kind: 'failed', code: 'CODEHUB_SIGNATURE_FAILED' });
    expect(codehubCalls()).toHaveLength(1);
    expect(notice.task.kind).toBe('failed');
    expect(await mirrorOf(entry)).toMatchObject({ state: 'failed', lastError: { code: 'CODEHUB_SIGNATURE_FAILED' } });
    expect(counted).toEqual(['PushesFailed']);
  });

  it('gives up at once when the mirror\'s CodeHub path does not exist, without a trigger', async () => {
    // Prepare
    const repo = await newRepo();
    const target = `acme/missing-${repo.id}`;
    const byPath: PathMirror = { source: repo.source, target, secrets: undefined, refs: undefined, forceFetch: true };
    const entry = await recordPush(repo, [change('refs/heads/main', repo.first, 'a'.repeat(40))], { repositoryId: 0, target, state: 'received', jids: [] });
    const { worker } = harness([byPath]);
    emulator.clearCalls();
    // Act
    const outcome = await worker.handle(taskOf(entry, 1, target));
    // Assess
    expect(outcome).toMatchObject({ kind: 'failed', code: 'CODEHUB_REJECTED', mirror: target });
    expect(codehubCalls().filter((call) => call.method === 'POST')).toEqual([]);
    expect((await store.getPush(entry.pushId))?.mirrors[0]?.state).toBe('failed');
  });

  it('defers a trigger CodeHub throttles, and looks again no sooner than its Retry-After', async () => {
    // Prepare: never triggered (received); the next two calls (the read and the trigger) are throttled.
    const repo = await newRepo();
    const pushed = await commit(repo.dir, 'second');
    const entry = await recordPush(repo, [change('refs/heads/main', repo.first, pushed)], { state: 'received', jids: [] });
    emulator.faults.set({ repositoryId: repo.id, throttle: 2, retryAfterSeconds: 7 });
    const { worker } = harness([mirrorTarget(repo)]);
    // Act
    const outcome = await worker.handle(taskOf(entry));
    // Assess
    expect(outcome).toMatchObject({ kind: 'deferred', code: 'CODEHUB_THROTTLED', delaySeconds: 7 });
    expect(await mirrorOf(entry)).toMatchObject({ state: 'received', attempts: 1, lastError: { code: 'CODEHUB_THROTTLED' } });
  });

  it('looks again later, keeping the error, when CodeHub throttles the read of a triggered push', async () => {
    // Prepare
    const repo = await newRepo();
    const pushed = await commit(repo.dir, 'second');
    const entry = await recordPush(repo, [change('refs/heads/main', repo.first, pushed)]);
    emulator.faults.set({ repositoryId: repo.id, throttle: 1 });
    const { worker } = harness([mirrorTarget(repo)]);
    emulator.clearCalls();
    // Act
    const outcome = await worker.handle(taskOf(entry, 3));
    // Assess: 1 s doubled per check, so 8 s after the third
    expect(outcome).toMatchObject({ kind: 'checked', delaySeconds: 8 });
    expect(await mirrorOf(entry)).toMatchObject({ state: 'triggered', attempts: 1, lastError: { code: 'CODEHUB_THROTTLED' } });
    expect(codehubCalls(repo.id)).toHaveLength(1);
  });

  it('gives up a push whose mirror is no longer configured, without a CodeHub call', async () => {
    // Prepare
    const repo = await newRepo();
    const entry = await recordPush(repo, [change('refs/heads/main', repo.first, 'a'.repeat(40))]);
    const { worker } = harness([]);
    emulator.clearCalls();
    // Act
    const outcome = await worker.handle(taskOf(entry));
    const notice = await receiveFor(deadLetterUrl, entry.pushId, 5000);
    // Assess
    expect(outcome).toMatchObject({ kind: 'failed', code: 'MIRROR_NOT_CONFIGURED' });
    expect(notice.task.kind).toBe('failed');
    expect(codehubCalls()).toEqual([]);
  });

  it('does nothing for a push already mirrored or failed: no CodeHub call, no message', async () => {
    // Prepare
    const repo = await newRepo();
    const mirrored = await recordPush(repo, [change('refs/heads/main', repo.first, 'b'.repeat(40))], { state: 'mirrored' });
    const failed = await recordPush(repo, [change('refs/heads/main', 'b'.repeat(40), 'c'.repeat(40))], { state: 'failed' });
    const { worker } = harness([mirrorTarget(repo)]);
    emulator.clearCalls();
    // Act
    const outcomes = [await worker.handle(taskOf(mirrored)), await worker.handle(taskOf(failed))];
    // Assess
    expect(outcomes).toMatchObject([
      { kind: 'already-final', state: 'mirrored' },
      { kind: 'already-final', state: 'failed' },
    ]);
    expect(codehubCalls()).toEqual([]);
  });

  it('drops a task for a push the ledger does not know, with a warning', async () => {
    // Prepare
    const { worker, lines } = harness([]);
    const task: ConfirmTask = { v: 1, kind: 'confirm', push_id: 'NoSuchPushInTheLedger0', mirror: '42', attempt: 1, arrived_at: Date.now() };
    // Act
    const outcome = await worker.handle(task);
    // Assess
    expect(outcome).toMatchObject({ kind: 'dropped', pushId: task.push_id });
    expect(lines).toContainEqual(expect.objectContaining({ level: 'warn', message: 'confirm task dropped' }));
  });

  it('confirms a redriven failed push the mirror now holds, and sends one still missing back to the DLQ untriggered', async () => {
    // Prepare
    const repo = await newRepo();
    const pushed = await commit(repo.dir, 'late');
    await syncNow(repo);
    const late = await recordPush(repo, [change('refs/heads/main', repo.first, pushed)], { state: 'failed' });
    const missing = await recordPush(repo, [change('refs/heads/side', ZERO, 'd'.repeat(40))], { state: 'failed' });
    const notice = (entry: LedgerEntry): CheckTask => ({ ...taskOf(entry, 5), kind: 'failed', reason: 'given up', failed_at: Date.now() });
    const { worker } = harness([mirrorTarget(repo)]);
    emulator.clearCalls();
    // Act
    const proved = await worker.handle(notice(late));
    const still = await worker.handle(notice(missing));
    const back = await receiveFor(deadLetterUrl, missing.pushId, 5000);
    // Assess
    expect(proved).toMatchObject({ kind: 'mirrored', heads: { 'refs/heads/main': { sha: pushed } } });
    expect((await mirrorOf(late))?.state).toBe('mirrored');
    expect(still).toMatchObject({ kind: 'already-final', state: 'failed', renotified: true });
    expect(back.task).toMatchObject({ kind: 'failed', push_id: missing.pushId });
    expect(triggers(repo.id)).toEqual([]);
  });
});
