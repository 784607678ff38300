import { describe, expect, it } from 'vitest';
import { nextState, overallState, pushStatusOf, type LedgerEntry, type LedgerEvent, type LedgerState } from '../../lib/ledger/types';

const B = 'b'.repeat(40);

describe('nextState', () => {
  it.each<[LedgerState, LedgerEvent, LedgerState | undefined]>([
    ['received', 'trigger-accepted', 'triggered'],
    ['received', 'trigger-deferred', 'received'],
    ['received', 'confirmed', 'mirrored'],
    ['received', 'gave-up', 'failed'],
    ['triggered', 'trigger-accepted', 'triggered'],
    ['triggered', 'trigger-deferred', 'triggered'],
    ['triggered', 'confirmed', 'mirrored'],
    ['triggered', 'gave-up', 'failed'],
    ['mirrored', 'confirmed', 'mirrored'],
    ['mirrored', 'trigger-accepted', undefined],
    ['mirrored', 'trigger-deferred', undefined],
    ['mirrored', 'gave-up', undefined],
    ['failed', 'gave-up', 'failed'],
    ['failed', 'confirmed', 'mirrored'],
    ['failed', 'trigger-accepted', undefined],
    ['failed', 'trigger-deferred', undefined],
    ['received', 'checked', 'received'],
    ['triggered', 'checked', 'triggered'],
    ['mirrored', 'checked', undefined],
    ['failed', 'checked', undefined],
  ])('%s + %s → %s', (current, event, expected) => {
    // Act / Assess
    expect(nextState(current, event)).toBe(expected);
  });
});

describe('overallState', () => {
  it.each<[readonly LedgerState[], LedgerState]>([
    [[], 'mirrored'],
    [['received'], 'received'],
    [['received', 'received'], 'received'],
    [['received', 'triggered'], 'triggered'],
    [['received', 'mirrored'], 'triggered'],
    [['triggered', 'failed'], 'triggered'],
    [['mirrored', 'mirrored'], 'mirrored'],
    [['mirrored', 'failed'], 'failed'],
    [['failed'], 'failed'],
  ])('%j → %s', (states, expected) => {
    // Act / Assess
    expect(overallState(states.map((state) => ({ state })))).toBe(expected);
  });
});

describe('pushStatusOf', () => {
  it('shows the entry in snake_case with ISO times, without the key', () => {
    // Prepare
    const entry: LedgerEntry = {
      pushId: 'p'.repeat(22),
      key: 'k'.repeat(43),
      source: 'github.com/acme/api',
      refs: [{ ref: 'refs/heads/main', before: 'a'.repeat(40), after: B, deleted: false }],
      arrivedAt: Date.UTC(2026, 0, 1, 12),
      state: 'triggered',
      mirrors: [
        {
          repositoryId: 1,
          state: 'mirrored',
          refs: [{ ref: 'refs/heads/main', kind: 'branch', name: 'main', expect: { sha: B } }],
          jids: ['j1', 'j2'],
          attempts: 2,
          confirmedHeads: { 'refs/heads/main': { sha: B } },
          confirmedAt: Date.UTC(2026, 0, 1, 12, 1),
        },
        {
          repositoryId: 2,
          target: 'mirror/api',
          state: 'received',
          refs: [],
          jids: [],
          attempts: 0,
          lastError: { code: 'CODEHUB_THROTTLED', message: 'CodeHub throttled the call', at: Date.UTC(2026, 0, 1, 12) },
        },
      ],
    };

    // Act
    const status = pushStatusOf(entry);

    // Assess
    expect(status).toEqual({
      push_id: 'p'.repeat(22),
      state: 'triggered',
      source: 'github.com/acme/api',
      arrived_at: '2026-01-01T12:00:00.000Z',
      refs: [{ ref: 'refs/heads/main', before: 'a'.repeat(40), after: B, deleted: false }],
      mirrors: [
        {
          repository_id: 1,
          state: 'mirrored',
          waits_for: ['refs/heads/main'],
          jids: ['j1', 'j2'],
          attempts: 2,
          confirmed_heads: { 'refs/heads/main': { sha: B } },
          confirmed_at: '2026-01-01T12:01:00.000Z',
          last_error: null,
        },
        {
          repository_id: 2,
          target: 'mirror/api',
          state: 'received',
          waits_for: [],
          jids: [],
          attempts: 0,
          confirmed_heads: null,
          confirmed_at: null,
          last_error: { code: 'CODEHUB_THROTTLED', message: 'CodeHub throttled the call', at: '2026-01-01T12:00:00.000Z' },
        },
      ],
    });
    expect(JSON.stringify(status)).not.toContain('k'.repeat(43));
  });
});
