/**
 * CodeHub settings from the environment, read once per cold start. Every problem is a
 * `ConfigError` naming the variable(s) to fix; no message ever echoes a secret.
 *
 * | variable | meaning |
 * |---|---|
 * | `CODEHUB_ENDPOINT` | full base URL (private endpoint, emulator); wins over the region table |
 * | `CODEHUB_REGION` | region id, e.g. `cn-north-4`: CodeHub endpoint, IAM endpoint and IAM project scope |
 * | `CODEHUB_AK` `CODEHUB_SK` `CODEHUB_PROJECT_ID` [`CODEHUB_SECURITY_TOKEN`] | AK/SK signing (first choice) |
 * | `CODEHUB_IAM_USER` `CODEHUB_IAM_PASSWORD` `CODEHUB_IAM_DOMAIN` [`CODEHUB_IAM_ENDPOINT`] [`CODEHUB_IAM_PROJECT`] | IAM password → token |
 * | `CODEHUB_TOKEN` | a static IAM token (last choice) |
 * | `CODEHUB_CONNECT_TIMEOUT_MS` | TCP+TLS connect timeout, default 2000 |
 * | `CODEHUB_TIMEOUT_MS` | wait for response headers, and between body chunks, default 5000 |
 */
import { ConfigError } from '../errors';
import { codehubEndpointForRegion, iamEndpointForRegion } from './endpoints';

/** How the bridge proves itself to CodeHub. Tagged by `kind`. */
export type CodeHubAuthSettings =
  | {
      /** Every request signed with `SDK-HMAC-SHA256`; no token round trip. */
      readonly kind: 'aksk';
      readonly accessKey: string;
      readonly secretKey: string;
      /** IAM project id of the region, sent (and signed) as `X-Project-Id`. */
      readonly projectId: string;
      /** For temporary credentials: sent (and signed) as `X-Security-Token`. */
      readonly securityToken: string | undefined;
    }
  | {
      /** An IAM user's password exchanged for a project-scoped token, cached while the container lives. */
      readonly kind: 'iam';
      readonly user: string;
      readonly password: string;
      /** The account (domain) name the IAM user belongs to. */
      readonly domain: string;
      /** Project scope name; CodeHub needs the region id here. */
      readonly project: string;
      /** IAM base URL, e.g. `https://iam.cn-north-4.myhuaweicloud.com`. */
      readonly iamEndpoint: string;
    }
  | {
      /** A token obtained elsewhere, sent as `X-Auth-Token`; it expires within 24 h. */
      readonly kind: 'token';
      readonly token: string;
    };

export interface CodeHubSettings {
  /** CodeHub base URL without a trailing slash; may carry a path prefix. */
  readonly endpoint: string;
  /** `CODEHUB_REGION`, when set. */
  readonly region: string | undefined;
  readonly auth: CodeHubAuthSettings;
  /** @default 2000 */
  readonly connectTimeoutMs: number;
  /** Wait for the response headers, and at most between two body chunks. @default 5000 */
  readonly timeoutMs: number;
  /**
   * Credential variables that are set but unused (a later or incomplete set). Worth a warning at
   * cold start: it is usually a leftover or a typo in the set that was meant to win.
   */
  readonly ignoredVariables: readonly string[];
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 2000;
export const DEFAULT_TIMEOUT_MS = 5000;

type Env = Readonly<Record<string, string | undefined>>;

interface CredentialSet {
  readonly label: string;
  readonly required: readonly string[];
  readonly optional: readonly string[];
}

/** In order of preference: the first complete set wins. */
const CREDENTIAL_SETS: readonly CredentialSet[] = [
  { label: 'AK/SK signing', required: ['CODEHUB_AK', 'CODEHUB_SK', 'CODEHUB_PROJECT_ID'], optional: ['CODEHUB_SECURITY_TOKEN'] },
  {
    label: 'IAM password',
    required: ['CODEHUB_IAM_USER', 'CODEHUB_IAM_PASSWORD', 'CODEHUB_IAM_DOMAIN'],
    optional: ['CODEHUB_IAM_ENDPOINT', 'CODEHUB_IAM_PROJECT'],
  },
  { label: 'static token', required: ['CODEHUB_TOKEN'], optional: [] },
];

/**
 * Reads a variable; empty or blank counts as unset. Values are trimmed (a trailing newline from a
 * secrets file would silently break a signature), except the IAM password, which may legitimately
 * begin or end with a space.
 */
function readVariable(env: Env, name: string): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  return name === 'CODEHUB_IAM_PASSWORD' ? raw : raw.trim();
}

function requireVariable(env: Env, name: string): string {
  const value = readVariable(env, name);
  if (value === undefined) throw new ConfigError(name, 'missing');
  return value;
}

function readPositiveInteger(env: Env, name: string, fallback: number): number {
  const value = readVariable(env, name);
  if (value === undefined) return fallback;
  // 2^31-1 is the largest delay a Node timer honours; beyond it the timer fires at once.
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 2_147_483_647) {
    throw new ConfigError(name, `must be a positive integer of milliseconds, got "${value}"`);
  }
  return Number(value);
}

