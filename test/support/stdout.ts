import { afterEach, beforeEach, vi } from 'vitest';

/**
 * Captures what the process writes while each test of the calling file runs: Powertools writes its
 * log lines and EMF metrics to stdout, warnings and errors to stderr. Call once at a file's top level.
 */
export function captureProcessOutput(): { readonly lines: () => string[]; readonly json: () => Record<string, unknown>[] } {
  let written: string[] = [];
  beforeEach(() => {
    written = [];
    for (const stream of [process.stdout, process.stderr]) {
      vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
        written.push(...String(chunk).split('\n').filter((l) => l !== ''));
        return true;
      });
    }
  });
  afterEach(() => vi.restoreAllMocks());
  return { lines: () => written, json: () => written.map((l) => JSON.parse(l) as Record<string, unknown>) };
}
