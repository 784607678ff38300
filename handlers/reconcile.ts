/**
 * Lambda entry point of the scheduled reconcile (EventBridge, every 15 minutes by default): wires
 * the environment into `reconcileMirrors` once per cold start, like `handlers/webhook.ts`. Invalid
 * configuration throws at init. A run never throws for a mirror: an asynchronous invocation that
 * failed would be retried by Lambda, doubling the calls on a CodeHub that may already be struggling.
 */
import type { Context } from 'aws-lambda';
import { loadBridge } from '../lib/pipeline/bootstrap';
import { createBudgetMetrics, createLambdaLogger } from '../lib/observability/lambda';
import { reconcileCounts, reconcileMirrors, resolvePathMirrors, type ReconcileSummary } from '../lib/pipeline/reconcile';
import { reconcileSettingsFromEnv } from '../lib/pipeline/settings';
import { durableFromEnv } from '../lib/pipeline/durable';
import { mirrorKeyOf } from '../lib/pipeline/ledger-items';
import { requeueOverdueChecks, type LedgerSweep } from '../lib/pipeline/reconcile-ledger';

/** Kept back from the Lambda's remaining time: one mirror's budget (20 s) and its last call. */
const RUN_MARGIN_MS = 30_000;

const logger = createLambdaLogger({ functionName: 'reconcile' });

type ReconcileResult = Omit<ReconcileSummary, 'outcomes'> & { readonly ledger?: LedgerSweep };
type ReconcileHandler = (event: unknown, context?: Pick<Context, 'getRemainingTimeInMillis' | 'awsRequestId'>) => Promise<ReconcileResult>;

async function initialise(): Promise<ReconcileHandler> {
  const { config, codehub, resolver, budgeted } = await loadBridge(process.env, logger, { budgetWaitMs: 20_000, budgetMetrics: createBudgetMetrics() });
  const settings = reconcileSettingsFromEnv(process.env);
  // With the ledger, the run also re-queues the confirm checks of pending pushes whose task was lost.
  const durable = await durableFromEnv(process.env);
  const mirrorKeys = [...config.mirrors, ...config.pathMirrors].map(mirrorKeyOf);
  return async (_event, context) => {
    const remaining = context?.getRemainingTimeInMillis?.();
    // Mirrors by CodeHub path join the run once their ids are known (resolved and cached).
    const byPath = resolver ? await resolvePathMirrors(config.pathMirrors, (target) => resolver.resolve(target)) : { mirrors: [], unresolved: [] };
    for (const { target, error } of byPath.unresolved) logger.warn('reconcile: target not resolved', { target, error });
    const summary = await reconcileMirrors({
      mirrors: [...config.mirrors, ...byPath.mirrors],
      codehub,
      logger,
      ...settings,
      // With the budget, a throttle pauses every caller and the next run tries again: retrying it here would multiply calls.
      ...(budgeted ? { retry: { retryThrottled: false } } : {}),
      deadline: remaining === undefined ? undefined : Date.now() + remaining - RUN_MARGIN_MS,
    });
    // The per-mirror detail is in the log line; the invocation result only needs the counts.
    if (durable === undefined) return reconcileCounts(summary);
    const ledger = await requeueOverdueChecks({ store: durable.store, queue: durable.queue, mirrorKeys, settings: durable.confirm, logger });
    logger.info('reconcile: ledger swept', { ...ledger });
    return { ...reconcileCounts(summary), ledger };
  };
}

const reconcile = await initialise();

export const handler: ReconcileHandler = (event, context) => reconcile(event, context);
