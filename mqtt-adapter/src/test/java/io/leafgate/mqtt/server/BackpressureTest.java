package io.leafgate.mqtt.server;

import static io.leafgate.mqtt.server.RawMqttClient.connect;
import static io.leafgate.mqtt.server.RawMqttClient.subscribe;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leafgate.mqtt.Poll;
import io.leafgate.mqtt.session.Stats;
import io.netty.handler.codec.mqtt.MqttConnAckMessage;
import io.netty.handler.codec.mqtt.MqttConnectReturnCode;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttProperties;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.handler.codec.mqtt.MqttVersion;
import io.netty.util.ReferenceCountUtil;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The limits of backpressure from a slow subscriber's in-memory queue to its publishers: a
 * subscriber that takes nothing holds publishers back only for the stall bound, one that goes away
 * releases them at once, and a client never waits on its own queue. The queue's byte bound
 * ({@code max_pending}) is made small so that a few thousand messages fill it.
 */
class BackpressureTest {
  private static final Duration T = Duration.ofSeconds(10);
  private static final int N = 10_000;
  private TestBroker broker;
  private Stats stats;

  @BeforeEach
  void start() throws Exception {
    broker = TestBroker.start(o -> o.maxPending = 256 * 1024);
    stats = broker.mqtt.stats();
  }

  @AfterEach
  void stop() {
    broker.close();
  }

  private RawMqttClient client(String id) throws Exception {
    RawMqttClient c = new RawMqttClient(broker.port(), MqttVersion.MQTT_3_1_1);
    c.send(connect(MqttVersion.MQTT_3_1_1, id, true, 0, null));
    MqttConnAckMessage ack = (MqttConnAckMessage) c.receive(MqttMessageType.CONNACK, T);
    assertNotNull(ack, "no CONNACK");
    assertEquals(MqttConnectReturnCode.CONNECTION_ACCEPTED, ack.variableHeader().connectReturnCode());
    return c;
  }

  private static void subscribeQos1(RawMqttClient c, String filter) throws Exception {
    c.send(subscribe(1, filter, 1));
    assertNotNull(c.receive(MqttMessageType.SUBACK, T), "no SUBACK");
  }

  /**
   * Publishes {@code n} QoS 1 messages with at most 100 without their PUBACK, ignoring PUBLISHes
   * sent to it (never acknowledged); {@code acked} counts the PUBACKs. Returns null or the problem.
   */
  private static String publishQos1(RawMqttClient pub, String topic, int n, AtomicLong acked) {
    byte[] t = topic.getBytes(StandardCharsets.UTF_8);
    int sent = 0;
    try {
      while (acked.get() < n) {
        int room = (int) Math.min(100 - (sent - acked.get()), n - sent);
        if (room > 0) {
          ByteArrayOutputStream out = new ByteArrayOutputStream();
          for (int i = 0; i < room; i++, sent++) {
            byte[] p = ("m-" + sent).getBytes(StandardCharsets.US_ASCII);
            int pid = sent % 65535 + 1;
            out.write(0x32);
            out.write(2 + t.length + 2 + p.length);
            out.write(0);
            out.write(t.length);
            out.writeBytes(t);
            out.write(pid >> 8);
            out.write(pid & 0xff);
            out.writeBytes(p);
          }
          pub.sendRaw(out.toByteArray());
        }
        MqttMessage m = pub.receive(T);
        if (m == null || m == RawMqttClient.CLOSED) {
          return (m == null ? "no PUBACK within " + T : "closed") + " after " + acked.get() + " of " + n;
        }
        if (m.fixedHeader().messageType() == MqttMessageType.PUBACK) {
          acked.incrementAndGet();
        }
        ReferenceCountUtil.release(m);
      }
      return null;
    } catch (Exception e) {
      return e.toString();
    }
  }

  /**
   * Publishes {@code n} QoS 2 messages as a v5 client, at most 100 unfinished, answering each PUBREC
   * with a PUBREL; {@code done} counts the PUBCOMPs. Returns null or the problem.
   */
  private static String publishQos2(RawMqttClient pub, String topic, int n, AtomicLong done) {
    byte[] t = topic.getBytes(StandardCharsets.UTF_8);
    int sent = 0;
    try {
      while (done.get() < n) {
        int room = (int) Math.min(100 - (sent - done.get()), n - sent);
        if (room > 0) {
          ByteArrayOutputStream out = new ByteArrayOutputStream();
          for (int i = 0; i < room; i++, sent++) {
            byte[] p = ("m-" + sent).getBytes(StandardCharsets.US_ASCII);
            int pid = sent % 65535 + 1;
            out.write(0x34);
            out.write(2 + t.length + 2 + 1 + p.length);
            out.write(0);
            out.write(t.length);
            out.writeBytes(t);
            out.write(pid >> 8);
            out.write(pid & 0xff);
            out.write(0); // no properties
            out.writeBytes(p);
          }
          pub.sendRaw(out.toByteArray());
        }
        MqttMessage m = pub.receive(T);
        if (m == null || m == RawMqttClient.CLOSED) {
          return (m == null ? "nothing within " + T : "closed") + " after " + done.get() + " of " + n;
        }
        MqttMessageType type = m.fixedHeader().messageType();
        if (type == MqttMessageType.PUBREC) {
          int pid = ((io.netty.handler.codec.mqtt.MqttMessageIdVariableHeader) m.variableHeader()).messageId();
          pub.sendRaw(new byte[] {0x62, 0x02, (byte) (pid >> 8), (byte) pid});
        } else if (type == MqttMessageType.PUBCOMP) {
          done.incrementAndGet();
        }
        ReferenceCountUtil.release(m);
      }
      return null;
    } catch (Exception e) {
      return e.toString();
    }
  }

