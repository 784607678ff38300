/**
 * Loads the mirror configuration once per cold start: JSON or YAML text from `MIRROR_CONFIG`, or a
 * file named by `MIRROR_CONFIG_FILE`. Validation is strict (unknown keys, wrong types and dangling
 * `env:` references are errors naming the field), so a bad config fails at cold start instead of
 * half-working. Messages describe values, never quote them: a secret must not reach a log.
 */

import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors';
import { hostOf, normaliseConfiguredSource } from '../providers/identity';
import type { MirrorConfig, MirrorTarget } from './types';

/** Environment variables, as `process.env` holds them. */
export type Environment = Readonly<Record<string, string | undefined>>;

/** Turns YAML text into plain data; throws on invalid YAML. */
export type YamlParser = (text: string) => unknown;

/** Reads a UTF-8 text file; `fs.readFileSync` fits. */
export type ReadTextFile = (path: string, encoding: 'utf8') => string;

export interface MirrorConfigResult {
  readonly config: MirrorConfig;
  /** Things that load but will not do what was probably meant (a mirror no secret can reach, no mirrors). */
  readonly warnings: readonly string[];
}

const MAX_REPOSITORY_ID = 2_147_483_647;
const ROOT_KEYS: readonly string[] = ['webhooks', 'mirrors'];
const WEBHOOK_KEYS: readonly string[] = ['secret'];
const MIRROR_KEYS: readonly string[] = [
  'source',
  'repository_id',
  'secret',
  'refs',
  'force_fetch',
  'username',
  'password',
  'endpoint_uuid',
];
const ENV_PREFIX = 'env:';
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
/** After URL normalisation: DNS labels or an IPv6 literal, optional port. No `_`, so no `__proto__`. */
const HOST = /^(?:[a-z0-9-]+(?:\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])(?::\d+)?$/;

type RawObject = Readonly<Record<string, unknown>>;

/**
 * Parses and validates configuration text against `env`. Text starting with `{` is JSON and never
 * touches `parseYaml`; any other text needs `parseYaml` (see `loadYamlParser`).
 * @throws ConfigError naming the offending field
 */
export function parseMirrorConfig(text: string, env: Environment, parseYaml?: YamlParser): MirrorConfigResult {
  return readConfig(parseText(text, 'MIRROR_CONFIG', parseYaml), env);
}

/**
 * Loads the configuration named by the environment: `MIRROR_CONFIG` (text) wins over
 * `MIRROR_CONFIG_FILE` (a path). The YAML parser is imported only for text that is not JSON.
 * @throws ConfigError naming the offending field
 */
export async function loadMirrorConfig(
  env: Environment = process.env,
  readFile: ReadTextFile = readFileSync,
): Promise<MirrorConfigResult> {
  const inline = env['MIRROR_CONFIG'];
  const path = env['MIRROR_CONFIG_FILE'];
  let text: string;
  let origin: string;
  if (inline !== undefined && inline.trim() !== '') {
    text = inline;
    origin = 'MIRROR_CONFIG';
  } else if (path !== undefined && path.trim() !== '') {
    origin = 'MIRROR_CONFIG_FILE';
    try {
      text = readFile(path, 'utf8');
    } catch (error) {
      throw new ConfigError(origin, `cannot read ${JSON.stringify(path)}${errorCode(error)}`);
    }
  } else {
    throw new ConfigError('MIRROR_CONFIG', 'is not set: set MIRROR_CONFIG (JSON or YAML) or MIRROR_CONFIG_FILE (a path)');
  }
  const parseYaml = looksLikeJson(text) ? undefined : await loadYamlParser();
  return readConfig(parseText(text, origin, parseYaml), env);
}

/**
 * Imports `yaml` and returns a strict parser: YAML 1.2 core schema, duplicate keys and alias bombs
 * rejected by `yaml`'s defaults, and warnings (an unresolved tag such as `!env`) treated as errors,
 * since a silently reinterpreted value could become a wrong secret.
 */
export async function loadYamlParser(): Promise<YamlParser> {
  const yaml = await import('yaml');
  // Bundled, `yaml` is CommonJS and its exports arrive on `default`; unbundled (tests) they are named.
  type YamlModule = Pick<typeof yaml, 'parseDocument'>;
  const { parseDocument } = (yaml as unknown as { default?: YamlModule }).default ?? (yaml as YamlModule);
  return (text) => {
    const document = parseDocument(text);
    const problem = document.errors[0] ?? document.warnings[0];
    if (problem !== undefined) throw problem;
    return document.toJS() as unknown;
  };
}

