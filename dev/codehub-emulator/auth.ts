/**
 * Who may call the emulated CodeHub: AK/SK signatures checked from the raw bytes with the same
 * verifier the project's signer is tested against, IAM tokens (configured, or issued by the
 * emulated `POST /v3/auth/tokens`), and the lock APIG puts on an access key after repeated
 * signature failures.
 */
import { createHash, randomBytes } from 'node:crypto';
import { safeEqual } from '../../lib/crypto';
import { parseAuthorization, verifySignedRequest } from '../../lib/codehub/verify';
import { headerOf, isRecord, parseJsonBody } from './http';
import type { ApiRequest, Reply } from './http';

export interface IamUser {
  /** Account (domain) name. */
  readonly domain: string;
  readonly name: string;
  readonly password: string;
}

export interface EmulatorCredentials {
  /** Access key → secret key, for `SDK-HMAC-SHA256` signing. */
  readonly accessKeys?: Readonly<Record<string, string>>;
  /** Tokens accepted as `X-Auth-Token` as they are (until the "expire tokens" fault). */
  readonly tokens?: readonly string[];
  /** Users `POST /v3/auth/tokens` issues project-scoped tokens to. */
  readonly iamUsers?: readonly IamUser[];
}

/** APIG locks an access key after more than `maxFailures` signature failures in a row. */
export interface AkLockout {
  readonly maxFailures: number;
  readonly durationMs: number;
}

export type AuthMethod = 'aksk' | 'token' | 'none';

export type AuthResult =
  | { readonly ok: true; readonly method: AuthMethod }
  | {
      readonly ok: false;
      readonly method: AuthMethod;
      readonly code: string;
      readonly message: string;
      /** `apig`: the gateway's `{error_code, error_msg, request_id}`; `service`: the API's own error shape. */
      readonly by: 'apig' | 'service';
    };

export interface CredentialSummary {
  readonly accessKeys: readonly string[];
  readonly tokens: number;
  readonly iamUsers: readonly { readonly domain: string; readonly name: string }[];
}

export interface Authority {
  authenticate(request: ApiRequest): AuthResult;
  /** The emulated IAM `POST /v3/auth/tokens`. */
  issueToken(request: ApiRequest): Reply;
  /** Makes every token valid now invalid (they then answer 401 DEV.00000003). Returns how many. */
  expireTokens(): number;
  /** Accepts the configured static tokens again (after `expireTokens`). */
  restoreConfiguredTokens(): void;
  addToken(token: string): void;
  resetLockouts(): void;
  summary(): CredentialSummary;
}

export interface AuthorityOptions {
  readonly credentials: EmulatorCredentials;
  readonly now: () => number;
  readonly tokenLifetimeMs: number;
  /** `false` turns the lock off. */
  readonly akLockout: AkLockout | false;
}

const AUTH_PREFIX = 'Incorrect IAM authentication information: ';
const MAX_REMEMBERED_EXPIRED = 10_000;

/** IAM's `expires_at` format: `2019-02-13T06:52:13.855000Z`. */
function iamTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

function iamError(status: number, message: string, title: string): Reply {
  return { status, body: { error: { code: status, message, title } } };
}

function textAt(value: unknown, ...path: string[]): string | undefined {
  let current = value;
  for (const key of path) {
    if (!isRecord(current)) return undefined;
    current = current[key];
  }
  return typeof current === 'string' ? current : undefined;
}

