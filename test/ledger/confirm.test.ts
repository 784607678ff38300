import { describe, expect, it } from 'vitest';
import {
  backoffSeconds,
  checkIsOverdue,
  confirmSettingsFromEnv,
  decideConfirm,
  DEFAULT_CONFIRM_SETTINGS,
  jobIsRunning,
  type ConfirmedHead,
  type ConfirmInput,
  type RefHead,
} from '../../lib/ledger/confirm';
import type { RefToConfirm } from '../../lib/ledger/refs';
import { configError } from '../support/config-error';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const ARRIVED = Date.UTC(2026, 0, 1);
const MINUTE = 60_000;
const DAY = 1440 * MINUTE;

const MAIN: RefToConfirm = { ref: 'refs/heads/main', kind: 'branch', name: 'main', expect: { sha: B } };
const TAG: RefToConfirm = { ref: 'refs/tags/v1', kind: 'tag', name: 'v1', expect: { sha: B } };
const GONE: RefToConfirm = { ref: 'refs/heads/old', kind: 'branch', name: 'old', expect: 'absent' };

/** A check of MAIN one minute after arrival, first attempt, no job running; `over` replaces any field. */
function check(over: Partial<ConfirmInput> & { heads?: ReadonlyMap<string, RefHead> }): ConfirmInput {
  return {
    refs: [MAIN],
    heads: new Map(),
    supersededRefs: new Set(),
    jobStatus: 'finished',
    arrivedAt: ARRIVED,
    now: ARRIVED + MINUTE,
    attempt: 1,
    settings: DEFAULT_CONFIRM_SETTINGS,
    ...over,
  };
}

