/**
 * Loads the mirror configuration once per cold start: the text from where the environment says
 * (lib/config/sources.ts), parsed as JSON or YAML, validated (lib/config/validate.ts), with its
 * `env:`, `ssm:` and `secretsmanager:` values resolved. Validation is strict and reports every
 * problem at once, so a bad config fails at cold start instead of half-working.
 *
 * `parseMirrorConfig` stays synchronous and pure for literals and `env:`; `loadMirrorConfig` also
 * reads the AWS references, all in parallel, importing the AWS SDK only when there is one to read;
 * `inspectMirrorConfig` reads nothing and lists what it could not check.
 */

import { ConfigError } from '../errors';
import { resolveSecretReferences, readCacheTtlSeconds, type Environment, type ReferenceUse, type SecretFetchers } from './secrets';
import { loadYamlParser, looksLikeJson, parseConfigText, readMirrorConfigText, type MirrorConfigText, type ReadTextFile } from './sources';
import { readConfig, type MirrorConfigResult } from './validate';
import { requireVariable, type SecretContext } from './values';
import type { YamlParser } from './yaml';

export type { Environment } from './secrets';
export {
  loadYamlParser,
  mirrorConfigOrigin,
  readMirrorConfigText,
  type MirrorConfigOrigin,
  type MirrorConfigText,
  type ReadTextFile,
} from './sources';
export type { MirrorConfigResult } from './validate';
export type { YamlParser } from './yaml';

/** An `env:NAME` the inspecting environment does not hold (unset or empty), with the field it stands in. */
export interface VariableUse {
  readonly field: string;
  readonly name: string;
  readonly state: 'unset' | 'empty';
}

/**
 * A config validated without reading AWS or requiring the function's environment: in `config`, a
 * reference or a variable not at hand stands as its text (`ssm:/x`, `env:NAME`): fit for printing
 * and for deriving IAM grants, never for verifying deliveries.
 */
export interface MirrorConfigInspection extends MirrorConfigResult {
  /** Every `ssm:`/`secretsmanager:` reference, in config order, with the field it stands in. */
  readonly references: readonly ReferenceUse[];
  /** Every `env:NAME` the environment given does not hold, in config order. */
  readonly unresolvedVariables: readonly VariableUse[];
}

export interface LoadMirrorConfigOptions extends SecretFetchers {
  /** @default fs.readFileSync */
  readonly readFile?: ReadTextFile;
}

/**
 * Parses and validates configuration text against `env`. Text starting with `{` is JSON and never
 * touches `parseYaml`; any other text needs `parseYaml` (see `loadYamlParser`). `ssm:` and
 * `secretsmanager:` values need AWS, so they are rejected here: use `loadMirrorConfig`.
 * @throws ConfigError listing every problem
 */
export function parseMirrorConfig(text: string, env: Environment, parseYaml?: YamlParser): MirrorConfigResult {
  return readConfig(parseConfigText(text, 'MIRROR_CONFIG', parseYaml), {
    variable: (name, field) => requireVariable(env, name, field),
    remote: (reference, field) => {
      throw new ConfigError(
        field,
        `is a reference to ${reference.text}, which parseMirrorConfig cannot read (it resolves literals and env:NAME only): load the config with loadMirrorConfig`,
      );
    },
  });
}

/**
 * Validates configuration text without reading AWS (see `MirrorConfigInspection`). `env:NAME`
 * references that `env` holds are used as at cold start; the others are listed in
 * `unresolvedVariables` (all of them when `env` is undefined), for tools that run without the
 * function's environment.
 * @throws ConfigError listing every problem that does not depend on what is not at hand
 */
export function inspectMirrorConfig(
  text: string,
  env: Environment | undefined,
  parseYaml?: YamlParser,
  origin: MirrorConfigText['origin'] = 'MIRROR_CONFIG',
): MirrorConfigInspection {
  const references: ReferenceUse[] = [];
  const unresolvedVariables: VariableUse[] = [];
  const result = readConfig(parseConfigText(text, origin, parseYaml), {
    variable: (name, field) => {
      const value = env?.[name];
      if (value !== undefined && value !== '') return value;
      unresolvedVariables.push({ field, name, state: value === undefined ? 'unset' : 'empty' });
      return `env:${name}`;
    },
    remote: (reference, field) => {
      references.push({ field, reference });
      return reference.text;
    },
  });
  return { ...result, references: Object.freeze(references), unresolvedVariables: Object.freeze(unresolvedVariables) };
}

/**
 * Loads the configuration named by the environment: `MIRROR_CONFIG` (text) wins over
 * `MIRROR_CONFIG_PARAMETER` (an SSM parameter holding the text), which wins over `MIRROR_CONFIG_FILE`
 * (a path). The YAML parser is imported only for text that is not JSON, Powertools and the AWS SDK
 * only when the parameter or a reference must be read. References are read in parallel, each once,
 * and only once the rest of the config is valid. `options` may also be just the file reader.
 * @throws ConfigError listing every problem, or every reference that cannot be read
 */
export async function loadMirrorConfig(
  env: Environment = process.env,
  options: LoadMirrorConfigOptions | ReadTextFile = {},
): Promise<MirrorConfigResult> {
  const { readFile, ...fetchers }: LoadMirrorConfigOptions = typeof options === 'function' ? { readFile: options } : options;
  const { text, origin } = await readMirrorConfigText(env, { ...fetchers, ...(readFile ? { readFile } : {}) });
  const parseYaml = looksLikeJson(text) ? undefined : await loadYamlParser();
  const data = parseConfigText(text, origin, parseYaml);
  const variable: SecretContext['variable'] = (name, field) => requireVariable(env, name, field);

  // First pass: validate everything and collect the references; most configs have none and stop here.
  const uses: ReferenceUse[] = [];
  const collected = readConfig(data, {
    variable,
    remote: (reference, field) => {
      uses.push({ field, reference });
      return reference.text;
    },
  });
  if (uses.length === 0) return collected;

  const values = await resolveSecretReferences(uses, { ...fetchers, maxAgeSeconds: readCacheTtlSeconds(env) });
  // Second pass over the same data, with the values: validation already passed, so this only builds.
  return readConfig(data, {
    variable,
    remote: (reference, field) => {
      const value = values.get(reference.text);
      if (value === undefined) throw new ConfigError(field, `refers to ${reference.text}, which was not resolved`);
      return value;
    },
  });
}
