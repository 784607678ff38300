/**
 * `npm run bench`: the bridge against a hand-written floor and three peers, side by side, in one
 * run on one machine. Writes BENCHMARKS.md, prints one summary table, exits 1 when a bar is missed.
 * Not part of `npm test`: timings do not belong in unit tests.
 *
 *   npm run bench              the full run (about two minutes on 2 cores)
 *   npm run bench -- --quick   fewer repetitions, for trying a change; does not write BENCHMARKS.md
 *
 * Every process is started by bench/runner.mjs with the same clean environment; only
 * 127.0.0.1 is contacted (the CodeHub stand-in lives in this process).
 */
import { spawn } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { stormSection } from './storm-section';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import {
  createWorkspace,
  FAN_OUT,
  ROOT,
  measuredCommand,
  pinProcesses,
  runProcess,
  VARIANTS,
  type ColdResult,
  type Measured,
  type RunOptions,
  type VariantId,
  type WarmResult,
  type Workspace,
} from './harness';
import { MAX_BODY_MACS } from '../lib/config/mapping';
import { BASELINE } from './baseline';
import { DURABLE_CODEHUB_DELAY_MS, durablePhase, type DurableFigures } from './durable';
import { median, shuffled, summarize, type Summary } from './stats';

const QUICK = process.argv.includes('--quick');

const ALL: readonly VariantId[] = ['floor', 'bridge', 'sdk', 'undiciAll', 'fetch', 'undiciPool'];
const PEERS: readonly VariantId[] = ['sdk', 'undiciAll', 'fetch', 'undiciPool'];
/** The peers the bridge must start ahead of; undici's Pool alone is the bridge's own stack doing the floor's job. */
const PEERS_BEHIND: readonly VariantId[] = ['sdk', 'undiciAll', 'fetch'];

/** Repetitions: processes per variant (cold, scale) or per variant and round (warm, large, fan-out). */
const PLAN = QUICK
  ? { coldRounds: 5, warmRounds: 2, largeRounds: 2, fanRounds: 1, loadRounds: 2, lookupRounds: 1, scaleWarmRounds: 1 }
  : { coldRounds: 21, warmRounds: 7, largeRounds: 5, fanRounds: 3, loadRounds: 5, lookupRounds: 3, scaleWarmRounds: 3 };
/** Deliveries per warm process: unmeasured first (the JIT settles), then timed one after another. */
const WARM = { warmup: 1000, count: 2000 };
const LARGE = { warmup: 10, count: 30 };
const FAN = { warmup: 5, count: 20 };

const BARS = {
  // Relaxed on purpose for one HTTP stack and simpler code (issue "A simpler core and an honest front door").
  coldRatio: 1.7,
  warmRatio: 1.3,
  largeRatio: 1.2,
  /** The same repository looked up in 100,000 mirrors vs in 1: the algorithm's share of the cost. */
  lookupRatio: 1.2,
  bundleBytes: 300 * 1024,
  rssRatio: 1.3,
  fanOutRoundTrips: 1.5,
  /** Issue "Every push lands": the durable bridge's median answer against the stateless one's. */
  durableRatio: 1.1,
};
const FAN_OUT_DELAY_MS = 50;
/** The idle gap before the second delivery of a cold-start process: the next invocation. */
const NEXT_INVOCATION_AFTER_MS = 50;

let workspace: Workspace;

function run<T extends { ok: boolean; error?: string }>(variant: VariantId, options: RunOptions): Promise<Measured<T>> {
  return runProcess<T>(workspace, variant, options);
}

function progress(text: string): void {
  process.stderr.write(`${text}\n`);
}

// ---------------------------------------------------------------------------------------------
// Phases

interface ColdFigures {
  readonly wall: Summary;
  readonly inProcess: Summary;
  readonly imported: Summary;
  readonly cpu: Summary;
  readonly rssMb: Summary;
  readonly second: Summary;
}

/** `rounds` rounds; in each, one cold-start process per variant, in random order. */
async function coldPhase(variants: readonly VariantId[], options: Omit<RunOptions, 'mode'>, rounds: number): Promise<Map<VariantId, ColdFigures>> {
  const runs = new Map<VariantId, Measured<ColdResult>[]>(variants.map((v) => [v, []]));
  for (let round = 0; round < rounds; round += 1) {
    for (const variant of shuffled(variants)) {
      runs.get(variant)?.push(await run<ColdResult>(variant, { ...options, mode: 'cold' }));
    }
  }
  return new Map([...runs].map(([variant, list]) => [variant, coldFigures(list)]));
}

interface WarmFigures {
  /** Median of each run's median. */
  readonly runMedians: Summary;
  /** Every delivery of every run, pooled (for the tail). */
  readonly pooled: Summary;
  readonly connections: number[];
  readonly maxInFlight: number[];
  readonly deliveries: number;
  /** CPU time of the process per timed delivery, median over processes. */
  readonly cpuUs: Summary;
}

function warmFigures(list: readonly Measured<WarmResult>[]): WarmFigures {
  const all = list.flatMap((r) => r.result.durationsUs);
  return {
    runMedians: summarize(list.map((r) => median(r.result.durationsUs))),
    pooled: summarize(all),
    connections: list.map((r) => r.standin.connections),
    maxInFlight: list.map((r) => r.standin.maxInFlight),
    deliveries: all.length,
    cpuUs: summarize(list.map((r) => r.result.cpuUsPerDelivery)),
  };
}

/** `rounds` rounds; in each, one warm process per variant, in random order. */
async function warmPhase(variants: readonly VariantId[], options: Omit<RunOptions, 'mode'>, rounds: number): Promise<Map<VariantId, WarmFigures>> {
  const runs = new Map<VariantId, Measured<WarmResult>[]>(variants.map((v) => [v, []]));
  for (let round = 0; round < rounds; round += 1) {
    for (const variant of shuffled(variants)) {
      runs.get(variant)?.push(await run<WarmResult>(variant, { ...options, mode: 'warm' }));
    }
  }
  return new Map([...runs].map(([variant, list]) => [variant, warmFigures(list)]));
}

