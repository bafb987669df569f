package io.leafgate.mqtt.server;

import static io.leafgate.mqtt.server.RawMqttClient.ack;
import static io.leafgate.mqtt.server.RawMqttClient.connect;
import static io.leafgate.mqtt.server.RawMqttClient.publish;
import static io.leafgate.mqtt.server.RawMqttClient.subscribe;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.Unpooled;
import io.netty.handler.codec.mqtt.MqttConnAckMessage;
import io.netty.handler.codec.mqtt.MqttConnectReturnCode;
import io.netty.handler.codec.mqtt.MqttFixedHeader;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageIdVariableHeader;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttProperties;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.handler.codec.mqtt.MqttPublishVariableHeader;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.netty.handler.codec.mqtt.MqttVersion;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What survives a restart of the MQTT server and the JetStream engine on the same store:
 * persistent sessions with their subscriptions and queues, retained messages, and the QoS 2
 * exchanges in both directions (exactly once). Packet-level, so that packet ids and DUP flags can
 * be checked.
 */
class MqttRestartTest {
  private static final Duration T = Duration.ofSeconds(5);
  private static final Duration QUIET = Duration.ofMillis(300);
  private TestBroker broker;

  @BeforeEach
  void start() throws Exception {
    broker = TestBroker.start();
  }

  @AfterEach
  void stop() {
    broker.close();
  }

  private RawMqttClient v3(String id, boolean clean, boolean expectPresent) throws Exception {
    RawMqttClient c = new RawMqttClient(broker.port(), MqttVersion.MQTT_3_1_1);
    c.send(connect(MqttVersion.MQTT_3_1_1, id, clean, 60, null));
    MqttConnAckMessage a = (MqttConnAckMessage) c.receive(MqttMessageType.CONNACK, T);
    assertNotNull(a);
    assertEquals(MqttConnectReturnCode.CONNECTION_ACCEPTED, a.variableHeader().connectReturnCode());
    assertEquals(expectPresent, a.variableHeader().isSessionPresent(), "session present");
    return c;
  }

  private RawMqttClient v5(String id, boolean clean, long expiry, boolean expectPresent) throws Exception {
    RawMqttClient c = new RawMqttClient(broker.port(), MqttVersion.MQTT_5);
    MqttProperties p = new MqttProperties();
    p.add(new MqttProperties.IntegerProperty(MqttProperties.SESSION_EXPIRY_INTERVAL, (int) expiry));
    c.send(connect(MqttVersion.MQTT_5, id, clean, 60, p));
    MqttConnAckMessage a = (MqttConnAckMessage) c.receive(MqttMessageType.CONNACK, T);
    assertNotNull(a);
    assertEquals(MqttConnectReturnCode.CONNECTION_ACCEPTED, a.variableHeader().connectReturnCode());
    assertEquals(expectPresent, a.variableHeader().isSessionPresent(), "session present");
    return c;
  }

  private static int pid(MqttMessage m) {
    if (m instanceof MqttPublishMessage p) {
      return p.variableHeader().packetId();
    }
    return ((MqttMessageIdVariableHeader) m.variableHeader()).messageId();
  }

  private static String text(MqttMessage m) {
    return ((MqttPublishMessage) m).payload().toString(StandardCharsets.UTF_8);
  }

  private void restart() throws Exception {
    broker = broker.restart();
  }

  @Test
  void persistentSessionKeepsSubscriptionsAndQueueAcrossRestart() throws Exception {
    try (RawMqttClient s = v3("sub", false, false)) {
      s.send(subscribe(1, "t/#", 1));
      assertNotNull(s.receive(MqttMessageType.SUBACK, T));
    }
    try (RawMqttClient p = v3("pub", true, false)) {
      p.send(publish("t/1", 1, 1, "before", null));
      assertNotNull(p.receive(MqttMessageType.PUBACK, T));
    }
    restart();
    try (RawMqttClient p = v3("pub", true, false)) {
      p.send(publish("t/2", 1, 1, "after", null));
      assertNotNull(p.receive(MqttMessageType.PUBACK, T));
    }
    try (RawMqttClient s = v3("sub", false, true)) {
      MqttMessage a = s.receive(MqttMessageType.PUBLISH, T);
      assertEquals("before", text(a));
      s.send(ack(MqttMessageType.PUBACK, pid(a)));
      MqttMessage b = s.receive(MqttMessageType.PUBLISH, T);
      assertEquals("after", text(b));
      s.send(ack(MqttMessageType.PUBACK, pid(b)));
      assertNull(s.receive(MqttMessageType.PUBLISH, QUIET));
    }
    // Acknowledged messages are gone from the store: nothing comes back after another restart.
    restart();
    try (RawMqttClient s = v3("sub", false, true)) {
      assertNull(s.receive(MqttMessageType.PUBLISH, QUIET));
    }
  }

