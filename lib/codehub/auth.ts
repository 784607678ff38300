/**
 * The three ways to authenticate to CodeHub behind one small interface, so the client neither
 * knows nor cares which is configured: AK/SK signing, an IAM token obtained with a password and
 * cached for the warm container, or a static token.
 */
import { CodeHubError, ErrorCodes } from '../errors';
import { redactText } from '../observability/redact';
import { readServiceError } from './response';
import type { CodeHubAuthSettings } from './settings';
import { DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_TIMEOUT_MS } from './settings';
import { signRequest } from './sign';
import { codeHubErrorFromTransportFailure, undiciTransport, withFailureContext } from './transport';
import type { Transport } from './transport';

/** The request about to be sent, before authorization. */
export interface AuthRequest {
  readonly method: string;
  readonly url: URL;
  /** Headers it will carry (Content-Type, ...). The AK/SK signer signs all of them. */
  readonly headers: Readonly<Record<string, string>>;
  /** The exact bytes that will be sent. */
  readonly body: string | Buffer;
}

/** Header name → value. */
export type AuthHeaders = Record<string, string>;

export interface Authenticator {
  readonly kind: CodeHubAuthSettings['kind'];
  /**
   * Headers to add to `request` (sent along with `request.headers`). Rejects with `CodeHubError`
   * when credentials cannot be obtained.
   */
  authorize(request: AuthRequest): Promise<AuthHeaders>;
  /**
   * CodeHub answered 401 (not a signature failure) to a request that carried `rejected`. True when
   * the credentials can be renewed: the client then authorizes again and repeats the call once.
   * Absent when there is nothing to renew.
   */
  onUnauthorized?(rejected: Readonly<Record<string, string>>): boolean;
}

export interface AkSkAuthenticatorOptions {
  readonly accessKey: string;
  readonly secretKey: string;
  /** Sent and signed as `X-Project-Id`. */
  readonly projectId: string;
  /** Temporary credentials: sent and signed as `X-Security-Token`. */
  readonly securityToken?: string | undefined;
  /** @default Date.now */
  readonly now?: (() => number) | undefined;
}

/** Signs every request with `SDK-HMAC-SHA256` (Huawei Cloud's API signing guide). */
export function createAkSkAuthenticator(options: AkSkAuthenticatorOptions): Authenticator {
  const now = options.now ?? Date.now;
  const added: AuthHeaders = { 'X-Project-Id': options.projectId };
  if (options.securityToken !== undefined) added['X-Security-Token'] = options.securityToken;
  return {
    kind: 'aksk',
    authorize: async (request) => {
      // Signed: what the request carries plus what this adds. Sent: what this adds.
      const signature = signRequest({
        method: request.method,
        url: request.url,
        headers: { ...request.headers, ...added },
        body: request.body,
        ak: options.accessKey,
        sk: options.secretKey,
        date: now(),
      });
      return { ...added, ...signature };
    },
  };
}

/** Sends a token obtained elsewhere as `X-Auth-Token`. Nothing to renew on a 401. */
export function createStaticTokenAuthenticator(token: string): Authenticator {
  return {
    kind: 'token',
    authorize: async () => ({ 'X-Auth-Token': token }),
  };
}

export interface IamAuthenticatorOptions {
  /** IAM base URL, e.g. `https://iam.cn-north-4.myhuaweicloud.com`. */
  readonly iamEndpoint: string;
  readonly user: string;
  readonly password: string;
  /** Account (domain) name. */
  readonly domain: string;
  /** Project scope name: the region id for CodeHub. */
  readonly project: string;
  /** @default undiciTransport */
  readonly transport?: Transport | undefined;
  /** @default Date.now */
  readonly now?: (() => number) | undefined;
  /** Fetch a new token once the cached one is this close to `expires_at`. @default 300000 (5 min) */
  readonly refreshMarginMs?: number | undefined;
  /** @default DEFAULT_CONNECT_TIMEOUT_MS (lib/codehub/settings.ts) */
  readonly connectTimeoutMs?: number | undefined;
  /** @default DEFAULT_TIMEOUT_MS */
  readonly timeoutMs?: number | undefined;
}

interface IamToken {
  readonly token: string;
  readonly expiresAt: number;
}

/** Used when IAM omits or garbles `expires_at`: far inside the real 24 h, so we refresh early. */
const ASSUMED_TOKEN_LIFETIME_MS = 60 * 60 * 1000;

/**
 * How long IAM's refusal of the password (a 4xx other than 429) is answered from memory: a wrong
 * password must not cost one IAM login per delivery, and IAM locks a user after repeated failures.
 */
export const IAM_REFUSAL_CACHE_MS = 30_000;

function readExpiresAt(body: string): number | undefined {
  try {
    const parsed: unknown = JSON.parse(body);
    if (typeof parsed !== 'object' || parsed === null || !('token' in parsed)) return undefined;
    const token: unknown = parsed.token;
    if (typeof token !== 'object' || token === null || !('expires_at' in token)) return undefined;
    const expiresAt: unknown = token.expires_at;
    if (typeof expiresAt !== 'string') return undefined;
    const time = Date.parse(expiresAt);
    return Number.isNaN(time) ? undefined : time;
  } catch {
    return undefined;
  }
}

