/**
 * Secret-bearing values (`secret`, `username`, `password`, `endpoint_uuid`, `status.key`) as the
 * config writes them: a literal, `env:NAME`, or an `ssm:`/`secretsmanager:` reference. What a
 * variable or a reference stands for depends on the pass (cold start, inspection), so it is asked
 * of the pass's `SecretContext`. The value itself never appears in a message.
 */

import { ConfigError } from '../errors';
import { describe } from './fields';
import { parseSecretReference, type Environment, type SecretReference } from './secrets';

/** How one pass over the config reads its secret-bearing values. */
export interface SecretContext {
  /** The value `env:NAME` stands for in this pass (NAME well-formed). */
  readonly variable: (name: string, field: string) => string;
  /** The value a well-formed `ssm:`/`secretsmanager:` reference stands for in this pass. */
  readonly remote: (reference: SecretReference, field: string) => string;
}

const ENV_PREFIX = 'env:';
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * `env:NAME` as at cold start: the variable's value.
 * @throws ConfigError naming `field` when the variable is unset or empty
 */
export function requireVariable(env: Environment, name: string, field: string): string {
  const value = env[name];
  if (value === undefined) throw new ConfigError(field, `refers to environment variable ${name}, which is not set`);
  if (value === '') throw new ConfigError(field, `refers to environment variable ${name}, which is empty`);
  return value;
}

/** One secret, or a list of them (a rotation), repeats dropped. */
export function resolveSecrets(value: unknown, field: string, context: SecretContext): readonly string[] {
  if (!Array.isArray(value)) return Object.freeze([resolveSecret(value, field, context)]);
  if (value.length === 0) throw new ConfigError(field, 'must list at least one secret');
  const items: readonly unknown[] = value;
  const failures: ConfigError[] = [];
  const secrets: string[] = [];
  items.forEach((item, position) => {
    try {
      secrets.push(resolveSecret(item, `${field}[${position}]`, context));
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      failures.push(error);
    }
  });
  if (failures.length > 0) throw ConfigError.of(failures.flatMap((failure) => failure.problems));
  return Object.freeze([...new Set(secrets)]);
}

/** A literal as it is; `env:NAME` and references as the pass's context reads them. */
export function resolveSecret(value: unknown, field: string, context: SecretContext): string {
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
  return context.variable(name, field);
}
