/**
 * One entry of `mirrors`: its source (exact or wildcard), its CodeHub repository (by id or by
 * target path), secrets, refs, source credentials and commit-status reporting. Every problem of the
 * entry is recorded, not only the first; an entry with any problem yields nothing.
 */

import { ConfigError } from '../errors';
import { hostOf, parseConfiguredSource } from '../providers/identity';
import { checkKeys, ConfigProblems, describe, expectObject, own, type RawObject } from './fields';
import {
  compileSourcePattern,
  compileTargetTemplate,
  expandTarget,
  pathSegmentsOf,
  type CompiledTargetTemplate,
} from './patterns';
import { readReport } from './report';
import { MIRROR_BRANCHES, type MirrorBranches, type MirrorTarget, type PathMirror, type WildcardMirror } from './types';
import { resolveSecret, resolveSecrets, type SecretContext } from './values';

export type ReadMirror =
  | { readonly kind: 'id'; readonly mirror: MirrorTarget }
  | { readonly kind: 'path'; readonly mirror: PathMirror }
  | { readonly kind: 'wildcard'; readonly mirror: WildcardMirror };

const MAX_REPOSITORY_ID = 2_147_483_647;
const MIRROR_KEYS: readonly string[] = [
  'source',
  'repository_id',
  'target',
  'secret',
  'refs',
  'force_fetch',
  'branches',
  'username',
  'password',
  'endpoint_uuid',
  'report',
];
/** DNS labels or an IPv6 literal, optional port: what a normalised identity's host may be. */
export const HOST = /^(?:[a-z0-9-]+(?:\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])(?::\d+)?$/;
/** A CodeHub path segment (group, subgroup or repository name). */
const CODEHUB_SEGMENT = /^[A-Za-z0-9_.-]+$/;
const SOURCE_USAGE = 'must be host/path such as github.com/acme/api';

/** Reads `mirrors[i]`; undefined when it has a problem (each one recorded in `problems`). */
export function readMirror(value: unknown, field: string, context: SecretContext, problems: ConfigProblems): ReadMirror | undefined {
  const before = problems.count;
  const object = problems.attempt(() => expectObject(value, field, 'must be a mapping with at least source and repository_id (or target)'));
  if (object === undefined) return undefined;
  checkKeys(object, MIRROR_KEYS, field, problems);

  const source = problems.attempt(() => readSource(own(object, 'source'), `${field}.source`));
  const idValue = own(object, 'repository_id');
  const targetValue = own(object, 'target');
  checkRepositoryChoice(source?.includes('*'), idValue !== undefined, targetValue !== undefined, field, problems);
  const repositoryId = idValue === undefined ? undefined : problems.attempt(() => readRepositoryId(idValue, `${field}.repository_id`));
  const template = targetValue === undefined ? undefined : problems.attempt(() => readTargetTemplate(targetValue, `${field}.target`));

  const optional = <T>(key: string, read: (value: unknown, field: string) => T): T | undefined => {
    const raw = own(object, key);
    return raw === undefined ? undefined : problems.attempt(() => read(raw, `${field}.${key}`));
  };
  const secrets = optional('secret', (raw, at) => resolveSecrets(raw, at, context));
  const refs = optional('refs', readRefs);
  const forceFetch = optional('force_fetch', readForceFetch) ?? true;
  const branches = optional('branches', readBranches);
  checkCredentialChoice(object, field, problems);
  const readCredential = (raw: unknown, at: string): string => resolveSecret(raw, at, context);
  const username = optional('username', readCredential);
  const password = optional('password', readCredential);
  const endpointUuid = optional('endpoint_uuid', readCredential);
  const reportValue = own(object, 'report');
  const report = reportValue === undefined ? undefined : readReport(reportValue, `${field}.report`, context, problems);
  if (problems.count > before || source === undefined) return undefined;

  // Object literals, not spreads of a shared settings object: this runs once per mirror, 100,000 times for a large config.
  if (repositoryId !== undefined) {
    const mirror: MirrorTarget = { source, repositoryId, secrets, refs, forceFetch, branches, username, password, endpointUuid, report };
    return { kind: 'id', mirror: Object.freeze(mirror) };
  }
  if (template === undefined) return undefined; // checkRepositoryChoice recorded why
  if (source.includes('*')) {
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
      branches,
      username,
      password,
      endpointUuid,
      report,
    };
    return { kind: 'wildcard', mirror: Object.freeze(mirror) };
  }
  const target = expandTarget(template.compiled, pathSegmentsOf(source));
  if (!target.split('/').every((segment) => CODEHUB_SEGMENT.test(segment))) {
    problems.add(`${field}.target`, 'expands, with this source, to a path that is not a CodeHub path (letters, digits, _ . - only)');
    return undefined;
  }
  const mirror: PathMirror = { source, target, secrets, refs, forceFetch, branches, username, password, endpointUuid, report };
  return { kind: 'path', mirror: Object.freeze(mirror) };
}

