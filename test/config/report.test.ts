import { describe, expect, it, vi } from 'vitest';
import { loadMirrorConfig, loadYamlParser, parseMirrorConfig, type Environment } from '../../lib/config/load';
import { buildMirrorIndex, mirrorsFor, pathMirrorsFor, reportSettingsFor } from '../../lib/config/mapping';
import type { FetchParameter, FetchSecret } from '../../lib/config/secrets';
import { checkConfig } from '../../scripts/check-config';
import { configError } from '../support/config-error';

const parseYaml = await loadYamlParser();
/** A value no error message may ever contain. */
const CANARY = 'S3CRET-canary-7d1e';
const ENV: Environment = {
  GH_HOOK_SECRET: `${CANARY}-hook`,
  GITEA_TOKEN: `${CANARY}-gitea`,
  OTHER_TOKEN: `${CANARY}-other`,
  WILD_TOKEN: `${CANARY}-wild`,
};

const REPORT_YAML = `
webhooks:
  github.com: { secret: env:GH_HOOK_SECRET, report: { token: "${CANARY}-literal" } }
  git.example.com: { secret: env:GH_HOOK_SECRET, report: { token: env:GITEA_TOKEN, api_url: https://git.example.com/api/v1 } }
  gitlab.com: { secret: env:GH_HOOK_SECRET }
mirrors:
  - source: github.com/acme/api
    repository_id: 123
    report: { token: env:OTHER_TOKEN, api_url: http://localhost:4010 }
  - source: github.com/acme/web
    repository_id: 124
  - source: git.example.com/team/tool
    target: mirror/tool
  - source: git.example.com/wild/*
    target: wild/{name}
    report: { token: env:WILD_TOKEN }
  - source: git.example.com/tame/*
    target: tame/{name}
  - source: gitlab.com/acme/lib
    repository_id: 125
`;

/** A JSON config of one id mirror: `report` on it (when given) and on github.com's webhook (when given). */
function configWith(reports: { readonly host?: unknown; readonly mirror?: unknown }): string {
  const hook: Record<string, unknown> = { secret: 'env:GH_HOOK_SECRET' };
  if (reports.host !== undefined) hook['report'] = reports.host;
  const mirror: Record<string, unknown> = { source: 'github.com/acme/api', repository_id: 1 };
  if (reports.mirror !== undefined) mirror['report'] = reports.mirror;
  return JSON.stringify({ webhooks: { 'github.com': hook }, mirrors: [mirror] });
}

function fakeFetchers(parameters: Record<string, string>) {
  const fetchParameter = vi.fn<FetchParameter>(async (name) => {
    if (!Object.hasOwn(parameters, name)) throw Object.assign(new Error('gone'), { name: 'ParameterNotFound' });
    return parameters[name];
  });
  const fetchSecret = vi.fn<FetchSecret>(async () => {
    throw Object.assign(new Error('gone'), { name: 'ResourceNotFoundException' });
  });
  return { fetchParameter, fetchSecret };
}

