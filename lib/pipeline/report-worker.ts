/**
 * The reporting worker: one report task at a time, it sets the commit status "CodeArts mirror" on
 * each pushed commit upstream, in the state the ledger holds now (report-statuses.ts). Best effort:
 * it never touches the ledger or a sync, and its failures never fail a push.
 *
 * 1. find: the push and its mirror in the ledger, the reporting token the config holds now, the host's
 *    status API (none for Gitee, GitCode, Gogs and CodeCommit: nothing is reported).
 * 2. gate (report-gate.ts, shared by every container): a reporter whose token was rejected is skipped;
 *    one the host asked to wait waits; each call takes one from the reporter's budget per minute.
 * 3. send, and act on the answer: a rate limit pauses the reporter and the task waits; a rejected token
 *    stops the reporter (one ERROR line and `ReportRejected`, from the one container that marks it);
 *    a host failure is tried again with backoff up to `maxAttempts`; anything else is dropped.
 * 4. a pending status just sent is checked against the ledger once more: a push confirmed meanwhile
 *    gets its final status now, so a slow pending can never be the commit's last word.
 *
 * Ledger, gate and queue failures are thrown: the record fails and SQS delivers it again.
 */

import { reportSettingsFor, type MirrorIndex } from '../config/mapping';
import type { ReportSettings } from '../config/types';
import type { LedgerEntry, LedgerMirror } from '../ledger/types';
import type { Logger } from '../observability/log';
import { hostOf } from '../providers/identity';
import type { StatusAnswer } from '../report/answer';
import { reporterFor, reportHostOf, splitSource, StatusRequestError, type CommitStatus, type StatusReporter } from '../report/index';
import { configuredMirror } from './confirm-check';
import { mirrorKeyOf, type LedgerStore } from './ledger-store';
import type { PushQueue, ReportTask } from './push-queue';
import { reporterKey, type ReportGate } from './report-gate';
import type { SendStatus } from './report-send';
import type { ReportSettingsFromEnv } from './report-settings';
import { statusesOf } from './report-statuses';

export type ReportMetric = 'ReportsSent' | 'ReportThrottled' | 'ReportRejected' | 'ReportDropped';

export interface ReportWorkerOptions {
  readonly store: Pick<LedgerStore, 'getPush'>;
  readonly queue: Pick<PushQueue, 'sendReport'>;
  readonly gate: ReportGate;
  /** The mirror config as loaded now: the token in force is the one reported with. */
  readonly index: MirrorIndex;
  readonly send: SendStatus;
  readonly settings: ReportSettingsFromEnv;
  readonly logger: Logger;
  readonly metrics?: { count(name: ReportMetric, value?: number): void } | undefined;
  /** @default Date.now */
  readonly now?: () => number;
}

/** What one report task came to. */
export type ReportOutcome =
  | { readonly kind: 'reported'; readonly state: CommitStatus['state']; readonly shas: readonly string[] }
  /** Sent back to the queue: the host asked to wait, the budget is spent, or the host failed. */
  | { readonly kind: 'waiting'; readonly delaySeconds: number; readonly why: string }
  /** The reporter's token was rejected (now or before): nothing is sent for it. */
  | { readonly kind: 'disabled' }
  | { readonly kind: 'dropped'; readonly reason: string };

export interface ReportWorker {
  handle(task: ReportTask): Promise<ReportOutcome>;
}

/** A push the ledger does not show yet is looked for again this long after its arrival (its record may be in flight). */
const NOT_YET_RECORDED_MS = 60_000;

interface Target {
  readonly reporter: StatusReporter;
  readonly apiUrl: string;
  readonly path: string;
  readonly report: ReportSettings;
  readonly key: string;
}

