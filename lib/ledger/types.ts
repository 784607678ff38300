/**
 * A ledger entry: one accepted push, owned by the bridge until every mirror provably holds it. The
 * entry as stored (times in epoch ms) and as `GET /pushes/{push_id}` shows it (`pushStatusOf`), and
 * the state transitions allowed, so that no write can move a push backwards (mirrored → triggered)
 * however late a duplicate message or a slow container arrives.
 */

import type { ProviderId, RefChange } from '../providers/types';
import type { ConfirmedHead } from './confirm';
import type { RefToConfirm } from './refs';

/**
 * - `received`: recorded; no sync has been accepted yet (CodeHub could not take it now: queued).
 * - `triggered`: CodeHub accepted a sync (a `jid`); not yet seen in the mirror.
 * - `mirrored`: the mirror shows every ref the push changed (or a later push superseded it).
 * - `failed`: not mirrored by the give-up time.
 */
export type LedgerState = 'received' | 'triggered' | 'mirrored' | 'failed';

/**
 * What happened to a push (for one mirror):
 * - `trigger-accepted`: CodeHub answered a sync with a `jid` (a first trigger or a re-trigger).
 * - `trigger-deferred`: CodeHub could not take it now (throttled, 5xx, timeout); the queue retries.
 * - `confirmed`: the confirm decision was `mirrored`.
 * - `checked`: a confirm check found the push not there yet, and nothing to do but look again later.
 * - `confirmed`: the confirm decision was `mirrored`.
 * - `gave-up`: the confirm decision was `failed`.
 */
export type LedgerEvent = 'trigger-accepted' | 'trigger-deferred' | 'checked' | 'confirmed' | 'gave-up';

/** The last error a mirror's push met: the bridge's code (e.g. CODEHUB_THROTTLED), words, when. */
export interface LedgerError {
  readonly code: string;
  readonly message: string;
  readonly at: number;
}

/** One mirror's side of a push. */
export interface LedgerMirror {
  /** CodeHub repository id (a mirror by path: resolved before its first trigger). */
  readonly repositoryId: number;
  /** The CodeHub path, for a mirror configured by one. */
  readonly target?: string | undefined;
  readonly state: LedgerState;
  /** The refs this mirror must show (`refsToConfirm`); empty = nothing to wait for. */
  readonly refs: readonly RefToConfirm[];
  /** Every sync CodeHub accepted for this push, oldest first (a joined sync's `jid` too). */
  readonly jids: readonly string[];
  /** Confirm checks done. */
  readonly attempts: number;
  /** Per ref, the head the mirror was confirmed at; set once `mirrored`. */
  readonly confirmedHeads?: Readonly<Record<string, ConfirmedHead>> | undefined;
  readonly confirmedAt?: number | undefined;
  readonly lastError?: LedgerError | undefined;
}

export interface LedgerEntry {
  readonly pushId: string;
  /** `pushKey` of the push: what a replay is recognised by. */
  readonly key: string;
  readonly source: string;
  /**
   * The kind of Git host that delivered the push: which commit-status API its mirrors' states are
   * reported to (issue 13). Undefined for CodeCommit, which has none.
   */
  readonly provider?: ProviderId | undefined;
  readonly refs: readonly RefChange[];
  readonly arrivedAt: number;
  /** Derived from the mirrors' states (`overallState`), stored for queries. */
  readonly state: LedgerState;
  readonly mirrors: readonly LedgerMirror[];
}

/** For each state and event, the state it leads to; a missing event is refused. */
const TRANSITIONS: Readonly<Record<LedgerState, Partial<Record<LedgerEvent, LedgerState>>>> = {
  received: { 'trigger-accepted': 'triggered', 'trigger-deferred': 'received', checked: 'received', confirmed: 'mirrored', 'gave-up': 'failed' },
  triggered: { 'trigger-accepted': 'triggered', 'trigger-deferred': 'triggered', checked: 'triggered', confirmed: 'mirrored', 'gave-up': 'failed' },
  // Final. A repeated event (SQS delivers at least once) keeps the state; nothing moves it back.
  mirrored: { confirmed: 'mirrored' },
  // A late proof is still proof: a failed push the mirror is later seen to hold (a redriven message) is mirrored.
  failed: { 'gave-up': 'failed', confirmed: 'mirrored' },
};

/** The state `event` moves `current` to; undefined when that would move the push backwards (refused). */
export function nextState(current: LedgerState, event: LedgerEvent): LedgerState | undefined {
  return TRANSITIONS[current][event];
}

/**
 * A push's state from its mirrors': `mirrored` when every mirror is (also when there is none:
 * nothing to wait for), `failed` when every mirror is final and one failed, else `triggered` once
 * any sync was accepted, else `received`.
 */
export function overallState(mirrors: readonly Pick<LedgerMirror, 'state'>[]): LedgerState {
  const states = mirrors.map((mirror) => mirror.state);
  if (states.every((state) => state === 'mirrored')) return 'mirrored';
  if (states.every((state) => state === 'mirrored' || state === 'failed')) return 'failed';
  return states.some((state) => state !== 'received') ? 'triggered' : 'received';
}

/** `GET /pushes/{push_id}`: the entry in the status routes' JSON style (snake_case, ISO times). */
export interface PushStatus {
  readonly push_id: string;
  readonly state: LedgerState;
  readonly source: string;
  readonly arrived_at: string;
  readonly refs: readonly { readonly ref: string; readonly before: string; readonly after: string; readonly deleted: boolean }[];
  readonly mirrors: readonly {
    readonly repository_id: number;
    readonly target?: string;
    readonly state: LedgerState;
    readonly waits_for: readonly string[];
    readonly jids: readonly string[];
    readonly attempts: number;
    readonly confirmed_heads: Readonly<Record<string, ConfirmedHead>> | null;
    readonly confirmed_at: string | null;
    readonly last_error: { readonly code: string; readonly message: string; readonly at: string } | null;
  }[];
}

/** The status view of an entry. The key is left out: it says nothing a reader needs. */
export function pushStatusOf(entry: LedgerEntry): PushStatus {
  const iso = (ms: number): string => new Date(ms).toISOString();
  return {
    push_id: entry.pushId,
    state: entry.state,
    source: entry.source,
    arrived_at: iso(entry.arrivedAt),
    refs: entry.refs.map(({ ref, before, after, deleted }) => ({ ref, before, after, deleted })),
    mirrors: entry.mirrors.map((mirror) => ({
      repository_id: mirror.repositoryId,
      ...(mirror.target === undefined ? {} : { target: mirror.target }),
      state: mirror.state,
      waits_for: mirror.refs.map((target) => target.ref),
      jids: mirror.jids,
      attempts: mirror.attempts,
      confirmed_heads: mirror.confirmedHeads ?? null,
      confirmed_at: mirror.confirmedAt === undefined ? null : iso(mirror.confirmedAt),
      last_error: mirror.lastError === undefined ? null : { ...mirror.lastError, at: iso(mirror.lastError.at) },
    })),
  };
}
