import { describe, expect, it } from 'vitest';
import { classifyStatusAnswer, DEFAULT_THROTTLE_MS, MAX_THROTTLE_MS, retryAfterMs } from '../../lib/report/answer';

/** A fixed "now" (epoch ms, on a whole second so x-ratelimit-reset lands exactly). */
const NOW = Date.UTC(2026, 0, 2, 3, 4, 5);
const inSeconds = (seconds: number): string => String(NOW / 1000 + seconds);
const httpDate = (offsetMs: number): string => new Date(NOW + offsetMs).toUTCString();

describe('classifyStatusAnswer: the status is set', () => {
  it.each([200, 201, 204, 299])('takes %i as accepted, whatever the headers', (status) => {
    // Act
    const answer = classifyStatusAnswer(status, { 'retry-after': '30', 'x-ratelimit-remaining': '0' }, NOW);
    // Assess
    expect(answer).toEqual({ kind: 'accepted', status });
  });
});

describe("classifyStatusAnswer: GitLab's status it has already", () => {
  it.each(['{"message":"Cannot transition status via :enqueue from :pending"}', 'cannot TRANSITION status'])('takes a 400 saying %s as set', (detail) => {
    expect(classifyStatusAnswer(400, {}, NOW, detail)).toEqual({ kind: 'accepted', status: 400 });
  });

  it('refuses any other 400, and a 422 that says the same', () => {
    expect(classifyStatusAnswer(400, {}, NOW, 'Problems parsing JSON')).toMatchObject({ kind: 'refused', status: 400 });
    expect(classifyStatusAnswer(422, {}, NOW, 'Cannot transition status')).toMatchObject({ kind: 'refused', status: 422 });
  });
});

