package io.leafgate.leaf.route;

import java.util.ArrayList;

/**
 * The subscribers touched while a producer processes one read batch; each is flushed once at the
 * end (nats-server's per-client "pcd" set). Also carries a subscriber's request that the producer
 * pause while it catches up (nats-server's stall gate). Owned by one thread.
 */
public final class FlushBatch {
  /** Something with buffered output that must be flushed at the end of a batch. */
  public interface Flushable {
    /** Called on the producer's thread at the end of its batch. */
    void flushBatched();
  }

  /**
   * A subscriber whose unsent backlog has passed half its limit. A producer that can pause (a
   * client connection stops reading) waits until {@link #whenDrained} fires or
   * {@link #stallMillis} passes, whichever is first, so that a subscriber that is reading, only
   * slower than one burst, is not cut off as a slow consumer.
   */
  public interface Backlogged {
    /** Runs {@code resume} once, on any thread, when the backlog has drained (at once if it has). */
    void whenDrained(Runnable resume);

    /** How long a producer may wait for this subscriber: longer the fuller its backlog. */
    long stallMillis();
  }

  private final ArrayList<Flushable> touched = new ArrayList<>();
  /** Where deliveries assemble their protocol lines; the batch belongs to one thread. */
  private byte[] scratch = new byte[256];
  private Backlogged backlogged;

  /** A scratch array of at least {@code n} bytes, owned by this batch's thread. */
  public byte[] scratch(int n) {
    if (scratch.length < n) {
      scratch = new byte[Math.max(n, scratch.length * 2)];
    }
    return scratch;
  }

  /**
   * Registers {@code f}. A subscriber adds itself only when it goes from "nothing to flush" to
   * "something to flush", so the list has no duplicates.
   */
  public void add(Flushable f) {
    touched.add(f);
  }

  /** Flushes everything touched since the last call. */
  public void flushAll() {
    int n = touched.size();
    if (n == 0) {
      return;
    }
    for (int i = 0; i < n; i++) {
      touched.get(i).flushBatched();
    }
    touched.clear();
  }

  public boolean isEmpty() {
    return touched.isEmpty();
  }

  /** Records that {@code b} asks this batch's producer to pause; the first request is kept. */
  public void stall(Backlogged b) {
    if (backlogged == null) {
      backlogged = b;
    }
  }

  /** Whether a subscriber asked the producer to pause since the last {@link #takeStall()}. */
  public boolean stallRequested() {
    return backlogged != null;
  }

  /** Returns and clears the pending pause request, or null when there is none. */
  public Backlogged takeStall() {
    Backlogged b = backlogged;
    backlogged = null;
    return b;
  }
}
