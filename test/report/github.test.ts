import { describe, expect, it } from 'vitest';
import { githubDefaultApiUrl, githubReporter } from '../../lib/report/github';
import { StatusRequestError, type CommitState } from '../../lib/report/types';
import { validate, type Schema } from './json-schema';
import { openApiParts } from './openapi';
import { SHA1, SHA256, TOKEN, bodyOf, expectJsonPost, expectTokenOnlyIn, hasLoneSurrogate, longDescriptionWithEmojiAt, statusOf } from './support';

const TEMPLATE = '/repos/{owner}/{repo}/statuses/{sha}';
const STATES: readonly CommitState[] = ['pending', 'success', 'failure', 'error'];

/** The `post` operation of the path item, with its JSON request body schema; fails when either is missing. */
function createCommitStatus(file: string): { readonly schema: Schema; readonly serverUrl: string } {
  const { servers, pathItem } = openApiParts(file, TEMPLATE);
  expect(pathItem, `${file} has no ${TEMPLATE}`).toBeDefined();
  const post = pathItem?.['post'] as { operationId?: string; requestBody?: { content?: Record<string, { schema?: Schema }> } } | undefined;
  expect(post?.operationId, `${file} has no POST ${TEMPLATE}`).toBe('repos/create-commit-status');
  const schema = post?.requestBody?.content?.['application/json']?.schema;
  expect(schema, `${file}: the operation takes no application/json body`).toBeDefined();
  return { schema: schema ?? {}, serverUrl: servers[0]?.url ?? '' };
}

/** The path parameters of `url` after `base`, when its path matches the template; undefined otherwise. */
function pathParameters(url: string, base: string): Record<string, string> | undefined {
  expect(url.startsWith(`${base}/`)).toBe(true);
  const names = [...TEMPLATE.matchAll(/\{(\w+)\}/g)].map((match) => match[1] ?? '');
  const pattern = new RegExp(`^${TEMPLATE.replace(/\{\w+\}/g, '([^/]+)')}$`);
  const values = pattern.exec(url.slice(base.length));
  if (values === null) return undefined;
  return Object.fromEntries(names.map((name, index) => [name, decodeURIComponent(values[index + 1] ?? '')]));
}

describe('githubReporter against api.github.com\'s OpenAPI description', () => {
  it.each(STATES)('builds a %s status the operation takes: its path, method and body schema', (state) => {
    // Prepare
    const { schema, serverUrl } = createCommitStatus('api.github.com.deref.json');
    const apiUrl = githubDefaultApiUrl('github.com', 'acme/api');

    // Act
    const request = githubReporter.request(apiUrl, 'acme/api', statusOf(state), TOKEN);

    // Assess
    expect(apiUrl).toBe(serverUrl);
    expectJsonPost(request);
    expect(pathParameters(request.url, serverUrl)).toEqual({ owner: 'acme', repo: 'api', sha: SHA1 });
    expect(validate(bodyOf(request), schema)).toEqual([]);
    expect(bodyOf(request)).toEqual({
      state,
      target_url: 'https://console.huaweicloud.com/codearts/repo/group/name',
      description: 'mirroring to CodeArts group/name',
      context: 'CodeArts mirror',
    });
  });

  it('has a validator that would refuse a wrong body (so the test above can fail)', () => {
    // Prepare
    const { schema } = createCommitStatus('api.github.com.deref.json');

    // Act
    const problems = [
      validate({ state: 'succeeded' }, schema),
      validate({ description: 'no state' }, schema),
      validate({ state: 'success', context: 7 }, schema),
    ];

    // Assess
    expect(problems.map((found) => found.length > 0)).toEqual([true, true, true]);
  });

  it('builds a body without target_url that the schema takes', () => {
    // Prepare
    const { schema } = createCommitStatus('api.github.com.deref.json');

    // Act
    const request = githubReporter.request('https://api.github.com', 'acme/api', statusOf('success', { targetUrl: undefined }), TOKEN);

    // Assess
    expect(bodyOf(request)).not.toHaveProperty('target_url');
    expect(validate(bodyOf(request), schema)).toEqual([]);
  });
});

