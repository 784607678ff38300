/**
 * Lambda entry point: wires the environment (mirror config, CodeHub credentials, logger) into the
 * pipeline once per cold start. Invalid configuration throws here, so the function fails at init
 * with a message that names the field instead of half-working.
 */
import type { Context } from 'aws-lambda';
import { loadBridge } from '../lib/pipeline/bootstrap';
import { durableFromEnv } from '../lib/pipeline/durable';
import { isHttpEvent, readHttpRequest } from '../lib/http/event';
import { statusRoute } from '../lib/http/route';
import { idempotencyStoreFromEnv } from '../lib/pipeline/idempotency';
import { createLastTriggers } from '../lib/status/last-triggers';
import { createDeliveryTelemetry } from '../lib/observability/delivery';
import { createBridgeMetrics, createBudgetMetrics, createLambdaLogger } from '../lib/observability/lambda';
import type { StatusHandler } from '../lib/status/status';
import { createWebhookHandler, type WebhookHandler } from '../lib/pipeline/webhook';
import { webhookSettingsFromEnv } from '../lib/pipeline/settings';

const logger = createLambdaLogger();
// One log line and one EMF metrics line per delivery, written just after its answer.
const telemetry = createDeliveryTelemetry({ logger, metrics: createBridgeMetrics() });

/** GET /mirrors shows the syncs started by this container: memory, not shared between containers. */
const lastTriggers = createLastTriggers();

async function initialise(): Promise<WebhookHandler> {
  // A delivery waits little for a budget slot: past it, the push is queued (202) and the worker triggers it.
  const { config, index, codehub, resolver } = await loadBridge(process.env, logger, { budgetWaitMs: 300, budgetMetrics: createBudgetMetrics() });
  // LEDGER_TABLE, PUSH_QUEUE_URL, PUSH_DLQ_URL: every push recorded before its 2xx (none set: stateless).
  const durable = await durableFromEnv(process.env);
  // The status routes are rare next to deliveries: their modules load on the first status request, not at cold start.
  let statusHandler: Promise<StatusHandler> | undefined;
  const handleStatus: StatusHandler = async (request, route) => {
    statusHandler ??= import('../lib/status/status').then(({ createStatusHandler }) =>
      createStatusHandler({ config, codehub, statusKey: config.statusKey, lastTriggers, logger, ledger: durable?.store }),
    );
    return (await statusHandler)(request, route);
  };
  const handleWebhook = createWebhookHandler({
    index,
    codehub,
    resolver,
    logger,
    // WEBHOOK_BUDGET_MS[_<HOST>], WEBHOOK_MAX_BODY_BYTES; IDEMPOTENCY_TABLE (DynamoDB, loaded only when set).
    ...webhookSettingsFromEnv(process.env),
    idempotency: await idempotencyStoreFromEnv(process.env, { logger }),
    onJob: lastTriggers.recordJob,
    observe: telemetry.observe,
    durable,
  });
  // Whatever the event (`null` included), routing never throws: what is not a status route is the pipeline's to answer.
  return (event, context) => {
    const route = statusRoute(event);
    return route === undefined || !isHttpEvent(event) ? handleWebhook(event, context) : handleStatus(readHttpRequest(event), route);
  };
}

const handleRequest = await initialise();

export const handler: WebhookHandler = (event, context) => {
  // The previous delivery's lines, if not out yet, go out under the previous request id.
  telemetry.flush();
  // Every line of this invocation carries its request id (and whether it was a cold start).
  if (context) logger.addContext(context as Context);
  return handleRequest(event, context);
};