/**
 * Exchanges the password for a project-scoped token (`POST /v3/auth/tokens`). Errors are
 * CODEHUB_AUTH_FAILED (or the transport's code) and name neither the user, the account, the project
 * nor, of course, the password: the message reaches the Git host in a 502 answer.
 */
async function requestIamToken(options: IamAuthenticatorOptions, now: () => number): Promise<IamToken> {
  const url = new URL(`${options.iamEndpoint.replace(/\/+$/, '')}/v3/auth/tokens?nocatalog=true`);
  const identity = { methods: ['password'], password: { user: { name: options.user, password: options.password, domain: { name: options.domain } } } };
  let response;
  try {
    response = await (options.transport ?? undiciTransport)({
      origin: url.origin,
      path: `${url.pathname}${url.search}`,
      method: 'POST',
      headers: { 'Content-Type': 'application/json;charset=utf8' },
      body: JSON.stringify({ auth: { identity, scope: { project: { name: options.project } } } }),
      connectTimeoutMs: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    });
  } catch (error) {
    throw withFailureContext(codeHubErrorFromTransportFailure(error, `POST ${url.origin}${url.pathname}`), 'IAM token request failed');
  }
  if (response.status !== 201) {
    const { code, message } = readServiceError(response.body);
    // IAM's own words may quote the user, the account or the project.
    const serviceMessage = message === undefined ? undefined : redactText(message, [options.password, options.user, options.domain, options.project]);
    const said = `${code ? ` ${code}` : ''}${serviceMessage ? `: ${serviceMessage}` : ''}`;
    throw new CodeHubError(ErrorCodes.CODEHUB_AUTH_FAILED, `IAM refused a token for the configured user: HTTP ${response.status}${said}`, {
      status: response.status,
      serviceCode: code,
      serviceMessage,
    });
  }
  const token = response.headers['x-subject-token'];
  if (token === undefined || token === '') {
    throw new CodeHubError(ErrorCodes.CODEHUB_AUTH_FAILED, 'IAM answered 201 without an X-Subject-Token header', { status: response.status });
  }
  return { token, expiresAt: readExpiresAt(response.body) ?? now() + ASSUMED_TOKEN_LIFETIME_MS };
}

/** IAM refused the credentials themselves: asking again soon with the same ones will not help. */
function isRefusal(error: unknown): error is CodeHubError {
  return error instanceof CodeHubError && error.status !== undefined && error.status >= 400 && error.status < 500 && error.status !== 429;
}

/**
 * An IAM user's password exchanged for a token, cached for the warm container and refreshed near
 * expiry; concurrent callers share one request, and a refusal is remembered for IAM_REFUSAL_CACHE_MS.
 */
export function createIamAuthenticator(options: IamAuthenticatorOptions): Authenticator {
  const now = options.now ?? Date.now;
  const refreshMarginMs = options.refreshMarginMs ?? 5 * 60 * 1000;
  let cached: IamToken | undefined;
  let inFlight: Promise<IamToken> | undefined;
  let refused: { readonly error: CodeHubError; readonly until: number } | undefined;

  function fetchToken(): Promise<IamToken> {
    if (refused !== undefined && now() < refused.until) return Promise.reject(refused.error);
    inFlight ??= requestIamToken(options, now)
      .then(
        (token) => {
          cached = token;
          refused = undefined;
          return token;
        },
        (error: unknown) => {
          if (isRefusal(error)) refused = { error, until: now() + IAM_REFUSAL_CACHE_MS };
          throw error;
        },
      )
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  }

  return {
    kind: 'iam',
    async authorize() {
      const previous = cached;
      if (previous !== undefined && now() < previous.expiresAt - refreshMarginMs) return { 'X-Auth-Token': previous.token };
      try {
        return { 'X-Auth-Token': (await fetchToken()).token };
      } catch (error) {
        // A refresh inside the margin failed but the old token has not expired: it still works.
        if (previous !== undefined && previous === cached && now() < previous.expiresAt) return { 'X-Auth-Token': previous.token };
        throw error;
      }
    },
    onUnauthorized(rejected) {
      // Only drop the token that was rejected: a concurrent caller may already have replaced it.
      if (cached && rejected['X-Auth-Token'] === cached.token) cached = undefined;
      return true;
    },
  };
}

export interface AuthenticatorOptions {
  /** Used by the IAM token request. @default undiciTransport */
  readonly transport?: Transport | undefined;
  /** @default Date.now */
  readonly now?: (() => number) | undefined;
  /** IAM only. @default 300000 */
  readonly refreshMarginMs?: number | undefined;
  readonly connectTimeoutMs?: number | undefined;
  readonly timeoutMs?: number | undefined;
}

/** The authenticator for configured settings. */
export function createAuthenticator(settings: CodeHubAuthSettings, options: AuthenticatorOptions = {}): Authenticator {
  switch (settings.kind) {
    case 'aksk':
      return createAkSkAuthenticator({ ...settings, now: options.now });
    case 'iam':
      return createIamAuthenticator({ ...settings, ...options });
    case 'token':
      return createStaticTokenAuthenticator(settings.token);
  }
}
