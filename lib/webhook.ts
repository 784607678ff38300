import type { Context } from 'aws-lambda';
import type { CodeHub } from './codehub/types';
import type { MirrorTarget } from './config/types';
import { CodeHubError, ErrorCodes, HttpError, VerificationError } from './errors';
import { jsonResponse, readHttpRequest, type HttpEvent, type HttpResponse } from './http/event';
import type { Logger } from './log';
import { candidateSecrets, effectiveSecrets, mirrorsFor, mirrorWantsRefs, type MirrorIndex } from './mapping';
import { detectProvider } from './providers';
import type { Delivery, Push } from './providers/types';
import { safeEqual } from './crypto';

/**
 * The webhook pipeline, top to bottom:
 * event → method and size → host → verify the exact bytes → read the push → map → CodeHub → answer.
 * Transport-free and I/O-injected: `handlers/webhook.ts` wires the environment in.
 */

export interface WebhookOptions {
  readonly index: MirrorIndex;
  readonly codehub: CodeHub;
  readonly logger: Logger;
  /** @default Date.now */
  readonly now?: (() => number) | undefined;
  /**
   * Milliseconds a delivery may spend on CodeHub before the bridge answers 504: under GitHub's and
   * GitLab's 10 s wait. @default 8000
   */
  readonly budgetMs?: number | undefined;
  /** Larger bodies get 413 before anything else reads them. @default 6 MiB (the Lambda payload ceiling) */
  readonly maxBodyBytes?: number | undefined;
}

export type WebhookHandler = (event: HttpEvent, context?: Pick<Context, 'getRemainingTimeInMillis' | 'awsRequestId'>) => Promise<HttpResponse>;

interface DeliveryLogFields {
  requestId: string | undefined;
  host?: string;
  deliveryId?: string | undefined;
}

interface Job {
  readonly repository_id: number;
  readonly jid: string;
}

interface Failure {
  readonly repository_id: number;
  readonly code: string;
  readonly error_code: string | undefined;
  readonly error: string;
}

/** Time kept back from the Lambda's remaining time to write the answer. */
const ANSWER_MARGIN_MS = 250;

export function createWebhookHandler(options: WebhookOptions): WebhookHandler {
  const { index, codehub, logger } = options;
  const now = options.now ?? Date.now;
  const budgetMs = options.budgetMs ?? 8000;
  const maxBodyBytes = options.maxBodyBytes ?? 6 * 1024 * 1024;
  const secrets = candidateSecrets(index);

  return async function handleWebhook(event, context) {
    const started = now();
    const request = readHttpRequest(event);
    // Fields on every log line of this delivery; filled in as the pipeline learns them.
    const log: DeliveryLogFields = { requestId: context?.awsRequestId };
    const answer = (statusCode: number, body: Record<string, unknown>): HttpResponse => {
      logger.info(String(body['status'] ?? 'answered'), { ...log, statusCode, ...body });
      return jsonResponse(statusCode, body);
    };
    const reject = (error: HttpError): HttpResponse => {
      logger.warn('rejected', { ...log, statusCode: error.statusCode, code: error.code, reason: error.message });
      return jsonResponse(error.statusCode, error.toJSON());
    };

    if (request.method !== 'POST') {
      return jsonResponse(405, { error: 'only POST is accepted', code: ErrorCodes.METHOD_NOT_ALLOWED }, { allow: 'POST' });
    }
    if (request.rawBody.length > maxBodyBytes) {
      return reject(new HttpError(413, ErrorCodes.PAYLOAD_TOO_LARGE, `body over ${maxBodyBytes} bytes`));
    }

    const provider = detectProvider(request.headers);
    if (!provider) {
      return reject(new VerificationError(ErrorCodes.UNKNOWN_SENDER, 'not a delivery from a supported Git host'));
    }
    log.host = provider.id;
    log.deliveryId = provider.deliveryId(request.headers);
    const delivery: Delivery = { headers: request.headers, rawBody: request.rawBody, now: started };
    if (secrets.length === 0) {
      return reject(new VerificationError(ErrorCodes.NO_SECRET_CONFIGURED, 'no webhook secret is configured'));
    }
    const verdict = provider.verify(delivery, secrets);
    if (!verdict.ok) {
      return reject(new VerificationError(ErrorCodes[verdict.reason], verdict.message));
    }
    const secret = secrets[verdict.secretIndex] ?? '';

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
    const configured = mirrorsFor(index, push.source);
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

    const remaining = context?.getRemainingTimeInMillis?.();
    const budget = remaining === undefined ? budgetMs : Math.min(budgetMs, remaining - ANSWER_MARGIN_MS);
    const deadline = started + Math.max(0, budget);
    const callStarted = now();
    const outcomes = await Promise.allSettled(wanted.map((m) => syncMirror(m, deadline)));
    const codehubMs = now() - callStarted;

    const jobs: Job[] = [];
    const failures: Failure[] = [];
    outcomes.forEach((outcome, i) => {
      const repositoryId = (wanted[i] as MirrorTarget).repositoryId;
      if (outcome.status === 'fulfilled') jobs.push({ repository_id: repositoryId, jid: outcome.value.jid });
      else {
        if (!(outcome.reason instanceof CodeHubError)) logger.error('unexpected sync failure', { ...log, repositoryId, error: outcome.reason });
        failures.push(describeFailure(repositoryId, outcome.reason));
      }
    });

    const summary = { source: push.source, refs: push.refs.map((r) => r.ref) };
    if (failures.length === 0) {
      const body = jobs.length === 1 ? { jid: (jobs[0] as Job).jid, jobs, ...summary } : { jobs, ...summary };
      logger.info('synced', { ...log, ...summary, jobs, codehubMs });
      return jsonResponse(200, body);
    }
    const first = failures[0] as Failure;
    const status = failures.every((f) => f.code === ErrorCodes.CODEHUB_TIMEOUT) ? 504 : 502;
    logger.error('codehub failed', { ...log, ...summary, jobs, failures, codehubMs });
    return jsonResponse(status, {
      error: failures.length === 1 ? first.error : `${failures.length} of ${outcomes.length} syncs failed; first: ${first.error}`,
      code: first.code,
      error_code: first.error_code,
      repository_id: first.repository_id,
      failures,
      jobs,
      ...summary,
    });

    function syncMirror(mirror: MirrorTarget, until: number) {
      return codehub.startMirrorSync(
        mirror.repositoryId,
        { forceFetch: mirror.forceFetch, username: mirror.username, password: mirror.password, endpointUuid: mirror.endpointUuid },
        { deadline: until },
      );
    }
  };
}

function describeRefs(push: Push): string {
  const names = push.refs.map((r) => r.ref);
  return names.length === 0 ? 'this push (it names no ref)' : names.join(', ');
}

/** What the Git host is shown for a failed sync: CodeHub's own code and message, nothing of ours that is secret. */
function describeFailure(repositoryId: number, reason: unknown): Failure {
  if (reason instanceof CodeHubError) {
    return { repository_id: repositoryId, code: reason.code, error_code: reason.serviceCode, error: reason.message };
  }
  return { repository_id: repositoryId, code: ErrorCodes.CODEHUB_UNREACHABLE, error_code: undefined, error: 'CodeHub call failed unexpectedly' };
}
