import { describe, expect, it } from 'vitest';
import { describeMirror, mirrorStatus, statusContext } from '../../lib/report/describe';
import { DEFAULT_CONTEXT, StatusRequestError } from '../../lib/report/types';
import { SHA1, TARGET_URL } from './support';

const AT = Date.UTC(2025, 0, 2, 3, 4, 5, 678);

describe('describeMirror', () => {
  it('says a pending mirror is mirroring to CodeArts group/name', () => {
    // Act
    const words = describeMirror('group/name', { state: 'pending' });

    // Assess
    expect(words).toBe('mirroring to CodeArts group/name');
  });

  it('says when a mirror was confirmed, in ISO 8601 to the second', () => {
    // Act
    const words = describeMirror('group/name', { state: 'success', at: AT });

    // Assess
    expect(words).toBe('mirrored to CodeArts group/name at 2025-01-02T03:04:05Z');
  });

  it.each(['failure', 'error'] as const)('gives the reason for a %s on one line', (state) => {
    // Act
    const words = describeMirror('group/name', { state, reason: 'the mirror never showed\nthe commit  (gave up\r\nafter a day)' });

    // Assess
    expect(words).toBe('not mirrored to CodeArts group/name: the mirror never showed the commit (gave up after a day)');
  });

  it('leaves out the colon when there is no reason', () => {
    // Act
    const words = describeMirror('group/name', { state: 'failure', reason: ' \n' });

    // Assess
    expect(words).toBe('not mirrored to CodeArts group/name');
  });

  it.each([Number.NaN, Number.POSITIVE_INFINITY, 9e15])('refuses %s as the time a mirror was confirmed', (at) => {
    // Act
    const describeIt = (): string => describeMirror('group/name', { state: 'success', at });

    // Assess
    expect(describeIt).toThrow(StatusRequestError);
  });
});

describe('statusContext', () => {
  it('is CodeArts mirror, or CodeArts mirror (group/name) for each repository of a fan-out', () => {
    // Act
    const contexts = [statusContext(), statusContext('group/one'), statusContext('group/two')];

    // Assess
    expect(contexts).toEqual([DEFAULT_CONTEXT, 'CodeArts mirror (group/one)', 'CodeArts mirror (group/two)']);
    expect(DEFAULT_CONTEXT).toBe('CodeArts mirror');
  });
});

describe('mirrorStatus', () => {
  it('builds one mirror\'s status, with the plain context when the push does not fan out', () => {
    // Act
    const status = mirrorStatus({ sha: SHA1, repository: 'group/name', progress: { state: 'success', at: AT }, targetUrl: TARGET_URL });

    // Assess
    expect(status).toEqual({
      state: 'success',
      sha: SHA1,
      context: 'CodeArts mirror',
      description: 'mirrored to CodeArts group/name at 2025-01-02T03:04:05Z',
      targetUrl: TARGET_URL,
    });
  });

  it('names the repository in the context on a fan-out, and has no target URL when none is given', () => {
    // Act
    const status = mirrorStatus({ sha: SHA1, repository: 'group/two', progress: { state: 'error', reason: 'CodeHub refused' }, fanOut: true });

    // Assess
    expect(status).toEqual({
      state: 'error',
      sha: SHA1,
      context: 'CodeArts mirror (group/two)',
      description: 'not mirrored to CodeArts group/two: CodeHub refused',
    });
  });
});
