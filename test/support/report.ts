/**
 * What the reporting worker's tests share: tokens that are found wherever they leak, loopback servers
 * that answer as a test needs, a mirror config with `report:`, ledger entries and a worker whose every
 * log line, metric, outcome and queued task is kept.
 */

import { randomBytes } from 'node:crypto';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseMirrorConfig } from '../../lib/config/load';
import { buildMirrorIndex, type MirrorIndex } from '../../lib/config/mapping';
import { pushIdOf, pushKey } from '../../lib/ledger/push-id';
import { refsToConfirm } from '../../lib/ledger/refs';
import type { LedgerEntry, LedgerMirror } from '../../lib/ledger/types';
import type { StatusHost } from '../../dev/status-host';
import type { ReportTask } from '../../lib/pipeline/push-queue';
import type { ReportGate } from '../../lib/pipeline/report-gate';
import { createStatusSender, type SendStatus } from '../../lib/pipeline/report-send';
import { DEFAULT_REPORT_SETTINGS, type ReportSettingsFromEnv } from '../../lib/pipeline/report-settings';
import { createReportWorker, type ReportMetric, type ReportOutcome, type ReportWorker } from '../../lib/pipeline/report-worker';
import type { ProviderId, RefChange } from '../../lib/providers/types';
import { captureLogger, type LogLine } from './codehub';
import type { DurableEngines } from './durable';

/** What every test token starts with: no log line, metric, outcome or task may ever contain it. */
export const TOKEN_PREFIX = 'ghp_Rep0rtW0rkerT0ken';
let tokens = 0;

/** A token no other test uses: its own reporter, so one test's pause, rejection or budget never reaches another. */
export function newToken(): string {
  tokens += 1;
  return `${TOKEN_PREFIX}${String(tokens).padStart(4, '0')}${randomBytes(8).toString('hex')}`;
}

export const randomSha = (): string => randomBytes(20).toString('hex');

export interface Loopback {
  readonly url: string;
  /** Requests that arrived, answered or not. */
  readonly received: () => number;
  close(): Promise<void>;
}

/** A node:http server on 127.0.0.1 that answers with `handler` (which may never answer). */
export async function startLoopback(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Loopback> {
  let received = 0;
  const server = createServer((req, res) => {
    received += 1;
    handler(req, res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received: () => received,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error === undefined ? resolve() : reject(error)));
        server.closeAllConnections();
      }),
  };
}

/** A URL on a port nothing listens on (it was free a moment ago). */
export async function closedUrl(): Promise<string> {
  const loopback = await startLoopback(() => undefined);
  await loopback.close();
  return loopback.url;
}

/** The host's error answer with `authorization` echoed back in it, as a careless host might. */
export function echoTokenWith(status: number): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const seen = String(req.headers.authorization ?? '').replace(/^Bearer /, '');
    req.resume();
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ message: `token ${seen} (${Buffer.from(seen).toString('base64')}) is not allowed here` }));
  };
}

export interface ReportConfig {
  /** `webhooks['github.com'].report.token`; none: github.com reports nothing unless a mirror has its own. */
  readonly hostToken?: string;
  /** `report.api_url` of the host-level report. */
  readonly apiUrl: string;
  /** Written as is into `mirrors:` (`source`, `repository_id` or `target`, maybe `report`). */
  readonly mirrors: readonly Record<string, unknown>[];
}

/** The index a worker is given, from a JSON config read by the real loader; gitee.com has a token too (and no status API). */
export function reportIndex(config: ReportConfig): MirrorIndex {
  const report = config.hostToken === undefined ? {} : { report: { token: config.hostToken, api_url: config.apiUrl } };
  const text = JSON.stringify({
    webhooks: {
      'github.com': { secret: 'env:HOOK_SECRET', ...report },
      'gitee.com': { secret: 'env:HOOK_SECRET', report: { token: newToken() } },
    },
    mirrors: config.mirrors,
  });
  return buildMirrorIndex(parseMirrorConfig(text, { HOOK_SECRET: 'report-worker-hook-secret' }).config);
}

export interface PushOptions {
  readonly source: string;
  /** @default 'github'; null: a push from no provider (CodeCommit) */
  readonly provider?: ProviderId | null;
  /** One branch per SHA (`refs/heads/b0`, …). @default one random SHA */
  readonly shas?: readonly string[];
  /** Each mirror's side; `repositoryId` defaults to 1, 2, … and `state` to `triggered`. @default one mirror */
  readonly mirrors?: readonly Partial<LedgerMirror>[];
  /** @default Date.now() */
  readonly arrivedAt?: number;
}

/** A ledger entry as the webhook records it (not stored: `store.recordPush` it). */
export function pushEntry(options: PushOptions): LedgerEntry {
  const refs: RefChange[] = (options.shas ?? [randomSha()]).map((sha, i) => ({ ref: `refs/heads/b${i}`, before: '0'.repeat(40), after: sha, deleted: false }));
  const key = pushKey(options.source, refs);
  const mirrors = (options.mirrors ?? [{}]).map(
    (mirror, i): LedgerMirror => ({ repositoryId: i + 1, state: 'triggered', refs: refsToConfirm(refs, { refs: undefined }, 'main'), jids: ['jid-1'], attempts: 0, ...mirror }),
  );
  const provider = options.provider === undefined ? 'github' : options.provider;
  return {
    pushId: pushIdOf(key),
    key,
    source: options.source,
    ...(provider === null ? {} : { provider }),
    refs,
    arrivedAt: options.arrivedAt ?? Date.now(),
    state: mirrors[0]?.state ?? 'triggered',
    mirrors,
  };
}

