/**
 * What bench/run.ts and bench/profile.ts share: the variants, the workspace (payload and config
 * files, the CodeHub stand-in) and starting one measured bench/runner.mjs process.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startStandin, type Standin } from './codehub-standin';
import { ACCESS_KEY, SECRET_KEY, codehubEnvironment, githubPushBody, githubPushEvent, mirrorConfig } from './payloads';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RUNNER = join(ROOT, 'bench', 'runner.mjs');

export const VARIANTS = {
  floor: { label: 'floor: node:http keep-alive, hand-written', module: 'bench/variants/floor.mjs' },
  bridge: { label: 'bridge: dist/webhook.js', module: 'dist/webhook.js' },
  sdk: { label: 'peer: @huaweicloud/huaweicloud-sdk-core', module: 'bench/variants/sdk-core.mjs' },
  undiciAll: { label: "naive: all of undici (import from 'undici')", module: 'bench/variants/undici-all.mjs' },
  fetch: { label: 'built-in: global fetch', module: 'bench/variants/fetch.mjs' },
  undiciPool: { label: "undici's Pool alone (the bridge's one stack, doing the floor's job)", module: 'bench/variants/undici-pool.mjs' },
} as const;
export type VariantId = keyof typeof VARIANTS;

export const FAN_OUT = 10;

/**
 * The CPU the measured processes run on; the bench process (and the CodeHub stand-in in it) keeps
 * to another one, so that the two never compete and the scheduler does not move them around. One
 * CPU per measured process is also what a Lambda function gets (at most 1 vCPU below 1,769 MB).
 * Undefined when there are fewer than two CPUs or no `taskset`.
 */
let MEASURED_CPU: string | undefined;

/** `command` as it should be spawned to run on the measured CPU. */
export function measuredCommand(command: readonly string[]): string[] {
  return MEASURED_CPU === undefined ? [...command] : ['taskset', '-c', MEASURED_CPU, ...command];
}

/** Pins this process to CPU 0 and the measured ones to CPU 1, when possible. */
export function pinProcesses(): string {
  if (availableParallelism() < 2) return 'not pinned (one CPU)';
  try {
    execFileSync('taskset', ['-p', '-c', '0', String(process.pid)], { stdio: 'ignore' });
    MEASURED_CPU = '1';
    return 'bench and CodeHub stand-in on CPU 0, measured processes on CPU 1 (taskset)';
  } catch {
    return 'not pinned (taskset unavailable)';
  }
}

export interface ColdResult {
  readonly ok: boolean;
  readonly error?: string;
  readonly importedMs: number;
  readonly answeredMs: number;
  readonly cpuMs: number;
  readonly maxRssKb: number;
  /** The delivery made `secondAfterMs` after the first answer. */
  readonly secondMs?: number;
}

export interface WarmResult {
  readonly ok: boolean;
  readonly error?: string;
  readonly importedMs: number;
  readonly durationsUs: number[];
  /** CPU time (user + system) of the whole process over the timed deliveries, per delivery. */
  readonly cpuUsPerDelivery: number;
  readonly maxRssKb: number;
}

export interface RunOptions {
  readonly mode: 'cold' | 'warm';
  readonly eventFile: string;
  /** `MIRROR_CONFIG` text, or `{ file }` for `MIRROR_CONFIG_FILE`. */
  readonly config: string | { readonly file: string };
  readonly warmup?: number;
  readonly count?: number;
  readonly secondAfterMs?: number;
  /** Extra Node options for the measured process (e.g. `--cpu-prof`). */
  readonly execArgv?: readonly string[];
}

export interface Measured<T> {
  /** Spawn → first result line received, as seen from the bench process. */
  readonly wallMs: number;
  readonly result: T;
  readonly standin: Standin['stats'];
}