describe('githubReporter against GitHub Enterprise Server 3.19\'s OpenAPI description', () => {
  it('sends to the server URL the description names ({protocol}://{hostname}/api/v3)', () => {
    // Prepare
    const { schema, serverUrl } = createCommitStatus('ghes-3.19.deref.json');
    const expected = serverUrl.replace('{protocol}', 'https').replace('{hostname}', 'ghe.example.com');
    const apiUrl = githubDefaultApiUrl('ghe.example.com', 'platform/api');

    // Act
    const request = githubReporter.request(apiUrl, 'platform/api', statusOf('failure', { sha: SHA256 }), TOKEN);

    // Assess
    expect(apiUrl).toBe(expected);
    expect(pathParameters(request.url, expected)).toEqual({ owner: 'platform', repo: 'api', sha: SHA256 });
    expect(validate(bodyOf(request), schema)).toEqual([]);
  });
});

describe('githubReporter', () => {
  it('takes the API base of github.com, GHE.com data residency and GHES', () => {
    // Act
    const urls = [
      githubReporter.defaultApiUrl('github.com', 'acme/api'),
      githubReporter.defaultApiUrl('octo.ghe.com', 'acme/api'),
      githubReporter.defaultApiUrl('ghe.example.com:8443', 'acme/api'),
    ];

    // Assess
    expect(urls).toEqual(['https://api.github.com', 'https://api.octo.ghe.com', 'https://ghe.example.com:8443/api/v3']);
  });

  it('cuts a description to GitHub\'s 140 characters without splitting a surrogate pair', () => {
    // Prepare
    const description = longDescriptionWithEmojiAt(140);

    // Act
    const sent = bodyOf(githubReporter.request('https://api.github.com', 'acme/api', statusOf('failure', { description }), TOKEN))['description'];

    // Assess
    expect(typeof sent).toBe('string');
    const text = String(sent);
    expect(text.length).toBeLessThanOrEqual(140);
    expect(hasLoneSurrogate(text)).toBe(false);
    expect(text.endsWith('…')).toBe(true);
    expect(text.startsWith('a'.repeat(138))).toBe(true);
  });

  it('leaves a description of exactly 140 characters as it is', () => {
    // Prepare
    const description = 'x'.repeat(140);

    // Act
    const sent = bodyOf(githubReporter.request('https://api.github.com', 'acme/api', statusOf('success', { description }), TOKEN))['description'];

    // Assess
    expect(sent).toBe(description);
  });

  it('puts the token in the Authorization header only, as Bearer, with the API version', () => {
    // Act
    const request = githubReporter.request('https://api.github.com/', 'acme/api', statusOf('pending'), TOKEN);

    // Assess
    expectTokenOnlyIn(request, 'authorization', `Bearer ${TOKEN}`);
    expect(request.headers['accept']).toBe('application/vnd.github+json');
    expect(request.headers['x-github-api-version']).toBe('2022-11-28');
    expect(request.url).toBe(`https://api.github.com/repos/acme/api/statuses/${SHA1}`);
  });

  it('sends a SHA written in upper case in lower case', () => {
    // Act
    const request = githubReporter.request('https://api.github.com', 'acme/api', statusOf('success', { sha: SHA256.toUpperCase() }), TOKEN);

    // Assess
    expect(request.url.endsWith(`/statuses/${SHA256}`)).toBe(true);
  });

  it.each([
    ['a short SHA', { sha: SHA1.slice(0, 12) }, 'REPORT_BAD_SHA'],
    ['a SHA of 41 digits', { sha: `${SHA1}0` }, 'REPORT_BAD_SHA'],
    ['a ref instead of a SHA', { sha: 'refs/heads/main' }, 'REPORT_BAD_SHA'],
    ['an empty context', { context: ' ' }, 'REPORT_BAD_STATUS'],
    ['a target URL that is not http(s)', { targetUrl: 'javascript:alert(1)' }, 'REPORT_BAD_STATUS'],
  ] as const)('refuses %s', (_, overrides, code) => {
    // Act
    const build = (): unknown => githubReporter.request('https://api.github.com', 'acme/api', statusOf('success', overrides), TOKEN);

    // Assess
    expect(build).toThrow(expect.objectContaining({ name: 'StatusRequestError', code }));
  });

  it.each(['acme', 'acme/api/extra', 'acme//api', 'acme/..'])('refuses the source path %s, which is no owner/repo', (path) => {
    // Act
    const build = (): unknown => githubReporter.request('https://api.github.com', path, statusOf('success'), TOKEN);

    // Assess
    expect(build).toThrow(StatusRequestError);
    expect(() => githubReporter.defaultApiUrl('github.com', path)).toThrow(StatusRequestError);
  });
});