function stripBom(text: string): string {
  return text.startsWith('\uFEFF') ? text.slice(1) : text;
}

function looksLikeJson(text: string): boolean {
  return stripBom(text).trimStart().startsWith('{');
}

function parseText(text: string, origin: string, parseYaml: YamlParser | undefined): unknown {
  const body = stripBom(text);
  if (looksLikeJson(body)) {
    try {
      return JSON.parse(body) as unknown;
    } catch (error) {
      // V8's message can quote the text around the error, which may be a literal secret.
      throw new ConfigError(
        origin,
        `is not valid JSON${jsonErrorPosition(body, error)} (text starting with "{" is read as JSON; write YAML in block style)`,
      );
    }
  }
  if (parseYaml === undefined) {
    throw new ConfigError(origin, 'is not JSON and no YAML parser was given (loadMirrorConfig supplies one)');
  }
  try {
    return parseYaml(body);
  } catch (error) {
    // yaml's message embeds the offending source line; keep only its code and position.
    throw new ConfigError(origin, `is not valid YAML${yamlErrorPosition(error)}`);
  }
}

function jsonErrorPosition(text: string, error: unknown): string {
  const match = error instanceof Error ? /at position (\d+)/.exec(error.message) : null;
  if (match === null) return '';
  const before = text.slice(0, Number(match[1]));
  const line = before.split('\n').length;
  const column = before.length - before.lastIndexOf('\n');
  return ` at line ${line}, column ${column}`;
}

function yamlErrorPosition(error: unknown): string {
  if (typeof error !== 'object' || error === null) return '';
  const { code, linePos } = error as { code?: unknown; linePos?: unknown };
  const start: unknown = Array.isArray(linePos) ? linePos[0] : undefined;
  const label = typeof code === 'string' && /^[A-Z_]+$/.test(code) ? ` (${code})` : '';
  if (typeof start !== 'object' || start === null) return label;
  const { line, col } = start as { line?: unknown; col?: unknown };
  if (typeof line !== 'number' || typeof col !== 'number') return label;
  return ` at line ${line}, column ${col}${label}`;
}

function errorCode(error: unknown): string {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? ` (${code})` : '';
}

function readConfig(data: unknown, env: Environment): MirrorConfigResult {
  const root = expectObject(data, 'MIRROR_CONFIG', 'must be a mapping with the keys webhooks and mirrors');
  checkKeys(root, ROOT_KEYS, '');
  const webhooks = readWebhooks(own(root, 'webhooks'), env);
  const mirrorList = own(root, 'mirrors');
  if (mirrorList === undefined) throw new ConfigError('mirrors', 'is required (write `mirrors: []` for none)');
  if (!Array.isArray(mirrorList)) {
    throw new ConfigError('mirrors', `must be a list, got ${describe(mirrorList)}`);
  }
  const items: readonly unknown[] = mirrorList;

  const mirrors: MirrorTarget[] = [];
  const seen = new Map<string, number>();
  items.forEach((item, position) => {
    const field = `mirrors[${position}]`;
    const mirror = readMirror(item, field, env);
    // Same source twice is fan-out; same source into the same repository twice is a slip.
    const key = `${mirror.source} ${mirror.repositoryId}`;
    const earlier = seen.get(key);
    if (earlier !== undefined) {
      throw new ConfigError(field, `repeats the source and repository_id of mirrors[${earlier}]`);
    }
    seen.set(key, position);
    mirrors.push(mirror);
  });

  const config: MirrorConfig = Object.freeze({ webhooks, mirrors: Object.freeze(mirrors) });
  return { config, warnings: Object.freeze(collectWarnings(config)) };
}

function collectWarnings(config: MirrorConfig): string[] {
  const warnings: string[] = [];
  if (config.mirrors.length === 0) {
    warnings.push('mirrors is empty: deliveries can be verified but nothing will be synced');
  }
  const hostsUsingWebhookSecrets = new Set<string>();
  config.mirrors.forEach((mirror, position) => {
    if (mirror.secrets !== undefined) return;
    const host = hostOf(mirror.source);
    hostsUsingWebhookSecrets.add(host);
    if (!config.webhooks.has(host)) {
      warnings.push(
        `mirrors[${position}] (${mirror.source}) has no secret: neither its own secret nor webhooks["${host}"]; ` +
          'its deliveries will be rejected',
      );
    }
  });
  for (const host of config.webhooks.keys()) {
    if (!hostsUsingWebhookSecrets.has(host)) {
      warnings.push(`webhooks["${host}"] is used by no mirror (none on ${host}, or each has its own secret)`);
    }
  }
  return warnings;
}

