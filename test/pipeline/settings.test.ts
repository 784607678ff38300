import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../lib/errors';
import { DEFAULT_BUDGETS_MS, budgetFor } from '../../lib/pipeline/webhook';
import { budgetVariable, webhookSettingsFromEnv } from '../../lib/pipeline/settings';

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
