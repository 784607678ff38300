/**
 * The ledger's items, pure: how a `LedgerEntry` is laid out in the one table serverless.yml declares
 * (LedgerTable's comment), read back, and how an event changes one mirror's side of a push.
 *
 *   PUSH#<push_id>   PUSH              the push: key, source, refs, arrival, state (derived, for queries)
 *   PUSH#<push_id>   MIRROR#<mirror>   that push in one mirror; gsi1pk MIRROR#<mirror>, gsi1sk
 *                                      <arrival ISO>#<push_id>: the by_mirror index, newest first
 *   MIRROR#<mirror>  REF#<ref>         the newest push to that ref (what "superseded" is judged by)
 *
 * Every item carries `version` (bumped by each write that changes it: the optimistic condition) and
 * `expires_at` (epoch seconds, the table's TTL).
 */

import type { ProviderId, RefChange } from '../providers/types';
import type { ConfirmedHead } from '../ledger/confirm';
import type { RefToConfirm } from '../ledger/refs';
import { nextState, overallState, type LedgerEntry, type LedgerError, type LedgerEvent, type LedgerMirror, type LedgerState } from '../ledger/types';

/** How long items are kept after a push arrives: past the longest give-up time (14 days), for status pages. */
export const DEFAULT_RETENTION_DAYS = 30;

export const PUSH_SK = 'PUSH';
export const MIRROR_SK_PREFIX = 'MIRROR#';
export const pushPk = (pushId: string): string => `PUSH#${pushId}`;
export const mirrorSk = (mirrorKey: string): string => `${MIRROR_SK_PREFIX}${mirrorKey}`;
export const mirrorPk = (mirrorKey: string): string => `MIRROR#${mirrorKey}`;
export const refSk = (ref: string): string => `REF#${ref}`;

/**
 * The name a mirror goes by in the ledger (and in confirm tasks): its CodeHub path when configured by
 * one (stable, while its repository id is resolved later), else its repository id. Takes a ledger
 * mirror or a configured one (`MirrorTarget`, `PathMirror`).
 */
export function mirrorKeyOf(mirror: { readonly repositoryId?: number | undefined; readonly target?: string | undefined }): string {
  return mirror.target ?? String(mirror.repositoryId);
}

export interface PushItem {
  readonly pk: string;
  readonly sk: typeof PUSH_SK;
  readonly push_id: string;
  readonly key: string;
  readonly source: string;
  readonly provider?: ProviderId | undefined;
  readonly refs: readonly RefChange[];
  readonly arrived_at: number;
  readonly state: LedgerState;
  /** The mirrors' keys in the entry's order. */
  readonly mirror_keys: readonly string[];
  readonly version: number;
  readonly expires_at: number;
}

export interface MirrorItem {
  readonly pk: string;
  readonly sk: string;
  readonly gsi1pk: string;
  readonly gsi1sk: string;
  readonly push_id: string;
  readonly mirror_key: string;
  readonly arrived_at: number;
  readonly repository_id: number;
  readonly target?: string | undefined;
  readonly state: LedgerState;
  readonly refs: readonly RefToConfirm[];
  readonly jids: readonly string[];
  readonly attempts: number;
  readonly confirmed_heads?: Readonly<Record<string, ConfirmedHead>> | undefined;
  readonly confirmed_at?: number | undefined;
  readonly last_error?: LedgerError | undefined;
  readonly version: number;
  readonly expires_at: number;
}

export interface RefPointerItem {
  readonly pk: string;
  readonly sk: string;
  readonly push_id: string;
  readonly arrived_at: number;
  readonly expires_at: number;
}

const expiresAt = (arrivedAt: number, retentionDays: number): number => Math.ceil(arrivedAt / 1000) + retentionDays * 86_400;

export function pushItemOf(entry: LedgerEntry, retentionDays: number, version = 0): PushItem {
  return {
    pk: pushPk(entry.pushId),
    sk: PUSH_SK,
    push_id: entry.pushId,
    key: entry.key,
    source: entry.source,
    provider: entry.provider,
    refs: entry.refs.map(({ ref, before, after, deleted }) => ({ ref, before, after, deleted })),
    arrived_at: entry.arrivedAt,
    state: overallState(entry.mirrors),
    mirror_keys: entry.mirrors.map(mirrorKeyOf),
    version,
    expires_at: expiresAt(entry.arrivedAt, retentionDays),
  };
}

export function mirrorItemOf(entry: Pick<LedgerEntry, 'pushId' | 'arrivedAt'>, mirror: LedgerMirror, retentionDays: number, version = 0): MirrorItem {
  const mirrorKey = mirrorKeyOf(mirror);
  return {
    pk: pushPk(entry.pushId),
    sk: mirrorSk(mirrorKey),
    gsi1pk: mirrorPk(mirrorKey),
    gsi1sk: `${new Date(entry.arrivedAt).toISOString()}#${entry.pushId}`,
    push_id: entry.pushId,
    mirror_key: mirrorKey,
    arrived_at: entry.arrivedAt,
    repository_id: mirror.repositoryId,
    target: mirror.target,
    state: mirror.state,
    refs: mirror.refs,
    jids: mirror.jids,
    attempts: mirror.attempts,
    confirmed_heads: mirror.confirmedHeads,
    confirmed_at: mirror.confirmedAt,
    last_error: mirror.lastError,
    version,
    expires_at: expiresAt(entry.arrivedAt, retentionDays),
  };
}

