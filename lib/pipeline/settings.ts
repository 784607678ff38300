/**
 * The pipeline's settings and their defaults: the webhook's budgets and body limit, the
 * reconcile's pace, and how each is read from the environment (at cold start).
 */
import { ConfigError } from '../errors';
import { ProviderIds, type ProviderId } from '../providers/types';

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

/** Larger bodies get 413 before anything reads them: the Lambda payload ceiling. */
export const DEFAULT_MAX_BODY_BYTES = 6 * 1024 * 1024;

type Env = Readonly<Record<string, string | undefined>>;

/** Settings of the webhook read from the environment (see `webhookSettingsFromEnv`). */
export interface WebhookSettings {
  readonly budgetMs?: BudgetMs;
  readonly maxBodyBytes?: number;
}

const PROVIDER_IDS: readonly ProviderId[] = Object.values(ProviderIds);

/**
 * `WEBHOOK_BUDGET_MS` (every host), `WEBHOOK_BUDGET_MS_<HOST>` (one host, e.g.
 * `WEBHOOK_BUDGET_MS_GITEA`; wins over the former) and `WEBHOOK_MAX_BODY_BYTES`. Unset or empty
 * keeps the default. Throws `ConfigError` naming the variable, at cold start.
 */
export function webhookSettingsFromEnv(env: Env): WebhookSettings {
  const global = readPositive(env, 'WEBHOOK_BUDGET_MS', 'integer');
  const perHost: Partial<Record<ProviderId, number>> = {};
  for (const id of PROVIDER_IDS) {
    const value = readPositive(env, budgetVariable(id), 'integer') ?? global;
    if (value !== undefined) perHost[id] = value;
  }
  const maxBodyBytes = readPositive(env, 'WEBHOOK_MAX_BODY_BYTES', 'integer');
  return {
    ...(Object.keys(perHost).length > 0 ? { budgetMs: perHost } : {}),
    ...(maxBodyBytes === undefined ? {} : { maxBodyBytes }),
  };
}

/** `WEBHOOK_BUDGET_MS_GITEA`, `WEBHOOK_BUDGET_MS_AZURE_DEVOPS`, … */
export function budgetVariable(id: ProviderId): string {
  return `WEBHOOK_BUDGET_MS_${id.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

export interface ReconcileSettings {
  /**
   * A mirror whose last success is older than this is synced. Above the schedule (15 min), so a
   * mirror synced by a webhook is left alone; low enough that a lost push waits at most about an
   * hour and a quarter. A quiet repository costs one no-op sync per hour. @default 60 min
   */
  readonly staleAfterMs: number;
  /** CodeHub calls per second at most, retries included. @default 5 */
  readonly ratePerSecond: number;
  /** Mirrors handled at once. @default 2 */
  readonly concurrency: number;
}

export const DEFAULT_RECONCILE_SETTINGS: ReconcileSettings = Object.freeze({
  staleAfterMs: 60 * 60 * 1000,
  ratePerSecond: 5,
  concurrency: 2,
});

/**
 * `RECONCILE_STALE_AFTER_MINUTES` (default 60), `RECONCILE_RATE_PER_SECOND` (default 5; may be a
 * fraction), `RECONCILE_CONCURRENCY` (default 2). Throws `ConfigError` naming the variable.
 */
export function reconcileSettingsFromEnv(env: Env): ReconcileSettings {
  const staleMinutes = readPositive(env, 'RECONCILE_STALE_AFTER_MINUTES', 'number');
  return {
    staleAfterMs: staleMinutes === undefined ? DEFAULT_RECONCILE_SETTINGS.staleAfterMs : staleMinutes * 60 * 1000,
    ratePerSecond: readPositive(env, 'RECONCILE_RATE_PER_SECOND', 'number') ?? DEFAULT_RECONCILE_SETTINGS.ratePerSecond,
    concurrency: readPositive(env, 'RECONCILE_CONCURRENCY', 'integer') ?? DEFAULT_RECONCILE_SETTINGS.concurrency,
  };
}

/** A positive integer or decimal number from `env[name]`; unset or empty is `undefined`. */
function readPositive(env: Env, name: string, kind: 'integer' | 'number'): number | undefined {
  const text = env[name]?.trim();
  if (text === undefined || text === '') return undefined;
  const value = Number(text);
  const pattern = kind === 'integer' ? /^\d+$/ : /^\d+(\.\d+)?$/;
  const inRange = kind === 'integer' ? Number.isSafeInteger(value) : Number.isFinite(value);
  if (!pattern.test(text) || !(value > 0) || !inRange) {
    throw new ConfigError(name, `must be a positive ${kind}, got "${text}"`);
  }
  return value;
}