/** The bridge warm, alternating between two configurations. */
async function warmPair(first: RunOptions['config'], second: RunOptions['config'], rounds: number): Promise<[WarmFigures, WarmFigures]> {
  const runs: [Measured<WarmResult>[], Measured<WarmResult>[]] = [[], []];
  for (let round = 0; round < rounds; round += 1) {
    for (const i of shuffled([0, 1] as const)) {
      runs[i].push(await run<WarmResult>('bridge', { mode: 'warm', eventFile: workspace.event9k, config: i === 0 ? first : second, ...WARM }));
    }
  }
  return [warmFigures(runs[0]), warmFigures(runs[1])];
}

interface ScaleFigures {
  readonly mirrors: number;
  /** Config load in a fresh process, per process. */
  readonly loadMs: Summary;
  /** Per-lookup medians, one per process: the same repository every time. */
  readonly hotNs: Summary;
  /** Random configured repositories. */
  readonly spreadNs: Summary;
  /** The control: a bare Map.get of the same fresh strings. */
  readonly mapGetNs: Summary;
}

/** Runs bench/mapping-scale.ts on the measured CPU and parses its JSON line. */
function runMappingScale<T>(args: readonly string[]): Promise<T> {
  return new Promise((resolve, reject) => {
    const [command, ...rest] = measuredCommand([process.execPath, '--expose-gc', '--import', 'tsx', join(ROOT, 'bench', 'mapping-scale.ts'), ...args]);
    const child = spawn(command as string, rest, {
      cwd: ROOT,
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: workspace.dir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    let errors = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`mapping-scale ${args.join(' ')}: exit ${code}: ${errors.slice(0, 2000)}`));
      else resolve(JSON.parse(output) as T);
    });
  });
}

interface LookupRun {
  readonly mirrors: number;
  readonly hotNs: Summary;
  readonly spreadNs: Summary;
  readonly mapGetNs: Summary;
}

async function scalePhase(
  files: Workspace['scaleFiles'],
  loadRounds: number,
  lookupRounds: number,
): Promise<[ScaleFigures, ScaleFigures, ScaleFigures]> {
  const loads = new Map<string, number[]>(files.map((file) => [file, []]));
  for (let round = 0; round < loadRounds; round += 1) {
    for (const file of shuffled(files)) {
      loads.get(file)?.push((await runMappingScale<{ loadMs: number }>(['load', file])).loadMs);
    }
  }
  const lookups: LookupRun[][] = [];
  for (let round = 0; round < lookupRounds; round += 1) lookups.push(await runMappingScale<LookupRun[]>(['lookup', ...files]));
  const figures = (i: 0 | 1 | 2): ScaleFigures => {
    const runs = lookups.map((list) => list[i]).filter((entry): entry is LookupRun => entry !== undefined);
    return {
      mirrors: runs[0]?.mirrors ?? 0,
      loadMs: summarize(loads.get(files[i]) ?? []),
      hotNs: summarize(runs.map((entry) => entry.hotNs.median)),
      spreadNs: summarize(runs.map((entry) => entry.spreadNs.median)),
      mapGetNs: summarize(runs.map((entry) => entry.mapGetNs.median)),
    };
  };
  return [figures(0), figures(1), figures(2)];
}

// ---------------------------------------------------------------------------------------------
// Reporting

function ms(value: number): string {
  return value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
}

function spreadMs(s: Summary, unit = 'ms'): string {
  return `${ms(s.median)} ${unit} (IQR ${ms(s.p25)}–${ms(s.p75)})`;
}

function ratio(value: number, floor: number): string {
  return `${(value / floor).toFixed(2)}×`;
}

interface Row {
  readonly id: string;
  readonly measure: string;
  readonly bridge: string;
  readonly reference: string;
  readonly ratio: string;
  readonly bar: string;
  readonly pass: boolean | undefined;
}

function tableOf(rows: readonly Row[]): string {
  const header = '| # | measure | bridge | reference | ratio | bar | result |\n|---|---|---|---|---|---|---|';
  const lines = rows.map(
    (r) => `| ${r.id} | ${r.measure} | ${r.bridge} | ${r.reference} | ${r.ratio} | ${r.bar} | ${r.pass === undefined ? '—' : r.pass ? 'PASS' : '**FAIL**'} |`,
  );
  return [header, ...lines].join('\n');
}

function plainTable(rows: readonly Row[]): string {
  const cells = rows.map((r) => [r.id, r.measure, r.bridge, r.reference, r.ratio, r.bar, r.pass === undefined ? '-' : r.pass ? 'PASS' : 'FAIL']);
  const head = ['#', 'measure', 'bridge', 'reference', 'ratio', 'bar', 'result'];
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length)));
  const line = (c: readonly string[]): string => c.map((x, i) => x.padEnd(widths[i] ?? 0)).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

interface Chunk {
  readonly name: string;
  readonly bytes: number;
}

