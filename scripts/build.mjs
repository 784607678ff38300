// Bundles each handler into dist/ as one ESM file (plus lazily loaded chunks for rare paths such
// as the YAML parser). Lambda and serverless-offline load exactly these files.
import { build } from 'esbuild';
import { mkdirSync, writeFileSync } from 'node:fs';

const entries = { webhook: 'handlers/webhook.ts' };

const result = await build({
  entryPoints: entries,
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minify: true,
  sourcemap: 'linked',
  metafile: true,
  legalComments: 'none',
  chunkNames: 'chunks/[name]-[hash]',
  // CommonJS dependencies (undici) call require() for Node built-ins; ESM has no require of its own.
  banner: { js: "import{createRequire as __cr}from'node:module';const require=__cr(import.meta.url);" },
  logLevel: 'warning',
});
mkdirSync('dist', { recursive: true });
// The nearest package.json decides how Node (and Lambda) load dist/*.js.
writeFileSync('dist/package.json', '{"type":"module"}\n');
for (const [file, info] of Object.entries(result.metafile.outputs)) {
  if (file.endsWith('.js')) console.log(`${file}\t${info.bytes} bytes`);
}
