/**
 * GitLab (gitlab.com and self-managed): "Set the pipeline status of a commit",
 * `POST /projects/:id/statuses/:sha`, API base `https://{host}/api/v4`.
 * - `:id` is the project's full path, URL-encoded (`group%2Fsub%2Fproject`): nested groups are one
 *   path segment.
 * - Body: `state` (required; `pending`, `running`, `success`, `failed`, `canceled`, `skipped`),
 *   `name` (alias `context`, default `default`), `description`, `target_url`, and optional `ref`,
 *   `pipeline_id`, `coverage`. failure and error both become `failed`.
 * - Limits: `target_url` must be an addressable URL of at most 255 characters
 *   (app/models/generic_commit_status.rb), so a longer one is left out; `name` and `description`
 *   are kept within 255 characters too (a longer `name` keeps its start and a digest, so it stays
 *   one status per mirror).
 * - GitLab moves a status through a state machine: posting the state a status already has (pending
 *   twice) is answered 400 "Cannot transition status", which the sender may take as done.
 * - Token: `Authorization: Bearer` (personal, project or group access token, or OAuth; the
 *   `PRIVATE-TOKEN` header would refuse OAuth tokens) with the `api` scope and at least the Developer role.
 */

import { apiEndpoint, checkedToken, commitSha, jsonPost, keyWithin, pathSegments, segment, statusContextOf, targetUrlWithin, truncate } from './shared';
import type { CommitState, CommitStatus, StatusReporter, StatusRequest } from './types';

/** GitLab's `target_url` limit (and the columns `name` and `description` are kept within). */
export const GITLAB_FIELD_LIMIT = 255;

/** GitLab's state for each of the bridge's. */
export const GITLAB_STATES: Readonly<Record<CommitState, string>> = {
  pending: 'pending',
  success: 'success',
  failure: 'failed',
  error: 'failed',
};

const PROJECT_SHAPE = 'group/project (or group/subgroup/…/project)';

/** `https://{host}/api/v4`. */
export function gitlabDefaultApiUrl(sourceHost: string, sourcePath: string): string {
  pathSegments(sourcePath, { min: 2 }, PROJECT_SHAPE);
  return `https://${sourceHost}/api/v4`;
}

/** The request for the project whose full path is `sourcePath`. */
export function gitlabStatusRequest(apiUrl: string, sourcePath: string, status: CommitStatus, token: string): StatusRequest {
  const projectId = segment(pathSegments(sourcePath, { min: 2 }, PROJECT_SHAPE).join('/'));
  const url = apiEndpoint(apiUrl, `/projects/${projectId}/statuses/${commitSha(status.sha)}`);
  const targetUrl = targetUrlWithin(status.targetUrl, GITLAB_FIELD_LIMIT);
  return jsonPost(
    url,
    { authorization: `Bearer ${checkedToken(token)}` },
    {
      state: GITLAB_STATES[status.state],
      name: keyWithin(statusContextOf(status.context), GITLAB_FIELD_LIMIT),
      description: truncate(status.description, GITLAB_FIELD_LIMIT),
      ...(targetUrl === undefined ? {} : { target_url: targetUrl }),
    },
  );
}

export const gitlabReporter: StatusReporter = {
  host: 'gitlab',
  defaultApiUrl: gitlabDefaultApiUrl,
  request: gitlabStatusRequest,
};
