/** The emulated repositories' public shapes: what a caller registers, and what the API and admin API show. */
import type { SourceCredentials } from './git';

export const MAX_REPOSITORY_ID = 2_147_483_647;

interface RepositorySpecBase {
  /** @default the next free id from 1001 */
  readonly id?: number;
  readonly name: string;
  /** The path between host and name in the clone URL, e.g. `acme` or `acme/sub`. @default 'emulator' */
  readonly group?: string;
}

/** A repository whose mirror really `git fetch`es `upstream`: any git URL (`file://`, a local path, http(s)). */
export interface GitRepositorySpec extends RepositorySpecBase {
  readonly upstream: string;
  readonly simulated?: false;
}

/**
 * A repository without git: its upstream is an in-memory map ref → SHA that the caller sets
 * (`setUpstreamRef`), and a sync copies that map into the mirror's after a drawn fetch time.
 */
export interface SimulatedRepositorySpec extends RepositorySpecBase {
  readonly simulated: true;
  /** The upstream's refs to start with (`refs/heads/*`, `refs/tags/*` → 40 or 64 hex). @default none */
  readonly upstreamRefs?: Readonly<Record<string, string>>;
  /** The upstream's HEAD: the mirror's default branch once a sync has fetched it. @default 'main' */
  readonly defaultBranch?: string;
}

export type RepositorySpec = GitRepositorySpec | SimulatedRepositorySpec;

export interface RepositoryInfo {
  readonly id: number;
  readonly name: string;
  readonly group: string;
  readonly pathWithNamespace: string;
  /** The git upstream; for a simulated repository a made-up URL, shown as the mirror's `url`. */
  readonly upstream: string;
  readonly simulated: boolean;
  /** The bare mirror repository (clone or inspect it with git); null for a simulated repository. */
  readonly mirrorDir: string | null;
  readonly defaultBranch: string | null;
}

export type UpdateStatus = 'init' | 'running' | 'success' | 'failed';

/** `GET /v4/repositories/{id}/remote-mirror`, field for field. */
export interface MirrorState {
  readonly id: number;
  readonly repository_id: number;
  readonly update_status: UpdateStatus;
  readonly last_update_at: string | null;
  readonly last_successful_update_at: string | null;
  readonly number_of_failures: number;
  readonly mirroring_enabled: boolean;
  readonly is_private: boolean;
  readonly url: string;
  readonly endpoint_uuid: string | null;
  readonly last_error: string | null;
  readonly sync_branch_type: 'all' | 'default';
}

export type JobStatus = 'queued' | 'running' | 'success' | 'failed';

export interface JobInfo {
  readonly jid: string;
  readonly repositoryId: number;
  readonly status: JobStatus;
  readonly forceFetch: boolean;
  readonly createdAt: string;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  /** When its fetch ended (the job may still be running: see `SyncDelays`). */
  readonly fetchedAt: string | null;
  /** Why it failed (git's error, credentials scrubbed). */
  readonly error: string | null;
}

export interface SyncRequest {
  readonly forceFetch: boolean;
  /** Decoded source credentials, used for http(s) upstreams only; never stored or logged. */
  readonly credentials?: SourceCredentials;
  readonly endpointUuid?: string;
}

export interface MirrorUpdate {
  readonly url?: string;
  readonly syncBranchType?: 'all' | 'default';
  readonly mirroringEnabled?: boolean;
  readonly endpointUuid?: string | null;
}

/** The mirror's refs: `head` is HEAD's branch (`refs/heads/main`), `refs` full ref name → object id. */
export interface MirrorRefs {
  readonly head: string | null;
  readonly refs: Record<string, string>;
}