function readWebhooks(value: unknown, env: Environment): Map<string, readonly string[]> {
  const webhooks = new Map<string, readonly string[]>();
  if (value === undefined) return webhooks;
  const object = expectObject(value, 'webhooks', 'must be a mapping of host to { secret }');
  const fieldOfHost = new Map<string, string>();
  for (const key of Object.keys(object)) {
    const field = `webhooks[${JSON.stringify(key)}]`;
    const host = normaliseHost(key);
    if (host === undefined) {
      throw new ConfigError(field, 'must be a host name such as github.com or git.example.com:8443 (no scheme, no path)');
    }
    const earlier = fieldOfHost.get(host);
    if (earlier !== undefined) {
      throw new ConfigError(field, `is the same host as ${earlier} (host names are case-insensitive, default ports dropped)`);
    }
    fieldOfHost.set(host, field);
    const entry = expectObject(own(object, key), field, 'must be a mapping with the key secret');
    checkKeys(entry, WEBHOOK_KEYS, field);
    const secret = own(entry, 'secret');
    if (secret === undefined) throw new ConfigError(`${field}.secret`, 'is required');
    webhooks.set(host, resolveSecrets(secret, `${field}.secret`, env));
  }
  return webhooks;
}

function readMirror(value: unknown, field: string, env: Environment): MirrorTarget {
  const object = expectObject(value, field, 'must be a mapping with at least source and repository_id');
  checkKeys(object, MIRROR_KEYS, field);

  const sourceValue = own(object, 'source');
  if (sourceValue === undefined) throw new ConfigError(`${field}.source`, 'is required');
  const source = readSource(sourceValue, `${field}.source`);

  const idValue = own(object, 'repository_id');
  if (idValue === undefined) throw new ConfigError(`${field}.repository_id`, 'is required');
  const repositoryId = readRepositoryId(idValue, `${field}.repository_id`);

  const secretValue = own(object, 'secret');
  const secrets = secretValue === undefined ? undefined : resolveSecrets(secretValue, `${field}.secret`, env);

  const refsValue = own(object, 'refs');
  const refs = refsValue === undefined ? undefined : readRefs(refsValue, `${field}.refs`);

  const forceFetchValue = own(object, 'force_fetch');
  if (forceFetchValue !== undefined && typeof forceFetchValue !== 'boolean') {
    throw new ConfigError(`${field}.force_fetch`, `must be true or false, got ${describe(forceFetchValue)}`);
  }

  const hasUsername = own(object, 'username') !== undefined;
  const hasPassword = own(object, 'password') !== undefined;
  if (hasUsername && !hasPassword) throw new ConfigError(`${field}.password`, 'is required when username is set');
  if (hasPassword && !hasUsername) throw new ConfigError(`${field}.username`, 'is required when password is set');
  if (hasUsername && own(object, 'endpoint_uuid') !== undefined) {
    throw new ConfigError(`${field}.endpoint_uuid`, 'cannot be combined with username and password: use one or the other');
  }

  return Object.freeze({
    source,
    repositoryId,
    secrets,
    refs,
    forceFetch: forceFetchValue ?? true,
    username: optionalSecret(object, 'username', field, env),
    password: optionalSecret(object, 'password', field, env),
    endpointUuid: optionalSecret(object, 'endpoint_uuid', field, env),
  });
}

