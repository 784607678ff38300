/**
 * `npm run check-config -- [file] [--resolve]`: validates a mirror config exactly as the function does
 * at cold start (schema, unknown keys, `env:` references against this environment), checks that every
 * `ssm:`/`secretsmanager:` reference is well-formed, and prints every mirror it defines: never a
 * secret's value, only where each secret comes from. With `--resolve` it also reads those references
 * (and `MIRROR_CONFIG_PARAMETER`) from AWS, which needs credentials.
 *
 * Exit status: 0 valid (warnings included), 1 invalid (the ConfigError's message on stderr), 2 usage.
 */

import { pathToFileURL } from 'node:url';
import {
  inspectMirrorConfig,
  loadMirrorConfig,
  loadYamlParser,
  mirrorConfigOrigin,
  readMirrorConfigText,
  type MirrorConfigResult,
  type ReadTextFile,
} from '../lib/config/load';
import {
  CODEHUB_SECRET_VARIABLES,
  parseSecretReference,
  resolveEnvironmentSecrets,
  type Environment,
  type ReferenceUse,
  type SecretFetchers,
} from '../lib/config/secrets';
import type { MirrorConfig, MirrorTarget } from '../lib/config/types';
import { ConfigError } from '../lib/errors';
import { hostOf } from '../lib/providers/identity';

export interface CheckConfigIo {
  readonly env: Environment;
  /** Writes one line of the report. */
  readonly out: (line: string) => void;
  /** Writes one line of an error. */
  readonly err: (line: string) => void;
  /** @default fs.readFileSync */
  readonly readFile?: ReadTextFile;
  /** For `--resolve`. @default Powertools, which needs AWS credentials */
  readonly fetchers?: SecretFetchers;
}

const USAGE = `usage: npm run check-config -- [file] [--resolve]
  file       the config to check (default: the one MIRROR_CONFIG, MIRROR_CONFIG_PARAMETER or
             MIRROR_CONFIG_FILE names, in that order)
  --resolve  also read the ssm: and secretsmanager: references, and MIRROR_CONFIG_PARAMETER, from AWS
             (needs AWS credentials); without it they are only checked for form`;

/** Runs the check; returns the exit status. */
export async function checkConfig(args: readonly string[], io: CheckConfigIo): Promise<number> {
  const parsed = parseArguments(args);
  if ('usage' in parsed) {
    (parsed.usage === '' ? io.out : io.err)(parsed.usage === '' ? USAGE : `${parsed.usage}\n${USAGE}`);
    return parsed.usage === '' ? 0 : 2;
  }
  const { file, resolve } = parsed;
  // A file given on the command line is what gets checked, whatever the environment names.
  const env: Environment =
    file === undefined ? io.env : { ...io.env, MIRROR_CONFIG: undefined, MIRROR_CONFIG_PARAMETER: undefined, MIRROR_CONFIG_FILE: file };
  const fetchers = io.fetchers ?? {};
  const readOptions = io.readFile ? { readFile: io.readFile } : {};

  try {
    const origin = mirrorConfigOrigin(env);
    if (origin === 'MIRROR_CONFIG_PARAMETER' && !resolve) {
      throw new ConfigError('MIRROR_CONFIG_PARAMETER', 'names an SSM parameter: run with --resolve (needs AWS credentials), or pass the file to check');
    }
    const { text } = await readMirrorConfigText(env, { ...readOptions, ...fetchers });
    const inspection = inspectMirrorConfig(text, env, await loadYamlParser(), origin);
    const credentialReferences = codehubReferences(env);
    let result: MirrorConfigResult = inspection;
    if (resolve) {
      [result] = await Promise.all([loadMirrorConfig(env, { ...readOptions, ...fetchers }), resolveEnvironmentSecrets(env, fetchers)]);
    }
    report(io.out, describeOrigin(env, origin), result, [...inspection.references, ...credentialReferences], resolve);
    return 0;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    io.err(error.message);
    return 1;
  }
}

