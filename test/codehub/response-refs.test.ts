import { describe, expect, it } from 'vitest';
import type { CodeHubError } from '../../lib/errors';
import { ErrorCodes } from '../../lib/errors';
import { errorFromResponse, isAbsentRef, readCommitSha, readRefCommitSha } from '../../lib/codehub/response';
import { codeHubErrorThrownBy } from '../support/codehub';

const SHA1 = '0123456789abcdef0123456789abcdef01234567';
const SHA256 = 'ab'.repeat(32);

const thrown = codeHubErrorThrownBy;

function answer(status: number, body: unknown): CodeHubError {
  return errorFromResponse({ status, headers: {}, body: JSON.stringify(body) }, 'read branch main of repository 7', 0, []);
}

describe('reading ShowBranch / ShowTag / ShowCommit answers', () => {
  it('takes commit.id of a branch or tag and id of a commit, SHA-1 or SHA-256, in lower case', () => {
    // Act
    const branch = readRefCommitSha(JSON.stringify({ name: 'main', commit: { id: SHA1.toUpperCase(), short_id: '0123456' } }), 'op');
    const tag = readRefCommitSha(JSON.stringify({ name: 'v1', target: SHA256, commit: { id: SHA256 } }), 'op');
    const commit = readCommitSha(JSON.stringify({ id: SHA1, parent_ids: [] }), 'op');

    // Assess
    expect([branch, tag, commit]).toEqual([SHA1, SHA256, SHA1]);
  });

  it('refuses a 200 without a full commit id as CODEHUB_BAD_RESPONSE', () => {
    // Act
    const bodies = ['not json', JSON.stringify({ name: 'main' }), JSON.stringify({ commit: { id: SHA1.slice(0, 12) } }), JSON.stringify({ commit: { id: 42 } })];
    const errors = bodies.map((body) => thrown(() => readRefCommitSha(body, 'read branch main')));
    const commitError = thrown(() => readCommitSha(JSON.stringify({ commit: { id: SHA1 } }), 'read commit main'));

    // Assess
    expect(errors.map((error) => error.code)).toEqual(Array(4).fill(ErrorCodes.CODEHUB_BAD_RESPONSE));
    expect(commitError.code).toBe(ErrorCodes.CODEHUB_BAD_RESPONSE);
  });

  it('takes only a 404 with a CH.* code as an absent ref', () => {
    // Act
    const absent = isAbsentRef(answer(404, { error_code: 'CH.004404', error_msg: 'Branch Not Found' }));
    const noSuchApi = isAbsentRef(answer(404, { error_code: 'APIG.0101', error_msg: 'The API does not exist' }));
    const noCode = isAbsentRef(answer(404, { message: 'not found' }));
    const otherStatus = isAbsentRef(answer(400, { error_code: 'CH.010001', error_msg: 'Invalid parameter' }));
    const notCodeHub = isAbsentRef(new Error('404'));

    // Assess
    expect([absent, noSuchApi, noCode, otherStatus, notCodeHub]).toEqual([true, false, false, false, false]);
  });
});
