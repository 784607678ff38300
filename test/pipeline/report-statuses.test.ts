import { describe, expect, it } from 'vitest';
import { GiveUpCodes } from '../../lib/ledger/confirm';
import type { RefToConfirm } from '../../lib/ledger/refs';
import type { LedgerMirror } from '../../lib/ledger/types';
import { progressOf, repositoryLabel, statusesOf, targetUrlOf } from '../../lib/pipeline/report-statuses';

const PUSH_ID = 'AbCdEfGhIjKlMnOpQrSt-_';
const SHA_A = 'a'.repeat(40);
const SHA_B = 'b'.repeat(40);
/** 2025-01-02T03:04:05.678Z */
const CONFIRMED_AT = Date.UTC(2025, 0, 2, 3, 4, 5, 678);

const branch = (name: string, sha: string): RefToConfirm => ({ ref: `refs/heads/${name}`, kind: 'branch', name, expect: { sha } });
const tag = (name: string, sha: string): RefToConfirm => ({ ref: `refs/tags/${name}`, kind: 'tag', name, expect: { sha } });
const deletion = (name: string): RefToConfirm => ({ ref: `refs/heads/${name}`, kind: 'branch', name, expect: 'absent' });

function mirrorOf(overrides: Partial<LedgerMirror> = {}): LedgerMirror {
  return { repositoryId: 42, state: 'triggered', refs: [branch('main', SHA_A)], jids: ['j1'], attempts: 0, ...overrides };
}

const entryWith = (...mirrors: LedgerMirror[]) => ({ pushId: PUSH_ID, mirrors });

describe('statusesOf: which commits', () => {
  it('gives one status per distinct pushed SHA, in push order, and none for a deletion', () => {
    // Prepare
    const mirror = mirrorOf({ refs: [branch('main', SHA_A), deletion('old'), tag('v1', SHA_A), branch('dev', SHA_B)] });
    // Act
    const statuses = statusesOf(entryWith(mirror), mirror);
    // Assess
    expect(statuses.map((status) => status.sha)).toEqual([SHA_A, SHA_B]);
  });

  it('writes the SHA in lower case, and counts an upper-case and a lower-case spelling once', () => {
    // Prepare
    const mirror = mirrorOf({ refs: [branch('main', SHA_A.toUpperCase()), tag('v1', SHA_A)] });
    // Act
    const statuses = statusesOf(entryWith(mirror), mirror);
    // Assess
    expect(statuses.map((status) => status.sha)).toEqual([SHA_A]);
  });

  it('gives none for a push of deletions only, or for a mirror that waits for no ref', () => {
    // Prepare
    const deletions = mirrorOf({ refs: [deletion('a'), deletion('b')] });
    const nothing = mirrorOf({ refs: [] });
    // Act & Assess
    expect(statusesOf(entryWith(deletions), deletions)).toEqual([]);
    expect(statusesOf(entryWith(nothing), nothing)).toEqual([]);
  });
});

