import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../lib/errors';

/**
 * The README cannot drift from the code: its Answers table lists exactly the codes of
 * lib/errors.ts that the bridge answers (each other code is named as never answered), every
 * `npm run` script it mentions exists, and every file it links or names exists.
 */

const ROOT = new URL('../', import.meta.url);
const README = readFileSync(new URL('README.md', ROOT), 'utf8');
const SCRIPTS = Object.keys((JSON.parse(readFileSync(new URL('package.json', ROOT), 'utf8')) as { scripts: Record<string, string> }).scripts);

function section(heading: string): string {
  const start = README.indexOf(`\n## ${heading}`);
  if (start === -1) throw new Error(`README has no "## ${heading}" section`);
  const end = README.indexOf('\n## ', start + 1);
  return README.slice(start, end === -1 ? undefined : end);
}

/** The backticked UPPER_CASE words of `text`: how the README writes a code. */
function codesIn(text: string): Set<string> {
  return new Set([...text.matchAll(/`([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)`/g)].map((match) => match[1] ?? ''));
}

const answers = section('Answers');
const tableRows = answers.split('\n').filter((line) => line.startsWith('|'));
/** The last column of each row: the `code` column (other columns may name variables, e.g. WEBHOOK_MAX_BODY_BYTES). */
const codeCells = tableRows.map((row) => row.replace(/\|\s*$/, '').split('|').pop() ?? '');
const tableCodes = codesIn(codeCells.join('\n'));
const neverAnsweredLine = answers.split('\n').find((line) => line.startsWith('Never answered:')) ?? '';
const neverAnswered = codesIn(neverAnsweredLine);
const allCodes = Object.values(ErrorCodes) as string[];

describe('README: the Answers table', () => {
  it.each(allCodes)('names %s: in the table, or as never answered', (code) => {
    // Assess
    expect(tableCodes.has(code) || neverAnswered.has(code), `README's Answers section does not mention ${code}`).toBe(true);
  });

  it('lists only codes that exist in lib/errors.ts', () => {
    // Assess
    expect([...tableCodes, ...neverAnswered].filter((code) => !allCodes.includes(code))).toEqual([]);
  });

  it('does not list a code both as answered and as never answered', () => {
    // Assess
    expect([...neverAnswered].filter((code) => tableCodes.has(code))).toEqual([]);
    expect(neverAnsweredLine).not.toBe('');
  });

  it('gives each code in the table a status', () => {
    // Assess: every row with a code has an HTTP status in its status column.
    const rowsWithCodes = tableRows.filter((_row, i) => codesIn(codeCells[i] ?? '').size > 0);
    expect(rowsWithCodes.filter((row) => !/\|\s*[1-5]\d\d\s*\|/.test(row))).toEqual([]);
  });
});

describe('README: commands and files', () => {
  it('mentions only npm scripts that package.json has', () => {
    // Prepare
    const mentioned = new Set([...README.matchAll(/\bnpm run ([a-z][\w:-]*)/g)].map((match) => match[1] ?? ''));
    for (const builtIn of ['start', 'test']) if (new RegExp(`\\bnpm ${builtIn}\\b`).test(README)) mentioned.add(builtIn);
    // Assess
    expect(mentioned.size).toBeGreaterThan(3);
    expect([...mentioned].filter((script) => !SCRIPTS.includes(script))).toEqual([]);
  });

  it('links only files that exist', () => {
    // Prepare
    const links = [...README.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)].map((match) => match[1] ?? '').filter((target) => !/^[a-z]+:/.test(target));
    // Assess
    expect(links.length).toBeGreaterThan(0);
    expect(links.filter((target) => !existsSync(new URL(target, ROOT)))).toEqual([]);
  });

  it('names only files and folders of the repository that exist', () => {
    // Prepare: backticked paths (a folder, or a file with an extension), and any Markdown file by name.
    // Build output (dist/), local state (.data/) and the user's own mirrors.yml are made, not shipped.
    const named = [...README.matchAll(/`([\w.-]+(?:\/[\w.-]+)*(?:\/|\.(?:ts|mjs|cjs|js|md|yml|json)))`/g)]
      .map((match) => match[1] ?? '')
      .filter((path) => path.includes('/') || path.endsWith('.md'))
      .filter((path) => !/^(dist|\.data)\//.test(path));
    // Assess
    expect(named.length).toBeGreaterThan(0);
    expect([...new Set(named)].filter((path) => !existsSync(new URL(path, ROOT)))).toEqual([]);
  });
});
