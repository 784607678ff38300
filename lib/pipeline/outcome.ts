/**
 * What became of a delivery, as a value, and the one function that turns it into the answer the
 * Git host gets and the record the log line and metrics are made of. Pure: no I/O, no clock.
 */
import { ErrorCodes, type HttpError } from '../errors';
import { jsonResponse, type HttpResponse } from '../http/event';
import type { LedgerEntry } from '../ledger/types';
import type { DeliveryRecord } from '../observability/delivery';
import type { ProviderId } from '../providers/types';
import type { Failure, Job } from './sync';

/** The host a delivery's headers named, and its id for the delivery (where it sends one). */
export interface Sender {
  readonly host: ProviderId;
  readonly deliveryId: string | undefined;
}

/** A verified push, as answers and records show it. */
export interface PushSummary {
  readonly source: string;
  readonly refs: readonly string[];
}

export type DeliveryOutcome =
  /** Refused with an `HttpError`: its status, code and message are the answer. */
  | { readonly kind: 'rejected'; readonly error: HttpError; readonly sender?: Sender | undefined; readonly push?: PushSummary | undefined }
  /** Genuine, but nothing to do: another event, no mirror for the source, no mirror wanting its refs. */
  | { readonly kind: 'ignored'; readonly reason: string; readonly sender: Sender; readonly push?: PushSummary | undefined }
  /** The host's test delivery. */
  | { readonly kind: 'pong'; readonly sender: Sender }
  /** The same delivery seen before: its first answer, again, without CodeHub. */
  | { readonly kind: 'replayed'; readonly response: HttpResponse; readonly sender: Sender }
  /** Every wanted mirror's sync started; `pushId` when the push is in the ledger. */
  | { readonly kind: 'synced'; readonly sender: Sender; readonly push: PushSummary; readonly jobs: readonly Job[]; readonly codehubMs: number; readonly pushId?: string | undefined }
  /** Recorded, but CodeHub could not take a sync now (throttled, 5xx, timeout, unreachable): the worker retries. */
  | {
      readonly kind: 'queued';
      readonly sender: Sender;
      readonly push: PushSummary;
      readonly pushId: string;
      readonly jobs: readonly Job[];
      readonly failures: readonly [Failure, ...Failure[]];
      readonly codehubMs: number;
    }
  /** The same push as one the ledger holds (a redelivery, or a replay with a fresh delivery id): its entry, no CodeHub call. */
  | { readonly kind: 'known-push'; readonly entry: LedgerEntry; readonly sender: Sender; readonly push: PushSummary }
  /** The ledger or the queue could not be written: no durable record, so a 5xx the host can redeliver. */
  | { readonly kind: 'unavailable'; readonly error: HttpError; readonly sender: Sender; readonly push: PushSummary }
  /** At least one sync did not start; `attempted` is how many were tried, `budgetMs` the time they had. */
  | {
      readonly kind: 'failed';
      readonly sender: Sender;
      readonly push: PushSummary;
      readonly jobs: readonly Job[];
      readonly failures: readonly [Failure, ...Failure[]];
      readonly attempted: number;
      readonly budgetMs: number;
      readonly codehubMs: number;
      readonly pushId?: string | undefined;
    }
  /** The bridge threw: a bug, not the sender's fault. */
  | { readonly kind: 'error' };

/** A delivery's answer, and its record less what only the caller knows (request id, duration). */
export interface Concluded {
  readonly response: HttpResponse;
  readonly record: Omit<DeliveryRecord, 'requestId' | 'durationMs'>;
}

/** When CodeHub throttled without naming a wait: its limit is per minute, so a minute always suffices. */
const DEFAULT_RETRY_AFTER_SECONDS = 60;

