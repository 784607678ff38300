/**
 * Secret references: a secret-bearing value written as `ssm:/path/name` (an SSM parameter, SecureString
 * decrypted) or `secretsmanager:name` (optionally `#jsonKey`, one key of a JSON secret) is read from AWS
 * at cold start instead of living in the function's environment.
 *
 * The AWS SDK is heavy to load, so the default fetchers import Powertools (and through it the SDK)
 * only when a reference actually needs them: a config without references never loads it. Values are
 * read once per cold start, through Powertools' cache (`SECRETS_CACHE_TTL_SECONDS`, default 300), so
 * a rotated secret takes effect at the next cold start. Messages name references, never values.
 */

import { ConfigError, type ConfigProblem } from '../errors';

/** Environment variables, as `process.env` holds them. */
export type Environment = Readonly<Record<string, string | undefined>>;

/** Where a secret lives; the text as written is safe to show, it says where a secret is, not what. */
export interface SecretReference {
  readonly kind: 'ssm' | 'secretsmanager';
  /** SSM parameter name (`/bridge/github`) or Secrets Manager secret name (`bridge/hooks`). */
  readonly name: string;
  /** For `secretsmanager:name#key`: the key of the JSON object the secret holds. */
  readonly jsonKey: string | undefined;
  /** As written, e.g. `secretsmanager:bridge/hooks#github`. */
  readonly text: string;
}

/** A reference and the config field (or environment variable) it stands in. */
export interface ReferenceUse {
  readonly field: string;
  readonly reference: SecretReference;
}

export interface FetchOptions {
  /** How long Powertools may serve the value from its cache. */
  readonly maxAgeSeconds: number;
}

/** Reads an SSM parameter, decrypting a SecureString; undefined when it has no value. */
export type FetchParameter = (name: string, options: FetchOptions) => Promise<string | undefined>;

/** Reads a Secrets Manager secret: its SecretString, or its SecretBinary as bytes. */
export type FetchSecret = (name: string, options: FetchOptions) => Promise<string | Uint8Array | undefined>;

export interface SecretFetchers {
  /** @default Powertools `getParameter` with `decrypt: true`, imported on first use */
  readonly fetchParameter?: FetchParameter;
  /** @default Powertools `getSecret`, imported on first use */
  readonly fetchSecret?: FetchSecret;
}

/** The CodeHub credentials that may be references instead of values. */
export const CODEHUB_SECRET_VARIABLES = ['CODEHUB_SK', 'CODEHUB_IAM_PASSWORD', 'CODEHUB_TOKEN', 'CODEHUB_SECURITY_TOKEN'] as const;

export const DEFAULT_SECRETS_CACHE_TTL_SECONDS = 300;

const SSM_PREFIX = 'ssm:';
const SECRETS_MANAGER_PREFIX = 'secretsmanager:';
/** SSM's own rule: letters, digits and `_ . - /`; hierarchies separated by `/`, no empty level. */
const SSM_NAME = /^\/?[A-Za-z0-9_.-]+(?:\/[A-Za-z0-9_.-]+)*$/;
const SSM_NAME_MAX = 2048;
/** Secrets Manager's rule: letters, digits and `/ _ + = . @ -`, at most 512 characters. */
const SECRET_NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;

/** Whether `name` is a well-formed SSM parameter name (`/bridge/config`, or `name` at the top level). */
export function isSsmParameterName(name: string): boolean {
  return name.length <= SSM_NAME_MAX && SSM_NAME.test(name);
}

/** Whether a value is written as a reference (`ssm:` or `secretsmanager:`), well-formed or not. */
export function isSecretReference(value: string): boolean {
  return value.startsWith(SSM_PREFIX) || value.startsWith(SECRETS_MANAGER_PREFIX);
}

/**
 * Reads `value` as a reference: undefined when it is not one (a literal, or `env:NAME`).
 * @throws ConfigError naming `field` when it starts like a reference but is malformed
 */
