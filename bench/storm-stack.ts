/**
 * What one storm runs against: the local SQS and DynamoDB engines in a process of their own (with
 * serverless.yml's queues and table), the CodeHub emulator in this process with simulated
 * repositories (a fetch takes 1–3 s and takes the upstream heads of its start) and APIG's real
 * sliding-window limit (600 calls a minute), and the environment the bundles read, set in this
 * process as Lambda would set it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { startEmulator, type CallRecord, type Emulator } from '../dev/codehub-emulator';
import { createSqsClient } from '../lib/pipeline/push-queue';
import { ROOT } from './harness';

export const STORM_SECRET = 'storm-webhook-secret-0123456789';
const TOKEN = 'storm-codehub-token';
export const FIRST_ID = 5000;
/** CodeHub's own limit, per API and region, shared by every tenant. */
export const CODEHUB_QUOTA_PER_MINUTE = 600;

export const repositoryName = (index: number): string => `storm/r${index}`;

export interface StormStack {
  readonly emulator: Emulator;
  readonly queueUrl: string;
  readonly tableName: string;
  /** Every CodeHub call the emulator received so far (its own log keeps only the latest 10,000). */
  calls(): CallRecord[];
  /** Whether the push queue holds nothing: visible, in flight or delayed. */
  queueEmpty(): Promise<boolean>;
  stop(): Promise<void>;
}

export interface StormStackOptions {
  readonly repositories: number;
  /** false: today's stateless bridge (no ledger, queue, coalescing or budget). */
  readonly durable: boolean;
}

async function startEngines(): Promise<{ env: Record<string, string>; variables: Record<string, string>; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'durable-engines.ts')], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const first = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`the engines exited (${code}) before they were ready`)));
  });
  const ready = JSON.parse(first) as { env: Record<string, string>; variables: Record<string, string> };
  return { ...ready, child };
}

export async function startStormStack(options: StormStackOptions): Promise<StormStack> {
  const dataDir = mkdtempSync(join(tmpdir(), 'bridge-storm-'));
  const engines = options.durable ? await startEngines() : undefined;
  const ids = Array.from({ length: options.repositories }, (_, index) => FIRST_ID + index);
  const emulator = await startEmulator({
    credentials: { tokens: [TOKEN] },
    dataDir: join(dataDir, 'codehub'),
    repositories: ids.map((id, index) => ({ id, group: 'storm', name: `r${index}`, simulated: true as const })),
    rateLimit: { perMinute: CODEHUB_QUOTA_PER_MINUTE },
    simulatedFetchMs: { min: 1000, max: 3000 },
  });
  const config = {
    webhooks: { 'github.com': { secret: STORM_SECRET } },
    mirrors: ids.map((id, index) => ({ source: `github.com/${repositoryName(index)}`, repository_id: id })),
  };
  const durableEnv = engines === undefined ? {} : { ...engines.env, ...engines.variables };
  Object.assign(process.env, {
    MIRROR_CONFIG: JSON.stringify(config),
    CODEHUB_ENDPOINT: emulator.url,
    CODEHUB_TOKEN: TOKEN,
    LOG_LEVEL: 'ERROR',
    ...durableEnv,
  });
  if (engines === undefined) for (const name of ['LEDGER_TABLE', 'PUSH_QUEUE_URL', 'PUSH_DLQ_URL']) Reflect.deleteProperty(process.env, name);

  const collected: CallRecord[] = [];
  let lastSeq = 0;
  const collect = (): void => {
    for (const call of emulator.callsTo('codehub')) {
      if (call.seq > lastSeq) {
        collected.push(call);
        lastSeq = call.seq;
      }
    }
  };
  // Often enough that the emulator's log (the latest 10,000 calls) never drops one unseen.
  const collector = setInterval(collect, 500);
  const sqs = createSqsClient();
  const queueUrl = engines?.variables['PUSH_QUEUE_URL'] ?? '';
  return {
    emulator,
    queueUrl,
    tableName: engines?.variables['LEDGER_TABLE'] ?? '',
    calls: () => {
      collect();
      return [...collected];
    },
    async queueEmpty() {
      const names = ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'] as const;
      const { Attributes: attributes = {} } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: [...names] }));
      return names.every((name) => Number(attributes[name] ?? '0') === 0);
    },
    async stop() {
      clearInterval(collector);
      sqs.destroy();
      await emulator.close();
      engines?.child.stdin?.end();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