describe('statusesOf: which state and words', () => {
  it.each(['received', 'triggered'] as const)('is pending while %s', (state) => {
    // Prepare
    const mirror = mirrorOf({ state });
    // Act
    const [status] = statusesOf(entryWith(mirror), mirror);
    // Assess
    expect(status).toEqual({ state: 'pending', sha: SHA_A, context: 'CodeArts mirror', description: 'mirroring to CodeArts repository 42' });
  });

  it('is success once mirrored, with the confirm time to the second', () => {
    // Prepare
    const mirror = mirrorOf({ state: 'mirrored', confirmedAt: CONFIRMED_AT });
    // Act
    const [status] = statusesOf(entryWith(mirror), mirror);
    // Assess
    expect(status).toMatchObject({ state: 'success', description: 'mirrored to CodeArts repository 42 at 2025-01-02T03:04:05Z' });
  });

  it('is failure, with the reason, when the mirror never caught up (PUSH_NOT_MIRRORED)', () => {
    // Prepare
    const lastError = { code: GiveUpCodes.NOT_MIRRORED, message: 'refs/heads/main is behind', at: CONFIRMED_AT };
    const mirror = mirrorOf({ state: 'failed', lastError });
    // Act
    const [status] = statusesOf(entryWith(mirror), mirror);
    // Assess
    expect(status).toMatchObject({ state: 'failure', description: 'not mirrored to CodeArts repository 42: refs/heads/main is behind' });
  });

  it.each([GiveUpCodes.NOT_CONFIGURED, 'CODEHUB_REJECTED'])('is error, with the reason, when the bridge gave up for %s', (code) => {
    // Prepare
    const mirror = mirrorOf({ state: 'failed', lastError: { code, message: 'CodeHub refused the sync', at: CONFIRMED_AT } });
    // Act
    const [status] = statusesOf(entryWith(mirror), mirror);
    // Assess
    expect(status).toMatchObject({ state: 'error', description: 'not mirrored to CodeArts repository 42: CodeHub refused the sync' });
  });

  it('keeps the pending state of a triggered mirror even after a deferred trigger left an error', () => {
    expect(progressOf({ state: 'triggered', lastError: { code: 'CODEHUB_THROTTLED', message: 'throttled', at: 1 } })).toEqual({ state: 'pending' });
  });

  it('says "not mirrored" for a failed mirror that kept no error', () => {
    expect(progressOf({ state: 'failed' })).toEqual({ state: 'failure', reason: 'not mirrored' });
  });

  it('gives every status of a push the same state and words', () => {
    // Prepare
    const mirror = mirrorOf({ state: 'mirrored', confirmedAt: CONFIRMED_AT, refs: [branch('main', SHA_A), branch('dev', SHA_B)] });
    // Act
    const statuses = statusesOf(entryWith(mirror), mirror);
    // Assess
    expect(new Set(statuses.map(({ state, context, description }) => JSON.stringify([state, context, description]))).size).toBe(1);
  });
});

describe('statusesOf: context, label and link', () => {
  it("gives each mirror of a fan-out its own context, named by the mirror's repository", () => {
    // Prepare
    const byId = mirrorOf({ repositoryId: 7 });
    const byPath = mirrorOf({ repositoryId: 8, target: 'group/name' });
    const entry = entryWith(byId, byPath);
    // Act
    const contexts = [statusesOf(entry, byId), statusesOf(entry, byPath)].map(([status]) => status?.context);
    // Assess
    expect(contexts).toEqual(['CodeArts mirror (repository 7)', 'CodeArts mirror (group/name)']);
  });

  it('names a mirror by its target path when configured by one, else by its id', () => {
    expect(repositoryLabel({ repositoryId: 8, target: 'group/name' })).toBe('group/name');
    expect(repositoryLabel({ repositoryId: 7 })).toBe('repository 7');
  });

  it('describes a path mirror by its path', () => {
    // Prepare
    const mirror = mirrorOf({ target: 'group/name' });
    // Act
    const [status] = statusesOf(entryWith(mirror), mirror);
    // Assess
    expect(status).toMatchObject({ context: 'CodeArts mirror', description: 'mirroring to CodeArts group/name' });
  });

  it('links to the REPORT_TARGET_URL template with every {push_id} filled in, and nowhere without one', () => {
    // Prepare
    const mirror = mirrorOf();
    // Act
    const [linked] = statusesOf(entryWith(mirror), mirror, 'https://bridge.example.com/pushes/{push_id}?again={push_id}');
    const [unlinked] = statusesOf(entryWith(mirror), mirror);
    // Assess
    expect(linked?.targetUrl).toBe(`https://bridge.example.com/pushes/${PUSH_ID}?again=${PUSH_ID}`);
    expect(unlinked).not.toHaveProperty('targetUrl');
  });

  it('escapes the push id into the link', () => {
    expect(targetUrlOf('https://b.example/p/{push_id}', 'a/b?c')).toBe('https://b.example/p/a%2Fb%3Fc');
    expect(targetUrlOf(undefined, PUSH_ID)).toBeUndefined();
  });
});
