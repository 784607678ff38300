/**
 * Every error the bridge raises is a named class with a stable `code`, in the style of undici:
 * callers branch on `code`, never on the message. HTTP-facing errors carry the status the Git host
 * sees and render themselves with `toJSON()`, so every rejection has the same JSON shape.
 */

export const ErrorCodes = {
  METHOD_NOT_ALLOWED: 'METHOD_NOT_ALLOWED',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  UNKNOWN_SENDER: 'UNKNOWN_SENDER',
  NO_SECRET_CONFIGURED: 'NO_SECRET_CONFIGURED',
  SIGNATURE_MISSING: 'SIGNATURE_MISSING',
  SIGNATURE_MISMATCH: 'SIGNATURE_MISMATCH',
  TIMESTAMP_STALE: 'TIMESTAMP_STALE',
  SECRET_NOT_FOR_SOURCE: 'SECRET_NOT_FOR_SOURCE',
  BAD_PAYLOAD: 'BAD_PAYLOAD',
  BAD_EVENT: 'BAD_EVENT',
  DELIVERY_IN_PROGRESS: 'DELIVERY_IN_PROGRESS',
  INTERNAL_ERROR: 'INTERNAL_ERROR',
  CONFIG_INVALID: 'CONFIG_INVALID',
  CODEHUB_REJECTED: 'CODEHUB_REJECTED',
  CODEHUB_AUTH_FAILED: 'CODEHUB_AUTH_FAILED',
  CODEHUB_SIGNATURE_FAILED: 'CODEHUB_SIGNATURE_FAILED',
  CODEHUB_THROTTLED: 'CODEHUB_THROTTLED',
  CODEHUB_SERVER_ERROR: 'CODEHUB_SERVER_ERROR',
  CODEHUB_TIMEOUT: 'CODEHUB_TIMEOUT',
  CODEHUB_UNREACHABLE: 'CODEHUB_UNREACHABLE',
  CODEHUB_BAD_RESPONSE: 'CODEHUB_BAD_RESPONSE',
  LEDGER_UNAVAILABLE: 'LEDGER_UNAVAILABLE',
  LEDGER_REJECTED: 'LEDGER_REJECTED',
  QUEUE_UNAVAILABLE: 'QUEUE_UNAVAILABLE',
  QUEUE_REJECTED: 'QUEUE_REJECTED',
} as const;
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** Base of every bridge error. */
export class BridgeError extends Error {
  override name = 'BridgeError';
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/**
 * An error answered to the Git host as `{"error": message, "code": code}` with `statusCode`, and
 * `headers` where HTTP asks for one (`allow` on a 405).
 */
export class HttpError extends BridgeError {
  override name = 'HttpError';
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;
  constructor(statusCode: number, code: ErrorCode, message: string, options?: { cause?: unknown; headers?: Readonly<Record<string, string>> }) {
    super(code, message, options);
    this.statusCode = statusCode;
    this.headers = options?.headers ?? {};
  }
  toJSON(): Record<string, unknown> {
    return { error: this.message, code: this.code };
  }
}

/** 405: a method the route does not take; `allow` names the one it does. */
export class MethodNotAllowedError extends HttpError {
  override name = 'MethodNotAllowedError';
  constructor(allow: string) {
    super(405, ErrorCodes.METHOD_NOT_ALLOWED, `only ${allow} is accepted`, { headers: { allow } });
  }
}

/** 401: the delivery could not be proven genuine. CodeHub is never called after one of these. */
export class VerificationError extends HttpError {
  override name = 'VerificationError';
  constructor(
    code:
      | typeof ErrorCodes.UNKNOWN_SENDER
      | typeof ErrorCodes.NO_SECRET_CONFIGURED
      | typeof ErrorCodes.SIGNATURE_MISSING
      | typeof ErrorCodes.SIGNATURE_MISMATCH
      | typeof ErrorCodes.TIMESTAMP_STALE
      | typeof ErrorCodes.SECRET_NOT_FOR_SOURCE,
    message: string,
  ) {
    super(401, code, message);
  }
}

/** 400: a verified delivery whose body is not JSON or not the shape of a push. */
export class PayloadError extends HttpError {
  override name = 'PayloadError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(400, ErrorCodes.BAD_PAYLOAD, message, options);
  }
}

/** One thing wrong with the configuration: the field, and what is wrong in words that never quote a value. */
export interface ConfigProblem {
  readonly field: string;
  readonly message: string;
  /** For a syntax error: where in the text (1-based), so a tool can show the line. */
  readonly line?: number;
  readonly column?: number;
}

/**
 * Invalid configuration. Thrown at cold start; the message names the offending field, or the first
 * of several problems and how many more there are. `problems` lists every one, this one first.
 */
export class ConfigError extends BridgeError {
  override name = 'ConfigError';
  readonly field: string;
  readonly problems: readonly ConfigProblem[];
  constructor(field: string, message: string, more: readonly ConfigProblem[] = [], position?: { line: number; column: number }) {
    const others = more.length === 0 ? '' : ` (and ${more.length} more problem${more.length === 1 ? '' : 's'})`;
    super(ErrorCodes.CONFIG_INVALID, `invalid config at ${field}: ${message}${others}`);
    this.field = field;
    this.problems = Object.freeze([{ field, message, ...position }, ...more]);
  }

  /** One error for all of `problems` (at least one). */
  static of(problems: readonly ConfigProblem[]): ConfigError {
    const [first, ...more] = problems;
    if (first === undefined) throw new RangeError('ConfigError.of needs at least one problem');
    const { field, message, line, column } = first;
    return new ConfigError(field, message, more, line === undefined || column === undefined ? undefined : { line, column });
  }
}

type CodeHubErrorCode =
  | typeof ErrorCodes.CODEHUB_REJECTED
  | typeof ErrorCodes.CODEHUB_AUTH_FAILED
  | typeof ErrorCodes.CODEHUB_SIGNATURE_FAILED
  | typeof ErrorCodes.CODEHUB_THROTTLED
  | typeof ErrorCodes.CODEHUB_SERVER_ERROR
  | typeof ErrorCodes.CODEHUB_TIMEOUT
  | typeof ErrorCodes.CODEHUB_UNREACHABLE
  | typeof ErrorCodes.CODEHUB_BAD_RESPONSE;

/**
 * A CodeHub call that did not return a sync job. `status` is CodeHub's HTTP status (absent when no
 * answer arrived); `serviceCode`/`serviceMessage` are CodeHub's `error_code`/`error_msg` as sent.
 */
export class CodeHubError extends BridgeError {
  override name = 'CodeHubError';
  readonly status: number | undefined;
  readonly serviceCode: string | undefined;
  readonly serviceMessage: string | undefined;
  /** Seconds CodeHub asked us to wait (from `Retry-After`), when it said. */
  readonly retryAfterSeconds: number | undefined;
  constructor(
    code: CodeHubErrorCode,
    message: string,
    details: {
      status?: number | undefined;
      serviceCode?: string | undefined;
      serviceMessage?: string | undefined;
      retryAfterSeconds?: number | undefined;
      cause?: unknown;
    } = {},
  ) {
    super(code, message, { cause: details.cause });
    this.status = details.status;
    this.serviceCode = details.serviceCode;
    this.serviceMessage = details.serviceMessage;
    this.retryAfterSeconds = details.retryAfterSeconds;
  }
}
