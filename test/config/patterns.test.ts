import { describe, expect, it } from 'vitest';
import {
  compileSourcePattern,
  compileTargetTemplate,
  expandTarget,
  hasPlaceholder,
  matchSourcePattern,
  pathSegmentsOf,
  type CompiledTargetTemplate,
} from '../../lib/config/patterns';

function matches(pattern: string, source: string): boolean {
  const compiled = compileSourcePattern(pattern);
  return compiled.host === source.split('/')[0] && matchSourcePattern(compiled, pathSegmentsOf(source));
}

function template(text: string): CompiledTargetTemplate {
  const compiled = compileTargetTemplate(text);
  if ('problem' in compiled) throw new Error(`${text}: ${compiled.problem}`);
  return compiled;
}

describe('matchSourcePattern', () => {
  it.each([
    ['github.com/acme/*', 'github.com/acme/api', true],
    ['github.com/acme/*', 'github.com/acme/sub/api', true],
    ['github.com/acme/*', 'github.com/acme', false],
    ['github.com/acme/*', 'github.com/acmex/api', false],
    ['github.com/acme/*', 'github.com/other/acme/api', false],
    ['github.com/*', 'github.com/acme/api', true],
    ['github.com/*/api', 'github.com/acme/api', true],
    ['github.com/*/api', 'github.com/a/b/api', true],
    ['github.com/*/api', 'github.com/api', false],
    ['github.com/*/api', 'github.com/acme/api/x', false],
    ['gitlab.com/group/*/service/*', 'gitlab.com/group/a/service/b', true],
    ['gitlab.com/group/*/service/*', 'gitlab.com/group/a/b/service/c/d', true],
    ['gitlab.com/group/*/service/*', 'gitlab.com/group/service/b', false],
    ['gitlab.com/group/*/service/*', 'gitlab.com/group/a/service', false],
    ['gitlab.com/*/*', 'gitlab.com/a/b', true],
    ['gitlab.com/*/*', 'gitlab.com/a', false],
    ['gitlab.com/*/x/*/x', 'gitlab.com/a/x/x/x', true],
    ['gitlab.com/*/x/*/x', 'gitlab.com/a/x/x', false],
  ])('%s against %s: %s', (pattern, source, expected) => {
    // Act
    const matched = matches(pattern, source);

    // Assess
    expect(matched).toBe(expected);
  });
});

describe('compileTargetTemplate', () => {
  it.each([
    ['acme-mirror/{name}', ['acme-mirror/', { placeholder: 'name' }]],
    ['{owner}-mirror/{name}', [{ placeholder: 'owner' }, '-mirror/', { placeholder: 'name' }]],
    ['{path}', [{ placeholder: 'path' }]],
    ['mirror/fixed', ['mirror/fixed']],
  ])('compiles %s', (text, expected) => {
    // Act
    const compiled = compileTargetTemplate(text);

    // Assess
    expect(compiled).toEqual(expected);
  });

  it.each([
    ['{name}', /group\/name/],
    ['just-a-name', /group\/name/],
    ['mirror/{repo}', /unknown placeholder/],
    ['mirror/{name', /\{ without \}/],
    ['mirror/name}', /\} without \{/],
    ['/mirror/{name}', /group\/name/],
    ['mirror//{name}', /group\/name/],
    ['mirror/{name}/', /group\/name/],
    ['mirror/my repo', /group\/name/],
  ])('rejects %s', (text, message) => {
    // Act
    const compiled = compileTargetTemplate(text);

    // Assess
    expect(compiled).toEqual({ problem: expect.stringMatching(message) });
  });
});

describe('expandTarget', () => {
  it.each([
    ['acme-mirror/{name}', 'github.com/acme/api', 'acme-mirror/api'],
    ['mirror/{owner}/{name}', 'gitlab.com/a/b/name', 'mirror/a/b/name'],
    ['mirror/{path}', 'gitlab.com/a/b/name', 'mirror/a/b/name'],
    ['{owner}-mirror/{name}-copy', 'github.com/acme/api', 'acme-mirror/api-copy'],
    ['fixed/repo', 'github.com/acme/api', 'fixed/repo'],
  ])('expands %s for %s to %s', (text, source, expected) => {
    // Act
    const target = expandTarget(template(text), pathSegmentsOf(source));

    // Assess
    expect(target).toBe(expected);
  });

  it('tells a template with placeholders from one without', () => {
    // Act
    const answers = [hasPlaceholder(template('m/{name}')), hasPlaceholder(template('m/fixed'))];

    // Assess
    expect(answers).toEqual([true, false]);
  });
});
