package io.leafgate.it.jetstream;

import static org.junit.jupiter.api.Assertions.fail;

import java.time.Duration;
import java.util.function.Supplier;

/** Waits for a condition with a deadline; the condition says why it is not yet true (null = true). */
final class Await {
  private Await() {}

  /** Polls {@code problem} every 20 ms until it returns null; fails with its last answer past {@code limit}. */
  static void until(Duration limit, Supplier<String> problem) throws InterruptedException {
    long deadline = System.nanoTime() + limit.toNanos();
    String why;
    while ((why = problem.get()) != null) {
      if (System.nanoTime() - deadline > 0) {
        fail("not true within " + limit.toMillis() + " ms: " + why);
      }
      Thread.sleep(20);
    }
  }
}
