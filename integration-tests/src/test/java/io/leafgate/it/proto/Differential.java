package io.leafgate.it.proto;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import com.fasterxml.jackson.jr.ob.JSON;
import io.leafgate.it.harness.Bytes;
import io.leafgate.it.harness.RawClient;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Runs one raw byte sequence against a server and records what came back, so that nats-server's
 * and leafgate's answers can be compared.
 *
 * <p>A run connects, sends the input chunks, then (unless told not to) a barrier {@code PING}, and
 * reads until either every expected {@code PONG} has arrived (the connection is {@link
 * Ending#OPEN}) or the server closes it ({@link Ending#CLOSED}). The reply is cut into frames:
 * {@code INFO} is reduced to the fields clients rely on (see {@link #normalizeInfo}), {@code MSG}
 * and {@code HMSG} keep their payload, and PINGs the server sends on its own are dropped, because
 * their timing differs (nats-server after about 2 s of silence, leafgate at 2 s).
 */
final class Differential {
  /** How long a run may take; only a failing run waits this long. */
  static final Duration DEADLINE = Duration.ofSeconds(5);

  private static final Pattern MSG_LINE = Pattern.compile("H?MSG [^\r\n]* (\\d+)");
  private static final Pattern PING_LINE = Pattern.compile("(?im)^PING");

  private Differential() {}

  /** How a run ended. */
  enum Ending {
    /** The barrier PONG arrived: the server kept the connection. */
    OPEN,
    /** The server closed the connection (end of stream or reset). */
    CLOSED,
    /** Neither within the deadline. */
    TIMED_OUT
  }

  /**
   * One input: byte chunks sent in order, whether a barrier PING follows them, and whether the
   * order of the reply frames is compared (not when nats-server's order is random, as across
   * queue groups).
   */
  record Input(List<byte[]> chunks, boolean barrier, boolean ordered) {
    /** Chunks given as text, one byte per char. */
    static Input of(String... chunks) {
      List<byte[]> l = new ArrayList<>();
      for (String c : chunks) {
        l.add(c.getBytes(StandardCharsets.ISO_8859_1));
      }
      return new Input(l, true, true);
    }

    /** The same input without the barrier PING: the run waits for the server to close. */
    Input noBarrier() {
      return new Input(chunks, false, ordered);
    }

    /** The same input, with the reply frames compared as a sorted list. */
    Input unordered() {
      return new Input(chunks, barrier, false);
    }

    /**
     * PONGs to wait for: one per line of the input that starts with PING (any case), plus the
     * barrier's. Inputs in these tests never carry payloads that start with "PING".
     */
    int expectedPongs() {
      int n = 0;
      Matcher m = PING_LINE.matcher(text());
      while (m.find()) {
        n++;
      }
      return n + (barrier ? 1 : 0);
    }

    String text() {
      StringBuilder b = new StringBuilder();
      for (byte[] c : chunks) {
        b.append(new String(c, StandardCharsets.ISO_8859_1));
      }
      return b.toString();
    }

    @Override
    public String toString() {
      List<String> shown = new ArrayList<>();
      for (byte[] c : chunks) {
        shown.add(Bytes.show(new String(c, StandardCharsets.ISO_8859_1)));
      }
      return String.join(" + ", shown) + (barrier ? " + PING barrier" : "") + (ordered ? "" : " (any order)");
    }
  }

  /** What a server answered to one input. */
  record Transcript(List<String> frames, Ending ending, String raw, long closedAfterMillis) {
    /** Frames one per line, then the ending: the form two servers are compared in. */
    String describe() {
      return describe(true);
    }

    /** {@link #describe()}, with the frames sorted unless {@code ordered}. */
    String describe(boolean ordered) {
      List<String> f = ordered ? frames : frames.stream().sorted().toList();
      return String.join("\n", f) + "\n[" + ending + "]";
    }
  }

  /** Runs {@code input} against {@code 127.0.0.1:port}. */
  static Transcript run(int port, Input input) throws IOException {
    try (RawClient c = RawClient.connect(port)) {
      long t0 = System.nanoTime();
      int pongs = input.expectedPongs();
      for (byte[] chunk : input.chunks()) {
        if (!trySend(c, chunk)) {
          break;
        }
      }
      if (input.barrier()) {
        trySend(c, "PING\r\n".getBytes(StandardCharsets.US_ASCII));
      }
      Pattern done = pongs == 0 ? null : Pattern.compile("(?sm)(?:.*?^PONG\r\n){" + pongs + "}");
      Ending ending;
      try {
        if (done == null) {
          c.expectClosed(DEADLINE);
          ending = Ending.CLOSED;
        } else {
          ending = c.awaitPatternOrClose(done, DEADLINE) ? Ending.OPEN : Ending.CLOSED;
        }
      } catch (AssertionError timeout) {
        ending = Ending.TIMED_OUT;
      }
      long closedAfter = ending == Ending.CLOSED ? (System.nanoTime() - t0) / 1_000_000 : -1;
      String raw = c.received();
      return new Transcript(frames(raw), ending, raw, closedAfter);
    }
  }

  private static boolean trySend(RawClient c, byte[] bytes) {
    try {
      c.send(bytes);
      return true;
    } catch (IOException e) {
      return false; // the server has closed; what it sent before is still read
    }
  }

  /** Both servers' answers to one input. */
  record Both(Transcript nats, Transcript leaf) {}

  /** Runs {@code input} against both servers and asserts that they answer alike. */
  static Both assertSame(PeerPair peers, Input input) throws IOException {
    Transcript nats = run(peers.nats.port(), input);
    assertNotEquals(Ending.TIMED_OUT, nats.ending(), () -> peers.nats.withLog(
        "nats-server neither answered the barrier nor closed; the test input is wrong\ninput: " + input
            + "\nraw: " + Bytes.show(nats.raw())));
    Transcript leaf = run(peers.leaf.natsPort(), input);
    assertEquals(nats.describe(input.ordered()), leaf.describe(input.ordered()), () -> peers.nats.withLog(
        "leafgate answers differently from nats-server\ninput: " + input
            + "\nnats-server raw: " + Bytes.show(nats.raw())
            + "\nleafgate raw:    " + Bytes.show(leaf.raw())));
    return new Both(nats, leaf);
  }

  /** Shorthand for {@code assertSame(peers, Input.of(chunks))}. */
  static Both assertSame(PeerPair peers, String... chunks) throws IOException {
    return assertSame(peers, Input.of(chunks));
  }

  /** Cuts raw server output into frames, normalising INFO and dropping server PINGs. */
  static List<String> frames(String s) {
    List<String> out = new ArrayList<>();
    int i = 0;
    while (i < s.length()) {
      int eol = s.indexOf("\r\n", i);
      if (eol < 0) {
        out.add("<partial> " + Bytes.show(s.substring(i)));
        break;
      }
      String line = s.substring(i, eol);
      int next = eol + 2;
      if (line.startsWith("INFO ")) {
        out.add(normalizeInfo(line.substring(5)));
      } else if (line.equals("PING")) {
        // the server's own keep-alive ping: timing-dependent, not compared
      } else {
        Matcher m = MSG_LINE.matcher(line);
        if (m.matches()) {
          int size = Integer.parseInt(m.group(1));
          int end = next + size;
          if (end + 2 > s.length() || !s.startsWith("\r\n", end)) {
            out.add(line + " <payload incomplete: " + Bytes.show(s.substring(next)) + ">");
            break;
          }
          out.add(line + " | " + Bytes.show(s.substring(next, end)));
          next = end + 2;
        } else {
          out.add(line);
        }
      }
      i = next;
    }
    return out;
  }

  /**
   * Reduces an INFO body to what clients rely on: the presence and JSON type of {@code server_id},
   * {@code version}, {@code client_id} and {@code client_ip}, and the values of {@code proto},
   * {@code headers}, {@code max_payload} and {@code auth_required} (both servers get the same
   * settings). Ids, versions and the other fields differ by design and are not compared.
   */
  static String normalizeInfo(String json) {
    Map<String, Object> m;
    try {
      m = JSON.std.mapFrom(json.trim());
    } catch (IOException e) {
      return "INFO <not JSON: " + Bytes.show(json) + ">";
    }
    List<String> parts = new ArrayList<>();
    for (String k : Arrays.asList("server_id", "version", "client_id", "client_ip")) {
      parts.add(k + ":" + type(m.get(k), m.containsKey(k)));
    }
    for (String k : Arrays.asList("proto", "headers", "max_payload", "auth_required")) {
      parts.add(k + "=" + (m.containsKey(k) ? String.valueOf(m.get(k)) : "absent"));
    }
    return "INFO {" + String.join(", ", parts) + "}";
  }

  private static String type(Object v, boolean present) {
    if (!present) {
      return "absent";
    }
    if (v == null) {
      return "null";
    }
    if (v instanceof String) {
      return ((String) v).isEmpty() ? "empty-string" : "string";
    }
    if (v instanceof Number) {
      return "number";
    }
    if (v instanceof Boolean) {
      return "boolean";
    }
    return v.getClass().getSimpleName().toLowerCase(Locale.ROOT);
  }
}
