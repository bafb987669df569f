package io.leafgate.bench;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;

/**
 * MQTT 3.1.1 message rate with raw-socket clients ({@link MqttWire}): one publisher and one
 * subscriber, each on its own TCP connection with its own reader thread.
 *
 * <p>QoS 0: the publisher writes pre-encoded PUBLISH frames in batches for {@code publishFor},
 * then a PINGREQ; its PINGRESP says the broker has read everything. QoS 1: the same, but at most
 * {@code window} PUBLISHes may be unacknowledged (PUBACK) at a time; the subscriber answers each
 * PUBLISH with a PUBACK, all the PUBACKs of one read in one write. The figure is the messages
 * received by the subscriber per second, from the first publish to the last message received.
 *
 * <p>At QoS 1 every message must arrive, or the run fails. At QoS 0 a broker may drop messages
 * (both may, by design, when a subscriber falls behind); the rate counts what arrived and a loss
 * is reported as a warning.
 */
final class MqttLoad {
  private static final Duration IO_TIMEOUT = Duration.ofSeconds(10);
  private static final int BATCH = 256;
  private static final AtomicLong RUN_IDS = new AtomicLong();

  private MqttLoad() {}

  /**
   * One run's settings.
   *
   * @param qos 0 or 1, for the PUBLISHes and the subscription
   * @param size payload bytes
   * @param window QoS 1: PUBLISHes the publisher may have unacknowledged
   * @param publishFor how long to publish
   * @param maxMessages an upper bound on the messages published
   * @param stallTimeout give up when nothing arrives for this long while messages are missing
   */
  record Settings(int qos, int size, int window, Duration publishFor, long maxMessages, Duration stallTimeout) {}

  /** Runs one publisher and one subscriber against the broker at {@code address}. */
  static Measured run(InetSocketAddress address, Settings s) throws Exception {
    long id = RUN_IDS.incrementAndGet();
    String topic = "bench/mqtt/q" + s.qos() + "/" + id;
    Subscriber sub = new Subscriber(MqttWire.open(address, "bench-sub-" + id + "-" + System.nanoTime(), IO_TIMEOUT));
    try (Socket pubSocket = MqttWire.open(address, "bench-pub-" + id + "-" + System.nanoTime(), IO_TIMEOUT)) {
      MqttWire.subscribeAndWait(sub.socket, topic, s.qos());
      sub.start();
      Publisher pub = new Publisher(pubSocket, topic, s);
      pub.start();

      long t0 = System.nanoTime();
      long published = pub.publish(t0 + s.publishFor().toNanos());
      if (pub.failure != null) {
        return Measured.failed("publisher: " + pub.failure);
      }
      // Every message is with the broker; now wait for the subscriber.
      long last = -1;
      long lastChange = System.nanoTime();
      while (sub.received.get() < published) {
        if (sub.failure != null) {
          return Measured.failed("subscriber: " + sub.failure + " after " + sub.received.get() + " of " + published);
        }
        long n = sub.received.get();
        if (n != last) {
          last = n;
          lastChange = System.nanoTime();
        } else if (System.nanoTime() - lastChange > s.stallTimeout().toNanos()) {
          break;
        }
        Thread.sleep(1);
      }
      long received = sub.received.get();
      if (received == 0) {
        return Measured.failed("no message received of " + published);
      }
      double rate = received / ((sub.lastReceived - t0) / 1e9);
      if (received < published) {
        String lost = String.format(Locale.ROOT, "received %,d of %,d messages (%,.0f msgs/s while they came; the "
            + "broker %s at %,.0f msgs/s)", received, published, rate,
            s.qos() > 0 ? "acknowledged the publisher's" : "had read the publisher's",
            published / ((pub.lastAck - t0) / 1e9));
        return s.qos() == 0 ? new Measured(rate, lost + " (QoS 0: the broker dropped the rest)")
            : Measured.failed(lost);
      }
      return Measured.of(rate);
    } finally {
      sub.close();
    }
  }

  /** The publisher: writes batches of pre-encoded frames; a reader thread counts PUBACKs and the PINGRESP. */
  private static final class Publisher {
    private final Socket socket;
    private final Settings s;
    private final byte[] template;
    private final int idOffset;
    private final Object lock = new Object();
    private long acked;
    private boolean pong;
    private volatile String failure;
    /** When the last PUBACK (QoS 1) or the PINGRESP (QoS 0) arrived. */
    volatile long lastAck;
    private final Thread reader;

    Publisher(Socket socket, String topic, Settings s) {
      this.socket = socket;
      this.s = s;
      this.template = MqttWire.publish(topic, new byte[s.size()], s.qos());
      this.idOffset = s.qos() > 0 ? MqttWire.packetIdOffset(template, topic) : -1;
      this.reader = new Thread(this::read, "bench-mqtt-pub-reader");
      this.reader.setDaemon(true);
    }

    void start() {
      reader.start();
    }