export function createAuthority(options: AuthorityOptions): Authority {
  const { credentials, now } = options;
  const accessKeys = new Map(Object.entries(credentials.accessKeys ?? {}));
  const configuredTokens = [...(credentials.tokens ?? [])];
  /** Valid token → epoch ms it expires at. */
  const tokens = new Map<string, number>(configuredTokens.map((token) => [token, Number.POSITIVE_INFINITY]));
  /** Tokens made invalid by the fault, remembered so they answer "expired" rather than "unknown". */
  const expired = new Set<string>();
  const failures = new Map<string, { count: number; lockedUntil: number }>();

  function fail(method: AuthMethod, code: string, message: string, by: 'apig' | 'service' = 'apig'): AuthResult {
    return { ok: false, method, code, message, by };
  }

  function checkToken(token: string): AuthResult {
    const expiresAt = tokens.get(token);
    if (expiresAt !== undefined && now() < expiresAt) return { ok: true, method: 'token' };
    if (expiresAt !== undefined || expired.has(token)) return fail('token', 'DEV.00000003', '认证信息过期', 'service');
    return fail('token', 'APIG.0301', `${AUTH_PREFIX}decrypt token fail`);
  }

  function checkSignature(request: ApiRequest, authorization: string): AuthResult {
    const accessKey = parseAuthorization(authorization)?.accessKey;
    const lock = accessKey === undefined ? undefined : failures.get(accessKey);
    if (lock && now() < lock.lockedUntil) {
      return fail('aksk', 'APIG.0301', `${AUTH_PREFIX}the access key is locked after too many signature failures; try again later`);
    }
    // Sign at least host and x-sdk-date, and content-type, x-project-id and x-security-token when sent.
    const required = ['host', 'x-sdk-date', ...['content-type', 'x-project-id', 'x-security-token'].filter((name) => headerOf(request.headers, name) !== undefined)];
    const result = verifySignedRequest({
      method: request.method,
      pathAndQuery: request.pathAndQuery,
      headers: request.headers,
      body: request.body,
      lookupSecret: (ak) => accessKeys.get(ak),
      now: now(),
      requiredSignedHeaders: required,
    });
    if (result.ok) {
      failures.delete(result.accessKey);
      return { ok: true, method: 'aksk' };
    }
    if (result.reason !== 'SIGNATURE_MISMATCH' || accessKey === undefined) {
      return fail('aksk', 'APIG.0301', `${AUTH_PREFIX}${result.message}`);
    }
    if (options.akLockout !== false) {
      const count = (failures.get(accessKey)?.count ?? 0) + 1;
      const lockedUntil = count > options.akLockout.maxFailures ? now() + options.akLockout.durationMs : 0;
      failures.set(accessKey, { count, lockedUntil });
    }
    const canonical = (result.canonicalRequest ?? '').split('\n').join('|');
    return fail('aksk', 'APIG.0301', `${AUTH_PREFIX}verify aksk signature fail, canonicalRequest:${canonical}`);
  }

  function authenticate(request: ApiRequest): AuthResult {
    const authorization = headerOf(request.headers, 'authorization');
    if (authorization !== undefined && /^\s*SDK-HMAC-SHA256\s/i.test(authorization)) {
      return checkSignature(request, authorization);
    }
    const token = headerOf(request.headers, 'x-auth-token');
    if (token !== undefined && token !== '') return checkToken(token);
    if (authorization !== undefined) return fail('aksk', 'APIG.0301', `${AUTH_PREFIX}Authorization is not SDK-HMAC-SHA256`);
    return fail('none', 'APIG.0301', `${AUTH_PREFIX}no X-Auth-Token or Authorization header`);
  }

  function issueToken(request: ApiRequest): Reply {
    const parsed = parseJsonBody(request.body);
    if (!parsed.ok || !isRecord(parsed.value)) return iamError(400, 'The request body is not a valid JSON object.', 'Bad Request');
    const body = parsed.value;
    const methods = isRecord(body.auth) && isRecord(body.auth.identity) ? body.auth.identity.methods : undefined;
    if (!Array.isArray(methods) || !methods.includes('password')) {
      return iamError(400, 'auth.identity.methods must include "password".', 'Bad Request');
    }
    const name = textAt(body, 'auth', 'identity', 'password', 'user', 'name');
    const password = textAt(body, 'auth', 'identity', 'password', 'user', 'password');
    const domain = textAt(body, 'auth', 'identity', 'password', 'user', 'domain', 'name');
    if (name === undefined || password === undefined || domain === undefined) {
      return iamError(400, 'auth.identity.password.user needs name, password and domain.name.', 'Bad Request');
    }
    const user = (credentials.iamUsers ?? []).find((u) => u.name === name && u.domain === domain);
    // Compare even when the user is unknown, so both failures take about as long.
    const passwordOk = safeEqual(password, user?.password ?? `\u0000${password}`);
    if (!user || !passwordOk) return iamError(401, 'The username or password is wrong.', 'Unauthorized');
    const project = textAt(body, 'auth', 'scope', 'project', 'name') ?? textAt(body, 'auth', 'scope', 'project', 'id');
    if (project === undefined) {
      return iamError(400, 'CodeHub needs a project-scoped token: set auth.scope.project.name to the region id.', 'Bad Request');
    }
    const issuedAt = now();
    const expiresAt = issuedAt + options.tokenLifetimeMs;
    // Real tokens are several KB; a long one catches header-size limits early.
    const token = `MIIemu${randomBytes(1536).toString('base64url')}`;
    tokens.set(token, expiresAt);
    const id = (text: string): string => createHash('sha256').update(text).digest('hex').slice(0, 32);
    return {
      status: 201,
      headers: { 'X-Subject-Token': token },
      body: {
        token: {
          expires_at: iamTime(expiresAt),
          issued_at: iamTime(issuedAt),
          methods: ['password'],
          project: { name: project, id: id(`project:${project}`), domain: { name: domain, id: id(`domain:${domain}`) } },
          user: { name, id: id(`user:${domain}/${name}`), domain: { name: domain, id: id(`domain:${domain}`) } },
          roles: [{ name: 'te_admin', id: '0' }],
        },
      },
    };
  }

  return {
    authenticate,
    issueToken,
    expireTokens() {
      const count = tokens.size;
      for (const token of tokens.keys()) {
        if (expired.size < MAX_REMEMBERED_EXPIRED) expired.add(token);
      }
      tokens.clear();
      return count;
    },
    restoreConfiguredTokens() {
      for (const token of configuredTokens) {
        tokens.set(token, Number.POSITIVE_INFINITY);
        expired.delete(token);
      }
    },
    addToken(token) {
      tokens.set(token, Number.POSITIVE_INFINITY);
      expired.delete(token);
    },
    resetLockouts: () => failures.clear(),
    summary: () => ({
      accessKeys: [...accessKeys.keys()],
      tokens: tokens.size,
      iamUsers: (credentials.iamUsers ?? []).map(({ domain, name }) => ({ domain, name })),
    }),
  };
}
