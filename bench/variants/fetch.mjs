/** Built-in: the floor's job with the POST on Node's global `fetch` (keep-alive by default). */
import { answerJobs, MIRROR_BODY, readSetup, signedMirrorCall, verifyAndRead } from './common.mjs';

const setup = readSetup();
const origin = setup.endpoint.origin;

async function post(repositoryId) {
  const { path, headers } = signedMirrorCall(setup, repositoryId);
  const response = await globalThis.fetch(`${origin}${path}`, { method: 'POST', headers, body: MIRROR_BODY });
  return response.text();
}

export async function handler(event) {
  const read = verifyAndRead(setup, event);
  if (read.answer) return read.answer;
  return answerJobs(read.ids, await Promise.all(read.ids.map(post)));
}
