package io.leafgate.mqtt.server;

import static io.leafgate.mqtt.server.RawMqttClient.ack;
import static io.leafgate.mqtt.server.RawMqttClient.connect;
import static io.leafgate.mqtt.server.RawMqttClient.publish;
import static io.leafgate.mqtt.server.RawMqttClient.subscribe;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.handler.codec.mqtt.MqttConnAckMessage;
import io.netty.handler.codec.mqtt.MqttConnectReturnCode;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageIdVariableHeader;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttProperties;
import io.netty.handler.codec.mqtt.MqttPubReplyMessageVariableHeader;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.handler.codec.mqtt.MqttReasonCodeAndPropertiesVariableHeader;
import io.netty.handler.codec.mqtt.MqttSubAckMessage;
import io.netty.handler.codec.mqtt.MqttVersion;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The protocol at packet level, against the MQTT listener with an in-memory JetStream behind it:
 * CONNACK properties, the QoS flows in both directions, reason codes, and bad input.
 */
class MqttProtocolTest {
  private static final Duration T = Duration.ofSeconds(5);
  private TestBroker broker;

  @BeforeEach
  void start() throws Exception {
    broker = TestBroker.start();
  }

  @AfterEach
  void stop() {
    broker.close();
  }

  private RawMqttClient client(MqttVersion v, String id, boolean clean, MqttProperties props) throws Exception {
    RawMqttClient c = new RawMqttClient(broker.port(), v);
    c.send(connect(v, id, clean, 60, props));
    MqttConnAckMessage ack = (MqttConnAckMessage) c.receive(MqttMessageType.CONNACK, T);
    assertNotNull(ack, "no CONNACK");
    assertEquals(MqttConnectReturnCode.CONNECTION_ACCEPTED, ack.variableHeader().connectReturnCode());
    return c;
  }

  private static String text(MqttPublishMessage p) {
    return p.payload().toString(StandardCharsets.UTF_8);
  }

  private static int pid(MqttMessage m) {
    return ((MqttMessageIdVariableHeader) m.variableHeader()).messageId();
  }

  private static int reason(MqttMessage m) {
    if (m.variableHeader() instanceof MqttPubReplyMessageVariableHeader v) {
      return v.reasonCode() & 0xff;
    }
    if (m.variableHeader() instanceof MqttReasonCodeAndPropertiesVariableHeader v) {
      return v.reasonCode() & 0xff;
    }
    return 0;
  }

  @Test
  void v5ConnackCarriesLimitsAndAssignedClientId() throws Exception {
    try (RawMqttClient c = new RawMqttClient(broker.port(), MqttVersion.MQTT_5)) {
      c.send(connect(MqttVersion.MQTT_5, "", true, 0, null));
      MqttConnAckMessage ack = (MqttConnAckMessage) c.receive(MqttMessageType.CONNACK, T);
      assertEquals(MqttConnectReturnCode.CONNECTION_ACCEPTED, ack.variableHeader().connectReturnCode());
      MqttProperties p = ack.variableHeader().properties();
      assertEquals(1024, p.getProperty(MqttProperties.RECEIVE_MAXIMUM).value());
      assertEquals(64, p.getProperty(MqttProperties.TOPIC_ALIAS_MAXIMUM).value());
      assertTrue((Integer) p.getProperty(MqttProperties.MAXIMUM_PACKET_SIZE).value() > 1024 * 1024);
      assertTrue(((String) p.getProperty(MqttProperties.ASSIGNED_CLIENT_IDENTIFIER).value()).startsWith("lg-"));
      assertEquals(3600, p.getProperty(MqttProperties.SERVER_KEEP_ALIVE).value());
    }
  }

