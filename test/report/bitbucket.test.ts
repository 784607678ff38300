import { describe, expect, it } from 'vitest';
import { bitbucketReporter } from '../../lib/report/bitbucket';
import { reportHostOf } from '../../lib/report/index';
import { StatusRequestError, type CommitState } from '../../lib/report/types';
import { validate, type Schema } from './json-schema';
import { SHA1, TOKEN, bodyOf, expectJsonPost, expectTokenOnlyIn, hasLoneSurrogate, longDescriptionWithEmojiAt, statusOf } from './support';

/**
 * "Create a build status for a commit" (Bitbucket Cloud REST API, commit statuses): the
 * documented fields; `key`, `state` and `url` are required in practice, and keys must be shorter
 * than 40 characters (BCLOUD-23984).
 */
const DOCUMENTED_BODY: Schema = {
  type: 'object',
  required: ['key', 'state', 'url'],
  additionalProperties: false,
  properties: {
    key: { type: 'string', maxLength: 39 },
    state: { type: 'string', enum: ['INPROGRESS', 'SUCCESSFUL', 'FAILED', 'STOPPED'] },
    name: { type: 'string' },
    description: { type: 'string' },
    url: { type: 'string' },
    refname: { type: 'string' },
  },
};

const API = 'https://api.bitbucket.org';

describe('bitbucketReporter (Bitbucket Cloud)', () => {
  it.each([
    ['pending', 'INPROGRESS'],
    ['success', 'SUCCESSFUL'],
    ['failure', 'FAILED'],
    ['error', 'FAILED'],
  ] as const)('sends %s as %s, with the documented fields', (state: CommitState, expected) => {
    // Act
    const request = bitbucketReporter.request(bitbucketReporter.defaultApiUrl('bitbucket.org', 'ws/repo'), 'ws/repo', statusOf(state), TOKEN);

    // Assess
    expectJsonPost(request);
    expect(request.url).toBe(`${API}/2.0/repositories/ws/repo/commit/${SHA1}/statuses/build`);
    expect(validate(bodyOf(request), DOCUMENTED_BODY)).toEqual([]);
    expect(bodyOf(request)).toEqual({
      key: 'CodeArts mirror',
      state: expected,
      name: 'CodeArts mirror',
      description: 'mirroring to CodeArts group/name',
      url: 'https://console.huaweicloud.com/codearts/repo/group/name',
    });
  });

  it('is the reporter for bitbucket.org pushes; another host is Data Center', () => {
    // Act
    const hosts = [reportHostOf('bitbucket', 'bitbucket.org'), reportHostOf('bitbucket', 'bitbucket.example.com')];

    // Assess
    expect(hosts).toEqual(['bitbucket', 'bitbucket-dc']);
  });

  it('links to the commit on bitbucket.org when there is no target URL (url is required)', () => {
    // Act
    const body = bodyOf(bitbucketReporter.request(API, 'ws/repo', statusOf('success', { targetUrl: undefined }), TOKEN));

    // Assess
    expect(body['url']).toBe(`https://bitbucket.org/ws/repo/commits/${SHA1}`);
    expect(validate(body, DOCUMENTED_BODY)).toEqual([]);
  });

  it('%-encodes braces in the target URL, which Bitbucket would read as a URI template', () => {
    // Act
    const body = bodyOf(bitbucketReporter.request(API, 'ws/repo', statusOf('success', { targetUrl: 'https://example.com/p/{repository.full_name}' }), TOKEN));

    // Assess
    expect(body['url']).toBe('https://example.com/p/%7Brepository.full_name%7D');
  });

  it('keeps a fan-out context\'s key under 40 characters, the same from state to state, apart from others', () => {
    // Prepare
    const first = 'CodeArts mirror (platform-team/payments-service)';
    const second = 'CodeArts mirror (platform-team/payments-gateway)';

    // Act
    const keys = [
      bodyOf(bitbucketReporter.request(API, 'ws/repo', statusOf('pending', { context: first }), TOKEN)),
      bodyOf(bitbucketReporter.request(API, 'ws/repo', statusOf('success', { context: first }), TOKEN)),
      bodyOf(bitbucketReporter.request(API, 'ws/repo', statusOf('pending', { context: second }), TOKEN)),
    ].map((body) => String(body['key']));

    // Assess
    expect(keys.every((key) => key.length < 40)).toBe(true);
    expect(keys[0]).toBe(keys[1]);
    expect(keys[0]).not.toBe(keys[2]);
    expect(keys[0]?.startsWith('CodeArts mirror (platform')).toBe(true);
  });

  it('keeps the full context as the name people read', () => {
    // Prepare
    const context = 'CodeArts mirror (platform-team/payments-service)';

    // Act
    const body = bodyOf(bitbucketReporter.request(API, 'ws/repo', statusOf('pending', { context }), TOKEN));

    // Assess
    expect(body['name']).toBe(context);
  });

  it('cuts a long description without splitting a surrogate pair', () => {
    // Prepare
    const description = longDescriptionWithEmojiAt(255);

    // Act
    const sent = String(bodyOf(bitbucketReporter.request(API, 'ws/repo', statusOf('failure', { description }), TOKEN))['description']);

    // Assess
    expect(sent.length).toBeLessThanOrEqual(255);
    expect(hasLoneSurrogate(sent)).toBe(false);
  });

  it('puts the token in the Authorization header only, as Bearer', () => {
    // Act
    const request = bitbucketReporter.request(API, 'ws/repo', statusOf('pending'), TOKEN);

    // Assess
    expectTokenOnlyIn(request, 'authorization', `Bearer ${TOKEN}`);
  });

  it('refuses a path that is not workspace/repo_slug', () => {
    // Act
    const build = (): unknown => bitbucketReporter.request(API, 'ws/project/repo', statusOf('pending'), TOKEN);

    // Assess
    expect(build).toThrow(StatusRequestError);
  });
});
