package io.leafgate.bench;

import io.nats.client.Connection;
import io.nats.client.ConsumeOptions;
import io.nats.client.ConsumerContext;
import io.nats.client.JetStream;
import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamManagement;
import io.nats.client.MessageConsumer;
import io.nats.client.PublishOptions;
import io.nats.client.api.AckPolicy;
import io.nats.client.api.ConsumerConfiguration;
import io.nats.client.api.ConsumerInfo;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import io.nats.client.impl.NatsMessage;
import java.io.IOException;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;

/**
 * JetStream load with jnats: acknowledged asynchronous publishing into a file-backed stream, and
 * consumption of that stream by a durable pull consumer with explicit acks.
 *
 * <p>Publish: {@link JetStream#publishAsync} with at most {@value #WINDOW} publishes awaiting their
 * PubAck; the clock runs from the first publish to the last PubAck, and the figure is PubAcks per
 * second. Any publish that fails (a negative ack, a timeout) fails the run.
 *
 * <p>Consume: a durable pull consumer (explicit ack, max_ack_pending {@value #MAX_ACK_PENDING}) read
 * with {@link ConsumerContext#consume} in batches of {@value #PULL_BATCH}, each message acked with
 * {@code ack()}; the clock runs from the start of consumption until the consumer's info shows every
 * one of the first {@code count} messages acknowledged (its ack floor at stream sequence
 * {@code count}; the stream is fresh, so its sequences start at 1).
 */
final class JetStreamLoad {
  static final int WINDOW = 1000;
  static final int PULL_BATCH = 500;
  static final int MAX_ACK_PENDING = 1000;
  static final String DURABLE = "bench-pull";
  private static final Duration API_TIMEOUT = Duration.ofSeconds(10);

  private JetStreamLoad() {}

  /**
   * The scenario's lengths and bounds.
   *
   * @param publishFor how long one publish run publishes
   * @param maxMessages an upper bound on the messages of a publish run
   * @param warmUpFor the warm-up publish per server before the measured runs
   * @param consumeMax at most this many messages are consumed per run (the first ones of the stream)
   * @param stallTimeout fail when no ack (or no message) comes for this long
   * @param idleQuiet the disk figure is read once the server has written nothing for this long
   * @param idleMax ... or after this long at most
   */
  record Limits(Duration publishFor, long maxMessages, Duration warmUpFor, long consumeMax, Duration stallTimeout,
      Duration idleQuiet, Duration idleMax) {}

  /** Creates (or re-creates, empty) a file-backed stream {@code name} on {@code subjects}. */
  static void createStream(Connection c, String name, String subjects) throws IOException, JetStreamApiException {
    JetStreamManagement jsm = c.jetStreamManagement();
    try {
      jsm.deleteStream(name);
    } catch (JetStreamApiException notThere) {
      // a fresh stream
    }
    jsm.addStream(StreamConfiguration.builder().name(name).subjects(subjects).storageType(StorageType.File)
        .build());
  }

  /** The result of a publish run: the rate and how many messages the stream received. */
  record Published(Measured rate, long acked) {}

  /**
   * Publishes {@code size}-byte messages to {@code subject} (captured by a stream) with a window
   * of {@value #WINDOW} outstanding PubAcks, for {@code publishFor} or {@code maxMessages}.
   */
  static Published publish(Connection c, String subject, int size, Duration publishFor, long maxMessages,
      Duration stallTimeout) throws Exception {
    return publish(c, subject, size, publishFor, maxMessages, stallTimeout, null);
  }

