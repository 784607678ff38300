/**
 * The "before" column of BENCHMARKS.md's before/after table: one run of this bench on the code before the
 * simplification of issue "A simpler core and an honest front door" (two HTTP stacks, the µs tricks), on
 * the same machine. Recorded by hand from that run's BENCHMARKS.md; repeat it with
 * `git checkout <commit> && npm ci && npm run bench`.
 */
export const BASELINE = {
  commit: 'fa780ec',
  date: '2026-12-01',
  coldMs: 67.8,
  coldRatio: 1.33,
  nextMs: 0,
  warmUs: 380,
  warmRatio: 1.06,
  cpuUs: 533,
  largeRatio: 1.02,
  bundleBytes: 121_265,
  rssMb: 46.5,
} as const;
