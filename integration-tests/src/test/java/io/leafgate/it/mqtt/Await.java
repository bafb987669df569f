package io.leafgate.it.mqtt;

import java.time.Duration;
import java.util.function.Supplier;

/**
 * Waits for a condition with a deadline instead of sleeping: the supplier returns why the
 * condition does not hold yet, or null once it does; a timeout reports the last reason.
 */
final class Await {
  private Await() {}

  static void until(Duration timeout, Supplier<String> problemOrNull) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      String problem;
      try {
        problem = problemOrNull.get();
      } catch (RuntimeException e) {
        problem = e.toString();
      }
      if (problem == null) {
        return;
      }
      if (System.nanoTime() - deadline >= 0) {
        throw new AssertionError("not true after " + timeout.toMillis() + " ms: " + problem);
      }
      try {
        Thread.sleep(10);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted while waiting for: " + problem, e);
      }
    }
  }
}
