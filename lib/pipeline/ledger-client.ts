/**
 * The ledger's DynamoDB client and its errors: a client with explicit timeouts, configured like any
 * SDK client (region, credentials, the standard `AWS_ENDPOINT_URL_DYNAMODB`; no endpoint in code, so
 * production and the local engine run one path), and what a failed call means for the caller.
 */

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ErrorCodes } from '../errors';
import { AwsCallError, awsClientSettings, sdkFailureOf, type AwsClientOptions } from './aws-call';

export const LedgerErrorCodes = {
  /** DynamoDB could not be reached, did not answer in time, was throttled or failed (5xx): try again later. */
  LEDGER_UNAVAILABLE: ErrorCodes.LEDGER_UNAVAILABLE,
  /** DynamoDB refused the call (validation, access denied, an item too large): a bug or a deployment problem. */
  LEDGER_REJECTED: ErrorCodes.LEDGER_REJECTED,
} as const;
export type LedgerErrorCode = (typeof LedgerErrorCodes)[keyof typeof LedgerErrorCodes];

/** A ledger read or write that did not happen. Either code means "no durable record": answer 5xx. */
export class LedgerStoreError extends AwsCallError<LedgerErrorCode> {
  override name = 'LedgerStoreError';
}

export type DynamoDbClientOptions = AwsClientOptions;

/** A DynamoDB client configured from the environment, with explicit timeouts (2 s per request by default). */
export function createDynamoDbClient(options: DynamoDbClientOptions = {}): DynamoDBClient {
  return new DynamoDBClient(awsClientSettings(options, 2000));
}

/** Runs one DynamoDB call; a failure other than a failed condition becomes a `LedgerStoreError`. */
export async function call<T>(operation: string, send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (error) {
    if (isConditionFailed(error)) throw error;
    throw ledgerErrorOf(operation, error);
  }
}

export function isConditionFailed(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

/** What an SDK error means for the caller: a refusal (the table exists) or DynamoDB unavailable. */
function ledgerErrorOf(operation: string, error: unknown): LedgerStoreError {
  const { refused, name, detail } = sdkFailureOf(error);
  // A missing table is a deployment in progress or a wrong LEDGER_TABLE: no record either way, and worth a redelivery.
  if (refused && name !== 'ResourceNotFoundException') {
    return new LedgerStoreError(LedgerErrorCodes.LEDGER_REJECTED, operation, `DynamoDB refused ${operation}: ${name}: ${detail}`, { cause: error });
  }
  return new LedgerStoreError(LedgerErrorCodes.LEDGER_UNAVAILABLE, operation, `DynamoDB did not take ${operation}: ${name}: ${detail}`, { cause: error });
}
