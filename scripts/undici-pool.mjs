// What `import { Pool } from 'undici'` means in the bundle (see scripts/build.mjs): the Pool with
// its promise API and nothing else of undici. Node, vitest and tsx load the real package root.
import Dispatcher from 'undici/lib/dispatcher/dispatcher.js';
import request from 'undici/lib/api/api-request.js';
import Pool from 'undici/lib/dispatcher/pool.js';

// undici's own index.js attaches its promise API to Dispatcher this way; the bridge uses request().
Dispatcher.prototype.request = request;

export { Pool };
