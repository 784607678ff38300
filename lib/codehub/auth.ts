/**
 * The three ways to authenticate to CodeHub behind one small interface, so the client neither
 * knows nor cares which is configured: AK/SK signing, an IAM token obtained with a password and
 * cached for the warm container, or a static token.
 */
import { CodeHubError, ErrorCodes } from '../errors';
import { readServiceError, redactText } from './client';
import type { CodeHubAuthSettings } from './settings';
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
   * Headers to add to `request` (sent along with `request.headers`): at once when the credentials
   * are at hand (a signature, a static or cached token), a promise only while a token is being
   * fetched. Throws or rejects with `CodeHubError` when credentials cannot be obtained.
   */
  authorize(request: AuthRequest): AuthHeaders | Promise<AuthHeaders>;
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
  readonly now?: () => number;
}

/** Signs every request with `SDK-HMAC-SHA256` (docs/codehub-api.md). */
export function createAkSkAuthenticator(options: AkSkAuthenticatorOptions): Authenticator {
  const now = options.now ?? Date.now;
  return {
    kind: 'aksk',
    authorize(request) {
      // Signed: what the request carries plus what this adds. Sent: what this adds.
      const signed: Record<string, string> = Object.assign({}, request.headers);
      signed['X-Project-Id'] = options.projectId;
      if (options.securityToken !== undefined) signed['X-Security-Token'] = options.securityToken;
      const signature = signRequest({
        method: request.method,
        url: request.url,
        headers: signed,
        body: request.body,
        ak: options.accessKey,
        sk: options.secretKey,
        date: now(),
      });
      const added: Record<string, string> = { 'X-Project-Id': options.projectId, 'X-Sdk-Date': signature['X-Sdk-Date'], Authorization: signature.Authorization };
      if (options.securityToken !== undefined) added['X-Security-Token'] = options.securityToken;
      return added;
    },
  };
}

/** Sends a token obtained elsewhere as `X-Auth-Token`. Nothing to renew on a 401. */
export function createStaticTokenAuthenticator(token: string): Authenticator {
  return {
    kind: 'token',
    authorize: () => ({ 'X-Auth-Token': token }),
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
  readonly transport?: Transport;
  /** @default Date.now */
  readonly now?: () => number;
  /** Fetch a new token once the cached one is this close to `expires_at`. @default 300000 (5 min) */
  readonly refreshMarginMs?: number;
  /** @default 2000 */
  readonly connectTimeoutMs?: number;
  /** @default 5000 */
  readonly timeoutMs?: number;
}

interface IamToken {
  readonly token: string;
  readonly expiresAt: number;
}

/** Used when IAM omits or garbles `expires_at`: far inside the real 24 h, so we refresh early. */
const ASSUMED_TOKEN_LIFETIME_MS = 60 * 60 * 1000;

/**
 * Exchanges an IAM user's password for a project-scoped token (`POST /v3/auth/tokens`), caches it
 * for the warm container, refreshes it near expiry, and shares one in-flight request between
 * concurrent callers. IAM failures are CODEHUB_AUTH_FAILED with IAM's message, never the password.
 */
export function createIamAuthenticator(options: IamAuthenticatorOptions): Authenticator {
  const now = options.now ?? Date.now;
  const transport = options.transport ?? undiciTransport;
  const refreshMarginMs = options.refreshMarginMs ?? 5 * 60 * 1000;
  const url = new URL(`${options.iamEndpoint.replace(/\/+$/, '')}/v3/auth/tokens?nocatalog=true`);
  const target = `POST ${url.origin}${url.pathname}`;
  let cached: IamToken | undefined;
  let inFlight: Promise<IamToken> | undefined;

  const scrub = (text: string): string => redactText(text, [options.password]);

  async function requestToken(): Promise<IamToken> {
    const body = JSON.stringify({
      auth: {
        identity: {
          methods: ['password'],
          password: { user: { name: options.user, password: options.password, domain: { name: options.domain } } },
        },
        scope: { project: { name: options.project } },
      },
    });
    let response;
    try {
      response = await transport({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: 'POST',
        headers: { 'Content-Type': 'application/json;charset=utf8' },
        body,
        connectTimeout: options.connectTimeoutMs ?? 2000,
        timeoutMs: options.timeoutMs ?? 5000,
      });
    } catch (error) {
      throw withFailureContext(codeHubErrorFromTransportFailure(error, target), 'IAM token request failed');
    }
    const who = `IAM user "${options.user}" of account "${options.domain}" (project ${options.project})`;
    if (response.status !== 201) {
      const { code, message } = readServiceError(response.body);
      const serviceMessage = message === undefined ? undefined : scrub(message);
      throw new CodeHubError(
        ErrorCodes.CODEHUB_AUTH_FAILED,
        `IAM refused a token for ${who}: HTTP ${response.status}${code ? ` ${code}` : ''}${serviceMessage ? `: ${serviceMessage}` : ''}`,
        { status: response.status, serviceCode: code, serviceMessage },
      );
    }
    const token = response.headers['x-subject-token'];
    if (token === undefined || token === '') {
      throw new CodeHubError(ErrorCodes.CODEHUB_AUTH_FAILED, `IAM answered 201 for ${who} without an X-Subject-Token header`, {
        status: response.status,
      });
    }
    return { token, expiresAt: readExpiresAt(response.body) ?? now() + ASSUMED_TOKEN_LIFETIME_MS };
  }

  function isFresh(token: IamToken | undefined): token is IamToken {
    return token !== undefined && now() < token.expiresAt - refreshMarginMs;
  }

  function freshToken(): Promise<IamToken> {
    if (isFresh(cached)) return Promise.resolve(cached);
    inFlight ??= requestToken()
      .then((token) => {
        cached = token;
        return token;
      })
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  }

  async function refreshedAuthorization(): Promise<AuthHeaders> {
    const previous = cached;
    try {
      const { token } = await freshToken();
      return { 'X-Auth-Token': token };
    } catch (error) {
      // A refresh inside the margin failed but the old token has not expired: it still works.
      if (previous && previous === cached && now() < previous.expiresAt) return { 'X-Auth-Token': previous.token };
      throw error;
    }
  }

  return {
    kind: 'iam',
    authorize() {
      // The warm path: a cached token needs no promise.
      return isFresh(cached) ? { 'X-Auth-Token': cached.token } : refreshedAuthorization();
    },
    onUnauthorized(rejected) {
      // Only drop the token that was rejected: a concurrent caller may already have replaced it.
      if (cached && rejected['X-Auth-Token'] === cached.token) cached = undefined;
      return true;
    },
  };
}

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

export interface AuthenticatorOptions {
  /** Used by the IAM token request. @default undiciTransport */
  readonly transport?: Transport;
  /** @default Date.now */
  readonly now?: () => number;
  /** IAM only. @default 300000 */
  readonly refreshMarginMs?: number;
  readonly connectTimeoutMs?: number;
  readonly timeoutMs?: number;
}

/** The authenticator for configured settings. */
export function createAuthenticator(settings: CodeHubAuthSettings, options: AuthenticatorOptions = {}): Authenticator {
  switch (settings.kind) {
    case 'aksk':
      return createAkSkAuthenticator({ ...settings, ...(options.now ? { now: options.now } : {}) });
    case 'iam':
      return createIamAuthenticator({ ...settings, ...options });
    case 'token':
      return createStaticTokenAuthenticator(settings.token);
  }
}
