import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LedgerStoreError } from '../../lib/pipeline/ledger-client';
import { createSyncWindows, STALE_PENDING_MS, type Claim, type SyncWindows } from '../../lib/pipeline/sync-windows';
import { startDurableEngines, unreachableDynamoDb, type DurableEngines } from '../support/durable';

/**
 * The per-mirror SYNC window against the real local DynamoDB (dynalite). Every time is passed in, so
 * the window's edges are tested exactly, without sleeping. Each test uses a mirror of its own.
 */

const WINDOW_MS = 10_000;
/** A realistic epoch: `release` relies on a claim at 0 being long stale. */
const T0 = Date.UTC(2026, 0, 1);

let durable: DurableEngines;
let windows: SyncWindows;
let nextMirror = 0;

beforeAll(async () => {
  durable = await startDurableEngines();
  windows = createSyncWindows({ tableName: durable.tableName, windowMs: WINDOW_MS });
}, 60_000);

afterAll(async () => {
  windows?.close();
  await durable?.close();
});

const newMirror = (): string => `sync-window-${(nextMirror += 1)}`;
const joined = (jid?: string, trailingDue?: number): Claim => ({ kind: 'joined', jid, trailingDue });
/** What these tests pin of a claim: its kind, and a join's jid and trailing trigger (undefined: not this push's). */
const seen = (claim: Claim): Claim => (claim.kind === 'claimed' ? claim : { kind: 'joined', jid: claim.jid, trailingDue: claim.trailingDue });

describe('createSyncWindows: claiming and joining', () => {
  it('gives the first push a claim, and a push while its trigger is pending a join with no jid', async () => {
    // Prepare
    const mirror = newMirror();
    // Act
    const first = await windows.claim(mirror, 'push-a', T0);
    const second = await windows.claim(mirror, 'push-b', T0 + 5);
    // Assess
    expect(first).toEqual({ kind: 'claimed' });
    expect(seen(second)).toEqual(joined());
    expect(await windows.jidOf(mirror)).toBeUndefined();
  });

  it('joins pushes after `sent` to its jid; only the first of them takes the trailing trigger, due at sent_at + window', async () => {
    // Prepare
    const mirror = newMirror();
    await windows.claim(mirror, 'push-a', T0);
    await windows.sent(mirror, 'push-a', 'jid-a', T0 + 300);
    // Act
    const first = await windows.claim(mirror, 'push-b', T0 + 400);
    const later = [await windows.claim(mirror, 'push-c', T0 + 500), await windows.claim(mirror, 'push-d', T0 + 300 + WINDOW_MS - 1)];
    // Assess
    expect(seen(first)).toEqual(joined('jid-a', T0 + 300 + WINDOW_MS));
    expect(later.map(seen)).toEqual([joined('jid-a'), joined('jid-a')]);
    expect(await windows.jidOf(mirror)).toBe('jid-a');
  });

  it('opens a new window once the sent one has ended, with its trailing trigger free again', async () => {
    // Prepare: the first window's trailing trigger was taken.
    const mirror = newMirror();
    await windows.claim(mirror, 'push-a', T0);
    await windows.sent(mirror, 'push-a', 'jid-a', T0 + 100);
    await windows.claim(mirror, 'push-b', T0 + 200);
    // Act
    const next = await windows.claim(mirror, 'push-c', T0 + 100 + WINDOW_MS);
    const whilePending = await windows.jidOf(mirror);
    await windows.sent(mirror, 'push-c', 'jid-c', T0 + 100 + WINDOW_MS + 50);
    const after = await windows.claim(mirror, 'push-d', T0 + 100 + WINDOW_MS + 60);
    // Assess
    expect(next).toEqual({ kind: 'claimed' });
    expect(whilePending).toBeUndefined();
    expect(seen(after)).toEqual(joined('jid-c', T0 + 100 + WINDOW_MS + 50 + WINDOW_MS));
  });

  it('lets the owner claim its pending window again (its trigger was deferred), but not its sent one', async () => {
    // Prepare
    const mirror = newMirror();
    await windows.claim(mirror, 'push-a', T0);
    // Act
    const pending = await windows.claim(mirror, 'push-a', T0 + 10);
    await windows.sent(mirror, 'push-a', 'jid-a', T0 + 20);
    const sent = await windows.claim(mirror, 'push-a', T0 + 30);
    // Assess: once its trigger is out, the owner joins it like any push (no second trigger in the window).
    expect(pending).toEqual({ kind: 'claimed' });
    expect(sent).toMatchObject({ kind: 'joined', jid: 'jid-a' });
  });

  it('keeps different mirrors apart', async () => {
    // Prepare
    const [one, two] = [newMirror(), newMirror()];
    // Act
    const claims = [await windows.claim(one, 'push-a', T0), await windows.claim(two, 'push-b', T0)];
    await windows.sent(one, 'push-a', 'jid-a', T0 + 10);
    // Assess
    expect(claims).toEqual([{ kind: 'claimed' }, { kind: 'claimed' }]);
    expect(await windows.jidOf(one)).toBe('jid-a');
    expect(await windows.jidOf(two)).toBeUndefined();
    expect(seen(await windows.claim(two, 'push-c', T0 + 20))).toEqual(joined());
  });
});

