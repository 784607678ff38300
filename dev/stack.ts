/**
 * The local stack: the CodeHub emulator in this process and the bridge's built bundle behind
 * serverless-offline (the same routes as serverless.yml) in a child process. Used by `npm start`,
 * `npm run demo` and the end-to-end tests.
 *
 * With `durable`, the whole durable pipeline runs too, with no cloud account: the local SQS and
 * DynamoDB engines in this process (./engines), their queues and table created as serverless.yml
 * declares them (scripts/provision-local.ts), the functions pointed at them (`--param=durable=local`),
 * and the worker fed from the push queue as Lambda's event source mapping would feed it (./worker-loop).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { provisionLocal } from '../scripts/provision-local';
import { startEmulator, type Emulator, type EmulatorOptions } from './codehub-emulator';
import { startLocalEngines, type LocalEngines } from './engines';
import { invokePath, startWorkerLoop, type WorkerLoop } from './worker-loop';

/** The durable pipeline's local settings. */
export interface DurableStackOptions {
  /**
   * `CONFIRM_AFTER_SECONDS`: the first confirm check, and the back-off's first step. 2 s locally (the
   * bridge's default is 20 s) so a laptop demo sees `mirrored` at once. @default env CONFIRM_AFTER_SECONDS, else 2
   */
  readonly confirmAfterSeconds?: number;
  /** `CONFIRM_GIVE_UP_AFTER_MINUTES` (whole minutes, ≥ 1). @default env CONFIRM_GIVE_UP_AFTER_MINUTES, else the bridge's (1440) */
  readonly giveUpAfterMinutes?: number;
  /** Where the DynamoDB engine keeps the ledger (LevelDB), so it outlives a restart. @default in memory */
  readonly dataDir?: string;
}

/** The durable pipeline of a running stack: where its resources are, for a test or a banner. */
export interface StackDurable {
  readonly queueUrl: string;
  readonly deadLetterUrl: string;
  readonly tableName: string;
  readonly sqsEndpoint: string;
  readonly dynamodbEndpoint: string;
  /** The region the engines and the functions agree on. */
  readonly region: string;
  /** `CONFIRM_AFTER_SECONDS` the functions run with. */
  readonly confirmAfterSeconds: number;
}

/** The first confirm check on a laptop: 2 s, not the bridge's 20 s, so the demo is quick. */
export const LOCAL_CONFIRM_AFTER_SECONDS = 2;
/** The region of the local engines and of the functions (`--region`): any works, as long as both agree. */
const LOCAL_REGION = 'us-east-1';
/** The stage serverless-offline runs (serverless.yml's default); function names are `{service}-{stage}-{key}`. */
const STAGE = 'dev';

export interface StackOptions {
  /** Port of the webhook (`http://localhost:{port}/webhook`). 0 picks a free one. @default 3000 */
  readonly port?: number;
  /** Start the emulator and point the bridge at it. False: the environment's CODEHUB_* are used as they are. */
  readonly emulator?: false | Omit<EmulatorOptions, 'credentials'> & { readonly credentials?: EmulatorOptions['credentials'] };
  /** Extra environment for the bridge (MIRROR_CONFIG, secrets, …). */
  readonly env?: Readonly<Record<string, string>>;
  /** Where serverless-offline's output goes. @default discarded */
  readonly onOutput?: (text: string) => void;
  /** How long serverless-offline may take to answer its first request. @default 60000 */
  readonly startTimeoutMs?: number;
  /** Run the durable pipeline locally (`true`: with the defaults of `DurableStackOptions`). @default false: the stateless bridge */
  readonly durable?: boolean | DurableStackOptions;
}

export interface Stack {
  readonly webhookUrl: string;
  /** `GET /mirrors`, the status route (404 unless the config has a `status.key`). */
  readonly statusUrl: string;
  readonly emulator: Emulator | undefined;
  /** Present when the stack runs the durable pipeline. */
  readonly durable?: StackDurable;
  /** `GET /pushes/{pushId}`, one push of the ledger (same bearer key as the status route); `pushId` as the webhook answered it. */
  pushUrl(pushId: string): string;
  /** Stops the worker loop, serverless-offline, the emulator, then the engines. */
  stop(): Promise<void>;
}

