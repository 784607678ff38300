import { describe, expect, it } from 'vitest';
import { isReplay, pushIdOf, pushKey } from '../../lib/ledger/push-id';
import type { RefChange } from '../../lib/providers/types';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);
const ZERO = '0'.repeat(40);
const SOURCE = 'github.com/acme/api';

const change = (ref: string, before: string, after: string, deleted = false): RefChange => ({ ref, before, after, deleted });

describe('pushKey', () => {
  it('is the same for the same push listed in another order, or with upper-case SHAs', () => {
    // Prepare
    const main = change('refs/heads/main', A, B);
    const tag = change('refs/tags/v1', ZERO, B);

    // Act
    const keys = [pushKey(SOURCE, [main, tag]), pushKey(SOURCE, [tag, main]), pushKey(SOURCE, [change('refs/heads/main', A.toUpperCase(), B.toUpperCase()), tag])];

    // Assess
    expect(new Set(keys).size).toBe(1);
  });

  it.each([
    ['another source', 'github.com/acme/web', [change('refs/heads/main', A, B)]],
    ['another ref', SOURCE, [change('refs/heads/dev', A, B)]],
    ['another before (a force-push from elsewhere)', SOURCE, [change('refs/heads/main', C, B)]],
    ['another after', SOURCE, [change('refs/heads/main', A, C)]],
    ['a deletion flag', SOURCE, [change('refs/heads/main', A, B, true)]],
    ['one more ref', SOURCE, [change('refs/heads/main', A, B), change('refs/tags/v1', ZERO, B)]],
    ['no ref at all', SOURCE, []],
  ])('differs for %s', (_, source, refs) => {
    // Act
    const key = pushKey(source, refs);

    // Assess
    expect(key).not.toBe(pushKey(SOURCE, [change('refs/heads/main', A, B)]));
  });

  it('cannot be made to collide by moving text between source and ref', () => {
    // Act
    const left = pushKey('github.com/acme/a b', [change('c', A, B)]);
    const right = pushKey('github.com/acme/a', [change('b c', A, B)]);

    // Assess
    expect(left).not.toBe(right);
  });

  it('is a base64url SHA-256 (43 characters)', () => {
    // Act
    const key = pushKey(SOURCE, [change('refs/heads/main', A, B)]);

    // Assess
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
});

describe('pushIdOf', () => {
  const key = pushKey(SOURCE, [change('refs/heads/main', A, B)]);

  it('is the first 22 URL-safe characters of the key', () => {
    // Act
    const id = pushIdOf(key);

    // Assess
    expect(id).toBe(key.slice(0, 22));
    expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it('gives each later occurrence of a key an id of its own, the same every time', () => {
    // Act
    const ids = [0, 1, 2].map((occurrence) => pushIdOf(key, occurrence));

    // Assess
    expect(new Set(ids).size).toBe(3);
    expect(pushIdOf(key, 1)).toBe(ids[1]);
    expect(ids.every((id) => /^[A-Za-z0-9_-]{22}$/.test(id))).toBe(true);
  });

  it.each([-1, 1.5, Number.NaN])('refuses occurrence %s', (occurrence) => {
    // Act / Assess
    expect(() => pushIdOf(key, occurrence)).toThrow(RangeError);
  });
});

describe('isReplay', () => {
  it.each([
    ['still the latest push to every ref', new Map([['refs/heads/main', 'P'], ['refs/tags/v1', 'P']]), true],
    ['superseded on one ref (A→B, back to A, A→B again)', new Map([['refs/heads/main', 'Q'], ['refs/tags/v1', 'P']]), false],
    ['a ref the ledger no longer knows (pruned): synced again rather than dropped', new Map([['refs/heads/main', 'P']]), false],
  ])('%s → %s', (_, latestByRef, expected) => {
    // Act
    const replay = isReplay('P', ['refs/heads/main', 'refs/tags/v1'], latestByRef);

    // Assess
    expect(replay).toBe(expected);
  });
});
