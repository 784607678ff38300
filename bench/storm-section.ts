/**
 * The storm bench's part of BENCHMARKS.md, between two markers: `npm run bench:storm` writes it,
 * and `npm run bench`, which writes the rest of the file, keeps it.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const START = '<!-- storm:start -->';
const END = '<!-- storm:end -->';

/** The storm section of the file at `path` (with its markers and a leading blank line), or '' when it has none. */
export function stormSection(path: string): string {
  if (!existsSync(path)) return '';
  const text = readFileSync(path, 'utf8');
  const start = text.indexOf(START);
  const end = text.indexOf(END);
  return start === -1 || end < start ? '' : `\n${text.slice(start, end + END.length)}\n`;
}

/** Replaces the storm section of the file at `path` with `body` (markdown), or appends it. */
export function writeStormSection(path: string, body: string): void {
  const text = existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmarks\n';
  const section = `${START}\n${body.trim()}\n${END}`;
  const start = text.indexOf(START);
  const end = text.indexOf(END);
  const next = start === -1 || end < start ? `${text.trimEnd()}\n\n${section}\n` : `${text.slice(0, start)}${section}${text.slice(end + END.length)}`;
  writeFileSync(path, next);
}
