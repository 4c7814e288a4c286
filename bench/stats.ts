/** Summaries of repeated measurements: every timing is reported as median and p95 over its runs. */

/** Median and p95 (nearest rank) of a series, with its size, min and max. */
export interface Summary {
  readonly n: number;
  readonly median: number;
  readonly p95: number;
  readonly min: number;
  readonly max: number;
}

/** The value at rank ceil(q·n) of the sorted values (nearest-rank percentile: always a measured value). */
export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1]!;
}

/** The median: the mean of the two middle values for an even count. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Rounds to `digits` decimals (results.json stays readable). */
export const round = (value: number, digits = 2): number => {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
};

/** Median, p95, min and max of `values`, rounded to `digits` decimals. */
export function summarize(values: readonly number[], digits = 2): Summary {
  if (values.length === 0) return { n: 0, median: Number.NaN, p95: Number.NaN, min: Number.NaN, max: Number.NaN };
  return {
    n: values.length,
    median: round(median(values), digits),
    p95: round(percentile(values, 0.95), digits),
    min: round(Math.min(...values), digits),
    max: round(Math.max(...values), digits),
  };
}

/** A deterministic pseudo-random sequence in [0, 1) (mulberry32), so paired runs get the same offsets. */
export { seeded } from '../infra/local/random';
