import type { Context } from 'aws-lambda';
import type { RepositoryResolver } from '../codehub/repository-resolver';
import type { CodeHub } from '../codehub/types';
import { candidateSecrets, candidateSecretsFor, effectiveSecrets, mirrorsFor, mirrorWantsRefs, pathMirrorsFor, type MirrorIndex } from '../config/mapping';
import { safeEqual } from '../crypto';
import { ErrorCodes, HttpError, MethodNotAllowedError, VerificationError } from '../errors';
import { isHttpEvent, readHttpRequest, type HttpRequest, type HttpResponse } from '../http/event';
import { logDelivery, type DeliveryObserver } from '../observability/delivery';
import type { Logger } from '../observability/log';
import { detectProvider } from '../providers';
import type { Delivery, Provider, Push } from '../providers/types';
import { acceptPush, deliveryOutcomeOf } from './accept';
import type { Durable } from './durable';
import { createMemoryIdempotencyStore, deliveryKey, type IdempotencyStore } from './idempotency';
import { isReported } from './report-plan';
import { conclude, type Concluded, type DeliveryOutcome, type PushSummary, type Sender } from './outcome';
import { budgetFor, DEFAULT_MAX_BODY_BYTES, type BudgetMs } from './settings';
import { createMirrorSyncer, type MirrorSyncerOptions, type SyncTarget } from './sync';

/**
 * The webhook pipeline, top to bottom:
 * event → method → size → host → secrets → verify → (same delivery seen? its first answer)
 * → read → map → authorise → refs → sync (with the ledger: record + sync, `accept.ts`) → outcome.
 * Each step returns the delivery's outcome or what the next step needs; `conclude` turns the
 * outcome into the answer and the delivery record. Transport-free and I/O-injected:
 * `handlers/webhook.ts` wires the environment in.
 */

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
  /** Larger bodies get 413 before anything else reads them. @default DEFAULT_MAX_BODY_BYTES (6 MiB) */
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
  /**
   * The push ledger and queue: every push is recorded before its 2xx, and the worker confirms the
   * mirror holds it. Omitted: the stateless bridge (a push CodeHub cannot take now is lost).
   */
  readonly durable?: Durable | undefined;
}

/** Takes any Lambda event (an `HttpEvent` when all is well), trusting nothing of it: what is not an object is answered 400. */
export type WebhookHandler = (event: unknown, context?: Pick<Context, 'getRemainingTimeInMillis' | 'awsRequestId'>) => Promise<HttpResponse>;

/** Time kept back from the Lambda's remaining time to write the answer. */
const ANSWER_MARGIN_MS = 250;

/** A genuine delivery, and what the steps after verification need of it. */
interface VerifiedDelivery {
  readonly provider: Provider;
  readonly delivery: Delivery;
  readonly sender: Sender;
  /** The configured secret the delivery was verified with. */
  readonly secret: string;
  /** Epoch ms by which the answer must be on its way. */
  readonly deadline: number;
  readonly budgetMs: number;
  readonly requestId: string | undefined;
}