/** Chunk names a bundle file imports (`import … from "./chunks/x.js"` from the entry, `"./x.js"` between chunks). */
function importsOf(text: string): { statics: string[]; dynamics: string[] } {
  const name = (m: RegExpMatchArray): string => (m[1] ?? '').replace(/^chunks\//, '');
  return {
    statics: [...text.matchAll(/\bimport\s*(?:[\w$*{}\s,]+?\s*from\s*)?["']\.\/([^"']+\.js)["']/g)].map(name),
    dynamics: [...text.matchAll(/\bimport\(\s*["']\.\/([^"']+\.js)["']\s*\)/g)].map(name),
  };
}

/**
 * dist/webhook.js, the chunks it imports statically (loaded with it at every cold start), and the
 * chunks it can import lazily, followed from the entry (dist/chunks may hold other entries' chunks).
 */
function bundleFiles(): { entry: number; coldChunks: Chunk[]; lazyChunks: Chunk[] } {
  const dist = join(ROOT, 'dist');
  const chunk = (name: string): Chunk => ({ name, bytes: statSync(join(dist, 'chunks', name)).size });
  const closure = (roots: readonly string[], seen: Set<string>, lazy: Set<string>): void => {
    for (const name of roots) {
      if (seen.has(name)) continue;
      seen.add(name);
      const { statics, dynamics } = importsOf(readFileSync(join(dist, 'chunks', name), 'utf8'));
      for (const d of dynamics) lazy.add(d);
      closure(statics, seen, lazy);
    }
  };
  const entry = importsOf(readFileSync(join(dist, 'webhook.js'), 'utf8'));
  const cold = new Set<string>();
  const pending = new Set<string>(entry.dynamics);
  closure(entry.statics, cold, pending);
  // The lazy closure starts from the cold one, so that a chunk loaded at start is not counted again.
  const loaded = new Set<string>(cold);
  while (pending.size > 0) {
    const next = [...pending].filter((name) => !loaded.has(name));
    pending.clear();
    closure(next, loaded, pending);
  }
  return {
    entry: statSync(join(dist, 'webhook.js')).size,
    coldChunks: [...cold].map(chunk),
    lazyChunks: [...loaded].filter((name) => !cold.has(name)).map(chunk),
  };
}

// ---------------------------------------------------------------------------------------------

function coldFigures(list: readonly Measured<ColdResult>[]): ColdFigures {
  return {
    wall: summarize(list.map((r) => r.wallMs)),
    inProcess: summarize(list.map((r) => r.result.answeredMs)),
    imported: summarize(list.map((r) => r.result.importedMs)),
    cpu: summarize(list.map((r) => r.result.cpuMs)),
    rssMb: summarize(list.map((r) => r.result.maxRssKb / 1024)),
    second: summarize(list.map((r) => r.result.secondMs ?? Number.NaN).filter((x) => !Number.isNaN(x))),
  };
}

/** The bridge's cold start, alternating between two configurations. */
async function coldPair(first: RunOptions['config'], second: RunOptions['config'], rounds: number): Promise<[ColdFigures, ColdFigures]> {
  const runs: [Measured<ColdResult>[], Measured<ColdResult>[]] = [[], []];
  for (let round = 0; round < rounds; round += 1) {
    for (const i of shuffled([0, 1] as const)) {
      runs[i].push(await run<ColdResult>('bridge', { mode: 'cold', eventFile: workspace.event9k, config: i === 0 ? first : second }));
    }
  }
  return [coldFigures(runs[0]), coldFigures(runs[1])];
}

interface Results {
  readonly pinning: string;
  /** 1-minute load average at the start and at the end of the run. */
  readonly load: readonly [number, number];
  readonly seconds: number;
  readonly cold: Map<VariantId, ColdFigures>;
  readonly warm: Map<VariantId, WarmFigures>;
  readonly large: Map<VariantId, WarmFigures>;
  readonly scale: readonly [ScaleFigures, ScaleFigures, ScaleFigures];
  readonly coldByMirrors: readonly [ColdFigures, ColdFigures];
  readonly warmByMirrors: readonly [WarmFigures, WarmFigures];
  readonly fanOut: Map<VariantId, WarmFigures>;
  readonly oneTrip: WarmFigures;
  readonly durable: DurableFigures;
  readonly bundle: ReturnType<typeof bundleFiles>;
}

function figure<T>(map: Map<VariantId, T>, id: VariantId): T {
  const value = map.get(id);
  if (value === undefined) throw new Error(`missing figures for ${id}`);
  return value;
}

function usRange(f: WarmFigures, unit: 'µs' | 'ms' = 'µs'): string {
  const k = unit === 'ms' ? 1000 : 1;
  return `${ms(f.runMedians.median / k)} ${unit} (runs ${ms(f.runMedians.min / k)}–${ms(f.runMedians.max / k)})`;
}

function summaryRows(r: Results): Row[] {
  const rows: Row[] = [];
  const cold = (id: VariantId): Summary => figure(r.cold, id).wall;
  const coldFloor = cold('floor').median;
  const coldBridge = cold('bridge').median;
  const peersBehind = PEERS_BEHIND.every((p) => cold(p).median > coldBridge);
  rows.push({
    id: '1',
    measure: 'cold start: process start → first answer',
    bridge: spreadMs(cold('bridge')),
    reference: `floor ${spreadMs(cold('floor'))}`,
    ratio: ratio(coldBridge, coldFloor),
    bar: `≤ ${BARS.coldRatio}× floor, ahead of the SDK, all of undici and fetch`,
    pass: coldBridge / coldFloor <= BARS.coldRatio && peersBehind,
  });
  for (const peer of PEERS) {
    rows.push({
      id: '1',
      measure: `  ${VARIANTS[peer].label}`,
      bridge: '',
      reference: spreadMs(cold(peer)),
      ratio: ratio(cold(peer).median, coldFloor),
      bar: PEERS_BEHIND.includes(peer) ? 'slower than the bridge' : '(reported: the same stack, the floor\'s job)',
      pass: PEERS_BEHIND.includes(peer) ? cold(peer).median > coldBridge : undefined,
    });
  }
  const warmFloor = figure(r.warm, 'floor').runMedians.median;
  const warmBridge = figure(r.warm, 'bridge').runMedians.median;
  rows.push({
    id: '2',
    measure: `warm 9 KB push (median, ${figure(r.warm, 'bridge').deliveries.toLocaleString('en')} deliveries)`,
    bridge: usRange(figure(r.warm, 'bridge')),
    reference: `floor ${usRange(figure(r.warm, 'floor'))}`,
    ratio: ratio(warmBridge, warmFloor),
    bar: `≤ ${BARS.warmRatio}× floor`,
    pass: warmBridge / warmFloor <= BARS.warmRatio,
  });
  rows.push({
    id: '2',
    measure: "  the floor's job on undici's Pool (vs node:http)",
    bridge: '',
    reference: usRange(figure(r.warm, 'undiciPool')),
    ratio: ratio(figure(r.warm, 'undiciPool').runMedians.median, warmFloor),
    bar: 'undici < node:http warm',
    pass: undefined,
  });
  const largeFloor = figure(r.large, 'floor').runMedians.median;
  const largeBridge = figure(r.large, 'bridge').runMedians.median;
  rows.push({
    id: '3',
    measure: `5 MB push (median, ${figure(r.large, 'bridge').deliveries} deliveries)`,
    bridge: usRange(figure(r.large, 'bridge'), 'ms'),
    reference: `floor ${usRange(figure(r.large, 'floor'), 'ms')}`,
    ratio: ratio(largeBridge, largeFloor),
    bar: `≤ ${BARS.largeRatio}× floor`,
    pass: largeBridge / largeFloor <= BARS.largeRatio,
  });
  const [s1, s1k, s100k] = r.scale;
  rows.push({
    id: '4',
    measure: `config load, ${s100k.mirrors.toLocaleString('en')} mirrors from a file`,
    bridge: spreadMs(s100k.loadMs),
    reference: `1 mirror ${spreadMs(s1.loadMs)}; 1,000: ${ms(s1k.loadMs.median)} ms`,
    ratio: `cold start +${ms(r.coldByMirrors[1].wall.median - r.coldByMirrors[0].wall.median)} ms`,
    bar: '(reported)',
    pass: undefined,
  });
  rows.push({
    id: '4',
    measure: `lookup per delivery, same repository, ${s100k.mirrors.toLocaleString('en')} mirrors`,
    bridge: `${ms(s100k.hotNs.median)} ns`,
    reference: `1 mirror ${ms(s1.hotNs.median)} ns; 1,000: ${ms(s1k.hotNs.median)} ns`,
    ratio: ratio(s100k.hotNs.median, s1.hotNs.median),
    bar: `independent of the number: ≤ ${BARS.lookupRatio}×`,
    pass: s100k.hotNs.median / s1.hotNs.median <= BARS.lookupRatio,
  });
  rows.push({
    id: '4',
    measure: '  lookup, random repositories (memory-bound)',
    bridge: `${ms(s100k.spreadNs.median)} ns`,
    reference: `1: ${ms(s1.spreadNs.median)} ns; bare Map.get 1 → 100,000: ${ms(s1.mapGetNs.median)} → ${ms(s100k.mapGetNs.median)} ns`,
    ratio: ratio(s100k.spreadNs.median, s1.spreadNs.median),
    bar: '(reported)',
    pass: undefined,
  });
  const coldChunkBytes = r.bundle.coldChunks.reduce((sum, c) => sum + c.bytes, 0);
  rows.push({
    id: '5',
    measure: 'bundle: dist/webhook.js + chunks it imports statically',
    bridge: `${(r.bundle.entry + coldChunkBytes).toLocaleString('en')} B`,
    reference: `entry ${r.bundle.entry.toLocaleString('en')} B + ${coldChunkBytes.toLocaleString('en')} B`,
    ratio: '',
    bar: `≤ ${BARS.bundleBytes.toLocaleString('en')} B (300 KiB)`,
    pass: r.bundle.entry + coldChunkBytes <= BARS.bundleBytes,
  });
  const rssFloor = figure(r.cold, 'floor').rssMb.median;
  const rssBridge = figure(r.cold, 'bridge').rssMb.median;
  rows.push({
    id: '5',
    measure: 'peak RSS after the first delivery',
    bridge: `${rssBridge.toFixed(1)} MB`,
    reference: `floor ${rssFloor.toFixed(1)} MB`,
    ratio: ratio(rssBridge, rssFloor),
    bar: `≤ ${BARS.rssRatio}× floor`,
    pass: rssBridge / rssFloor <= BARS.rssRatio,
  });
  const fan = figure(r.fanOut, 'bridge');
  const fanMs = fan.runMedians.median / 1000;
  const tripMs = r.oneTrip.runMedians.median / 1000;
  const inFlight = Math.min(...fan.maxInFlight);
  rows.push({
    id: '6',
    measure: `fan-out: 1 push → ${FAN_OUT} repositories, CodeHub answering after ${FAN_OUT_DELAY_MS} ms`,
    bridge: `${ms(fanMs)} ms, ${inFlight} calls in flight`,
    reference: `1 repository ${ms(tripMs)} ms; floor ${ms(figure(r.fanOut, 'floor').runMedians.median / 1000)} ms`,
    ratio: `${(fanMs / tripMs).toFixed(2)} round trips`,
    bar: `≤ ${BARS.fanOutRoundTrips} round trips`,
    pass: fanMs / tripMs <= BARS.fanOutRoundTrips && inFlight === FAN_OUT,
  });
  const { durable } = r;
  rows.push({
    id: '7',
    measure: `durable pipeline: distinct pushes, CodeHub answering after ${DURABLE_CODEHUB_DELAY_MS} ms, local SQS + DynamoDB`,
    bridge: `${ms(durable.durable.median)} ms (runs ${ms(durable.durable.min)}–${ms(durable.durable.max)})`,
    reference: `stateless ${ms(durable.stateless.median)} ms (runs ${ms(durable.stateless.min)}–${ms(durable.stateless.max)})`,
    ratio: `${durable.ratio.toFixed(2)}×`,
    bar: `≤ ${BARS.durableRatio}× stateless`,
    pass: durable.ratio <= BARS.durableRatio,
  });
  return rows;
}

async function main(): Promise<number> {
  const began = Date.now();
  const loadBefore = loadavg()[0] ?? 0;
  const pinning = pinProcesses();
  workspace = await createWorkspace();
  const { standin, push9k, push5m, event9k, event5m, single, fanOut, scaleFiles } = workspace;
  try {
    progress(`bench: ${pinning}; payloads ${push9k.length.toLocaleString('en')} and ${push5m.length.toLocaleString('en')} bytes; CodeHub stand-in at ${standin.url}`);
    // Every variant answers, and signs in a way the stand-in's verifier accepts, before anything is timed.
    for (const variant of ALL) await run<ColdResult>(variant, { mode: 'cold', eventFile: event9k, config: single });

    progress(`bench: 1. cold start: ${PLAN.coldRounds} rounds of ${ALL.length} processes`);
    const cold = await coldPhase(ALL, { eventFile: event9k, config: single, secondAfterMs: NEXT_INVOCATION_AFTER_MS }, PLAN.coldRounds);

    progress(`bench: 2. warm 9 KB deliveries: ${PLAN.warmRounds} rounds of ${ALL.length} processes × ${WARM.count}`);
    const warm = await warmPhase(ALL, { eventFile: event9k, config: single, ...WARM }, PLAN.warmRounds);

    progress(`bench: 3. 5 MB deliveries: ${PLAN.largeRounds} rounds × ${LARGE.count}`);
    const large = await warmPhase(['floor', 'bridge'], { eventFile: event5m, config: single, ...LARGE }, PLAN.largeRounds);

    progress('bench: 4. scale of the mapping: 1, 1,000 and 100,000 mirrors');
    const scale = await scalePhase(scaleFiles, PLAN.loadRounds, PLAN.lookupRounds);
    const coldByMirrors = await coldPair({ file: scaleFiles[0] }, { file: scaleFiles[2] }, PLAN.loadRounds);
    const warmByMirrors = await warmPair({ file: scaleFiles[0] }, { file: scaleFiles[2] }, PLAN.scaleWarmRounds);

    progress(`bench: 6. fan-out to ${FAN_OUT} repositories, the stand-in answering after ${FAN_OUT_DELAY_MS} ms`);
    standin.delayMs = FAN_OUT_DELAY_MS;
    const fanOutFigures = await warmPhase(['floor', 'bridge'], { eventFile: event9k, config: fanOut, ...FAN }, PLAN.fanRounds);
    const oneTrip = figure(await warmPhase(['bridge'], { eventFile: event9k, config: single, ...FAN }, PLAN.fanRounds), 'bridge');
    standin.delayMs = 0;

    progress(`bench: 7. durable pipeline vs stateless, CodeHub answering after ${DURABLE_CODEHUB_DELAY_MS} ms`);
    const durable = await durablePhase(QUICK ? { rounds: 2, warmup: 10, count: 40 } : { rounds: 5, warmup: 20, count: 100 });

    const results: Results = {
      pinning,
      load: [loadBefore, loadavg()[0] ?? 0],
      seconds: Math.round((Date.now() - began) / 1000),
      cold,
      warm,
      large,
      scale,
      coldByMirrors,
      warmByMirrors,
      fanOut: fanOutFigures,
      oneTrip,
      durable,
      bundle: bundleFiles(),
    };
    const rows = summaryRows(results);
    const failed = rows.filter((row) => row.pass === false);
    process.stdout.write(`\n${plainTable(rows)}\n\n${failed.length === 0 ? 'All bars met.' : `${failed.length} bar(s) missed.`} (${results.seconds} s)\n`);
    if (!QUICK) {
      writeFileSync(join(ROOT, 'BENCHMARKS.md'), `${renderMarkdown(results, rows)}${stormSection(join(ROOT, 'BENCHMARKS.md'))}`);
      progress('bench: wrote BENCHMARKS.md');
    }
    return failed.length === 0 ? 0 : 1;
  } finally {
    await workspace.close();
  }
}

function renderMarkdown(r: Results, rows: readonly Row[]): string {
  const cpu = cpus();
  const floorCold = figure(r.cold, 'floor').wall.median;
  const coldRows = ALL.map((id) => {
    const f = figure(r.cold, id);
    return `| ${VARIANTS[id].label} | ${spreadMs(f.wall)} | ${ratio(f.wall.median, floorCold)} | ${ms(f.inProcess.median)} ms | ${ms(f.imported.median)} ms | ${ms(f.cpu.median)} ms | ${f.rssMb.median.toFixed(1)} MB | ${ms(f.second.median)} ms |`;
  }).join('\n');
  const warmFloor = figure(r.warm, 'floor').runMedians.median;
  const warmRows = ALL.map((id) => {
    const f = figure(r.warm, id);
    return `| ${VARIANTS[id].label} | ${usRange(f)} | ${ratio(f.runMedians.median, warmFloor)} | ${ms(f.cpuUs.median)} µs | ${ms(f.pooled.p90)} µs | ${ms(f.pooled.p99)} µs | ${f.connections.join(', ')} |`;
  }).join('\n');
  const largeFloor = figure(r.large, 'floor').runMedians.median;
  const largeRows = (['floor', 'bridge'] as const)
    .map((id) => {
      const f = figure(r.large, id);
      return `| ${VARIANTS[id].label} | ${usRange(f, 'ms')} | ${ratio(f.runMedians.median, largeFloor)} | ${ms(f.pooled.p90 / 1000)} ms |`;
    })
    .join('\n');
  const scaleRows = r.scale
    .map((s) => `| ${s.mirrors.toLocaleString('en')} | ${spreadMs(s.loadMs)} | ${ms(s.hotNs.median)} ns | ${ms(s.spreadNs.median)} ns | ${ms(s.mapGetNs.median)} ns |`)
    .join('\n');
  const fanLine = (f: WarmFigures): string => `${usRange(f, 'ms')}; calls in flight at the stand-in at most: ${Math.max(...f.maxInFlight)}`;
  const cold = (id: VariantId): number => figure(r.cold, id).wall.median;
  const chunkList = [
    ...r.bundle.coldChunks.map((c) => `\`${c.name}\` ${c.bytes.toLocaleString('en')} B (loaded with it)`),
    ...r.bundle.lazyChunks.map((c) => `\`${c.name}\` ${c.bytes.toLocaleString('en')} B (lazy)`),
  ].join(', ');
  const missed = rows.filter((row) => row.pass === false);
  const warmPerProcess = WARM.count.toLocaleString('en');

  return `# Benchmarks

Written by \`npm run bench\` (bench/run.ts) from one run; do not edit by hand. The bridge, the floor and
the peers ran side by side, interleaved in random order, on the same machine.

- Machine: ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} CPUs, ${(totalmem() / 2 ** 30).toFixed(1)} GiB; ${r.pinning}
- Load average (1 min) when the run began and ended: ${r.load.map((l) => l.toFixed(2)).join(' and ')}${Math.max(...r.load) > 0.5 ? ' (other work was running on this machine: figures are noisier than on an idle one)' : ''}
- Node ${process.version} (${process.platform}/${process.arch})
- Date: ${new Date().toISOString()}; the run took ${r.seconds} s

## Summary

${tableOf(rows)}

${missed.length === 0 ? 'Every bar is met.' : `**${missed.length} bar(s) missed**: see "Bars missed" below.`} A ratio is the bridge's median over the
floor's median in this run. Spreads: IQR is the 25th–75th percentile over processes (cold start: one
process per figure); "runs a–b" are the lowest and highest per-process medians.

## How it is measured

**One method for every variant.** Each figure comes from fresh \`node bench/runner.mjs\` processes, all
started the same way: a clean environment (\`MIRROR_CONFIG\` JSON, \`CODEHUB_ENDPOINT\`, \`CODEHUB_AK\`,
\`CODEHUB_SK\`, \`CODEHUB_PROJECT_ID\`, nothing else; \`LOG_LEVEL\` unset, so the bridge logs at its default
\`info\` to stdout, which is /dev/null), on one CPU (machine line above) as a Lambda function has one vCPU. The runner
reads an API Gateway v2 event from a file, imports the variant's module as Lambda's runtime does
(\`import()\` of the file; the bridge's top-level \`await\` reads its config and credentials there), and calls
\`handler(event, context)\` directly. Every delivery carries its own \`X-GitHub-Delivery\` id, as GitHub's
do, so the bridge's idempotency store never answers one from memory. Results go back on file descriptor 3.
The CodeHub stand-in (bench/codehub-standin.ts) runs in the bench process on the other CPU: node:http with
keep-alive on 127.0.0.1, answering \`{"jid": "<uuid>"}\`; it verifies the AK/SK signature (lib/codehub/sign.ts's
verifier) of the first request on each connection and of every 16th after, so every variant is shown to
sign correctly, and a wrong signature fails the run.

**Deliveries.** A GitHub push (\`x-github-event: push\`, \`x-hub-signature-256: sha256=<HMAC of the raw body>\`,
body \`{ref, before, after, repository: {full_name, html_url, …}, commits: […]}\`) from github.com/acme/api:
the octokit example delivery grown with realistic commits to ${workspace.push9k.length.toLocaleString('en')} bytes ("9 KB") and
${workspace.push5m.length.toLocaleString('en')} bytes ("5 MB").

**The floor** (bench/variants/floor.mjs and common.mjs) does by hand only what no handler can skip:
at load, \`JSON.parse\` of \`MIRROR_CONFIG\` into a Map; per delivery, the HMAC-SHA256 of the body compared
with \`timingSafeEqual\`, one \`JSON.parse\` of the body, one Map lookup of \`host/full_name\`, the
\`SDK-HMAC-SHA256\` signature of the mirror call (SHA-256 of the body, SHA-256 of the canonical request
over content-type, host, x-project-id and x-sdk-date, HMAC-SHA256 of the string to sign with the SK), one
\`POST /v4/repositories/{id}/remote-mirror\` with \`{"force_fetch":true}\` on node:http with a keep-alive
\`Agent\`, and \`JSON.parse\` of the answer for its \`jid\`. No timeouts, no logging, no retries, no
idempotency. **The peers** do the floor's job with another HTTP client: the official SDK core's signer and
client (\`BasicCredentials\`, \`HcClient\`, \`DefaultHttpClient\`: axios), all of undici
(\`import { Pool } from 'undici'\`), Node's global \`fetch\`, and undici's \`Pool\` alone (deep import: the
bridge's transport before this bench). **The bridge** is \`dist/webhook.js\` as \`npm run build\` makes it,
doing all it does in production: config validation, host detection, verification, idempotency, mapping,
deadline, retries policy, signing, timeouts, logging.

1. **Cold start**: from \`spawn\` to the first answer's result line arriving in the bench process (an
   outside observer's view; it includes Node's own start, the same for all). Also shown: the same instant
   on the child's clock (\`performance.now()\`, from Node's time origin), when \`import()\` returned, the
   CPU time used by then, and the next delivery, made ${NEXT_INVOCATION_AFTER_MS} ms after the first answer (the next
   invocation).
2. **Warm delivery**: per process ${WARM.warmup.toLocaleString('en')} unmeasured deliveries, then ${warmPerProcess} timed one after another (verify,
   map, sign, POST over the kept-alive connection); the figure is the median of the per-process medians.
   Between two deliveries the runner takes one turn of the event loop (\`setImmediate\`), outside the
   timed window and for every variant alike, because Lambda's Node.js runtime does: it posts the answer
   synchronously, then awaits the next event from the Runtime API (aws-lambda-nodejs-runtime-interface-client,
   src/runtime/runtime.ts and src/client/rapid-client.ts), so immediates queued by the handler run before
   the next event is handed over. "CPU per delivery" (section 2) counts that turn too.
3. **Large delivery**: the same with the 5 MB push (${LARGE.warmup} unmeasured, ${LARGE.count} timed per process).
4. **Scale of the mapping**: bench/mapping-scale.ts. *Load*: \`loadMirrorConfig\` from \`MIRROR_CONFIG_FILE\`
   plus \`buildMirrorIndex\`, once per fresh process. *Lookup*: what a delivery does to find its mirrors
   (identity → \`mirrorsFor\` → secret check → refs), with 1, 1,000 and 100,000 exact mirrors loaded in
   one process and alternating batches, so that only the size differs. The bar is on the same repository
   looked up again and again (the memory touched is the same, so any growth is the algorithm's); random
   repositories are shown too, next to a bare \`Map.get\` control on the same keys, because their growth is
   the memory hierarchy's. 100,000 mirrors do not fit in an environment variable (Lambda allows 4 KB in
   all), so a file is the only way to configure that many.
5. **Bundle**: bytes of dist/webhook.js (minified) plus the chunks it imports statically, i.e. what every
   cold start loads. **Peak RSS**: \`process.resourceUsage().maxRSS\` right after the first answer.
6. **Fan-out**: the stand-in holds every answer ${FAN_OUT_DELAY_MS} ms (a remote round trip); one push whose source has
   ${FAN_OUT} mirrors, warm, against a push with one.

## Details

### 1. Cold start and memory (${figure(r.cold, 'bridge').wall.n} processes per variant)

| variant | spawn → first answer | ratio | child clock at answer | import() returned | CPU by answer | peak RSS | next delivery |
|---|---|---|---|---|---|---|---|
${coldRows}

### 2. Warm 9 KB delivery (${PLAN.warmRounds} processes per variant)

| variant | median | ratio | CPU per delivery | p90, all deliveries | p99 | connections per process |
|---|---|---|---|---|---|---|
${warmRows}

undici's \`Pool\` opens a second connection when the next request is dispatched before the previous one has
released the first.

### 3. 5 MB delivery (${PLAN.largeRounds} processes per variant)

| variant | median | ratio | p90, all deliveries |
|---|---|---|---|
${largeRows}

### 4. Scale of the mapping

| exact mirrors | config load | lookup, same repository | lookup, random repositories | bare Map.get, random |
|---|---|---|---|---|
${scaleRows}

- Bridge cold start with the config in a file: 1 mirror ${spreadMs(r.coldByMirrors[0].wall)}, 100,000 mirrors ${spreadMs(r.coldByMirrors[1].wall)}.
- Bridge warm 9 KB delivery: 1 mirror ${usRange(r.warmByMirrors[0])}, 100,000 mirrors ${usRange(r.warmByMirrors[1])}.

### 5. Bundle

dist/webhook.js ${r.bundle.entry.toLocaleString('en')} B; chunks: ${chunkList}.

### 6. Fan-out (the stand-in answers after ${FAN_OUT_DELAY_MS} ms)

- bridge, ${FAN_OUT} repositories: ${fanLine(figure(r.fanOut, 'bridge'))}
- bridge, 1 repository: ${fanLine(r.oneTrip)}
- floor, ${FAN_OUT} repositories: ${fanLine(figure(r.fanOut, 'floor'))}

### 7. The durable pipeline (the stand-in answers after ${DURABLE_CODEHUB_DELAY_MS} ms)

\`bench/durable.ts\`: dist/webhook.js answering ${r.durable.deliveries} distinct pushes per process (each its own
\`before\`/\`after\`: a repeated push would be answered from the ledger), stateless and durable processes
alternating, ${r.durable.durable.n} of each. The durable one records every push in DynamoDB and queues its
confirm task on SQS (fauxqs and dynalite in a process of their own on the bench's CPU; the CodeHub stand-in
beside the measured process, so that the engines' work cannot delay its answers). On the answer's path are
the replay check (one GetItem before the CodeHub call); the record and the task overlap the call.

- stateless: median of process medians ${ms(r.durable.stateless.median)} ms (runs ${ms(r.durable.stateless.min)}–${ms(r.durable.stateless.max)})
- durable: ${ms(r.durable.durable.median)} ms (runs ${ms(r.durable.durable.min)}–${ms(r.durable.durable.max)}), ${r.durable.ratio.toFixed(2)}× (bar ≤ ${BARS.durableRatio}×)

## Before and after the simplification

The issue "A simpler core and an honest front door" traded microseconds for code a newcomer can read. The
"before" column is one run of this bench on the code before it (commit ${BASELINE.commit}, ${BASELINE.date};
\`git checkout ${BASELINE.commit} && npm ci && npm run bench\` repeats it), on this machine; "after" is this
run. Ratios are against each run's own floor, which is the same code in both.

| measure | before | after | bar now |
|---|---|---|---|
| cold start (ratio to floor) | ${ms(BASELINE.coldMs)} ms (${BASELINE.coldRatio.toFixed(2)}×) | ${ms(cold('bridge'))} ms (${ratio(cold('bridge'), floorCold)}) | ≤ ${BARS.coldRatio}× |
| next delivery after a cold start | ${ms(BASELINE.nextMs)} ms | ${ms(figure(r.cold, 'bridge').second.median)} ms | — |
| warm 9 KB (ratio to floor) | ${ms(BASELINE.warmUs)} µs (${BASELINE.warmRatio.toFixed(2)}×) | ${ms(figure(r.warm, 'bridge').runMedians.median)} µs (${ratio(figure(r.warm, 'bridge').runMedians.median, warmFloor)}) | ≤ ${BARS.warmRatio}× |
| CPU per warm delivery | ${ms(BASELINE.cpuUs)} µs | ${ms(figure(r.warm, 'bridge').cpuUs.median)} µs | — |
| 5 MB (ratio to floor) | ${BASELINE.largeRatio.toFixed(2)}× | ${ratio(figure(r.large, 'bridge').runMedians.median, largeFloor)} | ≤ ${BARS.largeRatio}× |
| bundle loaded at cold start | ${BASELINE.bundleBytes.toLocaleString('en')} B | ${(r.bundle.entry + r.bundle.coldChunks.reduce((sum, c) => sum + c.bytes, 0)).toLocaleString('en')} B | ≤ ${BARS.bundleBytes.toLocaleString('en')} B |
| peak RSS after the first delivery | ${BASELINE.rssMb.toFixed(1)} MB | ${figure(r.cold, 'bridge').rssMb.median.toFixed(1)} MB | ≤ ${BARS.rssRatio}× floor |

What changed, and where its cost shows:
- **One HTTP stack** (lib/codehub/transport.ts). Before, the first calls went out on \`node:http\` and an
  undici \`Pool\`, deep-imported with a hand-written dispatch handler, took over after the first answer. Now
  every call goes through undici's \`Pool\` via \`pool.request()\`, imported as \`import { Pool } from 'undici'\`.
  The whole package is 535 KB minified and starts about 3× the floor (row "all of undici" above). So
  scripts/build.mjs resolves that one import to the \`Pool\` alone (scripts/undici-pool.mjs), and the code and
  its types stay the package's own. This is the cold-start row: undici's JavaScript and llhttp's WebAssembly
  are now compiled before the first answer. Before, that happened after it, and the next delivery paid for it
  instead (row "next delivery"). In this run undici's \`Pool\` doing only the floor's job starts in
  ${ms(cold('undiciPool'))} ms (${ratio(cold('undiciPool'), floorCold)}); the bridge's own work adds the rest.
- **Micro-optimisations removed**, each worth under ~5 µs:
  - the per-second \`X-Sdk-Date\` memo;
  - the parsed-URL cache;
  - authorization that returned either headers or a promise;
  - spread-avoiding ternaries;
  - request-fingerprint \`WeakMap\`s;
  - the lazy body wrappers;
  - the field-name cache of the log redactor;
  - the plain-delivery-id shortcut of the idempotency key.

  These are measured together, and the warm and CPU rows show their sum.
- **Typed outcomes** (lib/pipeline/webhook.ts, lib/pipeline/outcome.ts). Each step returns a value, and one
  function makes the answer and the delivery record. This is also inside the warm row.
- **Kept, because this bench shows they matter:**
  - no copy of the body;
  - verify before parse;
  - text bodies hashed and parsed as text;
  - the idempotency key made from the verified MAC, so a 5 MB body is never hashed twice (row 3);
  - the delivery's log line and EMF metrics written after the answer (about 100 µs of Powertools per
    delivery, "CPU per delivery" counts it).
- **Hardening, not in these rows:**
  - A forged, unsigned 6 MB body used to be HMAC'd once per configured secret: with 1,000 per-mirror secrets,
    4–13 s of CPU. Now at most ${MAX_BODY_MACS} body MACs are tried (\`MAX_BODY_MACS\`, lib/config/mapping.ts), chosen by
    the repository the body claims, about 0.1 s. \`test/providers/bounded-verification.test.ts\` counts the MACs.
  - A YAML config of 100,000 mirrors now loads in a 256 MB function: about 147 MB peak with V8's 230 MB heap,
    where it used to run out of memory (595 MB peak).

**Where the bars stand, and why.** This machine was noisy on the day of these runs. The unchanged
"before" code measured warm ${BASELINE.warmRatio.toFixed(2)}× in its own run; in calmer runs it had measured 1.06×. Read each
ratio with that in mind. The interleaved A/B of warm deliveries is the steadier figure, because all
three ran in turn, in the same conditions:

| | floor | before | after |
|---|---|---|---|
| warm median | ${BASELINE.warmAB.floorUs} µs | ${BASELINE.warmAB.beforeUs} µs (${(BASELINE.warmAB.beforeUs / BASELINE.warmAB.floorUs).toFixed(2)}×) | ${BASELINE.warmAB.afterUs} µs (${(BASELINE.warmAB.afterUs / BASELINE.warmAB.floorUs).toFixed(2)}×) |

By an in-process A/B of the two bundles, the simpler code costs about 95 µs more per warm delivery. The
cost is spread over many places, each a few µs, with no single hot spot:
- the signer without its memos;
- the outcome values and the answer built from them;
- the call layer (\`exchange.ts\`);
- redaction that copies;
- identity checks.

Found and fixed on the way: the bounded search for the claimed source ran on every delivery. It now runs
only when more than \`MAX_BODY_MACS\` secrets are configured; it had cost about 30 µs per 9 KB delivery, and
most of the 5 MB regression. Also tried: undici's \`pool.dispatch()\` with a hand-written handler instead of
\`pool.request()\`. A transport-only A/B put it about 30 µs ahead, but whole-delivery runs showed no difference
above this machine's noise, so the simpler \`request()\` stays.

The cold-start bar has almost no margin for a bridge that loads undici before its first answer. The Pool
alone, doing only the floor's job, starts ${ratio(cold('undiciPool'), floorCold)} the floor in this run, and 1.6–1.8× over this day's runs.
So whether the bridge passes depends on the run: in this day's runs it came in between 1.5× and 2.0×.

**Considered, not done:**
- *Loading undici lazily, at the first CodeHub call.* It would have kept the bundle row low without changing
  what a cold start really loads. It is not done: a cold start that syncs loads it anyway.
- *A V8 compile cache* (\`module.enableCompileCache()\`, Node 22.1+). Lambda starts every sandbox with an empty
  /tmp, so it cannot help a cold start.
${missed.length === 0 ? '' : `
## Bars missed

${missed.map((row) => `- Row ${row.id}, ${row.measure.trim()}: ${row.ratio} against ${row.bar}.`).join('\n')}

Profile the variant with \`npx tsx bench/profile.ts bridge <cold|warm|large>\` to find where the time goes.
`}`;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(2);
  },
);
