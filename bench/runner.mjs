/**
 * One measured process. Loads a handler module the way Lambda's runtime does (a dynamic import of
 * the file), invokes `handler(event, context)` directly, and writes what it measured as one JSON
 * line to file descriptor 3. The same runner loads the bridge, the floor and every peer.
 *
 *   BENCH_MODULE   absolute path of the module exporting `handler`
 *   BENCH_EVENT    path of a JSON file holding the API Gateway v2 event
 *   BENCH_MODE     `cold`: the first delivery only; `warm`: BENCH_WARMUP unmeasured deliveries,
 *                  then BENCH_COUNT timed one after another
 *   BENCH_SECOND_AFTER_MS  cold mode: also time a second delivery this long after the first answer
 */
import { readFileSync, writeSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';

const env = process.env;
const event = JSON.parse(readFileSync(env.BENCH_EVENT, 'utf8'));
let request = 0;
const context = () => ({ awsRequestId: `bench-${request}`, getRemainingTimeInMillis: () => 30_000 });
// Every delivery is a new one, as GitHub's are: its own X-GitHub-Delivery id (not covered by the
// signature), so that the bridge's idempotency store does not answer repeats from memory.
const delivery = () => {
  request += 1;
  return { ...event, headers: { ...event.headers, 'x-github-delivery': `bench-delivery-${process.pid}-${request}` } };
};

/**
 * The turn of the event loop Lambda's Node.js runtime takes between two invocations: it posts the
 * answer synchronously, then awaits the next event from the Runtime API (an asynchronous call), so
 * whatever the handler queued with setImmediate runs before the next event is handed over. Taken
 * outside the timed window, after every delivery, for every variant.
 */
const betweenInvocations = () => new Promise((resolve) => setImmediate(resolve));

function report(result) {
  writeSync(3, `${JSON.stringify(result)}\n`);
}

function check(answer) {
  if (answer?.statusCode !== 200 || !String(answer.body).includes('"jid"')) {
    throw new Error(`unexpected answer: ${JSON.stringify(answer).slice(0, 500)}`);
  }
}

try {
  const { handler } = await import(pathToFileURL(env.BENCH_MODULE).href);
  const importedMs = performance.now();
  if (env.BENCH_MODE === 'cold') {
    const answer = await handler(delivery(), context());
    const answeredMs = performance.now();
    check(answer);
    const cpu = process.cpuUsage();
    report({
      ok: true,
      importedMs,
      answeredMs,
      cpuMs: (cpu.user + cpu.system) / 1000,
      maxRssKb: process.resourceUsage().maxRSS,
    });
    // The next invocation, after the idle gap between two events (reported on a second line).
    const gap = Number(env.BENCH_SECOND_AFTER_MS ?? '');
    if (gap > 0) {
      await new Promise((resolve) => setTimeout(resolve, gap));
      const next = delivery();
      const started = performance.now();
      check(await handler(next, context()));
      report({ secondMs: performance.now() - started });
    }
  } else {
    const warmup = Number(env.BENCH_WARMUP ?? '200');
    const count = Number(env.BENCH_COUNT ?? '2000');
    for (let i = 0; i < warmup; i += 1) {
      check(await handler(delivery(), context()));
      await betweenInvocations();
    }
    const durationsUs = new Array(count);
    const cpuBefore = process.cpuUsage();
    for (let i = 0; i < count; i += 1) {
      const next = delivery();
      const started = process.hrtime.bigint();
      const answer = await handler(next, context());
      durationsUs[i] = Number(process.hrtime.bigint() - started) / 1000;
      check(answer);
      await betweenInvocations();
    }
    const cpu = process.cpuUsage(cpuBefore);
    report({ ok: true, importedMs, durationsUs, cpuUsPerDelivery: (cpu.user + cpu.system) / count, maxRssKb: process.resourceUsage().maxRSS });
  }
  process.exit(0);
} catch (error) {
  report({ ok: false, error: error instanceof Error ? `${error.stack ?? error.message}` : String(error) });
  process.exit(1);
}
