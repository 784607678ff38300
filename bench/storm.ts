/**
 * `npm run bench:storm` (issue "Storms"): the built webhook and worker bundles, as several
 * containers, against the local engines and the CodeHub emulator with APIG's real limit and
 * simulated fetches (bench/storm-stack.ts), through three storms:
 * 1. broad: 10,000 pushes in 60 s over 500 repositories;
 * 2. hot: 2,000 pushes in 60 s to one repository, plus a trickle (100 pushes) to 50 others;
 * 3. throttled start: CodeHub answers 429 to everything for the first 20 s (2,000 pushes over 100 repositories);
 * and, for comparison, today's stateless bridge (no ledger, coalescing or budget) on the broad storm at a
 * fifth of its size (2,000 pushes over 100 repositories).
 * Each push moves its repository's simulated upstream `main` first, then is delivered signed as GitHub does.
 *
 *   tsx bench/storm.ts [--only broad|hot|throttled|stateless] [--scale 0.1]
 */
import { randomBytes } from 'node:crypto';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildDelivery } from '../dev/deliveries';
import { createLedgerStore } from '../lib/pipeline/ledger-store';
import { httpApiEvent } from './payloads';
import { createWebhookPool, startWorkerFleet, type Answered } from './storm-containers';
import { barLine, busiestWindow, confirmFloorMs, minimumTriggers, percentile, type Bar } from './storm-measure';
import { FIRST_ID, repositoryName, STORM_SECRET, startStormStack, type StormStack } from './storm-stack';
import { ROOT } from './harness';
import { writeStormSection } from './storm-section';

const BUDGET_PER_MINUTE = 300;
const WINDOW_MS = 10_000;
const WEBHOOK_CONTAINERS = 64;
const WORKER_CONTAINERS = 6;
const DRAIN_TIMEOUT_MS = 45 * 60_000;

interface PlannedPush {
  readonly atMs: number;
  readonly repository: number;
}

interface Scenario {
  readonly name: string;
  readonly repositories: number;
  readonly pushes: readonly PlannedPush[];
  readonly throttleFirstMs?: number;
  readonly durable: boolean;
}

interface SentPush extends PlannedPush {
  readonly sha: string;
  readonly sentAt: number;
  readonly answer: Answered;
  readonly pushId: string | undefined;
}

const args = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const at = args.indexOf(`--${name}`);
  return at === -1 ? undefined : args[at + 1];
};
const scale = Number(option('scale') ?? '1');

function spread(count: number, repositories: number, durationMs: number, offset = 0): PlannedPush[] {
  return Array.from({ length: count }, () => ({ atMs: Math.random() * durationMs, repository: offset + Math.floor(Math.random() * repositories) }));
}

const n = (value: number): number => Math.max(1, Math.round(value * scale));
const SCENARIOS: readonly Scenario[] = [
  { name: 'broad', repositories: n(500), pushes: spread(n(10_000), n(500), 60_000), durable: true },
  { name: 'hot', repositories: 51, pushes: [...spread(n(2000), 1, 60_000), ...spread(n(100), 50, 60_000, 1)], durable: true },
  { name: 'throttled', repositories: n(100), pushes: spread(n(2000), n(100), 60_000), throttleFirstMs: 20_000, durable: true },
  // At a fifth of the broad storm: its deliveries each spend up to 8 s on retries, which would take 20 minutes at full size here.
  { name: 'stateless', repositories: n(100), pushes: spread(n(2000), n(100), 60_000), durable: false },
];

/** Sends every push at its time: the upstream moves first, then the host delivers. */
async function storm(stack: StormStack, scenario: Scenario): Promise<SentPush[]> {
  const pool = createWebhookPool(WEBHOOK_CONTAINERS);
  const heads = new Map<number, string>();
  const ordered = [...scenario.pushes].sort((a, b) => a.atMs - b.atMs);
  const start = performance.now() + 500;
  const sent: Promise<SentPush>[] = [];
  if (scenario.throttleFirstMs !== undefined) {
    stack.emulator.faults.set({ throttle: 1_000_000_000, retryAfterSeconds: 5 });
    setTimeout(() => stack.emulator.faults.clear(), scenario.throttleFirstMs + 500);
  }
  let answered = 0;
  const progress = setInterval(() => process.stderr.write(`  ${scenario.name}: ${sent.length} sent, ${answered} answered, ${pool.size()} webhook containers\n`), 10_000);
  for (const push of ordered) {
    const wait = start + push.atMs - performance.now();
    if (wait > 1) await sleep(wait);
    const sha = randomBytes(20).toString('hex');
    const before = heads.get(push.repository) ?? '0'.repeat(40);
    heads.set(push.repository, sha);
    stack.emulator.setUpstreamRef(FIRST_ID + push.repository, 'refs/heads/main', sha);
    const delivery = buildDelivery({ host: 'github', repo: repositoryName(push.repository), ref: 'refs/heads/main', before, after: sha, secret: STORM_SECRET });
    const sentAt = Date.now();
    sent.push(
      pool.deliver(httpApiEvent(delivery.headers, delivery.body), start + push.atMs).then((answer) => {
        answered += 1;
        const pushId = (JSON.parse(answer.body) as { push_id?: string }).push_id;
        return { ...push, sha, sentAt, answer, pushId };
      }),
    );
  }
  const done = await Promise.all(sent);
  clearInterval(progress);
  process.stderr.write(`  ${scenario.name}: ${done.length} pushes delivered by ${pool.size()} webhook containers\n`);
  return done;
}

