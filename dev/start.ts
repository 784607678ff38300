/**
 * `npm start`: the bridge on a laptop, with the whole durable pipeline: the local SQS and DynamoDB
 * engines (the ledger kept under .data/, the queue in memory), serverless.yml's queues and table in
 * them, and the worker fed from the push queue. With no CodeHub credentials in the environment it
 * starts the CodeHub emulator too, with the demo mirrors of ./start-defaults (GitHub, GitLab, Gitee
 * and Gitea sources, each to its own repository, all fetching a local git repository), the status
 * page on, and a fake of the hosts' commit-status APIs, so the whole loop works with no cloud account.
 * With credentials (CODEHUB_AK/SK, CODEHUB_TOKEN or CODEHUB_IAM_*) it talks to the real CodeHub.
 * Ctrl-C stops everything.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { demoBanner, durableLines, startDemoStack } from './demo-stack';
import { startStack } from './stack';

/** Where the ledger (and the demo's upstream and mirrors) live between runs. */
const DATA_DIR = resolve('.data');

function hasCodeHubCredentials(env: NodeJS.ProcessEnv): boolean {
  return ['CODEHUB_AK', 'CODEHUB_TOKEN', 'CODEHUB_IAM_USER'].some((name) => (env[name] ?? '') !== '');
}

async function main(): Promise<void> {
  const env = process.env;
  const port = Number(env['PORT'] ?? 3000);
  const onOutput = (text: string): void => void process.stdout.write(text);
  let stop: () => Promise<void>;
  if (hasCodeHubCredentials(env)) {
    if (env['MIRROR_CONFIG'] === undefined && env['MIRROR_CONFIG_FILE'] === undefined && !existsSync('mirrors.yml')) {
      throw new Error('CodeHub credentials are set but there is no mirrors.yml: copy mirrors.example.yml to mirrors.yml and edit it');
    }
    const stack = await startStack({ port, emulator: false, onOutput, durable: { dataDir: DATA_DIR } });
    stop = () => stack.stop();
    process.stdout.write(
      [
        '',
        `Webhook:  POST ${stack.webhookUrl}`,
        `CodeHub:  ${env['CODEHUB_ENDPOINT'] || `region ${env['CODEHUB_REGION'] ?? ''}`}`,
        // The key is the one your mirrors.yml's status.key names.
        ...durableLines(stack, '<status key>'),
        'Next:',
        `  WEBHOOK_SECRET=… npm run send -- --host github --repo <owner/name> --url ${stack.webhookUrl}`,
        'Ctrl-C stops it.',
        '',
      ].join('\n'),
    );
  } else {
    const demo = await startDemoStack({
      port,
      emulatorPort: Number(env['EMULATOR_PORT'] ?? 8787),
      statusHostPort: Number(env['STATUS_HOST_PORT'] ?? 8788),
      dataDir: DATA_DIR,
      durable: { dataDir: DATA_DIR },
      env,
      onOutput,
      emulatorLog: (line) => process.stdout.write(`[codehub-emulator] ${line}\n`),
      statusHostLog: (line) => process.stdout.write(`[git-host-statuses] ${line}\n`),
    });
    stop = () => demo.stop();
    process.stdout.write(demoBanner(demo));
  }

  const shutdown = (): void => {
    void stop().then(() => process.exit(0));
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((error: unknown) => {
  process.stderr.write(`npm start failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
