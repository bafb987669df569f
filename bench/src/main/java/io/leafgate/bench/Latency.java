package io.leafgate.bench;

import io.nats.client.Connection;
import io.nats.client.Dispatcher;
import io.nats.client.Message;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Request/reply latency: one requester sends sequential requests ({@link Connection#request(String,
 * byte[], Duration)}, jnats defaults), one responder on another connection answers each with a
 * payload of the same size. The figures are the p50 and p99 of the round trips, in microseconds,
 * after a warm-up.
 */
final class Latency {
  private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(5);
  private static final AtomicLong RUN_IDS = new AtomicLong();

  private Latency() {}

  /**
   * How long a run lasts.
   *
   * @param warmFor requests sent and discarded first (JIT of both ends, the reply inbox)
   * @param measureFor how long to measure
   * @param maxRequests an upper bound on measured requests
   */
  record Limits(Duration warmFor, Duration measureFor, int maxRequests) {}

  /** The two percentiles of one run. */
  record Result(Measured p50, Measured p99) {
    static Result failed(String why) {
      return new Result(Measured.failed(why), Measured.failed(why));
    }
  }

  /** Runs request/reply against the server at {@code url}. */
  static Result run(String url, int size, Limits limits) throws Exception {
    String subject = "bench.rr." + RUN_IDS.incrementAndGet();
    byte[] payload = new byte[size];
    try (Clients clients = new Clients(url)) {
      Connection responder = clients.connect("bench-responder");
      Dispatcher d = responder.createDispatcher(m -> responder.publish(m.getReplyTo(), payload));
      d.subscribe(subject);
      responder.flush(Duration.ofSeconds(10));
      Connection requester = clients.connect("bench-requester");

      long warmUntil = System.nanoTime() + limits.warmFor().toNanos();
      while (System.nanoTime() < warmUntil) {
        if (requester.request(subject, payload, REQUEST_TIMEOUT) == null) {
          return Result.failed("no reply within " + REQUEST_TIMEOUT.toSeconds() + " s (warm-up)");
        }
      }
      long[] samples = new long[limits.maxRequests()];
      int n = 0;
      long stopAt = System.nanoTime() + limits.measureFor().toNanos();
      while (n < samples.length) {
        long t0 = System.nanoTime();
        Message reply = requester.request(subject, payload, REQUEST_TIMEOUT);
        long t1 = System.nanoTime();
        if (reply == null) {
          return Result.failed("no reply within " + REQUEST_TIMEOUT.toSeconds() + " s after " + n + " requests");
        }
        samples[n++] = t1 - t0;
        if (t1 >= stopAt) {
          break;
        }
      }
      String problem = clients.problem();
      if (problem != null) {
        return Result.failed(problem);
      }
      double p50 = Stats.percentile(samples, n, 50) / 1e3;
      double p99 = Stats.percentile(samples, n, 99) / 1e3;
      return new Result(Measured.of(p50), Measured.of(p99));
    }
  }
}
