import { ConfigError } from '../errors';
import { ProviderIds, type ProviderId } from '../providers/types';
import type { BudgetMs } from './webhook';

/** Settings of the pipeline read from the environment (see `webhookSettingsFromEnv`). */
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
export function webhookSettingsFromEnv(env: Readonly<Record<string, string | undefined>>): WebhookSettings {
  const global = readPositiveInteger(env, 'WEBHOOK_BUDGET_MS');
  const perHost: Partial<Record<ProviderId, number>> = {};
  for (const id of PROVIDER_IDS) {
    const value = readPositiveInteger(env, budgetVariable(id)) ?? global;
    if (value !== undefined) perHost[id] = value;
  }
  const maxBodyBytes = readPositiveInteger(env, 'WEBHOOK_MAX_BODY_BYTES');
  return {
    ...(Object.keys(perHost).length > 0 ? { budgetMs: perHost } : {}),
    ...(maxBodyBytes === undefined ? {} : { maxBodyBytes }),
  };
}

/** `WEBHOOK_BUDGET_MS_GITEA`, `WEBHOOK_BUDGET_MS_AZURE_DEVOPS`, … */
export function budgetVariable(id: ProviderId): string {
  return `WEBHOOK_BUDGET_MS_${id.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

function readPositiveInteger(env: Readonly<Record<string, string | undefined>>, name: string): number | undefined {
  const text = env[name]?.trim();
  if (text === undefined || text === '') return undefined;
  if (!/^\d+$/.test(text) || Number(text) < 1 || !Number.isSafeInteger(Number(text))) {
    throw new ConfigError(name, `must be a positive integer, got "${text}"`);
  }
  return Number(text);
}