function readBaseUrl(env: Env, name: string): string {
  const value = requireVariable(env, name);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(name, 'is not an absolute URL');
  }
  // The value is not echoed: a URL with user:password@ in it would put a secret in the log.
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigError(name, 'must be an http(s) URL');
  if (url.username !== '' || url.password !== '') throw new ConfigError(name, 'must not contain credentials');
  if (url.search !== '' || url.hash !== '') throw new ConfigError(name, 'must not have a query or fragment');
  return `${url.origin}${url.pathname}`.replace(/\/+$/, '');
}

function resolveEndpoint(env: Env, region: string | undefined): string {
  if (readVariable(env, 'CODEHUB_ENDPOINT') !== undefined) return readBaseUrl(env, 'CODEHUB_ENDPOINT');
  if (region !== undefined) return codehubEndpointForRegion(region);
  throw new ConfigError('CODEHUB_REGION', 'set CODEHUB_REGION (e.g. cn-north-4) or CODEHUB_ENDPOINT');
}

function resolveAuth(env: Env, region: string | undefined): { auth: CodeHubAuthSettings; winner: CredentialSet } {
  const winner = CREDENTIAL_SETS.find((set) => set.required.every((name) => readVariable(env, name) !== undefined));
  if (!winner) throw missingCredentials(env);
  switch (winner.label) {
    case 'AK/SK signing':
      return {
        winner,
        auth: {
          kind: 'aksk',
          accessKey: requireVariable(env, 'CODEHUB_AK'),
          secretKey: requireVariable(env, 'CODEHUB_SK'),
          projectId: requireVariable(env, 'CODEHUB_PROJECT_ID'),
          securityToken: readVariable(env, 'CODEHUB_SECURITY_TOKEN'),
        },
      };
    case 'IAM password': {
      const project = readVariable(env, 'CODEHUB_IAM_PROJECT') ?? region;
      if (project === undefined) {
        throw new ConfigError(
          'CODEHUB_REGION',
          'IAM password auth needs a project-scoped token: set CODEHUB_REGION (the project name is the region id) or CODEHUB_IAM_PROJECT',
        );
      }
      let iamEndpoint: string;
      if (readVariable(env, 'CODEHUB_IAM_ENDPOINT') !== undefined) iamEndpoint = readBaseUrl(env, 'CODEHUB_IAM_ENDPOINT');
      else if (region !== undefined) iamEndpoint = iamEndpointForRegion(region);
      else throw new ConfigError('CODEHUB_IAM_ENDPOINT', 'set CODEHUB_IAM_ENDPOINT or CODEHUB_REGION to locate IAM');
      return {
        winner,
        auth: {
          kind: 'iam',
          user: requireVariable(env, 'CODEHUB_IAM_USER'),
          password: requireVariable(env, 'CODEHUB_IAM_PASSWORD'),
          domain: requireVariable(env, 'CODEHUB_IAM_DOMAIN'),
          project,
          iamEndpoint,
        },
      };
    }
    default:
      return { winner, auth: { kind: 'token', token: requireVariable(env, 'CODEHUB_TOKEN') } };
  }
}

/** No set is complete: name what is missing from the sets that were started, or list the choices. */
function missingCredentials(env: Env): ConfigError {
  const started = CREDENTIAL_SETS.filter((set) =>
    [...set.required, ...set.optional].some((name) => readVariable(env, name) !== undefined),
  );
  if (started.length === 0) {
    return new ConfigError(
      'CODEHUB_AK|CODEHUB_IAM_USER|CODEHUB_TOKEN',
      'no CodeHub credentials: set CODEHUB_AK, CODEHUB_SK and CODEHUB_PROJECT_ID (AK/SK signing), ' +
        'or CODEHUB_IAM_USER, CODEHUB_IAM_PASSWORD and CODEHUB_IAM_DOMAIN (IAM password), or CODEHUB_TOKEN',
    );
  }
  const missing = started.flatMap((set) => set.required.filter((name) => readVariable(env, name) === undefined));
  const explanations = started.map(
    (set) =>
      `${set.label} needs ${set.required.join(', ')}; missing ${set.required
        .filter((name) => readVariable(env, name) === undefined)
        .join(', ')}`,
  );
  return new ConfigError(missing.join(', '), `incomplete CodeHub credentials: ${explanations.join('; ')}`);
}

/** Reads and validates the CodeHub settings. Throws `ConfigError` naming the variable(s) at fault. */
export function readCodeHubSettings(env: Env): CodeHubSettings {
  const region = readVariable(env, 'CODEHUB_REGION');
  const endpoint = resolveEndpoint(env, region);
  const { auth, winner } = resolveAuth(env, region);
  const ignoredVariables = CREDENTIAL_SETS.filter((set) => set !== winner)
    .flatMap((set) => [...set.required, ...set.optional])
    .filter((name) => readVariable(env, name) !== undefined);
  return {
    endpoint,
    region,
    auth,
    connectTimeoutMs: readPositiveInteger(env, 'CODEHUB_CONNECT_TIMEOUT_MS', DEFAULT_CONNECT_TIMEOUT_MS),
    timeoutMs: readPositiveInteger(env, 'CODEHUB_TIMEOUT_MS', DEFAULT_TIMEOUT_MS),
    ignoredVariables,
  };
}
