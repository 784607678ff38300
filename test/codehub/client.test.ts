import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  createAkSkAuthenticator,
  createIamAuthenticator,
  createStaticTokenAuthenticator,
} from '../../lib/codehub/auth';
import type { Authenticator } from '../../lib/codehub/auth';
import { createCodeHubClient } from '../../lib/codehub/client';
import type { CodeHubClient } from '../../lib/codehub/client';
import { createCodeHubFromEnv, IAM_REFUSAL_CACHE_MS } from '../../lib/codehub/index';
import { parseAuthorization, verifySignedRequest } from '../../lib/codehub/verify';
import { closeTransportPools } from '../../lib/codehub/transport';
import type { CodeHubError } from '../../lib/errors';
import type { Logger } from '../../lib/observability/log';
import { captureLogger, codeHubErrorOf } from '../support/codehub';

const AK = 'BRIDGEACCESSKEY';
const SK = 'sk-VERY-secret-0123456789';
const PROJECT_ID = '0123456789abcdef0123456789abcdef';
const SECURITY_TOKEN = 'sts-TEMPORARY-security-token';
const STATIC_TOKEN = 'static-TOKEN-value-abcdef';
const IAM_USER = 'bridge-bot';
const IAM_PASSWORD = 'iam-PASSWORD-hunter2';
const IAM_DOMAIN = 'acme-account';
const SOURCE_PASSWORD = 'source-repo-PAT-xyz';
const SECRETS = [SK, SECURITY_TOKEN, STATIC_TOKEN, IAM_PASSWORD, SOURCE_PASSWORD, Buffer.from(SOURCE_PASSWORD).toString('base64')];

interface RecordedCall {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

interface Reply {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Record<string, string>;
}

/** How the fake answers an authenticated CodeHub call; `undefined` leaves the request hanging. */
type Responder = (call: RecordedCall) => Reply | undefined;

interface FakeOptions {
  /** The verifier's clock for X-Sdk-Date; defaults to real time. */
  readonly now?: () => number;
  /** `expires_at` of issued IAM tokens, relative to `now()`. @default 24 h */
  readonly tokenLifetimeMs?: number;
  /** Delay before IAM answers, to make concurrent callers overlap. */
  readonly iamDelayMs?: number;
  readonly respond?: Responder;
}

interface FakeCodeHub {
  readonly url: string;
  readonly codehubCalls: RecordedCall[];
  readonly iamCalls: RecordedCall[];
  /** Tokens the fake accepts as `X-Auth-Token`; tests revoke by deleting. */
  readonly validTokens: Set<string>;
  respond: Responder;
  /** When set, IAM answers this instead of issuing a token. */
  iamOutage: Reply | undefined;
  close(): Promise<void>;
}

const servers: FakeCodeHub[] = [];

function sendJson(res: ServerResponse, reply: Reply): void {
  const text = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
  res.writeHead(reply.status, { 'Content-Type': 'application/json', ...reply.headers });
  res.end(text);
}

function defaultResponder(call: RecordedCall): Reply {
  if (call.method === 'POST' && /^\/v4\/repositories\/\d+\/remote-mirror$/.test(call.url)) {
    return { status: 200, body: { jid: '09a56216-cb37-494c-b314-d88dc6c9ff57' } };
  }
  if (call.method === 'GET' && /^\/v4\/repositories\/\d+\/remote-mirror$/.test(call.url)) {
    return { status: 200, body: { repository_id: 1, update_status: 'running', mirroring_enabled: true } };
  }
  return { status: 404, body: { error_code: 'CH.000404', error_msg: 'no such route in the fake' } };
}

/**
 * A loopback CodeHub + IAM: verifies AK/SK signatures with `verifySignedRequest` as APIG does
 * (answering APIG.0301 with its canonical request), accepts the tokens it issued, and serves
 * `POST /v3/auth/tokens`.
 */
async function startFakeCodeHub(options: FakeOptions = {}): Promise<FakeCodeHub> {
  const now = options.now ?? Date.now;
  const codehubCalls: RecordedCall[] = [];
  const iamCalls: RecordedCall[] = [];
  const validTokens = new Set<string>([STATIC_TOKEN]);
  let issued = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const call: RecordedCall = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      if (call.url.startsWith('/v3/auth/tokens')) {
        iamCalls.push(call);
        setTimeout(() => answerIam(call, res), options.iamDelayMs ?? 0);
        return;
      }
      codehubCalls.push(call);
      const denied = authenticate(call);
      if (denied) {
        sendJson(res, denied);
        return;
      }
      const reply = fake.respond(call);
      if (reply) sendJson(res, reply);
    });
  });

  function answerIam(call: RecordedCall, res: ServerResponse): void {
    if (fake.iamOutage) {
      sendJson(res, fake.iamOutage);
      return;
    }
    const body = JSON.parse(call.body) as {
      auth: { identity: { password: { user: { name: string; password: string; domain: { name: string } } } } };
    };
    const { user } = body.auth.identity.password;
    if (user.name !== IAM_USER || user.password !== IAM_PASSWORD || user.domain.name !== IAM_DOMAIN) {
      sendJson(res, {
        status: 401,
        body: { error: { code: 401, message: 'The username or password is wrong.', title: 'Unauthorized' } },
      });
      return;
    }
    issued += 1;
    const token = `iam-token-${issued}-${'x'.repeat(64)}`;
    validTokens.add(token);
    const expiresAt = new Date(now() + (options.tokenLifetimeMs ?? 24 * 3600 * 1000)).toISOString().replace('Z', '000Z');
    sendJson(res, {
      status: 201,
      headers: { 'X-Subject-Token': token },
      body: { token: { expires_at: expiresAt, methods: ['password'] } },
    });
  }

  function authenticate(call: RecordedCall): Reply | undefined {
    if (typeof call.headers.authorization === 'string') {
      const result = verifySignedRequest({
        method: call.method,
        pathAndQuery: call.url,
        headers: call.headers,
        body: call.body,
        lookupSecret: (accessKey) => (accessKey === AK ? SK : undefined),
        now: now(),
        requiredSignedHeaders: ['host', 'x-sdk-date', 'content-type', 'x-project-id'],
      });
      if (result.ok) return undefined;
      const detail =
        result.reason === 'SIGNATURE_MISMATCH'
          ? `verify aksk signature fail,canonicalRequest:${(result.canonicalRequest ?? '').split('\n').join('|')}`
          : result.message;
      return {
        status: 401,
        body: { error_msg: `Incorrect IAM authentication information: ${detail}`, error_code: 'APIG.0301', request_id: 'r1' },
      };
    }
    const token = call.headers['x-auth-token'];
    if (typeof token === 'string' && validTokens.has(token)) return undefined;
    return {
      status: 401,
      body: { error_msg: 'Incorrect IAM authentication information: decrypt token fail', error_code: 'APIG.0301', request_id: 'r2' },
    };
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const fake: FakeCodeHub = {
    url: `http://127.0.0.1:${port}`,
    codehubCalls,
    iamCalls,
    validTokens,
    respond: options.respond ?? defaultResponder,
    iamOutage: undefined,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  servers.push(fake);
  return fake;
}

function akSk(options: { secretKey?: string; securityToken?: string; now?: () => number } = {}): Authenticator {
  return createAkSkAuthenticator({
    accessKey: AK,
    secretKey: options.secretKey ?? SK,
    projectId: PROJECT_ID,
    ...(options.securityToken ? { securityToken: options.securityToken } : {}),
    ...(options.now ? { now: options.now } : {}),
  });
}

function iam(fake: FakeCodeHub, options: { password?: string; now?: () => number } = {}): Authenticator {
  return createIamAuthenticator({
    iamEndpoint: fake.url,
    user: IAM_USER,
    password: options.password ?? IAM_PASSWORD,
    domain: IAM_DOMAIN,
    project: 'cn-north-4',
    ...(options.now ? { now: options.now } : {}),
  });
}

function client(fake: FakeCodeHub, auth: Authenticator, extra: { logger?: Logger; timeoutMs?: number } = {}): CodeHubClient {
  return createCodeHubClient({ endpoint: fake.url, auth, ...extra });
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((fake) => fake.close()));
});

