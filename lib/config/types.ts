/**
 * The resolved mirror configuration: every `env:`, `ssm:` and `secretsmanager:` reference already
 * replaced by its value, every source already normalised with `sourceIdentity`. Produced once per cold
 * start by `loadMirrorConfig`.
 */

import type { CompiledSourcePattern, CompiledTargetTemplate } from './patterns';

/** CodeHub's `sync_branch_type`: `all` branches and tags, or only the `default` branch. */
export type MirrorBranches = 'default' | 'all';
export const MIRROR_BRANCHES: readonly MirrorBranches[] = Object.freeze(['default', 'all']);

/** How commit statuses ("CodeArts mirror") are reported to the upstream Git host (`report:`). */
export interface ReportSettings {
  /** The token the host's status API is called with, resolved; it goes in a header, never in a URL. */
  readonly token: string;
  /**
   * The host's API base: `http:`/`https:`, no credentials, query or fragment, trailing `/` removed.
   * undefined = the host's usual API (its reporter decides).
   */
  readonly apiUrl?: string | undefined;
}

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
  /**
   * Which branches the CodeArts mirror itself syncs (CodeHub's `sync_branch_type`, which
   * `GET remote-mirror` does not report, so the config says it): `default` = only the default branch,
   * and no tags. Only decides which refs a push waits for. undefined = `all` (every branch and tag).
   */
  readonly branches?: MirrorBranches | undefined;
  /** Source credentials, plain text here; the CodeHub client base64-encodes them. */
  readonly username?: string | undefined;
  readonly password?: string | undefined;
  readonly endpointUuid?: string | undefined;
  /** The mirror's own reporting; replaces its host's `webhooks[host].report`. undefined = its host's. */
  readonly report?: ReportSettings | undefined;
}

/**
 * A mirror whose CodeHub repository is named by path (`target: group/name`) instead of by id; the
 * pipeline resolves the path to an id (`GET /v1/repositories/repoid`, cached) when a push arrives.
 * Also what a wildcard mirror becomes for one concrete source.
 */
export interface PathMirror extends Omit<MirrorTarget, 'repositoryId'> {
  /** The concrete CodeHub path `group/name` (the group may have subgroups), placeholders expanded. */
  readonly target: string;
}

/**
 * A mirror whose source has `*` segments (`github.com/acme/*`): it applies to every source it matches,
 * in addition to that source's exact mirrors, with its own `secret` (else the host's) for each.
 */
export interface WildcardMirror extends Omit<MirrorTarget, 'source' | 'repositoryId'> {
  /** The normalised pattern, e.g. `github.com/acme/*`; `*` matches one or more path segments. */
  readonly pattern: string;
  /** Lower-case host the pattern is on (never a wildcard). */
  readonly host: string;
  /** Target template, e.g. `acme-mirror/{name}`; `{name}`, `{owner}`, `{path}` come from the source. */
  readonly target: string;
  /** `pattern`, compiled once at load (see `lib/config/patterns.ts`). */
  readonly compiledPattern: CompiledSourcePattern;
  /** `target`, compiled once at load. */
  readonly compiledTarget: CompiledTargetTemplate;
}

export interface MirrorConfig {
  /** Lower-case host (with a non-default port if any) → the secrets its deliveries are signed with. */
  readonly webhooks: ReadonlyMap<string, readonly string[]>;
  /** Mirrors with a `repository_id`. */
  readonly mirrors: readonly MirrorTarget[];
  /** Mirrors with an exact source and a `target` path. */
  readonly pathMirrors: readonly PathMirror[];
  /** Mirrors with a wildcard source (always with a `target`). */
  readonly wildcardMirrors: readonly WildcardMirror[];
  /** `status.key`: the bearer key of the status route; undefined = no key configured. */
  readonly statusKey: string | undefined;
  /**
   * Host → its `webhooks[host].report`, for the hosts that have one. Always set by `readConfig`;
   * optional only so configs built by hand (tests) need not name it.
   */
  readonly reports?: ReadonlyMap<string, ReportSettings> | undefined;
}
