package io.leafgate.leaf.route;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One interest in a subject filter, owned by a {@link Subscriber}. Immutable but for the delivery
 * counter and the auto-unsubscribe limit, which any thread may read.
 */
public final class Subscription {
  public final Subscriber subscriber;
  /** The filter, possibly with wildcards. */
  public final String subject;
  /** The queue group, or null for a plain subscription. */
  public final String queue;
  /** The subscriber's own id for it (a NATS sid). */
  public final String sid;
  /** {@link #sid} as wire bytes, computed once. */
  public final byte[] sidBytes;

  private final AtomicLong delivered = new AtomicLong();
  /** Deliveries after which the subscription ends; 0 means no limit. */
  private volatile long max;

  public Subscription(Subscriber subscriber, String subject, String queue, String sid) {
    this.subscriber = subscriber;
    this.subject = subject;
    this.queue = queue;
    this.sid = sid;
    this.sidBytes = sid.getBytes(StandardCharsets.ISO_8859_1);
  }

  /** Sets the auto-unsubscribe limit; returns whether it is already reached. */
  public boolean setMax(long max) {
    this.max = max;
    return max > 0 && delivered.get() >= max;
  }

  public long max() {
    return max;
  }

  public long delivered() {
    return delivered.get();
  }

  /**
   * Claims one delivery. Returns {@link Claim#DELIVER}, {@link Claim#LAST} when this delivery
   * reaches the limit (the caller then removes the subscription), or {@link Claim#EXPIRED} when the
   * limit had already been reached.
   */
  public Claim claim() {
    long m = max;
    if (m <= 0) {
      delivered.incrementAndGet();
      return Claim.DELIVER;
    }
    long n = delivered.incrementAndGet();
    if (n < m) {
      return Claim.DELIVER;
    }
    return n == m ? Claim.LAST : Claim.EXPIRED;
  }

  /** The outcome of {@link #claim()}. */
  public enum Claim {
    DELIVER,
    LAST,
    EXPIRED
  }

  @Override
  public String toString() {
    return queue == null ? subject + " sid=" + sid : subject + " queue=" + queue + " sid=" + sid;
  }
}