describe('decideConfirm', () => {
  it.each<[string, Partial<ConfirmInput>, ReturnType<typeof decideConfirm>['kind']]>([
    ['head at the pushed SHA → mirrored', { heads: new Map([[MAIN.ref, { sha: B }]]) }, 'mirrored'],
    ['head at the pushed SHA in upper case → mirrored', { heads: new Map([[MAIN.ref, { sha: B.toUpperCase() }]]) }, 'mirrored'],
    ['an annotated tag: the push names the tag object, ShowTag its target → mirrored', { refs: [TAG], heads: new Map([[TAG.ref, { sha: A, target: B }]]) }, 'mirrored'],
    ['a tag whose commit and object are both other → retrigger', { refs: [TAG], heads: new Map([[TAG.ref, { sha: A, target: A }]]) }, 'retrigger'],
    ['a finished job without the commit is not trusted → retrigger', { heads: new Map([[MAIN.ref, { sha: A }]]), jobStatus: 'finished' }, 'retrigger'],
    ['behind, job failed → retrigger', { heads: new Map([[MAIN.ref, { sha: A }]]), jobStatus: 'failed' }, 'retrigger'],
    ['behind, job status not reported → retrigger', { heads: new Map([[MAIN.ref, { sha: A }]]), jobStatus: undefined }, 'retrigger'],
    ['behind, branch not there yet → retrigger', { heads: new Map([[MAIN.ref, 'absent']]) }, 'retrigger'],
    ['behind, job scheduled → check-later', { heads: new Map([[MAIN.ref, { sha: A }]]), jobStatus: 'scheduled' }, 'check-later'],
    ['behind, job started → check-later', { heads: new Map([[MAIN.ref, { sha: A }]]), jobStatus: 'started' }, 'check-later'],
    ['behind, job RUNNING → check-later', { heads: new Map([[MAIN.ref, { sha: A }]]), jobStatus: ' RUNNING ' }, 'check-later'],
    ['head not readable, job not running → check-later, no trigger on a guess', { heads: new Map([[MAIN.ref, 'unknown']]) }, 'check-later'],
    ['head missing from the reads → check-later', { heads: new Map() }, 'check-later'],
    ['deleted branch absent → mirrored', { refs: [GONE], heads: new Map([[GONE.ref, 'absent']]) }, 'mirrored'],
    ['deleted branch still there → retrigger', { refs: [GONE], heads: new Map([[GONE.ref, { sha: A }]]) }, 'retrigger'],
    ['a later push superseded the ref → mirrored whatever the head', { heads: new Map([[MAIN.ref, { sha: A }]]), supersededRefs: new Set([MAIN.ref]) }, 'mirrored'],
    ['superseded with the head unreadable → mirrored', { supersededRefs: new Set([MAIN.ref]) }, 'mirrored'],
    ['one ref held, the tag behind → retrigger', { refs: [MAIN, TAG], heads: new Map<string, RefHead>([[MAIN.ref, { sha: B }], [TAG.ref, 'absent']]) }, 'retrigger'],
    ['nothing to wait for → mirrored', { refs: [] }, 'mirrored'],
    ['held at the give-up time → mirrored, not failed', { heads: new Map([[MAIN.ref, { sha: B }]]), now: ARRIVED + DAY }, 'mirrored'],
    ['behind one ms before give-up → still retried', { heads: new Map([[MAIN.ref, { sha: A }]]), now: ARRIVED + DAY - 1 }, 'retrigger'],
    ['behind at the give-up time → failed', { heads: new Map([[MAIN.ref, { sha: A }]]), now: ARRIVED + DAY }, 'failed'],
    ['running at the give-up time → failed', { heads: new Map([[MAIN.ref, { sha: A }]]), jobStatus: 'started', now: ARRIVED + DAY }, 'failed'],
  ])('%s', (_, over, kind) => {
    // Act
    const decision = decideConfirm(check(over));

    // Assess
    expect(decision.kind).toBe(kind);
  });

  it('reports when and at which heads the push was mirrored', () => {
    // Act
    const decision = decideConfirm(
      check({ refs: [MAIN, TAG, GONE], heads: new Map<string, RefHead>([[MAIN.ref, { sha: B }], [GONE.ref, 'absent']]), supersededRefs: new Set([TAG.ref]) }),
    );

    // Assess
    expect(decision).toEqual({
      kind: 'mirrored',
      at: ARRIVED + MINUTE,
      heads: new Map<string, ConfirmedHead>([[MAIN.ref, { sha: B }], [TAG.ref, 'superseded'], [GONE.ref, 'absent']]),
    });
  });

  it('names the refs behind and unread when it gives up, and the give-up time', () => {
    // Act
    const decision = decideConfirm(
      check({ refs: [MAIN, TAG], heads: new Map<string, RefHead>([[MAIN.ref, { sha: A }], [TAG.ref, 'unknown']]), now: ARRIVED + DAY + 1 }),
    );

    // Assess
    expect(decision).toEqual({ kind: 'failed', reason: 'refs/heads/main not at the pushed commit; refs/tags/v1 could not be read after 1440 min' });
  });

  it.each([
    ['first check → 40 s', 1, ARRIVED + MINUTE, 40],
    ['third check → 160 s', 3, ARRIVED + MINUTE, 160],
    ['sixth check → capped at 900 s (SQS max delay)', 6, ARRIVED + MINUTE, 900],
    ['fiftieth check → still 900 s', 50, ARRIVED + MINUTE, 900],
    ['never past the give-up time: 100 s left', 10, ARRIVED + DAY - 100_000, 100],
    ['under a second left → 1 s, the last check lands at give-up', 10, ARRIVED + DAY - 300, 1],
  ])('backs off: %s', (_, attempt, now, delaySeconds) => {
    // Act
    const decision = decideConfirm(check({ heads: new Map([[MAIN.ref, { sha: A }]]), attempt, now }));

    // Assess
    expect(decision).toEqual({ kind: 'retrigger', delaySeconds });
  });
});

describe('backoffSeconds', () => {
  it.each([
    [0, 20],
    [1, 40],
    [2, 80],
    [5, 640],
    [6, 900],
    [1000, 900],
  ])('after check %i waits %i s', (attempt, seconds) => {
    // Act / Assess
    expect(backoffSeconds(attempt, DEFAULT_CONFIRM_SETTINGS)).toBe(seconds);
  });

  it('starts from confirmAfterSeconds', () => {
    // Act / Assess
    expect(backoffSeconds(0, { confirmAfterSeconds: 5, giveUpAfterMinutes: 10 })).toBe(5);
    expect(backoffSeconds(2, { confirmAfterSeconds: 5, giveUpAfterMinutes: 10 })).toBe(20);
  });
});