describe('classifyStatusAnswer: rate limits', () => {
  it('waits the seconds a 429 names in Retry-After', () => {
    expect(classifyStatusAnswer(429, { 'retry-after': '7' }, NOW)).toEqual({ kind: 'throttled', status: 429, retryAfterMs: 7000 });
  });

  it('waits until the HTTP date a 429 names in Retry-After', () => {
    expect(classifyStatusAnswer(429, { 'retry-after': httpDate(90_000) }, NOW)).toEqual({ kind: 'throttled', status: 429, retryAfterMs: 90_000 });
  });

  it("waits a minute, GitHub's advice, on a 429 that names no time or one that cannot be read", () => {
    // Act
    const bare = classifyStatusAnswer(429, {}, NOW);
    const unreadable = classifyStatusAnswer(429, { 'retry-after': 'soon' }, NOW);
    // Assess
    expect(DEFAULT_THROTTLE_MS).toBe(60_000);
    expect([bare, unreadable]).toEqual([
      { kind: 'throttled', status: 429, retryAfterMs: 60_000 },
      { kind: 'throttled', status: 429, retryAfterMs: 60_000 },
    ]);
  });

  it("takes GitHub's secondary limit, a 403 with Retry-After, as a wait, not a rejected token", () => {
    expect(classifyStatusAnswer(403, { 'retry-after': '45' }, NOW)).toEqual({ kind: 'throttled', status: 403, retryAfterMs: 45_000 });
  });

  it('waits until x-ratelimit-reset on a 403 whose x-ratelimit-remaining is 0', () => {
    // Act
    const answer = classifyStatusAnswer(403, { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': inSeconds(120) }, NOW);
    // Assess
    expect(answer).toEqual({ kind: 'throttled', status: 403, retryAfterMs: 120_000 });
  });

  it('waits a minute on a 403 with x-ratelimit-remaining 0 and no reset time', () => {
    expect(classifyStatusAnswer(403, { 'x-ratelimit-remaining': '0' }, NOW)).toEqual({ kind: 'throttled', status: 403, retryAfterMs: 60_000 });
  });

  it('prefers Retry-After to x-ratelimit-reset when a host sends both', () => {
    // Act
    const answer = classifyStatusAnswer(429, { 'retry-after': '5', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': inSeconds(600) }, NOW);
    // Assess
    expect(answer).toEqual({ kind: 'throttled', status: 429, retryAfterMs: 5000 });
  });

  it('takes a 503 with Retry-After as a wait too', () => {
    expect(classifyStatusAnswer(503, { 'retry-after': '20' }, NOW)).toEqual({ kind: 'throttled', status: 503, retryAfterMs: 20_000 });
  });

  it.each([
    ['Retry-After 0', { 'retry-after': '0' }, 1000],
    ['a Retry-After date already past', { 'retry-after': httpDate(-60_000) }, 1000],
    ['a reset already past', { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': inSeconds(-30) }, 1000],
    ['Retry-After of a day', { 'retry-after': '86400' }, MAX_THROTTLE_MS],
    ['a reset an hour away', { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': inSeconds(3600) }, MAX_THROTTLE_MS],
  ])('clamps the wait to 1 s..15 min: %s', (_, headers, expected) => {
    // Act
    const answer = classifyStatusAnswer(429, headers, NOW);
    // Assess
    expect(MAX_THROTTLE_MS).toBe(900_000);
    expect(answer).toEqual({ kind: 'throttled', status: 429, retryAfterMs: expected });
  });

  it('reads a repeated header by its first value', () => {
    // Act
    const retry = classifyStatusAnswer(429, { 'retry-after': ['5', '9'] }, NOW);
    const reset = classifyStatusAnswer(403, { 'x-ratelimit-remaining': ['0', '12'], 'x-ratelimit-reset': [inSeconds(30), inSeconds(90)] }, NOW);
    const notExhausted = classifyStatusAnswer(403, { 'x-ratelimit-remaining': ['12', '0'] }, NOW);
    // Assess
    expect(retry).toEqual({ kind: 'throttled', status: 429, retryAfterMs: 5000 });
    expect(reset).toEqual({ kind: 'throttled', status: 403, retryAfterMs: 30_000 });
    expect(notExhausted).toEqual({ kind: 'rejected', status: 403 });
  });
});

describe('classifyStatusAnswer: the token is rejected', () => {
  it.each([
    ['a plain 403', 403, {}],
    ['a 403 with requests left', 403, { 'x-ratelimit-remaining': '4999', 'x-ratelimit-reset': inSeconds(60) }],
    ['a 401', 401, {}],
    ['a 401, even with Retry-After', 401, { 'retry-after': '10' }],
  ])('rejects on %s', (_, status, headers) => {
    expect(classifyStatusAnswer(status, headers, NOW, 'Bad credentials')).toEqual({ kind: 'rejected', status });
  });
});

describe('classifyStatusAnswer: the host failed', () => {
  it.each([500, 502, 503, 504, 408])('takes %i as unavailable, keeping the detail', (status) => {
    expect(classifyStatusAnswer(status, {}, NOW, 'upstream timed out')).toEqual({ kind: 'unavailable', status, detail: 'upstream timed out' });
  });
});

describe('classifyStatusAnswer: this status will never be taken', () => {
  it.each([
    [404, 'Not Found'],
    [422, 'No commit found for SHA'],
    [400, 'Problems parsing JSON'],
    [302, ''],
  ])('refuses %i, keeping the detail', (status, detail) => {
    expect(classifyStatusAnswer(status, {}, NOW, detail)).toEqual({ kind: 'refused', status, detail });
  });

  it('gives an empty detail when none is passed', () => {
    expect(classifyStatusAnswer(404, {}, NOW)).toEqual({ kind: 'refused', status: 404, detail: '' });
  });
});

describe('retryAfterMs', () => {
  it.each([
    ['absent', undefined, undefined],
    ['delta-seconds', '7', 7000],
    ['delta-seconds with spaces', ' 120 ', 120_000],
    ['zero', '0', 0],
    ['an HTTP date ahead', httpDate(30_000), 30_000],
    ['an HTTP date past', httpDate(-30_000), 0],
    ['words', 'later please', undefined],
    ['empty', '', undefined],
  ])('reads %s', (_, value, expected) => {
    expect(retryAfterMs(value, NOW)).toBe(expected);
  });
});

describe('classifyStatusAnswer: the edges of GitHub and of Retry-After', () => {
  const NOW = Date.UTC(2026, 11, 2);
  it('reads a 403 whose body names the secondary rate limit, with no header, as a wait of 60 s', () => {
    // Act
    const answer = classifyStatusAnswer(403, {}, NOW, 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.');
    // Assess
    expect(answer).toEqual({ kind: 'throttled', status: 403, retryAfterMs: 60_000 });
  });
  it.each(['1.5', '-1', 'soon'])('takes a Retry-After of %j for no time at all (the default wait applies)', (value) => {
    // Act
    const answer = classifyStatusAnswer(429, { 'retry-after': value }, NOW);
    // Assess
    expect(retryAfterMs(value, NOW)).toBeUndefined();
    expect(answer).toEqual({ kind: 'throttled', status: 429, retryAfterMs: 60_000 });
  });
});