/** One pointer per mirror and ref the push changed. */
export function refPointersOf(entry: LedgerEntry, retentionDays: number): RefPointerItem[] {
  const refs = [...new Set(entry.refs.map((change) => change.ref))];
  return entry.mirrors.flatMap((mirror) =>
    refs.map((ref) => ({
      pk: mirrorPk(mirrorKeyOf(mirror)),
      sk: refSk(ref),
      push_id: entry.pushId,
      arrived_at: entry.arrivedAt,
      expires_at: expiresAt(entry.arrivedAt, retentionDays),
    })),
  );
}

export function mirrorOf(item: MirrorItem): LedgerMirror {
  return {
    repositoryId: item.repository_id,
    ...(item.target === undefined ? {} : { target: item.target }),
    state: item.state,
    refs: item.refs,
    jids: item.jids,
    attempts: item.attempts,
    ...(item.confirmed_heads === undefined ? {} : { confirmedHeads: item.confirmed_heads }),
    ...(item.confirmed_at === undefined ? {} : { confirmedAt: item.confirmed_at }),
    ...(item.last_error === undefined ? {} : { lastError: item.last_error }),
  };
}

/**
 * The entry a push item and its mirror items make. The state is derived from the mirrors as read,
 * not taken from the push item: that copy is for queries and may lag a write that was cut short.
 */
export function entryOf(push: PushItem, mirrors: readonly MirrorItem[]): LedgerEntry {
  const byKey = new Map(mirrors.map((item) => [item.mirror_key, mirrorOf(item)]));
  const ordered = push.mirror_keys.flatMap((key) => byKey.get(key) ?? []);
  return {
    pushId: push.push_id,
    key: push.key,
    source: push.source,
    ...(push.provider === undefined ? {} : { provider: push.provider }),
    refs: push.refs,
    arrivedAt: push.arrived_at,
    state: overallState(ordered),
    mirrors: ordered,
  };
}

/** One push of a mirror as the by_mirror index holds it: what a status row shows, without reading the push. */
export interface LedgerMirrorSummary {
  readonly pushId: string;
  readonly arrivedAt: number;
  /** This mirror's state of the push (not the push's overall state). */
  readonly state: LedgerState;
  /** The refs this mirror waits for (full names); empty when it syncs none of the push's refs. */
  readonly refs: readonly string[];
  readonly confirmedAt?: number | undefined;
}

/** The attributes of a mirror item a summary needs: the Query projects only these. */
export const MIRROR_SUMMARY_ATTRIBUTES = ['push_id', 'arrived_at', 'state', 'refs', 'confirmed_at'] as const;

export function mirrorSummaryOf(item: Pick<MirrorItem, (typeof MIRROR_SUMMARY_ATTRIBUTES)[number]>): LedgerMirrorSummary {
  return {
    pushId: item.push_id,
    arrivedAt: item.arrived_at,
    state: item.state,
    refs: (item.refs ?? []).map((target) => target.ref),
    ...(item.confirmed_at === undefined ? {} : { confirmedAt: item.confirmed_at }),
  };
}

/**
 * What happened, for one mirror. A confirm decision counts as a check (`attempts` + 1); a trigger does
 * when the worker made it after a check (`checked`), not when the webhook made the first one.
 */
export type MirrorUpdate =
  | { readonly event: 'trigger-accepted'; readonly jid: string; readonly repositoryId?: number; readonly checked?: boolean }
  | { readonly event: 'trigger-deferred'; readonly error: LedgerError; readonly checked?: boolean }
  /** A check that found the push not there yet (the job still running, or a head unread); `error` if a read failed. */
  | { readonly event: 'checked'; readonly error?: LedgerError | undefined }
  | { readonly event: 'confirmed'; readonly heads: Readonly<Record<string, ConfirmedHead>>; readonly at: number }
  | { readonly event: 'gave-up'; readonly error: LedgerError };

export type AppliedUpdate =
  | { readonly kind: 'changed'; readonly mirror: LedgerMirror }
  /** Already final in the state the event leads to (a repeated SQS message): the first word stands. */
  | { readonly kind: 'unchanged' }
  /** The event would move the push backwards (`nextState` refuses it). */
  | { readonly kind: 'refused' };

const FINAL: ReadonlySet<LedgerState> = new Set(['mirrored', 'failed']);

/** The mirror after `update`, by `nextState`'s rules. */
export function applyUpdate(mirror: LedgerMirror, update: MirrorUpdate): AppliedUpdate {
  const event: LedgerEvent = update.event;
  const state = nextState(mirror.state, event);
  if (state === undefined) return { kind: 'refused' };
  if (state === mirror.state && FINAL.has(state)) return { kind: 'unchanged' };
  switch (update.event) {
    case 'trigger-accepted':
      return {
        kind: 'changed',
        mirror: {
          ...mirror,
          state,
          ...(update.repositoryId === undefined ? {} : { repositoryId: update.repositoryId }),
          jids: mirror.jids.includes(update.jid) ? mirror.jids : [...mirror.jids, update.jid],
          attempts: mirror.attempts + (update.checked === true ? 1 : 0),
        },
      };
    case 'trigger-deferred':
      return { kind: 'changed', mirror: { ...mirror, state, attempts: mirror.attempts + (update.checked === true ? 1 : 0), lastError: update.error } };
    case 'checked':
      return { kind: 'changed', mirror: { ...mirror, state, attempts: mirror.attempts + 1, ...(update.error === undefined ? {} : { lastError: update.error }) } };
    case 'confirmed':
      return { kind: 'changed', mirror: { ...mirror, state, attempts: mirror.attempts + 1, confirmedHeads: update.heads, confirmedAt: update.at } };
    case 'gave-up':
      return { kind: 'changed', mirror: { ...mirror, state, attempts: mirror.attempts + 1, lastError: update.error } };
  }
}