  @Test
  void qos0And1And2RoundTrip() throws Exception {
    try (RawMqttClient sub = client(MqttVersion.MQTT_5, "sub", true, null);
         RawMqttClient pub = client(MqttVersion.MQTT_5, "pub", true, null)) {
      sub.send(subscribe(1, "a/+", 2));
      MqttSubAckMessage sa = (MqttSubAckMessage) sub.receive(MqttMessageType.SUBACK, T);
      assertEquals(List.of(2), sa.payload().reasonCodes());

      pub.send(publish("a/0", 0, 0, "zero", null));
      MqttPublishMessage p0 = (MqttPublishMessage) sub.receive(MqttMessageType.PUBLISH, T);
      assertEquals("a/0", p0.variableHeader().topicName());
      assertEquals("zero", text(p0));

      pub.send(publish("a/1", 1, 7, "one", null));
      MqttMessage puback = pub.receive(MqttMessageType.PUBACK, T);
      assertEquals(7, pid(puback));
      assertEquals(0, reason(puback));
      MqttPublishMessage p1 = (MqttPublishMessage) sub.receive(MqttMessageType.PUBLISH, T);
      assertEquals(1, p1.fixedHeader().qosLevel().value());
      sub.send(ack(MqttMessageType.PUBACK, p1.variableHeader().packetId()));

      pub.send(publish("a/2", 2, 8, "two", null));
      assertEquals(8, pid(pub.receive(MqttMessageType.PUBREC, T)));
      MqttPublishMessage p2 = (MqttPublishMessage) sub.receive(MqttMessageType.PUBLISH, T);
      assertEquals(2, p2.fixedHeader().qosLevel().value());
      assertEquals("two", text(p2));
      // A repeated PUBLISH before PUBREL is acknowledged again and not delivered again.
      pub.send(publish("a/2", 2, 8, "two", null));
      assertEquals(8, pid(pub.receive(MqttMessageType.PUBREC, T)));
      pub.send(ack(MqttMessageType.PUBREL, 8));
      assertEquals(8, pid(pub.receive(MqttMessageType.PUBCOMP, T)));
      int spid = p2.variableHeader().packetId();
      sub.send(ack(MqttMessageType.PUBREC, spid));
      assertEquals(spid, pid(sub.receive(MqttMessageType.PUBREL, T)));
      sub.send(ack(MqttMessageType.PUBCOMP, spid));
      assertNull(sub.receive(MqttMessageType.PUBLISH, Duration.ofMillis(300)), "the repeated QoS 2 PUBLISH was delivered twice");
    }
  }

  @Test
  void noMatchingSubscribersIsReported() throws Exception {
    try (RawMqttClient pub = client(MqttVersion.MQTT_5, "pub", true, null)) {
      pub.send(publish("nobody/here", 1, 3, "x", null));
      assertEquals(0x10, reason(pub.receive(MqttMessageType.PUBACK, T)));
    }
  }

  @Test
  void wildcardInPublishTopicDisconnectsWithTopicNameInvalid() throws Exception {
    try (RawMqttClient pub = client(MqttVersion.MQTT_5, "pub", true, null)) {
      pub.sendRaw(RawMqttClient.rawPublish("a/+", "x", true));
      MqttMessage d = pub.receive(MqttMessageType.DISCONNECT, T);
      assertNotNull(d);
      assertFalse(d == RawMqttClient.CLOSED, "closed without DISCONNECT");
      assertEquals(0x90, reason(d));
      assertTrue(pub.awaitClosed(T));
    }
  }

  @Test
  void keepAliveIsEnforcedAtOneAndAHalfIntervals() throws Exception {
    try (RawMqttClient c = new RawMqttClient(broker.port(), MqttVersion.MQTT_5)) {
      c.send(connect(MqttVersion.MQTT_5, "sleepy", true, 1, null));
      assertNotNull(c.receive(MqttMessageType.CONNACK, T));
      long t0 = System.nanoTime();
      MqttMessage d = c.receive(MqttMessageType.DISCONNECT, T);
      long ms = (System.nanoTime() - t0) / 1_000_000;
      assertEquals(0x8D, reason(d));
      assertTrue(ms >= 1400 && ms < 2500, "closed after " + ms + " ms");
      assertTrue(c.awaitClosed(T));
    }
  }

  @Test
  void packetBeforeConnectClosesTheConnection() throws Exception {
    try (RawMqttClient c = new RawMqttClient(broker.port(), MqttVersion.MQTT_3_1_1)) {
      c.send(RawMqttClient.simple(MqttMessageType.PINGREQ));
      assertTrue(c.awaitClosed(T));
    }
  }

  @Test
  void unknownProtocolLevelGetsReturnCode1() throws Exception {
    try (RawMqttClient c = new RawMqttClient(broker.port(), MqttVersion.MQTT_3_1_1)) {
      // CONNECT, protocol name MQTT, level 6
      c.sendRaw(new byte[] {0x10, 12, 0, 4, 'M', 'Q', 'T', 'T', 6, 2, 0, 60, 0, 0});
      MqttMessage m = c.receive(MqttMessageType.CONNACK, T);
      assertInstanceOf(MqttConnAckMessage.class, m);
      assertEquals(MqttConnectReturnCode.CONNECTION_REFUSED_UNACCEPTABLE_PROTOCOL_VERSION,
          ((MqttConnAckMessage) m).variableHeader().connectReturnCode());
      assertTrue(c.awaitClosed(T));
    }
  }
}
