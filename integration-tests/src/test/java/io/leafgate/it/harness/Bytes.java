package io.leafgate.it.harness;

/** Shows protocol bytes readably in assertion messages: CR, LF and non-printables escaped. */
public final class Bytes {
  private static final int SHOW_MAX = 2000;

  private Bytes() {}

  /** {@code s} in double quotes with control and non-ASCII characters escaped, cut at 2000 chars. */
  public static String show(String s) {
    StringBuilder b = new StringBuilder(Math.min(s.length(), SHOW_MAX) + 16).append('"');
    for (int i = 0; i < s.length() && i < SHOW_MAX; i++) {
      char c = s.charAt(i);
      switch (c) {
        case '\r' -> b.append("\\r");
        case '\n' -> b.append("\\n");
        case '\t' -> b.append("\\t");
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        default -> {
          if (c < 0x20 || c >= 0x7f) {
            b.append(String.format("\\x%02x", (int) c));
          } else {
            b.append(c);
          }
        }
      }
    }
    if (s.length() > SHOW_MAX) {
      b.append("...(").append(s.length()).append(" chars)");
    }
    return b.append('"').toString();
  }
}