export interface Workspace {
  readonly dir: string;
  readonly standin: Standin;
  readonly push9k: string;
  readonly push5m: string;
  readonly event9k: string;
  readonly event5m: string;
  /** `MIRROR_CONFIG` with one mirror of the benchmark source. */
  readonly single: string;
  /** `MIRROR_CONFIG` with `FAN_OUT` mirrors of the benchmark source. */
  readonly fanOut: string;
  /** Config files with 1, 1,000 and 100,000 exact mirrors. */
  readonly scaleFiles: readonly [string, string, string];
  close(): Promise<void>;
}

export async function createWorkspace(): Promise<Workspace> {
  const dir = mkdtempSync(join(tmpdir(), 'bridge-bench-'));
  const standin = await startStandin({ accessKey: ACCESS_KEY, secretKey: SECRET_KEY });
  const push9k = githubPushBody(9 * 1024);
  const push5m = githubPushBody(5 * 1024 * 1024);
  const event9k = join(dir, 'push-9k.json');
  const event5m = join(dir, 'push-5m.json');
  writeFileSync(event9k, JSON.stringify(githubPushEvent(push9k)));
  writeFileSync(event5m, JSON.stringify(githubPushEvent(push5m)));
  const scaleFiles = [1, 1_000, 100_000].map((n) => {
    const file = join(dir, `mirrors-${n}.json`);
    writeFileSync(file, mirrorConfig({ others: n - 1 }));
    return file;
  }) as [string, string, string];
  return {
    dir,
    standin,
    push9k,
    push5m,
    event9k,
    event5m,
    single: mirrorConfig(),
    fanOut: mirrorConfig({ fanOut: FAN_OUT }),
    scaleFiles,
    async close() {
      await standin.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function childEnvironment(workspace: Workspace, options: RunOptions, module: string): Record<string, string> {
  return {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    HOME: workspace.dir,
    ...codehubEnvironment(workspace.standin.url),
    ...(typeof options.config === 'string' ? { MIRROR_CONFIG: options.config } : { MIRROR_CONFIG_FILE: options.config.file }),
    BENCH_MODULE: join(ROOT, module),
    BENCH_EVENT: options.eventFile,
    BENCH_MODE: options.mode,
    BENCH_WARMUP: String(options.warmup ?? 0),
    BENCH_COUNT: String(options.count ?? 0),
    BENCH_SECOND_AFTER_MS: String(options.secondAfterMs ?? 0),
  };
}

/**
 * Starts bench/runner.mjs for `variant` with a clean environment (stdout to /dev/null, results on
 * fd 3) and resolves when it exits, with the time from spawn to its first result line.
 */
export function runProcess<T extends { ok: boolean; error?: string }>(
  workspace: Workspace,
  variant: VariantId,
  options: RunOptions,
): Promise<Measured<T>> {
  const { standin } = workspace;
  standin.reset();
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const [command, ...args] = measuredCommand([process.execPath, ...(options.execArgv ?? []), RUNNER]);
    const child = spawn(command as string, args, {
      cwd: workspace.dir,
      env: childEnvironment(workspace, options, VARIANTS[variant].module),
      stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
    });
    let wallMs: number | undefined;
    let output = '';
    let errors = '';
    child.stdio[3]?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (wallMs === undefined && output.includes('\n')) wallMs = performance.now() - started;
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      errors += chunk.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const lines = output.split('\n').filter((line) => line !== '');
      let result: T;
      try {
        result = Object.assign({}, ...lines.map((line) => JSON.parse(line) as object)) as T;
      } catch {
        reject(new Error(`${variant}: no result (exit ${code}): ${errors.slice(0, 2000)}`));
        return;
      }
      if (!result.ok) {
        reject(new Error(`${variant}: ${result.error ?? `failed (exit ${code}): ${errors.slice(0, 2000)}`}`));
        return;
      }
      if (standin.stats.failures.length > 0) {
        reject(new Error(`${variant}: the CodeHub stand-in rejected a call: ${standin.stats.failures[0] ?? ''}`));
        return;
      }
      if (errors.trim() !== '') process.stderr.write(`[${variant} stderr] ${errors.trim().slice(0, 500)}\n`);
      resolve({ wallMs: wallMs ?? performance.now() - started, result, standin: { ...standin.stats } });
    });
  });
}
