// Types for the one undici module the transport deep-imports. Importing the package root would
// bundle all of undici (fetch, WebSocket, mocks, caches) into the Lambda and slow its cold start;
// undici 7 has no `exports` map, so the file can be imported directly. The default export is the
// CommonJS `module.exports`, which is how Node, vitest and esbuild all present it to ESM.
declare module 'undici/lib/dispatcher/pool.js' {
  import type { Pool } from 'undici';
  const PoolClass: typeof Pool;
  export default PoolClass;
}
