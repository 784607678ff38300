/**
 * One measured process of the durable bench: loads dist/webhook.js as Lambda does and answers
 * BENCH_COUNT distinct pushes one after another (each its own `before`/`after`, signed like
 * GitHub signs: a repeated push would be a replay, answered from the ledger without CodeHub), after
 * BENCH_WARMUP unmeasured ones. Writes `{ ok, durationsMs }` as one JSON line to file descriptor 3.
 *
 *   BENCH_BODY     path of a GitHub push body (JSON) used as the template
 *   BENCH_SECRET   the webhook secret
 */
import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync, writeSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';

const env = process.env;
const template = JSON.parse(readFileSync(env.BENCH_BODY, 'utf8'));
let request = 0;

function delivery() {
  request += 1;
  const body = JSON.stringify({ ...template, before: randomBytes(20).toString('hex'), after: randomBytes(20).toString('hex') });
  const signature = createHmac('sha256', env.BENCH_SECRET).update(body).digest('hex');
  return {
    version: '2.0',
    routeKey: 'POST /webhook',
    rawPath: '/webhook',
    rawQueryString: '',
    requestContext: { http: { method: 'POST', path: '/webhook' } },
    headers: {
      'content-type': 'application/json',
      'user-agent': 'GitHub-Hookshot/bench',
      'x-github-event': 'push',
      'x-github-delivery': `bench-${process.pid}-${request}`,
      'x-hub-signature-256': `sha256=${signature}`,
    },
    body,
    isBase64Encoded: false,
  };
}

const context = () => ({ awsRequestId: `bench-${request}`, getRemainingTimeInMillis: () => 30_000 });
const betweenInvocations = () => new Promise((resolve) => setImmediate(resolve));

function check(answer) {
  if (answer?.statusCode !== 200 || !String(answer.body).includes('"jid"')) throw new Error(`unexpected answer: ${JSON.stringify(answer).slice(0, 500)}`);
  if (env.BENCH_EXPECT_PUSH_ID === '1' && !String(answer.body).includes('"push_id"')) throw new Error(`no push_id: ${String(answer.body).slice(0, 300)}`);
}

try {
  const { handler } = await import(pathToFileURL(env.BENCH_MODULE).href);
  const warmup = Number(env.BENCH_WARMUP ?? '20');
  const count = Number(env.BENCH_COUNT ?? '100');
  const durationsMs = [];
  for (let i = 0; i < warmup + count; i += 1) {
    const event = delivery();
    const started = performance.now();
    const answer = await handler(event, context());
    const took = performance.now() - started;
    check(answer);
    if (i >= warmup) durationsMs.push(took);
    await betweenInvocations();
  }
  writeSync(3, `${JSON.stringify({ ok: true, durationsMs })}\n`);
  process.exit(0);
} catch (error) {
  writeSync(3, `${JSON.stringify({ ok: false, error: String(error?.stack ?? error) })}\n`);
  process.exit(1);
}
