import { describe, expect, it } from 'vitest';
import { DEFAULT_REPORT_SETTINGS, reportSettingsFromEnv } from '../../lib/pipeline/report-settings';
import { configError } from '../support/config-error';

describe('reportSettingsFromEnv', () => {
  it('defaults to 60 calls a minute, 6 attempts, 5 s, no link and a day off for a rejected token', () => {
    // Act
    const settings = reportSettingsFromEnv({});
    const blank = reportSettingsFromEnv({ REPORT_MAX_CALLS_PER_MINUTE: ' ', REPORT_MAX_ATTEMPTS: '', REPORT_TIMEOUT_MS: '', REPORT_TARGET_URL: '  ' });
    // Assess
    expect(settings).toEqual({ maxCallsPerMinute: 60, maxAttempts: 6, timeoutMs: 5000, rejectForSeconds: 86_400 });
    expect(settings).not.toHaveProperty('targetUrl');
    expect(blank).toEqual(DEFAULT_REPORT_SETTINGS);
    expect(blank).not.toHaveProperty('targetUrl');
  });

  it('reads each variable', () => {
    // Act
    const settings = reportSettingsFromEnv({
      REPORT_MAX_CALLS_PER_MINUTE: '30',
      REPORT_MAX_ATTEMPTS: '3',
      REPORT_TIMEOUT_MS: '2500',
      REPORT_TARGET_URL: ' https://bridge.example.com/pushes/{push_id} ',
    });
    // Assess
    expect(settings).toEqual({ maxCallsPerMinute: 30, maxAttempts: 3, timeoutMs: 2500, targetUrl: 'https://bridge.example.com/pushes/{push_id}', rejectForSeconds: 86_400 });
  });

  it('takes the largest values allowed, and an http link', () => {
    // Act
    const settings = reportSettingsFromEnv({
      REPORT_MAX_CALLS_PER_MINUTE: '100000',
      REPORT_MAX_ATTEMPTS: '100',
      REPORT_TIMEOUT_MS: '60000',
      REPORT_TARGET_URL: 'http://localhost:3000/pushes/{push_id}',
    });
    // Assess
    expect(settings).toMatchObject({ maxCallsPerMinute: 100_000, maxAttempts: 100, timeoutMs: 60_000, targetUrl: 'http://localhost:3000/pushes/{push_id}' });
  });

  it.each(['https://bridge.example.com', 'https://bridge.example.com:8443/p/{push_id}', 'http://127.0.0.1:3000?push={push_id}', 'https://b.example.com#{push_id}'])(
    'takes the link %s',
    (link) => {
      expect(reportSettingsFromEnv({ REPORT_TARGET_URL: link }).targetUrl).toBe(link);
    },
  );

  it.each([
    ['REPORT_MAX_CALLS_PER_MINUTE', '0'],
    ['REPORT_MAX_CALLS_PER_MINUTE', '100001'],
    ['REPORT_MAX_CALLS_PER_MINUTE', 'sixty'],
    ['REPORT_MAX_ATTEMPTS', '101'],
    ['REPORT_MAX_ATTEMPTS', '2.5'],
    ['REPORT_TIMEOUT_MS', '60001'],
    ['REPORT_TIMEOUT_MS', '-5'],
    ['REPORT_TARGET_URL', 'bridge.example.com/pushes/{push_id}'],
    ['REPORT_TARGET_URL', 'ftp://bridge.example.com/pushes/{push_id}'],
    ['REPORT_TARGET_URL', 'https://'],
    ['REPORT_TARGET_URL', 'https:///pushes'],
  ])('refuses %s=%s with a ConfigError naming the variable', (name, value) => {
    // Act
    const error = configError(() => reportSettingsFromEnv({ [name]: value }));
    // Assess
    expect(error.field).toBe(name);
    expect(error.message).toContain(name);
  });

  it('refuses a REPORT_TARGET_URL carrying credentials: the link is published on every commit', () => {
    // Act
    const error = configError(() => reportSettingsFromEnv({ REPORT_TARGET_URL: 'https://bot:hunter2@bridge.example.com/pushes/{push_id}' }));
    // Assess
    expect(error.field).toBe('REPORT_TARGET_URL');
    expect(error.message).not.toContain('hunter2');
  });
});
