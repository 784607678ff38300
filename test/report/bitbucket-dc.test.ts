import { describe, expect, it } from 'vitest';
import { sourceIdentity } from '../../lib/providers/identity';
import { bitbucketDcReporter } from '../../lib/report/bitbucket-dc';
import { splitSource } from '../../lib/report/index';
import { StatusRequestError, type CommitState } from '../../lib/report/types';
import { validate, type Schema } from './json-schema';
import { SHA1, SHA256, TOKEN, bodyOf, expectJsonPost, expectTokenOnlyIn, hasLoneSurrogate, longDescriptionWithEmojiAt, statusOf } from './support';

/**
 * "Store a build status" (Bitbucket Data Center REST API, builds and deployments): `key`, `state`
 * and `url` are mandatory; every field is limited to 255 characters except `url`, limited to 450.
 */
const DOCUMENTED_BODY: Schema = {
  type: 'object',
  required: ['key', 'state', 'url'],
  additionalProperties: false,
  properties: {
    key: { type: 'string', maxLength: 255 },
    state: { type: 'string', enum: ['INPROGRESS', 'SUCCESSFUL', 'FAILED', 'CANCELLED', 'UNKNOWN'] },
    url: { type: 'string', maxLength: 450 },
    name: { type: 'string', maxLength: 255 },
    description: { type: 'string', maxLength: 255 },
    buildNumber: { type: 'string', maxLength: 255 },
    duration: { type: 'integer' },
    parent: { type: 'string', maxLength: 255 },
    ref: { type: 'string', maxLength: 255 },
  },
};

/** The identity a `repo:refs_changed` payload of project PROJ, repository my-repo on bitbucket.example.com gives. */
const SOURCE = splitSource(sourceIdentity('bitbucket.example.com', 'PROJ/my-repo'));

describe('bitbucketDcReporter (Bitbucket Data Center)', () => {
  it.each([
    ['pending', 'INPROGRESS'],
    ['success', 'SUCCESSFUL'],
    ['failure', 'FAILED'],
    ['error', 'FAILED'],
  ] as const)('sends %s as %s, with the documented fields', (state: CommitState, expected) => {
    // Prepare
    const apiUrl = bitbucketDcReporter.defaultApiUrl(SOURCE.host, SOURCE.path);

    // Act
    const request = bitbucketDcReporter.request(apiUrl, SOURCE.path, statusOf(state), TOKEN);

    // Assess
    expectJsonPost(request);
    expect(SOURCE.path).toBe('proj/my-repo');
    expect(request.url).toBe(`https://bitbucket.example.com/rest/api/latest/projects/proj/repos/my-repo/commits/${SHA1}/builds`);
    expect(validate(bodyOf(request), DOCUMENTED_BODY)).toEqual([]);
    expect(bodyOf(request)).toMatchObject({ key: 'CodeArts mirror', state: expected, name: 'CodeArts mirror' });
  });

  it('goes to an instance under a context path when api_url says so', () => {
    // Act
    const request = bitbucketDcReporter.request('https://example.com/bitbucket/', SOURCE.path, statusOf('success', { sha: SHA256 }), TOKEN);

    // Assess
    expect(request.url).toBe(`https://example.com/bitbucket/rest/api/latest/projects/proj/repos/my-repo/commits/${SHA256}/builds`);
  });

  it('names a personal repository by ~user as Bitbucket does', () => {
    // Act
    const request = bitbucketDcReporter.request('https://bitbucket.example.com', '~jdoe/scratch', statusOf('success'), TOKEN);

    // Assess
    expect(request.url).toBe(`https://bitbucket.example.com/rest/api/latest/projects/~jdoe/repos/scratch/commits/${SHA1}/builds`);
  });

  it('links to the commit\'s page when there is no target URL, or one over 450 characters', () => {
    // Act
    const bodies = [undefined, `https://example.com/${'p'.repeat(440)}`].map((targetUrl) =>
      bodyOf(bitbucketDcReporter.request('https://bitbucket.example.com', SOURCE.path, statusOf('success', { targetUrl }), TOKEN)),
    );

    // Assess
    for (const body of bodies) {
      expect(body['url']).toBe(`https://bitbucket.example.com/projects/proj/repos/my-repo/commits/${SHA1}`);
      expect(validate(body, DOCUMENTED_BODY)).toEqual([]);
    }
  });

  it('holds key, name and description to 255 characters, never splitting a surrogate pair', () => {
    // Prepare
    const context = `CodeArts mirror (${'g'.repeat(300)}/name)`;
    const description = longDescriptionWithEmojiAt(255);

    // Act
    const body = bodyOf(bitbucketDcReporter.request('https://bitbucket.example.com', SOURCE.path, statusOf('failure', { context, description }), TOKEN));

    // Assess
    expect(validate(body, DOCUMENTED_BODY)).toEqual([]);
    for (const field of ['key', 'name', 'description']) {
      expect(String(body[field]).length).toBeLessThanOrEqual(255);
      expect(hasLoneSurrogate(String(body[field]))).toBe(false);
    }
  });

  it('puts the token in the Authorization header only, as Bearer', () => {
    // Act
    const request = bitbucketDcReporter.request('https://bitbucket.example.com', SOURCE.path, statusOf('pending'), TOKEN);

    // Assess
    expectTokenOnlyIn(request, 'authorization', `Bearer ${TOKEN}`);
  });

  it('refuses a path that is not PROJECT/repository', () => {
    // Act
    const build = (): unknown => bitbucketDcReporter.defaultApiUrl('bitbucket.example.com', 'proj');

    // Assess
    expect(build).toThrow(StatusRequestError);
  });
});