afterAll(async () => {
  await closeTransportPools();
});

describe('createCodeHubClient', () => {
  describe('authentication', () => {
    it('signs with AK/SK so that the APIG verifier accepts it, signing content-type, host, x-project-id, x-sdk-date', async () => {
      // Prepare
      const fake = await startFakeCodeHub();

      // Act
      const result = await client(fake, akSk()).startMirrorSync(2111111, { forceFetch: true });

      // Assess
      expect(result).toEqual({ jid: '09a56216-cb37-494c-b314-d88dc6c9ff57' });
      const [call] = fake.codehubCalls;
      expect(call?.url).toBe('/v4/repositories/2111111/remote-mirror');
      expect(call?.headers['content-type']).toBe('application/json');
      expect(call?.headers['x-project-id']).toBe(PROJECT_ID);
      expect(parseAuthorization(String(call?.headers.authorization))?.signedHeaders).toEqual([
        'content-type',
        'host',
        'x-project-id',
        'x-sdk-date',
      ]);
      expect(call?.body).toBe('{"force_fetch":true}');
    });

    it('sends and signs X-Security-Token for temporary credentials', async () => {
      // Prepare
      const fake = await startFakeCodeHub();

      // Act
      await client(fake, akSk({ securityToken: SECURITY_TOKEN })).startMirrorSync(7, { forceFetch: false });

      // Assess
      const [call] = fake.codehubCalls;
      expect(call?.headers['x-security-token']).toBe(SECURITY_TOKEN);
      expect(parseAuthorization(String(call?.headers.authorization))?.signedHeaders).toContain('x-security-token');
    });

    it('sends a static token as X-Auth-Token', async () => {
      // Prepare
      const fake = await startFakeCodeHub();

      // Act
      const result = await client(fake, createStaticTokenAuthenticator(STATIC_TOKEN)).startMirrorSync(7, {
        forceFetch: true,
      });

      // Assess
      expect(result.jid).toBe('09a56216-cb37-494c-b314-d88dc6c9ff57');
      expect(fake.codehubCalls[0]?.headers['x-auth-token']).toBe(STATIC_TOKEN);
      expect(fake.codehubCalls[0]?.headers.authorization).toBeUndefined();
    });

    it('obtains a project-scoped IAM token with the password identity and uses it', async () => {
      // Prepare
      const fake = await startFakeCodeHub();

      // Act
      await client(fake, iam(fake)).startMirrorSync(7, { forceFetch: true });

      // Assess
      const [tokenCall] = fake.iamCalls;
      expect(tokenCall?.method).toBe('POST');
      expect(tokenCall?.url).toBe('/v3/auth/tokens?nocatalog=true');
      expect(tokenCall?.headers['content-type']).toBe('application/json;charset=utf8');
      expect(JSON.parse(tokenCall?.body ?? '')).toEqual({
        auth: {
          identity: {
            methods: ['password'],
            password: { user: { name: IAM_USER, password: IAM_PASSWORD, domain: { name: IAM_DOMAIN } } },
          },
          scope: { project: { name: 'cn-north-4' } },
        },
      });
      expect(fake.codehubCalls[0]?.headers['x-auth-token']).toMatch(/^iam-token-1-/);
    });

    it('builds a working client from the environment', async () => {
      // Prepare
      const fake = await startFakeCodeHub();
      const env = { CODEHUB_ENDPOINT: fake.url, CODEHUB_AK: AK, CODEHUB_SK: SK, CODEHUB_PROJECT_ID: PROJECT_ID };

      const { logger, lines } = captureLogger();

      // Act
      const result = await createCodeHubFromEnv({ ...env, CODEHUB_TOKEN: STATIC_TOKEN }, { logger }).startMirrorSync(3, {
        forceFetch: true,
      });

      // Assess
      expect(result.jid).toBe('09a56216-cb37-494c-b314-d88dc6c9ff57');
      expect(fake.codehubCalls[0]?.headers.authorization).toMatch(/^SDK-HMAC-SHA256 Access=BRIDGEACCESSKEY,/);
      expect(lines.find((line) => line.level === 'warn')?.fields).toEqual({ auth: 'aksk', ignoredVariables: ['CODEHUB_TOKEN'] });
    });
  });

  describe('IAM token lifecycle', () => {
    it('caches the token across calls', async () => {
      // Prepare
      const fake = await startFakeCodeHub();
      const codehub = client(fake, iam(fake));

      // Act
      await codehub.startMirrorSync(1, { forceFetch: true });
      await codehub.startMirrorSync(2, { forceFetch: true });
      await codehub.getMirrorStatus(3);

      // Assess
      expect(fake.iamCalls).toHaveLength(1);
      expect(fake.codehubCalls).toHaveLength(3);
    });

    it('shares one token request between concurrent callers', async () => {
      // Prepare
      const fake = await startFakeCodeHub({ iamDelayMs: 50 });
      const codehub = client(fake, iam(fake));

      // Act
      const results = await Promise.all([1, 2, 3, 4, 5].map((id) => codehub.startMirrorSync(id, { forceFetch: true })));

      // Assess
      expect(results).toHaveLength(5);
      expect(fake.iamCalls).toHaveLength(1);
    });

    it('refreshes the token once and repeats the call once after a 401', async () => {
      // Prepare
      const fake = await startFakeCodeHub();
      const { logger, lines } = captureLogger();
      const codehub = client(fake, iam(fake), { logger });
      await codehub.startMirrorSync(1, { forceFetch: true });
      fake.validTokens.clear(); // IAM revoked the token (password or permissions changed)

      // Act
      const result = await codehub.startMirrorSync(1, { forceFetch: true });

      // Assess
      expect(result.jid).toBe('09a56216-cb37-494c-b314-d88dc6c9ff57');
      expect(fake.iamCalls).toHaveLength(2);
      expect(fake.codehubCalls).toHaveLength(3);
      expect(lines.some((line) => line.level === 'info' && line.message.includes('repeating the call once'))).toBe(true);
    });

    it('gives up with CODEHUB_AUTH_FAILED when the renewed token is refused too', async () => {
      // Prepare
      const fake = await startFakeCodeHub({
        respond: () => ({ status: 401, body: { error_code: 'DEV.00000003', error_msg: '认证信息过期' } }),
      });

      // Act
      const error = await codeHubErrorOf(client(fake, iam(fake)).startMirrorSync(1, { forceFetch: true }));

      // Assess
      expect(error.code).toBe('CODEHUB_AUTH_FAILED');
      expect(error.serviceCode).toBe('DEV.00000003');
      expect(fake.codehubCalls).toHaveLength(2);
      expect(fake.iamCalls).toHaveLength(2);
    });

    it('refreshes within 5 minutes of expiry, not before', async () => {
      // Prepare
      let clock = Date.UTC(2024, 0, 1);
      const now = (): number => clock;
      const hour = 3600 * 1000;
      const fake = await startFakeCodeHub({ now: () => clock, tokenLifetimeMs: hour });
      const codehub = client(fake, iam(fake, { now }));
      await codehub.startMirrorSync(1, { forceFetch: true });

      // Act
      clock += hour - 6 * 60 * 1000;
      await codehub.startMirrorSync(1, { forceFetch: true });
      const afterSixMinutesLeft = fake.iamCalls.length;
      clock += 2 * 60 * 1000;
      await codehub.startMirrorSync(1, { forceFetch: true });
      const afterFourMinutesLeft = fake.iamCalls.length;

      // Assess
      expect([afterSixMinutesLeft, afterFourMinutesLeft]).toEqual([1, 2]);
      expect(fake.codehubCalls.at(-1)?.headers['x-auth-token']).toMatch(/^iam-token-2-/);
    });

    it('keeps using the unexpired token when a refresh inside the margin fails', async () => {
      // Prepare
      let clock = Date.UTC(2024, 0, 1);
      const hour = 3600 * 1000;
      const fake = await startFakeCodeHub({ now: () => clock, tokenLifetimeMs: hour });
      const codehub = client(fake, iam(fake, { now: () => clock }));
      await codehub.startMirrorSync(1, { forceFetch: true });
      fake.iamOutage = { status: 503, body: { error_code: 'APIG.0201', error_msg: 'Backend unavailable' } };
      clock += hour - 60 * 1000;

      // Act
      const result = await codehub.startMirrorSync(1, { forceFetch: true });
      clock += 2 * 60 * 1000;
      const error = await codeHubErrorOf(codehub.startMirrorSync(1, { forceFetch: true }));

      // Assess
      expect(result.jid).toBe('09a56216-cb37-494c-b314-d88dc6c9ff57');
      expect(fake.codehubCalls.at(1)?.headers['x-auth-token']).toMatch(/^iam-token-1-/);
      expect([error.code, error.status, error.serviceMessage]).toEqual(['CODEHUB_AUTH_FAILED', 503, 'Backend unavailable']);
      expect(fake.iamCalls).toHaveLength(3);
    });

    it('maps a refused password to CODEHUB_AUTH_FAILED with IAM’s message and never the password', async () => {
      // Prepare
      const fake = await startFakeCodeHub();

      // Act
      const error = await codeHubErrorOf(
        client(fake, iam(fake, { password: `${IAM_PASSWORD}-wrong` })).startMirrorSync(1, { forceFetch: true }),
      );

      // Assess
      expect(error.code).toBe('CODEHUB_AUTH_FAILED');
      expect(error.status).toBe(401);
      expect(error.message).toContain('The username or password is wrong.');
      expect(`${error.message} ${JSON.stringify(error)}`).not.toContain(IAM_PASSWORD);
      expect(fake.codehubCalls).toHaveLength(0);
    });
  });

  describe('IAM refusals', () => {
    it('asks IAM once for any number of calls while a refusal is remembered, and again after IAM_REFUSAL_CACHE_MS', async () => {
      // Prepare
      let clock = Date.UTC(2024, 0, 1);
      const fake = await startFakeCodeHub();
      const codehub = client(fake, iam(fake, { password: `${IAM_PASSWORD}-wrong`, now: () => clock }));
      const delivery = (): Promise<CodeHubError> => codeHubErrorOf(codehub.startMirrorSync(1, { forceFetch: true }));

      // Act
      const first = await delivery();
      for (let i = 0; i < 9; i += 1) await delivery();
      clock += IAM_REFUSAL_CACHE_MS - 1;
      const lastRemembered = await delivery();
      const callsInWindow = fake.iamCalls.length;
      clock += 1;
      await delivery();

      // Assess
      expect([first.code, lastRemembered.code]).toEqual(['CODEHUB_AUTH_FAILED', 'CODEHUB_AUTH_FAILED']);
      expect([callsInWindow, fake.iamCalls.length]).toEqual([1, 2]);
      expect(fake.codehubCalls).toHaveLength(0);
    });

    it('asks IAM again at the next call after a transient failure', async () => {
      // Prepare
      const fake = await startFakeCodeHub();
      fake.iamOutage = { status: 503, body: { error_code: 'APIG.0201', error_msg: 'Backend unavailable' } };
      const codehub = client(fake, iam(fake));

      // Act
      await codeHubErrorOf(codehub.startMirrorSync(1, { forceFetch: true }));
      fake.iamOutage = undefined;
      const result = await codehub.startMirrorSync(1, { forceFetch: true });

      // Assess
      expect(result.jid).toBe('09a56216-cb37-494c-b314-d88dc6c9ff57');
      expect(fake.iamCalls).toHaveLength(2);
    });

    it('names neither the IAM user, the account nor the project in the error, even when IAM does', async () => {
      // Prepare
      const fake = await startFakeCodeHub();
      fake.iamOutage = {
        status: 401,
        body: { error: { code: 'IAM.0101', message: `User ${IAM_USER} of ${IAM_DOMAIN} (project cn-north-4) is locked` } },
      };

      // Act
      const error = await codeHubErrorOf(client(fake, iam(fake)).startMirrorSync(1, { forceFetch: true }));

      // Assess
      expect(error.code).toBe('CODEHUB_AUTH_FAILED');
      expect(error.message).toContain('IAM.0101');
      for (const named of [IAM_USER, IAM_DOMAIN, 'cn-north-4']) expect(`${error.message} ${JSON.stringify(error)}`).not.toContain(named);
    });
  });

  describe('request body', () => {
    it('base64-encodes the source credentials and passes endpoint_uuid', async () => {
      // Prepare
      const fake = await startFakeCodeHub();

      // Act
      await client(fake, akSk()).startMirrorSync(9, {
        forceFetch: false,
        username: 'mirror-bot',
        password: SOURCE_PASSWORD,
        endpointUuid: '6e2d3c6f-0000-4000-8000-000000000001',
      });

      // Assess
      expect(JSON.parse(fake.codehubCalls[0]?.body ?? '')).toEqual({
        force_fetch: false,
        username: Buffer.from('mirror-bot').toString('base64'),
        password: Buffer.from(SOURCE_PASSWORD).toString('base64'),
        endpoint_uuid: '6e2d3c6f-0000-4000-8000-000000000001',
      });
    });

    it('encodes non-ASCII credentials as UTF-8 before base64 and keeps the signature valid', async () => {
      // Prepare
      const fake = await startFakeCodeHub();

      // Act
      await client(fake, akSk()).startMirrorSync(9, { forceFetch: true, username: '镜像', password: 'pässwörd' });

      // Assess
      const body = JSON.parse(fake.codehubCalls[0]?.body ?? '') as { username: string; password: string };
      expect(Buffer.from(body.username, 'base64').toString('utf8')).toBe('镜像');
      expect(Buffer.from(body.password, 'base64').toString('utf8')).toBe('pässwörd');
    });
  });

  describe('error mapping', () => {
    it.each([
      [401, { error_code: 'DEV.00000003', error_msg: '认证信息过期' }, 'CODEHUB_AUTH_FAILED', 'DEV.00000003', '认证信息过期'],
      [403, { error_code: 'CH.004403', error_msg: 'Insufficient permissions.' }, 'CODEHUB_REJECTED', 'CH.004403', 'Insufficient permissions.'],
      [404, { error_code: 'CH.004404', error_msg: 'Repository Not Found' }, 'CODEHUB_REJECTED', 'CH.004404', 'Repository Not Found'],
      [400, { error: { code: 'CH.010001', message: 'param invalid' }, status: 'failed' }, 'CODEHUB_REJECTED', 'CH.010001', 'param invalid'],
      [500, { error_code: 'CH.000001', error_msg: 'internal error' }, 'CODEHUB_SERVER_ERROR', 'CH.000001', 'internal error'],
      [504, { error_code: 'CH.080504', error_msg: 'gateway timeout' }, 'CODEHUB_SERVER_ERROR', 'CH.080504', 'gateway timeout'],
      [502, '<html>Bad Gateway</html>', 'CODEHUB_SERVER_ERROR', undefined, undefined],
    ])('maps HTTP %i %j to %s', async (status, body, code, serviceCode, serviceMessage) => {
      // Prepare
      const fake = await startFakeCodeHub({ respond: () => ({ status, body }) });

      // Act
      const error = await codeHubErrorOf(
        client(fake, createStaticTokenAuthenticator(STATIC_TOKEN)).startMirrorSync(5, { forceFetch: true }),
      );

      // Assess
      expect({ code: error.code, status: error.status, serviceCode: error.serviceCode, serviceMessage: error.serviceMessage }).toEqual({
        code,
        status,
        serviceCode,
        serviceMessage,
      });
      expect(error.message).toContain(String(status));
      expect(fake.codehubCalls).toHaveLength(1);
    });

    it('maps 429 APIG.0308 to CODEHUB_THROTTLED with the Retry-After seconds', async () => {
      // Prepare
      const fake = await startFakeCodeHub({
        respond: () => ({
          status: 429,
          headers: { 'Retry-After': '7' },
          body: { error_code: 'APIG.0308', error_msg: 'The throttling threshold has been reached' },
        }),
      });

      // Act
      const error = await codeHubErrorOf(client(fake, akSk()).startMirrorSync(5, { forceFetch: true }));

      // Assess
      expect(error.code).toBe('CODEHUB_THROTTLED');
      expect(error.retryAfterSeconds).toBe(7);
      expect(error.serviceCode).toBe('APIG.0308');
      expect(fake.codehubCalls).toHaveLength(1);
    });

    it('reads a Retry-After given as an HTTP date against the injected clock', async () => {
      // Prepare
      const now = Date.UTC(2024, 0, 1, 0, 0, 0);
      const fake = await startFakeCodeHub({
        respond: () => ({ status: 429, headers: { 'Retry-After': new Date(now + 30_000).toUTCString() }, body: {} }),
      });
      const codehub = createCodeHubClient({ endpoint: fake.url, auth: createStaticTokenAuthenticator(STATIC_TOKEN), now: () => now });

      // Act
      const error = await codeHubErrorOf(codehub.startMirrorSync(5, { forceFetch: true }));

      // Assess
      expect(error.retryAfterSeconds).toBe(30);
    });

    it.each([
      ['without a jid', { status: 'ok' }],
      ['with a numeric jid', { jid: 42 }],
      ['with a body that is not JSON', 'OK'],
    ])('maps 200 %s to CODEHUB_BAD_RESPONSE', async (_what, body) => {
      // Prepare
      const fake = await startFakeCodeHub({ respond: () => ({ status: 200, body }) });

      // Act
      const error = await codeHubErrorOf(client(fake, akSk()).startMirrorSync(5, { forceFetch: true }));

      // Assess
      expect(error.code).toBe('CODEHUB_BAD_RESPONSE');
      expect(error.status).toBe(200);
    });

    it('refuses a repository id outside 1..2147483647 without calling CodeHub', async () => {
      // Prepare
      const fake = await startFakeCodeHub();
      const codehub = client(fake, akSk());

      // Act
      const errors = await Promise.all([0, -1, 1.5, 2_147_483_648].map((id) => codeHubErrorOf(codehub.startMirrorSync(id, { forceFetch: true }))));

      // Assess
      expect(errors.map((error) => error.code)).toEqual(Array(4).fill('CODEHUB_REJECTED'));
      expect(fake.codehubCalls).toHaveLength(0);
    });
  });

  describe('signature failures', () => {
    it('maps APIG.0301 "verify aksk signature fail" to CODEHUB_SIGNATURE_FAILED, calls exactly once and logs both canonical requests', async () => {
      // Prepare
      const fake = await startFakeCodeHub();
      const { logger, lines } = captureLogger();
      const codehub = client(fake, akSk({ secretKey: 'not-the-secret-key', securityToken: SECURITY_TOKEN }), { logger });

      // Act
      const error = await codeHubErrorOf(codehub.startMirrorSync(2111111, { forceFetch: true }));

      // Assess
      expect(error.code).toBe('CODEHUB_SIGNATURE_FAILED');
      expect(error.status).toBe(401);
      expect(error.serviceCode).toBe('APIG.0301');
      expect(fake.codehubCalls).toHaveLength(1);
      const logged = lines.find((line) => line.level === 'error');
      const server = String(logged?.fields?.serverCanonicalRequest);
      const ours = String(logged?.fields?.clientCanonicalRequest);
      expect(server.split('\n').slice(0, 2)).toEqual(['POST', '/v4/repositories/2111111/remote-mirror/']);
      expect(server).toContain('x-security-token:<redacted>');
      // Same request, same canonical form: only the key differed, which is what the log makes plain.
      expect(ours).toBe(server);
    });

    it('never repeats a signature failure, even with an authenticator that could renew', async () => {
      // Prepare
      const fake = await startFakeCodeHub();
      let renewals = 0;
      const signer = akSk({ secretKey: 'wrong' });
      const renewing: Authenticator = {
        kind: 'aksk',
        authorize: (request) => signer.authorize(request),
        onUnauthorized: () => {
          renewals += 1;
          return true;
        },
      };

      // Act
      const error = await codeHubErrorOf(client(fake, renewing).startMirrorSync(1, { forceFetch: true }));

      // Assess
      expect(error.code).toBe('CODEHUB_SIGNATURE_FAILED');
      expect([fake.codehubCalls.length, renewals]).toEqual([1, 0]);
    });

    it('treats a stale X-Sdk-Date as an authentication failure, once', async () => {
      // Prepare
      const fake = await startFakeCodeHub();
      const slowClock = (): number => Date.now() - 20 * 60 * 1000;

      // Act
      const error = await codeHubErrorOf(client(fake, akSk({ now: slowClock })).startMirrorSync(1, { forceFetch: true }));

      // Assess
      expect(error.code).toBe('CODEHUB_AUTH_FAILED');
      expect(fake.codehubCalls).toHaveLength(1);
    });
  });

  describe('timeouts and connection failures', () => {
    it('fails with CODEHUB_TIMEOUT quickly when CodeHub never answers', async () => {
      // Prepare
      const fake = await startFakeCodeHub({ respond: () => undefined });
      const codehub = client(fake, akSk(), { timeoutMs: 200 });
      const started = Date.now();

      // Act
      const error = await codeHubErrorOf(codehub.startMirrorSync(1, { forceFetch: true }));

      // Assess
      expect(error.code).toBe('CODEHUB_TIMEOUT');
      expect(Date.now() - started).toBeLessThan(2000);
    });

    it('fails with CODEHUB_TIMEOUT at the deadline, before the per-phase timeout', async () => {
      // Prepare
      const fake = await startFakeCodeHub({ respond: () => undefined });
      const codehub = client(fake, akSk(), { timeoutMs: 10_000 });
      const started = Date.now();

      // Act
      const error = await codeHubErrorOf(codehub.startMirrorSync(1, { forceFetch: true }, { deadline: Date.now() + 150 }));

      // Assess
      expect(error.code).toBe('CODEHUB_TIMEOUT');
      expect(Date.now() - started).toBeLessThan(2000);
    });

    it('fails with CODEHUB_TIMEOUT without calling when the deadline has passed', async () => {
      // Prepare
      const fake = await startFakeCodeHub();

      // Act
      const error = await codeHubErrorOf(
        client(fake, akSk()).startMirrorSync(1, { forceFetch: true }, { deadline: Date.now() - 1 }),
      );

      // Assess
      expect(error.code).toBe('CODEHUB_TIMEOUT');
      expect(fake.codehubCalls).toHaveLength(0);
    });

    it('fails with CODEHUB_TIMEOUT at the deadline while a token is still being fetched, without calling CodeHub', async () => {
      // Prepare
      const fake = await startFakeCodeHub();
      const neverAnswers: Authenticator = { kind: 'iam', authorize: () => new Promise(() => undefined) };
      const started = Date.now();

      // Act
      const error = await codeHubErrorOf(
        client(fake, neverAnswers, { timeoutMs: 10_000 }).startMirrorSync(1, { forceFetch: true }, { deadline: Date.now() + 150 }),
      );

      // Assess
      expect(error.code).toBe('CODEHUB_TIMEOUT');
      expect(error.message).toContain('(authorization)');
      expect(Date.now() - started).toBeLessThan(2000);
      expect(fake.codehubCalls).toHaveLength(0);
    });

    it('maps an authenticator that throws at once to CODEHUB_AUTH_FAILED, without calling CodeHub', async () => {
      // Prepare
      const fake = await startFakeCodeHub();
      const broken: Authenticator = {
        kind: 'aksk',
        authorize: () => {
          throw new TypeError('no key material');
        },
      };

      // Act
      const error = await codeHubErrorOf(client(fake, broken).startMirrorSync(1, { forceFetch: true }, { deadline: Date.now() + 5000 }));

      // Assess
      expect(error.code).toBe('CODEHUB_AUTH_FAILED');
      expect(error.message).toContain('could not authorize');
      expect(fake.codehubCalls).toHaveLength(0);
    });

    it('gives the transport the time left before the deadline', async () => {
      // Prepare
      const seen: (number | undefined)[] = [];
      const codehub = createCodeHubClient({
        endpoint: 'https://codehub.example',
        auth: akSk(),
        now: () => 1_000_000,
        transport: (request) => {
          seen.push(request.totalTimeoutMs);
          return Promise.resolve({ status: 200, headers: {}, body: '{"jid":"j-1"}' });
        },
      });

      // Act
      await codehub.startMirrorSync(1, { forceFetch: true }, { deadline: 1_000_000 + 1234 });
      await codehub.startMirrorSync(1, { forceFetch: true });

      // Assess
      expect(seen).toEqual([1234, undefined]);
    });

    it('fails with CODEHUB_UNREACHABLE when the connection is refused', async () => {
      // Prepare
      const fake = await startFakeCodeHub();
      const closedUrl = fake.url;
      await fake.close();
      const codehub = createCodeHubClient({ endpoint: closedUrl, auth: akSk() });

      // Act
      const error = await codeHubErrorOf(codehub.startMirrorSync(1, { forceFetch: true }));

      // Assess
      expect(error.code).toBe('CODEHUB_UNREACHABLE');
      expect(error.status).toBeUndefined();
    });

    it('fails with CODEHUB_UNREACHABLE when IAM cannot be reached', async () => {
      // Prepare
      const fake = await startFakeCodeHub();
      const iamGone = await startFakeCodeHub();
      const auth = iam(iamGone);
      await iamGone.close();

      // Act
      const error = await codeHubErrorOf(client(fake, auth).startMirrorSync(1, { forceFetch: true }));

      // Assess
      expect(error.code).toBe('CODEHUB_UNREACHABLE');
      expect(error.message).toContain('IAM');
    });
  });

  describe('other calls', () => {
    it('reads the mirror status', async () => {
      // Prepare
      const fake = await startFakeCodeHub({
        respond: () => ({
          status: 200,
          body: {
            id: 1,
            repository_id: 42,
            update_status: 'finished',
            last_update_at: '2024-01-01T00:00:00Z',
            last_successful_update_at: '2024-01-01T00:00:00Z',
            number_of_failures: 0,
            mirroring_enabled: true,
            is_private: true,
            url: 'https://github.com/acme/widgets.git',
            endpoint_uuid: null,
            last_error: null,
          },
        }),
      });

      // Act
      const status = await client(fake, akSk()).getMirrorStatus(42);

      // Assess
      expect(fake.codehubCalls[0]?.method).toBe('GET');
      expect(fake.codehubCalls[0]?.url).toBe('/v4/repositories/42/remote-mirror');
      expect(status).toEqual({
        repositoryId: 42,
        updateStatus: 'finished',
        lastUpdateAt: '2024-01-01T00:00:00Z',
        lastSuccessfulUpdateAt: '2024-01-01T00:00:00Z',
        numberOfFailures: 0,
        mirroringEnabled: true,
        lastError: undefined,
        url: 'https://github.com/acme/widgets.git',
        endpointUuid: undefined,
      });
    });

    it('resolves a repository id from group and name, signing the encoded query', async () => {
      // Prepare
      const fake = await startFakeCodeHub({ respond: () => ({ status: 200, body: { result: 2111111, status: 'success' } }) });

      // Act
      const id = await client(fake, akSk()).resolveRepositoryId('acme group/sub', 'widgets');

      // Assess
      expect(id).toBe(2111111);
      expect(fake.codehubCalls[0]?.url).toBe('/v1/repositories/repoid?group_name=acme%20group%2Fsub&repository_name=widgets');
    });

    it('maps a v1 200 with "status": "failed" to CODEHUB_REJECTED with its error', async () => {
      // Prepare
      const fake = await startFakeCodeHub({
        respond: () => ({ status: 200, body: { error: { code: 'CH.000404', message: 'Repository Not Found' }, status: 'failed' } }),
      });

      // Act
      const error = await codeHubErrorOf(client(fake, akSk()).resolveRepositoryId('acme', 'nope'));

      // Assess
      expect([error.code, error.serviceCode, error.serviceMessage]).toEqual([
        'CODEHUB_REJECTED',
        'CH.000404',
        'Repository Not Found',
      ]);
    });
  });

  describe('what CodeHub echoes', () => {
    const SOURCE_USER = 'mirror-bot';
    const echoes = [
      `https://${SOURCE_USER}:${SOURCE_PASSWORD}@github.com/acme/api.git`,
      `git+ssh://${SOURCE_USER}:${encodeURIComponent(SOURCE_PASSWORD)}@git.example/acme/api.git`,
      `password=${Buffer.from(SOURCE_PASSWORD).toString('base64')}`,
      `password=${Buffer.from(SOURCE_PASSWORD).toString('base64url')}`,
      `username=${Buffer.from(SOURCE_USER).toString('base64')}`,
      `plain ${SOURCE_PASSWORD}`,
    ];
    const leaks = [
      SOURCE_PASSWORD,
      encodeURIComponent(SOURCE_PASSWORD),
      Buffer.from(SOURCE_PASSWORD).toString('base64'),
      Buffer.from(SOURCE_PASSWORD).toString('base64url'),
      Buffer.from(SOURCE_USER).toString('base64'),
      `${SOURCE_USER}:`,
    ];
    const request = { forceFetch: true, username: SOURCE_USER, password: SOURCE_PASSWORD };

    it.each([
      ['a 400 error_msg', 400, (echo: string) => ({ error_code: 'CH.010001', error_msg: `clone failed: ${echo}` })],
      ['a 500 v1 error.message, after retries', 500, (echo: string) => ({ error: { code: 'CH.000001', message: `failed: ${echo}` } })],
      ['a body that is not JSON', 502, (echo: string) => `<html>${echo}</html>`],
      ['a 200 without a job id', 200, (echo: string) => ({ result: echo })],
    ])('redacts the source URL credentials and password in any encoding from %s', async (_what, status, body) => {
      for (const echo of echoes) {
        // Prepare
        const { logger, lines } = captureLogger();
        const fake = await startFakeCodeHub({ respond: () => ({ status, body: body(echo) }) });
        const codehub = createCodeHubClient({ endpoint: fake.url, auth: akSk(), logger, retry: { baseMs: 1, random: () => 0 } });

        // Act
        const error = await codeHubErrorOf(codehub.startMirrorSync(1, request, { deadline: Date.now() + 5000 }));

        // Assess
        const text = `${error.message} ${String(error.serviceMessage)} ${JSON.stringify(lines)}`;
        expect(text).toContain('<redacted>');
        for (const leak of leaks) expect(text).not.toContain(leak);
      }
    });

    it('redacts URL credentials from the mirror status CodeHub reports', async () => {
      // Prepare
      const url = `https://${SOURCE_USER}:${SOURCE_PASSWORD}@github.com/acme/api.git`;
      const fake = await startFakeCodeHub({
        respond: () => ({ status: 200, body: { repository_id: 1, url, last_error: `fatal: unable to access '${url}/': 403` } }),
      });

      // Act
      const status = await client(fake, akSk()).getMirrorStatus(1);

      // Assess
      expect(status.url).toBe('https://<redacted>@github.com/acme/api.git');
      expect(status.lastError).toBe("fatal: unable to access 'https://<redacted>@github.com/acme/api.git/': 403");
    });
  });

  describe('secrets', () => {
    it('never puts a secret in a thrown error or a logged line', async () => {
      // Prepare
      const { logger, lines } = captureLogger();
      const errors: CodeHubError[] = [];
      const request = { forceFetch: true, username: 'mirror-bot', password: SOURCE_PASSWORD };
      const ok = await startFakeCodeHub();
      const failing = await startFakeCodeHub({
        respond: (call) => ({ status: 500, body: { error_code: 'CH.000001', error_msg: `failed ${call.url}` } }),
      });
      const hanging = await startFakeCodeHub({ respond: () => undefined });
      const scenarios: (() => Promise<unknown>)[] = [
        () => client(ok, akSk({ secretKey: 'wrong-key', securityToken: SECURITY_TOKEN }), { logger }).startMirrorSync(1, request),
        () => client(ok, iam(ok, { password: `${IAM_PASSWORD}!` }), { logger }).startMirrorSync(1, request),
        () => client(ok, createStaticTokenAuthenticator(`${STATIC_TOKEN}-revoked`), { logger }).startMirrorSync(1, request),
        () => client(failing, akSk({ securityToken: SECURITY_TOKEN }), { logger }).startMirrorSync(1, request),
        () => client(failing, iam(failing), { logger }).startMirrorSync(1, request),
        () => client(hanging, createStaticTokenAuthenticator(STATIC_TOKEN), { logger, timeoutMs: 100 }).startMirrorSync(1, request),
      ];

      // Act
      for (const scenario of scenarios) errors.push(await codeHubErrorOf(scenario()));
      await client(ok, iam(ok), { logger }).startMirrorSync(1, request);

      // Assess
      expect(errors.map((error) => error.code)).toEqual([
        'CODEHUB_SIGNATURE_FAILED',
        'CODEHUB_AUTH_FAILED',
        'CODEHUB_AUTH_FAILED',
        'CODEHUB_SERVER_ERROR',
        'CODEHUB_SERVER_ERROR',
        'CODEHUB_TIMEOUT',
      ]);
      const texts = [
        ...errors.map((error) => `${error.message} ${JSON.stringify(error)} ${String(error.stack)}`),
        ...lines.map((line) => JSON.stringify(line)),
      ];
      expect(lines.length).toBeGreaterThan(5);
      for (const text of texts) {
        for (const secret of [...SECRETS, STATIC_TOKEN, 'iam-token-']) expect(text).not.toContain(secret);
      }
    });
  });
});
