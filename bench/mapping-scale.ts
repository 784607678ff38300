/**
 * Scale of the mapping (run by bench/run.ts with `node --expose-gc --import tsx`):
 *
 *   mapping-scale.ts load <config.json>
 *     `loadMirrorConfig` from `MIRROR_CONFIG_FILE` (read, JSON.parse, validate, normalise) plus
 *     `buildMirrorIndex`, timed once in a fresh process, with cold code, as at a cold start.
 *
 *   mapping-scale.ts lookup <config.json>...
 *     What a verified delivery does to find its mirrors, as lib/webhook.ts does it: the payload's
 *     identity built with `sourceIdentity` (a fresh string, hashed anew), `mirrorsFor`, the secret
 *     check of `effectiveSecrets`, and `mirrorWantsRefs`. Every configuration is loaded into this
 *     one process and batches of 1,000 lookups alternate between them, so they share the code, the
 *     JIT's work and the heap, and differ only in the size of the index. Three series each:
 *     - hot: the same repository every time, so the memory touched is the same whatever the size
 *       and any cost that grows with the number of mirrors is the algorithm's;
 *     - spread: up to 1,000 configured repositories in random order, so a large index is probed
 *       where it is not cached;
 *     - mapGet: the control for spread, a bare `Map.get` of the same fresh strings on a Map of the
 *       same sources: what the memory hierarchy alone adds as the index grows.
 *
 * Prints one JSON line.
 */
import { loadMirrorConfig } from '../lib/config/load';
import { safeEqual } from '../lib/crypto';
import { buildMirrorIndex, effectiveSecrets, mirrorsFor, mirrorWantsRefs, type MirrorIndex } from '../lib/config/mapping';
import { sourceIdentity } from '../lib/providers/identity';
import { SOURCE_FULL_NAME, WEBHOOK_SECRET } from './payloads';
import { shuffled, summarize } from './stats';

const BATCH = 1000;
const WARMUP_ROUNDS = 100;
const ROUNDS = 300;
const REFS = [{ ref: 'refs/heads/main' }];
/** The benchmark's own source, configured in every file: the same repository pushing again and again. */
const HOT = [SOURCE_FULL_NAME];

async function load(file: string): Promise<{ mirrors: number; loadMs: number; index: MirrorIndex; names: string[] }> {
  const started = performance.now();
  const { config } = await loadMirrorConfig({ MIRROR_CONFIG_FILE: file });
  const index = buildMirrorIndex(config);
  const loadMs = performance.now() - started;
  const sources = config.mirrors.map((mirror) => mirror.source.slice('github.com/'.length));
  return { mirrors: config.mirrors.length, loadMs, index, names: shuffled([...new Set(sources)]).slice(0, 1000) };
}

let found = 0;

/** The control: the same probes on a bare `Map` of the same source strings, no bridge code. */
function mapBatch(map: ReadonlyMap<string, unknown>, names: readonly string[], offset: number): number {
  const started = process.hrtime.bigint();
  for (let i = 0; i < BATCH; i += 1) {
    if (map.get(`github.com/${names[(offset + i) % names.length] ?? ''}`) !== undefined) found += 1;
  }
  return Number(process.hrtime.bigint() - started) / BATCH;
}

function lookupBatch(index: MirrorIndex, names: readonly string[], offset: number): number {
  const started = process.hrtime.bigint();
  for (let i = 0; i < BATCH; i += 1) {
    const configured = mirrorsFor(index, sourceIdentity('github.com', names[(offset + i) % names.length] ?? ''));
    const authorised = configured.filter((mirror) => effectiveSecrets(index, mirror).some((secret) => safeEqual(secret, WEBHOOK_SECRET)));
    found += authorised.filter((mirror) => mirrorWantsRefs(mirror, REFS)).length;
  }
  return Number(process.hrtime.bigint() - started) / BATCH;
}

async function main(): Promise<void> {
  const [mode, ...files] = process.argv.slice(2);
  if (mode === 'load' && files.length === 1) {
    const { mirrors, loadMs } = await load(files[0] ?? '');
    process.stdout.write(`${JSON.stringify({ mirrors, loadMs })}\n`);
    return;
  }
  if (mode !== 'lookup' || files.length === 0) throw new Error('usage: mapping-scale.ts load <config.json> | lookup <config.json>...');
  const configs = [];
  for (const file of files) configs.push(await load(file));
  // Settle the heap the configs left behind, so that marking it is not billed to the first lookups.
  (globalThis as { gc?: () => void }).gc?.();
  const controls = configs.map((config) => new Map([...config.index.bySource.keys()].map((key) => [key, key.length])));
  const series = configs.map(() => ({ hot: [] as number[], spread: [] as number[], mapGet: [] as number[] }));
  for (let round = 0; round < WARMUP_ROUNDS + ROUNDS; round += 1) {
    configs.forEach((config, i) => {
      const hot = lookupBatch(config.index, HOT, 0);
      const spread = lookupBatch(config.index, config.names, round * BATCH);
      const mapGet = mapBatch(controls[i] ?? new Map(), config.names, round * BATCH);
      if (round < WARMUP_ROUNDS) return;
      series[i]?.hot.push(hot);
      series[i]?.spread.push(spread);
      series[i]?.mapGet.push(mapGet);
    });
  }
  if (found === 0) throw new Error('no lookup found a mirror');
  const results = configs.map((config, i) => ({
    mirrors: config.mirrors,
    hotNs: summarize(series[i]?.hot ?? []),
    spreadNs: summarize(series[i]?.spread ?? []),
    mapGetNs: summarize(series[i]?.mapGet ?? []),
  }));
  process.stdout.write(`${JSON.stringify(results)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
