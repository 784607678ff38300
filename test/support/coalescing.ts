import { DeleteMessageCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { Emulator } from '../../dev/codehub-emulator';
import { createStaticTokenAuthenticator } from '../../lib/codehub/auth';
import { createCodeHubClient, type CodeHubClient } from '../../lib/codehub/client';
import type { ConfirmSettings } from '../../lib/ledger/confirm';
import { createLogger } from '../../lib/observability/log';
import type { AcceptContext } from '../../lib/pipeline/accept';
import type { ConfirmWorker, TaskOutcome } from '../../lib/pipeline/confirm-worker';
import { parseTask, type ConfirmTask } from '../../lib/pipeline/push-queue';
import { createMirrorSyncer } from '../../lib/pipeline/sync';
import { createSyncWindows, type SyncWindows } from '../../lib/pipeline/sync-windows';
import type { DurableEngines } from './durable';

/**
 * What the coalescing tests share: "containers" (each with its own CodeHub client, syncer and
 * DynamoDB client, so only the sync windows in the ledger table can make two of them share a
 * trigger), the trigger count, and a confirm worker driven over the real queue.
 */

export const QUIET = createLogger({ level: 'error', write: () => undefined });
export const CONFIRM_SETTINGS: ConfirmSettings = { confirmAfterSeconds: 1, giveUpAfterMinutes: 60 };

export interface ContainerOptions {
  readonly durable: DurableEngines;
  readonly emulator: Emulator;
  readonly token: string;
  /** The sync windows' length; undefined: coalescing off (`COALESCE_WINDOW_SECONDS=0`). */
  readonly windowMs?: number | undefined;
  /** The container's clock. @default Date.now */
  readonly now?: () => number;
  /** When a push's first check is due, and so on. @default CONFIRM_SETTINGS */
  readonly confirm?: ConfirmSettings;
}

export interface Container {
  /** What `acceptPush` takes in this container. */
  readonly context: AcceptContext;
  readonly codehub: CodeHubClient;
  readonly windows: SyncWindows | undefined;
  close(): void;
}

/** One Lambda container of the webhook (or of the worker): nothing in memory shared with another. */
export function startContainer(options: ContainerOptions): Container {
  const { durable } = options;
  const now = options.now ?? Date.now;
  // No retries: the tests count the calls the bridge decided to make.
  const codehub = createCodeHubClient({ endpoint: options.emulator.url, auth: createStaticTokenAuthenticator(options.token), retry: false });
  const windows = options.windowMs === undefined ? undefined : createSyncWindows({ tableName: durable.tableName, windowMs: options.windowMs });
  const context: AcceptContext = {
    durable: { store: durable.store, queue: durable.queue, confirm: options.confirm ?? CONFIRM_SETTINGS, ...(windows === undefined ? {} : { windows }) },
    syncMirrors: createMirrorSyncer({ codehub, logger: QUIET, now }),
    logger: QUIET,
    now,
  };
  return { context, codehub, windows, close: () => windows?.close() };
}

/** The sync triggers (`POST remote-mirror`) the emulator received for `repositoryId`. */
export function triggerCalls(emulator: Emulator, repositoryId: number): number {
  return emulator.callsTo('codehub').filter((call) => call.method === 'POST' && call.path === `/v4/repositories/${repositoryId}/remote-mirror`).length;
}

export interface HandledTask {
  readonly task: ConfirmTask;
  readonly outcome: TaskOutcome;
  /** When the worker was done with it (epoch ms). */
  readonly doneAt: number;
}

export interface DriveOptions {
  readonly durable: DurableEngines;
  readonly worker: ConfirmWorker;
  /** The pushes whose tasks are handled. */
  readonly pushIds: readonly string[];
  /** The pushes that must be final for the drive to end. @default pushIds */
  readonly until?: readonly string[];
  /** A guard against a hang, not an assertion. @default 60_000 */
  readonly giveUpMs?: number;
}

/**
 * Runs the worker as its SQS trigger would: receives the queue's tasks as they become visible,
 * handles those of `pushIds` (deleting every message read, earlier tests' leftovers too), until the
 * ledger holds each push of `until` final. Resolves with what was handled, in order; rejects, naming
 * what was handled, when that takes longer than `giveUpMs`.
 */
export async function driveConfirms(options: DriveOptions): Promise<HandledTask[]> {
  const { durable, worker } = options;
  const ours = new Set(options.pushIds);
  const giveUpAt = Date.now() + (options.giveUpMs ?? 60_000);
  const handled: HandledTask[] = [];
  while (!(await allFinal(durable, options.until ?? options.pushIds))) {
    if (Date.now() > giveUpAt) throw new Error(`pushes not final after ${options.giveUpMs ?? 60_000} ms: ${JSON.stringify(handled.map(({ task, outcome }) => [task.push_id, outcome.kind]))}`);
    const { Messages: messages = [] } = await durable.sqs.send(new ReceiveMessageCommand({ QueueUrl: durable.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
    for (const message of messages) {
      const parsed = parseTask(message.Body ?? '');
      if (parsed.ok && parsed.task.kind === 'confirm' && ours.has(parsed.task.push_id)) {
        const outcome = await worker.handle(parsed.task);
        handled.push({ task: parsed.task, outcome, doneAt: Date.now() });
      }
      // Deleted once handled, as the worker's SQS trigger does on success.
      await durable.sqs.send(new DeleteMessageCommand({ QueueUrl: durable.queueUrl, ReceiptHandle: message.ReceiptHandle }));
    }
  }
  return handled;
}

async function allFinal(durable: DurableEngines, pushIds: readonly string[]): Promise<boolean> {
  const entries = await Promise.all(pushIds.map((pushId) => durable.store.getPush(pushId)));
  return entries.every((entry) => entry?.state === 'mirrored' || entry?.state === 'failed');
}
