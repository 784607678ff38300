/**
 * Reads one operation of GitHub's published OpenAPI description (`@octokit/openapi`) without
 * parsing the whole file: the dereferenced descriptions are 60-70 MB, and one path item is a few KB.
 * The files are pretty-printed with two-space indents, so top-level keys start a line with two
 * spaces and path keys with four; a value is cut out by matching its brackets outside strings.
 */

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

const GENERATED = resolve(import.meta.dirname, '../../node_modules/@octokit/openapi/generated');

export interface OpenApiParts {
  /** The description's `servers`. */
  readonly servers: readonly { readonly url: string }[];
  /** The path item at the template, undefined when the description has no such path. */
  readonly pathItem: Readonly<Record<string, unknown>> | undefined;
}

const cache = new Map<string, OpenApiParts>();

/** `servers` and the path item `template` of `generated/{file}`, read once per file and template. */
export function openApiParts(file: string, template: string): OpenApiParts {
  const key = `${file} ${template}`;
  const cached = cache.get(key);
  if (cached !== undefined) return cached;
  const bytes = readFileSync(resolve(GENERATED, file));
  const serversAt = topLevelKey(bytes, 'servers');
  const pathsAt = topLevelKey(bytes, 'paths');
  if (serversAt === -1 || pathsAt === -1) throw new Error(`${file} has no top-level servers or paths`);
  // The path item must lie inside `paths`: before the next top-level key.
  const nextTopLevel = bytes.indexOf('\n  "', pathsAt + 1);
  const keyAt = bytes.indexOf(`\n    ${JSON.stringify(template)}: `, pathsAt);
  const inPaths = keyAt !== -1 && (nextTopLevel === -1 || keyAt < nextTopLevel);
  const parts: OpenApiParts = {
    servers: valueAfter(bytes, serversAt) as OpenApiParts['servers'],
    pathItem: inPaths ? (valueAfter(bytes, keyAt) as Readonly<Record<string, unknown>>) : undefined,
  };
  cache.set(key, parts);
  return parts;
}

function topLevelKey(bytes: Buffer, name: string): number {
  return bytes.indexOf(`\n  "${name}": `);
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPENERS = new Set([0x7b, 0x5b]); // { [
const CLOSERS = new Set([0x7d, 0x5d]); // } ]

/**
 * The JSON object or array that follows the `"key": ` at `at`. UTF-8 continuation bytes are all
 * 0x80 or above, so brackets and quotes can be matched byte by byte.
 */
function valueAfter(bytes: Buffer, at: number): unknown {
  const colon = bytes.indexOf('": ', at + 1);
  let start = colon + 3;
  while (start < bytes.length && !OPENERS.has(bytes[start] ?? 0)) start += 1;
  let depth = 0;
  let inString = false;
  for (let index = start; index < bytes.length; index += 1) {
    const byte = bytes[index] ?? 0;
    if (inString) {
      if (byte === BACKSLASH) index += 1;
      else if (byte === QUOTE) inString = false;
    } else if (byte === QUOTE) {
      inString = true;
    } else if (OPENERS.has(byte)) {
      depth += 1;
    } else if (CLOSERS.has(byte)) {
      depth -= 1;
      if (depth === 0) return JSON.parse(bytes.subarray(start, index + 1).toString('utf8'));
    }
  }
  throw new Error('unterminated JSON value');
}
