package io.leafgate.leaf.monitor;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/** Formats times and durations the way nats-server's monitoring JSON shows them. */
public final class GoFormat {
  private GoFormat() {}

  private static final DateTimeFormatter RFC3339 = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSSSSSSS'Z'")
      .withZone(ZoneOffset.UTC);

  /** An instant as RFC 3339 with nanoseconds, in UTC. */
  public static String time(long epochMillis) {
    return RFC3339.format(Instant.ofEpochMilli(epochMillis));
  }

  /** nats-server's uptime format: {@code 1y2d3h4m5s}, leading zero units left out. */
  public static String uptime(long millis) {
    long s = Math.max(0, millis / 1000);
    long years = s / (365L * 86400);
    s -= years * 365L * 86400;
    long days = s / 86400;
    s -= days * 86400;
    long hours = s / 3600;
    s -= hours * 3600;
    long mins = s / 60;
    s -= mins * 60;
    StringBuilder b = new StringBuilder();
    if (years > 0) {
      b.append(years).append('y');
    }
    if (years > 0 || days > 0) {
      b.append(days).append('d');
    }
    if (years > 0 || days > 0 || hours > 0) {
      b.append(hours).append('h');
    }
    if (years > 0 || days > 0 || hours > 0 || mins > 0) {
      b.append(mins).append('m');
    }
    b.append(s).append('s');
    return b.toString();
  }

  /** A duration as Go's {@code time.Duration.String()}: {@code 1.5ms}, {@code 2m0s}, {@code 0s}. */
  public static String duration(long nanos) {
    if (nanos == 0) {
      return "0s";
    }
    boolean neg = nanos < 0;
    long n = Math.abs(nanos);
    String out;
    if (n < 1_000) {
      out = n + "ns";
    } else if (n < 1_000_000) {
      out = trim(n / 1e3) + "µs";
    } else if (n < 1_000_000_000) {
      out = trim(n / 1e6) + "ms";
    } else {
      long totalSec = n / 1_000_000_000;
      long frac = n % 1_000_000_000;
      long h = totalSec / 3600;
      long m = (totalSec % 3600) / 60;
      long sec = totalSec % 60;
      StringBuilder b = new StringBuilder();
      if (h > 0) {
        b.append(h).append('h');
      }
      if (h > 0 || m > 0) {
        b.append(m).append('m');
      }
      b.append(sec);
      if (frac > 0) {
        String f = String.format("%09d", frac).replaceAll("0+$", "");
        b.append('.').append(f);
      }
      b.append('s');
      out = b.toString();
    }
    return neg ? "-" + out : out;
  }

  private static String trim(double v) {
    String s = String.format("%.3f", v);
    s = s.replaceAll("0+$", "");
    return s.endsWith(".") ? s.substring(0, s.length() - 1) : s;
  }
}
