/**
 * A quick A/B of warm deliveries, for trying a change before running the whole bench: a few rounds
 * of one process per variant, the same runner and stand-in as `npm run bench`, medians printed.
 *
 *   npx tsx bench/compare.ts [variants, comma-separated; default floor,undiciPool,bridge] [rounds; default 5]
 */
import { createWorkspace, pinProcesses, runProcess, VARIANTS, type VariantId, type WarmResult } from './harness';
import { median } from './stats';

function isVariant(value: string): value is VariantId {
  return Object.hasOwn(VARIANTS, value);
}

async function main(): Promise<void> {
  const [list = 'floor,undiciPool,bridge', roundsText = '5'] = process.argv.slice(2);
  const variants = list.split(',');
  if (!variants.every(isVariant)) throw new Error(`variants: ${Object.keys(VARIANTS).join(', ')}`);
  process.stdout.write(`${pinProcesses()}\n`);
  const workspace = await createWorkspace();
  const latency = new Map<VariantId, number[]>();
  const cpu = new Map<VariantId, number[]>();
  try {
    for (let round = 0; round < Number(roundsText); round += 1) {
      for (const variant of variants) {
        const { result } = await runProcess<WarmResult>(workspace, variant, { mode: 'warm', eventFile: workspace.event9k, config: workspace.single, warmup: 1000, count: 2000 });
        latency.set(variant, [...(latency.get(variant) ?? []), median(result.durationsUs)]);
        cpu.set(variant, [...(cpu.get(variant) ?? []), result.cpuUsPerDelivery]);
      }
    }
  } finally {
    await workspace.close();
  }
  const floor = median(latency.get(variants[0] as VariantId) ?? []);
  for (const variant of variants) {
    const runs = latency.get(variant) ?? [];
    const line = `${variant.padEnd(12)} median ${median(runs).toFixed(0)} µs (${(median(runs) / floor).toFixed(2)}× ${variants[0]}), CPU ${median(cpu.get(variant) ?? []).toFixed(0)} µs; runs ${runs.map((x) => x.toFixed(0)).join(' ')}`;
    process.stdout.write(`${line}\n`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
