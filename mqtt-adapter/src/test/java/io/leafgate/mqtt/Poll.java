package io.leafgate.mqtt;

import java.time.Duration;
import java.util.function.Supplier;

/** Waits for a condition with a deadline: the supplier returns why it does not hold yet, or null. */
public final class Poll {
  private Poll() {}

  public static void until(Duration timeout, Supplier<String> problemOrNull) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      String p = problemOrNull.get();
      if (p == null) {
        return;
      }
      if (System.nanoTime() - deadline >= 0) {
        throw new AssertionError("not true after " + timeout.toMillis() + " ms: " + p);
      }
      try {
        Thread.sleep(10);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
    }
  }
}
