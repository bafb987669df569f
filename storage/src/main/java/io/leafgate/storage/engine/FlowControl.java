package io.leafgate.storage.engine;

import java.util.concurrent.ThreadLocalRandom;

/**
 * The byte window of a push consumer with {@code flow_control}, with nats-server's rule: delivered
 * bytes (deliver subject, ack reply, headers and payload of each message) are counted; once they
 * pass half the window a {@code 100 FlowControl Request} goes out with a unique reply subject, and
 * delivery stops while they are above the whole window. The client's answer on that reply releases
 * the bytes counted up to the request and doubles the window (a slow start), up to a limit.
 *
 * <p>nats-server starts at a sixteenth of 32 MiB and grows to 32 MiB, which its 64 MB
 * {@code max_pending} holds. Ours is 8 MiB by default, so the window stops growing at half the
 * connection's {@code max_pending} (where the connection asks its producers to pause), never below
 * the start. Engine-thread confined.
 */
final class FlowControl {
  /** nats-server's {@code JsFlowControlMaxPending}: its largest window. */
  static final long LIMIT = 32L * 1024 * 1024;
  /** The first window, as nats-server's. */
  static final long START = LIMIT / 16;
  /** The header of a request: a status message with no payload. */
  static final byte[] REQUEST = Headers.block("100 FlowControl Request");
  private static final char[] DIGITS =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".toCharArray();

  private final String replyPrefix;
  private final long limit;
  private long window = START;
  /** Bytes delivered and not yet released by an answer. */
  private long outstanding;
  /** What the pending request releases when answered. */
  private long covered;
  /** The pending request's reply subject, or null. */
  private String pendingReply;

  FlowControl(String stream, String consumer, long limit) {
    this.replyPrefix = "$JS.FC." + stream + "." + consumer + ".";
    this.limit = limit;
  }

  /** The largest window for connections with {@code maxPending} bytes of room. */
  static long limitFor(long maxPending) {
    return Math.max(START, Math.min(LIMIT, maxPending / 2));
  }

  /** Whether delivery must wait for an answer. */
  boolean stalled() {
    return outstanding > window;
  }

  /** Counts a delivered message; true when a request must go out after it. */
  boolean onDelivered(long size) {
    outstanding += size;
    if (pendingReply == null) {
      return outstanding > window / 2;
    }
    // Already asked, and even the answer would leave us past the window: let it release this too.
    if (outstanding - covered >= window) {
      covered += size;
    }
    return false;
  }

  /** Starts a request: returns its reply subject, which now is the one answer that counts. */
  String request() {
    char[] id = new char[4];
    ThreadLocalRandom r = ThreadLocalRandom.current();
    for (int i = 0; i < id.length; i++) {
      id[i] = DIGITS[r.nextInt(DIGITS.length)];
    }
    pendingReply = replyPrefix + new String(id);
    covered = outstanding;
    return pendingReply;
  }

  /**
   * A message arrived on {@code subject} under this consumer's {@code $JS.FC.} prefix. Only the
   * latest request's answer counts (an older one, answered late, is ignored as nats-server does);
   * returns whether it released bytes.
   */
  boolean onAnswer(String subject) {
    if (pendingReply == null || !pendingReply.equals(subject)) {
      return false;
    }
    window = Math.min(window * 2, limit);
    outstanding = Math.max(0, outstanding - covered);
    covered = 0;
    pendingReply = null;
    return true;
  }

  /** The reply subject of the unanswered request, or null: heartbeats name it so a lost one is answered. */
  String pendingReply() {
    return pendingReply;
  }

  long outstanding() {
    return outstanding;
  }

  long window() {
    return window;
  }
}