/** Exactly one of repository_id and target; a wildcard source needs target. `wildcard` undefined: the source is invalid. */
function checkRepositoryChoice(wildcard: boolean | undefined, hasId: boolean, hasTarget: boolean, field: string, problems: ConfigProblems): void {
  if (wildcard === true) {
    if (hasId) problems.add(`${field}.repository_id`, 'cannot be used with a wildcard source: set target instead, e.g. acme-mirror/{name}');
    if (!hasTarget) problems.add(`${field}.target`, 'is required for a wildcard source, e.g. acme-mirror/{name}');
    return;
  }
  if (hasId && hasTarget) problems.add(`${field}.target`, 'cannot be combined with repository_id: use one or the other');
  if (!hasId && !hasTarget) problems.add(`${field}.repository_id`, 'is required (or target: a CodeHub path group/name)');
}

/** username and password go together; endpoint_uuid is the alternative to them. */
function checkCredentialChoice(object: RawObject, field: string, problems: ConfigProblems): void {
  const hasUsername = own(object, 'username') !== undefined;
  const hasPassword = own(object, 'password') !== undefined;
  if (hasUsername && !hasPassword) problems.add(`${field}.password`, 'is required when username is set');
  if (hasPassword && !hasUsername) problems.add(`${field}.username`, 'is required when password is set');
  if (hasUsername && own(object, 'endpoint_uuid') !== undefined) {
    problems.add(`${field}.endpoint_uuid`, 'cannot be combined with username and password: use one or the other');
  }
}

/** A source as its normalised identity; `*` only as whole path segments. */
export function readSource(value: unknown, field: string): string {
  if (value === undefined) throw new ConfigError(field, 'is required');
  if (typeof value !== 'string') throw new ConfigError(field, `${SOURCE_USAGE}, got ${describe(value)}`);
  const withoutScheme = value.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
  const slash = withoutScheme.indexOf('/');
  const written = slash === -1 ? withoutScheme : withoutScheme.slice(0, slash);
  if (written.includes('@')) throw new ConfigError(field, 'must not carry credentials: put them in username and password');
  if (written.includes('*')) throw new ConfigError(field, 'must name its host: only path segments can be *');
  const parsed = parseConfiguredSource(value);
  if ('problem' in parsed) throw new ConfigError(field, `${SOURCE_USAGE}: it ${parsed.problem}`);
  const { identity } = parsed;
  const segments = identity.split('/');
  if (!HOST.test(hostOf(identity)) || segments.length < 2) throw new ConfigError(field, `${SOURCE_USAGE} (a host and at least owner/name)`);
  if (identity.includes('*')) {
    if (segments.some((segment) => segment.includes('*') && segment !== '*')) {
      throw new ConfigError(field, 'may use * only as a whole path segment (github.com/acme/*); * matches one or more segments');
    }
    return identity;
  }
  if (segments.length < 3) throw new ConfigError(field, `${SOURCE_USAGE} (a host and at least owner/name)`);
  return identity;
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

function readRepositoryId(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_REPOSITORY_ID) {
    const got = typeof value !== 'number' ? describe(value) : Number.isInteger(value) ? 'an integer out of range' : 'a fraction';
    throw new ConfigError(field, `must be an integer from 1 to ${MAX_REPOSITORY_ID}, got ${got}`);
  }
  return value;
}

function readForceFetch(value: unknown, field: string): boolean {
  if (typeof value !== 'boolean') throw new ConfigError(field, `must be true or false, got ${describe(value)}`);
  return value;
}

function readBranches(value: unknown, field: string): MirrorBranches {
  const known: readonly unknown[] = MIRROR_BRANCHES;
  if (typeof value !== 'string' || !known.includes(value)) {
    throw new ConfigError(field, `must be default or all (the CodeArts mirror's sync_branch_type), got ${describe(value)}`);
  }
  return value as MirrorBranches;
}

function readRefs(value: unknown, field: string): readonly string[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new ConfigError(field, `must be a non-empty list of ref patterns such as refs/heads/main, got ${describe(value)}`);
  }
  const items: readonly unknown[] = value;
  const problems = new ConfigProblems();
  items.forEach((item, position) => {
    if (typeof item !== 'string' || !item.startsWith('refs/')) {
      problems.add(`${field}[${position}]`, `must be a string starting with refs/, got ${describe(item)}`);
    }
  });
  problems.throwIfAny();
  return Object.freeze([...(items as readonly string[])]);
}