describe('jobIsRunning', () => {
  it.each([
    ['scheduled', true],
    ['started', true],
    ['running', true],
    ['Started', true],
    ['finished', false],
    ['failed', false],
    ['none', false],
    ['', false],
    [undefined, false],
  ])('%s → %s', (status, running) => {
    // Act / Assess
    expect(jobIsRunning(status)).toBe(running);
  });
});

describe('confirmSettingsFromEnv', () => {
  it('defaults to 20 s and 1440 min when unset or empty', () => {
    // Act / Assess
    expect(confirmSettingsFromEnv({})).toEqual({ confirmAfterSeconds: 20, giveUpAfterMinutes: 1440 });
    expect(confirmSettingsFromEnv({ CONFIRM_AFTER_SECONDS: ' ', CONFIRM_GIVE_UP_AFTER_MINUTES: '' })).toEqual(DEFAULT_CONFIRM_SETTINGS);
  });

  it('reads both variables', () => {
    // Act / Assess
    expect(confirmSettingsFromEnv({ CONFIRM_AFTER_SECONDS: '5', CONFIRM_GIVE_UP_AFTER_MINUTES: '60' })).toEqual({ confirmAfterSeconds: 5, giveUpAfterMinutes: 60 });
  });

  it.each([
    ['CONFIRM_AFTER_SECONDS', '0'],
    ['CONFIRM_AFTER_SECONDS', '901'],
    ['CONFIRM_AFTER_SECONDS', '2.5'],
    ['CONFIRM_AFTER_SECONDS', '-1'],
    ['CONFIRM_AFTER_SECONDS', '20s'],
    ['CONFIRM_GIVE_UP_AFTER_MINUTES', '0'],
    ['CONFIRM_GIVE_UP_AFTER_MINUTES', '20161'],
    ['CONFIRM_GIVE_UP_AFTER_MINUTES', 'a day'],
  ])('rejects %s=%s, naming the variable', (name, value) => {
    // Act
    const error = configError(() => confirmSettingsFromEnv({ [name]: value }));

    // Assess
    expect(error.field).toBe(name);
    expect(error.message).toMatch(/must be an integer from 1 to/);
  });
});

describe('checkIsOverdue', () => {
  const settings = { confirmAfterSeconds: 20, giveUpAfterMinutes: 60 };
  const GRACE = 900_000;

  it.each<[string, number, number, boolean]>([
    ['no check yet, within the first check and its grace', 0, 20_000 + GRACE, false],
    ['no check yet, past the first check and its grace', 0, 20_000 + GRACE + 1, true],
    // Checks were due 20, 60, 140 and 300 s after arrival.
    ['three checks made, the fourth still within its grace', 3, 300_000 + GRACE, false],
    ['three checks made, the fourth overdue', 3, 300_000 + GRACE + 1, true],
    ['many checks: the schedule stops at the give-up time', 50, 3_600_000 + GRACE + 1, true],
    ['many checks, just before the give-up time and its grace', 50, 3_600_000 + GRACE, false],
  ])('%s', (_name, attempts, sinceArrival, overdue) => {
    // Act / Assess
    expect(checkIsOverdue(ARRIVED, attempts, ARRIVED + sinceArrival, settings)).toBe(overdue);
  });
});

describe('decideConfirm while the job runs', () => {
  it.each([
    ['first check: 40 s of backoff, looked at again after 30 s', 1, 30],
    ['sixth check: 900 s of backoff, looked at again after 30 s', 6, 30],
  ])('looks again within 30 s when the mirror is behind and its job is running: %s', (_, attempt, delaySeconds) => {
    // Act
    const decision = decideConfirm(check({ heads: new Map([[MAIN.ref, { sha: A }]]), jobStatus: 'running', attempt, now: ARRIVED + MINUTE }));
    // Assess
    expect(decision).toEqual({ kind: 'check-later', delaySeconds });
  });
});
