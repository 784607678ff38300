import { describe, expect, it } from 'vitest';
import { giteaReporter } from '../../lib/report/gitea';
import { reportHostOf } from '../../lib/report/index';
import { StatusRequestError, type CommitState } from '../../lib/report/types';
import { validate, type Schema } from './json-schema';
import { SHA1, SHA256, TOKEN, bodyOf, expectJsonPost, expectTokenOnlyIn, hasLoneSurrogate, longDescriptionWithEmojiAt, statusOf } from './support';

/** Gitea's (and Forgejo's) `CreateStatusOption`, with `CommitStatusState`'s values. */
const DOCUMENTED_BODY: Schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    state: { type: 'string', enum: ['pending', 'success', 'error', 'failure', 'warning'] },
    target_url: { type: 'string' },
    description: { type: 'string' },
    context: { type: 'string' },
  },
};

const API = 'https://gitea.example.com/api/v1';

describe('giteaReporter', () => {
  it.each(['pending', 'success', 'failure', 'error'] as const)('sends %s as Gitea\'s state of the same name', (state: CommitState) => {
    // Act
    const request = giteaReporter.request(API, 'acme/api', statusOf(state), TOKEN);

    // Assess
    expectJsonPost(request);
    expect(request.url).toBe(`${API}/repos/acme/api/statuses/${SHA1}`);
    expect(validate(bodyOf(request), DOCUMENTED_BODY)).toEqual([]);
    expect(bodyOf(request)).toEqual({
      state,
      target_url: 'https://console.huaweicloud.com/codearts/repo/group/name',
      description: 'mirroring to CodeArts group/name',
      context: 'CodeArts mirror',
    });
  });

  it('serves Forgejo with the same API, at https://{host}/api/v1', () => {
    // Act
    const host = reportHostOf('forgejo', 'codeberg.org');
    const apiUrl = giteaReporter.defaultApiUrl('codeberg.org', 'acme/api');

    // Assess
    expect(host).toBe('gitea');
    expect(apiUrl).toBe('https://codeberg.org/api/v1');
  });

  it('takes a 64-hex SHA-256 commit (Gitea stores up to 64 digits)', () => {
    // Act
    const request = giteaReporter.request(API, 'acme/api', statusOf('success', { sha: SHA256 }), TOKEN);

    // Assess
    expect(request.url).toBe(`${API}/repos/acme/api/statuses/${SHA256}`);
  });

  it('keeps an API base under a sub-path (Gitea served at /git)', () => {
    // Act
    const request = giteaReporter.request('https://example.com/git/api/v1/', 'acme/api', statusOf('success'), TOKEN);

    // Assess
    expect(request.url).toBe(`https://example.com/git/api/v1/repos/acme/api/statuses/${SHA1}`);
  });

  it('%-encodes a repository name with a space or a percent sign', () => {
    // Act
    const request = giteaReporter.request(API, 'acme/my repo%', statusOf('success'), TOKEN);

    // Assess
    expect(request.url).toBe(`${API}/repos/acme/my%20repo%25/statuses/${SHA1}`);
  });

  it('cuts a long description to one short line (255) without splitting a surrogate pair', () => {
    // Prepare
    const description = longDescriptionWithEmojiAt(255);

    // Act
    const sent = String(bodyOf(giteaReporter.request(API, 'acme/api', statusOf('failure', { description }), TOKEN))['description']);

    // Assess
    expect(sent.length).toBeLessThanOrEqual(255);
    expect(hasLoneSurrogate(sent)).toBe(false);
  });

  it('puts the token in the Authorization header only, as "token …"', () => {
    // Act
    const request = giteaReporter.request(API, 'acme/api', statusOf('pending'), TOKEN);

    // Assess
    expectTokenOnlyIn(request, 'authorization', `token ${TOKEN}`);
  });

  it('refuses a path with a group, which Gitea does not have', () => {
    // Act
    const build = (): unknown => giteaReporter.request(API, 'acme/sub/api', statusOf('pending'), TOKEN);

    // Assess
    expect(build).toThrow(StatusRequestError);
  });
});