/** Until the push queue stays empty for three looks in a row. */
async function drain(stack: StormStack): Promise<void> {
  const deadline = Date.now() + DRAIN_TIMEOUT_MS;
  let quiet = 0;
  while (quiet < 3 && Date.now() < deadline) {
    await sleep(2000);
    quiet = (await stack.queueEmpty()) ? quiet + 1 : 0;
  }
}

async function runScenario(scenario: Scenario): Promise<string[]> {
  process.stderr.write(`storm ${scenario.name}: ${scenario.pushes.length} pushes over ${scenario.repositories} repositories\n`);
  const stack = await startStormStack({ repositories: scenario.repositories, durable: scenario.durable });
  const fleet = scenario.durable ? await startWorkerFleet(WORKER_CONTAINERS, stack.queueUrl) : undefined;
  try {
    const pushes = await storm(stack, scenario);
    const lastPushAt = Math.max(...pushes.map((push) => push.sentAt));
    const firstPushAt = Math.min(...pushes.map((push) => push.sentAt));
    if (scenario.durable) await drain(stack);
    await fleet?.stop();
    return scenario.durable ? await durableReport(stack, scenario, pushes, firstPushAt, lastPushAt) : statelessReport(stack, scenario, pushes);
  } finally {
    await stack.stop();
  }
}

function common(stack: StormStack, pushes: readonly SentPush[]): { calls: number; triggers: number; busiest: number; p99: number; fiveXx: number } {
  const calls = stack.calls();
  return {
    calls: calls.length,
    triggers: calls.filter((call) => call.method === 'POST' && call.path.includes('remote-mirror')).length,
    busiest: busiestWindow(calls.map((call) => Date.parse(call.at)), 60_000),
    p99: percentile(pushes.map((push) => push.answer.latencyMs), 99),
    fiveXx: pushes.filter((push) => push.answer.status >= 500).length,
  };
}

