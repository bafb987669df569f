package io.leafgate.it.mqtt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leafgate.leaf.config.ServerOptions;
import io.nats.client.Connection;
import io.nats.client.Nats;
import io.nats.client.Options;
import io.netty.handler.codec.mqtt.MqttConnAckMessage;
import io.netty.handler.codec.mqtt.MqttConnectMessage;
import io.netty.handler.codec.mqtt.MqttConnectPayload;
import io.netty.handler.codec.mqtt.MqttConnectVariableHeader;
import io.netty.handler.codec.mqtt.MqttFixedHeader;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttProperties;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.netty.handler.codec.mqtt.MqttReasonCodeAndPropertiesVariableHeader;
import io.netty.handler.codec.mqtt.MqttVersion;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.eclipse.paho.mqttv5.common.MqttException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The NATS users, passwords and permissions for MQTT clients; bad input (packets, protocol levels,
 * sizes, a silent client) that must get the right reason code or a clean close without affecting
 * anyone else; and the monitoring that shows MQTT.
 */
class MqttSecurityTest {
  private static final Duration T = Duration.ofSeconds(5);
  @TempDir
  static Path tmp;
  static MqttRig rig;

  @BeforeAll
  static void start() throws Exception {
    rig = MqttRig.start(tmp, o -> {
      o.httpPort = -1;
      o.maxPayload = 4096;
      o.authTimeout = Duration.ofMillis(500);
      ServerOptions.User sensor = new ServerOptions.User();
      sensor.username = "sensor";
      sensor.password = "s3cret";
      sensor.permissions = new ServerOptions.Permissions();
      sensor.permissions.publishAllow = List.of("telemetry.>");
      sensor.permissions.subscribeAllow = List.of("cmd.>");
      ServerOptions.User admin = new ServerOptions.User();
      admin.username = "admin";
      admin.password = "$2a$04$SsGGLdWJDEbj/W43x39wXO3LjD/9sVBFlPdjF20NplMyDoTpUMt2."; // bcrypt of "admin"
      o.users = List.of(sensor, admin);
    });
  }

  @AfterAll
  static void stop() {
    rig.close();
  }

  private static MqttConnectMessage connectAs(MqttVersion v, String id, String user, String pass, int keepAlive) {
    MqttConnectVariableHeader vh = new MqttConnectVariableHeader(v.protocolName(), v.protocolLevel(), user != null,
        pass != null, false, 0, false, true, keepAlive, MqttProperties.NO_PROPERTIES);
    return new MqttConnectMessage(new MqttFixedHeader(MqttMessageType.CONNECT, false, MqttQoS.AT_MOST_ONCE, false, 0),
        vh, new MqttConnectPayload(id, MqttProperties.NO_PROPERTIES, null, (byte[]) null, user,
            pass == null ? null : pass.getBytes(StandardCharsets.UTF_8)));
  }

  private static int connack(MqttVersion v, String user, String pass) throws Exception {
    try (RawMqttClient c = new RawMqttClient(rig.mqttPort(), v)) {
      c.send(connectAs(v, "auth-" + v, user, pass, 30));
      MqttConnAckMessage a = (MqttConnAckMessage) c.receive(MqttMessageType.CONNACK, T);
      return a.variableHeader().connectReturnCode().byteValue() & 0xff;
    }
  }

  @Test
  void passwordsAreTheNatsOnes() throws Exception {
    assertEquals(0, connack(MqttVersion.MQTT_3_1_1, "sensor", "s3cret"));
    assertEquals(0, connack(MqttVersion.MQTT_5, "admin", "admin"), "bcrypt hash");
    assertEquals(0x05, connack(MqttVersion.MQTT_3_1_1, "sensor", "wrong"));
    assertEquals(0x86, connack(MqttVersion.MQTT_5, "sensor", "wrong"));
    assertEquals(0x05, connack(MqttVersion.MQTT_3_1_1, null, null));
    MqttException e = assertThrows(MqttException.class, () -> PahoV5.connect(rig.mqttUrl(), "paho-bad", o -> {
      o.setUserName("sensor");
      o.setPassword("nope".getBytes(StandardCharsets.UTF_8));
    }));
    assertEquals(0x86, e.getReasonCode());
  }