/** The answer to the Git host and the delivery record, for any outcome. */
export function conclude(outcome: DeliveryOutcome): Concluded {
  switch (outcome.kind) {
    case 'rejected': {
      const { error } = outcome;
      return {
        response: jsonResponse(error.statusCode, error.toJSON(), error.headers),
        record: { ...known(outcome), outcome: 'rejected', statusCode: error.statusCode, code: error.code, reason: error.message },
      };
    }
    case 'ignored':
      return {
        response: jsonResponse(202, { status: 'ignored', reason: outcome.reason }),
        record: { ...known(outcome), outcome: 'ignored', statusCode: 202, reason: outcome.reason },
      };
    case 'pong':
      return { response: jsonResponse(200, { status: 'pong', host: outcome.sender.host }), record: { ...outcome.sender, outcome: 'pong', statusCode: 200 } };
    case 'replayed': {
      const { response } = outcome;
      return {
        response: { ...response, headers: { ...response.headers, 'idempotent-replayed': 'true' } },
        record: { ...outcome.sender, outcome: 'replayed', statusCode: response.statusCode },
      };
    }
    case 'synced': {
      const { jobs, push } = outcome;
      const [only] = jobs;
      // One job (the usual case) is named at the top, for the host's delivery log.
      const body = { ...(jobs.length === 1 && only ? { jid: only.jid } : {}), ...pushIdField(outcome), jobs, source: push.source, refs: push.refs };
      return { response: jsonResponse(200, body), record: { ...known(outcome), ...pushIdRecord(outcome), outcome: 'synced', statusCode: 200, ...syncFields(outcome) } };
    }
    case 'queued': {
      const { failures, jobs, push } = outcome;
      const reason = `CodeHub could not take the sync now (${failures[0].code}): ${failures[0].error}`;
      const body = { status: 'queued', push_id: outcome.pushId, reason, jobs, failures, source: push.source, refs: push.refs };
      return {
        response: jsonResponse(202, body),
        record: { ...known(outcome), pushId: outcome.pushId, outcome: 'queued', statusCode: 202, code: failures[0].code, reason, ...syncFields(outcome), codehubErrors: failures.map((f) => f.error_code ?? f.code) },
      };
    }
    case 'known-push': {
      const { entry } = outcome;
      const jobs = entry.mirrors.flatMap((mirror) => mirror.jids.map((jid) => ({ repository_id: mirror.repositoryId, jid, ...(mirror.target === undefined ? {} : { target: mirror.target }) })));
      const body = { status: 'replayed', push_id: entry.pushId, state: entry.state, jobs, source: entry.source, refs: outcome.push.refs };
      return {
        response: jsonResponse(200, body, { 'idempotent-replayed': 'true' }),
        record: { ...known(outcome), pushId: entry.pushId, outcome: 'replayed', statusCode: 200, reason: `the same push as ${entry.pushId} (${entry.state})` },
      };
    }
    case 'unavailable': {
      const { error } = outcome;
      return {
        response: jsonResponse(error.statusCode, error.toJSON(), error.headers),
        record: { ...known(outcome), outcome: 'unavailable', statusCode: error.statusCode, code: error.code, reason: error.message },
      };
    }
    case 'failed':
      return concludeFailure(outcome);
    case 'error':
      return {
        response: jsonResponse(500, { error: 'the bridge failed unexpectedly', code: ErrorCodes.INTERNAL_ERROR }),
        record: { outcome: 'error', statusCode: 500, code: ErrorCodes.INTERNAL_ERROR },
      };
  }
}

function concludeFailure(outcome: Extract<DeliveryOutcome, { kind: 'failed' }>): Concluded {
  const { failures, jobs, push } = outcome;
  const [first] = failures;
  const { statusCode, headers } = failureStatus(failures);
  const body = {
    error: failures.length === 1 ? first.error : `${failures.length} of ${outcome.attempted} syncs failed; first: ${first.error}`,
    ...pushIdField(outcome),
    code: first.code,
    error_code: first.error_code,
    repository_id: first.repository_id,
    budget_ms: outcome.budgetMs,
    failures,
    jobs,
    source: push.source,
    refs: push.refs,
  };
  return {
    response: jsonResponse(statusCode, body, headers),
    record: {
      ...known(outcome),
      ...pushIdRecord(outcome),
      outcome: 'failed',
      statusCode,
      code: first.code,
      reason: first.error,
      ...syncFields(outcome),
      codehubErrors: failures.map((f) => f.error_code ?? f.code),
    },
  };
}

/** `push_id` of an answer, for a push in the ledger. */
function pushIdField(outcome: { readonly pushId?: string | undefined }): { push_id?: string } {
  return outcome.pushId === undefined ? {} : { push_id: outcome.pushId };
}

/** `pushId` of a record, for a push in the ledger. */
function pushIdRecord(outcome: { readonly pushId?: string | undefined }): { pushId?: string } {
  return outcome.pushId === undefined ? {} : { pushId: outcome.pushId };
}

/** Who sent it and what it pushed, as far as the pipeline got. */
function known(outcome: { readonly sender?: Sender | undefined; readonly push?: PushSummary | undefined }): Partial<Sender & PushSummary> {
  return { ...outcome.sender, ...outcome.push };
}

function syncFields(outcome: { readonly jobs: readonly Job[]; readonly failures?: readonly Failure[]; readonly codehubMs: number }) {
  return {
    repositoryIds: [...outcome.jobs.map((j) => j.repository_id), ...(outcome.failures ?? []).map((f) => f.repository_id)],
    jids: outcome.jobs.map((j) => j.jid),
    ...(outcome.jobs.some((j) => j.coalesced === true) ? { coalesced: outcome.jobs.filter((j) => j.coalesced === true).length } : {}),
    codehubMs: outcome.codehubMs,
  };
}

/**
 * What the Git host is told when syncs failed, so that its delivery log is honest and its
 * redelivery (manual or automatic) is worth making:
 * - 504 when every failure is a timeout: CodeHub did not answer inside the budget.
 * - 503 with `Retry-After` when CodeHub throttled to the end (the rest, if any, timed out): the
 *   shared 600/min limit; a redelivery after the wait will get through.
 * - 502 otherwise: CodeHub refused or failed (5xx to the end, a reset, a signature or auth failure).
 */
function failureStatus(failures: readonly Failure[]): { statusCode: number; headers: Record<string, string> } {
  if (failures.every((f) => f.code === ErrorCodes.CODEHUB_TIMEOUT)) return { statusCode: 504, headers: {} };
  const throttled = failures.filter((f) => f.code === ErrorCodes.CODEHUB_THROTTLED);
  if (throttled.length > 0 && failures.every((f) => f.code === ErrorCodes.CODEHUB_THROTTLED || f.code === ErrorCodes.CODEHUB_TIMEOUT)) {
    const seconds = Math.max(...throttled.map((f) => f.retry_after_seconds ?? DEFAULT_RETRY_AFTER_SECONDS));
    return { statusCode: 503, headers: { 'retry-after': String(seconds) } };
  }
  return { statusCode: 502, headers: {} };
}
