import { describe, expect, it } from 'vitest';
import { ProviderIds } from '../../lib/providers/types';
import { REPORTERS, StatusRequestError, reportHostOf, reporterFor, splitSource, type ReportHost } from '../../lib/report/index';
import { TOKEN, statusOf } from './support';

/** A source path and API base each host takes. */
const SAMPLES: Readonly<Record<ReportHost, { readonly path: string; readonly apiUrl: string }>> = {
  github: { path: 'acme/api', apiUrl: 'https://api.github.com' },
  gitlab: { path: 'group/sub/api', apiUrl: 'https://gitlab.com/api/v4' },
  gitea: { path: 'acme/api', apiUrl: 'https://gitea.example.com/api/v1' },
  bitbucket: { path: 'ws/api', apiUrl: 'https://api.bitbucket.org' },
  'bitbucket-dc': { path: 'proj/api', apiUrl: 'https://bitbucket.example.com' },
  'azure-devops': { path: 'org/project/_git/api', apiUrl: 'https://dev.azure.com/org' },
};
const HOSTS = Object.keys(SAMPLES) as ReportHost[];

describe('reportHostOf', () => {
  it.each([
    [ProviderIds.github, 'github.com', 'github'],
    [ProviderIds.github, 'ghe.example.com', 'github'],
    [ProviderIds.gitlab, 'gitlab.example.com', 'gitlab'],
    [ProviderIds.gitea, 'gitea.example.com', 'gitea'],
    [ProviderIds.forgejo, 'codeberg.org', 'gitea'],
    [ProviderIds.bitbucket, 'bitbucket.org', 'bitbucket'],
    [ProviderIds.bitbucket, 'bitbucket.example.com', 'bitbucket-dc'],
    [ProviderIds.azureDevops, 'dev.azure.com', 'azure-devops'],
    [ProviderIds.gogs, 'gogs.example.com', undefined],
    [ProviderIds.gitee, 'gitee.com', undefined],
    [ProviderIds.gitcode, 'gitcode.com', undefined],
  ] as const)('maps %s on %s to %s', (provider, host, expected) => {
    // Act
    const reportHost = reportHostOf(provider, host);

    // Assess
    expect(reportHost).toBe(expected);
  });
});

describe('reporterFor', () => {
  it.each(HOSTS)('gives the %s reporter', (host) => {
    // Act
    const reporter = reporterFor(host);

    // Assess
    expect(reporter.host).toBe(host);
    expect(REPORTERS[host]).toBe(reporter);
  });
});

describe('splitSource', () => {
  it('splits an identity into its host and path', () => {
    // Act
    const parts = [splitSource('github.com/acme/api'), splitSource('tfs.example.com:8443/tfs/coll/p/_git/r')];

    // Assess
    expect(parts).toEqual([
      { host: 'github.com', path: 'acme/api' },
      { host: 'tfs.example.com:8443', path: 'tfs/coll/p/_git/r' },
    ]);
  });
});

describe('every reporter', () => {
  it.each(HOSTS)('%s: builds a request to its sample API base', (host) => {
    // Prepare
    const { path, apiUrl } = SAMPLES[host];

    // Act
    const request = reporterFor(host).request(apiUrl, path, statusOf('success'), TOKEN);

    // Assess
    expect(request.url.startsWith(`${apiUrl}/`)).toBe(true);
  });

  const BAD_API_URLS = [
    ['not a URL', 'api.github.com'],
    ['not http(s)', 'ftp://api.example.com'],
    ['credentials', `https://user:${TOKEN}@api.example.com`],
    ['a query', 'https://api.example.com/?token=x'],
    ['a fragment', 'https://api.example.com/#x'],
  ] as const;

  it.each(HOSTS.flatMap((host) => BAD_API_URLS.map(([what, url]) => [host, what, url] as const)))(
    '%s: refuses an API URL with %s, without quoting it',
    (host, _, apiUrl) => {
      // Act
      let caught: unknown;
      try {
        reporterFor(host).request(apiUrl, SAMPLES[host].path, statusOf('success'), TOKEN);
      } catch (error) {
        caught = error;
      }

      // Assess
      expect(caught).toBeInstanceOf(StatusRequestError);
      expect(caught).toMatchObject({ code: 'REPORT_BAD_API_URL' });
      expect(String((caught as Error).message)).not.toContain(apiUrl);
      expect(String((caught as Error).message)).not.toContain(TOKEN);
    },
  );

  it.each(HOSTS.flatMap((host) => ['', '  ', `${TOKEN}\r\nx-injected: 1`, `${TOKEN}\u0000`].map((token) => [host, JSON.stringify(token), token] as const)))(
    '%s: refuses the token %s, without quoting it',
    (host, _, token) => {
      // Act
      let caught: unknown;
      try {
        reporterFor(host).request(SAMPLES[host].apiUrl, SAMPLES[host].path, statusOf('success'), token);
      } catch (error) {
        caught = error;
      }

      // Assess
      expect(caught).toMatchObject({ name: 'StatusRequestError', code: 'REPORT_BAD_TOKEN' });
      expect(String((caught as Error).message)).not.toContain(TOKEN);
    },
  );
});