  @Test
  void unacknowledgedQos1IsSentAgainAfterRestart() throws Exception {
    try (RawMqttClient s = v3("sub", false, false)) {
      s.send(subscribe(1, "u", 1));
      assertNotNull(s.receive(MqttMessageType.SUBACK, T));
      try (RawMqttClient p = v3("pub", true, false)) {
        p.send(publish("u", 1, 1, "x", null));
        assertNotNull(p.receive(MqttMessageType.PUBACK, T));
      }
      assertEquals("x", text(s.receive(MqttMessageType.PUBLISH, T))); // never acknowledged
    }
    restart();
    try (RawMqttClient s = v3("sub", false, true)) {
      MqttMessage m = s.receive(MqttMessageType.PUBLISH, T);
      assertEquals("x", text(m));
      s.send(ack(MqttMessageType.PUBACK, pid(m)));
    }
  }

  @Test
  void aMessageSentAsTheClientLeavesIsSentAgainOnReturn() throws Exception {
    try (RawMqttClient s = v3("racer", false, false)) {
      s.send(subscribe(1, "race", 1));
      assertNotNull(s.receive(MqttMessageType.SUBACK, T));
      try (RawMqttClient p = v3("pub", true, false)) {
        p.send(publish("race", 1, 1, "x", null));
        assertNotNull(p.receive(MqttMessageType.PUBACK, T));
      }
      assertEquals("x", text(s.receive(MqttMessageType.PUBLISH, T))); // and leaves without PUBACK
    }
    try (RawMqttClient s = v3("racer", false, true)) {
      s.send(subscribe(2, "race", 1));
      MqttPublishMessage m = (MqttPublishMessage) s.receive(MqttMessageType.PUBLISH, T);
      assertNotNull(m, "the unacknowledged message did not come back");
      assertEquals("x", text(m));
      assertTrue(m.fixedHeader().isDup());
    }
  }

  @Test
  void retainedMessagesSurviveRestart() throws Exception {
    try (RawMqttClient p = v3("pub", true, false)) {
      MqttPublishMessage m = new MqttPublishMessage(new MqttFixedHeader(MqttMessageType.PUBLISH, false,
          MqttQoS.AT_LEAST_ONCE, true, 0), new MqttPublishVariableHeader("r/a", 3, MqttProperties.NO_PROPERTIES),
          Unpooled.copiedBuffer("kept", StandardCharsets.UTF_8));
      p.send(m);
      assertNotNull(p.receive(MqttMessageType.PUBACK, T));
    }
    restart();
    try (RawMqttClient s = v3("late", true, false)) {
      s.send(subscribe(1, "r/+", 1));
      MqttPublishMessage m = (MqttPublishMessage) s.receive(MqttMessageType.PUBLISH, T);
      assertEquals("kept", text(m));
      assertTrue(m.fixedHeader().isRetain());
    }
  }

  @Test
  void inboundQos2IsExactlyOnceAcrossRestart() throws Exception {
    try (RawMqttClient s = v5("sub2", true, 300, false)) {
      s.send(subscribe(1, "q2", 2));
      assertNotNull(s.receive(MqttMessageType.SUBACK, T));
    }
    try (RawMqttClient p = v5("pub2", true, 300, false)) {
      p.send(publish("q2", 2, 5, "once", null));
      assertEquals(5, pid(p.receive(MqttMessageType.PUBREC, T)));
      // The PUBREC is "lost": the publisher will send the PUBLISH again after the restart.
    }
    restart();
    try (RawMqttClient p = v5("pub2", false, 300, true)) {
      MqttPublishMessage again = new MqttPublishMessage(new MqttFixedHeader(MqttMessageType.PUBLISH, true,
          MqttQoS.EXACTLY_ONCE, false, 0), new MqttPublishVariableHeader("q2", 5, MqttProperties.NO_PROPERTIES),
          Unpooled.copiedBuffer("once", StandardCharsets.UTF_8));
      p.send(again);
      assertEquals(5, pid(p.receive(MqttMessageType.PUBREC, T)));
      p.send(ack(MqttMessageType.PUBREL, 5));
      assertEquals(5, pid(p.receive(MqttMessageType.PUBCOMP, T)));
    }
    try (RawMqttClient s = v5("sub2", false, 300, true)) {
      MqttPublishMessage m = (MqttPublishMessage) s.receive(MqttMessageType.PUBLISH, T);
      assertEquals("once", text(m));
      int id = m.variableHeader().packetId();
      s.send(ack(MqttMessageType.PUBREC, id));
      assertEquals(id, pid(s.receive(MqttMessageType.PUBREL, T)));
      s.send(ack(MqttMessageType.PUBCOMP, id));
      assertNull(s.receive(MqttMessageType.PUBLISH, QUIET), "delivered twice");
    }
  }