  @Test
  void permissionsApplyToMqttAsToNats() throws Exception {
    try (PahoV5 sensor = PahoV5.connect(rig.mqttUrl(), "sensor-1", o -> {
      o.setUserName("sensor");
      o.setPassword("s3cret".getBytes(StandardCharsets.UTF_8));
    });
         PahoV5 admin = PahoV5.connect(rig.mqttUrl(), "admin-1", o -> {
           o.setUserName("admin");
           o.setPassword("admin".getBytes(StandardCharsets.UTF_8));
         })) {
      admin.subscribe("#", 1);
      assertArrayEquals(new int[] {0}, sensor.publish("telemetry/t1", "ok", 1, false, null));
      assertEquals("telemetry/t1", admin.next().topic());
      assertArrayEquals(new int[] {0x87}, sensor.publish("cmd/x", "no", 1, false, null));
      assertArrayEquals(new int[] {0x87}, sensor.subscribe("telemetry/#", 1));
      assertArrayEquals(new int[] {1}, sensor.subscribe("cmd/+", 1));
      // A NATS client with the same user has the same rights.
      try (Connection nc = Nats.connect(new Options.Builder().server(rig.natsUrl()).userInfo("sensor", "s3cret").build())) {
        nc.publish("telemetry.from-nats", "n".getBytes(StandardCharsets.UTF_8));
        nc.flush(T);
      }
      assertEquals("telemetry/from-nats", admin.next().topic());
      admin.publish("cmd/valve", "open", 1);
      assertEquals("open", sensor.next().payload());
    }
    // v3: a refused QoS 1 publish is acknowledged and dropped (v3 has no negative PUBACK).
    try (PahoV3 v3 = PahoV3.connect(rig.mqttUrl(), "sensor-v3", o -> {
      o.setUserName("sensor");
      o.setPassword("s3cret".toCharArray());
    })) {
      v3.publish("cmd/x", "no", 1);
      assertEquals(0x80, v3.subscribe("telemetry/#", 1)[0]);
      assertTrue(v3.client.isConnected());
    }
  }

  private static RawMqttClient admin(MqttVersion v, String id) throws Exception {
    RawMqttClient c = new RawMqttClient(rig.mqttPort(), v);
    c.send(connectAs(v, id, "admin", "admin", 30));
    assertNotNull(c.receive(MqttMessageType.CONNACK, T));
    return c;
  }

  private static void stillServing() throws Exception {
    try (PahoV5 ok = PahoV5.connect(rig.mqttUrl(), "bystander", o -> {
      o.setUserName("admin");
      o.setPassword("admin".getBytes(StandardCharsets.UTF_8));
    })) {
      ok.subscribe("bystander/x", 0);
      ok.publish("bystander/x", "fine", 0);
      assertEquals("fine", ok.next().payload());
    }
  }

  @Test
  void aClientThatNeverSendsConnectIsClosed() throws Exception {
    try (RawMqttClient c = new RawMqttClient(rig.mqttPort(), MqttVersion.MQTT_3_1_1)) {
      long t0 = System.nanoTime();
      assertTrue(c.awaitClosed(T));
      assertTrue(System.nanoTime() - t0 >= 400_000_000L, "closed before the auth timeout");
    }
    stillServing();
  }