async function durableReport(stack: StormStack, scenario: Scenario, pushes: readonly SentPush[], firstPushAt: number, lastPushAt: number): Promise<string[]> {
  const figures = common(stack, pushes);
  const store = createLedgerStore({ tableName: stack.tableName });
  let confirmedLast = 0;
  let notMirrored = 0;
  const slowest: string[] = [];
  const lags: { lag: number; line: string }[] = [];
  for (let i = 0; i < pushes.length; i += 25) {
    const batch = pushes.slice(i, i + 25);
    const entries = await Promise.all(batch.map((push) => (push.pushId === undefined ? undefined : store.getPush(push.pushId))));
    entries.forEach((entry, at) => {
      if (entry?.state !== 'mirrored') notMirrored += 1;
      for (const mirror of entry?.mirrors ?? []) {
        confirmedLast = Math.max(confirmedLast, mirror.confirmedAt ?? 0);
        const push = batch[at];
        const lag = (mirror.confirmedAt ?? 0) - (entry?.arrivedAt ?? 0);
        const heads = Object.values(mirror.confirmedHeads ?? {}).map((head) => (typeof head === 'string' ? head : 'sha'));
        lags.push({ lag, line: `  r${push?.repository} at +${(((push?.sentAt ?? 0) - firstPushAt) / 1000).toFixed(0)} s: answered ${push?.answer.status}, confirmed after ${(lag / 1000).toFixed(0)} s, ${mirror.attempts} checks, ${mirror.jids.length} jids, heads ${heads.join(',')}, last error ${mirror.lastError?.code ?? '-'}` });
      }
    });
  }
  for (const { line } of lags.sort((x, y) => y.lag - x.lag).slice(0, 5)) slowest.push(line);
  store.close();
  const lastSha = new Map<number, string>();
  for (const push of [...pushes].sort((a, b) => a.sentAt - b.sentAt)) lastSha.set(push.repository, push.sha);
  let behind = 0;
  for (const [repository, sha] of lastSha) if ((await stack.emulator.mirrorRefs(FIRST_ID + repository))['refs/heads/main'] !== sha) behind += 1;

  const byRepository = new Map<number, number[]>();
  for (const push of pushes) byRepository.set(push.repository, [...(byRepository.get(push.repository) ?? []), push.sentAt]);
  const minimum = minimumTriggers(byRepository, WINDOW_MS);
  // At least one trigger and one read per repository; the last fetch and read take a few seconds whatever the budget.
  const needed = 2 * byRepository.size;
  const floorMs = confirmFloorMs(needed, BUDGET_PER_MINUTE, lastPushAt - firstPushAt, 5000);
  const confirmMs = Math.max(0, confirmedLast - lastPushAt);
  const bars: Bar[] = [
    { name: 'pushes lost (ledger not mirrored, mirror behind)', figure: `${notMirrored} / ${behind} repos`, bar: '0', pass: notMirrored === 0 && behind === 0 },
    { name: 'CodeHub calls in the busiest minute', figure: String(figures.busiest), bar: `≤ ${BUDGET_PER_MINUTE}`, pass: figures.busiest <= BUDGET_PER_MINUTE },
    { name: 'trigger calls / minimum (one per repo per window)', figure: `${figures.triggers} / ${minimum} = ${(figures.triggers / minimum).toFixed(2)}×`, bar: '≤ 1.2×', pass: figures.triggers <= 1.2 * minimum },
    { name: 'last push → all confirmed / budget floor', figure: `${(confirmMs / 1000).toFixed(0)} s / ${(floorMs / 1000).toFixed(0)} s = ${(confirmMs / floorMs).toFixed(2)}×`, bar: '≤ 1.3×', pass: confirmMs <= 1.3 * floorMs },
    { name: 'webhook answer p99', figure: `${figures.p99.toFixed(0)} ms`, bar: '≤ 1000 ms', pass: figures.p99 <= 1000 },
    { name: '5xx answers', figure: String(figures.fiveXx), bar: '0', pass: figures.fiveXx === 0 },
  ];
  const statuses = countBy(pushes.map((push) => push.answer.status));
  return [
    `storm ${scenario.name}: ${pushes.length} pushes, ${byRepository.size} repositories; answers ${statuses}; ${figures.calls} CodeHub calls (${(figures.calls / pushes.length).toFixed(2)} per push), ${figures.triggers} triggers`,
    ...bars.map(barLine),
    'slowest to confirm:',
    ...slowest,
  ];
}

function statelessReport(stack: StormStack, scenario: Scenario, pushes: readonly SentPush[]): string[] {
  const figures = common(stack, pushes);
  const statuses = countBy(pushes.map((push) => push.answer.status));
  return [
    `today's stateless bridge on the broad storm at 1/5 (${pushes.length} pushes over ${scenario.repositories} repositories): answers ${statuses}`,
    `      ${figures.calls} CodeHub calls = ${(figures.calls / pushes.length).toFixed(2)} per push (amplification), busiest minute ${figures.busiest}, ${figures.fiveXx} answered 5xx, p99 ${figures.p99.toFixed(0)} ms`,
  ];
}

function countBy(values: readonly number[]): string {
  const counts = new Map<number, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return [...counts].sort(([a], [b]) => a - b).map(([value, count]) => `${value}×${count}`).join(', ');
}

// The bundles' log and EMF lines (JSON) would drown the report: they are counted, not shown.
const write = process.stdout.write.bind(process.stdout);
let silenced = 0;
process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
  if (String(chunk).startsWith('{')) {
    silenced += 1;
    return true;
  }
  return write(chunk, ...(rest as []));
}) as typeof process.stdout.write;

const only = option('only');
const lines: string[] = [];
for (const scenario of SCENARIOS.filter((candidate) => only === undefined || candidate.name === only)) {
  lines.push(...(await runScenario(scenario)));
  write(`${lines.slice(-13).join('\n')}\n`);
}
write(`\n${lines.join('\n')}\n(${silenced} log lines of the bundles not shown)\n`);
if (only === undefined && scale === 1) {
  const machine = `Node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? 'unknown'}), ${new Date().toISOString().slice(0, 10)}`;
  writeStormSection(join(ROOT, 'BENCHMARKS.md'), `## Storms (\`npm run bench:storm\`)\n\n${machine}.\n\n\`\`\`\n${lines.join('\n')}\n\`\`\`\n`);
}
process.exit(0);
