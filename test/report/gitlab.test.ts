import { describe, expect, it } from 'vitest';
import { parseRepositoryUrl } from '../../lib/providers/identity';
import { gitlabReporter } from '../../lib/report/gitlab';
import { splitSource } from '../../lib/report/index';
import { StatusRequestError, type CommitState } from '../../lib/report/types';
import { validate, type Schema } from './json-schema';
import { SHA1, SHA256, TOKEN, bodyOf, expectJsonPost, expectTokenOnlyIn, hasLoneSurrogate, longDescriptionWithEmojiAt, statusOf } from './support';

/**
 * "Set the pipeline status of a commit" (GitLab REST API, commits): the documented attributes.
 * `target_url` at most 255 characters (app/models/generic_commit_status.rb); `name` and
 * `description` are held to the same 255.
 */
const DOCUMENTED_BODY: Schema = {
  type: 'object',
  required: ['state'],
  additionalProperties: false,
  properties: {
    state: { type: 'string', enum: ['pending', 'running', 'success', 'failed', 'canceled', 'skipped'] },
    ref: { type: 'string' },
    name: { type: 'string', maxLength: 255 },
    context: { type: 'string', maxLength: 255 },
    target_url: { type: 'string', maxLength: 255 },
    description: { type: 'string', maxLength: 255 },
    coverage: { type: 'number' },
    pipeline_id: { type: 'integer' },
  },
};

const API = 'https://gitlab.com/api/v4';

describe('gitlabReporter', () => {
  it.each([
    ['pending', 'pending'],
    ['success', 'success'],
    ['failure', 'failed'],
    ['error', 'failed'],
  ] as const)('sends %s as GitLab\'s %s, with the documented fields only', (state: CommitState, expected) => {
    // Act
    const request = gitlabReporter.request(API, 'acme/api', statusOf(state), TOKEN);

    // Assess
    expectJsonPost(request);
    expect(validate(bodyOf(request), DOCUMENTED_BODY)).toEqual([]);
    expect(bodyOf(request)).toEqual({
      state: expected,
      name: 'CodeArts mirror',
      description: 'mirroring to CodeArts group/name',
      target_url: 'https://console.huaweicloud.com/codearts/repo/group/name',
    });
  });

  it('names a project in nested groups by its URL-encoded full path, one path segment', () => {
    // Prepare: the identity a GitLab push of group/sub/project gives.
    const { host, path } = splitSource('gitlab.example.com/group/sub/project');

    // Act
    const request = gitlabReporter.request(gitlabReporter.defaultApiUrl(host, path), path, statusOf('pending'), TOKEN);

    // Assess
    expect(request.url).toBe(`https://gitlab.example.com/api/v4/projects/group%2Fsub%2Fproject/statuses/${SHA1}`);
    // The WHATWG URL the HTTP client parses keeps %2F: the project stays one segment.
    expect(new URL(request.url).pathname).toBe(`/api/v4/projects/group%2Fsub%2Fproject/statuses/${SHA1}`);
  });

  it('encodes characters a path segment cannot hold as they are (a dot, a space in a renamed path)', () => {
    // Prepare
    const source = parseRepositoryUrl('https://gitlab.example.com/my.group/My%20Project');
    const { path } = splitSource('identity' in source ? source.identity : '');

    // Act
    const request = gitlabReporter.request(API, path, statusOf('pending'), TOKEN);

    // Assess
    expect(request.url).toBe(`${API}/projects/my.group%2Fmy%20project/statuses/${SHA1}`);
  });

  it('takes a 64-hex SHA-256 commit', () => {
    // Act
    const request = gitlabReporter.request(API, 'acme/api', statusOf('success', { sha: SHA256 }), TOKEN);

    // Assess
    expect(request.url).toBe(`${API}/projects/acme%2Fapi/statuses/${SHA256}`);
  });

  it('cuts a long description to 255 characters without splitting a surrogate pair', () => {
    // Prepare
    const description = longDescriptionWithEmojiAt(255);

    // Act
    const body = bodyOf(gitlabReporter.request(API, 'acme/api', statusOf('failure', { description }), TOKEN));

    // Assess
    const sent = String(body['description']);
    expect(sent.length).toBeLessThanOrEqual(255);
    expect(hasLoneSurrogate(sent)).toBe(false);
    expect(validate(body, DOCUMENTED_BODY)).toEqual([]);
  });

  it('leaves out a target URL over 255 characters, which GitLab would refuse with the whole status', () => {
    // Prepare
    const targetUrl = `https://example.com/${'p'.repeat(240)}`;

    // Act
    const body = bodyOf(gitlabReporter.request(API, 'acme/api', statusOf('success', { targetUrl }), TOKEN));

    // Assess
    expect(body).not.toHaveProperty('target_url');
    expect(validate(body, DOCUMENTED_BODY)).toEqual([]);
  });

  it('keeps two long contexts apart and each the same from state to state', () => {
    // Prepare
    const first = `CodeArts mirror (${'g'.repeat(250)}/one)`;
    const second = `CodeArts mirror (${'g'.repeat(250)}/two)`;

    // Act
    const names = [
      bodyOf(gitlabReporter.request(API, 'acme/api', statusOf('pending', { context: first }), TOKEN))['name'],
      bodyOf(gitlabReporter.request(API, 'acme/api', statusOf('success', { context: first }), TOKEN))['name'],
      bodyOf(gitlabReporter.request(API, 'acme/api', statusOf('pending', { context: second }), TOKEN))['name'],
    ];

    // Assess
    expect(names[0]).toBe(names[1]);
    expect(names[0]).not.toBe(names[2]);
    expect(String(names[0]).length).toBeLessThanOrEqual(255);
  });

  it('puts the token in the Authorization header only, as Bearer', () => {
    // Act
    const request = gitlabReporter.request(API, 'acme/api', statusOf('pending'), TOKEN);

    // Assess
    expectTokenOnlyIn(request, 'authorization', `Bearer ${TOKEN}`);
  });

  it('refuses a path of one segment, which names no project', () => {
    // Act
    const build = (): unknown => gitlabReporter.request(API, 'acme', statusOf('pending'), TOKEN);

    // Assess
    expect(build).toThrow(StatusRequestError);
  });
});
