/**
 * The confirm decision, pure: given what CodeHub shows now, is the push mirrored, should the worker
 * look again later, trigger the sync again, or give up? The clock is passed in.
 *
 * Compare heads, never trust a job's status: a job can finish without the commit (a push that
 * lands while a sync is running is most likely not in it). The job's status only decides between
 * waiting for a running job and triggering a new one.
 */

import { ConfigError } from '../errors';
import type { RefToConfirm } from './refs';

/**
 * What CodeHub shows for a ref: its head (for a tag also the tag object, `target`), no such ref, or
 * not known (the read failed).
 */
export type RefHead = { readonly sha: string; readonly target?: string | undefined } | 'absent' | 'unknown';

export interface ConfirmSettings {
  /** Seconds from arrival to the first check, and the first backoff step. @default 20 */
  readonly confirmAfterSeconds: number;
  /** Minutes from arrival after which a push not yet mirrored is failed. @default 1440 (a day) */
  readonly giveUpAfterMinutes: number;
}

export const DEFAULT_CONFIRM_SETTINGS: ConfirmSettings = Object.freeze({ confirmAfterSeconds: 20, giveUpAfterMinutes: 1440 });

/** SQS's longest message delay: no check can be put off further than this in one step. */
export const MAX_DELAY_SECONDS = 900;
/** The longest wait before looking again at a mirror whose job is running. */
export const RUNNING_JOB_RECHECK_SECONDS = 30;

export interface ConfirmInput {
  /** The refs to wait for (`refsToConfirm`); empty = nothing to wait for. */
  readonly refs: readonly RefToConfirm[];
  /** Per full ref name, what CodeHub shows now; a ref missing here is `unknown`. */
  readonly heads: ReadonlyMap<string, RefHead>;
  /** Refs a later push has changed since: this push's expectation of them no longer holds, and need not. */
  readonly supersededRefs: ReadonlySet<string>;
  /** `update_status` of `GET remote-mirror`, as sent; undefined = not read or not reported. */
  readonly jobStatus: string | undefined;
  /** When the push arrived, and now (ms since the epoch). */
  readonly arrivedAt: number;
  readonly now: number;
  /** This check's number: 1 for the first. */
  readonly attempt: number;
  readonly settings: ConfirmSettings;
}

/** The head a ref was confirmed at: the SHA, absent (a deletion), or superseded by a later push. */
export type ConfirmedHead = { readonly sha: string } | 'absent' | 'superseded';

export type ConfirmDecision =
  | { readonly kind: 'mirrored'; readonly at: number; readonly heads: ReadonlyMap<string, ConfirmedHead> }
  /** The mirror's job is still running (or a head could not be read): look again after `delaySeconds`. */
  | { readonly kind: 'check-later'; readonly delaySeconds: number }
  /** A ref is behind and no job is running: trigger the sync again, then look after `delaySeconds`. */
  | { readonly kind: 'retrigger'; readonly delaySeconds: number }
  | { readonly kind: 'failed'; readonly reason: string };

/**
 * GitLab's pull mirror, whose fields `GET remote-mirror` copies, reports none, scheduled, started,
 * finished, failed; CodeHub documents none. Anything else counts as not running, so a ref that
 * is behind is re-triggered (a trigger while a job runs costs a call, never a push).
 */
const RUNNING_STATUSES: ReadonlySet<string> = new Set(['scheduled', 'started', 'running']);

/** Whether `update_status` says a sync is under way. */
export function jobIsRunning(status: string | undefined): boolean {
  return status !== undefined && RUNNING_STATUSES.has(status.trim().toLowerCase());
}

/**
 * Seconds to wait before the check after check `attempt` (0 = from arrival to the first check):
 * `confirmAfterSeconds`, doubling with each check, capped at SQS's 15 minutes.
 */
export function backoffSeconds(attempt: number, settings: ConfirmSettings): number {
  const steps = Math.max(0, Math.floor(attempt));
  return Math.min(settings.confirmAfterSeconds * 2 ** steps, MAX_DELAY_SECONDS);
}

