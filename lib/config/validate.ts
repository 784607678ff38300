/**
 * The schema of the mirror configuration: `webhooks` (each host's secrets and reporting), `mirrors`,
 * `status`, their fields and types, no unknown keys, no repeated mirror. Every problem in the data is
 * collected and reported at once (`ConfigError.problems`); messages describe values, never quote them.
 */

import { ConfigError } from '../errors';
import { hostOf, normaliseConfiguredSource } from '../providers/identity';
import { checkKeys, ConfigProblems, describe, expectObject, own } from './fields';
import { HOST, readMirror } from './mirror';
import { hasPlaceholder } from './patterns';
import { readReport } from './report';
import type { MirrorConfig, MirrorTarget, PathMirror, ReportSettings, WildcardMirror } from './types';
import { resolveSecret, resolveSecrets, type SecretContext } from './values';

export interface MirrorConfigResult {
  readonly config: MirrorConfig;
  /** Things that load but will not do what was probably meant (a mirror no secret can reach, no mirrors). */
  readonly warnings: readonly string[];
}

const ROOT_KEYS: readonly string[] = ['webhooks', 'mirrors', 'status'];
const WEBHOOK_KEYS: readonly string[] = ['secret', 'report'];
const STATUS_KEYS: readonly string[] = ['key'];

/** What `webhooks` holds, per host: the secrets deliveries are signed with, and the reporting of those that have one. */
interface Webhooks {
  readonly secrets: Map<string, readonly string[]>;
  readonly reports: Map<string, ReportSettings>;
}

/** A mirror that relies on its host's `webhooks` secrets, whatever its kind: what the warnings need. */
interface HostSecretUser {
  readonly field: string;
  /** The source or wildcard pattern, as normalised. */
  readonly source: string;
}

/**
 * Validates parsed config data and builds the config, reading secret-bearing values through `context`.
 * @throws ConfigError listing every problem found
 */
export function readConfig(data: unknown, context: SecretContext): MirrorConfigResult {
  const root = expectObject(data, 'MIRROR_CONFIG', 'must be a mapping with the keys webhooks and mirrors');
  const problems = new ConfigProblems();
  checkKeys(root, ROOT_KEYS, '', problems);
  const { secrets: webhooks, reports } = readWebhooks(own(root, 'webhooks'), context, problems);
  const mirrorList = own(root, 'mirrors');
  let items: readonly unknown[] = [];
  if (mirrorList === undefined) problems.add('mirrors', 'is required (write `mirrors: []` for none)');
  else if (!Array.isArray(mirrorList)) problems.add('mirrors', `must be a list, got ${describe(mirrorList)}`);
  else items = mirrorList;

  const mirrors: MirrorTarget[] = [];
  const pathMirrors: PathMirror[] = [];
  const wildcardMirrors: WildcardMirror[] = [];
  const hostSecretUsers: HostSecretUser[] = [];
  const warnings: string[] = [];
  const seen = new Map<string, number>();
  items.forEach((item, position) => {
    const field = `mirrors[${position}]`;
    const read = readMirror(item, field, context, problems);
    if (read === undefined) return;
    let key: string;
    let repeated: string;
    if (read.kind === 'id') {
      key = `id ${read.mirror.repositoryId} ${read.mirror.source}`;
      repeated = 'source and repository_id';
      mirrors.push(read.mirror);
    } else if (read.kind === 'path') {
      key = `path ${read.mirror.target} ${read.mirror.source}`;
      repeated = 'source and target';
      pathMirrors.push(read.mirror);
    } else {
      key = `wildcard ${read.mirror.target} ${read.mirror.pattern}`;
      repeated = 'source and target';
      wildcardMirrors.push(read.mirror);
      if (!hasPlaceholder(read.mirror.compiledTarget)) {
        warnings.push(`${field} (${read.mirror.pattern}) has a target without a placeholder: every source it matches syncs the same repository`);
      }
    }
    const earlier = seen.get(key);
    if (earlier !== undefined) problems.add(field, `repeats the ${repeated} of mirrors[${earlier}]`);
    else seen.set(key, position);
    if (read.mirror.secrets === undefined) {
      hostSecretUsers.push({ field, source: read.kind === 'wildcard' ? read.mirror.pattern : read.mirror.source });
    }
  });

  const statusKey = readStatus(own(root, 'status'), context, problems);
  problems.throwIfAny();

  const config: MirrorConfig = Object.freeze({
    webhooks,
    mirrors: Object.freeze(mirrors),
    pathMirrors: Object.freeze(pathMirrors),
    wildcardMirrors: Object.freeze(wildcardMirrors),
    statusKey,
    reports,
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
      warnings.push(`${field} (${source}) has no secret: neither its own secret nor webhooks["${host}"]; its deliveries will be rejected`);
    }
  }
  for (const host of webhooks.keys()) {
    if (!hostsUsingWebhookSecrets.has(host)) {
      warnings.push(`webhooks["${host}"] is used by no mirror (none on ${host}, or each has its own secret)`);
    }
  }
  return warnings;
}

