/**
 * What every entry point (webhook, reconcile, CodeCommit) sets up once per cold start: the mirror
 * config and its index, the CodeHub client (its calls held to the global budget when there is one),
 * and the resolver for mirrors configured by path.
 * Throws ConfigError naming the field or variable at fault, so a bad setup fails at init.
 */
import { createCodeHubFromEnv, type CodeHubClient } from '../codehub';
import { createRepositoryResolver, type RepositoryResolver } from '../codehub/repository-resolver';
import { loadMirrorConfig } from '../config/load';
import { resolveEnvironmentSecrets } from '../config/secrets';
import type { MirrorConfig } from '../config/types';
import type { BudgetMetrics } from '../observability/lambda';
import type { Logger } from '../observability/log';
import { buildMirrorIndex, type MirrorIndex } from '../config/mapping';
import { budgetGateFromEnv } from './budget-gate';

export interface Bridge {
  readonly config: MirrorConfig;
  readonly index: MirrorIndex;
  readonly codehub: CodeHubClient;
  /** Present when the config has `target: group/name` or wildcard mirrors. */
  readonly resolver: RepositoryResolver | undefined;
  /** Whether every CodeHub call takes its slot from the global budget (`CODEHUB_MAX_CALLS_PER_MINUTE`, with the ledger). */
  readonly budgeted: boolean;
}

export interface LoadBridgeOptions {
  /** The longest one CodeHub call of this function waits for its budget slot. @default 1000 */
  readonly budgetWaitMs?: number;
  /** Where the budget's metrics go. @default none written */
  readonly budgetMetrics?: BudgetMetrics | undefined;
}

export async function loadBridge(env: Readonly<Record<string, string | undefined>>, logger: Logger, options: LoadBridgeOptions = {}): Promise<Bridge> {
  // CODEHUB_SK=ssm:/… or secretsmanager:… are read alongside the config's own references.
  const [{ config, warnings }, codehubEnv] = await Promise.all([loadMirrorConfig(env), resolveEnvironmentSecrets(env)]);
  for (const warning of warnings) logger.warn('config warning', { warning });
  const gate = budgetGateFromEnv(env, { maxWaitMs: options.budgetWaitMs ?? 1000, logger, metrics: options.budgetMetrics });
  const codehub = createCodeHubFromEnv(codehubEnv, { logger, gate });
  const byPath = config.pathMirrors.length + config.wildcardMirrors.length > 0;
  return {
    config,
    index: buildMirrorIndex(config),
    codehub,
    // Ids looked up once (GET /v1/repositories/repoid) and cached.
    resolver: byPath ? createRepositoryResolver((group, name, call) => codehub.resolveRepositoryId(group, name, call)) : undefined,
    budgeted: gate !== undefined,
  };
}
