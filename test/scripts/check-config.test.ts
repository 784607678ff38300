import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { FetchParameter, FetchSecret } from '../../lib/config/secrets';
import { checkConfig, type CheckConfigIo } from '../../scripts/check-config';

const run = promisify(execFile);
/** A value the report must never contain. */
const CANARY = 'S3CRET-canary-0b9e';

const CONFIG = `
webhooks:
  github.com: { secret: env:GITHUB_SECRET }
  gitlab.example.com: { secret: [ssm:/bridge/gitlab, secretsmanager:bridge/hooks#gitlab-old] }
mirrors:
  - source: github.com/acme/api
    repository_id: 2111
  - source: github.com/acme/private
    repository_id: 2112
    secret: [env:PRIVATE_SECRET, "${CANARY}-literal"]
    refs: [refs/heads/main, "refs/tags/*"]
    force_fetch: false
    username: env:SRC_USER
    password: secretsmanager:bridge/source#token
  - source: gitlab.example.com/group/web
    target: mirror/web
  - source: gitlab.example.com/group/*
    target: mirror/{name}
    endpoint_uuid: env:ENDPOINT
status:
  key: ssm:/bridge/status
`;

const ENV = {
  GITHUB_SECRET: `${CANARY}-github`,
  PRIVATE_SECRET: `${CANARY}-private`,
  SRC_USER: `${CANARY}-user`,
  ENDPOINT: `${CANARY}-endpoint`,
};

/** Runs the check over `files` (name → text) with captured output. */
async function check(args: string[], options: { env?: Record<string, string>; files?: Record<string, string>; fetchers?: CheckConfigIo['fetchers'] } = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const files = options.files ?? { 'mirrors.yml': CONFIG };
  const readFile = vi.fn((path: string): string => {
    if (!Object.hasOwn(files, path)) throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
    return files[path] as string;
  });
  const status = await checkConfig(args, {
    env: options.env ?? ENV,
    out: (line) => out.push(line),
    err: (line) => err.push(line),
    readFile,
    ...(options.fetchers ? { fetchers: options.fetchers } : {}),
  });
  return { status, out: out.join('\n'), err: err.join('\n') };
}

function fakeFetchers(values: Record<string, string> = {}) {
  const fetchParameter = vi.fn<FetchParameter>(async (name) => {
    if (!Object.hasOwn(values, `ssm:${name}`)) throw Object.assign(new Error('gone'), { name: 'ParameterNotFound' });
    return values[`ssm:${name}`];
  });
  const fetchSecret = vi.fn<FetchSecret>(async (name) => {
    if (!Object.hasOwn(values, `secretsmanager:${name}`)) throw Object.assign(new Error('gone'), { name: 'ResourceNotFoundException' });
    return values[`secretsmanager:${name}`];
  });
  return { fetchParameter, fetchSecret };
}