export function parseSecretReference(value: string, field: string): SecretReference | undefined {
  if (value.startsWith(SSM_PREFIX)) {
    const name = value.slice(SSM_PREFIX.length);
    if (!isSsmParameterName(name)) {
      throw new ConfigError(field, 'must be ssm:NAME with NAME an SSM parameter name such as /bridge/github-secret');
    }
    return Object.freeze({ kind: 'ssm', name, jsonKey: undefined, text: value });
  }
  if (value.startsWith(SECRETS_MANAGER_PREFIX)) {
    const rest = value.slice(SECRETS_MANAGER_PREFIX.length);
    const hash = rest.indexOf('#');
    const name = hash === -1 ? rest : rest.slice(0, hash);
    const jsonKey = hash === -1 ? undefined : rest.slice(hash + 1);
    if (!SECRET_NAME.test(name) || jsonKey === '') {
      throw new ConfigError(
        field,
        'must be secretsmanager:NAME or secretsmanager:NAME#KEY with NAME a secret name such as bridge/webhooks (not an ARN)',
      );
    }
    return Object.freeze({ kind: 'secretsmanager', name, jsonKey, text: value });
  }
  return undefined;
}

/**
 * `SECRETS_CACHE_TTL_SECONDS`: how long a fetched value may be served from Powertools' cache.
 * @default 300
 * @throws ConfigError when it is not a whole number of seconds
 */
export function readCacheTtlSeconds(env: Environment): number {
  const raw = env['SECRETS_CACHE_TTL_SECONDS'];
  if (raw === undefined || raw.trim() === '') return DEFAULT_SECRETS_CACHE_TTL_SECONDS;
  const text = raw.trim();
  if (!/^\d{1,9}$/.test(text)) {
    throw new ConfigError('SECRETS_CACHE_TTL_SECONDS', `must be a whole number of seconds, got "${text}"`);
  }
  return Number(text);
}

/**
 * Reads every referenced value, in parallel, each distinct parameter or secret once (two keys of one
 * JSON secret cost one call). Returns reference text → value.
 * @throws ConfigError listing every field, in the order given, whose reference cannot be resolved
 */
export async function resolveSecretReferences(
  uses: readonly ReferenceUse[],
  options: SecretFetchers & FetchOptions,
): Promise<ReadonlyMap<string, string>> {
  const fetchOptions: FetchOptions = { maxAgeSeconds: options.maxAgeSeconds };
  const fetches = new Map<string, Promise<string | Uint8Array | undefined>>();
  for (const { reference } of uses) {
    const key = fetchKey(reference);
    if (fetches.has(key)) continue;
    const fetched =
      reference.kind === 'ssm'
        ? (options.fetchParameter ?? fetchParameterWithPowertools)(reference.name, fetchOptions)
        : (options.fetchSecret ?? fetchSecretWithPowertools)(reference.name, fetchOptions);
    // Settled below, in order; a rejection must not surface as unhandled while others are awaited.
    fetched.catch(() => undefined);
    fetches.set(key, fetched);
  }

  const values = new Map<string, string>();
  const failures: ConfigProblem[] = [];
  for (const { field, reference } of uses) {
    if (values.has(reference.text)) continue;
    let raw: string | Uint8Array | undefined;
    try {
      raw = await fetches.get(fetchKey(reference));
    } catch (error) {
      failures.push({ field, message: `refers to ${reference.text}, which could not be read${describeFetchError(error)}` });
      continue;
    }
    const extracted = extractValue(raw, reference);
    if ('problem' in extracted) failures.push({ field, message: `refers to ${reference.text}, which ${extracted.problem}` });
    else values.set(reference.text, extracted.value);
  }

  if (failures.length > 0) throw ConfigError.of(failures);
  return values;
}

