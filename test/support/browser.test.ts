import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { findChromium, systemChromium } from './browser';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), 'browser-lookup-'));
  dirs.push(dir);
  return dir;
}

describe('findChromium', () => {
  it('takes CHROMIUM_PATH over any other browser', async () => {
    // Prepare
    const executable = join(scratch(), 'my-chromium');
    writeFileSync(executable, '#!/bin/sh\n');
    chmodSync(executable, 0o755);
    // Act
    const found = await findChromium({ CHROMIUM_PATH: executable, PATH: process.env['PATH'] });
    // Assess
    expect(found).toEqual({ found: true, executablePath: executable, origin: 'CHROMIUM_PATH' });
  });

  it('reports a CHROMIUM_PATH that cannot run instead of quietly using another browser', async () => {
    // Prepare
    const notExecutable = join(scratch(), 'chromium.txt');
    writeFileSync(notExecutable, 'not a program');
    // Act
    const found = await findChromium({ CHROMIUM_PATH: notExecutable });
    // Assess
    expect(found).toEqual({ found: false, reason: `CHROMIUM_PATH=${notExecutable} is not an executable file` });
  });
});

describe('systemChromium', () => {
  it('finds a browser by name on PATH when no well-known path has one', () => {
    // Prepare
    const dir = scratch();
    const executable = join(dir, 'google-chrome');
    writeFileSync(executable, '#!/bin/sh\n');
    chmodSync(executable, 0o755);
    // Act
    const found = systemChromium({ PATH: `/nonexistent:${dir}` }, ['/nonexistent/chromium']);
    // Assess
    expect(found).toBe(executable);
  });
});
