package io.leafgate.leaf.config;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Parsing of the duration and size strings that config values use, shared by every module that
 * reads a config block.
 */
public final class Units {
  private Units() {}

  private static final Pattern SIZE = Pattern.compile("(\\d+)\\s*([A-Za-z]*)");

  /**
   * Parses a duration written as Go's {@code time.ParseDuration} accepts it, which is what
   * nats-server users write: one or more decimal numbers, each with a unit, such as {@code 10s},
   * {@code 500ms}, {@code 1.5h} or {@code 1h30m}. Units are {@code ns us µs ms s m h}; a lone
   * {@code 0} needs none. A leading sign is allowed.
   *
   * @throws IllegalArgumentException with a message fit for a config error
   */
  public static Duration parseDuration(String text) {
    String s = text;
    boolean negative = false;
    if (s.startsWith("-") || s.startsWith("+")) {
      negative = s.charAt(0) == '-';
      s = s.substring(1);
    }
    if (s.equals("0")) {
      return Duration.ZERO;
    }
    if (s.isEmpty()) {
      throw badDuration(text);
    }
    BigDecimal nanos = BigDecimal.ZERO;
    int i = 0;
    while (i < s.length()) {
      int start = i;
      while (i < s.length() && (Character.isDigit(s.charAt(i)) || s.charAt(i) == '.')) {
        i++;
      }
      String number = s.substring(start, i);
      if (number.isEmpty() || number.equals(".") || number.indexOf('.') != number.lastIndexOf('.')) {
        throw badDuration(text);
      }
      int unitStart = i;
      while (i < s.length() && !Character.isDigit(s.charAt(i)) && s.charAt(i) != '.') {
        i++;
      }
      long unitNanos = unitNanos(s.substring(unitStart, i));
      if (unitNanos == 0) {
        throw badDuration(text);
      }
      nanos = nanos.add(new BigDecimal(number).multiply(BigDecimal.valueOf(unitNanos)));
    }
    try {
      long n = nanos.setScale(0, RoundingMode.DOWN).longValueExact();
      return Duration.ofNanos(negative ? -n : n);
    } catch (ArithmeticException e) {
      throw new IllegalArgumentException("duration \"" + text + "\" is too long");
    }
  }

  private static long unitNanos(String unit) {
    return switch (unit) {
      case "ns" -> 1L;
      case "us", "\u00b5s", "\u03bcs" -> 1_000L;
      case "ms" -> 1_000_000L;
      case "s" -> 1_000_000_000L;
      case "m" -> 60_000_000_000L;
      case "h" -> 3_600_000_000_000L;
      case "d" -> 86_400_000_000_000L; // leafgate's addition: buffer ages are often days

      default -> 0L;
    };
  }

  private static IllegalArgumentException badDuration(String text) {
    return new IllegalArgumentException("\"" + text
        + "\" is not a duration: write a number and a unit (ns, us, ms, s, m, h), such as \"10s\","
        + " \"500ms\" or \"1h30m\"");
  }

  /**
   * Parses a size written as a string, such as {@code "64MB"} or {@code "10G"}. Inside quotes every
   * suffix is a power of 1024, whether one letter ({@code K M G T P E}, as nats-server's
   * {@code getStorageSize} reads {@code max_file_store: "10G"}) or two ({@code KB}, {@code KiB}...);
   * case does not matter. Unquoted sizes never get here: the parser has already turned them into
   * integers, where one letter is a power of 1000 ({@code 1K} is 1000, {@code 1KB} is 1024).
   *
   * @throws IllegalArgumentException with a message fit for a config error
   */
  public static long parseSize(String text) {
    Matcher m = SIZE.matcher(text.trim());
    if (!m.matches()) {
      throw badSize(text);
    }
    String suffix = m.group(2).toLowerCase(Locale.ROOT);
    long multiplier;
    if (suffix.isEmpty() || suffix.equals("b")) {
      multiplier = 1;
    } else {
      int power = "kmgtpe".indexOf(suffix.charAt(0)) + 1;
      String rest = suffix.substring(1);
      if (power == 0 || !(rest.isEmpty() || rest.equals("b") || rest.equals("i")
          || rest.equals("ib"))) {
        throw badSize(text);
      }
      multiplier = 1L << (10 * power);
    }
    try {
      return Math.multiplyExact(Long.parseLong(m.group(1)), multiplier);
    } catch (NumberFormatException | ArithmeticException e) {
      throw new IllegalArgumentException("size \"" + text + "\" is too large");
    }
  }

  private static IllegalArgumentException badSize(String text) {
    return new IllegalArgumentException("\"" + text
        + "\" is not a size: write a number of bytes with an optional suffix, such as 1024,"
        + " 64KB, 10MB or 1GB");
  }
}
