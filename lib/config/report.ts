/**
 * A `report:` value, on a `webhooks` host or on a mirror: how commit statuses are reported to the
 * upstream Git host. `token` is secret-bearing like `secret`; `api_url` points the reporter at a
 * host's API (GitHub Enterprise, a self-hosted Gitea, a local stub). The token travels in a header,
 * so the URL may carry nothing that looks like a credential or could be logged with one.
 */

import { ConfigError } from '../errors';
import { checkKeys, describe, expectObject, own, type ConfigProblems } from './fields';
import type { ReportSettings } from './types';
import { resolveSecret, type SecretContext } from './values';

const REPORT_KEYS: readonly string[] = ['token', 'api_url'];
const API_URL_USAGE = 'must be an http or https URL such as https://git.example.com/api/v1';

/**
 * Reads the `report` at `field`; undefined when it has a problem (each one recorded in `problems`,
 * so a bad token and a bad URL are both reported).
 */
export function readReport(value: unknown, field: string, context: SecretContext, problems: ConfigProblems): ReportSettings | undefined {
  const before = problems.count;
  const object = problems.attempt(() => expectObject(value, field, 'must be a mapping with the key token (and optionally api_url)'));
  if (object === undefined) return undefined;
  checkKeys(object, REPORT_KEYS, field, problems);
  const tokenValue = own(object, 'token');
  if (tokenValue === undefined) problems.add(`${field}.token`, "is required: the token the Git host's status API is called with");
  const token = tokenValue === undefined ? undefined : problems.attempt(() => resolveSecret(tokenValue, `${field}.token`, context));
  const urlValue = own(object, 'api_url');
  const apiUrl = urlValue === undefined ? undefined : problems.attempt(() => readApiUrl(urlValue, `${field}.api_url`));
  if (problems.count > before || token === undefined) return undefined;
  return Object.freeze({ token, apiUrl });
}

/** The URL as the WHATWG parser writes it (host lower-cased, default port dropped), without trailing `/`. */
function readApiUrl(value: unknown, field: string): string {
  if (typeof value !== 'string') throw new ConfigError(field, `${API_URL_USAGE}, got ${describe(value)}`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(field, `${API_URL_USAGE}: it is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(field, `${API_URL_USAGE}: it has another scheme`);
  if (url.username !== '' || url.password !== '') {
    throw new ConfigError(field, 'must not carry credentials (user:password@): the token goes in report.token');
  }
  // The raw text too: the parser drops an empty `?` or `#`, which still says something was meant there.
  if (url.search !== '' || value.includes('?')) throw new ConfigError(field, 'must not have a query (?…): paths are added to it');
  if (url.hash !== '' || value.includes('#')) throw new ConfigError(field, 'must not have a fragment (#…)');
  let text = url.href;
  while (text.endsWith('/')) text = text.slice(0, -1);
  return text;
}
