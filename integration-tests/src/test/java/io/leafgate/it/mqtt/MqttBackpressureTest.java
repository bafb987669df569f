package io.leafgate.it.mqtt;

import io.leafgate.it.harness.Await;
import static io.leafgate.mqtt.server.RawMqttClient.connect;
import static io.leafgate.mqtt.server.RawMqttClient.subscribe;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leafgate.it.harness.Http;
import io.leafgate.mqtt.Defaults;
import io.leafgate.mqtt.server.RawMqttClient;
import io.nats.client.Connection;
import io.nats.client.Nats;
import io.nats.client.Options;
import io.netty.handler.codec.mqtt.MqttConnAckMessage;
import io.netty.handler.codec.mqtt.MqttConnectReturnCode;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.handler.codec.mqtt.MqttVersion;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Backpressure from a slow MQTT subscriber to its publishers: a publisher that outruns a QoS 1
 * subscriber is paused (it stops being read) instead of having its messages dropped from the
 * subscriber's in-memory queue. Every message arrives once, in order; the drop counter stays 0; the
 * pause counter moves; the queue never passes its bound.
 */
class MqttBackpressureTest {
  private static final Duration T = Duration.ofSeconds(10);
  private static final Duration LONG = Duration.ofSeconds(90);
  @TempDir
  static Path tmp;
  static MqttRig rig;

  @BeforeAll
  static void start() throws Exception {
    rig = MqttRig.start(tmp);
  }