  /**
   * {@link #publish(Connection, String, int, Duration, long, Duration)}, each message with a
   * {@code Nats-Msg-Id} header of {@code idPrefix} and its number (from 1) when {@code idPrefix} is
   * not null, so the stream checks each one for a duplicate, as it does for an exactly-once publisher.
   */
  static Published publish(Connection c, String subject, int size, Duration publishFor, long maxMessages,
      Duration stallTimeout, String idPrefix) throws Exception {
    JetStream js = c.jetStream();
    byte[] payload = new byte[size];
    Semaphore window = new Semaphore(WINDOW);
    LongAdder acked = new LongAdder();
    AtomicReference<String> error = new AtomicReference<>();
    long start = System.nanoTime();
    long stopAt = start + publishFor.toNanos();
    long published = 0;
    while (published < maxMessages && error.get() == null) {
      if (!window.tryAcquire(stallTimeout.toMillis(), TimeUnit.MILLISECONDS)) {
        error.compareAndSet(null, "no PubAck for " + stallTimeout.toSeconds() + " s with " + WINDOW + " outstanding");
        break;
      }
      java.util.concurrent.CompletableFuture<io.nats.client.api.PublishAck> sent = idPrefix == null
          ? js.publishAsync(subject, payload)
          : js.publishAsync(NatsMessage.builder().subject(subject).data(payload).build(),
              PublishOptions.builder().messageId(idPrefix + (published + 1)).build());
      sent.whenComplete((ack, ex) -> {
        if (ex != null) {
          error.compareAndSet(null, "publish failed: " + ex);
        } else if (ack.hasError()) {
          error.compareAndSet(null, "negative PubAck: " + ack.getError());
        } else {
          acked.increment();
        }
        window.release();
      });
      published++;
      if ((published & 63) == 0 && System.nanoTime() >= stopAt) {
        break;
      }
    }
    if (error.get() == null && !window.tryAcquire(WINDOW, stallTimeout.toMillis(), TimeUnit.MILLISECONDS)) {
      error.compareAndSet(null, "only " + acked.sum() + " of " + published + " PubAcks within "
          + stallTimeout.toSeconds() + " s of the last publish");
    }
    long end = System.nanoTime();
    if (error.get() != null) {
      return new Published(Measured.failed(error.get()), acked.sum());
    }
    return new Published(Measured.of(acked.sum() / ((end - start) / 1e9)), acked.sum());
  }

  /**
   * Creates a durable pull consumer on {@code stream} and consumes its first {@code count}
   * messages, acking each; returns messages per second.
   */
  static Measured consume(Connection c, String stream, long count, Duration stallTimeout) throws Exception {
    JetStreamManagement jsm = c.jetStreamManagement();
    jsm.addOrUpdateConsumer(stream, ConsumerConfiguration.builder().durable(DURABLE).ackPolicy(AckPolicy.Explicit)
        .maxAckPending(MAX_ACK_PENDING).build());
    ConsumerContext cc = c.getStreamContext(stream).getConsumerContext(DURABLE);
    LongAdder received = new LongAdder();
    AtomicReference<String> error = new AtomicReference<>();
    long start = System.nanoTime();
    try (MessageConsumer mc = cc.consume(ConsumeOptions.builder().batchSize(PULL_BATCH).build(), m -> {
      received.increment();
      m.ack();
    })) {
      long last = -1;
      long lastChange = System.nanoTime();
      while (received.sum() < count) {
        long n = received.sum();
        if (n != last) {
          last = n;
          lastChange = System.nanoTime();
        } else if (System.nanoTime() - lastChange > stallTimeout.toNanos()) {
          return Measured.failed(String.format(Locale.ROOT, "received %,d of %,d messages, then nothing for %d s",
              n, count, stallTimeout.toSeconds()));
        }
        Thread.sleep(1);
      }
      mc.stop();
      c.flush(API_TIMEOUT);
      // Wait for the server to have processed every ack.
      long deadline = System.nanoTime() + stallTimeout.toNanos();
      while (true) {
        ConsumerInfo ci = jsm.getConsumerInfo(stream, DURABLE);
        if (ci.getAckFloor().getStreamSequence() >= count) {
          break;
        }
        if (System.nanoTime() > deadline) {
          error.set(String.format(Locale.ROOT, "acks not processed within %d s: ack floor %,d of %,d",
              stallTimeout.toSeconds(), ci.getAckFloor().getStreamSequence(), count));
          break;
        }
        Thread.sleep(2);
      }
    }
    long end = System.nanoTime();
    if (error.get() != null) {
      return Measured.failed(error.get());
    }
    return Measured.of(count / ((end - start) / 1e9));
  }
}
