package io.leafgate.it.mqtt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.nats.client.Connection;
import io.nats.client.JetStreamManagement;
import io.nats.client.Nats;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.mqtt.MqttConnAckMessage;
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
import java.nio.file.Path;
import java.time.Duration;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Gateway restarts (the in-JVM gateway closed and started again on the same store folder and
 * ports) in the middle of QoS 1 and 2 flows, with real clients. These need a JetStream store that
 * survives a restart; on a build whose gateway keeps JetStream in memory they are skipped with
 * that reason (see {@link MqttRig#restart}).
 */
class MqttGatewayRestartTest {
  private static final Duration T = Duration.ofSeconds(5);
  @TempDir
  Path tmp;
  MqttRig rig;

  @BeforeEach
  void start() throws Exception {
    rig = MqttRig.start(tmp);
  }

  @AfterEach
  void stop() {
    rig.close();
  }

  @Test
  void queuedMessagesOfAPersistentSessionSurviveARestart() throws Exception {
    MemoryPersistence clientStore = new MemoryPersistence();
    try (PahoV3 c = PahoV3.connect(rig.mqttUrl(), "field-unit", clientStore, o -> o.setCleanSession(false))) {
      c.subscribe("site/+/alarm", 2);
    }
    try (PahoV3 pub = PahoV3.connect(rig.mqttUrl(), "plc")) {
      for (int i = 0; i < 10; i++) {
        pub.publish("site/" + i + "/alarm", "a" + i, 1);
      }
    }
    rig.restart();
    try (PahoV3 pub = PahoV3.connect(rig.mqttUrl(), "plc")) {
      pub.publish("site/10/alarm", "a10", 1);
    }
    try (PahoV3 c = PahoV3.connect(rig.mqttUrl(), "field-unit", clientStore, o -> o.setCleanSession(false))) {
      assertTrue(c.sessionPresent());
      for (int i = 0; i <= 10; i++) {
        assertEquals("a" + i, c.next().payload());
      }
      assertNull(c.next(Duration.ofMillis(300)));
    }
  }

  @Test
  void retainedMessagesAndStreamCommitsSurviveARestart() throws Exception {
    try (Connection nc = Nats.connect(rig.natsUrl())) {
      nc.jetStreamManagement().addStream(StreamConfiguration.builder().name("METER").subjects("meter.>")
          .storageType(StorageType.File).build());
    }
    try (PahoV5 pub = PahoV5.connect(rig.mqttUrl(), "meter-1")) {
      pub.publish("meter/state", "running", 1, true, null);
      assertEquals(0, pub.publish("meter/kwh", "12.5", 1, false, null)[0]);
    }
    rig.restart();
    try (PahoV5 sub = PahoV5.connect(rig.mqttUrl(), "dash")) {
      sub.subscribe("meter/state", 1);
      PahoV5.Received r = sub.next();
      assertEquals("running", r.payload());
      assertTrue(r.retained());
    }
    try (Connection nc = Nats.connect(rig.natsUrl())) {
      // Both publishes were captured by the stream (meter.state and meter.kwh).
      assertEquals(2, nc.jetStreamManagement().getStreamInfo("METER").getStreamState().getMsgCount());
    }
  }

  private RawMqttClient v5(String id, boolean clean, boolean present) throws Exception {
    RawMqttClient c = new RawMqttClient(rig.mqttPort(), MqttVersion.MQTT_5);
    MqttProperties p = new MqttProperties();
    p.add(new MqttProperties.IntegerProperty(MqttProperties.SESSION_EXPIRY_INTERVAL, 600));
    c.send(RawMqttClient.connect(MqttVersion.MQTT_5, id, clean, 30, p));
    MqttConnAckMessage a = (MqttConnAckMessage) c.receive(MqttMessageType.CONNACK, T);
    assertNotNull(a);
    assertEquals(present, a.variableHeader().isSessionPresent());
    return c;
  }

  private static int pid(MqttMessage m) {
    return m instanceof MqttPublishMessage p ? p.variableHeader().packetId()
        : ((MqttMessageIdVariableHeader) m.variableHeader()).messageId();
  }

  @Test
  void qos2IsExactlyOnceWhenTheGatewayRestartsBetweenPubrecAndPubrel() throws Exception {
    JetStreamManagement jsm;
    try (Connection nc = Nats.connect(rig.natsUrl())) {
      nc.jetStreamManagement().addStream(StreamConfiguration.builder().name("ORDERS").subjects("orders.>")
          .storageType(StorageType.File).build());
    }
    try (RawMqttClient s = v5("consumer", true, false)) {
      s.send(RawMqttClient.subscribe(1, "orders/#", 2));
      assertNotNull(s.receive(MqttMessageType.SUBACK, T));
    }
    try (RawMqttClient p = v5("producer", true, false)) {
      p.send(RawMqttClient.publish("orders/42", 2, 7, "order-42", null));
      assertEquals(7, pid(p.receive(MqttMessageType.PUBREC, T)));
    }
    rig.restart();
    try (RawMqttClient p = v5("producer", false, true)) {
      // The producer did not see the PUBREC (as far as it knows): it sends the PUBLISH again.
      p.send(new MqttPublishMessage(new MqttFixedHeader(MqttMessageType.PUBLISH, true, MqttQoS.EXACTLY_ONCE, false, 0),
          new MqttPublishVariableHeader("orders/42", 7, MqttProperties.NO_PROPERTIES),
          Unpooled.copiedBuffer("order-42", StandardCharsets.UTF_8)));
      assertEquals(7, pid(p.receive(MqttMessageType.PUBREC, T)));
      p.send(RawMqttClient.ack(MqttMessageType.PUBREL, 7));
      assertEquals(7, pid(p.receive(MqttMessageType.PUBCOMP, T)));
    }
    try (RawMqttClient s = v5("consumer", false, true)) {
      MqttPublishMessage m = (MqttPublishMessage) s.receive(MqttMessageType.PUBLISH, T);
      assertEquals("order-42", m.payload().toString(StandardCharsets.UTF_8));
      s.send(RawMqttClient.ack(MqttMessageType.PUBREC, pid(m)));
      assertNotNull(s.receive(MqttMessageType.PUBREL, T));
      s.send(RawMqttClient.ack(MqttMessageType.PUBCOMP, pid(m)));
      assertNull(s.receive(MqttMessageType.PUBLISH, Duration.ofMillis(300)), "delivered twice");
    }
    try (Connection nc = Nats.connect(rig.natsUrl())) {
      jsm = nc.jetStreamManagement();
      assertEquals(1, jsm.getStreamInfo("ORDERS").getStreamState().getMsgCount(), "stored twice");
    }
  }

  @Test
  void anUnacknowledgedQos1IsSentAgainAfterARestart() throws Exception {
    try (RawMqttClient s = v5("slow", true, false)) {
      s.send(RawMqttClient.subscribe(1, "jobs/+", 1));
      assertNotNull(s.receive(MqttMessageType.SUBACK, T));
      try (PahoV5 pub = PahoV5.connect(rig.mqttUrl(), "dispatcher")) {
        pub.publish("jobs/1", "job-1", 1);
      }
      MqttPublishMessage m = (MqttPublishMessage) s.receive(MqttMessageType.PUBLISH, T);
      assertEquals("job-1", m.payload().toString(StandardCharsets.UTF_8)); // never acknowledged
      rig.restart();
    }
    try (RawMqttClient s = v5("slow", false, true)) {
      MqttPublishMessage m = (MqttPublishMessage) s.receive(MqttMessageType.PUBLISH, T);
      assertNotNull(m);
      assertEquals("job-1", m.payload().toString(StandardCharsets.UTF_8));
      s.send(RawMqttClient.ack(MqttMessageType.PUBACK, pid(m)));
    }
  }
}
