/**
 * `npm run check-config -- [file] [--resolve]`: validates a mirror config as the function does at cold
 * start (schema, unknown keys, every reference well-formed) and prints every mirror it defines: never
 * a secret's value, only where each secret comes from. It reports every problem, not only the first,
 * and shows the line of a YAML syntax error (values masked).
 *
 * What cannot be checked on this machine is listed as "not checked here" and is no error: `env:NAME`
 * variables this shell does not hold, and `ssm:`/`secretsmanager:` references (not read). With
 * `--resolve` each of those must resolve: variables from this shell, references (and
 * `MIRROR_CONFIG_PARAMETER`) from AWS, which needs credentials.
 *
 * Exit status: 0 valid (warnings and unchecked values included), 1 invalid (every problem on stderr),
 * 2 usage.
 */

import { pathToFileURL } from 'node:url';
import {
  inspectMirrorConfig,
  loadYamlParser,
  mirrorConfigOrigin,
  readMirrorConfigText,
  type MirrorConfigInspection,
  type ReadTextFile,
  type VariableUse,
} from '../lib/config/load';
import { maskedExcerpt } from '../lib/config/excerpt';
import { ConfigProblems } from '../lib/config/fields';
import {
  CODEHUB_SECRET_VARIABLES,
  parseSecretReference,
  readCacheTtlSeconds,
  resolveSecretReferences,
  type Environment,
  type ReferenceUse,
  type SecretFetchers,
} from '../lib/config/secrets';
import type { MirrorConfig, MirrorTarget, ReportSettings } from '../lib/config/types';
import { ConfigError, type ConfigProblem } from '../lib/errors';
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
  --resolve  also resolve what is otherwise "not checked here": env: variables from this shell, and
             ssm: and secretsmanager: references and MIRROR_CONFIG_PARAMETER from AWS (needs AWS
             credentials); any that cannot be resolved is a problem`;

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
  const origin = mirrorConfigOrigin(env);
  let text: string | undefined;
  try {
    if (origin === 'MIRROR_CONFIG_PARAMETER' && !resolve) {
      throw new ConfigError('MIRROR_CONFIG_PARAMETER', 'names an SSM parameter: run with --resolve (needs AWS credentials), or pass the file to check');
    }
    const { text: configText } = await readMirrorConfigText(env, { ...(io.readFile ? { readFile: io.readFile } : {}), ...fetchers });
    text = configText;
    const parseYaml = await loadYamlParser();
    const problems = new ConfigProblems();
    const inspection = problems.attempt(() => inspectMirrorConfig(configText, env, parseYaml, origin));
    const credentials = problems.attempt(() => codehubReferences(env)) ?? [];
    problems.throwIfAny();
    if (inspection === undefined) return 1; // unreachable: a failed inspection recorded a problem, so throwIfAny threw
    const references = [...inspection.references, ...credentials];
    if (resolve) await resolveEverything(inspection.unresolvedVariables, references, env, fetchers);
    report(io.out, describeOrigin(env, origin), inspection, references, resolve);
    return 0;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    reportProblems(io.err, describeOrigin(env, origin), error.problems, text);
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

/** The CodeHub credentials written as references. @throws ConfigError listing each malformed one */
function codehubReferences(env: Environment): ReferenceUse[] {
  const uses: ReferenceUse[] = [];
  const problems: ConfigProblem[] = [];
  for (const variable of CODEHUB_SECRET_VARIABLES) {
    try {
      const reference = parseSecretReference((env[variable] ?? '').trim(), variable);
      if (reference !== undefined) uses.push({ field: variable, reference });
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(...error.problems);
    }
  }
  if (problems.length > 0) throw ConfigError.of(problems);
  return uses;
}

/** `--resolve`: every variable must be in this shell, every reference readable. @throws ConfigError listing each that is not */
async function resolveEverything(
  variables: readonly VariableUse[],
  references: readonly ReferenceUse[],
  env: Environment,
  fetchers: SecretFetchers,
): Promise<void> {
  const problems: ConfigProblem[] = variables.map(({ field, name, state }) => ({
    field,
    message: `refers to environment variable ${name}, which is ${state === 'unset' ? 'not set' : 'empty'}`,
  }));
  try {
    await resolveSecretReferences(references, { ...fetchers, maxAgeSeconds: readCacheTtlSeconds(env) });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.problems);
  }
  if (problems.length > 0) throw ConfigError.of(problems);
}

/** Every problem, one per line as the function would name it, a syntax error with its line (values masked). */
function reportProblems(err: (line: string) => void, origin: string, problems: readonly ConfigProblem[], text: string | undefined): void {
  for (const { field, message, line, column } of problems) {
    err(`invalid config at ${field}: ${message}`);
    if (text !== undefined && line !== undefined && column !== undefined) for (const excerpt of maskedExcerpt(text, line, column)) err(excerpt);
  }
  err(`${origin}: invalid, ${count(problems.length, 'problem')}`);
}

function describeOrigin(env: Environment, origin: ReturnType<typeof mirrorConfigOrigin>): string {
  if (origin === undefined) return 'no config';
  if (origin === 'MIRROR_CONFIG') return 'MIRROR_CONFIG (inline)';
  if (origin === 'MIRROR_CONFIG_PARAMETER') return `SSM parameter ${env['MIRROR_CONFIG_PARAMETER']?.trim() ?? ''} (MIRROR_CONFIG_PARAMETER)`;
  return `${env['MIRROR_CONFIG_FILE'] ?? ''} (MIRROR_CONFIG_FILE)`;
}

function report(
  out: (line: string) => void,
  origin: string,
  { config, warnings, unresolvedVariables }: MirrorConfigInspection,
  references: readonly ReferenceUse[],
  resolved: boolean,
): void {
  const total = config.mirrors.length + config.pathMirrors.length + config.wildcardMirrors.length;
  out(`${origin}: valid, ${count(total, 'mirror')}`);

  out('webhooks:');
  if (config.webhooks.size === 0) out('  (none)');
  for (const [host, secrets] of config.webhooks) {
    const report = config.reports?.get(host);
    out(`  ${host}: ${count(secrets.length, 'secret')}${report === undefined ? '' : `; reports commit statuses${describeApi(report)}`}`);
  }

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

  if (resolved && references.length > 0) {
    out('references (all read from AWS):');
    for (const { field, reference } of references) out(`  ${field}: ${reference.text}`);
  }
  if (!resolved && unresolvedVariables.length + references.length > 0) {
    out('not checked here (well-formed; --resolve resolves them and fails on any it cannot):');
    for (const { field, name, state } of unresolvedVariables) out(`  ${field}: env:${name} (${state === 'unset' ? 'not set' : 'empty'} in this shell)`);
    for (const { field, reference } of references) out(`  ${field}: ${reference.text} (not read)`);
  }
  if (warnings.length > 0) {
    out('warnings:');
    for (const warning of warnings) out(`  ${warning}`);
  }
}

/**
 * Refs, force_fetch, where the secret comes from, whether credentials are set and, for a mirror that
 * reports commit statuses, whose reporting it uses: never a secret's value.
 */
function describeSettings(config: MirrorConfig, mirror: Omit<MirrorTarget, 'source' | 'repositoryId'>, host: string): string {
  const refs = mirror.refs === undefined ? 'all' : mirror.refs.join(', ');
  const secret =
    mirror.secrets !== undefined
      ? `own (${count(mirror.secrets.length, 'secret')})`
      : config.webhooks.has(host)
        ? `host (webhooks["${host}"])`
        : 'none';
  const credentials = mirror.username !== undefined || mirror.endpointUuid !== undefined ? 'yes' : 'no';
  // Said only of mirrors that report, so a config without reporting reads as it did before it existed.
  const hostReport = config.reports?.get(host);
  const report =
    mirror.report !== undefined
      ? `; report: own${describeApi(mirror.report)}`
      : hostReport !== undefined
        ? `; report: host (webhooks["${host}"])`
        : '';
  return `refs: ${refs}; force_fetch: ${mirror.forceFetch}; secret: ${secret}; credentials: ${credentials}${report}`;
}

/** The API a report goes to, when not the host's usual one: a URL, which never carries a credential. */
function describeApi(report: ReportSettings): string {
  return report.apiUrl === undefined ? '' : ` (api ${report.apiUrl})`;
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
