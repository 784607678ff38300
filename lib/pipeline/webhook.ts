import type { Context } from 'aws-lambda';
import type { RepositoryResolver } from '../codehub/repository-resolver';
import type { CodeHub } from '../codehub/types';
import { ErrorCodes, HttpError, PayloadError, VerificationError } from '../errors';
import { jsonResponse, readHttpRequest, type HttpEvent, type HttpRequest, type HttpResponse } from '../http/event';
import { createMemoryIdempotencyStore, deliveryKey, type IdempotencyStore } from './idempotency';
import type { Logger } from '../observability/log';
import { candidateSecrets, effectiveSecrets, mirrorsFor, mirrorWantsRefs, pathMirrorsFor, type MirrorIndex } from '../config/mapping';
import { detectProvider } from '../providers';
import type { Delivery, Provider, ProviderId, Push } from '../providers/types';
import { createMirrorSyncer, type Failure, type Job, type MirrorSyncerOptions, type SyncTarget } from './sync';
import { safeEqual } from '../crypto';

/**
 * The webhook pipeline, top to bottom:
 * event → method and size → host → verify the exact bytes → (same delivery seen? its first answer)
 * → read the push → map → CodeHub (one call per repository in flight) → answer,
 * and one `DeliveryRecord` per delivery for the log line and the metrics.
 * Transport-free and I/O-injected: `handlers/webhook.ts` wires the environment in.
 */

/**
 * Milliseconds a delivery may take, per host, before the bridge answers with what it has. Each is
 * under that host's wait (shared/docs/webhook-providers.md), leaving room for API Gateway, a cold start
 * and the network on the way back:
 * - GitHub, GitLab, Bitbucket wait 10 s → 8 s. Gitee and GitCode document no wait; they are
 *   treated like GitLab, whose payloads they copy. Azure DevOps documents none either → 8 s (it
 *   retries 502/503/504 by itself, so an honest failure there is redelivered).
 * - Gitea and Forgejo wait 5 s → 4 s.
 * - Gogs waits 15 s → 12 s; in practice capped by the Lambda timeout (10 s in serverless.yml).
 * Whatever the budget, the Lambda's remaining time caps it.
 */
export const DEFAULT_BUDGETS_MS: Readonly<Record<ProviderId, number>> = Object.freeze({
  github: 8000,
  gitlab: 8000,
  gitea: 4000,
  forgejo: 4000,
  gogs: 12000,
  bitbucket: 8000,
  gitee: 8000,
  gitcode: 8000,
  'azure-devops': 8000,
});

/** One budget for every host, or some hosts' budgets (the others keep their defaults). */
export type BudgetMs = number | Readonly<Partial<Record<ProviderId, number>>>;

/** The budget of `provider` under `budget`. */
export function budgetFor(budget: BudgetMs | undefined, provider: ProviderId): number {
  if (typeof budget === 'number') return budget;
  return budget?.[provider] ?? DEFAULT_BUDGETS_MS[provider];
}

export interface WebhookOptions {
  readonly index: MirrorIndex;
  readonly codehub: CodeHub;
  /** Turns `target: group/name` mirrors into repository ids; needed only when the config has such mirrors. */
  readonly resolver?: RepositoryResolver | undefined;
  readonly logger: Logger;
  /** @default Date.now */
  readonly now?: (() => number) | undefined;
  /**
   * Milliseconds from arrival to answer, for every host or per host; CodeHub retries stop in time
   * to answer inside it. @default DEFAULT_BUDGETS_MS (8 s; Gitea/Forgejo 4 s; Gogs 12 s)
   */
  readonly budgetMs?: BudgetMs | undefined;
  /** Larger bodies get 413 before anything else reads them. @default 6 MiB (the Lambda payload ceiling) */
  readonly maxBodyBytes?: number | undefined;
  /**
   * Where first answers are kept so that a redelivery gets them without a second CodeHub call;
   * `false` answers every delivery afresh. @default an in-memory store (10 min, 1000 answers)
   */
  readonly idempotency?: IdempotencyStore | false | undefined;
  /** Called once per delivery with what became of it. @default logDelivery(logger) */
  readonly observe?: DeliveryObserver | undefined;
  /** Told of every sync job started, e.g. to keep the status page's last triggers. */
  readonly onJob?: MirrorSyncerOptions['onJob'];
}

export type WebhookHandler = (event: HttpEvent, context?: Pick<Context, 'getRemainingTimeInMillis' | 'awsRequestId'>) => Promise<HttpResponse>;

/**
 * Everything known about one delivery, filled in as the pipeline learns it and handed to the
 * `observe` option once, when the answer is ready: one log line and the metrics per delivery.
 */
