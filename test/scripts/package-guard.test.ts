import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

interface GuardInput {
  readonly env: Record<string, string | undefined>;
  readonly serviceDir: string;
  readonly handlers: readonly string[];
}
// serverless require()s the plugin, so the test loads it the same way.
const { packagingProblem } = createRequire(import.meta.url)('../../scripts/package-guard.cjs') as {
  packagingProblem: (input: GuardInput) => Promise<string | undefined>;
};

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const HANDLERS = ['dist/webhook.handler', 'dist/reconcile.handler', 'dist/codecommit.handler'];

let serviceDir: string;
beforeEach(() => {
  serviceDir = mkdtempSync(join(tmpdir(), 'package-guard-'));
});
afterEach(() => rmSync(serviceDir, { recursive: true, force: true }));

function buildStub(): void {
  mkdirSync(join(serviceDir, 'dist'), { recursive: true });
  for (const name of ['webhook', 'reconcile', 'codecommit', 'worker']) writeFileSync(join(serviceDir, 'dist', `${name}.js`), 'export const handler = () => {};\n');
}

describe('packagingProblem', () => {
  it('asks for a build when a handler is not built', async () => {
    // Prepare
    writeFileSync(join(serviceDir, 'mirrors.yml'), 'mirrors: []\n');

    // Act
    const problem = await packagingProblem({ env: {}, serviceDir, handlers: HANDLERS });

    // Assess
    expect(problem).toBe('dist/webhook.js, dist/reconcile.js, dist/codecommit.js are not built: run `npm run package` (builds, then packages) or `npm run build` first');
  });

  it('says what to provide when there is no config at all', async () => {
    // Prepare
    buildStub();

    // Act
    const problem = await packagingProblem({ env: { MIRROR_CONFIG: ' ', MIRROR_CONFIG_PARAMETER: '' }, serviceDir, handlers: HANDLERS });

    // Assess
    expect(problem).toMatch(/^no mirror config to package: create mirrors\.yml \(cp mirrors\.example\.yml mirrors\.yml/);
    expect(problem).toMatch(/MIRROR_CONFIG_FILE .* MIRROR_CONFIG .* MIRROR_CONFIG_PARAMETER/);
  });

  it.each([
    ['MIRROR_CONFIG', { MIRROR_CONFIG: '{"mirrors": []}' }],
    ['MIRROR_CONFIG_PARAMETER', { MIRROR_CONFIG_PARAMETER: '/bridge/mirrors' }],
    ['mirrors.yml', {}],
    ['MIRROR_CONFIG_FILE inside the folder', { MIRROR_CONFIG_FILE: 'config/prod.yml' }],
  ])('lets a config from %s through', async (_, env) => {
    // Prepare
    buildStub();
    mkdirSync(join(serviceDir, 'config'));
    writeFileSync(join(serviceDir, 'config', 'prod.yml'), 'mirrors: []\n');
    if (!('MIRROR_CONFIG_FILE' in env)) writeFileSync(join(serviceDir, 'mirrors.yml'), 'mirrors: []\n');

    // Act
    const problem = await packagingProblem({ env, serviceDir, handlers: HANDLERS });

    // Assess
    expect(problem).toBeUndefined();
  });

  it.each([
    ['a file that does not exist', 'nope.yml', /^MIRROR_CONFIG_FILE names nope\.yml, which does not exist/],
    ['a file outside the folder, which would not be packaged', '../elsewhere.yml', /must be a file inside/],
    ['an absolute path', '/etc/hosts', /must be a file inside/],
  ])('refuses MIRROR_CONFIG_FILE naming %s', async (_, file, message) => {
    // Prepare
    buildStub();

    // Act
    const problem = await packagingProblem({ env: { MIRROR_CONFIG_FILE: file }, serviceDir, handlers: HANDLERS });

    // Assess
    expect(problem).toMatch(message);
  });
});

describe('sls package with serverless.yml', () => {
  /** A copy of the service: serverless.yml and scripts/, with lib/ and node_modules/ linked. */
  function service(): void {
    cpSync(join(ROOT, 'serverless.yml'), join(serviceDir, 'serverless.yml'));
    cpSync(join(ROOT, 'scripts'), join(serviceDir, 'scripts'), { recursive: true });
    cpSync(join(ROOT, 'mirrors.example.yml'), join(serviceDir, 'mirrors.example.yml'));
    symlinkSync(join(ROOT, 'lib'), join(serviceDir, 'lib'));
    symlinkSync(join(ROOT, 'node_modules'), join(serviceDir, 'node_modules'));
  }

  async function slsPackage(env: Record<string, string> = {}): Promise<{ code: number; output: string }> {
    const bin = join(ROOT, 'node_modules', 'osls', 'bin', 'serverless.js');
    const options = { cwd: serviceDir, env: { PATH: process.env['PATH'] ?? '', HOME: serviceDir, SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off', ...env } };
    return run(process.execPath, [bin, 'package'], options).then(
      ({ stdout, stderr }) => ({ code: 0, output: `${stdout}${stderr}` }),
      (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, output: `${error.stdout}${error.stderr}` }),
    );
  }

  it('fails on an unbuilt clone with the hint to build', async () => {
    // Prepare
    service();

    // Act
    const { code, output } = await slsPackage();

    // Assess
    expect(code).toBe(1);
    expect(output).toContain('are not built: run `npm run package` (builds, then packages) or `npm run build` first');
  }, 30_000);

  it('fails without a config, saying what to provide', async () => {
    // Prepare
    service();
    buildStub();

    // Act
    const { code, output } = await slsPackage();

    // Assess
    expect(code).toBe(1);
    expect(output).toContain('no mirror config to package: create mirrors.yml');
  }, 30_000);

  it('packages the file MIRROR_CONFIG_FILE names, as CI does', async () => {
    // Prepare
    service();
    buildStub();

    // Act
    const { code } = await slsPackage({ MIRROR_CONFIG_FILE: 'mirrors.example.yml' });

    // Assess
    expect(code).toBe(0);
    const [zip] = readdirSync(join(serviceDir, '.serverless')).filter((name) => name.endsWith('.zip'));
    // Entry names are stored uncompressed in a zip's headers.
    const names = readFileSync(join(serviceDir, '.serverless', zip ?? '')).toString('latin1');
    expect(names).toContain('mirrors.example.yml');
    expect(names).toContain('dist/webhook.js');
  }, 30_000);
});
