/**
 * Bitbucket Cloud: "Create a build status for a commit",
 * `POST /2.0/repositories/{workspace}/{repo_slug}/commit/{commit}/statuses/build`, API base
 * `https://api.bitbucket.org`.
 * - Body: `key` (the status's identity on the commit: a second POST with the same key overwrites
 *   it), `state` (`INPROGRESS`, `SUCCESSFUL`, `FAILED`, `STOPPED`), `name`, `description`, `url`
 *   (required in practice; Bitbucket reads it as a URI template, so `{` and `}` are sent %-encoded),
 *   optional `refname`.
 * - Limits: `key` under 40 characters (BCLOUD-23984: enforced, not yet in the reference), so a
 *   longer context becomes its start and a digest; no documented limit on `name` or `description`,
 *   which the bridge keeps to 255 characters.
 * - Without a target URL the status links to the commit on bitbucket.org.
 * - Token: `Authorization: Bearer`, a repository, project or workspace access token (or OAuth)
 *   with the `repository` scope. Since May 2021 only a status's creator (or a repository admin)
 *   may overwrite it: every state of one status must be sent with the same token.
 */

import { apiEndpoint, checkedToken, commitSha, jsonPost, keyWithin, pathSegments, segment, statusContextOf, targetUrlWithin, truncate } from './shared';
import type { CommitState, CommitStatus, StatusReporter, StatusRequest } from './types';

/** Keys must be shorter than 40 characters. */
export const BITBUCKET_KEY_LIMIT = 39;
/** The bridge's own cap on `name` and `description`: Bitbucket Cloud documents none. */
export const BITBUCKET_TEXT_LIMIT = 255;

/** Bitbucket Cloud's state for each of the bridge's. */
export const BITBUCKET_STATES: Readonly<Record<CommitState, string>> = {
  pending: 'INPROGRESS',
  success: 'SUCCESSFUL',
  failure: 'FAILED',
  error: 'FAILED',
};

const BITBUCKET_WEB = 'https://bitbucket.org';

/** `https://api.bitbucket.org`. */
export function bitbucketDefaultApiUrl(_sourceHost: string, sourcePath: string): string {
  pathSegments(sourcePath, 2, 'workspace/repo_slug');
  return 'https://api.bitbucket.org';
}

/** The request for `workspace/repo_slug`. */
export function bitbucketStatusRequest(apiUrl: string, sourcePath: string, status: CommitStatus, token: string): StatusRequest {
  const [workspace = '', slug = ''] = pathSegments(sourcePath, 2, 'workspace/repo_slug');
  const sha = commitSha(status.sha);
  const repository = `${segment(workspace)}/${segment(slug)}`;
  const url = apiEndpoint(apiUrl, `/2.0/repositories/${repository}/commit/${sha}/statuses/build`);
  const context = statusContextOf(status.context);
  return jsonPost(
    url,
    { authorization: `Bearer ${checkedToken(token)}` },
    {
      key: keyWithin(context, BITBUCKET_KEY_LIMIT),
      state: BITBUCKET_STATES[status.state],
      name: truncate(context, BITBUCKET_TEXT_LIMIT),
      description: truncate(status.description, BITBUCKET_TEXT_LIMIT),
      url: untemplated(targetUrlWithin(status.targetUrl)) ?? `${BITBUCKET_WEB}/${repository}/commits/${sha}`,
    },
  );
}

/** The URL with `{` and `}` %-encoded, so Bitbucket does not read it as a URI template. */
function untemplated(url: string | undefined): string | undefined {
  return url?.replaceAll('{', '%7B').replaceAll('}', '%7D');
}

export const bitbucketReporter: StatusReporter = {
  host: 'bitbucket',
  defaultApiUrl: bitbucketDefaultApiUrl,
  request: bitbucketStatusRequest,
};
