import { describe, expect, it } from 'vitest';
import { settleWithin } from '../lib/deadline';
import { CodeHubError } from '../lib/errors';

const never = new Promise<string>(() => undefined);

describe('settleWithin', () => {
  it('settles as the promise does when it is in time', async () => {
    // Act
    const value = await settleWithin(Promise.resolve('jid-1'), 1000, 'the call');
    const failure = await settleWithin(Promise.reject(new Error('refused')), 1000, 'the call').catch((error: unknown) => error);
    // Assess
    expect(value).toBe('jid-1');
    expect(failure).toMatchObject({ message: 'refused' });
  });

  it('rejects with CODEHUB_TIMEOUT naming what did not finish when the time runs out first', async () => {
    // Prepare
    const started = Date.now();
    // Act
    const failure = await settleWithin(never, 30, 'the sync of repository 7').catch((error: unknown) => error);
    // Assess
    expect(failure).toBeInstanceOf(CodeHubError);
    expect(failure).toMatchObject({ code: 'CODEHUB_TIMEOUT', message: 'the sync of repository 7 did not finish before the deadline' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
  });

  it('times out at once when no time is left, and leaves a promise without a deadline as it is', async () => {
    // Prepare
    const pending = Promise.resolve(1);
    // Act
    const failure = await settleWithin(never, -5, 'the call').catch((error: unknown) => error);
    // Assess
    expect(failure).toMatchObject({ code: 'CODEHUB_TIMEOUT' });
    expect(settleWithin(pending, undefined, 'the call')).toBe(pending);
  });
});
