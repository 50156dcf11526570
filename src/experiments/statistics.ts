// The tests that tell an operator noise from a real difference between two experiment arms, from the running
// totals the gateway keeps (counts, sums and sums of squares), so figures summed over instances work the same.
// The distributions come from stdlib (@stdlib/stats-base-dists-*); only the textbook statistics are written here.
import normalCdf from '@stdlib/stats-base-dists-normal-cdf';
import tCdf from '@stdlib/stats-base-dists-t-cdf';

/** A rate with its 95 % Wilson score interval (sound for small counts and rates near 0 or 1). */
export interface Rate {
  value: number | null;
  ci95: [number, number] | null;
}

/** A difference against the first arm and the two-sided p-value of the named test; null when it cannot be tested. */
export interface Comparison {
  difference: number | null;
  pValue: number | null;
  test: 'two-proportion z-test' | 'Welch t-test';
}

/** Running totals of one measure: how many, their sum and their sum of squares. */
export interface Moments {
  count: number;
  sum: number;
  sumSquares: number;
}

const Z95 = 1.959963984540054;

export function wilson(successes: number, trials: number): Rate {
  if (trials <= 0) return { value: null, ci95: null };
  const p = successes / trials;
  const z2 = Z95 * Z95;
  const centre = (p + z2 / (2 * trials)) / (1 + z2 / trials);
  const half = (Z95 * Math.sqrt((p * (1 - p)) / trials + z2 / (4 * trials * trials))) / (1 + z2 / trials);
  return { value: p, ci95: [Math.max(0, centre - half), Math.min(1, centre + half)] };
}

/** Two-proportion z-test with the pooled proportion (R's prop.test without continuity correction). */
export function twoProportions(
  a: { successes: number; trials: number },
  b: { successes: number; trials: number },
): Comparison {
  const test = 'two-proportion z-test';
  if (a.trials <= 0 || b.trials <= 0) return { difference: null, pValue: null, test };
  const pa = a.successes / a.trials;
  const pb = b.successes / b.trials;
  const pooled = (a.successes + b.successes) / (a.trials + b.trials);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / a.trials + 1 / b.trials));
  if (se === 0) return { difference: pb - pa, pValue: pa === pb ? 1 : 0, test };
  const z = (pb - pa) / se;
  return { difference: pb - pa, pValue: 2 * (1 - normalCdf(Math.abs(z), 0, 1)), test };
}

export function mean(m: Moments): number | null {
  return m.count > 0 ? m.sum / m.count : null;
}

/** The sample variance (n − 1); null below two values. */
export function variance(m: Moments): number | null {
  if (m.count < 2) return null;
  return Math.max(0, (m.sumSquares - (m.sum * m.sum) / m.count) / (m.count - 1));
}

/** Welch's unequal-variances t-test of b's mean against a's (R's t.test default), from running totals. */
export function welch(a: Moments, b: Moments): Comparison {
  const test = 'Welch t-test';
  const [ma, mb, va, vb] = [mean(a), mean(b), variance(a), variance(b)];
  if (ma === null || mb === null || va === null || vb === null) return { difference: null, pValue: null, test };
  const sa = va / a.count;
  const sb = vb / b.count;
  const se = Math.sqrt(sa + sb);
  if (se === 0) return { difference: mb - ma, pValue: ma === mb ? 1 : 0, test };
  const t = (mb - ma) / se;
  const df = (sa + sb) ** 2 / (sa ** 2 / (a.count - 1) + sb ** 2 / (b.count - 1));
  return { difference: mb - ma, pValue: 2 * tCdf(-Math.abs(t), df), test };
}

/**
 * A percentile from a histogram (counts per bucket, `bounds` the upper edges, the last bucket open), interpolated
 * linearly inside its bucket as Prometheus's histogram_quantile does; null without values.
 */
export function histogramPercentile(counts: readonly number[], bounds: readonly number[], q: number): number | null {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < counts.length; i += 1) {
    const count = counts[i] ?? 0;
    if (seen + count >= rank && count > 0) {
      const lower = i === 0 ? 0 : (bounds[i - 1] ?? 0);
      const upper = bounds[i] ?? bounds.at(-1) ?? 0;
      return lower + (upper - lower) * ((rank - seen) / count);
    }
    seen += count;
  }
  return bounds.at(-1) ?? null;
}
