import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseDocument } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { loadYamlParser } from '../../lib/config/load';
import { YamlSyntaxError } from '../../lib/config/yaml';
import { findMirrorItems } from '../../lib/config/yaml-parse';

const parseYaml = await loadYamlParser();
const run = promisify(execFile);

/** What `yaml` itself makes of the whole text at once: the data, or the codes and lines of its problems. */
function wholeParse(text: string): unknown {
  const document = parseDocument(text);
  const problems = [...document.errors, ...document.warnings];
  if (problems.length > 0) return { problems: problems.map(({ code, linePos }) => ({ code, line: linePos?.[0].line })) };
  return { data: document.toJS() as unknown };
}

function bridgeParse(text: string): unknown {
  try {
    return { data: parseYaml(text) };
  } catch (error) {
    if (!(error instanceof YamlSyntaxError)) throw error;
    return { problems: error.problems.map(({ code, line }) => ({ code, line })) };
  }
}

/** Items of every shape a split could get wrong, in turn, `count` of them. */
function trickyItems(count: number): string {
  const shapes = [
    (i: number) => `  - source: github.com/acme/r${i}\n    repository_id: ${i + 1}\n`,
    (i: number) => `# a comment at column 0\n  - source: github.com/acme/r${i}   # trailing\n\n    target: mirror/r${i}\n`,
    (i: number) => `  - source: github.com/acme/r${i}\n    note: |\n      - not an item\n      mirrors:\n    repository_id: ${i + 1}\n`,
    (i: number) => `  - source: github.com/acme/r${i}\n    refs: [refs/heads/main,\n      "refs/tags/*"]\n`,
    (i: number) => `  - source: "github.com/acme/\n      r${i}"\n    secret: 'it''s'\n`,
    (i: number) => `  -\n    source: github.com/acme/r${i}\n    refs:\n    - refs/heads/main\n    - refs/heads/dev\n`,
    (i: number) => `  - source: github.com/acme/r${i}\n    password: >-\n      folded\n      text\n`,
    (i: number) => `  - - nested ${i}\n    - list\n`,
    (i: number) => `  - { source: github.com/acme/r${i}, repository_id: ${i + 1} }\n`,
  ];
  let text = '';
  for (let i = 0; i < count; i += 1) text += shapes[i % shapes.length]?.(i) ?? '';
  return text;
}

const HEADER = '# mirrors.yml\nwebhooks:\n  github.com: { secret: env:GITHUB_WEBHOOK_SECRET }\n  gitlab.example.com:\n    secret: [env:A, "b"]\nmirrors:   # the list\n';
const TRAILER = 'status:\n  key: env:MIRRORS_STATUS_KEY\n';

describe('the YAML parser', () => {
  it.each([
    ['a long list between other keys', `${HEADER}${trickyItems(1_300)}${TRAILER}`],
    ['a long list at the end', `${HEADER}${trickyItems(1_100)}`],
    ['a list at column 0', `mirrors:\n${trickyItems(1_100).replace(/^ {2}/gm, '')}status: { key: k }\n`],
    ['CRLF line ends', `${HEADER}${trickyItems(1_050)}${TRAILER}`.replace(/\n/g, '\r\n')],
    ['anchors and aliases across items', `mirrors:\n  - secret: &s env:A\n${trickyItems(1_000)}  - secret: *s\n`],
    ['a flow list', `mirrors: [${Array.from({ length: 600 }, (_, i) => `{source: a/b${i}}`).join(', ')}]\n`],
    ['an empty list', 'webhooks: {}\nmirrors: []\n'],
    ['no mirrors key', 'webhooks:\n  github.com: { secret: x }\n'],
  ])('reads %s exactly as yaml reads the whole text', (_, text) => {
    // Act
    const result = bridgeParse(text);

    // Assess
    expect(result).toEqual(wholeParse(text));
  });

  it.each([
    ['a bad indentation deep in the list', `${HEADER}${trickyItems(1_000)}  - source: a\n   repository_id: 1\n${TRAILER}`],
    ['a duplicate key in an item of the second part', `${HEADER}${trickyItems(700)}  - source: a\n    source: b\n${TRAILER}`],
    ['a duplicate key after the list', `${HEADER}${trickyItems(700)}${TRAILER}status: {}\n`],
    ['a second mirrors key', `${HEADER}${trickyItems(600)}mirrors: []\n`],
    ['an unresolved tag', `${HEADER}${trickyItems(900)}  - source: !env X\n`],
    ['several documents', `${HEADER}${trickyItems(600)}---\nmirrors: []\n`],
    ['an unclosed quote', `${HEADER}${trickyItems(800)}  - source: "github.com/a/b\n${TRAILER}`],
    ['a tab in the indentation', `${HEADER}${trickyItems(600)}\t- source: a\n`],
  ])('reports %s at the line yaml reports it', (_, text) => {
    // Act
    const result = bridgeParse(text);

    // Assess
    const [first] = (wholeParse(text) as { problems: unknown[] }).problems;
    expect(result).toEqual({ problems: expect.arrayContaining([first]) });
    expect((result as { problems: unknown[] }).problems[0]).toEqual(first);
  });
});

describe('findMirrorItems', () => {
  it.each([
    ['between other keys', `${HEADER}${trickyItems(1_300)}${TRAILER}`, 1_300],
    ['at column 0', `mirrors:\n${trickyItems(900).replace(/^ {2}/gm, '')}`, 900],
    ['in mirrors.example.yml shapes with CRLF', `${HEADER}${trickyItems(90)}${TRAILER}`.replace(/\n/g, '\r\n'), 90],
  ])('finds every item of a list %s, so it is parsed in parts', (_, text, count) => {
    // Act
    const items = findMirrorItems(text);

    // Assess
    expect(items?.starts).toHaveLength(count);
  });

  it.each([
    ['an anchor', 'mirrors:\n  - secret: &s x\n  - secret: *s\n'],
    ['a flow list', 'mirrors: [a, b]\n'],
    ['a second document', 'mirrors:\n  - a\n---\nmirrors: []\n'],
    ['a tab', 'mirrors:\n\t- a\n'],
  ])('leaves text with %s to be parsed whole', (_, text) => {
    // Act
    const items = findMirrorItems(text);

    // Assess
    expect(items).toBeUndefined();
  });
});

describe('the YAML parser on a large config', () => {
  const dir = mkdtempSync(join(tmpdir(), 'yaml-memory-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('loads 20,000 mirrors in a 64 MB heap (whole, yaml needed over 64 MB)', async () => {
    // Prepare
    const script = join(dir, 'load.mts');
    writeFileSync(
      script,
      [
        `import { loadMirrorConfig } from ${JSON.stringify(join(process.cwd(), 'lib/config/load.ts'))};`,
        "let text = 'webhooks:\\n  github.com: { secret: s }\\nmirrors:\\n';",
        'for (let i = 0; i < 20_000; i += 1) text += `  - source: github.com/acme/repo-${i}\\n    repository_id: ${i + 1}\\n`;',
        'const { config } = await loadMirrorConfig({ MIRROR_CONFIG: text });',
        'process.stdout.write(String(config.mirrors.length));',
      ].join('\n'),
    );

    // Act
    const { stdout } = await run(process.execPath, ['--max-old-space-size=64', '--import', 'tsx', script]);

    // Assess
    expect(stdout).toBe('20000');
  }, 60_000);
});