export function createWebhookHandler(options: WebhookOptions): WebhookHandler {
  const { index, logger } = options;
  const now = options.now ?? Date.now;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const idempotency = options.idempotency === false ? undefined : (options.idempotency ?? createMemoryIdempotencyStore());
  const syncMirrors = createMirrorSyncer({ codehub: options.codehub, logger, resolver: options.resolver, now, onJob: options.onJob });
  const observe = options.observe ?? logDelivery(logger);

  return async function handleWebhook(event, context) {
    const started = now();
    const requestId = context?.awsRequestId;
    let concluded: Concluded;
    try {
      concluded = await answer(event, context, started);
    } catch (error) {
      // A bug, not the sender's fault: the host sees a 500 and can redeliver; the log says why.
      logger.error('unexpected failure', { requestId, error });
      concluded = conclude({ kind: 'error' });
    }
    try {
      observe({ requestId, ...concluded.record, durationMs: now() - started });
    } catch (error) {
      logger.error('delivery observer failed', { requestId, error });
    }
    return concluded.response;
  };

  async function answer(event: unknown, context: Parameters<WebhookHandler>[1], started: number): Promise<Concluded> {
    const received = receive(event, maxBodyBytes);
    if (received.kind !== 'received') return conclude(received);
    const { request, provider, sender } = received;
    const delivery = deliveryOf(request, started);
    const verified = verify(provider, delivery, index, sender);
    if (verified.kind !== 'verified') return conclude(verified);

    const budgetMs = budgetFor(options.budgetMs, provider.id);
    const deadline = deadlineOf(started, budgetMs, context?.getRemainingTimeInMillis?.(), now());
    const genuine: VerifiedDelivery = { provider, delivery, sender, secret: verified.secret, deadline, budgetMs, requestId: context?.awsRequestId };
    const answerPush = async (): Promise<Concluded> => conclude(await handlePush(genuine));
    if (!idempotency) return answerPush();
    // Only after verification: an unverified delivery can neither read nor fill the store.
    const key = deliveryKey(provider.id, sender.deliveryId, verified.bodyMac === undefined ? request.body : { mac: verified.bodyMac });
    return answerOnce(idempotency, key, genuine, answerPush);
  }

  /** read → map → authorise → refs → sync. */
  async function handlePush(genuine: VerifiedDelivery): Promise<DeliveryOutcome> {
    const { sender } = genuine;
    const read = readPush(genuine);
    if (read.kind !== 'push') return read;
    const push = summarise(read.push);
    const selected = selectMirrors(index, read.push, genuine.secret, { sender, push });
    if (selected.kind !== 'selected') return selected;

    const log = { requestId: genuine.requestId, host: sender.host, deliveryId: sender.deliveryId };
    if (options.durable) {
      const provider = genuine.provider.id;
      const context = { durable: options.durable, syncMirrors, logger, now, isReported: (target: SyncTarget) => isReported(index, provider, target) };
      const accepted = await acceptPush(context, { push: read.push, provider: genuine.provider.id, deliveryId: sender.deliveryId, mirrors: selected.mirrors, deadline: genuine.deadline, log });
      return deliveryOutcomeOf(accepted, { sender, push, budgetMs: genuine.budgetMs });
    }
    const callStarted = now();
    const { jobs, failures } = await syncMirrors(selected.mirrors, genuine.deadline, log);
    const codehubMs = now() - callStarted;
    const [first, ...rest] = failures;
    if (first === undefined) return { kind: 'synced', sender, push, jobs, codehubMs };
    return { kind: 'failed', sender, push, jobs, failures: [first, ...rest], attempted: selected.mirrors.length, budgetMs: genuine.budgetMs, codehubMs };
  }
}

/** event → method → size → host. */
function receive(event: unknown, maxBodyBytes: number): DeliveryOutcome | { readonly kind: 'received'; readonly request: HttpRequest; readonly provider: Provider; readonly sender: Sender } {
  if (!isHttpEvent(event)) return { kind: 'rejected', error: new HttpError(400, ErrorCodes.BAD_EVENT, 'the event is not an HTTP request') };
  const request = readHttpRequest(event);
  if (request.method !== 'POST') return { kind: 'rejected', error: new MethodNotAllowedError('POST') };
  if (request.bodyLength > maxBodyBytes) {
    return { kind: 'rejected', error: new HttpError(413, ErrorCodes.PAYLOAD_TOO_LARGE, `body over ${maxBodyBytes} bytes`) };
  }
  const provider = detectProvider(request.headers);
  if (!provider) return { kind: 'rejected', error: new VerificationError(ErrorCodes.UNKNOWN_SENDER, 'not a delivery from a supported Git host') };
  return { kind: 'received', request, provider, sender: { host: provider.id, deliveryId: provider.deliveryId(request.headers) } };
}

/**
 * What providers read: the request's headers and body, and the arrival time. A text body stays
 * text (hashed and parsed as such); its bytes are built only if a verifier asks for them, since
 * copying a 5 MB body is the one cost here worth avoiding.
 */
function deliveryOf(request: HttpRequest, now: number): Delivery {
  const { headers, body } = request;
  if (typeof body !== 'string') return { headers, rawBody: body, now };
  let bytes: Buffer | undefined;
  return {
    headers,
    bodyText: body,
    get rawBody() {
      bytes ??= Buffer.from(body, 'utf8');
      return bytes;
    },
    now,
  };
}

