/**
 * Lambda entry point: wires the environment (mirror config, CodeHub credentials, logger) into the
 * pipeline once per cold start. Invalid configuration throws here, so the function fails at init
 * with a message that names the field instead of half-working.
 */
import { createCodeHubFromEnv } from '../lib/codehub';
import { createRepositoryResolver } from '../lib/codehub/repository-resolver';
import { loadMirrorConfig } from '../lib/config/load';
import { resolveEnvironmentSecrets } from '../lib/config/secrets';
import { idempotencyStoreFromEnv } from '../lib/idempotency';
import { createLogger } from '../lib/log';
import { buildMirrorIndex } from '../lib/mapping';
import { createWebhookHandler, type WebhookHandler } from '../lib/webhook';
import { webhookSettingsFromEnv } from '../lib/webhook-settings';

const logger = createLogger({ base: { service: 'codehub-mirror-bridge' } });

async function initialise(): Promise<WebhookHandler> {
  // CODEHUB_SK=ssm:/… or secretsmanager:… are read alongside the config's own references.
  const [{ config, warnings }, codehubEnv] = await Promise.all([loadMirrorConfig(process.env), resolveEnvironmentSecrets(process.env)]);
  for (const warning of warnings) logger.warn('config warning', { warning });
  const codehub = createCodeHubFromEnv(codehubEnv, { logger });
  const byPath = config.pathMirrors.length + config.wildcardMirrors.length > 0;
  return createWebhookHandler({
    index: buildMirrorIndex(config),
    codehub,
    // `target: group/name` mirrors: ids looked up once (GET /v1/repositories/repoid) and cached.
    resolver: byPath ? createRepositoryResolver((group, name) => codehub.resolveRepositoryId(group, name)) : undefined,
    logger,
    // WEBHOOK_BUDGET_MS[_<HOST>], WEBHOOK_MAX_BODY_BYTES; IDEMPOTENCY_TABLE (DynamoDB, loaded only when set).
    ...webhookSettingsFromEnv(process.env),
    idempotency: await idempotencyStoreFromEnv(process.env, { logger }),
  });
}

const handleWebhook = await initialise();

export const handler: WebhookHandler = (event, context) => handleWebhook(event, context);
