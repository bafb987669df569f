package io.leafgate.bench;

import java.util.Arrays;
import java.util.List;

/** Small order statistics over measured values. */
final class Stats {
  private Stats() {}

  /** The median of the values (the mean of the two middle ones for an even count); NaN when empty. */
  static double median(List<Double> values) {
    if (values.isEmpty()) {
      return Double.NaN;
    }
    double[] v = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
    int m = v.length / 2;
    return v.length % 2 == 1 ? v[m] : (v[m - 1] + v[m]) / 2;
  }

  /**
   * The {@code p}-th percentile (0 &lt; p &le; 100) of the first {@code n} samples, by the
   * nearest-rank method. Sorts that prefix of {@code samples} in place.
   */
  static long percentile(long[] samples, int n, double p) {
    if (n == 0) {
      throw new IllegalArgumentException("no samples");
    }
    Arrays.sort(samples, 0, n);
    int rank = (int) Math.ceil(p / 100.0 * n);
    return samples[Math.max(0, Math.min(n, rank) - 1)];
  }
}
