/**
 * Lambda entry point: wires the environment (mirror config, CodeHub credentials, logger) into the
 * pipeline once per cold start. Invalid configuration throws here, so the function fails at init
 * with a message that names the field instead of half-working.
 */
import { loadBridge } from '../lib/bootstrap';
import { idempotencyStoreFromEnv } from '../lib/idempotency';
import { createLogger } from '../lib/log';
import { createWebhookHandler, type WebhookHandler } from '../lib/webhook';
import { webhookSettingsFromEnv } from '../lib/webhook-settings';

const logger = createLogger({ base: { service: 'codehub-mirror-bridge' } });

async function initialise(): Promise<WebhookHandler> {
  const { index, codehub, resolver } = await loadBridge(process.env, logger);
  return createWebhookHandler({
    index,
    codehub,
    resolver,
    logger,
    // WEBHOOK_BUDGET_MS[_<HOST>], WEBHOOK_MAX_BODY_BYTES; IDEMPOTENCY_TABLE (DynamoDB, loaded only when set).
    ...webhookSettingsFromEnv(process.env),
    idempotency: await idempotencyStoreFromEnv(process.env, { logger }),
  });
}

const handleWebhook = await initialise();

export const handler: WebhookHandler = (event, context) => handleWebhook(event, context);
