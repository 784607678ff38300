/** The CodeHub calls the bridge makes, as seen by the handler. Implemented by `createCodeHubClient`. */

/** Body of `POST /v4/repositories/{id}/remote-mirror`, in plain text; the client base64-encodes credentials. */
export interface MirrorSyncRequest {
  readonly forceFetch: boolean;
  readonly username?: string | undefined;
  readonly password?: string | undefined;
  readonly endpointUuid?: string | undefined;
}

export interface MirrorSyncResult {
  /** CodeHub's sync job id. */
  readonly jid: string;
}

export interface CallOptions {
  /** Absolute deadline, epoch milliseconds: the call (with any retries) fails with CODEHUB_TIMEOUT past it. */
  readonly deadline?: number | undefined;
}

export interface CodeHub {
  /** Starts a remote-mirror sync. Throws `CodeHubError` on anything but 200 with a `jid`. */
  startMirrorSync(repositoryId: number, request: MirrorSyncRequest, options?: CallOptions): Promise<MirrorSyncResult>;
}

/** What a ref of the mirror points at: the commit SHA (lower-case hex, 40 or 64 digits). */
export interface RefHead {
  readonly sha: string;
  /**
   * For a tag: ShowTag's `target`, the tag object an annotated tag is (hosts send it as a tag push's
   * `after`); for a lightweight tag the commit itself. Undefined for branches and commits.
   */
  readonly target?: string | undefined;
}

/**
 * Reads of what the mirror holds, to confirm a sync reached a pushed commit. Each resolves
 * `undefined` when the ref does not exist in the mirror, and throws `CodeHubError` otherwise.
 * Apart from `CodeHub` so that code which only triggers syncs needs only `startMirrorSync`.
 */
export interface MirrorRefReader {
  /** The head of a branch (ShowBranch, `commit.id`); `branch` without `refs/heads/`. */
  getBranchHead(repositoryId: number, branch: string, options?: CallOptions): Promise<RefHead | undefined>;
  /** The commit a tag points at (ShowTag, `commit.id`); `tag` without `refs/tags/`. */
  getTagHead(repositoryId: number, tag: string, options?: CallOptions): Promise<RefHead | undefined>;
  /** The commit a branch, tag or SHA names (ShowCommit, `id`). */
  getCommit(repositoryId: number, ref: string, options?: CallOptions): Promise<RefHead | undefined>;
}

/** What a sync (POST) or a read (GET) of CodeHub is, for a budget that counts them apart. */
export type CallKind = 'trigger' | 'read';

/**
 * Admits CodeHub calls against a budget shared beyond this client (lib/pipeline/codehub-budget.ts).
 * The client asks before every HTTP attempt, retries and the repeat after a token renewal included;
 * IAM token calls are not CodeHub calls and are not asked about.
 */
export interface CallGate {
  /**
   * Resolves when this attempt may be sent; rejects with `CodeHubError` CODEHUB_THROTTLED
   * (`retryAfterSeconds` set) when its turn would come after `deadline` (epoch ms). The client
   * passes whatever it rejects with to its caller unchanged and does not retry it: no call was made.
   */
  admit(kind: CallKind, operation: string, deadline: number | undefined): Promise<void>;
  /** CodeHub answered 429: no caller anywhere should call before `until` (epoch ms). Never rejects. */
  throttled(until: number): Promise<void>;
}
