/**
 * Azure DevOps (Services, and Server with `report.api_url`): "Statuses - Create",
 * `POST {organization}/{project}/_apis/git/repositories/{repositoryId}/commits/{commitId}/statuses?api-version=7.1`,
 * API base `https://dev.azure.com/{organization}`.
 * - Body (`GitStatus`): `state` (`notSet`, `pending`, `succeeded`, `failed`, `error`,
 *   `notApplicable`, `partiallySucceeded`), `description`, `targetUrl`, `context` `{ name, genre }`
 *   (name required; Azure shows `genre/name`). failure becomes `failed`, error `error`.
 * - The repository is named by its name, which needs the project too.
 * - Limits: none documented; the bridge keeps the description to 255 characters.
 * - Token: a personal access token with the "Code (status)" scope, sent as
 *   `Authorization: Basic base64(":" + PAT)` (an empty user name).
 *
 * Identities (lib/providers/azure-devops.ts, from `remoteUrl`, %-decoded, lower case):
 * `dev.azure.com/{org}/{project}/_git/{repo}`, `{org}.visualstudio.com[/{collection}]/{project}/_git/{repo}`,
 * Server's `{host}[/{virtual dir}]/{collection}/{project}/_git/{repo}`. The API base is everything
 * before the project; the request takes the project and repository from the end of the path. A
 * repository named like its project may drop the project (`{org}/_git/{repo}`): the request knows it
 * by the API base's path ending with everything before `_git`.
 */

import { apiBase, checkedToken, commitSha, jsonPost, pathSegments, segment, statusContextOf, targetUrlWithin, truncate } from './shared';
import { StatusRequestError, type CommitState, type CommitStatus, type StatusReporter, type StatusRequest } from './types';

export const AZURE_DEVOPS_API_VERSION = '7.1';
/** The bridge's own cap: Azure DevOps documents none. */
export const AZURE_DEVOPS_DESCRIPTION_LIMIT = 255;
/** The genre of every status: Azure shows `codehub-mirror-bridge/CodeArts mirror`. */
export const AZURE_DEVOPS_GENRE = 'codehub-mirror-bridge';

/** Azure DevOps's `GitStatusState` for each of the bridge's. */
export const AZURE_DEVOPS_STATES: Readonly<Record<CommitState, string>> = {
  pending: 'pending',
  success: 'succeeded',
  failure: 'failed',
  error: 'error',
};

const SHAPE = '[organization or collection/][project/]_git/repository';
const DEV_AZURE_COM = 'dev.azure.com';

/** A source path split at `_git`: the segments before it, and the repository after it. */
function splitAtGit(sourcePath: string): { readonly before: readonly string[]; readonly repository: string } {
  const segments = pathSegments(sourcePath, { min: 2 }, SHAPE);
  const git = segments.length - 2;
  if (segments[git] !== '_git' || segments.indexOf('_git') !== git) {
    throw new StatusRequestError('REPORT_BAD_SOURCE_PATH', `the source path is not ${SHAPE}`);
  }
  return { before: segments.slice(0, git), repository: segments[git + 1] ?? '' };
}

/**
 * `https://dev.azure.com/{org}` on dev.azure.com; elsewhere `https://{host}` and the segments before
 * the project (`https://{org}.visualstudio.com`, `https://tfs.example.com/tfs/defaultcollection`).
 */
export function azureDevOpsDefaultApiUrl(sourceHost: string, sourcePath: string): string {
  const { before } = splitAtGit(sourcePath);
  if (sourceHost === DEV_AZURE_COM) {
    const organization = before[0];
    if (organization === undefined) {
      throw new StatusRequestError('REPORT_BAD_SOURCE_PATH', 'the source path names no organization');
    }
    return `https://${DEV_AZURE_COM}/${segment(organization)}`;
  }
  const collection = before.slice(0, -1).map((part) => `/${segment(part)}`);
  return `https://${sourceHost}${collection.join('')}`;
}

/** The request for the repository at `sourcePath`. */
export function azureDevOpsStatusRequest(apiUrl: string, sourcePath: string, status: CommitStatus, token: string): StatusRequest {
  const { before, repository } = splitAtGit(sourcePath);
  const base = apiBase(apiUrl);
  const project = projectOf(before, repository, base.path);
  const path = `/${segment(project)}/_apis/git/repositories/${segment(repository)}/commits/${commitSha(status.sha)}/statuses`;
  const targetUrl = targetUrlWithin(status.targetUrl);
  return jsonPost(
    `${base.origin}${base.path}${path}?api-version=${AZURE_DEVOPS_API_VERSION}`,
    { authorization: `Basic ${Buffer.from(`:${checkedToken(token)}`, 'utf8').toString('base64')}` },
    {
      state: AZURE_DEVOPS_STATES[status.state],
      description: truncate(status.description, AZURE_DEVOPS_DESCRIPTION_LIMIT),
      ...(targetUrl === undefined ? {} : { targetUrl }),
      context: { name: statusContextOf(status.context), genre: AZURE_DEVOPS_GENRE },
    },
  );
}

/**
 * The project: the segment before `_git`, unless the API base already ends with every segment
 * before `_git` (they are the organization or collection, and the repository is named like its
 * project) or there is none.
 */
function projectOf(before: readonly string[], repository: string, apiPath: string): string {
  const last = before.at(-1);
  if (last === undefined) return repository;
  const apiSegments = apiPath.split('/').filter((part) => part !== '').map(decodedLowerCase);
  const tail = apiSegments.slice(-before.length);
  const apiEndsWithAll = tail.length === before.length && tail.every((part, index) => part === before[index]);
  return apiEndsWithAll ? repository : last;
}

/** An API URL segment spelled as in an identity: decoded once, A to Z lower-cased. */
function decodedLowerCase(part: string): string {
  let decoded = part;
  try {
    decoded = decodeURIComponent(part);
  } catch {
    // not UTF-8 %-escapes: compare as written
  }
  return decoded.replace(/[A-Z]+/g, (letters) => letters.toLowerCase());
}

export const azureDevOpsReporter: StatusReporter = {
  host: 'azure-devops',
  defaultApiUrl: azureDevOpsDefaultApiUrl,
  request: azureDevOpsStatusRequest,
};
