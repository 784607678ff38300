/**
 * Loads the mirror configuration once per cold start: JSON or YAML text from `MIRROR_CONFIG`, from
 * the SSM parameter named by `MIRROR_CONFIG_PARAMETER`, or from the file named by `MIRROR_CONFIG_FILE`
 * (in that order of precedence). Validation is strict (unknown keys, wrong types and dangling
 * references are errors naming the field), so a bad config fails at cold start instead of
 * half-working. Messages describe values, never quote them: a secret must not reach a log.
 *
 * Secret-bearing values (`secret`, `username`, `password`, `endpoint_uuid`, `status.key`) are a
 * literal, `env:NAME`, `ssm:/path/name` or `secretsmanager:name[#key]`. `parseMirrorConfig` stays
 * synchronous and pure for literals and `env:`; `loadMirrorConfig` also reads the AWS references, all
 * in parallel, importing the AWS SDK only when there is one to read.
 */

import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors';
import { hostOf, normaliseConfiguredSource } from '../providers/identity';
import {
  compileSourcePattern,
  compileTargetTemplate,
  expandTarget,
  hasPlaceholder,
  pathSegmentsOf,
  type CompiledTargetTemplate,
} from './patterns';
import {
  describeFetchError,
  fetchParameterWithPowertools,
  isSsmParameterName,
  parseSecretReference,
  readCacheTtlSeconds,
  resolveSecretReferences,
  type Environment,
  type FetchParameter,
  type ReferenceUse,
  type SecretFetchers,
  type SecretReference,
} from './secrets';
import type { MirrorConfig, MirrorTarget, PathMirror, WildcardMirror } from './types';

export type { Environment } from './secrets';

/** Turns YAML text into plain data; throws on invalid YAML. */
export type YamlParser = (text: string) => unknown;

/** Reads a UTF-8 text file; `fs.readFileSync` fits. */
export type ReadTextFile = (path: string, encoding: 'utf8') => string;

export interface MirrorConfigResult {
  readonly config: MirrorConfig;
  /** Things that load but will not do what was probably meant (a mirror no secret can reach, no mirrors). */
  readonly warnings: readonly string[];
}

/**
 * A config validated without reading AWS: every `ssm:`/`secretsmanager:` value checked for form and
 * listed in `references`. In `config`, such a value stands as its reference text: fit for printing
 * and for deriving IAM grants, never for verifying deliveries.
 */
export interface MirrorConfigInspection extends MirrorConfigResult {
  /** Every reference in the config, in config order, with the field it stands in. */
  readonly references: readonly ReferenceUse[];
}

export interface LoadMirrorConfigOptions extends SecretFetchers {
  /** @default fs.readFileSync */
  readonly readFile?: ReadTextFile;
}

/** The configuration text and where it came from (the variable named in parse errors). */
export interface MirrorConfigText {
  readonly text: string;
  readonly origin: 'MIRROR_CONFIG' | 'MIRROR_CONFIG_PARAMETER' | 'MIRROR_CONFIG_FILE';
}

