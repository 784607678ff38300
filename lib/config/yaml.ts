/**
 * What the YAML parser (lib/config/yaml-parse.ts, imported on first use by `loadYamlParser`) looks
 * like to the rest of the config code: its errors carry positions, never the text around them.
 */

/** Turns YAML text into plain data; throws `YamlSyntaxError` on invalid YAML. */
export type YamlParser = (text: string) => unknown;

/** Where YAML is broken: `yaml`'s code for what (`BAD_INDENT`, `DUPLICATE_KEY`, …), 1-based line and column. */
export interface YamlSyntaxProblem {
  readonly code: string;
  readonly line: number;
  readonly column: number;
}

/** Invalid YAML: every problem `yaml` found, positions only (its messages quote the text). */
export class YamlSyntaxError extends Error {
  override name = 'YamlSyntaxError';
  readonly problems: readonly YamlSyntaxProblem[];
  constructor(problems: readonly YamlSyntaxProblem[]) {
    super(`invalid YAML (${problems.length} problem${problems.length === 1 ? '' : 's'})`);
    this.problems = problems;
  }
}
