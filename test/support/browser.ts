/**
 * The Chromium the browser tests drive, found without anything installed by hand:
 *
 * 1. `CHROMIUM_PATH`, when set (and then only it: a wrong path is reported, not papered over);
 * 2. a system Chromium or Chrome (`/usr/bin/chromium`, `chromium`, `google-chrome`, … on PATH, or
 *    the macOS application bundles);
 * 3. the Linux x64 build inside the `@sparticuz/chromium` npm package, which `npm ci` brings: it is
 *    unpacked once per version into the temporary directory.
 *
 * Where none of them can run (macOS or Linux arm64 without a browser), `findChromium` says why, and
 * the tests that need it are skipped under a name that carries that reason.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser } from 'playwright-core';

export type ChromiumLookup =
  | { readonly found: true; readonly executablePath: string; readonly origin: string }
  | { readonly found: false; readonly reason: string };

/**
 * Flags that let Chromium run as root, in a container, without a GPU or a network beyond loopback.
 * Playwright gives every launch a new empty profile (`--user-data-dir` in a fresh temporary directory).
 */
export const CHROMIUM_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const SYSTEM_PATHS: readonly string[] = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
  '/usr/bin/google-chrome-stable',
  '/Applications/Chromium.app/Contents/MacOS/Chromium',
  '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
];
const PATH_NAMES: readonly string[] = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'];
const SPARTICUZ = '@sparticuz/chromium';

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** The first system browser, at a well-known path or by name on PATH. */
export function systemChromium(env: NodeJS.ProcessEnv = process.env, wellKnownPaths: readonly string[] = SYSTEM_PATHS): string | undefined {
  const onPath = (env['PATH'] ?? '')
    .split(delimiter)
    .filter((dir) => dir !== '')
    .flatMap((dir) => PATH_NAMES.map((name) => join(dir, name)));
  return [...wellKnownPaths, ...onPath].find(isExecutableFile);
}

/** The version in the package.json above `entry` (the package exports no `./package.json`). */
function packageVersion(entry: string): string {
  for (let dir = dirname(entry); dir !== dirname(dir); dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (!existsSync(manifest)) continue;
    const { name, version } = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string; version?: string };
    if (name === SPARTICUZ && version !== undefined) return version;
  }
  throw new Error(`no package.json of ${SPARTICUZ} above ${entry}`);
}

/**
 * Unpacks the package's Chromium into `<tmp>/codehub-mirror-bridge-chromium-<version>/` once.
 * The package always unpacks into `os.tmpdir()` and reuses whatever `chromium` it finds there, so it
 * runs in a child whose TMPDIR is a fresh directory, renamed into place only when complete: a stale
 * or half-written binary of another version is never picked up.
 */
async function unpackSparticuz(): Promise<string> {
  const require = createRequire(import.meta.url);
  const entry = require.resolve(SPARTICUZ);
  const home = join(tmpdir(), `codehub-mirror-bridge-chromium-${packageVersion(entry)}`);
  const binary = join(home, 'chromium');
  if (isExecutableFile(binary)) return binary;

  const partial = mkdtempSync(`${home}.partial-`);
  try {
    const script = 'require(process.argv[1]).executablePath().then((path) => process.stdout.write(path))';
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', script, entry], { env: { ...process.env, TMPDIR: partial }, timeout: 120_000 });
    if (stdout !== join(partial, 'chromium')) throw new Error(`${SPARTICUZ} unpacked to ${stdout}, not ${partial}`);
    try {
      renameSync(partial, home);
    } catch (error) {
      // Another test process unpacked the same version first: use its copy.
      if (!isExecutableFile(binary)) throw error;
    }
  } finally {
    if (existsSync(partial)) rmSync(partial, { recursive: true, force: true });
  }
  return binary;
}

/** The browser to drive, or why there is none. Never throws. */
export async function findChromium(env: NodeJS.ProcessEnv = process.env): Promise<ChromiumLookup> {
  const configured = env['CHROMIUM_PATH'];
  if (configured !== undefined && configured !== '') {
    return isExecutableFile(configured)
      ? { found: true, executablePath: configured, origin: 'CHROMIUM_PATH' }
      : { found: false, reason: `CHROMIUM_PATH=${configured} is not an executable file` };
  }
  const system = systemChromium(env);
  if (system !== undefined) return { found: true, executablePath: system, origin: 'system' };
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    return { found: false, reason: `no system Chromium, and ${SPARTICUZ} ships Linux x64 only (this is ${process.platform} ${process.arch}); set CHROMIUM_PATH` };
  }
  try {
    return { found: true, executablePath: await unpackSparticuz(), origin: SPARTICUZ };
  } catch (error) {
    return { found: false, reason: `no system Chromium, and ${SPARTICUZ} could not be unpacked: ${error instanceof Error ? error.message : String(error)}` };
  }
}

/** Headless Chromium at `executablePath`, with `CHROMIUM_ARGS`. */
export function launchChromium(executablePath: string): Promise<Browser> {
  return chromium.launch({ executablePath, args: [...CHROMIUM_ARGS] });
}
