/**
 * The global CodeHub budget as the CodeHub client's call gate: every attempt of every function
 * (webhook, worker, reconcile, status page) takes its slot from one schedule in DynamoDB
 * (codehub-budget.ts) before it is sent, and a 429 from CodeHub pauses every caller.
 *
 * A call whose slot would come after the caller may wait is not sent: it fails as CODEHUB_THROTTLED
 * with the time its turn comes, so the push is queued (202) or its check is put off, and the queue
 * sends it later. The budget needs the ledger table; the stateless bridge has none.
 * The budget module (and the AWS SDK under it) is imported on the first call, not at cold start.
 */

import type { CallGate } from '../codehub/types';
import { CodeHubError, ErrorCodes } from '../errors';
import { readEnvInteger } from '../ledger/confirm';
import type { BudgetMetrics } from '../observability/lambda';
import type { Logger } from '../observability/log';
import type { CodeHubBudget } from './codehub-budget';

/** `CODEHUB_MAX_CALLS_PER_MINUTE`: half the shared 600/min quota, leaving the rest to people and other tools. */
export const DEFAULT_CALLS_PER_MINUTE = 300;
/** Below this much time left for the call itself, a slot is not worth waiting for. */
const MIN_CALL_MS = 250;
/** Waited when the budget itself cannot be read: no call goes out unbudgeted. */
const BUDGET_UNREADABLE_RETRY_SECONDS = 5;

export interface BudgetGateOptions {
  /** The longest one call waits for its slot (also bounded by the call's deadline). */
  readonly maxWaitMs: number;
  readonly logger: Logger;
  /** `CodeHubCallsPerMinute` by kind and `BudgetWaitMs`. @default none written */
  readonly metrics?: BudgetMetrics | undefined;
  /** @default Date.now */
  readonly now?: () => number;
  /** @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  /** @default the budget of `LEDGER_TABLE` (lazily imported) */
  readonly budget?: () => Promise<CodeHubBudget>;
  /** The configured budget, for messages (the schedule runs a little under it). @default the schedule's */
  readonly callsPerMinute?: number;
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The schedule's own rate: 2% under the budget. A call that waited for its slot reaches CodeHub a
 * few ms late and the next one on time, so a schedule at exactly the budget lets a sliding minute
 * hold one call more than it (the storm bench measured 301 at 300).
 */
export function spacedLimit(callsPerMinute: number): number {
  return Math.max(1, Math.floor(callsPerMinute * 0.98));
}

/** The calls per minute `env` asks for; undefined = no budget (`0`, or no ledger table). @throws ConfigError */
export function budgetCallsPerMinute(env: Env): number | undefined {
  const limit = readEnvInteger(env, 'CODEHUB_MAX_CALLS_PER_MINUTE', 100_000, 0) ?? DEFAULT_CALLS_PER_MINUTE;
  if (limit === 0 || (env['LEDGER_TABLE'] ?? '').trim() === '') return undefined;
  return limit;
}

/** The gate for `env`'s budget, or undefined when it has none. */
export function budgetGateFromEnv(env: Env, options: BudgetGateOptions): CallGate | undefined {
  const callsPerMinute = budgetCallsPerMinute(env);
  if (callsPerMinute === undefined) return undefined;
  const tableName = (env['LEDGER_TABLE'] ?? '').trim();
  let budget: Promise<CodeHubBudget> | undefined;
  const lazy = async (): Promise<CodeHubBudget> => {
    budget ??= import('./codehub-budget')
      .then(({ createCodeHubBudget }) => createCodeHubBudget({ tableName, callsPerMinute: spacedLimit(callsPerMinute) }))
      .catch((error: unknown) => {
        budget = undefined; // the next call tries again
        throw error;
      });
    return budget;
  };
  return createBudgetGate({ callsPerMinute, ...options, budget: options.budget ?? lazy });
}

export function createBudgetGate(options: BudgetGateOptions & { readonly budget: () => Promise<CodeHubBudget> }): CallGate {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  /** The latest pause this container's own 429s asked for: known without a read. */
  let localPause = 0;
  return {
    async admit(kind, operation, deadline) {
      const asked = now();
      const room = deadline === undefined ? options.maxWaitMs : deadline - asked - MIN_CALL_MS;
      const maxWaitMs = Math.max(0, Math.min(options.maxWaitMs, room));
      let slot: Awaited<ReturnType<CodeHubBudget['reserve']>>;
      let budget: CodeHubBudget;
      try {
        budget = await options.budget();
        slot = await budget.reserve(maxWaitMs);
      } catch (error) {
        options.logger.warn('CodeHub budget not readable: the call waits', { operation, error });
        throw new CodeHubError(ErrorCodes.CODEHUB_THROTTLED, `CodeHub ${operation}: the bridge's CodeHub budget could not be read`, {
          retryAfterSeconds: BUDGET_UNREADABLE_RETRY_SECONDS,
          cause: error,
        });
      }
      if (slot.kind === 'over') {
        throw new CodeHubError(ErrorCodes.CODEHUB_THROTTLED, `CodeHub ${operation}: the bridge's budget of ${options.callsPerMinute ?? budget.callsPerMinute} calls a minute is spent for now`, {
          retryAfterSeconds: Math.max(1, Math.ceil(slot.retryAfterMs / 1000)),
        });
      }
      if (slot.waitMs > 0) {
        // The slot's time counts from the reservation, not from its answer.
        await sleep(Math.max(0, asked + slot.waitMs - now()));
        // A 429 that came back while this call waited pauses it too.
        const pausedUntil = Math.max(localPause, (await budget.pausedUntil().catch(() => undefined)) ?? 0);
        if (pausedUntil > now()) {
          throw new CodeHubError(ErrorCodes.CODEHUB_THROTTLED, `CodeHub ${operation}: CodeHub throttled the bridge while the call waited its turn`, {
            retryAfterSeconds: Math.max(1, Math.ceil((pausedUntil - now()) / 1000)),
          });
        }
      }
      options.metrics?.call(kind, slot.waitMs);
    },
    async throttled(until) {
      localPause = Math.max(localPause, until);
      try {
        await (await options.budget()).pause(until);
        options.logger.warn('CodeHub throttled the bridge: every caller waits', { until: new Date(until).toISOString() });
      } catch (error) {
        options.logger.warn('CodeHub budget not paused', { error });
      }
    },
  };
}
