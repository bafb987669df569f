package io.leafgate.leaf.config;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Typed reads of {@link ConfigValue}s that collect problems instead of throwing, so that a whole
 * file is checked in one pass. Every method that can fail adds a {@link ConfigError} located at the
 * value and returns null; the caller then leaves the setting at its default and carries on.
 *
 * <p>{@link ConfigLoader} uses it for the keys it owns; modules that validate a block kept in
 * {@link ServerOptions#extraBlocks} (uplink, leafnodes) use it too, so that messages read the
 * same everywhere. {@code key} is the key as the user wrote it, for messages.
 *
 * <p>Not thread-safe: one reader per load.
 */
public final class ConfigReader {

  /**
   * A listen address.
   *
   * @param host the host, or null when only a port was given (the setting's host stays as it is);
   *     {@code ":4222"} gives {@code 0.0.0.0}, all interfaces, as it does for nats-server
   * @param port the port, -1..65535
   */
  public record HostPort(String host, int port) {}

  /** The lowest port a setting accepts: -1 asks for a free port. */
  public static final int MIN_PORT = -1;
  /** The highest TCP port. */
  public static final int MAX_PORT = 65535;

  private final List<ConfigError> errors;

  /** A reader that appends problems to {@code errors}. */
  public ConfigReader(List<ConfigError> errors) {
    this.errors = Objects.requireNonNull(errors, "errors");
  }

  /** A reader with its own, initially empty, error list. */
  public ConfigReader() {
    this(new ArrayList<>());
  }

  /** The problems found so far (the list given to the constructor). */
  public List<ConfigError> errors() {
    return errors;
  }

  /** Reports a problem at {@code at}'s file and line. */
  public void error(ConfigValue at, String message) {
    errors.add(ConfigError.at(at, message));
  }

  /**
   * Reports {@code key} as unknown, unless its value is only there to be used as a variable
   * ({@code $NAME}), as nats-server does.
   *
   * @param block where the key is, such as {@code "jetstream"}, or null at top level
   */
  public void unknownField(String key, ConfigValue v, String block) {
    if (v.usedAsVariable()) {
      return;
    }
    error(v, "unknown field \"" + key + "\"" + (block == null ? "" : " in " + block));
  }

  /** The entries of a map value. */
  public Map<String, ConfigValue> map(String key, ConfigValue v) {
    if (!v.isMap()) {
      return typeError(key, v, "a map ({ ... })");
    }
    return v.asMap();
  }

  /** A string value, possibly empty. */
  public String string(String key, ConfigValue v) {
    if (!v.isString()) {
      return typeError(key, v, "a string");
    }
    return v.asString();
  }

  /** A string value that is neither empty nor only white space. */
  public String nonEmptyString(String key, ConfigValue v) {
    String s = string(key, v);
    if (s != null && s.isBlank()) {
      error(v, "\"" + key + "\" must not be empty");
      return null;
    }
    return s;
  }

  /** A boolean ({@code true false yes no on off}). */
  public Boolean bool(String key, ConfigValue v) {
    if (v.kind() != ConfigValue.Kind.BOOL) {
      return typeError(key, v, "a boolean (true or false)");
    }
    return v.asBoolean();
  }

  /** A whole number between {@code min} and {@code max} inclusive. */
  public Long integer(String key, ConfigValue v, long min, long max) {
    if (v.kind() != ConfigValue.Kind.INTEGER) {
      return typeError(key, v, "an integer");
    }
    return inRange(key, v, v.asLong(), min, max, "");
  }

  /**
   * A number of bytes between {@code min} and {@code max}: an integer, with the parser's suffixes
   * ({@code 64MB}, {@code 1G}), or a string read by {@link Units#parseSize}.
   */
  public Long size(String key, ConfigValue v, long min, long max) {
    long n;
    if (v.kind() == ConfigValue.Kind.INTEGER) {
      n = v.asLong();
    } else if (v.isString()) {
      try {
        n = Units.parseSize(v.asString());
      } catch (IllegalArgumentException e) {
        error(v, "\"" + key + "\": " + e.getMessage());
        return null;
      }
    } else {
      return typeError(key, v, "a size such as 1048576, 64KB or 1MB");
    }
    return inRange(key, v, n, min, max, " bytes");
  }

  /**
   * A duration greater than zero: a string such as {@code "10s"}, {@code "500ms"} or
   * {@code "1h30m"} (see {@link Units#parseDuration}), or a number of seconds, which may be
   * fractional.
   *
   * <p>An unquoted {@code 2m} means two minutes here, although nats-server's parser reads it as
   * the size 2000000 and then as that many seconds; the text is kept so that leafgate can do what
   * the user meant.
   */
  public Duration duration(String key, ConfigValue v) {
    Duration d;
    switch (v.kind()) {
      case INTEGER -> {
        if (v.raw().chars().allMatch(c -> c == '-' || Character.isDigit(c))) {
          d = Duration.ofSeconds(v.asLong());
        } else {
          d = parseDurationOrReport(key, v, v.raw());
        }
      }
      case FLOAT -> d = Duration.ofNanos(Math.round(v.asDouble() * 1e9));
      case STRING -> d = parseDurationOrReport(key, v, v.asString());
      default -> {
        return typeError(key, v, "a duration such as \"10s\" or a number of seconds");
      }
    }
    if (d == null) {
      return null;
    }
    if (d.isNegative() || d.isZero()) {
      error(v, "\"" + key + "\" must be greater than zero, got " + v.raw());
      return null;
    }
    return d;
  }

  private Duration parseDurationOrReport(String key, ConfigValue v, String text) {
    try {
      return Units.parseDuration(text);
    } catch (IllegalArgumentException e) {
      error(v, "\"" + key + "\": " + e.getMessage());
      return null;
    }
  }

  /** A port, -1..65535; -1 asks for a free port. */
  public Integer port(String key, ConfigValue v) {
    if (v.kind() != ConfigValue.Kind.INTEGER) {
      return typeError(key, v, "a port number");
    }
    long n = v.asLong();
    if (n < MIN_PORT || n > MAX_PORT) {
      error(v, "\"" + key + "\" must be between -1 and 65535 (-1 picks a free port), got " + n);
      return null;
    }
    return (int) n;
  }

  /**
   * A listen address: a port alone (an integer), or a string {@code host:port}, {@code :port} or
   * {@code [ipv6]:port}, split the way Go's {@code net.SplitHostPort} splits it for nats-server.
   */
  public HostPort hostPort(String key, ConfigValue v) {
    if (v.kind() == ConfigValue.Kind.INTEGER) {
      Integer port = port(key, v);
      return port == null ? null : new HostPort(null, port);
    }
    if (!v.isString()) {
      return typeError(key, v, "a port or a \"host:port\" string");
    }
    String s = v.asString();
    String host;
    String portText;
    if (s.startsWith("[")) {
      int close = s.indexOf(']');
      if (close < 0 || close + 1 >= s.length() || s.charAt(close + 1) != ':') {
        return addressError(key, v, "expected [ipv6]:port");
      }
      host = s.substring(1, close);
      portText = s.substring(close + 2);
    } else {
      int colon = s.lastIndexOf(':');
      if (colon < 0) {
        return addressError(key, v, "expected host:port, :port or a port number");
      }
      host = s.substring(0, colon);
      portText = s.substring(colon + 1);
      if (host.indexOf(':') >= 0) {
        return addressError(key, v, "an IPv6 host must be in brackets, as in [::1]:4222");
      }
    }
    int port;
    try {
      port = Integer.parseInt(portText);
    } catch (NumberFormatException e) {
      return addressError(key, v, "\"" + portText + "\" is not a port number");
    }
    if (port < MIN_PORT || port > MAX_PORT) {
      error(v, "\"" + key + "\" port must be between -1 and 65535 (-1 picks a free port), got "
          + port);
      return null;
    }
    return new HostPort(host.isEmpty() ? "0.0.0.0" : host, port);
  }

  /**
   * A list of strings, written either as one string or as an array of strings. An item that is
   * not a string is reported and left out.
   */
  public List<String> stringList(String key, ConfigValue v) {
    if (v.isString()) {
      return List.of(v.asString());
    }
    if (!v.isArray()) {
      return typeError(key, v, "a string or an array of strings");
    }
    List<String> out = new ArrayList<>();
    boolean ok = true;
    for (ConfigValue item : v.asList()) {
      if (item.isString()) {
        out.add(item.asString());
      } else {
        error(item, "every item of \"" + key + "\" must be a string, got " + item.describe());
        ok = false;
      }
    }
    return ok ? out : null;
  }

  private Long inRange(String key, ConfigValue v, long n, long min, long max, String unit) {
    if (n >= min && n <= max) {
      return n;
    }
    String got = v.raw() != null && !v.raw().equals(Long.toString(n))
        ? v.raw() + " (" + n + unit + ")" : Long.toString(n);
    String rule = max == Long.MAX_VALUE
        ? "at least " + min + unit
        : "between " + min + " and " + max + unit;
    error(v, "\"" + key + "\" must be " + rule + ", got " + got);
    return null;
  }

  private <T> T typeError(String key, ConfigValue v, String expected) {
    error(v, "\"" + key + "\" must be " + expected + ", got " + v.describe());
    return null;
  }

  private <T> T addressError(String key, ConfigValue v, String why) {
    error(v, "\"" + key + "\": cannot parse address \"" + v.asString() + "\": " + why);
    return null;
  }
}
