import type { APIGatewayProxyEvent, APIGatewayProxyEventV2 } from 'aws-lambda';
import { isHttpEvent, type HttpEvent } from './event';

/**
 * Which of the webhook function's two routes an event is for. One function serves both, so that
 * the status page reads the same warm container's last triggers as the pipeline records them.
 */

/**
 * `/mirrors`, optionally under one leading segment (a REST API or HTTP API named stage: `/dev/mirrors`),
 * optionally with a trailing slash.
 */
const STATUS_PATH = /^(?:\/[^/]+)?\/mirrors\/?$/;

/** The request path: `rawPath` of payload 2.0 (HTTP API, Function URL), `path` of payload 1.0 (REST API). */
export function requestPath(event: unknown): string {
  if (!isHttpEvent(event)) return '';
  const v2 = (event as Partial<APIGatewayProxyEventV2>).rawPath;
  if (typeof v2 === 'string') return v2;
  const v1 = (event as Partial<APIGatewayProxyEvent>).path;
  return typeof v1 === 'string' ? v1 : '';
}

/**
 * Whether the event is for the status route. Decided by path alone, whatever the method: the
 * status handler answers 405 to anything but GET, rather than the pipeline reading a POST to
 * `/mirrors` as a delivery. Any event is asked, `null` included: it is simply not for the status route.
 */
export function isStatusRequest(event: unknown): event is HttpEvent {
  return STATUS_PATH.test(requestPath(event));
}
