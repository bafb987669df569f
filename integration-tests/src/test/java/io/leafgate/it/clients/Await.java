package io.leafgate.it.clients;

import java.time.Duration;
import java.util.function.Supplier;

/** Waits for a condition with a deadline, never for a fixed time. */
final class Await {
  private Await() {}

  /**
   * Polls {@code problem} until it returns null (the condition holds) and fails with its last
   * answer when {@code limit} passes. {@code problem} says why the condition does not hold yet.
   */
  static void until(Duration limit, Supplier<String> problem) throws InterruptedException {
    long end = System.nanoTime() + limit.toNanos();
    String why = problem.get();
    while (why != null) {
      if (System.nanoTime() - end > 0) {
        throw new AssertionError("still not true after " + limit.toMillis() + " ms: " + why);
      }
      Thread.sleep(5);
      why = problem.get();
    }
  }
}
