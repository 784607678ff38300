/**
 * The local stack: the CodeHub emulator in this process and the bridge's built bundle behind
 * serverless-offline (the same routes as serverless.yml) in a child process. Used by `npm start`,
 * `npm run demo` and the end-to-end tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { startEmulator, type Emulator, type EmulatorOptions } from './codehub-emulator';

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
}

export interface Stack {
  readonly webhookUrl: string;
  /** `GET /mirrors`, the status route (404 unless the config has a `status.key`). */
  readonly statusUrl: string;
  readonly emulator: Emulator | undefined;
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
  const emulator = options.emulator === false
    ? undefined
    : await startEmulator({ credentials: { tokens: [LOCAL_CODEHUB_TOKEN] }, ...options.emulator });
  const env: Record<string, string> = {
    ...stringEnv(process.env),
    SLS_TELEMETRY_DISABLED: '1',
    SLS_NOTIFICATIONS_MODE: 'off',
    PORT: String(port),
    OFFLINE_LAMBDA_PORT: String(lambdaPort),
    ...(emulator ? { CODEHUB_ENDPOINT: emulator.url, CODEHUB_TOKEN: LOCAL_CODEHUB_TOKEN } : {}),
    ...options.env,
  };
  const child = spawn(process.execPath, [oslsBin(), 'offline', 'start'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = options.onOutput ?? (() => undefined);
  let log = '';
  const collect = (chunk: Buffer): void => {
    const text = chunk.toString('utf8');
    log = (log + text).slice(-20_000);
    output(text);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const webhookUrl = `http://localhost:${port}/webhook`;
  const statusUrl = `http://localhost:${port}/mirrors`;
  const stop = async (): Promise<void> => {
    await stopChild(child);
    await emulator?.close();
  };
  try {
    await waitUntilServing(statusUrl, child, options.startTimeoutMs ?? 60_000, () => log);
  } catch (error) {
    await stop();
    throw error;
  }
  return { webhookUrl, statusUrl, emulator, stop };
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