describe('report: in the mirror configuration', () => {
  it("reads each host's report, its token resolved like a secret and its api_url kept", () => {
    // Act
    const { config } = parseMirrorConfig(REPORT_YAML, ENV, parseYaml);

    // Assess
    expect(config.reports).toEqual(
      new Map([
        ['github.com', { token: `${CANARY}-literal`, apiUrl: undefined }],
        ['git.example.com', { token: ENV['GITEA_TOKEN'], apiUrl: 'https://git.example.com/api/v1' }],
      ]),
    );
  });

  it('resolves an ssm: token through loadMirrorConfig, as it does a secret', async () => {
    // Prepare
    const text = configWith({ host: { token: 'ssm:/bridge/github-status-token' } });
    const fetchers = fakeFetchers({ '/bridge/github-status-token': `${CANARY}-ssm` });

    // Act
    const { config } = await loadMirrorConfig({ ...ENV, MIRROR_CONFIG: text }, fetchers);

    // Assess
    expect(config.reports?.get('github.com')?.token).toBe(`${CANARY}-ssm`);
  });

  it("gives a mirror its own report over its host's, its host's otherwise, and none on a host without one", () => {
    // Prepare
    const index = buildMirrorIndex(parseMirrorConfig(REPORT_YAML, ENV, parseYaml).config);
    const [own] = mirrorsFor(index, 'github.com/acme/api');
    const [hosts] = mirrorsFor(index, 'github.com/acme/web');
    const [byPath] = pathMirrorsFor(index, 'git.example.com/team/tool');
    const [none] = mirrorsFor(index, 'gitlab.com/acme/lib');
    if (own === undefined || hosts === undefined || byPath === undefined || none === undefined) throw new Error('a mirror is missing');

    // Act
    const settings = [own, hosts, byPath, none].map((mirror) => reportSettingsFor(index, mirror));

    // Assess
    expect(settings).toEqual([
      { token: ENV['OTHER_TOKEN'], apiUrl: 'http://localhost:4010' },
      { token: `${CANARY}-literal`, apiUrl: undefined },
      { token: ENV['GITEA_TOKEN'], apiUrl: 'https://git.example.com/api/v1' },
      undefined,
    ]);
  });

  it("carries a wildcard mirror's report to every source it expands for", () => {
    // Prepare
    const index = buildMirrorIndex(parseMirrorConfig(REPORT_YAML, ENV, parseYaml).config);

    // Act
    const wild = pathMirrorsFor(index, 'git.example.com/wild/sub/repo');
    const tame = pathMirrorsFor(index, 'git.example.com/tame/repo');

    // Assess
    expect(wild.map((mirror) => [mirror.target, reportSettingsFor(index, mirror)])).toEqual([['wild/repo', { token: ENV['WILD_TOKEN'], apiUrl: undefined }]]);
    expect(tame.map((mirror) => [mirror.target, reportSettingsFor(index, mirror)])).toEqual([
      ['tame/repo', { token: ENV['GITEA_TOKEN'], apiUrl: 'https://git.example.com/api/v1' }],
    ]);
  });

  it('reports nothing when no report is configured, loaded or built by hand', () => {
    // Prepare
    const loaded = parseMirrorConfig(configWith({}), ENV).config;
    const [mirror] = loaded.mirrors;
    if (mirror === undefined) throw new Error('the mirror is missing');

    // Act
    const fromLoaded = reportSettingsFor(buildMirrorIndex(loaded), mirror);
    const fromHandMade = reportSettingsFor(buildMirrorIndex({ webhooks: loaded.webhooks, mirrors: loaded.mirrors }), mirror);

    // Assess
    expect([loaded.reports?.size, mirror.report, fromLoaded, fromHandMade]).toEqual([0, undefined, undefined, undefined]);
  });

  it.each([
    ['https://git.example.com/api/v1/', 'https://git.example.com/api/v1'],
    ['https://git.example.com//', 'https://git.example.com'],
    ['HTTPS://Git.Example.com:443/api/', 'https://git.example.com/api'],
    ['http://localhost:4010', 'http://localhost:4010'],
  ])('stores api_url %s as %s', (written, stored) => {
    // Act
    const { config } = parseMirrorConfig(configWith({ mirror: { token: 'env:OTHER_TOKEN', api_url: written } }), ENV);

    // Assess
    expect(config.mirrors[0]?.report?.apiUrl).toBe(stored);
  });

  it.each([
    ['not a URL', `git.example.com/${CANARY}`, 'must be an http or https URL such as https://git.example.com/api/v1: it is not a URL'],
    ['another scheme', `ftp://git.example.com/${CANARY}`, 'must be an http or https URL such as https://git.example.com/api/v1: it has another scheme'],
    ['userinfo', `https://bot:${CANARY}@git.example.com/api`, 'must not carry credentials (user:password@): the token goes in report.token'],
    ['a user name only', `https://${CANARY}@git.example.com/api`, 'must not carry credentials (user:password@): the token goes in report.token'],
    ['a query', `https://git.example.com/api?token=${CANARY}`, 'must not have a query (?…): paths are added to it'],
    ['an empty query', 'https://git.example.com/api?', 'must not have a query (?…): paths are added to it'],
    ['a fragment', `https://git.example.com/api#${CANARY}`, 'must not have a fragment (#…)'],
    ['not a string', 4010, 'must be an http or https URL such as https://git.example.com/api/v1, got a number'],
  ])('rejects an api_url with %s, without quoting it', (_, apiUrl, message) => {
    // Act
    const error = configError(() => parseMirrorConfig(configWith({ mirror: { token: 'env:OTHER_TOKEN', api_url: apiUrl } }), ENV));

    // Assess
    expect(error.problems).toEqual([{ field: 'mirrors[0].report.api_url', message }]);
    expect(JSON.stringify(error.problems)).not.toContain(CANARY);
  });

  it.each([
    ['on a host', { host: { api_url: 'https://github.example.com/api/v3' } }, 'webhooks["github.com"].report.token'],
    ['on a mirror', { mirror: { api_url: 'https://github.example.com/api/v3' } }, 'mirrors[0].report.token'],
  ])('requires a token in a report %s', (_, reports, field) => {
    // Act
    const error = configError(() => parseMirrorConfig(configWith(reports), ENV));

    // Assess
    expect(error.problems).toEqual([{ field, message: "is required: the token the Git host's status API is called with" }]);
  });

  it('names an unknown key inside report, with the keys allowed there', () => {
    // Act
    const error = configError(() => parseMirrorConfig(configWith({ host: { token: 'env:OTHER_TOKEN', url: 'https://x.example' } }), ENV));

    // Assess
    expect(error.problems).toEqual([{ field: 'webhooks["github.com"].report.url', message: 'unknown key; allowed here: token, api_url' }]);
  });

  it('reports every problem at once, a webhook without a secret included', () => {
    // Prepare
    const text = JSON.stringify({
      webhooks: {
        'github.com': { report: { token: 7, api_url: 'ftp://github.example.com' } },
        'gitlab.com': { secret: 'env:GH_HOOK_SECRET', report: 'env:OTHER_TOKEN' },
      },
      mirrors: [
        { source: 'github.com/acme/api', repository_id: 1, report: { tokens: 'x' } },
        { source: 'github.com/acme/*', target: 'm/{name}', report: { token: 'env:UNSET_TOKEN', api_url: 'https://h.example/?' } },
      ],
    });

    // Act
    const error = configError(() => parseMirrorConfig(text, ENV));

    // Assess
    expect(error.problems.map(({ field }) => field)).toEqual([
      'webhooks["github.com"].secret',
      'webhooks["github.com"].report.token',
      'webhooks["github.com"].report.api_url',
      'webhooks["gitlab.com"].report',
      'mirrors[0].report.tokens',
      'mirrors[0].report.token',
      'mirrors[1].report.token',
      'mirrors[1].report.api_url',
    ]);
    expect(error.problems.find(({ field }) => field === 'webhooks["gitlab.com"].report')?.message).toBe(
      'must be a mapping with the key token (and optionally api_url), got a string',
    );
  });

  it('never puts a token or the URL text in a message', () => {
    // Prepare: every value the config holds is marked, in fields that each fail.
    const text = JSON.stringify({
      webhooks: { 'github.com': { secret: `${CANARY}-hook`, report: { token: `${CANARY}-a`, api_url: `https://${CANARY}.example/?q` } } },
      mirrors: [
        { source: 'github.com/acme/api', repository_id: 1, report: { token: [`${CANARY}-b`], api_url: `mailto:${CANARY}@x.example` } },
        { source: 'github.com/acme/web', repository_id: 2, report: { token: `env:${CANARY}-c` } },
      ],
    });

    // Act
    const error = configError(() => parseMirrorConfig(text, ENV));

    // Assess
    expect(error.problems).toHaveLength(4);
    expect(error.message).not.toContain(CANARY);
    expect(JSON.stringify(error.problems.map(({ message }) => message))).not.toContain(CANARY);
  });
});

describe('checkConfig with report:', () => {
  it('says which hosts report and whose reporting each mirror uses, never a token', async () => {
    // Prepare
    const out: string[] = [];
    const err: string[] = [];

    // Act
    const status = await checkConfig([], {
      env: { ...ENV, MIRROR_CONFIG: REPORT_YAML },
      out: (line) => out.push(line),
      err: (line) => err.push(line),
    });

    // Assess
    expect([status, err]).toEqual([0, []]);
    const lines = out.map((line) => line.trim());
    expect(lines).toContain('github.com: 1 secret; reports commit statuses');
    expect(lines).toContain('git.example.com: 1 secret; reports commit statuses (api https://git.example.com/api/v1)');
    expect(lines).toContain('gitlab.com: 1 secret');
    expect(lines.filter((line) => line.includes('→')).map((line) => line.replace(/^.*credentials: (yes|no)/, ''))).toEqual([
      '; report: own (api http://localhost:4010)',
      '; report: host (webhooks["github.com"])',
      '',
      '; report: host (webhooks["git.example.com"])',
      '; report: own',
      '; report: host (webhooks["git.example.com"])',
    ]);
    expect(out.join('\n')).not.toContain(CANARY);
  });
});
