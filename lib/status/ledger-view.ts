/**
 * What the status routes show from the push ledger: per mirror its last push, its last confirmed
 * push and that push's lag, and the pushes still pending. True across containers, unlike the last
 * triggers: every container writes the one table. Bounded: one Query of the newest `LEDGER_WINDOW`
 * pushes per mirror, a few mirrors at a time, within the page deadline.
 *
 * Only types come from the ledger store, so the status page does not load the AWS SDK by itself;
 * its errors are told apart by name.
 */
import { ErrorCodes } from '../errors';
import type { LedgerState } from '../ledger/types';
import type { Logger } from '../observability/log';
import type { LedgerMirrorSummary, LedgerStore, LedgerStoreError } from '../pipeline/ledger-store';
import { runWithin } from './run-within';

/** Pushes read per mirror: the newest ones; `pending` counts among them. */
export const LEDGER_WINDOW = 25;
/** Pending push ids listed per mirror (the newest). */
export const PENDING_IDS_SHOWN = 10;

/** The ledger reads the status routes make. */
export type StatusLedger = Pick<LedgerStore, 'getPush' | 'recentForMirror'>;

export interface LedgerMirrorView {
  /** The newest push of the mirror, in this mirror's state. */
  readonly last_push: { readonly push_id: string; readonly state: LedgerState; readonly arrived_at: string; readonly refs: readonly string[] } | null;
  /** The newest push the mirror was seen to hold, and how long after its arrival. */
  readonly last_confirmed: { readonly push_id: string; readonly confirmed_at: string; readonly lag_seconds: number } | null;
  /** Pushes neither mirrored nor failed among the newest `LEDGER_WINDOW`. */
  readonly pending: number;
  /** The newest of them, at most `PENDING_IDS_SHOWN`. */
  readonly pending_push_ids: readonly string[];
}

/** Why a mirror's ledger part is missing; the row shows it, the page is answered all the same. */
export interface LedgerViewError {
  readonly error: string;
  readonly code: typeof ErrorCodes.LEDGER_UNAVAILABLE | typeof ErrorCodes.LEDGER_REJECTED;
}

export type LedgerView = LedgerMirrorView | LedgerViewError;

/** The view of one mirror from its pushes, newest first (as `recentForMirror` answers them). */
export function ledgerViewOf(summaries: readonly LedgerMirrorSummary[]): LedgerMirrorView {
  const iso = (ms: number): string => new Date(ms).toISOString();
  const last = summaries[0];
  const confirmed = summaries.find((push) => push.state === 'mirrored' && push.confirmedAt !== undefined);
  const pending = summaries.filter((push) => push.state === 'received' || push.state === 'triggered');
  return {
    last_push: last === undefined ? null : { push_id: last.pushId, state: last.state, arrived_at: iso(last.arrivedAt), refs: last.refs },
    last_confirmed:
      confirmed?.confirmedAt === undefined
        ? null
        : { push_id: confirmed.pushId, confirmed_at: iso(confirmed.confirmedAt), lag_seconds: Math.max(0, confirmed.confirmedAt - confirmed.arrivedAt) / 1000 },
    pending: pending.length,
    pending_push_ids: pending.slice(0, PENDING_IDS_SHOWN).map((push) => push.pushId),
  };
}

/** A ledger read that did not happen, by name (see the module comment). */
export function isLedgerStoreError(error: unknown): error is LedgerStoreError {
  return error instanceof Error && error.name === 'LedgerStoreError';
}

const UNAVAILABLE: LedgerViewError = Object.freeze({ error: 'the ledger could not be read now (DynamoDB unavailable); reload later', code: ErrorCodes.LEDGER_UNAVAILABLE });
const REJECTED: LedgerViewError = Object.freeze({ error: 'DynamoDB refused the ledger read (a deployment problem; the log says more)', code: ErrorCodes.LEDGER_REJECTED });
const TIMED_OUT: LedgerViewError = Object.freeze({ error: 'the ledger did not answer before the deadline', code: ErrorCodes.LEDGER_UNAVAILABLE });

export interface LedgerViewsOptions {
  readonly ledger: StatusLedger;
  readonly logger: Logger;
  readonly now: () => number;
  /** Ledger Queries in flight at once. */
  readonly concurrency: number;
}

/**
 * The view of every mirror in `mirrorKeys`; a mirror whose read failed, or had not answered by
 * `deadline`, gets an error instead. Never throws. One log line for all the failures of a page.
 */
export async function readLedgerViews(options: LedgerViewsOptions, mirrorKeys: readonly string[], deadline: number): Promise<Map<string, LedgerView>> {
  const { ledger, logger, now, concurrency } = options;
  const views = new Map<string, LedgerView>();
  const failures: unknown[] = [];
  const done = await runWithin(mirrorKeys, deadline, concurrency, now, async (key) => {
    try {
      views.set(key, ledgerViewOf(await ledger.recentForMirror(key, LEDGER_WINDOW)));
    } catch (error) {
      failures.push(error);
      views.set(key, isLedgerStoreError(error) && error.code === ErrorCodes.LEDGER_REJECTED ? REJECTED : UNAVAILABLE);
    }
  });
  if (failures.length > 0) {
    const unexpected = failures.some((error) => !isLedgerStoreError(error));
    logger[unexpected ? 'error' : 'warn']('status: the ledger could not be read for some mirrors', { failed: failures.length, error: failures[0] });
  }
  if (!done) logger.warn('status: the ledger did not answer for every mirror before the deadline', { mirrors: mirrorKeys.length });
  // A fresh map: reads still in flight must not change a page already answered.
  return new Map(mirrorKeys.map((key): [string, LedgerView] => [key, views.get(key) ?? TIMED_OUT]));
}