describe('checkConfig', () => {
  it('prints every mirror with where its secret comes from, never a value', async () => {
    // Act
    const { status, out, err } = await check(['mirrors.yml']);

    // Assess
    expect(status).toBe(0);
    expect(err).toBe('');
    expect(out).toBe(
      [
        'mirrors.yml (MIRROR_CONFIG_FILE): valid, 4 mirrors',
        'webhooks:',
        '  github.com: 1 secret',
        '  gitlab.example.com: 2 secrets',
        'mirrors:',
        '  github.com/acme/api → repository 2111  refs: all; force_fetch: true; secret: host (webhooks["github.com"]); credentials: no',
        '  github.com/acme/private → repository 2112  refs: refs/heads/main, refs/tags/*; force_fetch: false; secret: own (2 secrets); credentials: yes',
        '  gitlab.example.com/group/web → target mirror/web  refs: all; force_fetch: true; secret: host (webhooks["gitlab.example.com"]); credentials: no',
        '  gitlab.example.com/group/* → target mirror/{name} (wildcard)  refs: all; force_fetch: true; secret: host (webhooks["gitlab.example.com"]); credentials: yes',
        'status key: set',
        'not checked here (well-formed; --resolve resolves them and fails on any it cannot):',
        '  webhooks["gitlab.example.com"].secret[0]: ssm:/bridge/gitlab (not read)',
        '  webhooks["gitlab.example.com"].secret[1]: secretsmanager:bridge/hooks#gitlab-old (not read)',
        '  mirrors[1].password: secretsmanager:bridge/source#token (not read)',
        '  status.key: ssm:/bridge/status (not read)',
      ].join('\n'),
    );
    expect(out).not.toContain(CANARY);
  });

  it('reads no reference without --resolve', async () => {
    // Prepare
    const fetchers = fakeFetchers();

    // Act
    const { status } = await check(['mirrors.yml'], { fetchers });

    // Assess
    expect(status).toBe(0);
    expect(fetchers.fetchParameter).not.toHaveBeenCalled();
    expect(fetchers.fetchSecret).not.toHaveBeenCalled();
  });

  it('reads every reference with --resolve, CodeHub credentials included', async () => {
    // Prepare
    const fetchers = fakeFetchers({
      'ssm:/bridge/gitlab': 'a',
      'ssm:/bridge/status': 'b',
      'secretsmanager:bridge/hooks': '{"gitlab-old":"c"}',
      'secretsmanager:bridge/source': '{"token":"d"}',
      'secretsmanager:bridge/codehub': '{"sk":"e"}',
    });

    // Act
    const { status, out } = await check(['mirrors.yml', '--resolve'], { env: { ...ENV, CODEHUB_SK: 'secretsmanager:bridge/codehub#sk' }, fetchers });

    // Assess
    expect(status).toBe(0);
    expect(out).toContain('references (all read from AWS):');
    expect(out).toContain('  CODEHUB_SK: secretsmanager:bridge/codehub#sk');
    expect(fetchers.fetchSecret.mock.calls.map(([name]) => name).sort()).toEqual(['bridge/codehub', 'bridge/hooks', 'bridge/source']);
  });

  it('fails with the field and the reference when --resolve cannot read one', async () => {
    // Prepare
    const fetchers = fakeFetchers({ 'ssm:/bridge/gitlab': 'a', 'secretsmanager:bridge/hooks': '{}', 'secretsmanager:bridge/source': '{"token":"d"}' });

    // Act
    const { status, out, err } = await check(['mirrors.yml', '--resolve'], { fetchers });

    // Assess
    expect(status).toBe(1);
    expect(out).toBe('');
    expect(err).toBe(
      [
        'invalid config at webhooks["gitlab.example.com"].secret[1]: refers to secretsmanager:bridge/hooks#gitlab-old, which has no key "gitlab-old"',
        'invalid config at status.key: refers to ssm:/bridge/status, which could not be read (ParameterNotFound)',
        'mirrors.yml (MIRROR_CONFIG_FILE): invalid, 2 problems',
      ].join('\n'),
    );
  });

  it.each([
    ['an unknown key', CONFIG.replace('force_fetch: false', 'force-fetch: false'), 'invalid config at mirrors[1]["force-fetch"]: unknown key'],
    ['a malformed reference', CONFIG.replace('ssm:/bridge/status', 'ssm:bridge status'), 'invalid config at status.key: must be ssm:NAME'],
    ['a schema error', CONFIG.replace('repository_id: 2111', 'repository_id: "2111"'), 'invalid config at mirrors[0].repository_id: must be an integer'],
  ])('exits 1 with the ConfigError message for %s', async (_, text, message) => {
    // Act
    const { status, err } = await check(['mirrors.yml'], { env: ENV, files: { 'mirrors.yml': text } });

    // Assess
    expect(status).toBe(1);
    expect(err.startsWith(message)).toBe(true);
    expect(err).not.toContain(CANARY);
  });

  it('lists variables this shell does not hold as not checked here, and exits 0', async () => {
    // Act
    const { status, out, err } = await check(['mirrors.yml'], { env: { GITHUB_SECRET: '' } });

    // Assess
    expect(status).toBe(0);
    expect(err).toBe('');
    expect(out).toContain('  webhooks["github.com"].secret: env:GITHUB_SECRET (empty in this shell)');
    expect(out).toContain('  mirrors[1].secret[0]: env:PRIVATE_SECRET (not set in this shell)');
    expect(out).toContain('  mirrors[1].username: env:SRC_USER (not set in this shell)');
    expect(out).toContain('  status.key: ssm:/bridge/status (not read)');
  });

  it('makes every unresolvable variable and reference a problem with --resolve', async () => {
    // Prepare
    const fetchers = fakeFetchers({ 'ssm:/bridge/gitlab': 'a', 'ssm:/bridge/status': 'b', 'secretsmanager:bridge/hooks': '{"gitlab-old":"c"}' });

    // Act
    const { status, err } = await check(['mirrors.yml', '--resolve'], { env: { SRC_USER: 'u' }, fetchers });

    // Assess
    expect(status).toBe(1);
    expect(err.split('\n')).toEqual([
      'invalid config at webhooks["github.com"].secret: refers to environment variable GITHUB_SECRET, which is not set',
      'invalid config at mirrors[1].secret[0]: refers to environment variable PRIVATE_SECRET, which is not set',
      'invalid config at mirrors[3].endpoint_uuid: refers to environment variable ENDPOINT, which is not set',
      'invalid config at mirrors[1].password: refers to secretsmanager:bridge/source#token, which could not be read (ResourceNotFoundException)',
      'mirrors.yml (MIRROR_CONFIG_FILE): invalid, 4 problems',
    ]);
  });

  it('reports every problem in the file, not only the first', async () => {
    // Prepare
    const text = [
      'webhooks:',
      '  github.com/x: { secret: s }',
      'mirrors:',
      '  - source: github.com/acme/api',
      '    repository_id: "2111"',
      '    force-fetch: true',
      '  - source: github.com/other/../acme/api',
      '    repository_id: 2112',
      '  - source: github.com/acme/web',
      `    secret: [ssm:bad name, "${CANARY}"]`,
      'status: { key: 42 }',
      'extra: true',
    ].join('\n');

    // Act
    const { status, err } = await check(['mirrors.yml'], { env: { ...ENV, CODEHUB_TOKEN: 'ssm:' }, files: { 'mirrors.yml': text } });

    // Assess
    expect(status).toBe(1);
    expect(err.split('\n').map((line) => line.replace(/: .*/, ''))).toEqual([
      'invalid config at extra',
      'invalid config at webhooks["github.com/x"]',
      'invalid config at mirrors[0]["force-fetch"]',
      'invalid config at mirrors[0].repository_id',
      'invalid config at mirrors[1].source',
      'invalid config at mirrors[2].repository_id',
      'invalid config at mirrors[2].secret[0]',
      'invalid config at status.key',
      'invalid config at CODEHUB_TOKEN',
      'mirrors.yml (MIRROR_CONFIG_FILE)',
    ]);
    expect(err).toContain('mirrors.yml (MIRROR_CONFIG_FILE): invalid, 9 problems');
    expect(err).not.toContain(CANARY);
  });

  it('shows the line of a YAML syntax error with a caret, values masked', async () => {
    // Prepare
    const text = `mirrors:\n  - source: github.com/acme/api\n    secret: ${CANARY}: nested\n    repository_id: 1\n`;

    // Act
    const { status, err } = await check(['mirrors.yml'], { env: ENV, files: { 'mirrors.yml': text } });

    // Assess
    expect(status).toBe(1);
    const [first, excerpt, caret] = err.split('\n');
    expect(first).toMatch(/^invalid config at MIRROR_CONFIG_FILE: is not valid YAML at line (\d+), column (\d+) \([A-Z_]+\)$/);
    const line = Number(/line (\d+)/.exec(first ?? '')?.[1]);
    expect(line).toBe(3);
    expect(excerpt).toBe('  3 |     secret: ***: ***');
    expect(caret).toMatch(/^ {4}\| +\^$/);
    expect(err).not.toContain(CANARY);
  });

  it('checks the CodeHub credentials written as references for form', async () => {
    // Act
    const { status, err } = await check(['mirrors.yml'], { env: { ...ENV, CODEHUB_TOKEN: 'ssm:' } });

    // Assess
    expect(status).toBe(1);
    expect(err).toMatch(/^invalid config at CODEHUB_TOKEN: must be ssm:NAME/);
  });

  it('checks the config the environment names when no file is given', async () => {
    // Act
    const { status, out } = await check([], { env: { MIRROR_CONFIG: '{"mirrors": []}', MIRROR_CONFIG_FILE: 'mirrors.yml' } });

    // Assess
    expect(status).toBe(0);
    expect(out).toContain('MIRROR_CONFIG (inline): valid, 0 mirrors');
    expect(out).toContain('warnings:\n  mirrors is empty');
  });

  it('checks the given file even when the environment names another config', async () => {
    // Act
    const { status, out } = await check(['mirrors.yml'], { env: { ...ENV, MIRROR_CONFIG: '{"mirrors": []}' } });

    // Assess
    expect(status).toBe(0);
    expect(out).toMatch(/^mirrors\.yml \(MIRROR_CONFIG_FILE\): valid, 4 mirrors/);
  });

  it('needs --resolve for a config kept in SSM', async () => {
    // Prepare
    const fetchers = fakeFetchers({ 'ssm:/bridge/mirrors': '{"mirrors": []}' });

    // Act
    const without = await check([], { env: { MIRROR_CONFIG_PARAMETER: '/bridge/mirrors' }, fetchers });
    const withResolve = await check(['--resolve'], { env: { MIRROR_CONFIG_PARAMETER: '/bridge/mirrors' }, fetchers });

    // Assess
    expect(without.status).toBe(1);
    expect(without.err).toMatch(/MIRROR_CONFIG_PARAMETER: names an SSM parameter: run with --resolve/);
    expect(withResolve.status).toBe(0);
    expect(withResolve.out).toContain('SSM parameter /bridge/mirrors (MIRROR_CONFIG_PARAMETER): valid, 0 mirrors');
  });

  it.each([
    [['--verbose'], 2, /unknown option --verbose/],
    [['a.yml', 'b.yml'], 2, /at most one file/],
    [['--help'], 0, /^usage: npm run check-config/],
  ])('answers %j with exit status %i', async (args, expected, message) => {
    // Act
    const { status, out, err } = await check(args);

    // Assess
    expect(status).toBe(expected);
    expect(expected === 0 ? out : err).toMatch(message);
  });
});