export function createReportWorker(options: ReportWorkerOptions): ReportWorker {
  const { store, queue, gate, logger, settings } = options;
  const now = options.now ?? Date.now;
  const count = (name: ReportMetric): void => options.metrics?.count(name);

  async function handle(task: ReportTask): Promise<ReportOutcome> {
    const entry = await store.getPush(task.push_id);
    if (entry === undefined) {
      if (now() - task.arrived_at < NOT_YET_RECORDED_MS) return later(task, 5, 'the push is not in the ledger yet');
      return dropped(task, 'the ledger has no such push');
    }
    const mirror = entry.mirrors.find((candidate) => mirrorKeyOf(candidate) === task.mirror);
    if (mirror === undefined) return dropped(task, 'the push has no such mirror');
    const target = targetOf(entry, task.mirror);
    if (typeof target === 'string') return dropped(task, target, 'debug');

    const state = await gate.state(target.key, now());
    if (state.kind === 'rejected') return { kind: 'disabled' };
    if (state.kind === 'paused') return later(task, (state.until - now()) / 1000, 'the host asked to wait');

    const first = await sendAll(task, target, entry, mirror);
    if (first.kind !== 'reported' || first.state !== 'pending') return first;
    // A confirm that landed while the pending status was on its way: report it now, not never.
    const reread = await store.getPush(task.push_id);
    const current = reread?.mirrors.find((candidate) => mirrorKeyOf(candidate) === task.mirror);
    if (reread === undefined || current === undefined || current.state === 'received' || current.state === 'triggered') return first;
    return sendAll(task, target, reread, current);
  }

  /** The host, API and token for the push's mirror, or why there is nothing to report to. */
  function targetOf(entry: LedgerEntry, mirrorKey: string): Target | string {
    if (entry.provider === undefined) return 'the push came from no host with a status API';
    const host = hostOf(entry.source);
    const api = reportHostOf(entry.provider, host);
    if (api === undefined) return `${entry.provider} has no commit-status API the bridge can set`;
    const configured = configuredMirror(options.index, entry.source, mirrorKey);
    const report = reportSettingsFor(options.index, configured ?? { source: entry.source, report: undefined });
    if (report === undefined) return `no report token is configured for ${host}`;
    const reporter = reporterFor(api);
    const { path } = splitSource(entry.source);
    try {
      const apiUrl = report.apiUrl ?? reporter.defaultApiUrl(host, path);
      return { reporter, apiUrl, path, report, key: reporterKey(apiUrl, report.token) };
    } catch (error) {
      if (error instanceof StatusRequestError) return `the source is not a ${api} repository (${error.code})`;
      throw error;
    }
  }

  async function sendAll(task: ReportTask, target: Target, entry: LedgerEntry, mirror: LedgerMirror): Promise<ReportOutcome> {
    const statuses = statusesOf(entry, mirror, settings.targetUrl);
    const [first] = statuses;
    if (first === undefined) return dropped(task, 'the mirror waits for no commit', 'debug');
    for (const status of statuses) {
      const budget = await gate.take(target.key, now(), settings.maxCallsPerMinute);
      if (budget.kind === 'over') return later(task, (budget.retryAt - now()) / 1000, 'the reporter spent its budget for this minute');
      let answer: StatusAnswer;
      try {
        answer = await options.send(target.reporter.request(target.apiUrl, target.path, status, target.report.token), target.report.token);
      } catch (error) {
        if (error instanceof StatusRequestError) return dropped(task, `the status cannot be sent: ${error.code}: ${error.message}`);
        throw error;
      }
      const settled = await onAnswer(task, target, answer);
      if (settled !== undefined) return settled;
      count('ReportsSent');
    }
    logger.debug('commit status reported', { pushId: task.push_id, mirror: task.mirror, state: first.state, shas: statuses.map((s) => s.sha) });
    return { kind: 'reported', state: first.state, shas: statuses.map((status) => status.sha) };
  }

  /** Undefined when the status was set; else what the task comes to. */
  async function onAnswer(task: ReportTask, target: Target, answer: StatusAnswer): Promise<ReportOutcome | undefined> {
    const where = { pushId: task.push_id, mirror: task.mirror, api: target.reporter.host, apiHost: new URL(target.apiUrl).host };
    switch (answer.kind) {
      case 'accepted':
        return undefined;
      case 'throttled':
        count('ReportThrottled');
        await gate.pause(target.key, now() + answer.retryAfterMs);
        logger.warn('the host rate-limits commit statuses: waiting', { ...where, status: answer.status, retryAfterMs: answer.retryAfterMs });
        return later(task, answer.retryAfterMs / 1000, 'the host asked to wait');
      case 'rejected': {
        const first = await gate.reject(target.key, now(), answer.status, settings.rejectForSeconds);
        if (first) {
          count('ReportRejected');
          logger.error('the host rejected the reporting token: commit statuses stop for it until the token changes', {
            ...where,
            status: answer.status,
            resumesAfterSeconds: settings.rejectForSeconds,
          });
        }
        return { kind: 'disabled' };
      }
      case 'unavailable':
        if (task.attempt >= settings.maxAttempts) return dropped(task, `the host failed ${task.attempt} times: ${answer.status ?? 'no answer'} ${answer.detail}`);
        return later(task, Math.min(900, 15 * 2 ** (task.attempt - 1)), `the host failed: ${answer.status ?? 'no answer'}`, true);
      case 'refused':
        return dropped(task, `the host refused the status: ${answer.status} ${answer.detail}`);
    }
  }

  /** The task back on the queue after `delaySeconds`; `counts`: a retry that counts towards `maxAttempts`. */
  async function later(task: ReportTask, delaySeconds: number, why: string, counts = false): Promise<ReportOutcome> {
    const delay = Math.max(1, Math.ceil(delaySeconds));
    await queue.sendReport({ ...task, attempt: counts ? task.attempt + 1 : task.attempt }, delay);
    return { kind: 'waiting', delaySeconds: delay, why };
  }

  function dropped(task: ReportTask, reason: string, level: 'warn' | 'debug' = 'warn'): ReportOutcome {
    if (level === 'warn') {
      count('ReportDropped');
      logger.warn('commit status not reported', { pushId: task.push_id, mirror: task.mirror, reason });
    } else {
      logger.debug('nothing to report', { pushId: task.push_id, mirror: task.mirror, reason });
    }
    return { kind: 'dropped', reason };
  }

  return { handle };
}
