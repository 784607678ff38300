/** What the report tests share: commits, a token, and the checks every host's request must pass. */

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { expect } from 'vitest';
import type { CommitStatus, StatusRequest } from '../../lib/report/types';

export const SHA1 = '9fceb02d0ae598e95dc970b74767f19372d61af8';
export const SHA256 = '5b9c3a1f0e2d4c6b8a7f9e1d3c5b7a9f0e2d4c6b8a7f9e1d3c5b7a9f0e2d4c6b';
/** Looks like a real token, so a leak of it anywhere is found by searching for it. */
export const TOKEN = 'ghp_R3p0rtT0kenForTests0nly1234567890ab';
export const TARGET_URL = 'https://console.huaweicloud.com/codearts/repo/group/name';

/** A status with every field, in `state`. */
export function statusOf(state: CommitStatus['state'], overrides: Partial<CommitStatus> = {}): CommitStatus {
  return {
    state,
    sha: SHA1,
    context: 'CodeArts mirror',
    description: 'mirroring to CodeArts group/name',
    targetUrl: TARGET_URL,
    ...overrides,
  };
}

/** The request's JSON body. */
export function bodyOf(request: StatusRequest): Record<string, unknown> {
  return JSON.parse(request.body) as Record<string, unknown>;
}

/**
 * Asserts the token appears in `header` (as `expected` has it there) and nowhere else: not in the
 * URL, the body or any other header, not even base64- or %-encoded.
 */
export function expectTokenOnlyIn(request: StatusRequest, header: string, expected: string): void {
  expect(request.headers[header]).toBe(expected);
  const spellings = [TOKEN, Buffer.from(TOKEN).toString('base64'), encodeURIComponent(TOKEN)];
  const elsewhere = [request.url, request.body, ...Object.entries(request.headers).filter(([name]) => name !== header).map(([, value]) => value)];
  for (const text of elsewhere) {
    for (const spelling of spellings) expect(text).not.toContain(spelling);
  }
}

/** Asserts the request is a JSON POST with the headers every host needs. */
export function expectJsonPost(request: StatusRequest): void {
  expect(request.method).toBe('POST');
  expect(request.headers['content-type']).toBe('application/json');
  expect(request.headers['user-agent']).toBe('codehub-mirror-bridge');
  expect(() => JSON.parse(request.body) as unknown).not.toThrow();
}

/** A description past `limit` whose emoji sits where a cut to `limit` (less an ellipsis) would split it. */
export function longDescriptionWithEmojiAt(limit: number): string {
  return `${'a'.repeat(limit - 2)}😀${'b'.repeat(300)}`;
}

/** Whether `text` holds half a surrogate pair (a lone surrogate). */
export function hasLoneSurrogate(text: string): boolean {
  return /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text);
}

/** A file of an installed package (a vendor's published API description), as text. */
export function packageFile(path: string): string {
  return readFileSync(createRequire(import.meta.url).resolve(path), 'utf8');
}

/** The property names of `export interface {name}` in a d.ts as tsc emits it (one property a line). */
export function interfaceFields(dts: string, name: string): string[] {
  const start = dts.indexOf(`\nexport interface ${name} {\n`);
  if (start === -1) throw new Error(`the package declares no interface ${name}`);
  const declaration = dts.slice(start, dts.indexOf('\n}\n', start));
  return [...declaration.matchAll(/^ {4}(\w+)\??: /gm)].map((match) => match[1] ?? '');
}

/** The class method `name(parameters)` in compiled JS: from its signature to the next member's doc comment. */
export function methodSource(js: string, name: string, parameters: string): string {
  const start = js.indexOf(`\n    ${name}(${parameters}) {\n`);
  if (start === -1) throw new Error(`the package has no method ${name}(${parameters})`);
  return js.slice(start, js.indexOf('\n    /**', start + 1));
}
