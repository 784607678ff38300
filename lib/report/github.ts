/**
 * GitHub and GitHub Enterprise Server: "Create a commit status",
 * `POST /repos/{owner}/{repo}/statuses/{sha}` (GitHub's OpenAPI description, `repos/create-commit-status`).
 * - Body: `state` (required; `error`, `failure`, `pending`, `success`), `target_url`, `description`,
 *   `context` (default `default`, case-insensitive).
 * - Limits: `description` 140 characters (longer is a 422); 1,000 statuses per SHA and context in a
 *   repository (more is a validation error), so a commit takes at most a few hundred pushes' worth.
 *   No documented limit on `context`.
 * - Token: `Authorization: Bearer`; a fine-grained token with "Commit statuses: write", or a classic
 *   token with `repo:status`. Users with push access may create statuses.
 */

import { apiEndpoint, checkedToken, commitSha, jsonPost, pathSegments, segment, statusContextOf, targetUrlWithin, truncate } from './shared';
import type { CommitStatus, StatusReporter, StatusRequest } from './types';

/** GitHub refuses a longer description with a 422. */
export const GITHUB_DESCRIPTION_LIMIT = 140;
/** The REST API version these requests are written against. */
export const GITHUB_API_VERSION = '2022-11-28';

const GITHUB_COM = 'github.com';
// GitHub Enterprise Cloud with data residency: octo.ghe.com serves its API at api.octo.ghe.com.
const GHE_COM = /^([a-z0-9-]+)\.ghe\.com$/;

/**
 * `https://api.github.com` for github.com, `https://api.{sub}.ghe.com` for `{sub}.ghe.com`, and
 * GitHub Enterprise Server's `https://{host}/api/v3` for any other host.
 */
export function githubDefaultApiUrl(sourceHost: string, sourcePath: string): string {
  pathSegments(sourcePath, 2, 'owner/repo');
  if (sourceHost === GITHUB_COM) return 'https://api.github.com';
  const dataResidency = GHE_COM.exec(sourceHost);
  if (dataResidency !== null) return `https://api.${dataResidency[1] ?? ''}.ghe.com`;
  return `https://${sourceHost}/api/v3`;
}

/** The request for `owner/repo` (the identity's path on a GitHub host). */
export function githubStatusRequest(apiUrl: string, sourcePath: string, status: CommitStatus, token: string): StatusRequest {
  const [owner = '', repo = ''] = pathSegments(sourcePath, 2, 'owner/repo');
  const url = apiEndpoint(apiUrl, `/repos/${segment(owner)}/${segment(repo)}/statuses/${commitSha(status.sha)}`);
  const targetUrl = targetUrlWithin(status.targetUrl);
  return jsonPost(
    url,
    { authorization: `Bearer ${checkedToken(token)}` },
    {
      state: status.state,
      ...(targetUrl === undefined ? {} : { target_url: targetUrl }),
      description: truncate(status.description, GITHUB_DESCRIPTION_LIMIT),
      context: statusContextOf(status.context),
    },
    { accept: 'application/vnd.github+json', 'x-github-api-version': GITHUB_API_VERSION },
  );
}

export const githubReporter: StatusReporter = {
  host: 'github',
  defaultApiUrl: githubDefaultApiUrl,
  request: githubStatusRequest,
};
