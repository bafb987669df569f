package io.leafgate.bench;

/**
 * One measured figure, or why it could not be measured.
 *
 * @param value the figure; NaN when {@code problem} made the run useless
 * @param problem null when the run was clean; otherwise what went wrong (the value may still be
 *     set when the problem does not spoil it, as for a late warning)
 */
record Measured(double value, String problem) {
  static Measured of(double value) {
    return new Measured(value, null);
  }

  static Measured failed(String problem) {
    return new Measured(Double.NaN, problem);
  }

  boolean ok() {
    return !Double.isNaN(value);
  }
}
