package io.leafgate.mqtt.topic;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * MQTT topics and filters to NATS subjects and back, by nats-server's rules (edge-anchors §1.3,
 * {@code mqttToNATSSubjectConversion} and {@code natsSubjectToMQTTTopic}): split the topic on
 * {@code /}, map each level, join with {@code .}. A level maps as follows: an empty level becomes the
 * token {@code /}; a {@code .} inside a level becomes {@code //}; in a filter {@code +} becomes
 * {@code *} and {@code #} becomes {@code >}. A filter {@code a/#} needs two subscriptions,
 * {@code a.>} and {@code a}, because MQTT's {@code #} also matches the parent level.
 *
 * <p>NATS subjects are wider than MQTT topics. A subject token that MQTT cannot carry as it is (a
 * {@code /} that is not part of a {@code //} pair, {@code +}, {@code #}, NUL, or bytes that are not
 * UTF-8) is delivered percent-encoded: {@code %} becomes {@code %25}, every {@code /} becomes
 * {@code %2F}, {@code +} {@code %2B}, {@code #} {@code %23}, NUL and non-UTF-8 bytes {@code %XX}.
 * Only such tokens are encoded, so every subject that came from MQTT maps back to its original
 * topic; nothing is dropped (nats-server drops the bare slash: {@code a/b} becomes {@code ab}). The
 * encoding is one way: publishing to the encoded topic reaches the subject with the literal
 * {@code %2F}, not the original one.
 *
 * <p>Subjects are Latin-1 strings of the UTF-8 bytes (one char per wire byte), as everywhere in
 * leafgate. Stateless and thread-safe.
 */
public final class TopicMapper {
  private TopicMapper() {}

  /** Internal subjects that MQTT clients may not publish or subscribe to. */
  public static final String RESERVED_PREFIX = "$MQTT";

  private static final char[] HEX = "0123456789ABCDEF".toCharArray();

  /** Why a topic or filter was refused. */
  public enum Problem {
    /** An empty topic name or filter. */
    EMPTY,
    /** A space, tab, CR, LF, form feed, DEL or NUL. */
    UNSUPPORTED_CHARACTERS,
    /** {@code +} or {@code #} in a topic name. */
    WILDCARD_IN_TOPIC,
    /** A wildcard that does not fill a whole level, or {@code #} that is not last. */
    INVALID_FILTER,
    /** The internal {@code $MQTT} namespace. */
    RESERVED
  }

  /** A refused topic or filter. */
  public static final class TopicException extends Exception {
    private final Problem problem;

    public TopicException(Problem problem, String message) {
      super(message, null, false, false);
      this.problem = problem;
    }

    public Problem problem() {
      return problem;
    }
  }

  /** A shared subscription {@code $share/<group>/<filter>}. */
  public record SharedFilter(String group, String filter) {}

  /** The subject of a PUBLISH topic name. */
  public static String toSubject(String topic) throws TopicException {
    return convert(topic, false);
  }

  /**
   * The subjects to subscribe to for an MQTT filter: one, or two when the filter ends in {@code /#}
   * (the {@code .>} subscription and its parent level).
   */
  public static List<String> toFilterSubjects(String filter) throws TopicException {
    String s = convert(filter, true);
    int n = s.length();
    if (n >= 3 && s.charAt(n - 1) == '>' && s.charAt(n - 2) == '.') {
      return List.of(s.substring(0, n - 2), s);
    }
    return List.of(s);
  }

  /** Parses {@code $share/<group>/<filter>}; null when {@code filter} is not a shared subscription. */
  public static SharedFilter parseShared(String filter) throws TopicException {
    if (!filter.startsWith("$share/")) {
      return null;
    }
    int slash = filter.indexOf('/', 7);
    if (slash < 0 || slash == 7 || slash == filter.length() - 1) {
      throw new TopicException(Problem.INVALID_FILTER, "a shared subscription needs $share/<group>/<filter>: " + filter);
    }
    String group = filter.substring(7, slash);
    for (int i = 0; i < group.length(); i++) {
      char c = group.charAt(i);
      if (c == '+' || c == '#' || isUnsupported(c)) {
        throw new TopicException(Problem.INVALID_FILTER, "invalid share name in " + filter);
      }
    }
    return new SharedFilter(toLatin1(group), filter.substring(slash + 1));
  }

  private static String convert(String mt, boolean filter) throws TopicException {
    int n = mt.length();
    if (n == 0) {
      throw new TopicException(Problem.EMPTY, filter ? "topic filter cannot be empty" : "topic name cannot be empty");
    }
    StringBuilder b = new StringBuilder(n + 8);
    int levelStart = 0;
    for (int i = 0; i <= n; i++) {
      if (i < n && mt.charAt(i) != '/') {
        continue;
      }
      if (levelStart > 0) {
        b.append('.');
      }
      int len = i - levelStart;
      if (len == 0) {
        b.append('/');
      } else {
        appendLevel(b, mt, levelStart, i, filter);
      }
      levelStart = i + 1;
    }
    String s = b.toString();
    if (s.equals(RESERVED_PREFIX) || s.startsWith(RESERVED_PREFIX + ".")) {
      throw new TopicException(Problem.RESERVED, "the $MQTT namespace is reserved: " + mt);
    }
    return toLatin1(s);
  }

  private static void appendLevel(StringBuilder b, String mt, int from, int to, boolean filter) throws TopicException {
    for (int i = from; i < to; i++) {
      char c = mt.charAt(i);
      switch (c) {
        case '.' -> b.append("//");
        case '+', '#' -> {
          if (!filter) {
            throw new TopicException(Problem.WILDCARD_IN_TOPIC, "wildcards not allowed in publish's topic: " + mt);
          }
          if (to - from != 1) {
            throw new TopicException(Problem.INVALID_FILTER, "a wildcard must fill a whole level: " + mt);
          }
          if (c == '#' && to != mt.length()) {
            throw new TopicException(Problem.INVALID_FILTER, "# must be the last level: " + mt);
          }
          b.append(c == '+' ? '*' : '>');
        }
        default -> {
          if (isUnsupported(c)) {
            throw new TopicException(Problem.UNSUPPORTED_CHARACTERS, "unsupported characters in " + describe(mt));
          }
          b.append(c);
        }
      }
    }
  }

  private static boolean isUnsupported(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == 0x7f || c == 0;
  }

  private static String describe(String s) {
    StringBuilder b = new StringBuilder(s.length() + 2).append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < 0x20 || c == 0x7f) {
        b.append("\\x").append(HEX[c >> 4]).append(HEX[c & 15]);
      } else {
        b.append(c);
      }
    }
    return b.append('"').toString();
  }

  /** A Java string as the Latin-1 string of its UTF-8 bytes (the form subjects travel in). */
  public static String toLatin1(String s) {
    for (int i = 0; i < s.length(); i++) {
      if (s.charAt(i) >= 0x80) {
        return new String(s.getBytes(StandardCharsets.UTF_8), StandardCharsets.ISO_8859_1);
      }
    }
    return s;
  }

  /**
   * The MQTT topic for a subject (a message a subscriber receives). Tokens MQTT cannot carry are
   * percent-encoded (see the class comment).
   */
  public static String toTopic(String subject) {
    int n = subject.length();
    StringBuilder b = new StringBuilder(n);
    int start = 0;
    boolean ascii = true;
    for (int i = 0; i <= n; i++) {
      if (i < n) {
        char c = subject.charAt(i);
        if (c != '.') {
          if (c >= 0x80) {
            ascii = false;
          }
          continue;
        }
      }
      if (start > 0) {
        b.append('/');
      }
      appendToken(b, subject, start, i);
      start = i + 1;
    }
    if (ascii) {
      return b.toString();
    }
    return utf8OrEscape(b);
  }

  private static void appendToken(StringBuilder b, String s, int from, int to) {
    if (to - from == 1 && s.charAt(from) == '/') {
      return; // an empty level
    }
    if (needsEscape(s, from, to)) {
      escapeToken(b, s, from, to);
      return;
    }
    for (int i = from; i < to; i++) {
      char c = s.charAt(i);
      if (c == '/') {
        b.append('.');
        i++; // the second slash of the pair
      } else {
        b.append(c);
      }
    }
  }

  private static boolean needsEscape(String s, int from, int to) {
    int run = 0;
    for (int i = from; i < to; i++) {
      char c = s.charAt(i);
      if (c == '/') {
        run++;
        continue;
      }
      if ((run & 1) == 1) {
        return true;
      }
      run = 0;
      if (c == '+' || c == '#' || c == 0) {
        return true;
      }
    }
    if ((run & 1) == 1) {
      return true;
    }
    return !isUtf8(s, from, to);
  }

  private static void escapeToken(StringBuilder b, String s, int from, int to) {
    int i = from;
    while (i < to) {
      char c = s.charAt(i);
      int seq = c >= 0x80 ? utf8SequenceLength(s, i, to) : 1;
      if (c >= 0x80 && seq > 0) {
        b.append(s, i, i + seq); // a valid multi-byte sequence, kept as bytes
        i += seq;
        continue;
      }
      if (c == '%' || c == '/' || c == '+' || c == '#' || c == 0 || c >= 0x80) {
        b.append('%').append(HEX[(c >> 4) & 15]).append(HEX[c & 15]);
      } else {
        b.append(c);
      }
      i++;
    }
  }

  private static boolean isUtf8(String s, int from, int to) {
    int i = from;
    while (i < to) {
      if (s.charAt(i) < 0x80) {
        i++;
        continue;
      }
      int seq = utf8SequenceLength(s, i, to);
      if (seq <= 0) {
        return false;
      }
      i += seq;
    }
    return true;
  }

  /** Length of the well-formed UTF-8 sequence of Latin-1 bytes at {@code i}, or 0 when malformed. */
  private static int utf8SequenceLength(String s, int i, int to) {
    int b0 = s.charAt(i);
    int len;
    int min;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
      len = 2;
      min = 0x80;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      len = 3;
      min = 0x800;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      len = 4;
      min = 0x10000;
    } else {
      return 0;
    }
    if (i + len > to) {
      return 0;
    }
    int cp = b0 & (0xFF >> (len + 1));
    for (int k = 1; k < len; k++) {
      int c = s.charAt(i + k);
      if ((c & 0xC0) != 0x80 || c > 0xFF) {
        return 0;
      }
      cp = (cp << 6) | (c & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return 0;
    }
    return len;
  }

  private static String utf8OrEscape(StringBuilder latin1) {
    byte[] bytes = latin1.toString().getBytes(StandardCharsets.ISO_8859_1);
    CharsetDecoder d = StandardCharsets.UTF_8.newDecoder()
        .onMalformedInput(CodingErrorAction.REPORT)
        .onUnmappableCharacter(CodingErrorAction.REPORT);
    try {
      return d.decode(ByteBuffer.wrap(bytes)).toString();
    } catch (CharacterCodingException e) {
      // Cannot happen: malformed tokens were escaped; keep the Latin-1 form rather than fail.
      return latin1.toString();
    }
  }
}
