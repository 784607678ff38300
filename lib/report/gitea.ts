/**
 * Gitea and Forgejo (Forgejo keeps Gitea's API): "Create a commit status",
 * `POST /repos/{owner}/{repo}/statuses/{sha}`, API base `https://{host}/api/v1`.
 * - Body (`CreateStatusOption`): `state` (`pending`, `success`, `error`, `failure`, `warning`),
 *   `target_url`, `description`, `context`; the bridge's states are Gitea's own.
 * - Limits: none documented; Gitea stores `description`, `context` and `target_url` as TEXT and
 *   SHAs of 40 or 64 digits. The bridge keeps the description to one short line (255 characters)
 *   because Gitea shows it beside the commit.
 * - Token: `Authorization: token …`, an access token with the `write:repository` scope, of a user
 *   with write access.
 */

import { apiEndpoint, checkedToken, commitSha, jsonPost, pathSegments, segment, statusContextOf, targetUrlWithin, truncate } from './shared';
import type { CommitStatus, StatusReporter, StatusRequest } from './types';

/** The bridge's own cap: Gitea documents none. */
export const GITEA_DESCRIPTION_LIMIT = 255;

/** `https://{host}/api/v1`. */
export function giteaDefaultApiUrl(sourceHost: string, sourcePath: string): string {
  pathSegments(sourcePath, 2, 'owner/repo');
  return `https://${sourceHost}/api/v1`;
}

/** The request for `owner/repo`. */
export function giteaStatusRequest(apiUrl: string, sourcePath: string, status: CommitStatus, token: string): StatusRequest {
  const [owner = '', repo = ''] = pathSegments(sourcePath, 2, 'owner/repo');
  const url = apiEndpoint(apiUrl, `/repos/${segment(owner)}/${segment(repo)}/statuses/${commitSha(status.sha)}`);
  const targetUrl = targetUrlWithin(status.targetUrl);
  return jsonPost(
    url,
    { authorization: `token ${checkedToken(token)}` },
    {
      state: status.state,
      ...(targetUrl === undefined ? {} : { target_url: targetUrl }),
      description: truncate(status.description, GITEA_DESCRIPTION_LIMIT),
      context: statusContextOf(status.context),
    },
  );
}

export const giteaReporter: StatusReporter = {
  host: 'gitea',
  defaultApiUrl: giteaDefaultApiUrl,
  request: giteaStatusRequest,
};
