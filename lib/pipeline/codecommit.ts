import { BridgeError } from '../errors';
import type { Logger } from '../observability/log';
import { mirrorsFor, mirrorWantsRefs, pathMirrorsFor, type MirrorIndex } from '../config/mapping';
import { readCodeCommitEvent } from '../providers/codecommit';
import type { Job, MirrorSyncer, SyncTarget } from './sync';

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
}

export type CodeCommitOutcome =
  | { readonly status: 'synced'; readonly source: string; readonly jobs: readonly Job[] }
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
    const { jobs, failures } = await syncMirrors(wanted, now() + Math.max(0, budget), { host: 'codecommit', source: push.source });
    const summary = { host: 'codecommit', source: push.source, refs: push.refs.map((r) => r.ref), jobs };
    if (failures.length > 0) {
      logger.error('codehub failed', { ...summary, failures });
      const first = failures[0];
      throw new CodeCommitSyncError(first?.code === 'CODEHUB_TIMEOUT' ? 'CODEHUB_TIMEOUT' : 'CODEHUB_REJECTED', `${failures.length} of ${wanted.length} syncs failed for ${push.source}; first: ${first?.error ?? ''}`);
    }
    logger.info('synced', summary);
    return { status: 'synced', source: push.source, jobs };
  };
}
