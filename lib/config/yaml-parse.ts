/**
 * The YAML parser, loaded only for YAML text (see `loadYamlParser`). Strict: YAML 1.2 core schema,
 * duplicate keys rejected, and a warning (an unresolved tag such as `!env`) is an error, since a
 * silently reinterpreted value could become a wrong secret.
 *
 * Bounded memory: `yaml` holds a document's whole syntax tree while it builds it, ~5 KB a mirror,
 * so 100,000 mirrors took over 500 MB. The `mirrors` list is therefore parsed a few hundred items
 * at a time: `yaml`'s own lexer (streaming, no tree) finds where each item of the root `mirrors`
 * block list starts, and the rest of the text is parsed with the list blanked out. The lexer is the
 * one the parser uses, so an item starts exactly where the parser would start one. Anything the
 * split cannot keep exact (anchors and aliases, which may cross items; several documents; a flow
 * `mirrors: [...]`; tabs or odd indentation) is parsed whole instead.
 */

import { CST, Lexer, parseDocument } from 'yaml';
import { YamlSyntaxError, type YamlParser } from './yaml';

/** Items parsed together: a few MB of syntax tree at most. */
const ITEMS_PER_PART = 500;
/** The lexer's marks: a document's start, a scalar's text next, a flow collection cut short. */
const DOCUMENT_MARK = '\u0002';
const SCALAR_MARK = '\u001f';
const FLOW_ERROR_END = '\u0018';
const CONTROL_TOKENS = new Set([DOCUMENT_MARK, SCALAR_MARK, FLOW_ERROR_END]);
const NOT_SPLITTABLE = new Set(['anchor', 'alias', 'doc-start', 'doc-end', 'directive-line']);

/** Where the items of the root `mirrors` block list are: offsets and 1-based lines of each start, and its end. */
export interface MirrorItems {
  readonly starts: readonly number[];
  readonly lines: readonly number[];
  readonly end: number;
  /** Newlines between the first item and `end`. */
  readonly newlines: number;
}

export const parseYaml: YamlParser = (text) => {
  const items = findMirrorItems(text);
  if (items === undefined) return parsePart(text, 0);
  const { starts, lines, end, newlines } = items;
  const first = starts[0] ?? end;
  // The list blanked to as many newlines, so every position after it stays where it was.
  const root = parsePart(`${text.slice(0, first)}${'\n'.repeat(newlines)}${text.slice(end)}`, 0);
  if (!isMapping(root) || root['mirrors'] !== null) return parsePart(text, 0);
  const mirrors: unknown[] = [];
  for (let index = 0; index < starts.length; index += ITEMS_PER_PART) {
    const part = parsePart(text.slice(starts[index], starts[index + ITEMS_PER_PART] ?? end), (lines[index] ?? 1) - 1);
    if (!Array.isArray(part)) return parsePart(text, 0);
    for (const item of part as readonly unknown[]) mirrors.push(item);
  }
  return { ...root, mirrors };
};

/** Parses one document; `lineOffset` lines precede `text` in the whole. */
function parsePart(text: string, lineOffset: number): unknown {
  const document = parseDocument(text);
  const problems = [...document.errors, ...document.warnings];
  if (problems.length > 0) {
    throw new YamlSyntaxError(
      problems.map(({ code, linePos }) => ({ code, line: (linePos?.[0].line ?? 1) + lineOffset, column: linePos?.[0].col ?? 1 })),
    );
  }
  return document.toJS() as unknown;
}

function isMapping(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Finds the items of the root `mirrors:` block list with the lexer, or undefined when the text is
 * not of the shape that splits exactly. An item starts at a line whose first token is `-` at the
 * list's indentation, outside any flow collection; the list ends at the first line whose first token
 * is at column 0 and not `-`.
 */
export function findMirrorItems(text: string): MirrorItems | undefined {
  const starts: number[] = [];
  const lines: number[] = [];
  let state: 'root' | 'key' | 'value' | 'first' | 'items' | 'after' = 'root';
  let offset = 0;
  let line = 1;
  let lineStart = 0;
  let atLineStart = true;
  let indent = 0;
  let flowDepth = 0;
  let markedScalar = false;
  let blockScalarNext = false;
  let itemIndent = 0;
  let end = text.length;
  let endLine = 0;
  for (const token of new Lexer().lex(text)) {
    if (CONTROL_TOKENS.has(token)) {
      if (token === FLOW_ERROR_END) return undefined;
      markedScalar = token === SCALAR_MARK;
      continue;
    }
    const type = markedScalar ? 'scalar' : CST.tokenType(token);
    markedScalar = false;
    const tokenStart = offset;
    const tokenLine = line;
    offset += token.length;
    line += countNewlines(token); // a plain or quoted scalar may span lines too
    if (type !== null && NOT_SPLITTABLE.has(type)) return undefined;
    const blockScalarContent = type === 'scalar' && blockScalarNext;
    if (blockScalarContent) blockScalarNext = false;
    if (type === 'newline' || blockScalarContent) {
      // A block scalar's content, like a newline, runs to a line start (or to the end of the text).
      const lastNewline = token.lastIndexOf('\n');
      if (lastNewline === -1) continue;
      lineStart = tokenStart + lastNewline + 1;
      atLineStart = lastNewline === token.length - 1;
      indent = 0;
      if (state === 'key') state = 'root';
      if (state === 'value') state = 'first';
      continue;
    }
    if (type === 'space' && atLineStart) {
      if (token.includes('\t')) return undefined;
      indent = token.length;
      continue;
    }
    if (type === 'space' || type === 'comment' || type === 'byte-order-mark') continue;

    const firstOnLine = atLineStart && flowDepth === 0;
    atLineStart = false;
    if (state === 'key') state = type === 'map-value-ind' ? 'value' : 'root';
    else if (state === 'value') return undefined; // `mirrors: [...]` or `mirrors: x`: not a block list
    else if (firstOnLine && state === 'root') {
      if (indent === 0 && type === 'scalar' && token === 'mirrors') state = 'key';
    } else if (firstOnLine && state === 'first') {
      if (type !== 'seq-item-ind') return undefined;
      itemIndent = indent;
      state = 'items';
      starts.push(lineStart);
      lines.push(tokenLine);
    } else if (firstOnLine && state === 'items') {
      if (type === 'seq-item-ind' && indent === itemIndent) {
        starts.push(lineStart);
        lines.push(tokenLine);
      } else if (indent === 0 && type !== 'seq-item-ind') {
        state = 'after';
        end = lineStart;
        endLine = tokenLine;
      } else if (indent <= itemIndent) return undefined; // not a list yaml would read: let it say why
    }
    if (type === 'flow-map-start' || type === 'flow-seq-start') flowDepth += 1;
    else if (type === 'flow-map-end' || type === 'flow-seq-end') flowDepth -= 1;
    else if (type === 'block-scalar-header') blockScalarNext = true;
  }
  const firstLine = lines[0];
  if (firstLine === undefined) return undefined;
  return { starts, lines, end, newlines: (state === 'after' ? endLine : line) - firstLine };
}

function countNewlines(text: string): number {
  let count = 0;
  for (let at = text.indexOf('\n'); at !== -1; at = text.indexOf('\n', at + 1)) count += 1;
  return count;
}