function parseArguments(args: readonly string[]): { file: string | undefined; resolve: boolean } | { usage: string } {
  let file: string | undefined;
  let resolve = false;
  for (const arg of args) {
    if (arg === '--resolve') resolve = true;
    else if (arg === '--help' || arg === '-h') return { usage: '' };
    else if (arg.startsWith('-')) return { usage: `unknown option ${arg}` };
    else if (file !== undefined) return { usage: 'give at most one file' };
    else file = arg;
  }
  return { file, resolve };
}

/** The CodeHub credentials written as references; a malformed one throws its ConfigError. */
function codehubReferences(env: Environment): ReferenceUse[] {
  const uses: ReferenceUse[] = [];
  for (const variable of CODEHUB_SECRET_VARIABLES) {
    const reference = parseSecretReference((env[variable] ?? '').trim(), variable);
    if (reference !== undefined) uses.push({ field: variable, reference });
  }
  return uses;
}

function describeOrigin(env: Environment, origin: ReturnType<typeof mirrorConfigOrigin>): string {
  if (origin === 'MIRROR_CONFIG') return 'MIRROR_CONFIG (inline)';
  if (origin === 'MIRROR_CONFIG_PARAMETER') return `SSM parameter ${env['MIRROR_CONFIG_PARAMETER']?.trim() ?? ''} (MIRROR_CONFIG_PARAMETER)`;
  return `${env['MIRROR_CONFIG_FILE'] ?? ''} (MIRROR_CONFIG_FILE)`;
}

function report(
  out: (line: string) => void,
  origin: string,
  { config, warnings }: MirrorConfigResult,
  references: readonly ReferenceUse[],
  resolved: boolean,
): void {
  const total = config.mirrors.length + config.pathMirrors.length + config.wildcardMirrors.length;
  out(`${origin}: valid, ${total} mirror${total === 1 ? '' : 's'}`);

  out('webhooks:');
  if (config.webhooks.size === 0) out('  (none)');
  for (const [host, secrets] of config.webhooks) out(`  ${host}: ${count(secrets.length, 'secret')}`);

  out('mirrors:');
  if (total === 0) out('  (none)');
  for (const mirror of config.mirrors) {
    out(`  ${mirror.source} → repository ${mirror.repositoryId}  ${describeSettings(config, mirror, hostOf(mirror.source))}`);
  }
  for (const mirror of config.pathMirrors) {
    out(`  ${mirror.source} → target ${mirror.target}  ${describeSettings(config, mirror, hostOf(mirror.source))}`);
  }
  for (const mirror of config.wildcardMirrors) {
    out(`  ${mirror.pattern} → target ${mirror.target} (wildcard)  ${describeSettings(config, mirror, mirror.host)}`);
  }
  out(`status key: ${config.statusKey === undefined ? 'not set' : 'set'}`);

  if (references.length > 0) {
    out(resolved ? 'references (all read from AWS):' : 'references (well-formed; not read, --resolve reads them):');
    for (const { field, reference } of references) out(`  ${field}: ${reference.text}`);
  }
  if (warnings.length > 0) {
    out('warnings:');
    for (const warning of warnings) out(`  ${warning}`);
  }
}

/** Refs, force_fetch, where the secret comes from and whether credentials are set: never a value. */
function describeSettings(config: MirrorConfig, mirror: Omit<MirrorTarget, 'source' | 'repositoryId'>, host: string): string {
  const refs = mirror.refs === undefined ? 'all' : mirror.refs.join(', ');
  const secret =
    mirror.secrets !== undefined
      ? `own (${count(mirror.secrets.length, 'secret')})`
      : config.webhooks.has(host)
        ? `host (webhooks["${host}"])`
        : 'none';
  const credentials = mirror.username !== undefined || mirror.endpointUuid !== undefined ? 'yes' : 'no';
  return `refs: ${refs}; force_fetch: ${mirror.forceFetch}; secret: ${secret}; credentials: ${credentials}`;
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

const invokedPath = process.argv[1];
if (invokedPath !== undefined && import.meta.url === pathToFileURL(invokedPath).href) {
  process.exitCode = await checkConfig(process.argv.slice(2), {
    env: process.env,
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  });
}
