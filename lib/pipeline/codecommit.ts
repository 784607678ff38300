import { BridgeError } from '../errors';
import type { Logger } from '../observability/log';
import { mirrorsFor, mirrorWantsRefs, pathMirrorsFor, type MirrorIndex } from '../config/mapping';
import { readCodeCommitEvent } from '../providers/codecommit';
import type { Push } from '../providers/types';
import { acceptPush } from './accept';
import type { Durable } from './durable';
import { isDeferrable, type Job, type MirrorSyncer, type SyncTarget } from './sync';

/**
 * AWS CodeCommit pushes arrive as EventBridge events: no HTTP, no signature — IAM (the rule's
 * permission to invoke the function) is the trust, so no webhook secret is involved.
 */

export interface CodeCommitSyncOptions {
  readonly index: MirrorIndex;
  readonly syncMirrors: MirrorSyncer;
  readonly logger: Logger;
  /** @default Date.now */
  readonly now?: (() => number) | undefined;
  /** Time a run may spend on CodeHub, capped by the Lambda's remaining time. @default 60000 */
  readonly budgetMs?: number | undefined;
  /** The push ledger and queue, as for webhooks: the push is recorded and confirmed. Omitted: stateless. */
  readonly durable?: Durable | undefined;
}

export type CodeCommitOutcome =
  | { readonly status: 'synced'; readonly source: string; readonly jobs: readonly Job[]; readonly pushId?: string }
  /** Durable: recorded; CodeHub could not take a sync now (the worker retries), or refused it for good (failed). */
  | { readonly status: 'queued' | 'failed'; readonly source: string; readonly jobs: readonly Job[]; readonly pushId: string }
  /** Durable: the same push as one the ledger holds (EventBridge delivers at least once). */
  | { readonly status: 'replayed'; readonly source: string; readonly pushId: string }
  | { readonly status: 'ignored'; readonly reason: string };

/** Raised when a sync failed, so that Lambda retries the asynchronous invocation (twice by default). */
export class CodeCommitSyncError extends BridgeError {
  override name = 'CodeCommitSyncError';
}

const ANSWER_MARGIN_MS = 1_000;

export function createCodeCommitSync(options: CodeCommitSyncOptions) {
  const { index, syncMirrors, logger } = options;
  const now = options.now ?? Date.now;
  const budgetMs = options.budgetMs ?? 60_000;

  return async function syncCodeCommitEvent(event: unknown, remainingMs?: number): Promise<CodeCommitOutcome> {
    const read = readCodeCommitEvent(event);
    if (read.kind === 'ignored') {
      logger.info('ignored', { host: 'codecommit', reason: read.reason });
      return { status: 'ignored', reason: read.reason };
    }
    const { push } = read;
    const configured: readonly SyncTarget[] = [...mirrorsFor(index, push.source), ...pathMirrorsFor(index, push.source)];
    const wanted = configured.filter((m) => mirrorWantsRefs(m, push.refs));
    if (wanted.length === 0) {
      const reason = configured.length === 0 ? `no mirror configured for ${push.source}` : `no mirror for ${push.source} wants ${push.refs.map((r) => r.ref).join(', ')}`;
      logger.info('ignored', { host: 'codecommit', source: push.source, reason });
      return { status: 'ignored', reason };
    }
    const budget = remainingMs === undefined ? budgetMs : Math.min(budgetMs, remainingMs - ANSWER_MARGIN_MS);
    const deadline = now() + Math.max(0, budget);
    if (options.durable) return acceptDurably(options.durable, push, wanted, deadline);
    const { jobs, failures } = await syncMirrors(wanted, deadline, { host: 'codecommit', source: push.source });
    const summary = { host: 'codecommit', source: push.source, refs: push.refs.map((r) => r.ref), jobs };
    if (failures.length > 0) {
      logger.error('codehub failed', { ...summary, failures });
      const first = failures[0];
      throw new CodeCommitSyncError(first?.code === 'CODEHUB_TIMEOUT' ? 'CODEHUB_TIMEOUT' : 'CODEHUB_REJECTED', `${failures.length} of ${wanted.length} syncs failed for ${push.source}; first: ${first?.error ?? ''}`);
    }
    logger.info('synced', summary);
    return { status: 'synced', source: push.source, jobs };
  };

  /** Through the ledger: only an unrecorded push throws (Lambda retries the event); CodeHub's failures are the worker's. */
  async function acceptDurably(durable: Durable, push: Push, wanted: readonly SyncTarget[], deadline: number): Promise<CodeCommitOutcome> {
    const log = { host: 'codecommit', source: push.source };
    const accepted = await acceptPush({ durable, syncMirrors, logger, now }, { push, mirrors: wanted, deadline, log });
    switch (accepted.kind) {
      case 'ignored':
        logger.info('ignored', { ...log, reason: accepted.reason });
        return { status: 'ignored', reason: accepted.reason };
      case 'known-push':
        logger.info('replayed', { ...log, pushId: accepted.entry.pushId });
        return { status: 'replayed', source: push.source, pushId: accepted.entry.pushId };
      case 'unavailable':
        throw new CodeCommitSyncError(accepted.error.code, accepted.error.message);
      case 'recorded': {
        const { pushId, jobs, failures } = accepted;
        const status = failures.length === 0 ? 'synced' : failures.every(isDeferrable) ? 'queued' : 'failed';
        if (status === 'failed') logger.error('codehub failed', { ...log, pushId, jobs, failures });
        else logger.info(status, { ...log, pushId, jobs, failures });
        return { status, source: push.source, jobs, pushId };
      }
    }
  }
}
