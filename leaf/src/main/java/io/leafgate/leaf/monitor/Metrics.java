package io.leafgate.leaf.monitor;

import java.util.HashSet;
import java.util.Set;

/** Builds a Prometheus text-format exposition. Not thread-safe; one per scrape. */
public final class Metrics {
  private final StringBuilder b = new StringBuilder(4096);
  private final Set<String> described = new HashSet<>();

  /** Adds a counter sample. */
  public Metrics counter(String name, String help, double value, String... labels) {
    return sample(name, "counter", help, value, labels);
  }

  /** Adds a gauge sample. */
  public Metrics gauge(String name, String help, double value, String... labels) {
    return sample(name, "gauge", help, value, labels);
  }

  private Metrics sample(String name, String type, String help, double value, String... labels) {
    if (described.add(name)) {
      b.append("# HELP ").append(name).append(' ').append(help).append('\n');
      b.append("# TYPE ").append(name).append(' ').append(type).append('\n');
    }
    b.append(name);
    if (labels.length > 0) {
      b.append('{');
      for (int i = 0; i + 1 < labels.length; i += 2) {
        if (i > 0) {
          b.append(',');
        }
        b.append(labels[i]).append("=\"").append(escape(labels[i + 1])).append('"');
      }
      b.append('}');
    }
    b.append(' ');
    if (value == Math.rint(value) && !Double.isInfinite(value)) {
      b.append((long) value);
    } else {
      b.append(value);
    }
    b.append('\n');
    return this;
  }

  private static String escape(String s) {
    return s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
  }

  @Override
  public String toString() {
    return b.toString();
  }
}