  private static Thread background(String name, Runnable r) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    t.start();
    return t;
  }

  @Test
  void aSubscriberThatTakesNothingHoldsItsPublisherOnlyForTheStallBound() throws Exception {
    broker.mqtt.sessions().setStallMillis(300);
    try (RawMqttClient sub = client("stuck-sub"); RawMqttClient pub = client("pub")) {
      subscribeQos1(sub, "bp/stuck");
      AtomicLong acked = new AtomicLong();
      // The subscriber never acknowledges: after the stall bound its publisher goes on, and what
      // does not fit the subscriber's queue is dropped and counted, as before backpressure.
      String problem = publishQos1(pub, "bp/stuck", N, acked);
      assertEquals(null, problem);
      assertTrue(stats.publisherPauses.sum() >= 1, "the publisher was never paused");
      assertTrue(stats.stallTimeouts.sum() >= 1, "the stall bound was not reported");
      assertTrue(stats.dropped.sum() > 0, "nothing was dropped");
      assertTrue(stats.queuedPeak.get() < 4_000, "queue peak " + stats.queuedPeak.get());
    }
  }

  @Test
  void aPausedPublisherResumesAtOnceWhenTheSubscriberGoesAway() throws Exception {
    RawMqttClient sub = client("leaving-sub");
    try (RawMqttClient pub = client("pub")) {
      subscribeQos1(sub, "bp/leave");
      AtomicLong acked = new AtomicLong();
      AtomicReference<String> outcome = new AtomicReference<>();
      background("bp-publisher", () -> outcome.set(String.valueOf(publishQos1(pub, "bp/leave", N, acked))));
      Poll.until(T, () -> stats.publisherPauses.sum() > 0 ? null : "not paused after " + acked.get());
      long before = acked.get();
      sub.close();
      // Far less than the 30 s stall bound.
      Poll.until(T, () -> outcome.get() != null ? null : "the publisher has " + acked.get() + " of " + N);
      assertEquals("null", outcome.get());
      assertTrue(before < N);
      assertEquals(0, stats.stallTimeouts.sum());
    } finally {
      sub.close();
    }
  }

  @Test
  void aPersistentV5Qos2PublisherIsPausedNotDropped() throws Exception {
    MqttProperties persistent = new MqttProperties();
    persistent.add(new MqttProperties.IntegerProperty(MqttProperties.SESSION_EXPIRY_INTERVAL, 600));
    try (RawMqttClient sub = client("q2-sub"); RawMqttClient pub = new RawMqttClient(broker.port(), MqttVersion.MQTT_5)) {
      subscribeQos1(sub, "bp/q2");
      pub.send(connect(MqttVersion.MQTT_5, "q2-pub", false, 0, persistent));
      assertNotNull(pub.receive(MqttMessageType.CONNACK, T), "no CONNACK");
      int n = 6_000; // more than the inflight window and the whole queue (each is a stored hold and release)
      AtomicLong done = new AtomicLong();
      AtomicReference<String> outcome = new AtomicReference<>();
      background("bp-q2-publisher", () -> outcome.set(String.valueOf(publishQos2(pub, "bp/q2", n, done))));
      // QoS 2 from a persistent session is routed after its packet id is stored, outside the read
      // batch: the pause is taken at the end of the next one, and the connection stops being read.
      Poll.until(T, () -> stats.pausedPublishers.get() > 0 ? null : "not paused after " + done.get());
      int next = 0;
      while (next < n) {
        MqttMessage m = sub.receive(T);
        assertNotNull(m, "only " + next + " of " + n + " arrived");
        if (m instanceof MqttPublishMessage p) {
          assertEquals("m-" + next, p.payload().toString(StandardCharsets.US_ASCII));
          int pid = p.variableHeader().packetId();
          sub.sendRaw(new byte[] {0x40, 0x02, (byte) (pid >> 8), (byte) pid});
          next++;
        }
        ReferenceCountUtil.release(m);
      }
      Poll.until(T, () -> outcome.get() != null ? null : "the publisher has " + done.get() + " of " + n);
      assertEquals("null", outcome.get());
      assertEquals(0, stats.dropped.sum());
      Poll.until(T, () -> stats.pausedPublishers.get() == 0 ? null : stats.pausedPublishers.get() + " still paused");
    }
  }

  @Test
  void aClientIsNeverPausedByItsOwnQueue() throws Exception {
    try (RawMqttClient c = client("self")) {
      subscribeQos1(c, "bp/self");
      AtomicLong acked = new AtomicLong();
      // It does not acknowledge what it gets: its own queue fills, and pausing it would stop the
      // PUBACKs that drain that queue from being read. It goes on (and its overflow is dropped).
      assertEquals(null, publishQos1(c, "bp/self", N, acked));
      assertEquals(0, stats.publisherPauses.sum());
      assertTrue(stats.dropped.sum() > 0);
    }
  }
}
