/**
 * The stack `npm start` runs with no CodeHub credentials: the CodeHub emulator with one repository
 * per demo mirror (all fetching one local upstream git repository), and the bridge configured for
 * them, with `GET /mirrors` enabled, and the durable pipeline (local SQS and DynamoDB engines, the
 * worker fed from the push queue; the ledger kept under the data folder), and a local fake of the Git
 * hosts' commit-status APIs (dev/status-host), which the GitHub, GitLab and Gitea demo mirrors report
 * to. `npm run demo` and test/dev/start.test.ts start the same.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startStack, type DurableStackOptions, type Stack } from './stack';
import { startStatusHost, type StatusHost } from './status-host';
import { DEMO_MIRRORS, DEMO_SECRET_DEFAULT, DEMO_STATUS_KEY_DEFAULT } from './start-defaults';
import { createUpstream } from './upstream';

export interface DemoStackOptions {
  /** Of the webhook; 0 picks a free one. */
  readonly port: number;
  /** Of the emulator; 0 picks a free one. */
  readonly emulatorPort: number;
  /** Of the fake status APIs; 0 picks a free one. @default 0 */
  readonly statusHostPort?: number;
  /** Where the upstream and the emulator's mirrors live. @default '.data' */
  readonly dataDir?: string;
  /** The caller's environment: DEMO_WEBHOOK_SECRET, MIRRORS_STATUS_KEY, MIRROR_CONFIG(_FILE), LOG_LEVEL. */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly onOutput?: (text: string) => void;
  readonly emulatorLog?: (line: string) => void;
  /** One line per commit status the fake hosts receive. */
  readonly statusHostLog?: (line: string) => void;
  /** The durable pipeline; `false` runs the stateless bridge. @default on, the ledger under `{dataDir}/dynamodb` */
  readonly durable?: false | DurableStackOptions;
}

export interface DemoStack {
  readonly stack: Stack;
  /** The secret every demo host signs with. */
  readonly secret: string;
  /** The bearer key of `GET /mirrors`. */
  readonly statusKey: string;
  /** The local git repository every demo mirror fetches from. */
  readonly upstreamPath: string;
  /** Whether the bridge runs the demo config (false: the caller's MIRROR_CONFIG or MIRROR_CONFIG_FILE). */
  readonly demoConfig: boolean;
  /** The fake of the hosts' commit-status APIs the demo mirrors report to. */
  readonly statusHost: StatusHost;
  /** Stops the stack, then the status host. */
  stop(): Promise<void>;
}

/** The demo's reporting token: a development value, not a secret; the fake only notes that one came. */
export const DEMO_REPORT_TOKEN = 'local-report-token';

/** The demo hosts with a status API, and the API of each on the fake (Gitee has none). */
const REPORTED_APIS = { github: 'github', gitlab: 'gitlab', gitea: 'gitea' } as const;

/**
 * The demo config: each demo host signs with `env:DEMO_WEBHOOK_SECRET`; the status key is
 * `env:MIRRORS_STATUS_KEY`; GitHub, GitLab and Gitea report commit statuses to `statusHost`.
 */
export function demoMirrorConfig(statusHost?: Pick<StatusHost, 'apiUrl'>): string {
  const webhook = (mirror: (typeof DEMO_MIRRORS)[number]): Record<string, unknown> => {
    const api = mirror.host === 'gitee' ? undefined : REPORTED_APIS[mirror.host];
    const report = api === undefined || statusHost === undefined ? {} : { report: { token: DEMO_REPORT_TOKEN, api_url: statusHost.apiUrl(api) } };
    return { secret: 'env:DEMO_WEBHOOK_SECRET', ...report };
  };
  return JSON.stringify({
    webhooks: Object.fromEntries(DEMO_MIRRORS.map((mirror) => [mirror.source.split('/')[0], webhook(mirror)])),
    mirrors: DEMO_MIRRORS.map((mirror) => ({ source: mirror.source, repository_id: mirror.repositoryId })),
    status: { key: 'env:MIRRORS_STATUS_KEY' },
  });
}

