/**
 * The emulator's HTTP front: reads each request in full (signatures are over the raw bytes),
 * routes it to IAM, CodeHub or the admin API, writes the answer, records CodeHub and IAM calls
 * and logs one line per call. No secret is logged or recorded: only method, path, status, time.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { handleAdmin } from './admin';
import type { AdminContext } from './admin';
import type { CallLog, CallRecord } from './calls';
import { apigError, handleCodeHub } from './codehub';
import type { CodeHubContext } from './codehub';
import { BodyTooLargeError, isDrop, readBody, toApiRequest, writeReply } from './http';
import type { ApiRequest, Outcome, Reply } from './http';

export interface ServerContext extends CodeHubContext, Omit<AdminContext, 'faults'> {
  readonly calls: CallLog;
  readonly now: () => number;
  readonly log: (line: string) => void;
}

const MAX_BODY_BYTES = 1024 * 1024;

function errorCodeOf(reply: Reply): string | undefined {
  const body = reply.body;
  if (typeof body !== 'object' || body === null) return undefined;
  if ('error_code' in body && typeof body.error_code === 'string') return body.error_code;
  if ('error' in body && typeof body.error === 'object' && body.error !== null && 'code' in body.error) {
    const code = body.error.code;
    return typeof code === 'string' || typeof code === 'number' ? String(code) : undefined;
  }
  return undefined;
}

function send(req: IncomingMessage, res: ServerResponse, outcome: Outcome): void {
  if (isDrop(outcome)) {
    req.socket.destroy();
    return;
  }
  if (!res.headersSent && !res.destroyed) writeReply(res, outcome);
}

export function createRequestListener(context: ServerContext): RequestListener {
  async function dispatch(request: ApiRequest): Promise<{ outcome: Outcome; record?: Omit<CallRecord, 'seq' | 'at' | 'method' | 'path' | 'status' | 'durationMs'> }> {
    if (request.pathname === '/_emulator' || request.pathname.startsWith('/_emulator/')) {
      return { outcome: await handleAdmin(request, context) };
    }
    if (request.pathname === '/v3/auth/tokens') {
      if (request.method !== 'POST') {
        return { outcome: { status: 405, body: { error: { code: 405, message: 'Method Not Allowed', title: 'Method Not Allowed' } } }, record: { api: 'iam' } };
      }
      return { outcome: context.authority.issueToken(request), record: { api: 'iam' } };
    }
    const answer = await handleCodeHub(request, context);
    return {
      outcome: answer.outcome,
      record: {
        api: 'codehub',
        ...(answer.repositoryId === undefined ? {} : { repositoryId: answer.repositoryId }),
        ...(answer.auth === undefined ? {} : { auth: answer.auth }),
        ...(answer.fault === undefined ? {} : { fault: answer.fault }),
      },
    };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now();
    const arrivedAt = new Date(context.now()).toISOString();
    let request: ApiRequest | undefined;
    let result: Awaited<ReturnType<typeof dispatch>>;
    try {
      request = toApiRequest(req, await readBody(req, MAX_BODY_BYTES));
      result = await dispatch(request);
    } catch (error) {
      if (error instanceof BodyTooLargeError) {
        result = { outcome: apigError(413, 'APIG.0201', 'Request entity too large') };
      } else if (error instanceof Error && error.name === 'AbortError') {
        // The emulator is closing while this call waited out an injected latency.
        result = { outcome: { drop: true } };
      } else {
        context.log(`emulator error on ${req.method ?? ''} ${req.url ?? ''}: ${error instanceof Error ? error.message : String(error)}`);
        result = { outcome: { status: 500, body: { error_code: 'CH.000001', error_msg: 'emulator internal error' } } };
      }
    }
    send(req, res, result.outcome);
    const durationMs = Date.now() - started;
    const method = request?.method ?? req.method ?? '';
    const path = request?.pathAndQuery ?? req.url ?? '';
    const status = isDrop(result.outcome) ? 0 : result.outcome.status;
    if (result.record) {
      const errorCode = isDrop(result.outcome) ? undefined : errorCodeOf(result.outcome);
      context.calls.add({ at: arrivedAt, method, path, status, durationMs, ...result.record, ...(errorCode === undefined ? {} : { errorCode }) });
    }
    const tag = result.record?.api ?? 'admin';
    context.log(`${tag} ${method} ${path} ${status === 0 ? 'dropped' : String(status)} ${durationMs}ms`);
  }

  return (req, res) => {
    void handle(req, res);
  };
}