/** secrets → verify: the exact bytes, against the secrets worth trying (a bounded few when the body is MAC'd). */
function verify(
  provider: Provider,
  delivery: Delivery,
  index: MirrorIndex,
  sender: Sender,
): DeliveryOutcome | { readonly kind: 'verified'; readonly secret: string; readonly bodyMac: string | undefined } {
  if (candidateSecrets(index).length === 0) {
    return { kind: 'rejected', error: new VerificationError(ErrorCodes.NO_SECRET_CONFIGURED, 'no webhook secret is configured'), sender };
  }
  const secrets = candidateSecretsFor(index, provider, delivery);
  const verdict = provider.verify(delivery, secrets);
  if (!verdict.ok) return { kind: 'rejected', error: new VerificationError(ErrorCodes[verdict.reason], verdict.message), sender };
  return { kind: 'verified', secret: secrets[verdict.secretIndex] ?? '', bodyMac: verdict.bodyMac };
}

/** Epoch ms by which the answer must be on its way: the host's budget, capped by the Lambda's remaining time. */
function deadlineOf(started: number, budgetMs: number, remainingMs: number | undefined, now: number): number {
  const lambdaEnd = remainingMs === undefined ? Infinity : now + remainingMs - ANSWER_MARGIN_MS;
  return Math.max(started, Math.min(started + budgetMs, lambdaEnd));
}

/**
 * (same delivery seen?) The first answer kept for `key`, or this delivery's own. A duplicate whose
 * first is still being answered at its deadline gets 409: the first will report the outcome.
 */
async function answerOnce(store: IdempotencyStore, key: string, genuine: VerifiedDelivery, answerFresh: () => Promise<Concluded>): Promise<Concluded> {
  let fresh: Concluded | undefined;
  const kept = await store.once(key, async () => (fresh = await answerFresh()).response, { deadline: genuine.deadline });
  const { sender } = genuine;
  if (kept.kind === 'replayed') return conclude({ kind: 'replayed', response: kept.response, sender });
  if (kept.kind === 'in-progress') {
    const error = new HttpError(409, ErrorCodes.DELIVERY_IN_PROGRESS, 'the same delivery is still being answered; its outcome is reported to the first delivery');
    return conclude({ kind: 'rejected', error, sender });
  }
  if (fresh === undefined) throw new Error('the idempotency store answered without running the answer');
  return fresh;
}

/** read: a push, or the outcome of a ping, another event, or a body that is not a push (400). */
function readPush({ provider, delivery, sender }: VerifiedDelivery): DeliveryOutcome | { readonly kind: 'push'; readonly push: Push } {
  let read;
  try {
    read = provider.read(delivery);
  } catch (error) {
    if (error instanceof HttpError) return { kind: 'rejected', error, sender };
    throw error;
  }
  if (read.kind === 'ping') return { kind: 'pong', sender };
  if (read.kind === 'ignored') return { kind: 'ignored', reason: read.reason, sender };
  return read;
}

/** map → authorise → refs: the mirrors this push syncs. */
function selectMirrors(
  index: MirrorIndex,
  push: Push,
  secret: string,
  known: { readonly sender: Sender; readonly push: PushSummary },
): DeliveryOutcome | { readonly kind: 'selected'; readonly mirrors: readonly SyncTarget[] } {
  const configured: readonly SyncTarget[] = [...mirrorsFor(index, push.source), ...pathMirrorsFor(index, push.source)];
  if (configured.length === 0) return { kind: 'ignored', reason: `no mirror configured for ${push.source}`, ...known };
  // The signature was checked against every candidate secret; now the matched one must belong to this source.
  const authorised = configured.filter((m) => effectiveSecrets(index, m).some((s) => safeEqual(s, secret)));
  if (authorised.length === 0) {
    const error = new VerificationError(ErrorCodes.SECRET_NOT_FOR_SOURCE, `the delivery is not signed with a secret configured for ${push.source}`);
    return { kind: 'rejected', error, ...known };
  }
  const wanted = authorised.filter((m) => mirrorWantsRefs(m, push.refs));
  if (wanted.length === 0) return { kind: 'ignored', reason: `no mirror for ${push.source} wants ${describeRefs(known.push.refs)}`, ...known };
  return { kind: 'selected', mirrors: wanted };
}

function summarise(push: Push): PushSummary {
  return { source: push.source, refs: push.refs.map((r) => r.ref) };
}

function describeRefs(refs: readonly string[]): string {
  return refs.length === 0 ? 'this push (it names no ref)' : refs.join(', ');
}
