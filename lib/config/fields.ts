/**
 * Reading raw config data field by field: kinds, own keys, allow-lists, and the collection of every
 * problem found. A field reader throws a ConfigError for its own field; the reader of the whole
 * records it with `ConfigProblems.attempt` and goes on, so one run names every problem.
 */

import { ConfigError, type ConfigProblem } from '../errors';

export type RawObject = Readonly<Record<string, unknown>>;

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** The problems of one pass over a config, in the order found. */
export class ConfigProblems {
  readonly #problems: ConfigProblem[] = [];

  get count(): number {
    return this.#problems.length;
  }

  add(field: string, message: string): void {
    this.#problems.push({ field, message });
  }

  /** Runs `read`; a ConfigError it throws is recorded, with all its problems, and undefined returned. */
  attempt<T>(read: () => T): T | undefined {
    try {
      return read();
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      this.#problems.push(...error.problems);
      return undefined;
    }
  }

  /** @throws ConfigError listing every problem recorded, when there is one */
  throwIfAny(): void {
    if (this.#problems.length > 0) throw ConfigError.of(this.#problems);
  }
}

/** The value as a plain mapping. @throws ConfigError naming `field`, with `usage`, for anything else */
export function expectObject(value: unknown, field: string, usage: string): RawObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigError(field, `${usage}, got ${describe(value)}`);
  }
  const prototype: unknown = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) throw new ConfigError(field, usage);
  return value as RawObject;
}

/** Records each own key not in `allowed`: `__proto__` or `constructor` is just another unknown key. */
export function checkKeys(object: RawObject, allowed: readonly string[], field: string, problems: ConfigProblems): void {
  for (const key of Object.keys(object)) {
    if (!allowed.includes(key)) problems.add(childField(field, key), `unknown key; allowed here: ${allowed.join(', ')}`);
  }
}

/** Own properties only: a key that came from `Object.prototype` was not in the config. */
export function own(object: RawObject, key: string): unknown {
  return Object.hasOwn(object, key) ? object[key] : undefined;
}

export function childField(parent: string, key: string): string {
  if (!IDENTIFIER.test(key)) return `${parent}[${JSON.stringify(key)}]`;
  return parent === '' ? key : `${parent}.${key}`;
}

/** The kind of a value, for messages that must not quote it. */
export function describe(value: unknown): string {
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