export async function startDemoStack(options: DemoStackOptions): Promise<DemoStack> {
  const { env } = options;
  const dataDir = resolve(options.dataDir ?? '.data');
  const secret = env['DEMO_WEBHOOK_SECRET'] || DEMO_SECRET_DEFAULT;
  const statusKey = env['MIRRORS_STATUS_KEY'] || DEMO_STATUS_KEY_DEFAULT;
  // A config of the caller's own wins; the emulator still has the demo repositories.
  const demoConfig = !env['MIRROR_CONFIG'] && !env['MIRROR_CONFIG_FILE'];

  const upstreamPath = join(dataDir, 'demo-upstream');
  if (!existsSync(join(upstreamPath, '.git'))) await (await createUpstream(upstreamPath)).commit('initial commit');
  const statusHost = await startStatusHost({ port: options.statusHostPort ?? 0, ...(options.statusHostLog ? { log: options.statusHostLog } : {}) });
  const stack = await startStack({
    port: options.port,
    emulator: {
      port: options.emulatorPort,
      dataDir: join(dataDir, 'codehub-emulator'),
      repositories: DEMO_MIRRORS.map((mirror) => ({ id: mirror.repositoryId, group: 'acme', name: mirror.name, upstream: upstreamPath })),
      ...(options.emulatorLog ? { log: options.emulatorLog } : {}),
    },
    env: {
      DEMO_WEBHOOK_SECRET: secret,
      MIRRORS_STATUS_KEY: statusKey,
      ...(demoConfig ? { MIRROR_CONFIG: demoMirrorConfig(statusHost) } : {}),
    },
    ...(options.onOutput ? { onOutput: options.onOutput } : {}),
    durable: options.durable ?? { dataDir },
  }).catch(async (error: unknown) => {
    await statusHost.close();
    throw error;
  });
  const stop = async (): Promise<void> => {
    await stack.stop();
    await statusHost.close();
  };
  return { stack, secret, statusKey, upstreamPath, demoConfig, statusHost, stop };
}

/** What `npm start` prints once the demo stack answers: where things are, the secret and key, what to type next. */
export function demoBanner(demo: DemoStack): string {
  const { stack, secret, statusKey } = demo;
  const mirrors = DEMO_MIRRORS.map((mirror) => `  ${mirror.source.padEnd(22)} → CodeHub repository ${mirror.repositoryId}`);
  return [
    '',
    `Webhook:     POST ${stack.webhookUrl}`,
    `Status page: GET  ${stack.statusUrl}   (Authorization: Bearer ${statusKey})`,
    `CodeHub:     emulator at ${stack.emulator?.url ?? ''}, every repository fetching ${demo.upstreamPath}:`,
    ...mirrors,
    ...durableLines(stack, statusKey),
    `Statuses:    fake Git host status APIs at ${demo.statusHost.url} (GitHub, GitLab and Gitea report there)`,
    `Secret:      ${secret}   (every demo host signs with it)`,
    `Status key:  ${statusKey}`,
    ...(demo.demoConfig ? [] : ['(the bridge runs your MIRROR_CONFIG / MIRROR_CONFIG_FILE, not the demo config)']),
    'Next:',
    `  WEBHOOK_SECRET=${secret} npm run send -- --host github --repo acme/demo --url ${stack.webhookUrl}`,
    `  curl -H 'Authorization: Bearer ${statusKey}' ${stack.statusUrl}`,
    '  npm run demo        # commit upstream, send a signed push, follow it until the mirror provably holds it',
    'Ctrl-C stops it.',
    '',
  ].join('\n');
}

/**
 * What runs for the durable pipeline, and how to look at a push (`GET /pushes/{push_id}`, with the
 * status key); nothing for a stateless stack. `npm start` prints these with either CodeHub.
 */
export function durableLines(stack: Stack, statusKey: string): string[] {
  const { durable } = stack;
  if (durable === undefined) return [];
  return [
    `Durable:     SQS engine ${durable.sqsEndpoint}, DynamoDB engine ${durable.dynamodbEndpoint} (in this process)`,
    `  push queue ${durable.queueUrl}`,
    `  DLQ        ${durable.deadLetterUrl}`,
    `  ledger     table ${durable.tableName}`,
    `  worker     fed from the push queue; first confirm check ${durable.confirmAfterSeconds} s after a push (CONFIRM_AFTER_SECONDS)`,
    `A push:      curl -H 'Authorization: Bearer ${statusKey}' ${stack.pushUrl('<push_id>')}   (push_id: in the webhook's answer)`,
  ];
}
