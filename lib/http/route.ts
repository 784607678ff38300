import type { APIGatewayProxyEvent, APIGatewayProxyEventV2 } from 'aws-lambda';
import { isHttpEvent, type HttpEvent } from './event';

/**
 * Which of the webhook function's routes an event is for. One function serves them all, so that
 * the status page reads the same warm container's last triggers as the pipeline records them.
 */

/**
 * `/mirrors`, optionally under one leading segment (a REST API or HTTP API named stage: `/dev/mirrors`),
 * optionally with a trailing slash.
 */
const MIRRORS_PATH = /^(?:\/[^/]+)?\/mirrors\/?$/;
/**
 * `/pushes/{push_id}`, with the same optional stage segment and trailing slash. Any one segment is
 * taken as the id: the status handler answers a malformed one 404 rather than the pipeline reading it.
 */
const PUSH_PATH = /^(?:\/[^/]+)?\/pushes\/([^/]+)\/?$/;

/** A status route: the mirrors report (`GET /mirrors`), or one push of the ledger (`GET /pushes/{push_id}`). */
export type StatusRoute = 'mirrors' | { readonly pushId: string };

/** The request path: `rawPath` of payload 2.0 (HTTP API, Function URL), `path` of payload 1.0 (REST API). */
export function requestPath(event: unknown): string {
  if (!isHttpEvent(event)) return '';
  const v2 = (event as Partial<APIGatewayProxyEventV2>).rawPath;
  if (typeof v2 === 'string') return v2;
  const v1 = (event as Partial<APIGatewayProxyEvent>).path;
  return typeof v1 === 'string' ? v1 : '';
}

/**
 * The status route the event is for, or undefined when it is for the webhook pipeline. Decided by
 * path alone, whatever the method: the status handler answers 405 to anything but GET, rather than
 * the pipeline reading a POST to `/mirrors` as a delivery. Any event is asked, `null` included.
 */
export function statusRoute(event: unknown): StatusRoute | undefined {
  const path = requestPath(event);
  if (MIRRORS_PATH.test(path)) return 'mirrors';
  const pushId = PUSH_PATH.exec(path)?.[1];
  return pushId === undefined ? undefined : { pushId };
}

/** Whether the event is for a status route (`statusRoute` answers one). */
export function isStatusRequest(event: unknown): event is HttpEvent {
  return statusRoute(event) !== undefined;
}