/** The token the local emulator accepts; a development value, not a secret. */
export const LOCAL_CODEHUB_TOKEN = 'local-dev-token';

/** A port nothing listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const port = options.port === 0 ? await freePort() : (options.port ?? 3000);
  const lambdaPort = await freePort();
  const output = options.onOutput ?? (() => undefined);
  const durableOptions = options.durable === true ? {} : options.durable || undefined;
  // What stop() ends, in order: the last started first (the worker loop, serverless-offline, the emulator, the engines).
  const closers: (() => Promise<void>)[] = [];
  const stop = async (): Promise<void> => {
    let failure: unknown;
    for (const close of closers.splice(0)) await close().catch((error: unknown) => (failure ??= error));
    if (failure !== undefined) throw failure;
  };
  const webhookUrl = `http://localhost:${port}/webhook`;
  const statusUrl = `http://localhost:${port}/mirrors`;
  try {
    const baseEnv = { ...stringEnv(process.env), ...options.env };
    const local = durableOptions === undefined ? undefined : await startDurable(durableOptions, baseEnv, output);
    if (local) closers.unshift(() => local.engines.close());
    const emulator = options.emulator === false
      ? undefined
      : await startEmulator({ credentials: { tokens: [LOCAL_CODEHUB_TOKEN] }, ...options.emulator });
    if (emulator) closers.unshift(() => emulator.close());
    const env: Record<string, string> = {
      ...stringEnv(process.env),
      SLS_TELEMETRY_DISABLED: '1',
      SLS_NOTIFICATIONS_MODE: 'off',
      PORT: String(port),
      OFFLINE_LAMBDA_PORT: String(lambdaPort),
      ...(emulator ? { CODEHUB_ENDPOINT: emulator.url, CODEHUB_TOKEN: LOCAL_CODEHUB_TOKEN } : {}),
      ...options.env,
      ...local?.env,
    };
    // A real session token must not travel with the engines' dummy keys.
    if (local) for (const name of ['AWS_SESSION_TOKEN', 'AWS_SECURITY_TOKEN', 'AWS_PROFILE']) Reflect.deleteProperty(env, name);
    // `durable=false` explicitly: serverless.yml's default (`true`) would hand the functions CloudFormation Refs.
    const args = ['offline', 'start', `--param=durable=${local ? 'local' : 'false'}`, ...(local ? ['--region', LOCAL_REGION] : [])];
    const child = spawn(process.execPath, [oslsBin(), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    closers.unshift(() => stopChild(child));
    let log = '';
    const collect = (chunk: Buffer): void => {
      const text = chunk.toString('utf8');
      log = (log + text).slice(-20_000);
      output(text);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    await waitUntilServing(statusUrl, child, options.startTimeoutMs ?? 60_000, () => log);
    if (local) {
      const loop: WorkerLoop = startWorkerLoop({
        queueUrl: local.durable.queueUrl,
        sqsEndpoint: local.durable.sqsEndpoint,
        region: local.durable.region,
        invokeUrl: `http://localhost:${lambdaPort}${invokePath(`${serviceName()}-${STAGE}-worker`)}`,
        onError: (line) => output(`${line}\n`),
      });
      closers.unshift(() => loop.stop());
    }
    return {
      webhookUrl,
      statusUrl,
      emulator,
      ...(local ? { durable: local.durable } : {}),
      // Not encoded: push ids are base64url, and a banner's `<push_id>` placeholder stays readable.
      pushUrl: (pushId) => `http://localhost:${port}/pushes/${pushId}`,
      stop,
    };
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
}

interface LocalDurable {
  readonly engines: LocalEngines;
  readonly durable: StackDurable;
  /** The functions' environment for it. */
  readonly env: Record<string, string>;
}

