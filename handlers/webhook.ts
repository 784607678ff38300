/**
 * Lambda entry point: wires the environment (mirror config, CodeHub credentials, logger) into the
 * pipeline once per cold start. Invalid configuration throws here, so the function fails at init
 * with a message that names the field instead of half-working.
 */
import { createCodeHubFromEnv } from '../lib/codehub';
import { loadMirrorConfig } from '../lib/config/load';
import { createLogger } from '../lib/log';
import { buildMirrorIndex } from '../lib/mapping';
import { createWebhookHandler, type WebhookHandler } from '../lib/webhook';

const logger = createLogger({ base: { service: 'codehub-mirror-bridge' } });

async function initialise(): Promise<WebhookHandler> {
  const { config, warnings } = await loadMirrorConfig(process.env);
  for (const warning of warnings) logger.warn('config warning', { warning });
  const codehub = createCodeHubFromEnv(process.env, { logger });
  const budget = process.env['WEBHOOK_BUDGET_MS'];
  return createWebhookHandler({
    index: buildMirrorIndex(config),
    codehub,
    logger,
    budgetMs: budget === undefined || budget === '' ? undefined : Number(budget),
  });
}

const handleWebhook = await initialise();

export const handler: WebhookHandler = (event, context) => handleWebhook(event, context);