/** The decision for one check; see the module comment and `ConfirmDecision`. */
export function decideConfirm(input: ConfirmInput): ConfirmDecision {
  const confirmed = new Map<string, ConfirmedHead>();
  const behind: string[] = [];
  const unread: string[] = [];
  for (const target of input.refs) {
    const head = input.heads.get(target.ref) ?? 'unknown';
    if (input.supersededRefs.has(target.ref)) confirmed.set(target.ref, 'superseded');
    else if (head === 'unknown') unread.push(target.ref);
    else if (holds(head, target)) confirmed.set(target.ref, head === 'absent' ? head : { sha: head.sha });
    else behind.push(target.ref);
  }
  if (behind.length === 0 && unread.length === 0) return { kind: 'mirrored', at: input.now, heads: confirmed };

  const giveUpAt = input.arrivedAt + input.settings.giveUpAfterMinutes * 60_000;
  if (input.now >= giveUpAt) return { kind: 'failed', reason: failureReason(behind, unread, input.settings) };
  // Whole seconds (SQS counts in them), rounded up so the last check lands at the give-up time, not just before it.
  const untilGiveUp = Math.ceil((giveUpAt - input.now) / 1000);
  const delaySeconds = Math.min(backoffSeconds(input.attempt, input.settings), untilGiveUp);
  if (behind.length === 0) return { kind: 'check-later', delaySeconds };
  // A running job ends in seconds, and its fetch may be the one this push waits for: look again soon,
  // whatever the backoff has grown to (only re-triggers double: they are what could load CodeHub).
  if (jobIsRunning(input.jobStatus)) return { kind: 'check-later', delaySeconds: Math.min(delaySeconds, RUNNING_JOB_RECHECK_SECONDS) };
  return { kind: 'retrigger', delaySeconds };
}

/** An annotated tag's push names the tag object; its ShowTag names the commit too: either is the push. */
function holds(head: Exclude<RefHead, 'unknown'>, target: RefToConfirm): boolean {
  if (target.expect === 'absent' || head === 'absent') return target.expect === head;
  const expected = target.expect.sha;
  return head.sha.toLowerCase() === expected || head.target?.toLowerCase() === expected;
}

function failureReason(behind: readonly string[], unread: readonly string[], settings: ConfirmSettings): string {
  const parts = [
    ...(behind.length === 0 ? [] : [`${behind.join(', ')} not at the pushed commit`]),
    ...(unread.length === 0 ? [] : [`${unread.join(', ')} could not be read`]),
  ];
  return `${parts.join('; ')} after ${settings.giveUpAfterMinutes} min`;
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * `CONFIRM_AFTER_SECONDS` (1..900, default 20) and `CONFIRM_GIVE_UP_AFTER_MINUTES` (1..20160,
 * i.e. up to 14 days, default 1440). Unset or empty keeps the default. Throws `ConfigError` naming
 * the variable, at cold start.
 */
export function confirmSettingsFromEnv(env: Env): ConfirmSettings {
  return {
    confirmAfterSeconds: readEnvInteger(env, 'CONFIRM_AFTER_SECONDS', MAX_DELAY_SECONDS) ?? DEFAULT_CONFIRM_SETTINGS.confirmAfterSeconds,
    giveUpAfterMinutes: readEnvInteger(env, 'CONFIRM_GIVE_UP_AFTER_MINUTES', 14 * 24 * 60) ?? DEFAULT_CONFIRM_SETTINGS.giveUpAfterMinutes,
  };
}

/**
 * `env[name]` as an integer from `min` to `max`; undefined when unset or blank.
 * @throws ConfigError naming the variable otherwise
 */
export function readEnvInteger(env: Env, name: string, max: number, min = 1): number | undefined {
  const text = env[name]?.trim();
  if (text === undefined || text === '') return undefined;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) throw new ConfigError(name, `must be an integer from ${min} to ${max}, got "${text}"`);
  return value;
}

/** How late a confirm check may be before it counts as lost: one longest step, on top of its schedule. */
export const CHECK_GRACE_SECONDS = MAX_DELAY_SECONDS;

/**
 * Whether the next confirm check of a push still pending after `attempts` checks is overdue, so that its
 * task must have been lost (a queue emptied, a task redriven to the DLQ after failing five times): the
 * check was due `confirmAfterSeconds`, doubling, after arrival (`backoffSeconds`), and may be at most
 * `CHECK_GRACE_SECONDS` late (a `Retry-After`, a slow worker) before it is. Past the give-up time a push
 * is overdue too, once the grace has passed: its last check decides `failed`.
 */
export function checkIsOverdue(arrivedAt: number, attempts: number, now: number, settings: ConfirmSettings): boolean {
  let dueAt = arrivedAt;
  for (let step = 0; step <= Math.max(0, Math.floor(attempts)); step += 1) {
    dueAt += backoffSeconds(step, settings) * 1000;
    if (dueAt > arrivedAt + settings.giveUpAfterMinutes * 60_000) break;
  }
  const giveUpAt = arrivedAt + settings.giveUpAfterMinutes * 60_000;
  return now > Math.min(dueAt, giveUpAt) + CHECK_GRACE_SECONDS * 1000;
}

/** The `lastError` codes of a push the worker gave up without a CodeHub error to name. */
export const GiveUpCodes = {
  /** The mirror did not show the push by the give-up time. */
  NOT_MIRRORED: 'PUSH_NOT_MIRRORED',
  /** The mirror is no longer in the config for the push's source: nothing would ever trigger it. */
  NOT_CONFIGURED: 'MIRROR_NOT_CONFIGURED',
} as const;
