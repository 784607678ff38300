/**
 * The one interface every upstream Git host implements. A provider is pure: no I/O, no clock of its
 * own (the caller passes `now`), no configuration lookups. The pipeline is always
 * detect → claim (which secrets to try) → verify (over the exact bytes received) → read (only after
 * verification succeeded).
 */

/** Stable ids; also used in logs and metrics. */
export const ProviderIds = {
  github: 'github',
  gitlab: 'gitlab',
  gitea: 'gitea',
  forgejo: 'forgejo',
  gogs: 'gogs',
  bitbucket: 'bitbucket',
  gitee: 'gitee',
  gitcode: 'gitcode',
  azureDevops: 'azure-devops',
} as const;
export type ProviderId = (typeof ProviderIds)[keyof typeof ProviderIds];

/** Request headers with lower-case names. Repeated headers are joined with ", " as HTTP allows. */
export type Headers = Readonly<Record<string, string | undefined>>;

/** What a provider verifies: the exact bytes received, never re-serialised JSON. */
export interface Delivery {
  readonly headers: Headers;
  readonly rawBody: Buffer;
  /**
   * The same body as well-formed text, when it arrived as text (not base64): it encodes to exactly
   * `rawBody`, so hashing or parsing it saves building the bytes (or decoding them back).
   */
  readonly bodyText?: string | undefined;
  /** Milliseconds since the epoch, for timestamp windows. */
  readonly now: number;
}

export type VerifyFailure =
  | 'SIGNATURE_MISSING'
  | 'SIGNATURE_MISMATCH'
  | 'TIMESTAMP_STALE';

export type VerifyResult =
  /** `secretIndex` is the index in the candidate list of the secret that matched. */
  | {
      readonly ok: true;
      readonly secretIndex: number;
      /**
       * The verified MAC of the payload (hex), where the host's scheme signs it: a fingerprint of
       * the content already paid for, so that nothing hashes a large body a second time.
       */
      readonly bodyMac?: string | undefined;
    }
  | { readonly ok: false; readonly reason: VerifyFailure; readonly message: string };

/** One ref a push changed. SHAs are as the host sent them (40 zeros where a side does not exist). */
export interface RefChange {
  /** Full ref name, e.g. `refs/heads/main`, `refs/tags/v1.0`. */
  readonly ref: string;
  readonly before: string;
  readonly after: string;
  readonly deleted: boolean;
}

/** A verified push, reduced to what the bridge needs. */
export interface Push {
  /**
   * The repository's identity for mapping: `host/path`, lower-case, no scheme, credentials, default
   * port or `.git` (see `sourceIdentity` in `lib/providers/identity.ts`).
   */
  readonly source: string;
  readonly refs: readonly RefChange[];
  /** The clone URL the host advertised, when the payload carries one. */
  readonly cloneUrl?: string | undefined;
  /**
   * The source's default branch as the push payload states it, as a short name (`main`, never
   * `refs/heads/main`); undefined when the payload carries none. A `branches: default` mirror needs
   * it (`refsToConfirm` in `lib/ledger/refs.ts`). Carried by GitHub, Gitea, Forgejo, Gogs, GitLab,
   * GitCode, Gitee and Azure DevOps; Bitbucket Cloud and Data Center push payloads and CodeCommit's
   * EventBridge events have none, so theirs is always undefined.
   */
  readonly defaultBranch?: string | undefined;
}

export type ReadResult =
  | { readonly kind: 'push'; readonly push: Push }
  | { readonly kind: 'ping' }
  /** A verified delivery the bridge has no use for (another event type). */
  | { readonly kind: 'ignored'; readonly reason: string };

/**
 * What an unverified delivery says it is from, read from its headers and a bounded search of its
 * body (no parse). Untrusted: it only narrows which secrets are tried, so that a forged body costs
 * a bounded number of MACs; the secret that verifies must still belong to the source read afterwards.
 */
export type SourceClaim =
  /** Verification compares a short token per secret (cheap): every secret may be tried. */
  | { readonly scheme: 'token' }
  /**
   * Verification MACs the body once per secret. `sources` are the identities the body names (none
   * when the search found none), `host` the host it names or is known to come from.
   */
  | { readonly scheme: 'body-mac'; readonly host: string | undefined; readonly sources: readonly string[] };

export interface Provider {
  readonly id: ProviderId;
  /** True when the headers say this host sent the delivery. Called in a fixed, most-specific-first order. */
  detect(headers: Headers): boolean;
  /** Whether verifying this delivery MACs its body, and if so the source it claims. Never throws. */
  claimSource(delivery: Delivery): SourceClaim;
  /**
   * Proves the delivery genuine against any of `secrets` (several at once allow rotation), in
   * constant time. Returns failure, never throws, for missing or malformed signatures.
   */
  verify(delivery: Delivery, secrets: readonly string[]): VerifyResult;
  /**
   * Reads a verified delivery. Throws `PayloadError` when the body is not JSON or not the
   * shape this host sends for the event it names.
   */
  read(delivery: Delivery): ReadResult;
  /** The host's id for this delivery (stable across redeliveries where the host has one). */
  deliveryId(headers: Headers): string | undefined;
}
