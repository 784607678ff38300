/**
 * Where the time goes: runs one variant the way bench/run.ts does, under `node --cpu-prof`, and
 * prints the heaviest functions and files by self time.
 *
 *   npx tsx bench/profile.ts <floor|bridge|sdk|undiciAll|fetch|undiciPool> <cold|warm|large> [runs]
 *
 * Profiles (.cpuprofile, for Chrome DevTools) are kept in the directory printed at the end.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createWorkspace, runProcess, VARIANTS, type RunOptions, type VariantId } from './harness';

interface ProfileNode {
  readonly id: number;
  readonly children?: readonly number[];
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number; readonly columnNumber: number };
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

function isVariant(value: string | undefined): value is VariantId {
  return value !== undefined && Object.hasOwn(VARIANTS, value);
}

const sourceMaps = new Map<string, SourceMap | undefined>();

/** `function  source:line` of a frame in the minified bundle, through its linked source map. */
function original(frame: ProfileNode['callFrame']): string | undefined {
  if (!frame.url.startsWith('file://') || !frame.url.includes('/dist/')) return undefined;
  if (!sourceMaps.has(frame.url)) {
    const mapFile = `${new URL(frame.url).pathname}.map`;
    sourceMaps.set(frame.url, existsSync(mapFile) ? new SourceMap(JSON.parse(readFileSync(mapFile, 'utf8')) as ConstructorParameters<typeof SourceMap>[0]) : undefined);
  }
  const entry = sourceMaps.get(frame.url)?.findEntry(frame.lineNumber, frame.columnNumber);
  if (entry === undefined || !('originalSource' in entry)) return undefined;
  const source = entry.originalSource.replace(/^.*?\/(lib|handlers|node_modules)\//, '$1/');
  const name = 'name' in entry && typeof entry.name === 'string' ? entry.name : frame.functionName || '(anonymous)';
  return `${name}  ${source}:${entry.originalLine + 1}`;
}

function top(map: Map<string, number>, count: number, totalUs: number): string {
  return [...map]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([key, us]) => `${(us / 1000).toFixed(1).padStart(8)} ms ${((100 * us) / totalUs).toFixed(1).padStart(5)}%  ${key}`)
    .join('\n');
}

async function main(): Promise<void> {
  const [variant, mode = 'cold', runsText = '1'] = process.argv.slice(2);
  if (!isVariant(variant) || !['cold', 'warm', 'large'].includes(mode)) {
    throw new Error(`usage: tsx bench/profile.ts <${Object.keys(VARIANTS).join('|')}> <cold|warm|large> [runs]`);
  }
  const out = mkdtempSync(join(tmpdir(), `bridge-profile-${variant}-${mode}-`));
  const workspace = await createWorkspace();
  try {
    const options: RunOptions =
      mode === 'cold'
        ? { mode: 'cold', eventFile: workspace.event9k, config: workspace.single }
        : mode === 'warm'
          ? { mode: 'warm', eventFile: workspace.event9k, config: workspace.single, warmup: 300, count: 2000 }
          : { mode: 'warm', eventFile: workspace.event5m, config: workspace.single, warmup: 3, count: 20 };
    for (let run = 0; run < Number(runsText); run += 1) {
      await runProcess(workspace, variant, { ...options, execArgv: ['--cpu-prof', '--cpu-prof-interval', '100', '--cpu-prof-dir', out] });
    }
  } finally {
    await workspace.close();
  }

  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let totalUs = 0;
  for (const file of readdirSync(out).filter((name) => name.endsWith('.cpuprofile'))) {
    const profile = JSON.parse(readFileSync(join(out, file), 'utf8')) as CpuProfile;
    const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
    const parents = new Map<number, number>();
    for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id);
    const keys = new Map<number, string>();
    const keyOf = (node: ProfileNode): string => {
      let key = keys.get(node.id);
      if (key === undefined) {
        const url = node.callFrame.url === '' ? '(native)' : node.callFrame.url.replace(/^.*\/node_modules\//, '~/').replace(/^file:\/\/.*\/(dist|bench)\//, '$1/');
        key = original(node.callFrame) ?? `${node.callFrame.functionName || '(anonymous)'}  ${url}:${node.callFrame.lineNumber + 1}`;
        keys.set(node.id, key);
      }
      return key;
    };
    profile.samples.forEach((id, i) => {
      const frame = nodes.get(id)?.callFrame;
      const us = profile.timeDeltas[i] ?? 0;
      if (!frame) return;
      const url = frame.url === '' ? '(native)' : frame.url.replace(/^.*\/node_modules\//, '~/').replace(/^file:\/\/.*\/(dist|bench)\//, '$1/');
      totalUs += us;
      byFile.set(url, (byFile.get(url) ?? 0) + us);
      const node = nodes.get(id);
      if (!node) return;
      byFunction.set(keyOf(node), (byFunction.get(keyOf(node)) ?? 0) + us);
      // Inclusive time: once per distinct function on the sampled stack.
      const onStack = new Set<string>();
      for (let at: number | undefined = id; at !== undefined; at = parents.get(at)) {
        const frameNode = nodes.get(at);
        if (frameNode) onStack.add(keyOf(frameNode));
      }
      for (const key of onStack) inclusive.set(key, (inclusive.get(key) ?? 0) + us);
    });
  }
  process.stdout.write(`${VARIANTS[variant].label}, ${mode}: ${(totalUs / 1000).toFixed(1)} ms sampled\n\nby file (self time)\n${top(byFile, 15, totalUs)}\n\nby function (self time)\n${top(byFunction, 30, totalUs)}\n\nby function (inclusive time)\n${top(inclusive, 60, totalUs)}\n\nprofiles: ${out}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