    /** Publishes until {@code stopAt} (or the message cap), then waits for the broker to have it all. */
    long publish(long stopAt) throws IOException, InterruptedException {
      OutputStream out = socket.getOutputStream();
      int frame = template.length;
      byte[] batch = new byte[frame * BATCH];
      for (int i = 0; i < BATCH; i++) {
        System.arraycopy(template, 0, batch, i * frame, frame);
      }
      long sent = 0;
      long deadlineNanos = s.stallTimeout().toNanos();
      while (sent < s.maxMessages() && System.nanoTime() < stopAt && failure == null) {
        int n = BATCH;
        if (s.qos() > 0) {
          synchronized (lock) {
            long waitStart = System.nanoTime();
            while (sent - acked >= s.window() && failure == null) {
              lock.wait(100);
              if (System.nanoTime() - waitStart > deadlineNanos) {
                failure = "no PUBACK for " + s.stallTimeout().toSeconds() + " s";
              }
            }
            n = (int) Math.min(BATCH, s.window() - (sent - acked));
          }
          for (int i = 0; i < n; i++) {
            MqttWire.setPacketId(batch, i * frame + idOffset, (int) ((sent + i) % 65535) + 1);
          }
        }
        out.write(batch, 0, n * frame);
        sent += n;
      }
      out.write(MqttWire.PINGREQ);
      out.flush();
      synchronized (lock) {
        long waitStart = System.nanoTime();
        while ((!pong || (s.qos() > 0 && acked < sent)) && failure == null) {
          lock.wait(100);
          if (System.nanoTime() - waitStart > deadlineNanos) {
            failure = String.format(Locale.ROOT, "%s within %d s of the last publish", !pong ? "no PINGRESP"
                : "only " + acked + " of " + sent + " PUBACKs", s.stallTimeout().toSeconds());
          }
        }
      }
      return sent;
    }

    private void read() {
      MqttWire.Scanner scanner = new MqttWire.Scanner();
      try {
        socket.setSoTimeout(0);
        InputStream in = socket.getInputStream();
        while (true) {
          byte[] buf = scanner.buffer();
          int n = in.read(buf, scanner.writeOffset(), buf.length - scanner.writeOffset());
          if (n < 0) {
            throw new IOException("the broker closed the publisher's connection");
          }
          int[] acks = {0};
          boolean[] gotPong = {false};
          scanner.added(n, (first, b, from, len) -> {
            switch (first >> 4) {
              case MqttWire.PUBACK -> acks[0]++;
              case MqttWire.PINGRESP -> gotPong[0] = true;
              default -> { }
            }
          });
          if (acks[0] > 0 || gotPong[0]) {
            lastAck = System.nanoTime();
            synchronized (lock) {
              acked += acks[0];
              pong |= gotPong[0];
              lock.notifyAll();
            }
          }
        }
      } catch (IOException e) {
        if (!socket.isClosed()) {
          failure = e.getMessage();
          synchronized (lock) {
            lock.notifyAll();
          }
        }
      }
    }
  }

  /** The subscriber: counts PUBLISHes and, at QoS 1, answers each with a PUBACK. */
  private static final class Subscriber implements AutoCloseable {
    final Socket socket;
    final AtomicLong received = new AtomicLong();
    volatile long lastReceived;
    volatile String failure;
    private final Thread thread;

    Subscriber(Socket socket) {
      this.socket = socket;
      this.thread = new Thread(this::read, "bench-mqtt-sub");
      this.thread.setDaemon(true);
    }

    void start() {
      thread.start();
    }

    private void read() {
      MqttWire.Scanner scanner = new MqttWire.Scanner();
      byte[][] acks = {new byte[64 * 1024]};
      int[] ackLen = {0};
      try {
        socket.setSoTimeout(0);
        InputStream in = socket.getInputStream();
        OutputStream out = socket.getOutputStream();
        while (true) {
          byte[] buf = scanner.buffer();
          int n = in.read(buf, scanner.writeOffset(), buf.length - scanner.writeOffset());
          if (n < 0) {
            throw new IOException("the broker closed the subscriber's connection");
          }
          long[] count = {0};
          scanner.added(n, (first, b, from, len) -> {
            if (first >> 4 != MqttWire.PUBLISH) {
              return;
            }
            count[0]++;
            if (((first >> 1) & 3) > 0) {
              int topicLen = ((b[from] & 0xFF) << 8) | (b[from + 1] & 0xFF);
              int at = from + 2 + topicLen;
              int packetId = ((b[at] & 0xFF) << 8) | (b[at + 1] & 0xFF);
              if (ackLen[0] + 4 > acks[0].length) {
                acks[0] = java.util.Arrays.copyOf(acks[0], acks[0].length * 2);
              }
              ackLen[0] = MqttWire.puback(acks[0], ackLen[0], packetId);
            }
          });
          if (ackLen[0] > 0) {
            out.write(acks[0], 0, ackLen[0]);
            ackLen[0] = 0;
          }
          if (count[0] > 0) {
            lastReceived = System.nanoTime();
            received.addAndGet(count[0]);
          }
        }
      } catch (SocketException e) {
        if (!socket.isClosed()) {
          failure = e.getMessage();
        }
      } catch (IOException e) {
        failure = e.getMessage();
      }
    }

    @Override
    public void close() throws IOException {
      try {
        socket.getOutputStream().write(MqttWire.DISCONNECT);
      } catch (IOException ignored) {
        // closing anyway
      }
      socket.close();
    }
  }
}
