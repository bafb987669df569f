package io.leafgate.leaf.route;

import java.util.ArrayList;

/**
 * The subscribers touched while a producer processes one read batch; each is flushed once at the
 * end (nats-server's per-client "pcd" set). Owned by one thread.
 */
public final class FlushBatch {
  /** Something with buffered output that must be flushed at the end of a batch. */
  public interface Flushable {
    /** Called on the producer's thread at the end of its batch. */
    void flushBatched();
  }

  private final ArrayList<Flushable> touched = new ArrayList<>();

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
}
