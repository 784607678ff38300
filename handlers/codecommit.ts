/**
 * Lambda entry point for AWS CodeCommit pushes (EventBridge `CodeCommit Repository State Change`),
 * wired like handlers/webhook.ts. A failed sync throws, so Lambda retries the event.
 */
import type { Context } from 'aws-lambda';
import { loadBridge } from '../lib/pipeline/bootstrap';
import { createCodeCommitSync, type CodeCommitOutcome } from '../lib/pipeline/codecommit';
import { createBudgetMetrics, createLambdaLogger } from '../lib/observability/lambda';
import { createMirrorSyncer } from '../lib/pipeline/sync';
import { durableFromEnv } from '../lib/pipeline/durable';

const logger = createLambdaLogger({ functionName: 'codecommit' });

const { index, codehub, resolver } = await loadBridge(process.env, logger, { budgetWaitMs: 2000, budgetMetrics: createBudgetMetrics() });
// LEDGER_TABLE, PUSH_QUEUE_URL, PUSH_DLQ_URL: recorded and confirmed like webhook pushes (none set: stateless).
const syncCodeCommitEvent = createCodeCommitSync({ index, logger, syncMirrors: createMirrorSyncer({ codehub, logger, resolver }), durable: await durableFromEnv(process.env) });

export const handler = (event: unknown, context?: Pick<Context, 'getRemainingTimeInMillis'>): Promise<CodeCommitOutcome> =>
  syncCodeCommitEvent(event, context?.getRemainingTimeInMillis?.());
