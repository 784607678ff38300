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
   * The exact bytes the sender signed: base64 bodies are decoded, text bodies encoded as UTF-8. For
   * a text body they are built on first read; a verifier that can hash `bodyText` never needs them.
   */
  readonly rawBody: Buffer;
  /**
   * The body as the event carried it, when that was well-formed text: it encodes to exactly
   * `rawBody`, so it can be hashed and parsed instead of the bytes.
   */
  readonly bodyText?: string | undefined;
  /** `rawBody.length`, known without building `rawBody`. */
  readonly bodyLength: number;
}

export type HttpResponse = APIGatewayProxyResult;

function isV2(event: HttpEvent): event is APIGatewayProxyEventV2 {
  return (event as { version?: unknown }).version === '2.0';
}

/** Lower-cases header names; a name sent twice (in any case) keeps both values, joined as HTTP allows. */
function lowerCaseHeaders(
  single: Readonly<Record<string, string | undefined>> | null | undefined,
  multi?: Readonly<Record<string, readonly string[] | undefined>> | null,
): Record<string, string> {
  // A null-prototype object: a header named `__proto__` is just a header.
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  if (multi) {
    for (const name of Object.keys(multi)) {
      const values = multi[name];
      if (!Array.isArray(values) || values.length === 0) continue;
      const key = name.toLowerCase();
      const joined = values.filter((v): v is string => typeof v === 'string').join(', ');
      out[key] = key in out ? `${out[key]}, ${joined}` : joined;
    }
  }
  if (single) {
    for (const name of Object.keys(single)) {
      const value = single[name];
      if (typeof value !== 'string') continue;
      const key = name.toLowerCase();
      // REST API events carry a header in both maps; the multi-value form already has every value.
      if (multi && key in out) continue;
      out[key] = key in out ? `${out[key]}, ${value}` : value;
    }
  }
  return out;
}

/** Reads any supported event into an `HttpRequest`. Never throws for a malformed event. */
export function readHttpRequest(event: HttpEvent): HttpRequest {
  const method = isV2(event)
    ? event.requestContext?.http?.method
    : (event as APIGatewayProxyEvent).httpMethod;
  const headers = isV2(event)
    ? lowerCaseHeaders(event.headers)
    : lowerCaseHeaders(event.headers, event.multiValueHeaders);
  const body: unknown = event.body;
  const verb = typeof method === 'string' ? method.toUpperCase() : '';
  if (typeof body !== 'string' || body.length === 0) return { method: verb, headers, rawBody: Buffer.alloc(0), bodyLength: 0 };
  if (event.isBase64Encoded === true) {
    const rawBody = Buffer.from(body, 'base64');
    return { method: verb, headers, rawBody, bodyLength: rawBody.length };
  }
  return new TextBodyRequest(verb, headers, body);
}

/**
 * A request whose body arrived as text. Its bytes are not copied up front: a JSON delivery is
 * hashed and parsed as text and never needs them. (A class, so that every request has one shape.)
 */
class TextBodyRequest implements HttpRequest {
  readonly bodyText: string | undefined;
  readonly bodyLength: number;
  #bytes: Buffer | undefined;

  constructor(
    readonly method: string,
    readonly headers: Readonly<Record<string, string>>,
    private readonly text: string,
  ) {
    // Text with a lone surrogate encodes to U+FFFD: then only the bytes say exactly what was signed.
    this.bodyText = (text as { isWellFormed?: () => boolean }).isWellFormed?.() === true ? text : undefined;
    this.bodyLength = Buffer.byteLength(text, 'utf8');
  }

  get rawBody(): Buffer {
    this.#bytes ??= Buffer.from(this.text, 'utf8');
    return this.#bytes;
  }
}

/** A JSON answer. Bodies are small objects; the Git host shows them in its delivery log. */
export function jsonResponse(statusCode: number, body: unknown, headers?: Record<string, string>): HttpResponse {
  const all: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' };
  if (headers !== undefined) Object.assign(all, headers);
  return { statusCode, headers: all, body: JSON.stringify(body) };
}
