import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../lib/errors';
import { DEFAULT_BUDGETS_MS, DEFAULT_RECONCILE_SETTINGS, budgetFor, budgetVariable, reconcileSettingsFromEnv, webhookSettingsFromEnv } from '../../lib/pipeline/settings';

describe('webhookSettingsFromEnv', () => {
  it('reads WEBHOOK_BUDGET_MS, WEBHOOK_BUDGET_MS_<HOST> and WEBHOOK_MAX_BODY_BYTES', () => {
    // Act
    const none = webhookSettingsFromEnv({ WEBHOOK_BUDGET_MS: '' });
    const settings = webhookSettingsFromEnv({ WEBHOOK_BUDGET_MS: '7000', WEBHOOK_BUDGET_MS_GITEA: '3500', WEBHOOK_MAX_BODY_BYTES: '1024' });
    const oneHost = webhookSettingsFromEnv({ WEBHOOK_BUDGET_MS_GOGS: '9000', [budgetVariable('azure-devops')]: '7000' });
    // Assess
    expect(none).toEqual({});
    expect(settings.maxBodyBytes).toBe(1024);
    expect(budgetFor(settings.budgetMs, 'gitea')).toBe(3500);
    expect(budgetFor(settings.budgetMs, 'github')).toBe(7000);
    expect(budgetFor(oneHost.budgetMs, 'gogs')).toBe(9000);
    expect(budgetFor(oneHost.budgetMs, 'gitea')).toBe(DEFAULT_BUDGETS_MS.gitea);
    expect(budgetVariable('azure-devops')).toBe('WEBHOOK_BUDGET_MS_AZURE_DEVOPS');
    expect(budgetFor(oneHost.budgetMs, 'azure-devops')).toBe(7000);
  });

  it.each([['WEBHOOK_BUDGET_MS', 'eight'], ['WEBHOOK_BUDGET_MS_GITHUB', '-1'], ['WEBHOOK_MAX_BODY_BYTES', '0']])('refuses %s=%s at cold start', (name, value) => {
    // Act
    const attempt = () => webhookSettingsFromEnv({ [name]: value });
    // Assess
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(name);
  });
});

describe('budgets', () => {
  it('takes one budget for every host, or a map that overrides some hosts', () => {
    // Act
    const single = budgetFor(3000, 'gitea');
    const mapped = [budgetFor({ gitea: 2500 }, 'gitea'), budgetFor({ gitea: 2500 }, 'gogs')];
    // Assess
    expect(single).toBe(3000);
    expect(mapped).toEqual([2500, DEFAULT_BUDGETS_MS.gogs]);
  });

  it('keeps every default budget under its host\'s wait', () => {
    // Prepare
    // Hosts that document no wait are held to the common 10 s.
    const hostWaitMs: Record<string, number> = { gitea: 5000, forgejo: 5000, gogs: 15_000 };
    // Act
    const over = Object.entries<number>(DEFAULT_BUDGETS_MS).filter(([host, budget]) => budget >= (hostWaitMs[host] ?? 10_000) - 500);
    // Assess
    expect(over).toEqual([]);
  });
});

describe('reconcileSettingsFromEnv', () => {
  it('defaults to 60 minutes, 5 calls/s and 2 at once', () => {
    // Act
    const settings = reconcileSettingsFromEnv({});
    // Assess
    expect(settings).toEqual(DEFAULT_RECONCILE_SETTINGS);
    expect(settings).toEqual({ staleAfterMs: 60 * 60 * 1000, ratePerSecond: 5, concurrency: 2 });
  });

  it('reads the variables', () => {
    // Act
    const settings = reconcileSettingsFromEnv({ RECONCILE_STALE_AFTER_MINUTES: '30', RECONCILE_RATE_PER_SECOND: '0.5', RECONCILE_CONCURRENCY: '4' });
    // Assess
    expect(settings).toEqual({ staleAfterMs: 30 * 60 * 1000, ratePerSecond: 0.5, concurrency: 4 });
  });

  it.each([
    ['RECONCILE_STALE_AFTER_MINUTES', 'soon'],
    ['RECONCILE_RATE_PER_SECOND', '0'],
    ['RECONCILE_CONCURRENCY', '1.5'],
    ['RECONCILE_CONCURRENCY', '-2'],
  ])('refuses %s=%s', (name, value) => {
    // Act
    const attempt = () => reconcileSettingsFromEnv({ [name]: value });
    // Assess
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(name);
  });
});
