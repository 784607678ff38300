/**
 * The line of a config a syntax error points at, for a person to read (`npm run check-config`), with
 * every value that could be a secret masked: keys, YAML punctuation, numbers, booleans, references
 * (`env:`, `ssm:`, `secretsmanager:`) and the values of keys that never hold a secret stay; any
 * other value, and comments, become `***`. A caret marks the column.
 */

/** Keys whose values are never secret: shown as written. */
const PLAIN_KEYS = new Set(['webhooks', 'mirrors', 'status', 'source', 'repository_id', 'target', 'refs', 'force_fetch']);
const SHOWN_VALUE = /^["']?(?:env:|ssm:|secretsmanager:|refs\/|-?\d+(?:\.\d+)?["']?$|(?:true|false|null|~)["']?$)/i;
/** Flow indicators, and the block indicators `-`, `?`, `|`, `>` (with its block scalar header) before a blank. */
const STRUCTURE = /^(?:[{}[\],]|[-?](?=\s|$)|[|>][-+0-9]*(?=\s|$))/;
const MASK = '***';

/**
 * The line `line` (1-based) of `text`, masked, and a caret under `column` (1-based), as two lines
 * prefixed with the line number; none when the line does not exist.
 */
export function maskedExcerpt(text: string, line: number, column: number): readonly string[] {
  const content = lineOf(text, line);
  if (content === undefined) return [];
  const { masked, columns } = maskLine(content);
  const caret = columns[Math.min(Math.max(column - 1, 0), columns.length - 1)] ?? masked.length;
  const gutter = String(line);
  return [`  ${gutter} | ${masked}`, `  ${' '.repeat(gutter.length)} | ${' '.repeat(caret)}^`];
}

function lineOf(text: string, line: number): string | undefined {
  let start = 0;
  for (let current = 1; current < line; current += 1) {
    const newline = text.indexOf('\n', start);
    if (newline === -1) return undefined;
    start = newline + 1;
  }
  const end = text.indexOf('\n', start);
  return text.slice(start, end === -1 ? text.length : end).replace(/\r$/, '');
}

/** The masked line, and for each column of the original (one past its end included) the column it became. */
function maskLine(content: string): { masked: string; columns: number[] } {
  let masked = '';
  const columns: number[] = [];
  let key: string | undefined;
  // A scalar can be a key only where a node starts: at the line start, after `-`, `?`, `{`, `[` or `,`.
  let keyPosition = true;
  let at = 0;
  const keep = (to: number): void => {
    for (; at < to; at += 1) {
      columns.push(masked.length);
      masked += content[at] ?? '';
    }
  };
  const replace = (to: number, by: string): void => {
    for (; at < to; at += 1) columns.push(masked.length);
    masked += by;
  };
  while (at < content.length) {
    const char = content[at] ?? '';
    const structure = STRUCTURE.exec(content.slice(at, at + 8));
    if (char === ' ' || char === '\t' || char === ':') keep(at + 1);
    else if (structure !== null) {
      keyPosition = structure[0] !== '}' && structure[0] !== ']';
      keep(at + structure[0].length);
    } else if (char === '#') replace(content.length, MASK); // a comment: a scalar never starts with #
    else {
      const end = scalarEnd(content, at);
      const scalar = content.slice(at, end);
      if (keyPosition && content[end] === ':' && isBlankOrEnd(content[end + 1])) {
        key = scalar.replace(/^["']|["']$/g, '');
        keep(end);
      } else if ((key !== undefined && PLAIN_KEYS.has(key)) || SHOWN_VALUE.test(scalar)) keep(end);
      else replace(end, MASK);
      keyPosition = false;
    }
  }
  columns.push(masked.length);
  return { masked, columns };
}

/** Where a scalar starting at `start` ends: its closing quote, or before `: `, ` #`, a flow indicator or the end. */
function scalarEnd(content: string, start: number): number {
  const quote = content[start];
  if (quote === '"' || quote === "'") {
    for (let at = start + 1; at < content.length; at += 1) {
      if (content[at] === '\\' && quote === '"') at += 1;
      else if (content[at] === quote) return at + 1;
    }
    return content.length;
  }
  for (let at = start; at < content.length; at += 1) {
    const char = content[at];
    const next = content[at + 1];
    if (char === ',' || char === ']' || char === '}' || char === '[' || char === '{') return at;
    if (char === ':' && isBlankOrEnd(next)) return at;
    if ((char === ' ' || char === '\t') && next === '#') return at;
  }
  return content.length;
}

function isBlankOrEnd(char: string | undefined): boolean {
  return char === undefined || char === ' ' || char === '\t';
}
