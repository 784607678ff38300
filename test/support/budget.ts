import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createServer, type AddressInfo } from 'node:net';
import type { CallRecord, Emulator } from '../../dev/codehub-emulator/index';
import { createStaticTokenAuthenticator } from '../../lib/codehub/auth';
import { createCodeHubClient, type CodeHubClient } from '../../lib/codehub/client';
import type { Logger } from '../../lib/observability/log';
import { createBudgetGate } from '../../lib/pipeline/budget-gate';
import { createCodeHubBudget, type CodeHubBudget } from '../../lib/pipeline/codehub-budget';
import { createDynamoDbClient } from '../../lib/pipeline/ledger-client';

/**
 * Helpers for the global CodeHub budget as the client's call gate, against the real emulator and
 * dynalite: "containers" with their own budget (own DynamoDB client) on one table, and what the
 * emulator's call log says about the spacing of the calls it received.
 */

export interface GatedContainerOptions {
  readonly emulator: Emulator;
  readonly token: string;
  readonly tableName: string;
  readonly callsPerMinute: number;
  readonly maxWaitMs: number;
  readonly logger: Logger;
  /** The budget's DynamoDB client. @default its own `createDynamoDbClient()` */
  readonly dynamodb?: DynamoDBClient;
}

/** One function container: a CodeHub client whose every call takes its slot from its own budget object. */
export interface GatedContainer {
  readonly codehub: CodeHubClient;
  readonly budget: CodeHubBudget;
}

export function gatedContainer(options: GatedContainerOptions): GatedContainer {
  const budget = createCodeHubBudget({
    tableName: options.tableName,
    callsPerMinute: options.callsPerMinute,
    ...(options.dynamodb === undefined ? {} : { client: options.dynamodb }),
  });
  // One budget per container, as budgetGateFromEnv keeps it: a new one per call would open a client per call.
  const gate = createBudgetGate({ budget: async () => budget, maxWaitMs: options.maxWaitMs, logger: options.logger });
  const codehub = createCodeHubClient({ endpoint: options.emulator.url, auth: createStaticTokenAuthenticator(options.token), logger: options.logger, gate });
  return { codehub, budget };
}

/** Deletes the one schedule item, so the next reservation finds the budget idle (no slot taken, no pause). */
export async function clearBudgetSchedule(tableName: string): Promise<void> {
  const documents = DynamoDBDocumentClient.from(createDynamoDbClient());
  try {
    await documents.send(new DeleteCommand({ TableName: tableName, Key: { pk: 'BUDGET#codehub', sk: 'RATE' } }));
  } finally {
    documents.destroy();
  }
}

/** A DynamoDB client for a loopback port that was just free: every call is refused. */
export async function closedPortDynamoDb(): Promise<DynamoDBClient> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return new DynamoDBClient({ endpoint: `http://127.0.0.1:${port}`, maxAttempts: 1 });
}

/** When the emulator received each call (epoch ms, its clock), earliest first. */
export function arrivalTimes(calls: readonly CallRecord[]): number[] {
  return calls.map((call) => Date.parse(call.at)).sort((a, b) => a - b);
}

/** The shortest time between two consecutive arrivals; Infinity for fewer than two. */
export function closestGapMs(times: readonly number[]): number {
  let closest = Number.POSITIVE_INFINITY;
  for (let index = 1; index < times.length; index += 1) closest = Math.min(closest, (times[index] ?? 0) - (times[index - 1] ?? 0));
  return closest;
}

/** The most arrivals in any window [t, t + windowMs) of sorted `times` (a busiest window starts at an arrival). */
export function busiestWindow(times: readonly number[], windowMs: number): number {
  let busiest = 0;
  let end = 0;
  for (let start = 0; start < times.length; start += 1) {
    while (end < times.length && (times[end] ?? 0) < (times[start] ?? 0) + windowMs) end += 1;
    busiest = Math.max(busiest, end - start);
  }
  return busiest;
}