/**
 * A copy of `env` in which the CodeHub credentials written as references (`CODEHUB_SK=secretsmanager:…`)
 * hold their values. Other variables, and credentials written as values, are left as they are.
 * @throws ConfigError naming the variable whose reference cannot be resolved
 */
export async function resolveEnvironmentSecrets(env: Environment, fetchers: SecretFetchers = {}): Promise<Environment> {
  const uses: ReferenceUse[] = [];
  for (const variable of CODEHUB_SECRET_VARIABLES) {
    const value = env[variable];
    if (value === undefined) continue;
    const reference = parseSecretReference(value.trim(), variable);
    if (reference !== undefined) uses.push({ field: variable, reference });
  }
  if (uses.length === 0) return env;
  const values = await resolveSecretReferences(uses, { ...fetchers, maxAgeSeconds: readCacheTtlSeconds(env) });
  const resolved: Record<string, string | undefined> = { ...env };
  for (const { field, reference } of uses) resolved[field] = values.get(reference.text);
  return Object.freeze(resolved);
}

function fetchKey(reference: SecretReference): string {
  return `${reference.kind}:${reference.name}`;
}

type Extracted = { readonly value: string } | { readonly problem: string };

function extractValue(raw: string | Uint8Array | undefined, reference: SecretReference): Extracted {
  if (raw === undefined) return { problem: 'has no value' };
  if (typeof raw !== 'string') return { problem: 'is a binary secret (store the value as a secret string)' };
  if (reference.jsonKey === undefined) return raw === '' ? { problem: 'is empty' } : { value: raw };
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw) as unknown;
  } catch {
    // JSON.parse's message may quote the text, which is the secret.
    return { problem: 'is not JSON, so it has no key to pick (drop the #key to use the whole value)' };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { problem: 'is not a JSON object' };
  const key = reference.jsonKey;
  const value: unknown = Object.hasOwn(parsed, key) ? (parsed as Record<string, unknown>)[key] : undefined;
  if (value === undefined) return { problem: `has no key ${JSON.stringify(key)}` };
  if (typeof value !== 'string') return { problem: `holds a non-string at key ${JSON.stringify(key)}` };
  return value === '' ? { problem: `holds an empty string at key ${JSON.stringify(key)}` } : { value };
}

/** Names that say nothing about why a read failed. */
const GENERIC_ERROR_NAMES = new Set(['Error', 'GetParameterError', 'TypeError']);

/**
 * The AWS error's name (`ParameterNotFound`, `AccessDeniedException`, …), looked for along the cause
 * chain since Powertools wraps it, as ` (Name)`, or '' when there is none. Its message is left out: it
 * may carry more than a name.
 */
export function describeFetchError(error: unknown): string {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && typeof current === 'object' && current !== null; depth += 1) {
    const { name, cause } = current as { name?: unknown; cause?: unknown };
    if (typeof name === 'string' && /^[A-Za-z]+$/.test(name) && !GENERIC_ERROR_NAMES.has(name)) {
      const hint = /AccessDenied/.test(name) ? '; the function role must grant it (serverless.yml derives the grants from the config)' : '';
      return ` (${name}${hint})`;
    }
    current = cause;
  }
  return '';
}

/** The default `FetchParameter`: Powertools' `getParameter`, decrypted, imported on first use. */
export async function fetchParameterWithPowertools(name: string, { maxAgeSeconds }: FetchOptions): Promise<string | undefined> {
  const { getParameter } = await import('@aws-lambda-powertools/parameters/ssm');
  return getParameter(name, { decrypt: true, maxAge: maxAgeSeconds });
}

/** The default `FetchSecret`: Powertools' `getSecret`, imported on first use. */
export async function fetchSecretWithPowertools(name: string, { maxAgeSeconds }: FetchOptions): Promise<string | Uint8Array | undefined> {
  const { getSecret } = await import('@aws-lambda-powertools/parameters/secrets');
  return getSecret(name, { maxAge: maxAgeSeconds });
}
