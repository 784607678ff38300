/**
 * The CodeHub stand-in of the durable bench in a process of its own, started on the measured CPU:
 * the local DynamoDB engine is busy on the bench's CPU while CodeHub is answering, and a stand-in
 * sharing that CPU would answer late for it, which no real CodeHub does. Prints `{ url }` once
 * listening; stops when its stdin closes. Holds every answer BENCH_DELAY_MS.
 */
import { startStandin } from './codehub-standin';
import { ACCESS_KEY, SECRET_KEY } from './payloads';

const standin = await startStandin({ accessKey: ACCESS_KEY, secretKey: SECRET_KEY });
standin.delayMs = Number(process.env['BENCH_DELAY_MS'] ?? '50');
process.stdout.write(`${JSON.stringify({ url: standin.url })}\n`);
process.stdin.resume();
process.stdin.on('end', () => {
  if (standin.stats.failures.length > 0) process.stderr.write(`stand-in rejected a call: ${standin.stats.failures[0] ?? ''}\n`);
  void standin.close().then(() => process.exit(0));
});
