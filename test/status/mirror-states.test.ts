import { describe, expect, it } from 'vitest';
import type { MirrorStatus } from '../../lib/codehub/client';
import type { MirrorTarget } from '../../lib/config/types';
import type { HttpRequest } from '../../lib/http/event';
import { createLogger } from '../../lib/observability/log';
import { healthyMirrorStatus } from '../support/codehub';
import { createLastTriggers } from '../../lib/status/last-triggers';
import { createMirrorStates, READS_PER_MINUTE, STATE_TTL_MS, type StatusCodeHub } from '../../lib/status/mirror-states';
import { createStatusHandler, type StatusReport } from '../../lib/status/status';

const KEY = 'status-key-0123456789';
const NOW = Date.parse('2026-03-01T10:00:00Z');
/** A page deadline no test reaches. */
const FAR = NOW + 3_600_000;

const mirrorStatus = (repositoryId: number): MirrorStatus => healthyMirrorStatus(repositoryId);

/** A CodeHub that counts its calls per repository and answers at once. */
function countingCodeHub(): StatusCodeHub & { readonly calls: number[] } {
  const calls: number[] = [];
  return {
    calls,
    getMirrorStatus(repositoryId) {
      calls.push(repositoryId);
      return Promise.resolve(mirrorStatus(repositoryId));
    },
  };
}

function idMirror(i: number): MirrorTarget {
  return { source: `github.com/acme/repo-${i}`, repositoryId: 1000 + i, secrets: undefined, refs: undefined, forceFetch: true };
}

/** A clock the test moves. */
function clock(start = NOW): { now: () => number; advance(ms: number): void } {
  let at = start;
  return { now: () => at, advance: (ms) => (at += ms) };
}

function states(codehub: StatusCodeHub, now: () => number) {
  return createMirrorStates({ codehub, logger: createLogger({ level: 'silent' }), secrets: [], now, concurrency: 4 });
}

function countsPerRepository(calls: readonly number[]): Map<number, number> {
  const counts = new Map<number, number>();
  for (const id of calls) counts.set(id, (counts.get(id) ?? 0) + 1);
  return counts;
}

describe('GET /mirrors spends little of CodeHub quota', () => {
  it('reads each mirror at most once for 10 page loads in a row', async () => {
    // Prepare
    const codehub = countingCodeHub();
    const time = clock();
    const mirrors = Array.from({ length: 5 }, (_, i) => idMirror(i));
    const handler = createStatusHandler({ config: { mirrors }, codehub, statusKey: KEY, lastTriggers: createLastTriggers(), logger: createLogger({ level: 'silent' }), now: time.now });
    const request: HttpRequest = { method: 'GET', headers: { authorization: `Bearer ${KEY}` }, body: '', bodyLength: 0 };
    // Act
    const answers = [];
    for (let load = 0; load < 10; load += 1) {
      answers.push(await handler(request));
      time.advance(1000);
    }
    // Assess
    expect([...countsPerRepository(codehub.calls).values()]).toEqual([1, 1, 1, 1, 1]);
    const last = JSON.parse(answers[9]?.body ?? '{}') as StatusReport;
    expect(last.mirrors.map((row) => row.codehub)).toEqual(mirrors.map(() => expect.objectContaining({ update_status: 'success' })));
    expect(last.mirrors.map((row) => row.codehub_read_at)).toEqual(mirrors.map(() => new Date(NOW).toISOString()));
  });

  it(`reads a mirror again once its state is ${STATE_TTL_MS} ms old, not before`, async () => {
    // Prepare
    const codehub = countingCodeHub();
    const time = clock();
    const reader = states(codehub, time.now);
    await reader.read([1001], FAR);
    // Act
    time.advance(STATE_TTL_MS - 1);
    await reader.read([1001], FAR);
    const callsBefore = codehub.calls.length;
    time.advance(1);
    const read = await reader.read([1001], FAR);
    // Assess
    expect(callsBefore).toBe(1);
    expect(codehub.calls).toEqual([1001, 1001]);
    expect(read.get(1001)?.readAt).toBe(NOW + STATE_TTL_MS);
  });

  it(`makes at most ${READS_PER_MINUTE} reads a minute, never-read mirrors first, and says why the others are missing`, async () => {
    // Prepare
    const codehub = countingCodeHub();
    const time = clock();
    const reader = states(codehub, time.now);
    const ids = Array.from({ length: READS_PER_MINUTE + 30 }, (_, i) => 5000 + i);
    // Act
    const first = await reader.read(ids, FAR);
    time.advance(STATE_TTL_MS);
    const callsAfterFirst = codehub.calls.length;
    await reader.read(ids, FAR);
    const callsWithinTheMinute = codehub.calls.length;
    time.advance(60_000 - STATE_TTL_MS);
    const third = await reader.read(ids, FAR);
    // Assess
    expect(callsAfterFirst).toBe(READS_PER_MINUTE);
    expect(callsWithinTheMinute).toBe(READS_PER_MINUTE);
    expect(first.get(ids[ids.length - 1] as number)).toEqual({
      state: { error: expect.stringContaining(`at most ${READS_PER_MINUTE} mirrors a minute`), code: 'CODEHUB_THROTTLED', error_code: null },
      readAt: undefined,
    });
    // The next minute reads the 30 never read first, then the oldest of the rest.
    expect(codehub.calls.slice(READS_PER_MINUTE, READS_PER_MINUTE + 30)).toEqual(ids.slice(READS_PER_MINUTE));
    expect(codehub.calls).toHaveLength(2 * READS_PER_MINUTE);
    expect([...third.values()].every((read) => read.readAt !== undefined)).toBe(true);
  });

  it('keeps a read that answers after the page deadline for the next page, instead of calling again', async () => {
    // Prepare
    let answer: (status: MirrorStatus) => void = () => undefined;
    const calls: number[] = [];
    const codehub: StatusCodeHub = {
      getMirrorStatus(repositoryId) {
        calls.push(repositoryId);
        return new Promise((resolve) => (answer = resolve));
      },
    };
    const reader = states(codehub, Date.now);
    // Act
    const first = await reader.read([1001], Date.now() + 20);
    answer(mirrorStatus(1001));
    await new Promise((resolve) => setImmediate(resolve));
    const second = await reader.read([1001], Date.now() + 20);
    // Assess
    expect(first.get(1001)?.state).toEqual({ error: 'CodeHub did not answer before the deadline', code: 'CODEHUB_TIMEOUT', error_code: null });
    expect(second.get(1001)?.state).toMatchObject({ update_status: 'success' });
    expect(calls).toEqual([1001]);
  });
});
