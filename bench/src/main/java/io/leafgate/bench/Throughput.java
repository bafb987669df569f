package io.leafgate.bench;

import io.nats.client.Connection;
import io.nats.client.Dispatcher;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BooleanSupplier;

/**
 * The message-rate scenarios: one jnats publisher (jnats defaults) and 0, 1 or 4 subscribers, each
 * subscriber on its own connection counting with a {@link Dispatcher}.
 *
 * <p>A run publishes until {@code publishFor} has passed or {@code maxMessages} are sent (whichever
 * comes first, checked every {@value #BATCH} messages), flushes, and then waits until every
 * subscriber has received every message. The clock runs from the first publish to the flush's PONG
 * (publish-only) or to the moment the last expected message was counted. A run that loses messages
 * is a failure, never a figure.
 */
final class Throughput {
  private static final int BATCH = 1024;
  private static final Duration SETUP_TIMEOUT = Duration.ofSeconds(10);
  private static final AtomicLong RUN_IDS = new AtomicLong();

  private Throughput() {}

  /** The shape of a scenario: how many subscribers, and whether they form one queue group. */
  enum Shape {
    PUBLISH_ONLY(0, false),
    ONE_TO_ONE(1, false),
    FAN_OUT(4, false),
    QUEUE_GROUP(4, true);

    final int subscribers;
    final boolean queue;

    Shape(int subscribers, boolean queue) {
      this.subscribers = subscribers;
      this.queue = queue;
    }

    /** How many deliveries one published message makes. */
    int deliveriesPerMessage() {
      return queue ? 1 : subscribers;
    }
  }

  /**
   * How long a run lasts and how long to wait for the tail.
   *
   * @param publishFor how long to publish (the run's length, give or take the drain)
   * @param maxMessages an upper bound on the messages published
   * @param stallTimeout fail when no message arrives for this long while some are still missing
   */
  record Limits(Duration publishFor, long maxMessages, Duration stallTimeout) {}

  /** Runs one scenario against the server at {@code url} and returns the rate in messages per second. */
  static Measured run(String url, Shape shape, int size, Limits limits) throws Exception {
    String subject = "bench." + shape.name().toLowerCase() + "." + RUN_IDS.incrementAndGet();
    byte[] payload = new byte[size];
    LongAdder received = new LongAdder();
    try (Clients clients = new Clients(url)) {
      List<Dispatcher> dispatchers = new ArrayList<>();
      for (int i = 0; i < shape.subscribers; i++) {
        Connection sc = clients.connect("bench-sub-" + i);
        Dispatcher d = sc.createDispatcher(m -> received.increment());
        if (shape.queue) {
          d.subscribe(subject, "bench-q");
        } else {
          d.subscribe(subject);
        }
        sc.flush(SETUP_TIMEOUT);
        dispatchers.add(d);
      }
      Connection pub = clients.connect("bench-pub");

      long start = System.nanoTime();
      long stopAt = start + limits.publishFor().toNanos();
      long published = 0;
      while (published < limits.maxMessages()) {
        for (int i = 0; i < BATCH; i++) {
          publish(pub, subject, payload);
        }
        published += BATCH;
        if (System.nanoTime() >= stopAt) {
          break;
        }
      }
      pub.flush(Duration.ofSeconds(60));
      long end = System.nanoTime();

      long expected = published * shape.deliveriesPerMessage();
      if (expected > 0) {
        end = awaitCount(received, expected, limits.stallTimeout(), () -> clients.problem() != null);
        if (end < 0) {
          return Measured.failed("received " + received.sum() + " of " + expected + " messages"
              + problemSuffix(clients, dispatchers));
        }
      }
      String problem = clients.problem();
      if (problem != null) {
        return Measured.failed(problem);
      }
      long count = expected > 0 ? expected : published;
      return Measured.of(count / ((end - start) / 1e9));
    }
  }

  private static String problemSuffix(Clients clients, List<Dispatcher> dispatchers) {
    long dropped = dispatchers.stream().mapToLong(Dispatcher::getDroppedCount).sum();
    String p = clients.problem();
    return (dropped > 0 ? "; jnats dropped " + dropped : "") + (p != null ? "; " + p : "");
  }

  /**
   * Publishes one message; when jnats's outgoing queue is full (its default behaviour is to block a
   * while, then throw), tries again, so the publisher runs at the speed the server reads.
   */
  static void publish(Connection c, String subject, byte[] payload) throws InterruptedException {
    publish(c, subject, payload, 100);
  }

  /** As {@link #publish(Connection, String, byte[])}, waiting up to about {@code maxWaitMillis} for room. */
  static void publish(Connection c, String subject, byte[] payload, int maxWaitMillis) throws InterruptedException {
    for (int attempt = 0; ; attempt++) {
      try {
        c.publish(subject, payload);
        return;
      } catch (IllegalStateException e) {
        String m = String.valueOf(e.getMessage());
        if (!m.startsWith("Output queue is") || attempt >= maxWaitMillis) {
          throw e;
        }
        Thread.sleep(1);
      }
    }
  }

  /**
   * Waits until {@code counter} reaches {@code expected} and returns {@link System#nanoTime} at
   * that moment (to within the 1 ms poll), or -1 when it stalls for {@code stallTimeout} or
   * {@code broken} says a connection was lost (then the missing messages will never come).
   */
  static long awaitCount(LongAdder counter, long expected, Duration stallTimeout, BooleanSupplier broken)
      throws InterruptedException {
    long last = -1;
    long lastChange = System.nanoTime();
    while (true) {
      long now = System.nanoTime();
      long n = counter.sum();
      if (n >= expected) {
        return now;
      }
      if (broken.getAsBoolean()) {
        return -1;
      }
      if (n != last) {
        last = n;
        lastChange = now;
      } else if (now - lastChange > stallTimeout.toNanos()) {
        return -1;
      }
      Thread.sleep(1);
    }
  }
}
