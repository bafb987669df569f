package io.leafgate.it.harness;

import java.time.Duration;
import java.util.function.Supplier;

/**
 * Waits for a condition with a deadline instead of sleeping. The condition is a supplier that
 * returns why it is not yet true, or null once it is (nats-server's {@code checkFor} shape), so a
 * timeout reports the last reason rather than a bare "condition not met".
 */
public final class Await {
  private static final long POLL_MILLIS = 10;

  private Await() {}

  /**
   * Polls {@code problemOrNull} until it returns null; throws an {@link AssertionError} with the
   * last problem when {@code timeout} passes first. Exceptions thrown by the supplier count as a
   * problem and are retried until the deadline.
   */
  public static void until(Duration timeout, Supplier<String> problemOrNull) {
    long deadline = System.nanoTime() + timeout.toNanos();
    String problem;
    Throwable lastError = null;
    while (true) {
      try {
        problem = problemOrNull.get();
        lastError = null;
      } catch (RuntimeException e) {
        problem = e.toString();
        lastError = e;
      }
      if (problem == null) {
        return;
      }
      if (System.nanoTime() - deadline >= 0) {
        AssertionError e = new AssertionError("not true after " + timeout.toMillis() + " ms: " + problem);
        if (lastError != null) {
          e.initCause(lastError);
        }
        throw e;
      }
      try {
        Thread.sleep(POLL_MILLIS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted while waiting for: " + problem, e);
      }
    }
  }
}
