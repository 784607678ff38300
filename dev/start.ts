/**
 * `npm start`: the bridge on a laptop. With no CodeHub credentials in the environment it starts
 * the CodeHub emulator too, with a demo mirror (github.com/acme/demo → repository 1001) whose
 * upstream is a local git repository, so the whole loop works with no cloud account.
 * With credentials (CODEHUB_AK/SK, CODEHUB_TOKEN or CODEHUB_IAM_*) it talks to the real CodeHub.
 * Ctrl-C stops everything.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { startStack } from './stack';
import { DEMO_REPOSITORY_ID, DEMO_SECRET_DEFAULT } from './start-defaults';
import { createUpstream } from './upstream';


function hasCodeHubCredentials(env: NodeJS.ProcessEnv): boolean {
  return ['CODEHUB_AK', 'CODEHUB_TOKEN', 'CODEHUB_IAM_USER'].some((name) => (env[name] ?? '') !== '');
}

async function main(): Promise<void> {
  const env = process.env;
  const port = Number(env['PORT'] ?? 3000);
  const local = !hasCodeHubCredentials(env);
  const bridgeEnv: Record<string, string> = {};
  if (local) {
    bridgeEnv['MIRROR_CONFIG_FILE'] = env['MIRROR_CONFIG_FILE'] ?? 'mirrors.example.yml';
    bridgeEnv['DEMO_WEBHOOK_SECRET'] = env['DEMO_WEBHOOK_SECRET'] ?? DEMO_SECRET_DEFAULT;
  } else if (env['MIRROR_CONFIG'] === undefined && env['MIRROR_CONFIG_FILE'] === undefined && !existsSync('mirrors.yml')) {
    throw new Error('CodeHub credentials are set but there is no mirrors.yml: copy mirrors.example.yml to mirrors.yml and edit it');
  }

  let upstreamPath: string | undefined;
  if (local) {
    upstreamPath = resolve('.data/demo-upstream');
    if (!existsSync(resolve(upstreamPath, '.git'))) await (await createUpstream(upstreamPath)).commit('initial commit');
  }
  const stack = await startStack({
    port,
    emulator: local
      ? {
          port: Number(env['EMULATOR_PORT'] ?? 8787),
          dataDir: '.data/codehub-emulator',
          repositories: [{ id: DEMO_REPOSITORY_ID, group: 'acme', name: 'demo', upstream: upstreamPath ?? '' }],
          log: (line) => process.stdout.write(`[codehub-emulator] ${line}\n`),
        }
      : false,
    env: bridgeEnv,
    onOutput: (text) => process.stdout.write(text),
  });

  const lines = [
    '',
    `Webhook:  POST ${stack.webhookUrl}`,
    local
      ? `CodeHub:  emulator at ${stack.emulator?.url ?? ''} (repository ${DEMO_REPOSITORY_ID} mirrors ${upstreamPath ?? ''})`
      : `CodeHub:  ${env['CODEHUB_ENDPOINT'] || `region ${env['CODEHUB_REGION'] ?? ''}`}`,
    local ? `Demo secret for github.com/acme/demo: ${bridgeEnv['DEMO_WEBHOOK_SECRET'] ?? ''}` : '',
    'Next:',
    local
      ? `  npm run demo        # commit upstream, send a signed push, watch the mirror follow`
      : '',
    `  WEBHOOK_SECRET=${local ? bridgeEnv['DEMO_WEBHOOK_SECRET'] ?? '' : '…'} npm run send -- --host github --repo acme/demo --url ${stack.webhookUrl}`,
    'Ctrl-C stops it.',
    '',
  ];
  process.stdout.write(lines.filter((l) => l !== '').join('\n') + '\n');

  const shutdown = (): void => {
    void stack.stop().then(() => process.exit(0));
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((error: unknown) => {
  process.stderr.write(`npm start failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
