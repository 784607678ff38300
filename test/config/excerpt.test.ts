import { describe, expect, it } from 'vitest';
import { maskedExcerpt } from '../../lib/config/excerpt';

/** A value no excerpt may contain. */
const CANARY = 'S3CRET-canary-77aa';

describe('maskedExcerpt', () => {
  it.each([
    ['a literal secret', `    secret: ${CANARY}`, '    secret: ***'],
    ['an unclosed quoted secret', `    password: "${CANARY}`, '    password: ***'],
    ['a secret that looks like a nested key', `    secret: ${CANARY}: nested`, '    secret: ***: ***'],
    ['a secret in a flow mapping', `  github.com: { secret: ${CANARY} }`, '  github.com: { secret: ***}'],
    ['secrets in a rotation list', `    secret: [env:NEW, "${CANARY}", '${CANARY}']`, '    secret: [env:NEW, ***, ***]'],
    ['a list item', `      - "${CANARY}"`, '      - ***'],
    ['a comment', `    repository_id: 12 # was ${CANARY}`, '    repository_id: 12 ***'],
    ['a tag', `  key: !env ${CANARY}`, '  key: ***'],
  ])('masks %s', (_, line, masked) => {
    // Act
    const [excerpt] = maskedExcerpt(`mirrors:\n${line}\n`, 2, 1);

    // Assess
    expect(excerpt).toBe(`  2 | ${masked}`);
    expect(excerpt).not.toContain(CANARY);
  });

  it('shows keys, sources, targets, refs, numbers and references as written', () => {
    // Prepare
    const text = [
      '  - source: github.com/acme/api',
      '    target: acme-mirror/{name}',
      '    refs: [refs/heads/main, "refs/tags/*"]',
      '    force_fetch: false',
      '    secret: [env:A, ssm:/bridge/b, "secretsmanager:bridge/c#d"]',
    ].join('\n');

    // Act
    const shown = text.split('\n').map((_, index) => maskedExcerpt(text, index + 1, 1)[0]?.replace(/^ {2}\d \| /, ''));

    // Assess
    expect(shown).toEqual(text.split('\n'));
  });

  it('puts the caret under the column, moved where masking shortened the line', () => {
    // Act
    const [, before] = maskedExcerpt(`a:\n  secret: ${CANARY}x: y\n`, 2, 3);
    const [, inside] = maskedExcerpt(`a:\n  secret: ${CANARY}\n`, 2, 15);
    const [, after] = maskedExcerpt(`a:\n  secret: ${CANARY}: y\n`, 2, 13 + CANARY.length);

    // Assess
    expect(before).toBe('    |   ^');
    expect(inside).toBe(`    | ${' '.repeat('  secret: '.length)}^`);
    expect(after).toBe(`    | ${' '.repeat('  secret: ***: '.length)}^`);
  });

  it('shows nothing for a line past the end', () => {
    // Act
    const excerpt = maskedExcerpt('mirrors: []\n', 5, 1);

    // Assess
    expect(excerpt).toEqual([]);
  });
});
