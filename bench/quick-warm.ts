import { createWorkspace, pinProcesses, runProcess, type VariantId, type WarmResult } from './harness';
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)] ?? 0; };
async function main() {
  pinProcesses();
  const variants = (process.argv[2] ?? 'floor,undiciPool,bridge').split(',') as VariantId[];
  const runs = Number(process.argv[3] ?? '3');
  const ws = await createWorkspace();
  const out: Record<string, { lat: number[]; cpu: number[] }> = {};
  try {
    for (let r = 0; r < runs; r++) for (const v of variants) {
      const m = await runProcess<WarmResult>(ws, v, { mode: 'warm', eventFile: ws.event9k, config: ws.single, warmup: 1000, count: 2000, execArgv: (process.env['QW_ARGS'] ?? '').split(' ').filter(Boolean) });
      (out[v] ??= { lat: [], cpu: [] }).lat.push(median(m.result.durationsUs));
      out[v].cpu.push(m.result.cpuUsPerDelivery);
    }
  } finally { await ws.close(); }
  for (const [v, { lat, cpu }] of Object.entries(out)) console.log(v.padEnd(12), 'lat med', median(lat).toFixed(0), 'min', Math.min(...lat).toFixed(0), ' cpu med', median(cpu).toFixed(0), ' |', lat.map((x) => x.toFixed(0)).join(' '));
}
void main();
