/**
 * The words people read on the commit: one context per mirror and one line per state. Pure: the
 * time a mirror was confirmed is given, never read from a clock.
 */

import { DEFAULT_CONTEXT, StatusRequestError, type CommitState, type CommitStatus } from './types';

/** How far the mirroring of one commit to one CodeHub repository has got. */
export type MirrorProgress =
  /** The sync is triggered or queued. */
  | { readonly state: 'pending' }
  /** The confirm saw the commit in the mirror; `at` in milliseconds since the epoch. */
  | { readonly state: 'success'; readonly at: number }
  /** The bridge gave up (`failure`), or could not tell (`error`); `reason` is one line with no secret in it. */
  | { readonly state: 'failure' | 'error'; readonly reason: string };

/**
 * The context of a mirror's statuses: `CodeArts mirror`, or `CodeArts mirror (group/name)` when the
 * push fans out to several CodeHub repositories, so each has its own status.
 */
export function statusContext(repository?: string): string {
  return repository === undefined ? DEFAULT_CONTEXT : `${DEFAULT_CONTEXT} (${repository})`;
}

/**
 * One line for `repository` (`group/name`): "mirroring to CodeArts g/n", "mirrored to CodeArts g/n
 * at 2025-01-02T03:04:05Z", "not mirrored to CodeArts g/n: reason". The reason is taken as given
 * (its caller keeps secrets out); only its line breaks and runs of spaces become one space.
 * @throws StatusRequestError (`REPORT_BAD_STATUS`) when `at` is no time
 */
export function describeMirror(repository: string, progress: MirrorProgress): string {
  switch (progress.state) {
    case 'pending':
      return `mirroring to CodeArts ${repository}`;
    case 'success':
      return `mirrored to CodeArts ${repository} at ${isoSeconds(progress.at)}`;
    case 'failure':
    case 'error': {
      const reason = progress.reason.replace(/\s+/g, ' ').trim();
      return reason === '' ? `not mirrored to CodeArts ${repository}` : `not mirrored to CodeArts ${repository}: ${reason}`;
    }
  }
}

/** What `mirrorStatus` needs to know. */
export interface MirrorStatusOptions {
  /** The commit at the head of the pushed branch or tag. */
  readonly sha: string;
  /** The CodeHub repository, `group/name`. */
  readonly repository: string;
  readonly progress: MirrorProgress;
  /**
   * Whether the push fans out to more than one CodeHub repository: each then gets its own context.
   * @default false
   */
  readonly fanOut?: boolean;
  /** The CodeArts repository page, or the bridge's `GET /pushes/{id}`. */
  readonly targetUrl?: string | undefined;
}

/** The status to report for one mirror of one commit. */
export function mirrorStatus(options: MirrorStatusOptions): CommitStatus {
  const state: CommitState = options.progress.state;
  return {
    state,
    sha: options.sha,
    context: statusContext(options.fanOut === true ? options.repository : undefined),
    description: describeMirror(options.repository, options.progress),
    ...(options.targetUrl === undefined ? {} : { targetUrl: options.targetUrl }),
  };
}

/** ISO 8601 to the second: milliseconds would only spend a host's few description characters. */
function isoSeconds(at: number): string {
  if (!Number.isFinite(at)) throw new StatusRequestError('REPORT_BAD_STATUS', 'the mirrored time is not a time');
  const date = new Date(at);
  if (Number.isNaN(date.getTime())) throw new StatusRequestError('REPORT_BAD_STATUS', 'the mirrored time is out of range');
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
