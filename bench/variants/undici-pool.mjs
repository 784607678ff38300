/**
 * undici's Pool alone: the floor's job with the POST dispatched on `undici/lib/dispatcher/pool.js`
 * deep-imported at module scope: the part of undici the bridge's bundle carries (scripts/build.mjs resolves
 * the bridge's `import { Pool } from 'undici'` to the Pool alone).
 */
import Pool from 'undici/lib/dispatcher/pool.js';
import { answerJobs, MIRROR_BODY, readSetup, signedMirrorCall, verifyAndRead } from './common.mjs';

const setup = readSetup();
const pool = new Pool(setup.endpoint.origin);

function post(repositoryId) {
  const { path, headers } = signedMirrorCall(setup, repositoryId);
  return new Promise((resolve, reject) => {
    const chunks = [];
    pool.dispatch(
      { origin: setup.endpoint.origin, method: 'POST', path, headers, body: MIRROR_BODY },
      {
        onRequestStart() {},
        onResponseStart() {},
        onResponseData(_controller, chunk) {
          chunks.push(chunk);
        },
        onResponseEnd() {
          resolve(Buffer.concat(chunks).toString('utf8'));
        },
        onResponseError(_controller, error) {
          reject(error);
        },
      },
    );
  });
}

export async function handler(event) {
  const read = verifyAndRead(setup, event);
  if (read.answer) return read.answer;
  return answerJobs(read.ids, await Promise.all(read.ids.map(post)));
}
