package io.leafgate.mqtt.message;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * NATS header blocks ({@code NATS/1.0\r\nName: Value\r\n...\r\n}) as MQTT 5 User Properties and
 * back. A User Property that a header cannot carry (a name that is empty or holds {@code :},
 * white space or control characters; a value with CR or LF) is left out of the NATS view; MQTT
 * subscribers still receive it, because MQTT-to-MQTT delivery keeps the original properties.
 */
public final class NatsHeaders {
  private NatsHeaders() {}

  private static final byte[] PREAMBLE = "NATS/1.0\r\n".getBytes(StandardCharsets.ISO_8859_1);

  /** Whether a User Property can travel as a NATS header. */
  public static boolean representable(String name, String value) {
    if (name.isEmpty()) {
      return false;
    }
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      if (c == ':' || c <= ' ' || c == 0x7f) {
        return false;
      }
    }
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c == '\r' || c == '\n') {
        return false;
      }
    }
    return true;
  }

  /** A header block for the User Properties, or null when none can be carried. */
  public static byte[] fromUserProperties(List<Props.UserProperty> props) {
    ByteArrayOutputStream b = null;
    for (Props.UserProperty p : props) {
      if (!representable(p.name(), p.value())) {
        continue;
      }
      if (b == null) {
        b = new ByteArrayOutputStream(64);
        b.writeBytes(PREAMBLE);
      }
      b.writeBytes(p.name().getBytes(StandardCharsets.UTF_8));
      b.write(':');
      b.write(' ');
      b.writeBytes(p.value().getBytes(StandardCharsets.UTF_8));
      b.write('\r');
      b.write('\n');
    }
    if (b == null) {
      return null;
    }
    b.write('\r');
    b.write('\n');
    return b.toByteArray();
  }

  /** Every header of a block, in order, as User Properties (names and values read as UTF-8). */
  public static List<Props.UserProperty> toUserProperties(byte[] block, int off, int len) {
    List<Props.UserProperty> out = new ArrayList<>();
    int end = off + len;
    int i = lineEnd(block, off, end);
    if (i < 0) {
      return out;
    }
    i += 2; // past the NATS/1.0 line
    while (i < end) {
      int e = lineEnd(block, i, end);
      if (e < 0 || e == i) {
        break;
      }
      int colon = -1;
      for (int k = i; k < e; k++) {
        if (block[k] == ':') {
          colon = k;
          break;
        }
      }
      if (colon > i) {
        int v = colon + 1;
        while (v < e && (block[v] == ' ' || block[v] == '\t')) {
          v++;
        }
        out.add(new Props.UserProperty(new String(block, i, colon - i, StandardCharsets.UTF_8),
            new String(block, v, e - v, StandardCharsets.UTF_8)));
      }
      i = e + 2;
    }
    return out;
  }

  /** The value of the first header {@code name} (exact case), as Latin-1, or null. */
  public static String get(byte[] block, String name) {
    if (block == null) {
      return null;
    }
    int end = block.length;
    int i = lineEnd(block, 0, end);
    if (i < 0) {
      return null;
    }
    i += 2;
    int n = name.length();
    while (i < end) {
      int e = lineEnd(block, i, end);
      if (e < 0 || e == i) {
        return null;
      }
      if (e - i > n && block[i + n] == ':' && regionMatches(block, i, name)) {
        int v = i + n + 1;
        while (v < e && block[v] == ' ') {
          v++;
        }
        return new String(block, v, e - v, StandardCharsets.ISO_8859_1);
      }
      i = e + 2;
    }
    return null;
  }

  private static boolean regionMatches(byte[] b, int at, String name) {
    for (int k = 0; k < name.length(); k++) {
      if (b[at + k] != (byte) name.charAt(k)) {
        return false;
      }
    }
    return true;
  }

  private static int lineEnd(byte[] b, int from, int end) {
    for (int i = from; i + 1 < end; i++) {
      if (b[i] == '\r' && b[i + 1] == '\n') {
        return i;
      }
    }
    return -1;
  }

  /** Builds a header block from name/value pairs given as Latin-1 strings. */
  public static byte[] build(String... nameValues) {
    StringBuilder s = new StringBuilder(64).append("NATS/1.0\r\n");
    for (int i = 0; i + 1 < nameValues.length; i += 2) {
      if (nameValues[i + 1] != null) {
        s.append(nameValues[i]).append(": ").append(nameValues[i + 1]).append("\r\n");
      }
    }
    return s.append("\r\n").toString().getBytes(StandardCharsets.ISO_8859_1);
  }
}