  @Test
  void pubrelAfterRestartCompletesTheExchange() throws Exception {
    try (RawMqttClient p = v5("pub3", true, 300, false)) {
      p.send(publish("nobody", 2, 9, "x", null));
      assertNotNull(p.receive(MqttMessageType.PUBREC, T));
    }
    restart();
    try (RawMqttClient p = v5("pub3", false, 300, true)) {
      p.send(ack(MqttMessageType.PUBREL, 9));
      assertEquals(9, pid(p.receive(MqttMessageType.PUBCOMP, T)));
      // The packet id is free again: a new message with it is delivered.
      try (RawMqttClient s = v5("watch", true, 0, false)) {
        s.send(subscribe(1, "nobody", 2));
        assertNotNull(s.receive(MqttMessageType.SUBACK, T));
        p.send(publish("nobody", 2, 9, "new", null));
        assertEquals(9, pid(p.receive(MqttMessageType.PUBREC, T)));
        assertEquals("new", text(s.receive(MqttMessageType.PUBLISH, T)));
      }
    }
  }

  @Test
  void outboundQos2KeepsItsPacketIdAcrossRestart() throws Exception {
    int first;
    try (RawMqttClient s = v5("out2", true, 300, false)) {
      s.send(subscribe(1, "o2", 2));
      assertNotNull(s.receive(MqttMessageType.SUBACK, T));
      try (RawMqttClient p = v5("p", true, 0, false)) {
        p.send(publish("o2", 2, 1, "m", null));
        assertNotNull(p.receive(MqttMessageType.PUBREC, T));
        p.send(ack(MqttMessageType.PUBREL, 1));
        assertNotNull(p.receive(MqttMessageType.PUBCOMP, T));
      }
      MqttPublishMessage m = (MqttPublishMessage) s.receive(MqttMessageType.PUBLISH, T);
      first = m.variableHeader().packetId();
      assertFalse(m.fixedHeader().isDup());
      // No PUBREC: the client may have the message; it must come back with the same packet id.
    }
    restart();
    try (RawMqttClient s = v5("out2", false, 300, true)) {
      MqttPublishMessage m = (MqttPublishMessage) s.receive(MqttMessageType.PUBLISH, T);
      assertEquals(first, m.variableHeader().packetId());
      assertTrue(m.fixedHeader().isDup());
      s.send(ack(MqttMessageType.PUBREC, first));
      assertEquals(first, pid(s.receive(MqttMessageType.PUBREL, T)));
      // PUBCOMP is "lost"; after a restart the PUBREL is sent again, not the PUBLISH.
    }
    restart();
    try (RawMqttClient s = v5("out2", false, 300, true)) {
      MqttMessage m = s.receive(T);
      assertNotNull(m);
      assertEquals(MqttMessageType.PUBREL, m.fixedHeader().messageType());
      assertEquals(first, pid(m));
      s.send(ack(MqttMessageType.PUBCOMP, first));
      assertNull(s.receive(MqttMessageType.PUBLISH, QUIET));
    }
  }

  @Test
  void expiredSessionsAreGoneAfterRestart() throws Exception {
    try (RawMqttClient s = v5("brief", true, 1, false)) {
      s.send(subscribe(1, "b", 1));
      assertNotNull(s.receive(MqttMessageType.SUBACK, T));
    }
    restart();
    io.leafgate.mqtt.session.SessionManager m = broker.mqtt.sessions();
    assertTrue(m.sessions().stream().anyMatch(x -> x.clientId().equals("brief")), "not restored");
    // Restored with less than 1 s to live, it expires on its timer.
    io.leafgate.mqtt.Poll.until(Duration.ofSeconds(5), () ->
        m.sessions().stream().anyMatch(x -> x.clientId().equals("brief")) ? "the session is still there" : null);
    try (RawMqttClient s = v5("brief", false, 1, false)) {
      s.send(subscribe(1, "b2", 1)); // a new session: it works, and had nothing
      assertNotNull(s.receive(MqttMessageType.SUBACK, T));
    }
  }
}