/** Starts the engines, provisions serverless.yml's queues and table in them, and says how the functions reach them. */
async function startDurable(options: DurableStackOptions, env: Readonly<Record<string, string>>, output: (text: string) => void): Promise<LocalDurable> {
  const engines = await startLocalEngines(options.dataDir === undefined ? {} : { dataDir: options.dataDir });
  try {
    const aws = {
      AWS_ENDPOINT_URL_SQS: engines.sqsEndpoint,
      AWS_ENDPOINT_URL_DYNAMODB: engines.dynamodbEndpoint,
      AWS_REGION: LOCAL_REGION,
      // Dummy credentials: the engines accept any signature, but the SDK will not sign without some.
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
    };
    const variables = await provisionLocal({ env: aws, stage: STAGE, warn: (message) => output(`provision-local: ${message}\n`) });
    const [queueUrl, deadLetterUrl, tableName] = (['PUSH_QUEUE_URL', 'PUSH_DLQ_URL', 'LEDGER_TABLE'] as const).map((name) => {
      const value = variables[name];
      if (value === undefined || value === '') throw new Error(`provision-local did not print ${name}`);
      return value;
    }) as [string, string, string];
    // The bridge validates both at cold start (a bad value stops it with a message naming the variable).
    const confirmAfter = String(options.confirmAfterSeconds ?? nonEmpty(env['CONFIRM_AFTER_SECONDS']) ?? LOCAL_CONFIRM_AFTER_SECONDS);
    const giveUpAfter = String(options.giveUpAfterMinutes ?? nonEmpty(env['CONFIRM_GIVE_UP_AFTER_MINUTES']) ?? '');
    return {
      engines,
      durable: {
        queueUrl,
        deadLetterUrl,
        tableName,
        sqsEndpoint: engines.sqsEndpoint,
        dynamodbEndpoint: engines.dynamodbEndpoint,
        region: LOCAL_REGION,
        confirmAfterSeconds: Number(confirmAfter),
      },
      env: {
        ...aws,
        ...variables,
        CONFIRM_AFTER_SECONDS: confirmAfter,
        CONFIRM_GIVE_UP_AFTER_MINUTES: giveUpAfter,
      },
    };
  } catch (error) {
    await engines.close();
    throw error;
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === '' ? undefined : trimmed;
}

/** serverless.yml's `service`, the first part of every function's name. */
function serviceName(): string {
  const text = readFileSync(new URL('../serverless.yml', import.meta.url), 'utf8');
  const name = /^service:\s*(\S+)\s*$/m.exec(text)?.[1];
  if (name === undefined) throw new Error('serverless.yml names no service');
  return name;
}

function oslsBin(): string {
  return new URL('../node_modules/osls/bin/serverless.js', import.meta.url).pathname;
}

function stringEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) if (typeof value === 'string') out[key] = value;
  return out;
}

/**
 * Polls the status route, without a key, until the bridge itself answers: 401 (a status key is
 * configured) or its own 404 (none is) means the bundle loaded and its configuration is valid.
 * Not the webhook: a probe there would be logged as a rejected delivery. serverless-offline
 * reports a failed cold start as an answer carrying `errorMessage`, raised here as the startup
 * error it is.
 */
async function waitUntilServing(url: string, child: ChildProcess, timeoutMs: number, log: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`serverless-offline exited with ${child.exitCode}:\n${log()}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
      const text = await response.text();
      if (isBridgeAnswer(response.status, text)) return;
      const failure = /"errorMessage":"([^"]*)"/.exec(text);
      if (failure) throw new Error(`the bridge failed to start: ${failure[1] ?? ''}`);
    } catch (error) {
      if (error instanceof Error && error.message.startsWith('the bridge failed')) throw error;
    }
    await sleep(100);
  }
  throw new Error(`serverless-offline did not answer on ${url} within ${timeoutMs} ms:\n${log()}`);
}

/** The status handler's own refusal, as opposed to serverless-offline's 404 for a route it has not loaded. */
function isBridgeAnswer(status: number, text: string): boolean {
  if (status === 401) return true;
  if (status !== 404) return false;
  try {
    return (JSON.parse(text) as { error?: unknown }).error === 'status is not enabled';
  } catch {
    return false;
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}
