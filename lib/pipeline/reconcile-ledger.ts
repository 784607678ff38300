/**
 * The reconcile's part in the durable pipeline: the safety net under the confirm queue. A push the
 * ledger still holds as pending whose next check is overdue (`checkIsOverdue`) has lost its confirm
 * task — a local queue restarted, a task that failed five times and was redriven to the DLQ — so a
 * new task is queued for it, numbered after the checks already made. The worker does the rest, as
 * for any task; a task re-queued twice costs one extra look at the mirror, never a push.
 */
import { checkIsOverdue, type ConfirmSettings } from '../ledger/confirm';
import type { Logger } from '../observability/log';
import type { LedgerStore } from './ledger-store';
import type { PushQueue } from './push-queue';

export interface LedgerSweepOptions {
  readonly store: Pick<LedgerStore, 'pendingForMirror'>;
  readonly queue: Pick<PushQueue, 'sendConfirm'>;
  /** The ledger keys of the configured mirrors (`target` path, else repository id). */
  readonly mirrorKeys: readonly string[];
  readonly settings: ConfirmSettings;
  readonly logger: Logger;
  /** Pending pushes looked at per mirror, newest first. @default 50 */
  readonly limitPerMirror?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

export interface LedgerSweep {
  /** Pending pushes looked at. */
  readonly pending: number;
  /** Overdue ones given a new confirm task. */
  readonly requeued: number;
  /** Mirrors whose pending pushes could not be read or re-queued (logged). */
  readonly failedMirrors: number;
}

export async function requeueOverdueChecks(options: LedgerSweepOptions): Promise<LedgerSweep> {
  const now = options.now ?? Date.now;
  let pending = 0;
  let requeued = 0;
  let failedMirrors = 0;
  for (const mirrorKey of new Set(options.mirrorKeys)) {
    try {
      for (const { entry, mirror } of await options.store.pendingForMirror(mirrorKey, options.limitPerMirror ?? 50)) {
        pending += 1;
        if (!checkIsOverdue(entry.arrivedAt, mirror.attempts, now(), options.settings)) continue;
        await options.queue.sendConfirm({ v: 1, kind: 'confirm', push_id: entry.pushId, mirror: mirrorKey, attempt: mirror.attempts + 1, arrived_at: entry.arrivedAt }, 0);
        requeued += 1;
        options.logger.warn('reconcile: confirm check overdue, re-queued', { pushId: entry.pushId, mirror: mirrorKey, attempts: mirror.attempts });
      }
    } catch (error) {
      failedMirrors += 1;
      options.logger.error('reconcile: pending pushes not swept', { mirror: mirrorKey, error });
    }
  }
  return { pending, requeued, failedMirrors };
}
