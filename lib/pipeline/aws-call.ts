/**
 * What the durable pipeline's AWS clients (DynamoDB for the ledger, SQS for the push queue) share:
 * explicit timeouts, and a named error that says which call did not happen. Each client is configured
 * from the environment like any SDK client (region, credentials, the standard `AWS_ENDPOINT_URL_*`);
 * no endpoint is set in code, so production and the local engines run one path.
 */

export interface AwsClientOptions {
  /** One HTTP attempt's wait for an answer, ms. */
  readonly requestTimeoutMs?: number;
  /** @default 1000 */
  readonly connectionTimeoutMs?: number;
  /** Tries per call (the SDK's standard retry, backing off). @default 2 */
  readonly maxAttempts?: number;
}

/**
 * The SDK client settings for `options`. The SDK's defaults wait without limit. `throwOnRequestTimeout`
 * is needed because, without it, a request past its `requestTimeout` only logs a warning and keeps waiting.
 */
export function awsClientSettings(options: AwsClientOptions, defaultRequestTimeoutMs: number) {
  return {
    maxAttempts: options.maxAttempts ?? 2,
    requestHandler: {
      requestTimeout: options.requestTimeoutMs ?? defaultRequestTimeoutMs,
      connectionTimeout: options.connectionTimeoutMs ?? 1000,
      throwOnRequestTimeout: true,
    },
  };
}

/** An AWS call that did not happen; `code` says whether to try again later or fix the deployment. */
export class AwsCallError<Code extends string> extends Error {
  readonly code: Code;
  /** The AWS operation, e.g. `PutItem`, `SendMessage`. */
  readonly operation: string;
  constructor(code: Code, operation: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.operation = operation;
  }
}

/** An AWS SDK failure as the durable pipeline's callers need it. */
export interface SdkFailure {
  /** AWS refused the call (a 4xx that is not throttling): a bug or a deployment problem, not an outage. */
  readonly refused: boolean;
  readonly name: string;
  readonly detail: string;
}

/** Reads the SDK's `$fault` and `$retryable.throttling`: a throttled 4xx is AWS busy, not a refusal. */
export function sdkFailureOf(error: unknown): SdkFailure {
  const record = typeof error === 'object' && error !== null ? (error as Record<string, unknown>) : {};
  const retryable = record.$retryable;
  const throttled = typeof retryable === 'object' && retryable !== null && (retryable as Record<string, unknown>).throttling === true;
  return {
    refused: record.$fault === 'client' && !throttled,
    name: error instanceof Error ? error.name : 'Error',
    detail: error instanceof Error ? error.message : String(error),
  };
}