function readWebhooks(value: unknown, context: SecretContext, problems: ConfigProblems): Webhooks {
  const webhooks: Webhooks = { secrets: new Map(), reports: new Map() };
  if (value === undefined) return webhooks;
  const object = problems.attempt(() => expectObject(value, 'webhooks', 'must be a mapping of host to { secret, report }'));
  if (object === undefined) return webhooks;
  const fieldOfHost = new Map<string, string>();
  for (const key of Object.keys(object)) {
    const field = `webhooks[${JSON.stringify(key)}]`;
    const host = normaliseHost(key);
    if (host === undefined) {
      problems.add(field, 'must be a host name such as github.com or git.example.com:8443 (no scheme, no path)');
      continue;
    }
    const earlier = fieldOfHost.get(host);
    if (earlier !== undefined) {
      problems.add(field, `is the same host as ${earlier} (host names are case-insensitive, default ports dropped)`);
      continue;
    }
    fieldOfHost.set(host, field);
    const { secrets, report } = readWebhook(own(object, key), field, context, problems);
    if (secrets !== undefined) webhooks.secrets.set(host, secrets);
    if (report !== undefined) webhooks.reports.set(host, report);
  }
  return webhooks;
}

/** One `webhooks[host]`; a part with a problem (recorded) is undefined, so the other is still checked. */
function readWebhook(
  value: unknown,
  field: string,
  context: SecretContext,
  problems: ConfigProblems,
): { readonly secrets?: readonly string[] | undefined; readonly report?: ReportSettings | undefined } {
  const entry = problems.attempt(() => expectObject(value, field, 'must be a mapping with the key secret (and optionally report)'));
  if (entry === undefined) return {};
  checkKeys(entry, WEBHOOK_KEYS, field, problems);
  const secret = own(entry, 'secret');
  if (secret === undefined) problems.add(`${field}.secret`, 'is required');
  const secrets = secret === undefined ? undefined : problems.attempt(() => resolveSecrets(secret, `${field}.secret`, context));
  const report = own(entry, 'report');
  return { secrets, report: report === undefined ? undefined : readReport(report, `${field}.report`, context, problems) };
}

function readStatus(value: unknown, context: SecretContext, problems: ConfigProblems): string | undefined {
  if (value === undefined) return undefined;
  return problems.attempt(() => {
    const object = expectObject(value, 'status', 'must be a mapping with the key key');
    checkKeys(object, STATUS_KEYS, 'status', problems);
    const key = own(object, 'key');
    if (key === undefined) throw new ConfigError('status.key', 'is required');
    return resolveSecret(key, 'status.key', context);
  });
}

/** A `webhooks` key as the host part of an identity, or undefined when it is no host. */
function normaliseHost(key: string): string | undefined {
  const trimmed = key.trim();
  if (trimmed === '' || /[\s/@?#\\]/.test(trimmed)) return undefined;
  const identity = normaliseConfiguredSource(`${trimmed}/x`);
  if (identity === undefined) return undefined;
  const host = hostOf(identity);
  return HOST.test(host) ? host : undefined;
}
