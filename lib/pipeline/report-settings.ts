/**
 * The reporting worker's settings, read from the environment once per cold start. The tokens are
 * not here: they are secret-bearing config values (`report.token`), resolved with the config.
 */

import { ConfigError } from '../errors';
import { readEnvInteger } from '../ledger/confirm';

export interface ReportSettingsFromEnv {
  /** `REPORT_MAX_CALLS_PER_MINUTE`: status calls per reporter (API and token) per minute, across every container. @default 60 */
  readonly maxCallsPerMinute: number;
  /** `REPORT_MAX_ATTEMPTS`: sends of one status to a failing host (5xx, timeout) before it is dropped. @default 6 */
  readonly maxAttempts: number;
  /** `REPORT_TIMEOUT_MS`: one status request, connect to last byte. @default 5000 */
  readonly timeoutMs: number;
  /** `REPORT_TARGET_URL`: where a status links, `{push_id}` filled in (e.g. `https://bridge.example.com/pushes/{push_id}`). @default no link */
  readonly targetUrl?: string | undefined;
  /** How long a rejected token stops its reporter, unless the token changes first. */
  readonly rejectForSeconds: number;
}

export const DEFAULT_REPORT_SETTINGS: ReportSettingsFromEnv = Object.freeze({
  // GitHub's secondary limit is 80 content-creating requests a minute per user; this leaves room for the user's own.
  maxCallsPerMinute: 60,
  maxAttempts: 6,
  timeoutMs: 5000,
  rejectForSeconds: 86_400,
});

type Env = Readonly<Record<string, string | undefined>>;

/** @throws ConfigError naming the variable at fault */
export function reportSettingsFromEnv(env: Env): ReportSettingsFromEnv {
  const targetUrl = env['REPORT_TARGET_URL']?.trim();
  if (targetUrl !== undefined && targetUrl !== '' && !/^https?:\/\/[^\s/?#@]+(?:[/?#]|$)/.test(targetUrl)) {
    throw new ConfigError('REPORT_TARGET_URL', 'must be an http(s) URL such as https://bridge.example.com/pushes/{push_id}');
  }
  return {
    maxCallsPerMinute: readEnvInteger(env, 'REPORT_MAX_CALLS_PER_MINUTE', 100_000) ?? DEFAULT_REPORT_SETTINGS.maxCallsPerMinute,
    maxAttempts: readEnvInteger(env, 'REPORT_MAX_ATTEMPTS', 100) ?? DEFAULT_REPORT_SETTINGS.maxAttempts,
    timeoutMs: readEnvInteger(env, 'REPORT_TIMEOUT_MS', 60_000) ?? DEFAULT_REPORT_SETTINGS.timeoutMs,
    ...(targetUrl === undefined || targetUrl === '' ? {} : { targetUrl }),
    rejectForSeconds: DEFAULT_REPORT_SETTINGS.rejectForSeconds,
  };
}
