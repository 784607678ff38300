/**
 * `npm run emulator -- [--port 8787] [--data-dir DIR] [--repo ID[:GROUP/NAME]=URL ...] [--repos-file FILE]`
 *
 * Runs the CodeHub + IAM emulator until SIGINT/SIGTERM. Credentials come from the environment, with
 * demo defaults; a value given through the environment is never printed.
 */
import { readFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseRepositorySpec } from './admin';
import { DEFAULT_DATA_DIR, startEmulator } from './index';
import type { EmulatorCredentials, RepositorySpec } from './index';
import { normaliseUpstream } from './git-mirror';

const USAGE = `Usage: npm run emulator -- [options]

Options (environment variable in brackets):
  --port N            port, 0 = any free one              [EMULATOR_PORT, default 8787]
  --host H            address to bind                      [EMULATOR_HOST, default 127.0.0.1]
  --data-dir DIR      where bare mirrors are kept          [EMULATOR_DATA_DIR, default ${DEFAULT_DATA_DIR}]
  --repo SPEC         a repository, repeatable: ID=URL or ID:GROUP/NAME=URL or just URL
                      (URL: any git URL or a local path)
  --repos-file FILE   JSON: [{"id", "name", "group", "upstream"}, ...]   [EMULATOR_REPOS_FILE]
                      (or {"id", "name", "group", "simulated": true}: no git, see README)
  --help

Credentials accepted:
  EMULATOR_TOKEN                       X-Auth-Token value(s), comma-separated (default local-dev-token)
  EMULATOR_AK, EMULATOR_SK             AK/SK pair for SDK-HMAC-SHA256 signing (default a demo pair)
  EMULATOR_IAM_USER, EMULATOR_IAM_PASSWORD, EMULATOR_IAM_DOMAIN
                                       IAM user for POST /v3/auth/tokens (default a demo user)`;

const DEMO = {
  token: 'local-dev-token',
  ak: 'EMULATORDEMOAK',
  sk: 'emulator-demo-sk',
  iamUser: 'dev-user',
  iamPassword: 'dev-password',
  iamDomain: 'dev-account',
} as const;

function fail(message: string): never {
  console.error(`codehub-emulator: ${message}\n\n${USAGE}`);
  process.exit(2);
}

