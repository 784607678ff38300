import { describe, expect, it } from 'vitest';
import { parseRepositoryUrl } from '../../lib/providers/identity';
import { azureDevOpsReporter } from '../../lib/report/azure-devops';
import { splitSource } from '../../lib/report/index';
import { StatusRequestError, type CommitState, type CommitStatus, type StatusRequest } from '../../lib/report/types';
import { validate, type Schema } from './json-schema';
import { SHA1, SHA256, TOKEN, bodyOf, expectJsonPost, expectTokenOnlyIn, hasLoneSurrogate, longDescriptionWithEmojiAt, statusOf } from './support';

/**
 * "Statuses - Create" (Azure DevOps REST API 7.1, Git): the writable fields of `GitStatus`, with
 * `GitStatusState`'s values and `GitStatusContext` (`name` required, `genre`).
 */
const DOCUMENTED_BODY: Schema = {
  type: 'object',
  required: ['state', 'context'],
  additionalProperties: false,
  properties: {
    state: { type: 'string', enum: ['notSet', 'pending', 'succeeded', 'failed', 'error', 'notApplicable', 'partiallySucceeded'] },
    description: { type: 'string' },
    targetUrl: { type: 'string' },
    context: {
      type: 'object',
      required: ['name'],
      additionalProperties: false,
      properties: { name: { type: 'string' }, genre: { type: 'string' } },
    },
  },
};

/** The request for the repository a service hook's `remoteUrl` names, to its default API base. */
function requestFor(remoteUrl: string, state: CommitState = 'pending', overrides: Partial<CommitStatus> = {}): { apiUrl: string; request: StatusRequest } {
  const source = parseRepositoryUrl(remoteUrl);
  const { host, path } = splitSource('identity' in source ? source.identity : '');
  const apiUrl = azureDevOpsReporter.defaultApiUrl(host, path);
  return { apiUrl, request: azureDevOpsReporter.request(apiUrl, path, statusOf(state, overrides), TOKEN) };
}

describe('azureDevOpsReporter', () => {
  it.each([
    ['pending', 'pending'],
    ['success', 'succeeded'],
    ['failure', 'failed'],
    ['error', 'error'],
  ] as const)('sends %s as %s, with the documented fields', (state: CommitState, expected) => {
    // Act
    const { request } = requestFor('https://fabrikam@dev.azure.com/fabrikam/Fiber/_git/Web', state);

    // Assess
    expectJsonPost(request);
    expect(validate(bodyOf(request), DOCUMENTED_BODY)).toEqual([]);
    expect(bodyOf(request)).toEqual({
      state: expected,
      description: 'mirroring to CodeArts group/name',
      targetUrl: 'https://console.huaweicloud.com/codearts/repo/group/name',
      context: { name: 'CodeArts mirror', genre: 'codehub-mirror-bridge' },
    });
  });

  it.each([
    [
      'dev.azure.com',
      'https://fabrikam@dev.azure.com/fabrikam/Fiber/_git/Web',
      'https://dev.azure.com/fabrikam',
      `https://dev.azure.com/fabrikam/fiber/_apis/git/repositories/web/commits/${SHA1}/statuses?api-version=7.1`,
    ],
    [
      'a project and a repository with spaces',
      'https://dev.azure.com/fabrikam/My%20Project/_git/My%20Repo',
      'https://dev.azure.com/fabrikam',
      `https://dev.azure.com/fabrikam/my%20project/_apis/git/repositories/my%20repo/commits/${SHA1}/statuses?api-version=7.1`,
    ],
    [
      'a repository named like its project, without the project',
      'https://dev.azure.com/fabrikam/_git/Fiber',
      'https://dev.azure.com/fabrikam',
      `https://dev.azure.com/fabrikam/fiber/_apis/git/repositories/fiber/commits/${SHA1}/statuses?api-version=7.1`,
    ],
    [
      'an organization named like its project',
      'https://dev.azure.com/fiber/Fiber/_git/Web',
      'https://dev.azure.com/fiber',
      `https://dev.azure.com/fiber/fiber/_apis/git/repositories/web/commits/${SHA1}/statuses?api-version=7.1`,
    ],
    [
      'the old visualstudio.com form with a collection',
      'https://fabrikam.visualstudio.com/DefaultCollection/Fiber/_git/Web',
      'https://fabrikam.visualstudio.com/defaultcollection',
      `https://fabrikam.visualstudio.com/defaultcollection/fiber/_apis/git/repositories/web/commits/${SHA1}/statuses?api-version=7.1`,
    ],
    [
      'Azure DevOps Server under a virtual directory',
      'https://tfs.example.com:8443/tfs/DefaultCollection/Fiber/_git/Web',
      'https://tfs.example.com:8443/tfs/defaultcollection',
      `https://tfs.example.com:8443/tfs/defaultcollection/fiber/_apis/git/repositories/web/commits/${SHA1}/statuses?api-version=7.1`,
    ],
  ])('sends a status for %s to its project and repository', (_, remoteUrl, apiUrl, url) => {
    // Act
    const built = requestFor(remoteUrl);

    // Assess
    expect(built.apiUrl).toBe(apiUrl);
    expect(built.request.url).toBe(url);
  });

  it('takes a project-less path against an API URL that names the collection (api_url override)', () => {
    // Act
    const request = azureDevOpsReporter.request('https://tfs.example.com/tfs/DefaultCollection', 'tfs/defaultcollection/_git/web', statusOf('success'), TOKEN);

    // Assess
    expect(request.url).toBe(`https://tfs.example.com/tfs/DefaultCollection/web/_apis/git/repositories/web/commits/${SHA1}/statuses?api-version=7.1`);
  });

  it('takes a 64-hex SHA-256 commit', () => {
    // Act
    const { request } = requestFor('https://dev.azure.com/fabrikam/Fiber/_git/Web', 'success', { sha: SHA256 });

    // Assess
    expect(request.url).toContain(`/commits/${SHA256}/statuses?`);
  });

  it('cuts a long description without splitting a surrogate pair', () => {
    // Act
    const { request } = requestFor('https://dev.azure.com/fabrikam/Fiber/_git/Web', 'failure', { description: longDescriptionWithEmojiAt(255) });

    // Assess
    const sent = String(bodyOf(request)['description']);
    expect(sent.length).toBeLessThanOrEqual(255);
    expect(hasLoneSurrogate(sent)).toBe(false);
  });

  it('puts the token in the Authorization header only, as Basic base64(":" + PAT)', () => {
    // Act
    const { request } = requestFor('https://dev.azure.com/fabrikam/Fiber/_git/Web');

    // Assess
    const header = request.headers['authorization'] ?? '';
    expectTokenOnlyIn(request, 'authorization', header);
    expect(header.startsWith('Basic ')).toBe(true);
    expect(Buffer.from(header.slice('Basic '.length), 'base64').toString('utf8')).toBe(`:${TOKEN}`);
  });

  it.each(['fabrikam/fiber/web', 'fabrikam/_git/fiber/extra', '_git/web'])('refuses %s on dev.azure.com, which names no repository there', (path) => {
    // Act
    const build = (): unknown => azureDevOpsReporter.defaultApiUrl('dev.azure.com', path);

    // Assess
    expect(build).toThrow(StatusRequestError);
  });
});