function readSource(value: unknown, field: string): string {
  const usage = 'must be host/path such as github.com/acme/api';
  if (typeof value !== 'string') throw new ConfigError(field, `${usage}, got ${describe(value)}`);
  const trimmed = value.trim();
  const withoutScheme = trimmed.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
  if ((withoutScheme.split('/')[0] ?? '').includes('@')) {
    throw new ConfigError(field, 'must not carry credentials: put them in username and password');
  }
  if (/[\s?#\\]/.test(withoutScheme)) throw new ConfigError(field, usage);
  let identity: string | undefined;
  try {
    identity = normaliseConfiguredSource(trimmed);
  } catch {
    identity = undefined; // a malformed %-escape in the path
  }
  const segments = identity?.split('/') ?? [];
  if (identity === undefined || !HOST.test(hostOf(identity)) || segments.length < 3 || segments.includes('')) {
    throw new ConfigError(field, `${usage} (a host and at least owner/name)`);
  }
  return identity;
}

function normaliseHost(key: string): string | undefined {
  const trimmed = key.trim();
  if (trimmed === '' || /[\s/@?#\\]/.test(trimmed)) return undefined;
  let identity: string | undefined;
  try {
    identity = normaliseConfiguredSource(`${trimmed}/x`);
  } catch {
    return undefined;
  }
  if (identity === undefined) return undefined;
  const host = hostOf(identity);
  return HOST.test(host) ? host : undefined;
}

function readRepositoryId(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_REPOSITORY_ID) {
    const got = typeof value !== 'number' ? describe(value) : Number.isInteger(value) ? 'an integer out of range' : 'a fraction';
    throw new ConfigError(field, `must be an integer from 1 to ${MAX_REPOSITORY_ID}, got ${got}`);
  }
  return value;
}

function readRefs(value: unknown, field: string): readonly string[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new ConfigError(field, `must be a non-empty list of ref patterns such as refs/heads/main, got ${describe(value)}`);
  }
  const items: readonly unknown[] = value;
  const refs = items.map((item, position) => {
    if (typeof item !== 'string' || !item.startsWith('refs/')) {
      throw new ConfigError(`${field}[${position}]`, `must be a string starting with refs/, got ${describe(item)}`);
    }
    return item;
  });
  return Object.freeze(refs);
}

function resolveSecrets(value: unknown, field: string, env: Environment): readonly string[] {
  if (!Array.isArray(value)) return Object.freeze([resolveSecret(value, field, env)]);
  if (value.length === 0) throw new ConfigError(field, 'must list at least one secret');
  const items: readonly unknown[] = value;
  const secrets = items.map((item, position) => resolveSecret(item, `${field}[${position}]`, env));
  return Object.freeze([...new Set(secrets)]);
}

function optionalSecret(object: RawObject, key: string, field: string, env: Environment): string | undefined {
  const value = own(object, key);
  return value === undefined ? undefined : resolveSecret(value, `${field}.${key}`, env);
}

/** A literal, or `env:NAME` replaced by that variable's value. The value itself is never put in a message. */
function resolveSecret(value: unknown, field: string, env: Environment): string {
  if (typeof value !== 'string') {
    const hint = typeof value === 'number' || typeof value === 'boolean' ? ' (quote it in YAML)' : '';
    throw new ConfigError(field, `must be a string (a literal or env:NAME), got ${describe(value)}${hint}`);
  }
  if (value === '') throw new ConfigError(field, 'must not be empty');
  if (!value.startsWith(ENV_PREFIX)) return value;
  const name = value.slice(ENV_PREFIX.length);
  if (!ENV_NAME.test(name)) {
    throw new ConfigError(field, 'must be env:NAME with NAME an environment variable name (letters, digits, _)');
  }
  const resolved = env[name];
  if (resolved === undefined) throw new ConfigError(field, `refers to environment variable ${name}, which is not set`);
  if (resolved === '') throw new ConfigError(field, `refers to environment variable ${name}, which is empty`);
  return resolved;
}

function expectObject(value: unknown, field: string, usage: string): RawObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigError(field, `${usage}, got ${describe(value)}`);
  }
  const prototype: unknown = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) throw new ConfigError(field, usage);
  return value as RawObject;
}

/** Allow-list check over own keys, so `__proto__` or `constructor` is just another unknown key. */
function checkKeys(object: RawObject, allowed: readonly string[], field: string): void {
  for (const key of Object.keys(object)) {
    if (!allowed.includes(key)) {
      throw new ConfigError(childField(field, key), `unknown key; allowed here: ${allowed.join(', ')}`);
    }
  }
}

/** Own properties only: a key that came from `Object.prototype` was not in the config. */
function own(object: RawObject, key: string): unknown {
  return Object.hasOwn(object, key) ? object[key] : undefined;
}

function childField(parent: string, key: string): string {
  if (!IDENTIFIER.test(key)) return `${parent}[${JSON.stringify(key)}]`;
  return parent === '' ? key : `${parent}.${key}`;
}

/** The kind of a value, for messages that must not quote it. */
function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  switch (typeof value) {
    case 'string':
      return 'a string';
    case 'number':
      return 'a number';
    case 'boolean':
      return 'a boolean';
    case 'object':
      return 'a mapping';
    default:
      return typeof value;
  }
}