  @AfterAll
  static void stop() {
    rig.close();
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> varzMqtt() {
    try {
      return (Map<String, Object>) Http.getJson(rig.gateway().httpPort(), "/varz").get("mqtt");
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private static long number(Map<String, Object> m, String key) {
    return ((Number) m.get(key)).longValue();
  }

  @SuppressWarnings("unchecked")
  private static long droppedQueueFull() {
    return number((Map<String, Object>) varzMqtt().get("dropped"), "queue_full");
  }

  private static long pauses() {
    return number(varzMqtt(), "publisher_pauses");
  }

  /** A v3.1.1 clean session without keep alive (the test clients may be silent for a while). */
  private static RawMqttClient client(String id) throws Exception {
    RawMqttClient c = new RawMqttClient(rig.mqttPort(), MqttVersion.MQTT_3_1_1);
    c.send(connect(MqttVersion.MQTT_3_1_1, id, true, 0, null));
    MqttConnAckMessage ack = (MqttConnAckMessage) c.receive(MqttMessageType.CONNACK, T);
    assertNotNull(ack, "no CONNACK for " + id);
    assertEquals(MqttConnectReturnCode.CONNECTION_ACCEPTED, ack.variableHeader().connectReturnCode());
    return c;
  }

  private static void subscribeQos1(RawMqttClient c, String filter) throws Exception {
    c.send(subscribe(1, filter, 1));
    assertNotNull(c.receive(MqttMessageType.SUBACK, T), "no SUBACK");
  }

  /** A QoS 1 PUBLISH of v3.1.1 as bytes (short topic and payload: one length byte). */
  private static void writeQos1(ByteArrayOutputStream out, byte[] topic, int pid, byte[] payload) {
    int len = 2 + topic.length + 2 + payload.length;
    out.write(0x32);
    out.write(len);
    out.write(topic.length >> 8);
    out.write(topic.length & 0xff);
    out.writeBytes(topic);
    out.write(pid >> 8);
    out.write(pid & 0xff);
    out.writeBytes(payload);
  }

  /**
   * Publishes {@code n} QoS 1 messages {@code prefix + i} with at most {@code window} without their
   * PUBACK; {@code acked} counts the PUBACKs. Returns null, or what went wrong.
   */
  private static String publishQos1(RawMqttClient pub, String topic, String prefix, int n, int window,
      AtomicLong acked) {
    byte[] t = topic.getBytes(StandardCharsets.UTF_8);
    int sent = 0;
    try {
      while (acked.get() < n) {
        int room = (int) Math.min(window - (sent - acked.get()), n - sent);
        if (room > 0) {
          ByteArrayOutputStream frames = new ByteArrayOutputStream(room * 32);
          for (int i = 0; i < room; i++, sent++) {
            writeQos1(frames, t, sent % 65535 + 1, (prefix + sent).getBytes(StandardCharsets.US_ASCII));
          }
          pub.sendRaw(frames.toByteArray());
        }
        MqttMessage m = pub.receive(LONG);
        if (m == null) {
          return "no PUBACK within " + LONG + " after " + acked.get() + " of " + n;
        }
        if (m.fixedHeader().messageType() != MqttMessageType.PUBACK) {
          return "expected a PUBACK, got " + m.fixedHeader().messageType();
        }
        acked.incrementAndGet();
      }
      return null;
    } catch (Exception e) {
      return e.toString();
    }
  }

  /**
   * Receives {@code n} PUBLISHes whose payloads start with {@code prefix + i}, in order, once each;
   * with {@code qos1} each is acknowledged (the PUBACKs of what one poll drained in one write).
   */
  private static void receiveInOrder(RawMqttClient sub, String prefix, int n, boolean qos1) throws Exception {
    int next = 0;
    byte[] acks = new byte[4 * 512];
    while (next < n) {
      int pending = 0;
      MqttMessage m = sub.receive(T);
      assertNotNull(m, "only " + next + " of " + n + " messages arrived within " + T);
      while (m != null) {
        assertTrue(m.fixedHeader().messageType() == MqttMessageType.PUBLISH,
            "expected PUBLISH " + next + ", got " + m.fixedHeader().messageType());
        MqttPublishMessage p = (MqttPublishMessage) m;
        String text = p.payload().toString(StandardCharsets.US_ASCII);
        String want = prefix + next;
        assertTrue(text.equals(want) || text.startsWith(want + "-"),
            "message " + next + " of " + n + " should be " + want + ", got " + text.substring(0, Math.min(40, text.length())));
        next++;
        if (qos1) {
          int id = p.variableHeader().packetId();
          acks[pending * 4] = 0x40;
          acks[pending * 4 + 1] = 0x02;
          acks[pending * 4 + 2] = (byte) (id >> 8);
          acks[pending * 4 + 3] = (byte) id;
          pending++;
        }
        p.release();
        if (pending == 512 || next == n) {
          break;
        }
        m = sub.receive(Duration.ZERO);
      }
      if (pending > 0) {
        sub.sendRaw(Arrays.copyOf(acks, pending * 4));
      }
    }
  }

  @Test
  void qos1PublisherIsPausedWhileAQos1SubscriberStopsAcknowledgingThenGetsEverything() throws Exception {
    int n = 2 * Defaults.MAX_QUEUED_IN_MEMORY;
    long droppedBefore = droppedQueueFull();
    long pausesBefore = pauses();
    try (RawMqttClient sub = client("bp-q1-sub"); RawMqttClient pub = client("bp-q1-pub")) {
      subscribeQos1(sub, "bp/q1");
      AtomicLong acked = new AtomicLong();
      AtomicReference<String> outcome = new AtomicReference<>();
      Thread publisher = new Thread(() -> outcome.set(String.valueOf(publishQos1(pub, "bp/q1", "m-", n, 500, acked))),
          "bp-q1-publisher");
      publisher.setDaemon(true);
      publisher.start();

      // The subscriber acknowledges nothing: leafgate sends its inflight window and queues the rest
      // until the queue passes its high water mark and the publisher is paused.
      Await.until(LONG, () -> pauses() > pausesBefore ? null : "the publisher was not paused (PUBACKed " + acked.get() + ")");
      long heldAt = acked.get();
      assertTrue(heldAt < n, "the publisher finished before the subscriber read anything");

      // Then it reads and acknowledges everything, as fast as it can.
      receiveInOrder(sub, "m-", n, true);
      Await.until(LONG, () -> outcome.get() != null ? null : "the publisher has " + acked.get() + " PUBACKs of " + n);
      assertEquals("null", outcome.get());
      assertNull(sub.receive(Duration.ZERO), "more messages than were published");
    }
    Map<String, Object> v = varzMqtt();
    assertEquals(droppedBefore, droppedQueueFull(), "messages were dropped from the subscriber's queue");
    assertTrue(number(v, "publisher_pauses") > pausesBefore);
    long peak = number(v, "queued_peak");
    assertTrue(peak <= Defaults.MAX_QUEUED_IN_MEMORY, "the in-memory queue reached " + peak);
    assertTrue(peak >= Defaults.QUEUED_HIGH_WATER / 2, "the queue never filled (peak " + peak + "): nothing was tested");
  }

  @Test
  void natsPublisherIsPausedWhileAQos1MqttSubscriberStopsReadingThenGetsEverything() throws Exception {
    int n = 60_000;
    byte[] pad = new byte[500];
    Arrays.fill(pad, (byte) 'x');
    String padding = "-" + new String(pad, StandardCharsets.US_ASCII);
    long droppedBefore = droppedQueueFull();
    long pausesBefore = pauses();
    Options opts = new Options.Builder().server(rig.natsUrl()).maxMessagesInOutgoingQueue(n + 1000).build();
    try (RawMqttClient sub = client("bp-nats-sub"); Connection nc = Nats.connect(opts)) {
      subscribeQos1(sub, "bp/nats");
      sub.pauseReading();
      AtomicReference<String> outcome = new AtomicReference<>();
      Thread publisher = new Thread(() -> {
        try {
          for (int i = 0; i < n; i++) {
            nc.publish("bp.nats", ("n-" + i + padding).getBytes(StandardCharsets.US_ASCII));
          }
          nc.flush(LONG);
          outcome.set("null");
        } catch (Exception e) {
          outcome.set(e.toString());
        }
      }, "bp-nats-publisher");
      publisher.setDaemon(true);
      publisher.start();

      // 30 MB against an 8 MiB queue (max_pending) and the socket buffers: the publisher is paused.
      Await.until(LONG, () -> pauses() > pausesBefore ? null : "the NATS publisher was not paused");
      sub.resumeReading();
      receiveInOrder(sub, "n-", n, false);
      Await.until(LONG, () -> outcome.get() != null ? null : "the NATS publisher's flush has not returned");
      assertEquals("null", outcome.get());
    }
    assertEquals(droppedBefore, droppedQueueFull(), "messages were dropped from the subscriber's queue");
    long peak = number(varzMqtt(), "queued_peak");
    assertTrue(peak <= Defaults.MAX_QUEUED_IN_MEMORY, "the in-memory queue reached " + peak);
  }
}
