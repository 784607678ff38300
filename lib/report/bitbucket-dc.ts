/**
 * Bitbucket Data Center (and Server 7.4+): "Store a build status",
 * `POST /rest/api/latest/projects/{projectKey}/repos/{repositorySlug}/commits/{commitId}/builds`,
 * API base `https://{host}` (an instance under a context path, `https://host/bitbucket`, needs
 * `report.api_url`: the source identity keeps only the host).
 * - Body: `key`, `state` and `url` required; `name`, `description` (also `buildNumber`, `duration`,
 *   `parent`, `ref`, `testResults`). States `INPROGRESS`, `SUCCESSFUL`, `FAILED` (and, on newer
 *   versions, `CANCELLED`, `UNKNOWN`). The same key on the same commit replaces the status.
 * - Limits: every field at most 255 characters except `url`, at most 450. A longer context becomes
 *   its start and a digest; a longer target URL is replaced by the commit's page.
 * - The identity's path is `{project key}/{slug}` in lower case (personal repositories `~user/slug`);
 *   Bitbucket looks project keys up without regard to case.
 * - Without a target URL the status links to the commit's page on the instance.
 * - Token: `Authorization: Bearer`, an HTTP access token (project or repository) with write
 *   permission on the repository.
 */

import { apiBase, checkedToken, commitSha, jsonPost, keyWithin, pathSegments, segment, statusContextOf, targetUrlWithin, truncate } from './shared';
import type { CommitState, CommitStatus, StatusReporter, StatusRequest } from './types';

/** Every field's limit but `url`'s. */
export const BITBUCKET_DC_FIELD_LIMIT = 255;
/** `url`'s limit. */
export const BITBUCKET_DC_URL_LIMIT = 450;

/** Bitbucket Data Center's state for each of the bridge's. */
export const BITBUCKET_DC_STATES: Readonly<Record<CommitState, string>> = {
  pending: 'INPROGRESS',
  success: 'SUCCESSFUL',
  failure: 'FAILED',
  error: 'FAILED',
};

const SHAPE = 'PROJECT/repository';

/** `https://{host}`. */
export function bitbucketDcDefaultApiUrl(sourceHost: string, sourcePath: string): string {
  pathSegments(sourcePath, 2, SHAPE);
  return `https://${sourceHost}`;
}

/** The request for `{project key}/{slug}`. */
export function bitbucketDcStatusRequest(apiUrl: string, sourcePath: string, status: CommitStatus, token: string): StatusRequest {
  const [project = '', slug = ''] = pathSegments(sourcePath, 2, SHAPE);
  const sha = commitSha(status.sha);
  const base = apiBase(apiUrl);
  const instance = `${base.origin}${base.path}`;
  const repository = `projects/${segment(project)}/repos/${segment(slug)}`;
  const context = statusContextOf(status.context);
  return jsonPost(
    `${instance}/rest/api/latest/${repository}/commits/${sha}/builds`,
    { authorization: `Bearer ${checkedToken(token)}` },
    {
      key: keyWithin(context, BITBUCKET_DC_FIELD_LIMIT),
      state: BITBUCKET_DC_STATES[status.state],
      name: truncate(context, BITBUCKET_DC_FIELD_LIMIT),
      description: truncate(status.description, BITBUCKET_DC_FIELD_LIMIT),
      url: targetUrlWithin(status.targetUrl, BITBUCKET_DC_URL_LIMIT) ?? commitPage(instance, repository, sha),
    },
  );
}

/** The commit's page on the instance; the instance itself should that not fit (a very long base URL). */
function commitPage(instance: string, repository: string, sha: string): string {
  const page = `${instance}/${repository}/commits/${sha}`;
  return page.length <= BITBUCKET_DC_URL_LIMIT ? page : instance;
}

export const bitbucketDcReporter: StatusReporter = {
  host: 'bitbucket-dc',
  defaultApiUrl: bitbucketDcDefaultApiUrl,
  request: bitbucketDcStatusRequest,
};
