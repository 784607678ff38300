import type { APIGatewayProxyEvent, APIGatewayProxyEventV2, APIGatewayProxyResult } from 'aws-lambda';

/**
 * Adapters between Lambda's HTTP event shapes and the transport-free request the pipeline reads.
 * Three shapes arrive: API Gateway HTTP API (payload 2.0), Lambda Function URL (same 2.0 shape) and
 * API Gateway REST API (payload 1.0, mixed-case headers, optional multi-value headers).
 */

/** A Lambda HTTP event of any supported shape. */
export type HttpEvent = APIGatewayProxyEventV2 | APIGatewayProxyEvent;

export interface HttpRequest {
  readonly method: string;
  /** Lower-case names; repeated headers joined with ", ". */
  readonly headers: Readonly<Record<string, string>>;
  /**
   * The body as it arrived, never copied: well-formed text stays the event's own string (it encodes
   * to exactly the bytes the sender signed, so it is hashed and parsed as text); a base64 body is
   * decoded to its bytes, and so is text with a lone surrogate, whose bytes differ from its text.
   */
  readonly body: string | Buffer;
  /** The body's length in bytes. */
  readonly bodyLength: number;
}

export type HttpResponse = APIGatewayProxyResult;

/**
 * Whether a Lambda event can be read as an HTTP request at all: an object, not an array. Whatever
 * its fields hold, `readHttpRequest` reads it without throwing.
 */
export function isHttpEvent(event: unknown): event is HttpEvent {
  return typeof event === 'object' && event !== null && !Array.isArray(event);
}

function isV2(event: HttpEvent): event is APIGatewayProxyEventV2 {
  return (event as { version?: unknown }).version === '2.0';
}

type HeaderMap = Readonly<Record<string, unknown>>;

function asHeaderMap(value: unknown): HeaderMap | undefined {
  return typeof value === 'object' && value !== null ? (value as HeaderMap) : undefined;
}

/** Lower-cases header names; a name sent twice (in any case) keeps both values, joined as HTTP allows. */
function lowerCaseHeaders(single: HeaderMap | undefined, multi: HeaderMap | undefined): Record<string, string> {
  // A null-prototype object: a header named `__proto__` is just a header.
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  const add = (name: string, value: string): void => {
    const key = name.toLowerCase();
    out[key] = key in out ? `${out[key]}, ${value}` : value;
  };
  for (const [name, values] of Object.entries(multi ?? {})) {
    if (Array.isArray(values) && values.length > 0) add(name, values.filter((v): v is string => typeof v === 'string').join(', '));
  }
  for (const [name, value] of Object.entries(single ?? {})) {
    // REST API events carry a header in both maps; the multi-value form already has every value.
    if (typeof value !== 'string' || (multi !== undefined && name.toLowerCase() in out)) continue;
    add(name, value);
  }
  return out;
}

/** Reads any supported event into an `HttpRequest`. Never throws, whatever the event's fields hold. */
export function readHttpRequest(event: HttpEvent): HttpRequest {
  const v2 = isV2(event);
  const method: unknown = v2 ? event.requestContext?.http?.method : (event as APIGatewayProxyEvent).httpMethod;
  const headers = lowerCaseHeaders(asHeaderMap(event.headers), v2 ? undefined : asHeaderMap((event as APIGatewayProxyEvent).multiValueHeaders));
  const verb = typeof method === 'string' ? method.toUpperCase() : '';
  const body: unknown = event.body;
  if (typeof body !== 'string' || body.length === 0) return { method: verb, headers, body: '', bodyLength: 0 };
  if (event.isBase64Encoded === true) {
    const bytes = Buffer.from(body, 'base64');
    return { method: verb, headers, body: bytes, bodyLength: bytes.length };
  }
  // A lone surrogate encodes to U+FFFD: then only the bytes say exactly what was signed.
  if (!isWellFormed(body)) {
    const bytes = Buffer.from(body, 'utf8');
    return { method: verb, headers, body: bytes, bodyLength: bytes.length };
  }
  return { method: verb, headers, body, bodyLength: Buffer.byteLength(body, 'utf8') };
}

/** `String.prototype.isWellFormed` (Node 20+; newer than this project's ES2023 typings). */
function isWellFormed(text: string): boolean {
  return (text as string & { isWellFormed(): boolean }).isWellFormed();
}

/** A JSON answer. Bodies are small objects; the Git host shows them in its delivery log. */
export function jsonResponse(statusCode: number, body: unknown, headers?: Readonly<Record<string, string>>): HttpResponse {
  return { statusCode, headers: { 'content-type': 'application/json; charset=utf-8', ...headers }, body: JSON.stringify(body) };
}
