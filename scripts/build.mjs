// Bundles each handler into dist/ as one ESM file (plus lazily loaded chunks for rare paths such
// as the YAML parser). Lambda and serverless-offline load exactly these files.
import { build } from 'esbuild';
import { mkdirSync, writeFileSync } from 'node:fs';
import { sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const entries = { webhook: 'handlers/webhook.ts', reconcile: 'handlers/reconcile.ts', codecommit: 'handlers/codecommit.ts', worker: 'handlers/worker.ts' };
// Tests build into a temporary folder so they never race a developer's dist/.
const outdir = process.env.BUILD_OUTDIR || 'dist';

/**
 * undici carries its HTTP parser twice: WebAssembly with SIMD, and a plain build it falls back to
 * when SIMD is missing. Node 20+ on x64 and arm64 (Lambda's Graviton) always has SIMD, so the
 * fallback is 72 KB of base64 every cold start parses for nothing.
 */
const dropLlhttpFallback = {
  name: 'drop-llhttp-fallback',
  setup(b) {
    b.onResolve({ filter: /llhttp[\\/]llhttp-wasm\.js$|^\.\.\/llhttp\/llhttp-wasm\.js$/ }, () => ({ path: 'llhttp-fallback', namespace: 'stub' }));
    b.onLoad({ filter: /.*/, namespace: 'stub' }, () => ({
      contents: "throw new Error('llhttp without WebAssembly SIMD is not bundled; run on Node 20+ on x64 or arm64');",
      loader: 'js',
    }));
  },
};

/**
 * `import { Pool } from 'undici'` in lib/ reads normally and takes its types from the package, but
 * the package root brings all of undici (fetch, WebSocket, mocks, caches: ~535 KB minified) into
 * every cold start. In the bundle the bare specifier resolves to scripts/undici-pool.mjs, which
 * re-exports the Pool alone, and two parts of it the bridge cannot reach are left out: HTTP/2 (only
 * with `allowH2`) and the fetch body encoder (only for FormData request bodies). Imports from
 * inside node_modules keep the real package.
 */
const undiciPoolOnly = {
  name: 'undici-pool-only',
  setup(b) {
    const shim = fileURLToPath(new URL('./undici-pool.mjs', import.meta.url));
    b.onResolve({ filter: /^undici$/ }, (args) => (args.importer.includes('node_modules') ? undefined : { path: shim }));
    b.onResolve({ filter: /^\.\/client-h2\.js$|[\\/]web[\\/]fetch[\\/]body\.js$/ }, (args) =>
      args.importer.includes(`${sep}undici${sep}`) ? { path: args.path, namespace: 'undici-unused' } : undefined,
    );
    // Both are required when undici loads and called only for what the bridge never sends.
    b.onLoad({ filter: /.*/, namespace: 'undici-unused' }, (args) => {
      const fail = `() => { throw new Error(${JSON.stringify(`${args.path} is not bundled: the bridge sends neither HTTP/2 nor FormData`)}); }`;
      return { contents: args.path.endsWith('body.js') ? `module.exports = { extractBody: ${fail} };` : `module.exports = ${fail};`, loader: 'js' };
    });
  },
};

const result = await build({
  entryPoints: entries,
  outdir,
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
  plugins: [dropLlhttpFallback, undiciPoolOnly],
});
mkdirSync(outdir, { recursive: true });
// The nearest package.json decides how Node (and Lambda) load dist/*.js.
writeFileSync(`${outdir}/package.json`, '{"type":"module"}\n');
for (const [file, info] of Object.entries(result.metafile.outputs)) {
  if (file.endsWith('.js')) console.log(`${file}\t${info.bytes} bytes`);
}
