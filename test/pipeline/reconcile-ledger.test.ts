import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushIdOf, pushKey } from '../../lib/ledger/push-id';
import { refToConfirm } from '../../lib/ledger/refs';
import type { LedgerEntry } from '../../lib/ledger/types';
import { createLogger } from '../../lib/observability/log';
import { requeueOverdueChecks } from '../../lib/pipeline/reconcile-ledger';
import { startDurableEngines, type DurableEngines } from '../support/durable';

/** The reconcile's sweep of the ledger, against the real local engines (dynalite, fauxqs). */

const SETTINGS = { confirmAfterSeconds: 20, giveUpAfterMinutes: 1440 };
const HOUR = 3_600_000;
const NOW = Date.now();
let durable: DurableEngines;
let counter = 0;

function entry(mirrorKey: string, arrivedAt: number): LedgerEntry {
  counter += 1;
  const refs = [{ ref: 'refs/heads/main', before: 'a'.repeat(40), after: counter.toString(16).padStart(40, '0'), deleted: false }];
  const key = pushKey('github.com/acme/sweep', refs);
  return {
    pushId: pushIdOf(key),
    key,
    source: 'github.com/acme/sweep',
    refs,
    arrivedAt,
    state: 'received',
    mirrors: [{ repositoryId: Number(mirrorKey), state: 'received', refs: refs.flatMap((r) => refToConfirm(r) ?? []), jids: [], attempts: 0 }],
  };
}

beforeAll(async () => {
  durable = await startDurableEngines();
}, 60_000);

afterAll(async () => {
  await durable?.close();
});

describe('requeueOverdueChecks', () => {
  it('queues a new confirm task for a pending push whose check is overdue, and leaves fresh and settled pushes alone', async () => {
    // Prepare
    const overdue = entry('901', NOW - 2 * HOUR);
    const fresh = entry('901', NOW - 60_000);
    const settled = entry('901', NOW - 3 * HOUR);
    for (const push of [overdue, fresh, settled]) await durable.store.recordPush(push);
    await durable.store.updateMirror(settled.pushId, '901', { event: 'confirmed', heads: { 'refs/heads/main': 'superseded' }, at: NOW - 2 * HOUR });
    const logger = createLogger({ level: 'error', write: () => undefined });
    // Act
    const sweep = await requeueOverdueChecks({ store: durable.store, queue: durable.queue, mirrorKeys: ['901', '901', '902'], settings: SETTINGS, logger, now: () => NOW });
    // Assess
    expect(sweep).toEqual({ pending: 2, requeued: 1, failedMirrors: 0 });
    const tasks = await durable.receive(durable.queueUrl, 2);
    expect(tasks).toEqual([{ v: 1, kind: 'confirm', push_id: overdue.pushId, mirror: '901', attempt: 1, arrived_at: overdue.arrivedAt }]);
  });
});