describe('npm run check-config, as the README runs it', () => {
  const env = { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '' };

  it('passes mirrors.example.yml in a shell without its secrets, listing them as not checked here', async () => {
    // Act
    const { stdout } = await run('npm', ['run', '--silent', 'check-config', '--', 'mirrors.example.yml'], { env });

    // Assess
    expect(stdout).toMatch(/^mirrors\.example\.yml \(MIRROR_CONFIG_FILE\): valid, 1 mirror$/m);
    expect(stdout).toContain('  mirrors[0].secret: env:DEMO_WEBHOOK_SECRET (not set in this shell)');
  }, 30_000);

  it('fails mirrors.example.yml with --resolve when the shell lacks its secret', async () => {
    // Act
    const result = await run('npm', ['run', '--silent', 'check-config', '--', 'mirrors.example.yml', '--resolve'], { env }).catch(
      (error: unknown) => error as { code: number; stderr: string },
    );

    // Assess
    expect(result).toMatchObject({
      code: 1,
      stderr: expect.stringContaining('invalid config at mirrors[0].secret: refers to environment variable DEMO_WEBHOOK_SECRET, which is not set'),
    });
  }, 30_000);
});

describe('scripts/check-config.ts from the command line', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'check-config-'));
    writeFileSync(join(dir, 'good.yml'), 'mirrors:\n  - source: github.com/a/b\n    target: g/b\n    secret: ssm:/s\n');
    writeFileSync(join(dir, 'bad.yml'), 'mirrors:\n  - source: github.com/a/b\n');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('exits 0 for a valid file and 1 for an invalid one', async () => {
    // Prepare
    const tsx = join('node_modules', '.bin', 'tsx');
    const env = { PATH: process.env['PATH'] ?? '' };

    // Act
    const good = await run(tsx, ['scripts/check-config.ts', join(dir, 'good.yml')], { env });
    const bad = await run(tsx, ['scripts/check-config.ts', join(dir, 'bad.yml')], { env }).catch((error: unknown) => error as { code: number; stderr: string });

    // Assess
    expect(good.stdout).toContain('github.com/a/b → target g/b');
    expect(bad).toMatchObject({ code: 1, stderr: expect.stringContaining('invalid config at mirrors[0].repository_id: is required') });
  }, 20_000);
});