  @Test
  void garbageAndWrongProtocolLevelsCloseCleanly() throws Exception {
    try (RawMqttClient c = new RawMqttClient(rig.mqttPort(), MqttVersion.MQTT_3_1_1)) {
      c.sendRaw("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      assertTrue(c.awaitClosed(T));
    }
    try (RawMqttClient c = new RawMqttClient(rig.mqttPort(), MqttVersion.MQTT_3_1_1)) {
      c.sendRaw(new byte[] {0x10, 12, 0, 4, 'M', 'Q', 'T', 'T', 9, 2, 0, 60, 0, 0});
      MqttConnAckMessage a = (MqttConnAckMessage) c.receive(MqttMessageType.CONNACK, T);
      assertEquals(0x01, a.variableHeader().connectReturnCode().byteValue());
      assertTrue(c.awaitClosed(T));
    }
    try (RawMqttClient c = admin(MqttVersion.MQTT_5, "garbage-after")) {
      c.sendRaw(new byte[] {(byte) 0xF0, 0}); // AUTH without properties: not supported
      MqttMessage m = c.receive(T);
      assertTrue(m == RawMqttClient.CLOSED || m.fixedHeader().messageType() == MqttMessageType.DISCONNECT, "" + m);
      assertTrue(c.awaitClosed(T) || m == RawMqttClient.CLOSED);
    }
    stillServing();
  }

  @Test
  void anOversizedPacketGetsPacketTooLarge() throws Exception {
    String big = "x".repeat(4096 + 70_000);
    try (RawMqttClient c = admin(MqttVersion.MQTT_5, "big5")) {
      c.sendRaw(RawMqttClient.rawPublish("big/x", big, true));
      MqttMessage m = c.receive(MqttMessageType.DISCONNECT, T);
      assertNotNull(m);
      assertEquals(0x95, ((MqttReasonCodeAndPropertiesVariableHeader) m.variableHeader()).reasonCode() & 0xff);
      assertTrue(c.awaitClosed(T));
    }
    try (RawMqttClient c = admin(MqttVersion.MQTT_3_1_1, "big3")) {
      c.sendRaw(RawMqttClient.rawPublish("big/x", big, false));
      assertTrue(c.awaitClosed(T));
    }
    stillServing();
  }

  @Test
  void tooManyUnacknowledgedQos2PublishesExceedTheReceiveMaximum() throws Exception {
    try (RawMqttClient c = admin(MqttVersion.MQTT_5, "greedy")) {
      for (int pid = 1; pid <= 1025; pid++) {
        c.send(RawMqttClient.publish("greedy/x", 2, pid, "x", null)); // never PUBREL
      }
      MqttMessage m = c.receive(MqttMessageType.DISCONNECT, Duration.ofSeconds(10));
      assertNotNull(m);
      assertEquals(0x93, ((MqttReasonCodeAndPropertiesVariableHeader) m.variableHeader()).reasonCode() & 0xff);
    }
    stillServing();
  }

  @Test
  void monitoringShowsMqtt() throws Exception {
    try (PahoV5 c = PahoV5.connect(rig.mqttUrl(), "watched", o -> {
      o.setUserName("admin");
      o.setPassword("admin".getBytes(StandardCharsets.UTF_8));
    })) {
      HttpClient http = HttpClient.newHttpClient();
      String varz = http.send(HttpRequest.newBuilder(URI.create(rig.httpUrl() + "/varz")).build(),
          HttpResponse.BodyHandlers.ofString()).body();
      assertTrue(varz.matches("(?s).*\"mqtt\"\\s*:\\s*\\{[^}]*\"port\"\\s*:\\s*" + rig.mqttPort() + ".*"), varz);
      assertTrue(varz.matches("(?s).*\"mqtt\"\\s*:\\s*\\{[^}]*\"connections\"\\s*:\\s*[1-9].*"), varz);
      String metrics = http.send(HttpRequest.newBuilder(URI.create(rig.httpUrl() + "/metrics")).build(),
          HttpResponse.BodyHandlers.ofString()).body();
      assertTrue(metrics.lines().anyMatch(l -> l.matches("leafgate_mqtt_connections [1-9]\\d*")), metrics);
      assertTrue(metrics.contains("leafgate_mqtt_connections_total"), metrics);
      assertTrue(metrics.contains("leafgate_mqtt_sessions{persistent=\"true\"}"), metrics);
    }
    // The ports file lists the MQTT listener.
    Path ports;
    try (var files = Files.list(tmp)) {
      ports = files.filter(p -> p.getFileName().toString().endsWith(".ports")).findFirst().orElseThrow();
    }
    assertTrue(Files.readString(ports).contains("\"mqtt\":[\"mqtt://127.0.0.1:" + rig.mqttPort() + "\"]"),
        Files.readString(ports));
  }
}
