// The experiment tests against reference computations on fixed data (R 4.x output, quoted).
import { describe, expect, it } from 'vitest';
import { histogramPercentile, twoProportions, welch, wilson, type Moments } from '../../src/experiments/statistics.js';

function moments(values: number[]): Moments {
  return {
    count: values.length,
    sum: values.reduce((a, b) => a + b, 0),
    sumSquares: values.reduce((a, b) => a + b * b, 0),
  };
}

describe('experiment statistics', () => {
  it('Welch t-test matches R: t.test(extra ~ group, data = sleep) gives p = 0.07939 (df 17.776)', () => {
    const group1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0];
    const group2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4];
    const result = welch(moments(group1), moments(group2));
    expect(result.difference).toBeCloseTo(1.58, 10);
    expect(result.pValue).toBeCloseTo(0.07939, 5);
    expect(result.test).toBe('Welch t-test');
  });

  it('two-proportion z-test matches R: prop.test(c(45, 30), c(100, 100), correct = FALSE) gives p = 0.02846', () => {
    const result = twoProportions({ successes: 45, trials: 100 }, { successes: 30, trials: 100 });
    expect(result.difference).toBeCloseTo(-0.15, 10);
    expect(result.pValue).toBeCloseTo(0.02846, 5);
  });

  it('Wilson interval matches R: prop.test(8, 40, correct = FALSE)$conf.int gives [0.1050, 0.3476]', () => {
    const rate = wilson(8, 40);
    expect(rate.value).toBe(0.2);
    expect(rate.ci95?.[0]).toBeCloseTo(0.105, 4);
    expect(rate.ci95?.[1]).toBeCloseTo(0.3476, 4);
  });

  it('says "cannot tell" rather than inventing a figure without data', () => {
    expect(wilson(0, 0)).toEqual({ value: null, ci95: null });
    expect(welch(moments([1]), moments([2, 3])).pValue).toBeNull();
    expect(twoProportions({ successes: 0, trials: 0 }, { successes: 1, trials: 2 }).pValue).toBeNull();
    expect(histogramPercentile([0, 0], [10, 20], 0.5)).toBeNull();
  });

  it('reads a percentile from histogram buckets as histogram_quantile does', () => {
    // 10 values in (0, 100], 10 in (100, 200]: the median is the top of the first bucket, p75 the middle of the second.
    expect(histogramPercentile([10, 10, 0], [100, 200, 400], 0.5)).toBe(100);
    expect(histogramPercentile([10, 10, 0], [100, 200, 400], 0.75)).toBe(150);
  });
});
