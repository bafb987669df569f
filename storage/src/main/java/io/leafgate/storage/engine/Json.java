package io.leafgate.storage.engine;

import com.fasterxml.jackson.jr.ob.JSON;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Map;

/** JSON helpers for the JetStream API: parsing request bodies and formatting times as Go does. */
public final class Json {
  private Json() {}

  /** Thrown for a body that is not the JSON object an API call expects. */
  public static final class BadJson extends Exception {
    public BadJson(String message) {
      super(message);
    }
  }

  /** Parses an object; an empty body is an empty object. */
  public static Map<String, Object> object(byte[] body) throws BadJson {
    if (body == null || body.length == 0 || isBlank(body)) {
      return Map.of();
    }
    try {
      Object o = JSON.std.anyFrom(body);
      if (o instanceof Map<?, ?> m) {
        @SuppressWarnings("unchecked")
        Map<String, Object> r = (Map<String, Object>) m;
        return r;
      }
      throw new BadJson("not a JSON object");
    } catch (IOException | RuntimeException e) {
      throw new BadJson(e.getMessage());
    }
  }

  private static boolean isBlank(byte[] b) {
    for (byte x : b) {
      if (x != ' ' && x != '\t' && x != '\r' && x != '\n') {
        return false;
      }
    }
    return true;
  }

  public static byte[] bytes(Object o) {
    try {
      return JSON.std.asBytes(o);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  public static String string(Object o) {
    return new String(bytes(o), StandardCharsets.UTF_8);
  }

  public static long longOf(Map<String, Object> m, String k, long dflt) throws BadJson {
    Object v = m.get(k);
    if (v == null) {
      return dflt;
    }
    if (v instanceof Number n) {
      double d = n.doubleValue();
      if (d != Math.rint(d)) {
        throw new BadJson(k + " must be an integer");
      }
      return n.longValue();
    }
    throw new BadJson(k + " must be a number");
  }

  public static boolean boolOf(Map<String, Object> m, String k, boolean dflt) throws BadJson {
    Object v = m.get(k);
    if (v == null) {
      return dflt;
    }
    if (v instanceof Boolean b) {
      return b;
    }
    throw new BadJson(k + " must be true or false");
  }

  public static String strOf(Map<String, Object> m, String k, String dflt) throws BadJson {
    Object v = m.get(k);
    if (v == null) {
      return dflt;
    }
    if (v instanceof String s) {
      return s;
    }
    throw new BadJson(k + " must be a string");
  }

  @SuppressWarnings("unchecked")
  public static List<Object> listOf(Map<String, Object> m, String k) throws BadJson {
    Object v = m.get(k);
    if (v == null) {
      return null;
    }
    if (v instanceof List<?> l) {
      return (List<Object>) l;
    }
    throw new BadJson(k + " must be an array");
  }

  @SuppressWarnings("unchecked")
  public static Map<String, Object> mapOf(Map<String, Object> m, String k) throws BadJson {
    Object v = m.get(k);
    if (v == null) {
      return null;
    }
    if (v instanceof Map<?, ?> x) {
      return (Map<String, Object>) x;
    }
    throw new BadJson(k + " must be an object");
  }

  /** Go's zero time, which nats-server shows for "never". */
  public static final String ZERO_TIME = "0001-01-01T00:00:00Z";

  /** RFC 3339 with nanoseconds, trailing zeros trimmed, as Go's RFC3339Nano. */
  public static String time(long epochNanos) {
    if (epochNanos == 0) {
      return ZERO_TIME;
    }
    long secs = Math.floorDiv(epochNanos, 1_000_000_000L);
    int nanos = (int) Math.floorMod(epochNanos, 1_000_000_000L);
    String base = java.time.format.DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss")
        .withZone(ZoneOffset.UTC).format(Instant.ofEpochSecond(secs));
    if (nanos == 0) {
      return base + "Z";
    }
    String frac = String.format("%09d", nanos);
    int end = frac.length();
    while (end > 0 && frac.charAt(end - 1) == '0') {
      end--;
    }
    return base + "." + frac.substring(0, end) + "Z";
  }

  /** Parses an RFC 3339 time with any fraction; returns ns since the epoch. */
  public static long parseTime(String s) throws BadJson {
    try {
      OffsetDateTime t = OffsetDateTime.parse(s);
      return t.toEpochSecond() * 1_000_000_000L + t.getNano();
    } catch (DateTimeParseException e) {
      throw new BadJson("invalid time " + s);
    }
  }
}
