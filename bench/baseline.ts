/**
 * The "before" column of BENCHMARKS.md's before/after table: one run of this bench on the code
 * before the simplification of the issue "A simpler core and an honest front door". That code had
 * two HTTP stacks and the µs tricks. The run was on the same machine, on the same day as the "after"
 * runs, and under load like them. Copied by hand from that run's BENCHMARKS.md; to repeat it:
 * `git checkout fa780ec && npm ci && npm run bench`.
 * `warmAB` is an interleaved A/B of warm deliveries from that session: `bench/compare.ts`, 4 rounds,
 * with the before-bundle added as a variant. Its medians are in µs.
 */
export const BASELINE = {
  commit: 'fa780ec',
  date: '2026-12-01',
  coldMs: 104,
  coldRatio: 1.39,
  nextMs: 20.9,
  warmUs: 458,
  warmRatio: 1.69,
  cpuUs: 747,
  largeRatio: 1.13,
  bundleBytes: 121_196,
  rssMb: 46.5,
  warmAB: { floorUs: 341, beforeUs: 431, afterUs: 571 },
} as const;