describe('createSyncWindows: release and abandoned claims', () => {
  it('frees a pending window at once on `release`, so the next push claims', async () => {
    // Prepare
    const mirror = newMirror();
    await windows.claim(mirror, 'push-a', T0);
    // Act
    await windows.release(mirror, 'push-b');
    const byStranger = await windows.claim(mirror, 'push-c', T0 + 10);
    await windows.release(mirror, 'push-a');
    const afterRelease = await windows.claim(mirror, 'push-c', T0 + 20);
    // Assess: a release by another push changes nothing.
    expect(seen(byStranger)).toEqual(joined());
    expect(afterRelease).toEqual({ kind: 'claimed' });
  });

  it('does not free a sent window on `release`', async () => {
    // Prepare
    const mirror = newMirror();
    await windows.claim(mirror, 'push-a', T0);
    await windows.sent(mirror, 'push-a', 'jid-a', T0 + 10);
    // Act
    await windows.release(mirror, 'push-a');
    // Assess
    expect(seen(await windows.claim(mirror, 'push-b', T0 + 20))).toEqual(joined('jid-a', T0 + 10 + WINDOW_MS));
  });

  it('lets a push claim a pending window once it is STALE_PENDING_MS old, not before', async () => {
    // Prepare
    const mirror = newMirror();
    await windows.claim(mirror, 'push-a', T0);
    // Act
    const early = await windows.claim(mirror, 'push-b', T0 + STALE_PENDING_MS - 1);
    const stale = await windows.claim(mirror, 'push-b', T0 + STALE_PENDING_MS);
    // Assess
    expect(seen(early)).toEqual(joined());
    expect(stale).toEqual({ kind: 'claimed' });
  });

  it('ignores `sent` from an owner whose stale window was claimed anew', async () => {
    // Prepare: push A's trigger was never noted; push B took the window over.
    const mirror = newMirror();
    await windows.claim(mirror, 'push-a', T0);
    await windows.claim(mirror, 'push-b', T0 + STALE_PENDING_MS);
    // Act
    await windows.sent(mirror, 'push-a', 'jid-a', T0 + STALE_PENDING_MS + 10);
    const meanwhile = await windows.claim(mirror, 'push-c', T0 + STALE_PENDING_MS + 20);
    const jidMeanwhile = await windows.jidOf(mirror);
    await windows.sent(mirror, 'push-b', 'jid-b', T0 + STALE_PENDING_MS + 30);
    // Assess
    expect(seen(meanwhile)).toEqual(joined());
    expect(jidMeanwhile).toBeUndefined();
    expect(seen(await windows.claim(mirror, 'push-d', T0 + STALE_PENDING_MS + 40))).toEqual(joined('jid-b', T0 + STALE_PENDING_MS + 30 + WINDOW_MS));
  });
});

describe('createSyncWindows: across containers', () => {
  it('gives exactly one of ten concurrent claims from two containers the window', async () => {
    // Prepare: two containers, each with its own DynamoDB client.
    const mirror = newMirror();
    const other = createSyncWindows({ tableName: durable.tableName, windowMs: WINDOW_MS });
    try {
      // Act
      const claims = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? windows : other).claim(mirror, `push-${i}`, T0 + i)));
      // Assess
      expect(claims.filter((claim) => claim.kind === 'claimed')).toHaveLength(1);
      expect(claims.filter((claim) => claim.kind === 'joined')).toHaveLength(9);
    } finally {
      other.close();
    }
  });

  it('rejects with LEDGER_UNAVAILABLE (LedgerStoreError) when DynamoDB cannot be reached', async () => {
    // Prepare
    const unreachable = await unreachableDynamoDb();
    const down = createSyncWindows({ tableName: durable.tableName, client: unreachable.client });
    try {
      // Act
      const failures = await Promise.all([
        down.claim(newMirror(), 'push-a', T0).catch((error: unknown) => error),
        down.sent(newMirror(), 'push-a', 'jid-a', T0).catch((error: unknown) => error),
        down.jidOf(newMirror()).catch((error: unknown) => error),
      ]);
      // Assess
      for (const failure of failures) {
        expect(failure).toBeInstanceOf(LedgerStoreError);
        expect(failure).toMatchObject({ code: 'LEDGER_UNAVAILABLE' });
      }
    } finally {
      down.close();
      unreachable.restore();
    }
  });
});
