package io.leafgate.storage.sqlite;

import java.time.Duration;
import java.util.function.Supplier;

/** Waits for a condition with a deadline; the supplier returns why it is not yet true, or null. */
final class Await {
  private Await() {}

  static void until(Duration timeout, Supplier<String> problem) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    String why = problem.get();
    while (why != null) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("not true after " + timeout + ": " + why);
      }
      Thread.sleep(20);
      why = problem.get();
    }
  }
}