const MAX_REPOSITORY_ID = 2_147_483_647;
const ROOT_KEYS: readonly string[] = ['webhooks', 'mirrors', 'status'];
const WEBHOOK_KEYS: readonly string[] = ['secret'];
const STATUS_KEYS: readonly string[] = ['key'];
const MIRROR_KEYS: readonly string[] = [
  'source',
  'repository_id',
  'target',
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
/** A CodeHub path segment (group, subgroup or repository name). */
const CODEHUB_SEGMENT = /^[A-Za-z0-9_.-]+$/;

type RawObject = Readonly<Record<string, unknown>>;

/** How one pass over the config reads its secret-bearing values. */
interface SecretContext {
  /** undefined: `env:NAME` is checked for form only and stands as its text (no environment to read). */
  readonly env: Environment | undefined;
  /** The value a well-formed `ssm:`/`secretsmanager:` reference stands for in this pass. */
  readonly remote: (reference: SecretReference, field: string) => string;
}

/**
 * Parses and validates configuration text against `env`. Text starting with `{` is JSON and never
 * touches `parseYaml`; any other text needs `parseYaml` (see `loadYamlParser`). `ssm:` and
 * `secretsmanager:` values need AWS, so they are rejected here: use `loadMirrorConfig`.
 * @throws ConfigError naming the offending field
 */
export function parseMirrorConfig(text: string, env: Environment, parseYaml?: YamlParser): MirrorConfigResult {
  return readConfig(parseText(text, 'MIRROR_CONFIG', parseYaml), {
    env,
    remote: (reference, field) => {
      throw new ConfigError(
        field,
        `is a reference to ${reference.text}, which parseMirrorConfig cannot read (it resolves literals and env:NAME only): load the config with loadMirrorConfig`,
      );
    },
  });
}

/**
 * Validates configuration text without reading AWS (see `MirrorConfigInspection`). With `env`,
 * `env:NAME` references must resolve as at cold start; with `env` undefined they are checked for form
 * only, for tools that run without the function's environment.
 * @throws ConfigError naming the offending field
 */
export function inspectMirrorConfig(
  text: string,
  env: Environment | undefined,
  parseYaml?: YamlParser,
  origin: MirrorConfigText['origin'] = 'MIRROR_CONFIG',
): MirrorConfigInspection {
  const references: ReferenceUse[] = [];
  const result = readConfig(parseText(text, origin, parseYaml), {
    env,
    remote: (reference, field) => {
      references.push({ field, reference });
      return reference.text;
    },
  });
  return { ...result, references: Object.freeze(references) };
}

/**
 * Loads the configuration named by the environment: `MIRROR_CONFIG` (text) wins over
 * `MIRROR_CONFIG_PARAMETER` (an SSM parameter holding the text), which wins over `MIRROR_CONFIG_FILE`
 * (a path). The YAML parser is imported only for text that is not JSON, Powertools and the AWS SDK
 * only when the parameter or a reference must be read. References are read in parallel, each once.
 * `options` may also be just the file reader, as in earlier versions.
 * @throws ConfigError naming the offending field, or the reference that cannot be read
 */
export async function loadMirrorConfig(
  env: Environment = process.env,
  options: LoadMirrorConfigOptions | ReadTextFile = {},
): Promise<MirrorConfigResult> {
  const { readFile, ...fetchers }: LoadMirrorConfigOptions = typeof options === 'function' ? { readFile: options } : options;
  const { text, origin } = await readMirrorConfigText(env, { ...fetchers, ...(readFile ? { readFile } : {}) });
  const parseYaml = looksLikeJson(text) ? undefined : await loadYamlParser();
  const data = parseText(text, origin, parseYaml);

  // First pass: validate everything and collect the references; most configs have none and stop here.
  const uses: ReferenceUse[] = [];
  const collected = readConfig(data, {
    env,
    remote: (reference, field) => {
      uses.push({ field, reference });
      return reference.text;
    },
  });
  if (uses.length === 0) return collected;

  const values = await resolveSecretReferences(uses, { ...fetchers, maxAgeSeconds: readCacheTtlSeconds(env) });
  // Second pass over the same data, with the values: validation already passed, so this only builds.
  return readConfig(data, {
    env,
    remote: (reference, field) => {
      const value = values.get(reference.text);
      if (value === undefined) throw new ConfigError(field, `refers to ${reference.text}, which was not resolved`);
      return value;
    },
  });
}

/**
 * Which variable names the configuration, by precedence: `MIRROR_CONFIG`, then
 * `MIRROR_CONFIG_PARAMETER`, then `MIRROR_CONFIG_FILE` (empty or blank counts as unset).
 */
export function mirrorConfigOrigin(env: Environment): MirrorConfigText['origin'] | undefined {
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
  throw new ConfigError(
    'MIRROR_CONFIG',
    'is not set: set MIRROR_CONFIG (JSON or YAML), MIRROR_CONFIG_PARAMETER (an SSM parameter name) or MIRROR_CONFIG_FILE (a path)',
  );
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

/** A mirror that relies on its host's `webhooks` secrets, whatever its kind: what the warnings need. */
interface HostSecretUser {
  readonly field: string;
  /** The source or wildcard pattern, as normalised. */
  readonly source: string;
}

type ReadMirror =
  | { readonly kind: 'id'; readonly mirror: MirrorTarget }
  | { readonly kind: 'path'; readonly mirror: PathMirror }
  | { readonly kind: 'wildcard'; readonly mirror: WildcardMirror };

function readConfig(data: unknown, context: SecretContext): MirrorConfigResult {
  const root = expectObject(data, 'MIRROR_CONFIG', 'must be a mapping with the keys webhooks and mirrors');
  checkKeys(root, ROOT_KEYS, '');
  const webhooks = readWebhooks(own(root, 'webhooks'), context);
  const mirrorList = own(root, 'mirrors');
  if (mirrorList === undefined) throw new ConfigError('mirrors', 'is required (write `mirrors: []` for none)');
  if (!Array.isArray(mirrorList)) {
    throw new ConfigError('mirrors', `must be a list, got ${describe(mirrorList)}`);
  }
  const items: readonly unknown[] = mirrorList;

  const mirrors: MirrorTarget[] = [];
  const pathMirrors: PathMirror[] = [];
  const wildcardMirrors: WildcardMirror[] = [];
  const hostSecretUsers: HostSecretUser[] = [];
  const warnings: string[] = [];
  const seen = new Map<string, number>();
  items.forEach((item, position) => {
    const field = `mirrors[${position}]`;
    const read = readMirror(item, field, context);
    // Same source twice is fan-out; same source into the same repository twice is a slip.
    let key: string;
    let repeated: string;
    if (read.kind === 'id') {
      key = `id ${read.mirror.source} ${read.mirror.repositoryId}`;
      repeated = 'source and repository_id';
      mirrors.push(read.mirror);
    } else if (read.kind === 'path') {
      key = `path ${read.mirror.source} ${read.mirror.target}`;
      repeated = 'source and target';
      pathMirrors.push(read.mirror);
    } else {
      key = `wildcard ${read.mirror.pattern} ${read.mirror.target}`;
      repeated = 'source and target';
      wildcardMirrors.push(read.mirror);
      if (!hasPlaceholder(read.mirror.compiledTarget)) {
        warnings.push(
          `${field} (${read.mirror.pattern}) has a target without a placeholder: every source it matches syncs the same repository`,
        );
      }
    }
    const earlier = seen.get(key);
    if (earlier !== undefined) throw new ConfigError(field, `repeats the ${repeated} of mirrors[${earlier}]`);
    seen.set(key, position);
    if (read.mirror.secrets === undefined) {
      hostSecretUsers.push({ field, source: read.kind === 'wildcard' ? read.mirror.pattern : read.mirror.source });
    }
  });

  const statusKey = readStatus(own(root, 'status'), context);

  const config: MirrorConfig = Object.freeze({
    webhooks,
    mirrors: Object.freeze(mirrors),
    pathMirrors: Object.freeze(pathMirrors),
    wildcardMirrors: Object.freeze(wildcardMirrors),
    statusKey,
  });
  return { config, warnings: Object.freeze([...collectWarnings(webhooks, items.length, hostSecretUsers), ...warnings]) };
}

function collectWarnings(
  webhooks: ReadonlyMap<string, readonly string[]>,
  mirrorCount: number,
  hostSecretUsers: readonly HostSecretUser[],
): string[] {
  const warnings: string[] = [];
  if (mirrorCount === 0) {
    warnings.push('mirrors is empty: deliveries can be verified but nothing will be synced');
  }
  const hostsUsingWebhookSecrets = new Set<string>();
  for (const { field, source } of hostSecretUsers) {
    const host = hostOf(source);
    hostsUsingWebhookSecrets.add(host);
    if (!webhooks.has(host)) {
      warnings.push(
        `${field} (${source}) has no secret: neither its own secret nor webhooks["${host}"]; ` +
          'its deliveries will be rejected',
      );
    }
  }
  for (const host of webhooks.keys()) {
    if (!hostsUsingWebhookSecrets.has(host)) {
      warnings.push(`webhooks["${host}"] is used by no mirror (none on ${host}, or each has its own secret)`);
    }
  }
  return warnings;
}

function readWebhooks(value: unknown, context: SecretContext): Map<string, readonly string[]> {
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
    webhooks.set(host, resolveSecrets(secret, `${field}.secret`, context));
  }
  return webhooks;
}

function readStatus(value: unknown, context: SecretContext): string | undefined {
  if (value === undefined) return undefined;
  const object = expectObject(value, 'status', 'must be a mapping with the key key');
  checkKeys(object, STATUS_KEYS, 'status');
  const key = own(object, 'key');
  if (key === undefined) throw new ConfigError('status.key', 'is required');
  return resolveSecret(key, 'status.key', context);
}

function readMirror(value: unknown, field: string, context: SecretContext): ReadMirror {
  const object = expectObject(value, field, 'must be a mapping with at least source and repository_id (or target)');
  checkKeys(object, MIRROR_KEYS, field);

  const sourceValue = own(object, 'source');
  if (sourceValue === undefined) throw new ConfigError(`${field}.source`, 'is required');
  const source = readSource(sourceValue, `${field}.source`);
  // readSource lets `*` through only as a whole path segment.
  const wildcard = source.includes('*');

  const idValue = own(object, 'repository_id');
  const targetValue = own(object, 'target');
  if (wildcard) {
    if (idValue !== undefined) {
      throw new ConfigError(`${field}.repository_id`, 'cannot be used with a wildcard source: set target instead, e.g. acme-mirror/{name}');
    }
    if (targetValue === undefined) throw new ConfigError(`${field}.target`, 'is required for a wildcard source, e.g. acme-mirror/{name}');
  } else {
    if (idValue !== undefined && targetValue !== undefined) {
      throw new ConfigError(`${field}.target`, 'cannot be combined with repository_id: use one or the other');
    }
    if (idValue === undefined && targetValue === undefined) {
      throw new ConfigError(`${field}.repository_id`, 'is required (or target: a CodeHub path group/name)');
    }
  }
  const repositoryId = idValue === undefined ? undefined : readRepositoryId(idValue, `${field}.repository_id`);
  const template = targetValue === undefined ? undefined : readTargetTemplate(targetValue, `${field}.target`);

  const secretValue = own(object, 'secret');
  const secrets = secretValue === undefined ? undefined : resolveSecrets(secretValue, `${field}.secret`, context);

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

  const forceFetch = forceFetchValue ?? true;
  const username = optionalSecret(object, 'username', field, context);
  const password = optionalSecret(object, 'password', field, context);
  const endpointUuid = optionalSecret(object, 'endpoint_uuid', field, context);
  // Object literals, not spreads of a shared settings object: this runs once per mirror, 100,000 times for a large config.
  if (repositoryId !== undefined) {
    return { kind: 'id', mirror: Object.freeze({ source, repositoryId, secrets, refs, forceFetch, username, password, endpointUuid }) };
  }
  if (template === undefined) throw new ConfigError(`${field}.target`, 'is required'); // excluded above
  if (wildcard) {
    const compiledPattern = Object.freeze(compileSourcePattern(source));
    const mirror: WildcardMirror = {
      pattern: source,
      host: compiledPattern.host,
      target: template.text,
      compiledPattern,
      compiledTarget: template.compiled,
      secrets,
      refs,
      forceFetch,
      username,
      password,
      endpointUuid,
    };
    return { kind: 'wildcard', mirror: Object.freeze(mirror) };
  }
  const target = expandTarget(template.compiled, pathSegmentsOf(source));
  if (!target.split('/').every((segment) => CODEHUB_SEGMENT.test(segment))) {
    throw new ConfigError(`${field}.target`, 'expands, with this source, to a path that is not a CodeHub path (letters, digits, _ . - only)');
  }
  return { kind: 'path', mirror: Object.freeze({ source, target, secrets, refs, forceFetch, username, password, endpointUuid }) };
}

function readTargetTemplate(value: unknown, field: string): { readonly text: string; readonly compiled: CompiledTargetTemplate } {
  if (typeof value !== 'string') {
    throw new ConfigError(field, `must be a CodeHub path such as acme-mirror/api or acme-mirror/{name}, got ${describe(value)}`);
  }
  const text = value.trim();
  const compiled = compileTargetTemplate(text);
  if ('problem' in compiled) throw new ConfigError(field, compiled.problem);
  return { text, compiled };
}

function readSource(value: unknown, field: string): string {
  const usage = 'must be host/path such as github.com/acme/api';
  if (typeof value !== 'string') throw new ConfigError(field, `${usage}, got ${describe(value)}`);
  const trimmed = value.trim();
  const withoutScheme = trimmed.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
  const [written = ''] = withoutScheme.split('/');
  if (written.includes('@')) {
    throw new ConfigError(field, 'must not carry credentials: put them in username and password');
  }
  if (/[\s?#\\]/.test(withoutScheme)) throw new ConfigError(field, usage);
  if (written.includes('*')) throw new ConfigError(field, 'must name its host: only path segments can be *');
  let identity: string | undefined;
  try {
    identity = normaliseConfiguredSource(trimmed);
  } catch {
    identity = undefined; // a malformed %-escape in the path
  }
  const segments = identity?.split('/') ?? [];
  if (identity === undefined || !HOST.test(hostOf(identity)) || segments.includes('')) {
    throw new ConfigError(field, `${usage} (a host and at least owner/name)`);
  }
  if (identity.includes('*')) {
    const partial = segments.find((segment) => segment.includes('*') && segment !== '*');
    if (partial !== undefined) {
      throw new ConfigError(field, 'may use * only as a whole path segment (github.com/acme/*); * matches one or more segments');
    }
    return identity;
  }
  if (segments.length < 3) throw new ConfigError(field, `${usage} (a host and at least owner/name)`);
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

function resolveSecrets(value: unknown, field: string, context: SecretContext): readonly string[] {
  if (!Array.isArray(value)) return Object.freeze([resolveSecret(value, field, context)]);
  if (value.length === 0) throw new ConfigError(field, 'must list at least one secret');
  const items: readonly unknown[] = value;
  const secrets = items.map((item, position) => resolveSecret(item, `${field}[${position}]`, context));
  return Object.freeze([...new Set(secrets)]);
}

function optionalSecret(object: RawObject, key: string, field: string, context: SecretContext): string | undefined {
  const value = own(object, key);
  return value === undefined ? undefined : resolveSecret(value, `${field}.${key}`, context);
}

/**
 * A literal; `env:NAME` replaced by that variable's value; `ssm:`/`secretsmanager:` handed to the
 * pass's `remote`. The value itself is never put in a message.
 */
function resolveSecret(value: unknown, field: string, context: SecretContext): string {
  if (typeof value !== 'string') {
    const hint = typeof value === 'number' || typeof value === 'boolean' ? ' (quote it in YAML)' : '';
    throw new ConfigError(field, `must be a string (a literal, env:NAME, ssm:/name or secretsmanager:name), got ${describe(value)}${hint}`);
  }
  if (value === '') throw new ConfigError(field, 'must not be empty');
  const reference = parseSecretReference(value, field);
  if (reference !== undefined) return context.remote(reference, field);
  if (!value.startsWith(ENV_PREFIX)) return value;
  const name = value.slice(ENV_PREFIX.length);
  if (!ENV_NAME.test(name)) {
    throw new ConfigError(field, 'must be env:NAME with NAME an environment variable name (letters, digits, _)');
  }
  if (context.env === undefined) return value;
  const resolved = context.env[name];
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