function env(name: string): string | undefined {
  const value = process.env[name];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

/** `ID=URL`, `ID:GROUP/NAME=URL` or `URL`. */
function parseRepoFlag(value: string): RepositorySpec {
  const match = /^(\d+)(?::([^=]+))?=(.+)$/.exec(value);
  const upstream = normaliseUpstream(match ? (match[3] ?? '') : value);
  const path = match?.[2]?.replace(/^\/+|\/+$/g, '');
  const slash = path === undefined ? -1 : path.lastIndexOf('/');
  const name =
    path === undefined ? basename(upstream.replace(/\/+$/, '')).replace(/\.git$/, '') || 'repository' : path.slice(slash + 1);
  const group = path !== undefined && slash > 0 ? path.slice(0, slash) : undefined;
  return {
    name,
    upstream,
    ...(match ? { id: Number(match[1]) } : {}),
    ...(group === undefined ? {} : { group }),
  };
}

function readReposFile(file: string): RepositorySpec[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    return fail(`cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const list: unknown =
    typeof parsed === 'object' && parsed !== null && 'repositories' in parsed ? parsed.repositories : parsed;
  if (!Array.isArray(list)) return fail(`${file}: expected an array of repositories`);
  return list.map((item: unknown, index) => {
    try {
      const spec = parseRepositorySpec(item);
      return spec.simulated === true ? spec : { ...spec, upstream: normaliseUpstream(spec.upstream, dirname(resolve(file))) };
    } catch (error) {
      return fail(`${file}[${index}]: ${error instanceof Error ? error.message : String(error)}`);
    }
  });
}

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        'data-dir': { type: 'string' },
        repo: { type: 'string', multiple: true },
        'repos-file': { type: 'string' },
        help: { type: 'boolean' },
      },
      strict: true,
    }));
  } catch (error) {
    return fail(error instanceof Error ? error.message : String(error));
  }
  if (values.help) {
    console.log(USAGE);
    return;
  }

  const portText = values.port ?? env('EMULATOR_PORT') ?? '8787';
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) fail(`port must be 0..65535, got "${portText}"`);

  const akFromEnv = env('EMULATOR_AK');
  const skFromEnv = env('EMULATOR_SK');
  if ((akFromEnv === undefined) !== (skFromEnv === undefined)) fail('set both EMULATOR_AK and EMULATOR_SK, or neither');
  const tokenFromEnv = env('EMULATOR_TOKEN');
  const iamFromEnv = {
    user: env('EMULATOR_IAM_USER'),
    password: env('EMULATOR_IAM_PASSWORD'),
    domain: env('EMULATOR_IAM_DOMAIN'),
  };
  const tokens = tokenFromEnv === undefined ? [DEMO.token] : tokenFromEnv.split(',').map((t) => t.trim()).filter(Boolean);
  const ak = akFromEnv ?? DEMO.ak;
  const iamUser = {
    name: iamFromEnv.user ?? DEMO.iamUser,
    password: iamFromEnv.password ?? DEMO.iamPassword,
    domain: iamFromEnv.domain ?? DEMO.iamDomain,
  };
  const credentials: EmulatorCredentials = {
    accessKeys: { [ak]: skFromEnv ?? DEMO.sk },
    tokens,
    iamUsers: [iamUser],
  };

  const reposFile = values['repos-file'] ?? env('EMULATOR_REPOS_FILE');
  const repositories = [...(reposFile === undefined ? [] : readReposFile(reposFile)), ...(values.repo ?? []).map(parseRepoFlag)];

  const log = (line: string): void => console.log(`${new Date().toISOString()} ${line}`);
  let emulator;
  try {
    emulator = await startEmulator({
      port,
      host: values.host ?? env('EMULATOR_HOST') ?? '127.0.0.1',
      dataDir: values['data-dir'] ?? env('EMULATOR_DATA_DIR') ?? DEFAULT_DATA_DIR,
      credentials,
      repositories,
      log,
    });
  } catch (error) {
    return fail(error instanceof Error ? error.message : String(error));
  }

  const { url } = emulator;
  const shown = (value: string, fromEnv: boolean, variable: string): string => (fromEnv ? `(from ${variable})` : value);
  const lines = [
    `CodeHub emulator listening on ${url}  (IAM at ${url}/v3/auth/tokens, admin at ${url}/_emulator/)`,
    `data dir: ${emulator.dataDir}`,
    'accepts:',
    `  X-Auth-Token: ${tokenFromEnv === undefined ? DEMO.token : `${tokens.length} token(s) from EMULATOR_TOKEN`}`,
    `  AK/SK:        AK ${ak}, SK ${shown(DEMO.sk, skFromEnv !== undefined, 'EMULATOR_SK')}`,
    `  IAM user:     ${iamUser.name} in account ${iamUser.domain}, password ${shown(DEMO.iamPassword, iamFromEnv.password !== undefined, 'EMULATOR_IAM_PASSWORD')}`,
    'repositories:',
    ...(emulator.repositories().length === 0
      ? [`  none yet: POST ${url}/_emulator/repositories {"id": 2111, "name": "widgets", "group": "acme", "upstream": "/path/to/repo"}`]
      : emulator.repositories().map((r) => `  ${r.id}  ${r.pathWithNamespace}  <- ${r.upstream}`)),
    'for the bridge:',
    `  CODEHUB_ENDPOINT=${url} CODEHUB_IAM_ENDPOINT=${url} (with CODEHUB_TOKEN, CODEHUB_AK/SK/PROJECT_ID or CODEHUB_IAM_*)`,
  ];
  console.log(lines.join('\n'));

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      console.error(`${signal} again: exiting now`);
      process.exit(1);
    }
    stopping = true;
    console.log(`${signal}: stopping`);
    emulator.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(`error while stopping: ${error instanceof Error ? error.message : String(error)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

void main();
