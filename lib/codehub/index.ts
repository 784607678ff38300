/**
 * The CodeHub (CodeArts Repo) client for the bridge. `createCodeHubFromEnv` is the one-liner the
 * handler needs at cold start; the pieces are exported for tests, the emulator and later work.
 */
import { createAuthenticator } from './auth';
import type { Logger } from '../observability/log';
import { createCodeHubClient } from './client';
import type { CodeHubClient } from './client';
import { readCodeHubSettings } from './settings';
import type { Transport } from './transport';
import type { CallGate } from './types';

export type { AuthHeaders, AuthRequest, Authenticator, AuthenticatorOptions, AkSkAuthenticatorOptions, IamAuthenticatorOptions } from './auth';
export { createAkSkAuthenticator, createAuthenticator, createIamAuthenticator, createStaticTokenAuthenticator } from './auth';
export type { Logger } from '../observability/log';
export type { CodeHubClient, CodeHubClientOptions, MirrorStatus } from './client';
export { createCodeHubClient } from './client';
export { CODEHUB_REGIONS, codehubEndpointForRegion, iamEndpointForRegion, isCodeHubRegion } from './endpoints';
export type { CodeHubRegion } from './endpoints';
export type { CodeHubAuthSettings, CodeHubSettings } from './settings';
export { readCodeHubSettings } from './settings';
export { IAM_REFUSAL_CACHE_MS } from './auth';
export { canonicalRequest, formatSdkDate, signRequest, stringToSign } from './sign';
export type { SignRequestInput, SignatureHeaders } from './sign';
export { parseAuthorization, parseSdkDate, verifySignedRequest } from './verify';
export type { VerifySignedRequestInput, VerifySignedRequestResult } from './verify';
export { closeTransportPools, undiciTransport } from './transport';
export type { Transport, TransportRequest, TransportResponse } from './transport';
export type { CallGate, CallKind, CallOptions, CodeHub, MirrorRefReader, MirrorSyncRequest, MirrorSyncResult, RefHead } from './types';

export interface CodeHubFromEnvOptions {
  /** @default undiciTransport */
  readonly transport?: Transport | undefined;
  /** @default Date.now */
  readonly now?: (() => number) | undefined;
  readonly logger?: Logger | undefined;
  /** Admits every CodeHub call against a shared budget; see `CodeHubClientOptions.gate`. @default none */
  readonly gate?: CallGate | undefined;
}

/**
 * Reads the `CODEHUB_*` settings (see `lib/codehub/settings.ts`) and builds the client. Throws
 * `ConfigError` naming the variable at fault; call it at cold start so a bad setup fails at once.
 */
export function createCodeHubFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  options: CodeHubFromEnvOptions = {},
): CodeHubClient {
  const settings = readCodeHubSettings(env);
  if (settings.ignoredVariables.length > 0) {
    options.logger?.warn('CodeHub credential variables set but not used', {
      auth: settings.auth.kind,
      ignoredVariables: settings.ignoredVariables,
    });
  }
  const io = { transport: options.transport, now: options.now, connectTimeoutMs: settings.connectTimeoutMs, timeoutMs: settings.timeoutMs };
  const auth = createAuthenticator(settings.auth, io);
  // The gate is for CodeHub calls only: the authenticator's IAM token calls are not counted.
  return createCodeHubClient({ endpoint: settings.endpoint, auth, logger: options.logger, gate: options.gate, ...io });
}
