package io.leafgate.storage.engine;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * NATS header blocks ({@code NATS/1.0[ status]\r\nKey: Value\r\n...\r\n\r\n}): reading the few
 * headers JetStream acts on, and building status and delivery headers.
 */
public final class Headers {
  private Headers() {}

  public static final String MSG_ID = "Nats-Msg-Id";
  public static final String EXPECTED_STREAM = "Nats-Expected-Stream";
  public static final String EXPECTED_LAST_SEQ = "Nats-Expected-Last-Sequence";
  public static final String EXPECTED_LAST_SUBJ_SEQ = "Nats-Expected-Last-Subject-Sequence";
  public static final String EXPECTED_LAST_SUBJ_SEQ_SUBJ = "Nats-Expected-Last-Subject-Sequence-Subject";
  public static final String EXPECTED_LAST_MSG_ID = "Nats-Expected-Last-Msg-Id";
  public static final String ROLLUP = "Nats-Rollup";
  public static final String TTL = "Nats-TTL";

  /**
   * The value of header {@code name} in {@code block}, or null. Names match exactly first, then
   * ignoring case (clients send the canonical casing; others may not).
   */
  public static String get(byte[] block, String name) {
    if (block == null) {
      return null;
    }
    String s = new String(block, StandardCharsets.ISO_8859_1);
    String v = find(s, name, false);
    return v != null ? v : find(s, name, true);
  }

  private static String find(String s, String name, boolean ignoreCase) {
    int i = s.indexOf("\r\n");
    while (i >= 0 && i + 2 < s.length()) {
      int start = i + 2;
      int end = s.indexOf("\r\n", start);
      if (end < 0) {
        end = s.length();
      }
      if (end == start) {
        return null;
      }
      int colon = s.indexOf(':', start);
      if (colon > start && colon < end && colon - start == name.length()
          && s.regionMatches(ignoreCase, start, name, 0, name.length())) {
        return s.substring(colon + 1, end).trim();
      }
      i = end;
    }
    return null;
  }

  /** Builds a header block from a status line suffix ({@code "404 No Messages"}, or "" for none) and pairs. */
  public static byte[] block(String status, String... keyValues) {
    StringBuilder b = new StringBuilder(64).append("NATS/1.0");
    if (!status.isEmpty()) {
      b.append(' ').append(status);
    }
    b.append("\r\n");
    for (int i = 0; i + 1 < keyValues.length; i += 2) {
      b.append(keyValues[i]).append(": ").append(keyValues[i + 1]).append("\r\n");
    }
    b.append("\r\n");
    return b.toString().getBytes(StandardCharsets.ISO_8859_1);
  }

  /**
   * Appends headers to an existing block (or starts one): used for direct get replies and
   * headers-only deliveries, which add to the stored message's own headers.
   */
  public static byte[] append(byte[] block, List<String> keyValues) {
    StringBuilder b = new StringBuilder(128);
    if (block == null || block.length < 12) {
      b.append("NATS/1.0\r\n");
    } else {
      String s = new String(block, StandardCharsets.ISO_8859_1);
      // Drop the closing blank line, keep everything else verbatim.
      b.append(s, 0, s.endsWith("\r\n\r\n") ? s.length() - 2 : s.length());
    }
    for (int i = 0; i + 1 < keyValues.size(); i += 2) {
      b.append(keyValues.get(i)).append(": ").append(keyValues.get(i + 1)).append("\r\n");
    }
    b.append("\r\n");
    return b.toString().getBytes(StandardCharsets.ISO_8859_1);
  }

  /** Convenience for {@link #append(byte[], List)}. */
  public static byte[] append(byte[] block, String... keyValues) {
    List<String> l = new ArrayList<>(keyValues.length);
    for (String s : keyValues) {
      l.add(s);
    }
    return append(block, l);
  }
}
