/**
 * The floor: the irreducible job (./common.mjs) with the POST on node:http and a keep-alive Agent.
 * No timeouts, no logging, no retries: nothing a real handler could do with less.
 */
import { Agent, request } from 'node:http';
import { answerJobs, MIRROR_BODY, readSetup, signedMirrorCall, verifyAndRead } from './common.mjs';

const setup = readSetup();
const agent = new Agent({ keepAlive: true });

function post(repositoryId) {
  const { path, headers } = signedMirrorCall(setup, repositoryId);
  headers['content-length'] = String(MIRROR_BODY.length);
  return new Promise((resolve, reject) => {
    const req = request({ agent, hostname: setup.endpoint.hostname, port: setup.endpoint.port, method: 'POST', path, headers }, (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(MIRROR_BODY);
  });
}

export async function handler(event) {
  const read = verifyAndRead(setup, event);
  if (read.answer) return read.answer;
  return answerJobs(read.ids, await Promise.all(read.ids.map(post)));
}
