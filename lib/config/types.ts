/**
 * The resolved mirror configuration: every `env:` reference already replaced by its value, every
 * source already normalised with `sourceIdentity`. Produced once per cold start by `loadMirrorConfig`.
 */

export interface MirrorTarget {
  /** Normalised identity `host/path` (see `lib/providers/identity.ts`). */
  readonly source: string;
  /** CodeHub repository id, 1..2147483647. */
  readonly repositoryId: number;
  /** The mirror's own secrets; when set they replace its host's `webhooks` secrets. */
  readonly secrets: readonly string[] | undefined;
  /** Ref patterns (`*` matches any run of characters); undefined = every ref, deletions included. */
  readonly refs: readonly string[] | undefined;
  /** @default true */
  readonly forceFetch: boolean;
  /** Source credentials, plain text here; the CodeHub client base64-encodes them. */
  readonly username?: string | undefined;
  readonly password?: string | undefined;
  readonly endpointUuid?: string | undefined;
}

export interface MirrorConfig {
  /** Lower-case host (with a non-default port if any) → the secrets its deliveries are signed with. */
  readonly webhooks: ReadonlyMap<string, readonly string[]>;
  readonly mirrors: readonly MirrorTarget[];
}