/** The report task for `entry`'s mirror `mirror` (its key: target, else repository id). */
export function reportTaskOf(entry: LedgerEntry, mirror = '1', attempt = 1): ReportTask {
  return { v: 1, kind: 'report', push_id: entry.pushId, mirror, attempt, arrived_at: entry.arrivedAt };
}

export interface QueuedReport {
  readonly task: ReportTask;
  readonly delaySeconds: number;
}

export interface ReportHarness {
  readonly worker: ReportWorker;
  readonly lines: LogLine[];
  readonly metrics: ReportMetric[];
  /** What the worker put back on the (real) push queue. */
  readonly queued: QueuedReport[];
  readonly outcomes: ReportOutcome[];
}

export interface ReportHarnessOptions {
  readonly durable: DurableEngines;
  readonly gate: ReportGate;
  readonly index: MirrorIndex;
  readonly settings?: Partial<ReportSettingsFromEnv>;
  /** @default the real sender, 2 s timeout */
  readonly send?: SendStatus;
  /** @default Date.now */
  readonly now?: () => number;
}

/** The real worker over the real ledger, queue and gate; the queue is passed through, each task also kept. */
export function reportHarness(options: ReportHarnessOptions): ReportHarness {
  const { logger, lines } = captureLogger();
  const metrics: ReportMetric[] = [];
  const queued: QueuedReport[] = [];
  const outcomes: ReportOutcome[] = [];
  const worker = createReportWorker({
    store: options.durable.store,
    queue: {
      sendReport: (task, delaySeconds) => {
        queued.push({ task, delaySeconds });
        return options.durable.queue.sendReport(task, delaySeconds);
      },
    },
    gate: options.gate,
    index: options.index,
    send: options.send ?? createStatusSender({ timeoutMs: 2000 }),
    settings: { ...DEFAULT_REPORT_SETTINGS, ...options.settings },
    logger,
    metrics: { count: (name) => void metrics.push(name) },
    ...(options.now === undefined ? {} : { now: options.now }),
  });
  const handle = async (task: ReportTask): Promise<ReportOutcome> => {
    const outcome = await worker.handle(task);
    outcomes.push(outcome);
    return outcome;
  };
  return { worker: { handle }, lines, metrics, queued, outcomes };
}

/**
 * The bodies of every message visible on `queueUrl` now: received until none is left (and left to
 * come back when their visibility runs out), so a leftover of another test cannot hide one.
 */
export async function visibleBodies(durable: DurableEngines, queueUrl = durable.queueUrl): Promise<string[]> {
  const bodies: string[] = [];
  for (;;) {
    const { Messages: messages = [] } = await durable.sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10 }));
    if (messages.length === 0) return bodies;
    bodies.push(...messages.map((message) => message.Body ?? ''));
  }
}

export interface ReportWorld {
  /** A github.com source no other test pushes to. */
  newSource(): string;
  /**
   * A config where github.com reports to the fake with a fresh token (`token: null`: with none), and
   * `mirrors` (default: the new `source`'s mirror, repository 1).
   */
  setup(options?: { readonly mirrors?: readonly Record<string, unknown>[]; readonly token?: string | null }): { readonly source: string; readonly index: MirrorIndex };
  /** A worker on the shared gate (unless another is given); kept in `harnesses`. */
  harness(index: MirrorIndex, options?: Partial<Omit<ReportHarnessOptions, 'index' | 'durable'>>): ReportHarness;
  /** `pushEntry(options)`, recorded in the ledger. */
  recorded(options: PushOptions): Promise<LedgerEntry>;
  /** Every harness made since `forget()`. */
  readonly harnesses: readonly ReportHarness[];
  forget(): void;
}

/** The helpers of a test file that runs workers against `durable`, `gate` and the fake `host`. */
export function reportWorld(context: { readonly durable: () => DurableEngines; readonly host: () => StatusHost; readonly gate: () => ReportGate }): ReportWorld {
  let sources = 0;
  let harnesses: ReportHarness[] = [];
  const newSource = (): string => `github.com/acme/app-${(sources += 1)}`;
  return {
    newSource,
    setup(options = {}) {
      const source = newSource();
      const hostToken = options.token === null ? undefined : (options.token ?? newToken());
      const mirrors = options.mirrors ?? [{ source, repository_id: 1 }];
      return { source, index: reportIndex({ apiUrl: context.host().apiUrl('github'), mirrors, ...(hostToken === undefined ? {} : { hostToken }) }) };
    },
    harness(index, options = {}) {
      const made = reportHarness({ durable: context.durable(), gate: context.gate(), index, ...options });
      harnesses.push(made);
      return made;
    },
    async recorded(options) {
      const entry = pushEntry(options);
      await context.durable().store.recordPush(entry);
      return entry;
    },
    get harnesses() {
      return harnesses;
    },
    forget() {
      harnesses = [];
    },
  };
}

/** The harness's log lines at `level`. */
export const linesAt = (harness: ReportHarness, level: LogLine['level']): LogLine[] => harness.lines.filter((line) => line.level === level);
