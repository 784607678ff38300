/**
 * Where the mirror configuration text comes from, and how it becomes data. By precedence:
 * `MIRROR_CONFIG` (the text itself), `MIRROR_CONFIG_PARAMETER` (an SSM parameter holding it),
 * `MIRROR_CONFIG_FILE` (a path). Text starting with `{` is JSON, anything else YAML; errors give
 * positions, never the text around them, which may be a literal secret.
 */

import { readFileSync } from 'node:fs';
import { ConfigError, type ConfigProblem } from '../errors';
import { describeFetchError, fetchParameterWithPowertools, isSsmParameterName, readCacheTtlSeconds, type Environment, type FetchParameter } from './secrets';
import { YamlSyntaxError, type YamlParser } from './yaml';

/** Reads a UTF-8 text file; `fs.readFileSync` fits. */
export type ReadTextFile = (path: string, encoding: 'utf8') => string;

export type MirrorConfigOrigin = 'MIRROR_CONFIG' | 'MIRROR_CONFIG_PARAMETER' | 'MIRROR_CONFIG_FILE';

/** The configuration text and where it came from (the variable named in parse errors). */
export interface MirrorConfigText {
  readonly text: string;
  readonly origin: MirrorConfigOrigin;
}

export const NO_CONFIG_MESSAGE =
  'is not set: set MIRROR_CONFIG (JSON or YAML), MIRROR_CONFIG_PARAMETER (an SSM parameter name) or MIRROR_CONFIG_FILE (a path)';

/**
 * Which variable names the configuration, by precedence: `MIRROR_CONFIG`, then
 * `MIRROR_CONFIG_PARAMETER`, then `MIRROR_CONFIG_FILE` (empty or blank counts as unset).
 */
export function mirrorConfigOrigin(env: Environment): MirrorConfigOrigin | undefined {
  const set = (name: string): boolean => (env[name] ?? '').trim() !== '';
  if (set('MIRROR_CONFIG')) return 'MIRROR_CONFIG';
  if (set('MIRROR_CONFIG_PARAMETER')) return 'MIRROR_CONFIG_PARAMETER';
  if (set('MIRROR_CONFIG_FILE')) return 'MIRROR_CONFIG_FILE';
  return undefined;
}

/**
 * The configuration text the environment names (see `mirrorConfigOrigin`). Reads the SSM parameter
 * only when `MIRROR_CONFIG_PARAMETER` is the one that applies.
 * @throws ConfigError naming the variable when nothing is set or the text cannot be read
 */
export async function readMirrorConfigText(
  env: Environment,
  options: { readonly readFile?: ReadTextFile; readonly fetchParameter?: FetchParameter } = {},
): Promise<MirrorConfigText> {
  const origin = mirrorConfigOrigin(env);
  if (origin === 'MIRROR_CONFIG') return { text: env['MIRROR_CONFIG'] ?? '', origin };
  if (origin === 'MIRROR_CONFIG_PARAMETER') {
    const name = configParameterName(env['MIRROR_CONFIG_PARAMETER'] ?? '');
    const fetchParameter = options.fetchParameter ?? fetchParameterWithPowertools;
    let text: string | undefined;
    try {
      text = await fetchParameter(name, { maxAgeSeconds: readCacheTtlSeconds(env) });
    } catch (error) {
      throw new ConfigError(origin, `cannot read SSM parameter ${name}${describeFetchError(error)}`);
    }
    if (text === undefined || text.trim() === '') throw new ConfigError(origin, `names SSM parameter ${name}, which is empty`);
    return { text, origin };
  }
  if (origin === 'MIRROR_CONFIG_FILE') {
    const path = env['MIRROR_CONFIG_FILE'] ?? '';
    try {
      return { text: (options.readFile ?? readFileSync)(path, 'utf8'), origin };
    } catch (error) {
      throw new ConfigError(origin, `cannot read ${JSON.stringify(path)}${errorCode(error)}`);
    }
  }
  throw new ConfigError('MIRROR_CONFIG', NO_CONFIG_MESSAGE);
}

/** `MIRROR_CONFIG_PARAMETER` is a parameter name; `ssm:` in front of it is tolerated. */
function configParameterName(value: string): string {
  const trimmed = value.trim();
  const name = trimmed.startsWith('ssm:') ? trimmed.slice('ssm:'.length) : trimmed;
  if (!isSsmParameterName(name)) {
    throw new ConfigError('MIRROR_CONFIG_PARAMETER', 'must be an SSM parameter name such as /bridge/mirrors');
  }
  return name;
}

/**
 * Imports the strict YAML parser (lib/config/yaml-parse.ts, with `yaml`, the largest piece of the
 * config code, which JSON configs never load): YAML 1.2 core schema, duplicate keys and alias bombs
 * rejected, warnings treated as errors, memory bounded for large `mirrors` lists.
 */
export async function loadYamlParser(): Promise<YamlParser> {
  const { parseYaml } = await import('./yaml-parse');
  return parseYaml;
}

/** Whether the text is JSON (it starts with `{`, after a BOM and blanks); anything else is YAML. */
export function looksLikeJson(text: string): boolean {
  return stripBom(text).trimStart().startsWith('{');
}

/**
 * The text as data: JSON, or YAML through `parseYaml`.
 * @throws ConfigError naming `origin`, with every YAML problem and its position
 */
export function parseConfigText(text: string, origin: string, parseYaml: YamlParser | undefined): unknown {
  const body = stripBom(text);
  if (looksLikeJson(body)) {
    try {
      return JSON.parse(body) as unknown;
    } catch (error) {
      // V8's message can quote the text around the error, which may be a literal secret.
      const position = jsonErrorPosition(body, error);
      const at = position === undefined ? '' : ` at line ${position.line}, column ${position.column}`;
      const problem = `is not valid JSON${at} (text starting with "{" is read as JSON; write YAML in block style)`;
      throw new ConfigError(origin, problem, [], position);
    }
  }
  if (parseYaml === undefined) {
    throw new ConfigError(origin, 'is not JSON and no YAML parser was given (loadMirrorConfig supplies one)');
  }
  try {
    return parseYaml(body);
  } catch (error) {
    if (!(error instanceof YamlSyntaxError)) throw new ConfigError(origin, 'is not valid YAML');
    const problems: ConfigProblem[] = error.problems.map(({ code, line, column }) => ({
      field: origin,
      message: `is not valid YAML at line ${line}, column ${column}${/^[A-Z_]+$/.test(code) ? ` (${code})` : ''}`,
      line,
      column,
    }));
    throw ConfigError.of(problems);
  }
}

function stripBom(text: string): string {
  return text.startsWith('\uFEFF') ? text.slice(1) : text;
}

function jsonErrorPosition(text: string, error: unknown): { line: number; column: number } | undefined {
  const match = error instanceof Error ? /at position (\d+)/.exec(error.message) : null;
  if (match === null) return undefined;
  const before = text.slice(0, Number(match[1]));
  return { line: before.split('\n').length, column: before.length - before.lastIndexOf('\n') };
}

function errorCode(error: unknown): string {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? ` (${code})` : '';
}
