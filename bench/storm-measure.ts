/**
 * The storm bench's figures, pure: what the bars are measured with. Times are epoch ms.
 */

/** The most of `times` in any window of `windowMs` (sliding: every window that starts at one of them). */
export function busiestWindow(times: readonly number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  let start = 0;
  for (let end = 0; end < sorted.length; end += 1) {
    while ((sorted[end] ?? 0) - (sorted[start] ?? 0) >= windowMs) start += 1;
    best = Math.max(best, end - start + 1);
  }
  return best;
}

/** The `p`-th percentile (0..100) by nearest rank; 0 for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? 0;
}

/**
 * The fewest triggers the coalescing rule allows: per repository, one per window of `windowMs`
 * opened by its first push not yet covered (a push inside a window rides on its trigger).
 */
export function minimumTriggers(pushTimesByRepository: ReadonlyMap<number, readonly number[]>, windowMs: number): number {
  let total = 0;
  for (const times of pushTimesByRepository.values()) {
    const sorted = [...times].sort((a, b) => a - b);
    let windowEnd = Number.NEGATIVE_INFINITY;
    for (const at of sorted) {
      if (at < windowEnd) continue;
      total += 1;
      windowEnd = at + windowMs;
    }
  }
  return total;
}

/**
 * The soonest every push can be confirmed after the storm's last push, as the budget allows:
 * `callsNeeded` calls at `callsPerMinute` from the first push on, less the storm's own length, but
 * never under one fetch and one read (`minimumMs`).
 */
export function confirmFloorMs(callsNeeded: number, callsPerMinute: number, stormMs: number, minimumMs: number): number {
  return Math.max(minimumMs, (callsNeeded / callsPerMinute) * 60_000 - stormMs);
}

export interface Bar {
  readonly name: string;
  readonly figure: string;
  readonly bar: string;
  readonly pass: boolean;
}

export function barLine(bar: Bar): string {
  return `${bar.pass ? 'PASS' : 'FAIL'}  ${bar.name.padEnd(44)} ${bar.figure.padEnd(28)} (bar: ${bar.bar})`;
}