export interface DeliveryRecord {
  requestId: string | undefined;
  host?: ProviderId;
  deliveryId?: string | undefined;
  source?: string;
  refs?: string[];
  /** What became of it. */
  outcome: 'synced' | 'pong' | 'ignored' | 'rejected' | 'failed' | 'replayed' | 'error';
  statusCode: number;
  /** The bridge's code for a rejection or failure (`SIGNATURE_MISMATCH`, `CODEHUB_REJECTED`, …). */
  code?: string;
  reason?: string;
  repositoryIds?: (number | undefined)[];
  jids?: string[];
  /** CodeHub's own error codes, one per failed sync (`APIG.0308`, `CH.004404`, or the bridge's code when CodeHub sent none). */
  codehubErrors?: string[];
  codehubMs?: number;
  durationMs: number;
}

/** Receives one record per delivery. */
export type DeliveryObserver = (record: DeliveryRecord) => void;

/** The default observer: the record as one structured log line, its level by outcome. */
export function logDelivery(logger: Logger): DeliveryObserver {
  return (record) => {
    if (record.outcome === 'failed' || record.outcome === 'error') logger.error('delivery', { ...record });
    else if (record.outcome === 'rejected') logger.warn('delivery', { ...record });
    else logger.info('delivery', { ...record });
  };
}

/** Time kept back from the Lambda's remaining time to write the answer. */
const ANSWER_MARGIN_MS = 250;

/** When CodeHub throttled without naming a wait: its limit is per minute, so a minute always suffices. */
const DEFAULT_RETRY_AFTER_SECONDS = 60;

const DEFAULT_MAX_BODY_BYTES = 6 * 1024 * 1024;

