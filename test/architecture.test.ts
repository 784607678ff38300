import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The shape lib/README.md describes, held against the code: which folder of lib/ may import which,
 * no import circle between files, and no file past the size a reader takes in at once.
 */

const LIB = resolve(import.meta.dirname, '../lib');

/** Folder → the folders it may import (besides itself). `root` is lib/*.ts: errors, crypto, deadline. */
const MAY_IMPORT: Readonly<Record<string, readonly string[]>> = {
  root: [],
  observability: ['root'],
  http: ['root'],
  providers: ['root'],
  config: ['root', 'providers'],
  codehub: ['root', 'observability'],
  ledger: ['root', 'providers', 'config'],
  report: ['root', 'providers'],
  pipeline: ['root', 'observability', 'http', 'providers', 'config', 'codehub', 'ledger', 'report'],
  status: ['root', 'observability', 'http', 'config', 'codehub', 'ledger', 'report', 'pipeline'],
};

const MAX_LINES = 310;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') && !path.endsWith('.d.ts') ? [path] : [];
  });
}

function folderOf(file: string): string {
  const rel = relative(LIB, file);
  return rel.includes('/') ? (rel.split('/')[0] as string) : 'root';
}

/** Relative imports (static, type-only and dynamic) of `file`, resolved to files of lib/. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map((m) => m[1] as string);
  return specs.map((spec) => {
    const base = resolve(dirname(file), spec);
    for (const candidate of [`${base}.ts`, join(base, 'index.ts'), base]) {
      try {
        if (statSync(candidate).isFile()) return candidate;
      } catch {
        // not this one
      }
    }
    throw new Error(`${relative(LIB, file)} imports ${spec}, which does not exist`);
  });
}

const files = sourceFiles(LIB);
const graph = new Map(files.map((file) => [file, importsOf(file)]));

describe('lib/ architecture', () => {
  it('has a rule for every folder', () => {
    // Assess
    expect([...new Set(files.map(folderOf))].filter((folder) => !(folder in MAY_IMPORT))).toEqual([]);
  });

  it('imports only folders to its left (lib/README.md)', () => {
    // Act
    const violations = files.flatMap((file) =>
      (graph.get(file) ?? [])
        .filter((target) => folderOf(target) !== folderOf(file) && !(MAY_IMPORT[folderOf(file)] ?? []).includes(folderOf(target)))
        .map((target) => `${relative(LIB, file)} → ${relative(LIB, target)}`),
    );
    // Assess
    expect(violations).toEqual([]);
  });

  it('has no import circle between files', () => {
    // Prepare
    const state = new Map<string, 'visiting' | 'done'>();
    const circles: string[] = [];
    const visit = (file: string, path: string[]): void => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'visiting') {
        circles.push([...path.slice(path.indexOf(file)), file].map((f) => relative(LIB, f)).join(' → '));
        return;
      }
      state.set(file, 'visiting');
      for (const target of graph.get(file) ?? []) visit(target, [...path, file]);
      state.set(file, 'done');
    };
    // Act
    for (const file of files) visit(file, []);
    // Assess
    expect(circles).toEqual([]);
  });

  it(`keeps every file under ${MAX_LINES} lines`, () => {
    // Act
    const long = files
      .map((file) => ({ file: relative(LIB, file), lines: readFileSync(file, 'utf8').split('\n').length }))
      .filter(({ lines }) => lines > MAX_LINES);
    // Assess
    expect(long).toEqual([]);
  });
});
