/**
 * The durable bench (issue "Every push lands", done-when 8): with CodeHub answering after 50 ms,
 * the durable bridge's median answer against the stateless one's. The ledger write and the confirm
 * task overlap the CodeHub call; what is left on the answer's path is the replay check before the
 * call and the trigger note after it. Both variants run dist/webhook.js; the durable one has
 * LEDGER_TABLE, PUSH_QUEUE_URL, PUSH_DLQ_URL and the standard AWS_ENDPOINT_URL_* pointing at the
 * local engines (fauxqs, dynalite), which run in a process of their own on the bench's CPU.
 *
 *   tsx bench/durable.ts [--quick]   this phase alone (npm run bench runs it too)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { measuredCommand, pinProcesses, ROOT } from './harness';
import { WEBHOOK_SECRET, codehubEnvironment, githubPushBody, mirrorConfig } from './payloads';
import { median, shuffled, summarize, type Summary } from './stats';

export const DURABLE_CODEHUB_DELAY_MS = 50;

export interface DurableFigures {
  readonly stateless: Summary;
  readonly durable: Summary;
  /** Median of the durable medians over median of the stateless medians. */
  readonly ratio: number;
  readonly deliveries: number;
}

/** A helper process that prints one JSON line when ready and stops when its stdin closes. */
async function startHelper<T>(command: readonly string[], env: Record<string, string> = {}): Promise<{ readonly ready: T; readonly child: ChildProcess }> {
  const [file, ...args] = command;
  const child = spawn(file as string, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const first = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`${command.join(' ')} exited (${code}) before it was ready`)));
  });
  return { ready: JSON.parse(first) as T, child };
}

function runOnce(dir: string, standinUrl: string, extraEnv: Record<string, string>, body: string, plan: { warmup: number; count: number }): Promise<number[]> {
  const [command, ...args] = measuredCommand([process.execPath, join(ROOT, 'bench', 'durable-runner.mjs')]);
  return new Promise((resolve, reject) => {
    const child = spawn(command as string, args, {
      cwd: dir,
      env: {
        PATH: process.env['PATH'] ?? '/usr/bin:/bin',
        HOME: dir,
        ...codehubEnvironment(standinUrl),
        MIRROR_CONFIG: mirrorConfig(),
        BENCH_MODULE: join(ROOT, 'dist', 'webhook.js'),
        BENCH_BODY: body,
        BENCH_SECRET: WEBHOOK_SECRET,
        BENCH_WARMUP: String(plan.warmup),
        BENCH_COUNT: String(plan.count),
        ...extraEnv,
      },
      stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
    });
    let output = '';
    let errors = '';
    child.stdio[3]?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr?.on('data', (chunk: Buffer) => (errors += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', () => {
      try {
        const result = JSON.parse(output.trim()) as { ok: boolean; durationsMs?: number[]; error?: string };
        if (!result.ok || result.durationsMs === undefined) throw new Error(result.error ?? 'no durations');
        resolve(result.durationsMs);
      } catch (error) {
        reject(new Error(`durable bench run failed: ${String(error)} ${errors.slice(0, 1000)}`));
      }
    });
  });
}

/** `rounds` rounds of one stateless and one durable process each, in random order. */
export async function durablePhase(options: { readonly rounds: number; readonly warmup: number; readonly count: number }): Promise<DurableFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'bridge-bench-durable-'));
  // The engines on the bench's CPU (a child of this pinned process); the stand-in beside the measured process.
  const engines = await startHelper<{ env: Record<string, string>; variables: Record<string, string> }>([process.execPath, '--import', 'tsx', join(ROOT, 'bench', 'durable-engines.ts')]);
  const standin = await startHelper<{ url: string }>(measuredCommand([process.execPath, '--import', 'tsx', join(ROOT, 'bench', 'durable-standin.ts')]), { BENCH_DELAY_MS: String(DURABLE_CODEHUB_DELAY_MS) });
  try {
    const body = join(dir, 'push.json');
    writeFileSync(body, githubPushBody(9 * 1024));
    const variants = {
      stateless: {},
      durable: { ...engines.ready.env, ...engines.ready.variables, BENCH_EXPECT_PUSH_ID: '1' },
    };
    const medians: Record<keyof typeof variants, number[]> = { stateless: [], durable: [] };
    for (let round = 0; round < options.rounds; round += 1) {
      for (const name of shuffled(['stateless', 'durable'] as const)) {
        const durations = await runOnce(dir, standin.ready.url, variants[name], body, options);
        medians[name].push(median(durations));
      }
    }
    const stateless = summarize(medians.stateless);
    const durable = summarize(medians.durable);
    return { stateless, durable, ratio: durable.median / stateless.median, deliveries: options.count };
  } finally {
    engines.child.stdin?.end();
    standin.child.stdin?.end();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.stderr.write(`${pinProcesses()}\n`);
  const quick = process.argv.includes('--quick');
  const figures = await durablePhase(quick ? { rounds: 2, warmup: 10, count: 40 } : { rounds: 5, warmup: 20, count: 100 });
  process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
}