export function createWebhookHandler(options: WebhookOptions): WebhookHandler {
  const { index, codehub, logger } = options;
  const now = options.now ?? Date.now;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const idempotency = options.idempotency === false ? undefined : (options.idempotency ?? createMemoryIdempotencyStore());
  const secrets = candidateSecrets(index);
  const syncMirrors = createMirrorSyncer({ codehub, logger, resolver: options.resolver, now, onJob: options.onJob });

  const observe = options.observe ?? logDelivery(logger);

  return async function handleWebhook(event, context) {
    const started = now();
    const record: DeliveryRecord = { requestId: context?.awsRequestId, outcome: 'error', statusCode: 500, durationMs: 0 };
    let response: HttpResponse;
    try {
      response = await handle(event, context, record, started);
    } catch (error) {
      // A bug, not the sender's fault: the host sees a 500 and can redeliver; the log says why.
      logger.error('unexpected failure', { requestId: context?.awsRequestId, error });
      Object.assign(record, { outcome: 'error', code: 'INTERNAL_ERROR' });
      response = jsonResponse(500, { error: 'the bridge failed unexpectedly', code: 'INTERNAL_ERROR' });
    }
    record.statusCode = response.statusCode;
    record.durationMs = now() - started;
    try {
      observe(record);
    } catch (error) {
      logger.error('delivery observer failed', { requestId: record.requestId, error });
    }
    return response;
  };

  async function handle(event: HttpEvent, context: Parameters<WebhookHandler>[1], log: DeliveryRecord, started: number): Promise<HttpResponse> {
    const reject = (error: HttpError): HttpResponse => {
      Object.assign(log, { outcome: 'rejected', code: error.code, reason: error.message });
      return jsonResponse(error.statusCode, error.toJSON());
    };

    let request: HttpRequest;
    try {
      request = readHttpRequest(event);
    } catch (cause) {
      return reject(new PayloadError('the event is not an HTTP request', { cause }));
    }
    if (request.method !== 'POST') {
      Object.assign(log, { outcome: 'rejected', code: ErrorCodes.METHOD_NOT_ALLOWED });
      return jsonResponse(405, { error: 'only POST is accepted', code: ErrorCodes.METHOD_NOT_ALLOWED }, { allow: 'POST' });
    }
    if (request.bodyLength > maxBodyBytes) {
      return reject(new HttpError(413, ErrorCodes.PAYLOAD_TOO_LARGE, `body over ${maxBodyBytes} bytes`));
    }

    const provider = detectProvider(request.headers);
    if (!provider) {
      return reject(new VerificationError(ErrorCodes.UNKNOWN_SENDER, 'not a delivery from a supported Git host'));
    }
    log.host = provider.id;
    log.deliveryId = provider.deliveryId(request.headers);
    const delivery = deliveryOf(request, started);
    if (secrets.length === 0) {
      return reject(new VerificationError(ErrorCodes.NO_SECRET_CONFIGURED, 'no webhook secret is configured'));
    }
    const verdict = provider.verify(delivery, secrets);
    if (!verdict.ok) {
      return reject(new VerificationError(ErrorCodes[verdict.reason], verdict.message));
    }
    const secret = secrets[verdict.secretIndex] ?? '';

    const budgetMs = budgetFor(options.budgetMs, provider.id);
    const remaining = context?.getRemainingTimeInMillis?.();
    const deadline = Math.max(started, Math.min(started + budgetMs, remaining === undefined ? Infinity : now() + remaining - ANSWER_MARGIN_MS));
    const verified: VerifiedDelivery = { provider, delivery, secret, log, reject, deadline, budgetMs };
    if (!idempotency) return answerVerified(verified);

    // Only after verification: an unverified delivery can neither read nor fill the store.
    const key = deliveryKey(provider.id, log.deliveryId, verdict.bodyMac === undefined ? (request.bodyText ?? request.rawBody) : { mac: verdict.bodyMac });
    const { response, replayed } = await idempotency.once(key, () => answerVerified(verified), { deadline });
    if (!replayed) return response;
    log.outcome = 'replayed';
    return { ...response, headers: { ...response.headers, 'idempotent-replayed': 'true' } };
  }

  async function answerVerified(verified: VerifiedDelivery): Promise<HttpResponse> {
    const { provider, delivery, secret, log, reject, deadline, budgetMs } = verified;
    const answer = (statusCode: number, body: { status: 'pong' | 'ignored'; reason?: string; host?: string }): HttpResponse => {
      log.outcome = body.status;
      if (body.reason !== undefined) log.reason = body.reason;
      return jsonResponse(statusCode, body);
    };

    let read;
    try {
      read = provider.read(delivery);
    } catch (error) {
      if (error instanceof HttpError) return reject(error);
      throw error;
    }
    if (read.kind === 'ping') return answer(200, { status: 'pong', host: provider.id });
    if (read.kind === 'ignored') return answer(202, { status: 'ignored', reason: read.reason });

    const push = read.push;
    log.source = push.source;
    const refs = push.refs.map((r) => r.ref);
    log.refs = refs;
    const configured: readonly SyncTarget[] = [...mirrorsFor(index, push.source), ...pathMirrorsFor(index, push.source)];
    if (configured.length === 0) {
      return answer(202, { status: 'ignored', reason: `no mirror configured for ${push.source}` });
    }
    // The signature was checked against every configured secret; now the matched one must belong to this source.
    const authorised = configured.filter((m) => effectiveSecrets(index, m).some((s) => safeEqual(s, secret)));
    if (authorised.length === 0) {
      return reject(new VerificationError(ErrorCodes.SECRET_NOT_FOR_SOURCE, `the delivery is not signed with a secret configured for ${push.source}`));
    }
    const wanted = authorised.filter((m) => mirrorWantsRefs(m, push.refs));
    if (wanted.length === 0) {
      return answer(202, { status: 'ignored', reason: `no mirror for ${push.source} wants ${describeRefs(push)}` });
    }

    const callStarted = now();
    const { jobs, failures } = await syncMirrors(wanted, deadline, { requestId: log.requestId, host: log.host, deliveryId: log.deliveryId });
    log.codehubMs = now() - callStarted;
    log.repositoryIds = jobs.map((j): number | undefined => j.repository_id).concat(failures.map((f) => f.repository_id));
    log.jids = jobs.map((j) => j.jid);

    const summary = { source: push.source, refs };
    if (failures.length === 0) {
      const body = jobs.length === 1 ? { jid: (jobs[0] as Job).jid, jobs, source: summary.source, refs: summary.refs } : { jobs, source: summary.source, refs: summary.refs };
      log.outcome = 'synced';
      return jsonResponse(200, body);
    }
    const first = failures[0] as Failure;
    const { statusCode, headers } = failureStatus(failures);
    Object.assign(log, {
      outcome: 'failed',
      code: first.code,
      reason: first.error,
      codehubErrors: failures.map((f) => f.error_code ?? f.code),
    });
    return jsonResponse(
      statusCode,
      {
        error: failures.length === 1 ? first.error : `${failures.length} of ${wanted.length} syncs failed; first: ${first.error}`,
        code: first.code,
        error_code: first.error_code,
        repository_id: first.repository_id,
        budget_ms: budgetMs,
        failures,
        jobs,
        ...summary,
      },
      headers,
    );
  }

}

/** The request as providers read it; its bytes stay unbuilt until a provider asks for them. */
function deliveryOf(request: HttpRequest, now: number): Delivery {
  return new RequestDelivery(request, now);
}

class RequestDelivery implements Delivery {
  readonly headers: Delivery['headers'];
  readonly bodyText: string | undefined;

  constructor(
    private readonly request: HttpRequest,
    readonly now: number,
  ) {
    this.headers = request.headers;
    this.bodyText = request.bodyText;
  }

  get rawBody(): Buffer {
    return this.request.rawBody;
  }
}

interface VerifiedDelivery {
  readonly provider: Provider;
  readonly delivery: Delivery;
  /** The configured secret the delivery was verified with. */
  readonly secret: string;
  readonly log: DeliveryRecord;
  readonly reject: (error: HttpError) => HttpResponse;
  /** Epoch ms by which the answer must be on its way. */
  readonly deadline: number;
  readonly budgetMs: number;
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

function describeRefs(push: Push): string {
  const names = push.refs.map((r) => r.ref);
  return names.length === 0 ? 'this push (it names no ref)' : names.join(', ');
}

