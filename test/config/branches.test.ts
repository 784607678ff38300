import { describe, expect, it } from 'vitest';
import { parseMirrorConfig } from '../../lib/config/load';
import { buildMirrorIndex, pathMirrorsFor } from '../../lib/config/mapping';
import { configError } from '../support/config-error';

/** A JSON config with `mirrors` and a github.com host secret. */
function withMirrors(...mirrors: Record<string, unknown>[]): string {
  return JSON.stringify({ webhooks: { 'github.com': { secret: 's' } }, mirrors });
}

describe('parseMirrorConfig: branches', () => {
  it('leaves branches unset (every branch and tag) when not written', () => {
    // Act
    const { config } = parseMirrorConfig(withMirrors({ source: 'github.com/acme/api', repository_id: 1 }), {});

    // Assess
    expect(config.mirrors[0]?.branches).toBeUndefined();
  });

  it.each(['default', 'all'] as const)('keeps branches: %s on every kind of mirror', (branches) => {
    // Prepare
    const text = withMirrors(
      { source: 'github.com/acme/api', repository_id: 1, branches },
      { source: 'github.com/acme/web', target: 'mirror/web', branches },
      { source: 'github.com/tools/*', target: 'mirror/{name}', branches },
    );

    // Act
    const { config } = parseMirrorConfig(text, {});
    const expanded = pathMirrorsFor(buildMirrorIndex(config), 'github.com/tools/cli');

    // Assess
    expect(config.mirrors[0]?.branches).toBe(branches);
    expect(config.pathMirrors[0]?.branches).toBe(branches);
    expect(config.wildcardMirrors[0]?.branches).toBe(branches);
    expect(expanded.map((mirror) => [mirror.target, mirror.branches])).toEqual([['mirror/cli', branches]]);
  });

  it.each([
    ['a branch name', 'main'],
    ['upper case', 'ALL'],
    ['a boolean', true],
    ['a list', ['default']],
    ['null', null],
  ])('rejects %s, naming the field and never quoting the value', (_, branches) => {
    // Act
    const error = configError(() => parseMirrorConfig(withMirrors({ source: 'github.com/acme/api', repository_id: 1, branches }), {}));

    // Assess
    expect(error.field).toBe('mirrors[0].branches');
    expect(error.message).toMatch(/must be default or all/);
    expect(error.message).not.toContain('main');
  });
});
