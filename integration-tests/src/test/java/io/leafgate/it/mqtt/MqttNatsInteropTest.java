package io.leafgate.it.mqtt;

import io.leafgate.it.harness.Await;
import io.leafgate.mqtt.server.RawMqttClient;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.nats.client.Connection;
import io.nats.client.Dispatcher;
import io.nats.client.JetStreamManagement;
import io.nats.client.Message;
import io.nats.client.Nats;
import io.nats.client.Subscription;
import io.nats.client.api.DiscardPolicy;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import io.nats.client.impl.Headers;
import io.nats.client.impl.NatsMessage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.eclipse.paho.mqttv5.common.packet.MqttProperties;
import org.eclipse.paho.mqttv5.common.packet.UserProperty;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * MQTT and NATS clients in one subject space: each sees the other's messages, User Properties are
 * headers, request/reply works both ways, and MQTT publishes into a stream are acknowledged after
 * the commit.
 */
class MqttNatsInteropTest {
  private static final Duration T = Duration.ofSeconds(5);
  @TempDir
  static Path tmp;
  static MqttRig rig;
  static Connection nc;
  private static int ids;

  @BeforeAll
  static void start() throws Exception {
    rig = MqttRig.start(tmp);
    nc = Nats.connect(rig.natsUrl());
  }

  @AfterAll
  static void stop() throws Exception {
    nc.close();
    rig.close();
  }

  private static String id(String base) {
    return base + (++ids);
  }

  private static String text(Message m) {
    return new String(m.getData(), StandardCharsets.UTF_8);
  }

  @Test
  void mqttPublishReachesNatsWithUserPropertiesAsHeaders() throws Exception {
    String t = id("plant");
    Subscription sub = nc.subscribe(t + ".>");
    nc.flush(T);
    try (PahoV5 pub = PahoV5.connect(rig.mqttUrl(), id("pub"))) {
      MqttProperties p = new MqttProperties();
      p.setUserProperties(List.of(new UserProperty("unit", "C"), new UserProperty("unit", "K")));
      pub.publish(t + "/cold-1/temp", "21.5", 1, false, p);
      Message m = sub.nextMessage(T);
      assertNotNull(m);
      assertEquals(t + ".cold-1.temp", m.getSubject());
      assertEquals("21.5", text(m));
      assertEquals(List.of("C", "K"), m.getHeaders().get("unit"));
    }
    try (PahoV3 pub = PahoV3.connect(rig.mqttUrl(), id("v3"))) {
      pub.publish(t + "/spBv1.0/x", "v3", 0);
      Message m = sub.nextMessage(T);
      assertEquals(t + ".spBv1//0.x", m.getSubject());
      assertNull(m.getHeaders());
    }
  }

  @Test
  void natsPublishReachesMqttWithHeadersAsUserProperties() throws Exception {
    String t = id("cmd");
    try (PahoV5 sub = PahoV5.connect(rig.mqttUrl(), id("sub"));
         PahoV3 sub3 = PahoV3.connect(rig.mqttUrl(), id("sub3"))) {
      sub.subscribe(t + "/#", 1);
      sub3.subscribe(t + "/+/set", 1);
      Headers h = new Headers();
      h.add("origin", "scada");
      nc.publish(NatsMessage.builder().subject(t + ".valve-3.set").headers(h)
          .data("open".getBytes(StandardCharsets.UTF_8)).build());
      PahoV5.Received r = sub.next();
      assertEquals(t + "/valve-3/set", r.topic());
      assertEquals("open", r.payload());
      assertEquals(0, r.qos(), "NATS messages are QoS 0 for MQTT subscribers");
      assertEquals(List.of(new UserProperty("origin", "scada")), r.props().getUserProperties());
      PahoV3.Received r3 = sub3.next();
      assertEquals(t + "/valve-3/set", r3.topic());
      assertEquals("open", r3.payload());
    }
  }

  @Test
  void subjectsMqttCannotExpressArriveEscaped() throws Exception {
    String t = id("esc");
    try (PahoV5 sub = PahoV5.connect(rig.mqttUrl(), id("sub"))) {
      sub.subscribe(t + "/+/c", 0);
      nc.publish(t + ".a/b.c", "slash".getBytes(StandardCharsets.UTF_8));
      nc.publish(t + ".50%.c", "percent".getBytes(StandardCharsets.UTF_8));
      PahoV5.Received r = sub.next();
      assertEquals(t + "/a%2Fb/c", r.topic());
      assertEquals("slash", r.payload());
      PahoV5.Received q = sub.next();
      assertEquals(t + "/50%/c", q.topic());
    }
  }

  @Test
  void leadingWildcardsDoNotMatchDollarSubjects() throws Exception {
    String t = id("d");
    try (PahoV5 all = PahoV5.connect(rig.mqttUrl(), id("all"));
         PahoV5 sys = PahoV5.connect(rig.mqttUrl(), id("sys"))) {
      all.subscribe("#", 0);
      sys.subscribe("$SYS/" + t + "/#", 0);
      nc.publish("$SYS." + t + ".x", "system".getBytes(StandardCharsets.UTF_8));
      nc.publish(t + ".x", "plain".getBytes(StandardCharsets.UTF_8));
      assertEquals("$SYS/" + t + "/x", sys.next().topic());
      Await.until(T, () -> all.messages.stream().anyMatch(m -> m.topic().equals(t + "/x")) ? null : "plain not seen");
      assertTrue(all.messages.stream().noneMatch(m -> m.topic().startsWith("$")), "a $ topic matched #");
    }
  }

  @Test
  void mqttRequestAnsweredByNatsResponder() throws Exception {
    String t = id("svc");
    Dispatcher d = nc.createDispatcher(m -> {
      Headers h = new Headers();
      h.add("served-by", "nats");
      nc.publish(NatsMessage.builder().subject(m.getReplyTo()).headers(h)
          .data(("echo:" + text(m)).getBytes(StandardCharsets.UTF_8)).build());
    });
    d.subscribe(t + ".echo");
    nc.flush(T);
    try (PahoV5 req = PahoV5.connect(rig.mqttUrl(), id("req"))) {
      req.subscribe(t + "/replies/me", 1);
      MqttProperties p = new MqttProperties();
      p.setResponseTopic(t + "/replies/me");
      p.setCorrelationData("corr-9".getBytes(StandardCharsets.UTF_8));
      req.publish(t + "/echo", "hello", 1, false, p);
      PahoV5.Received r = req.next();
      assertEquals(t + "/replies/me", r.topic());
      assertEquals("echo:hello", r.payload());
      assertArrayEquals("corr-9".getBytes(StandardCharsets.UTF_8), r.props().getCorrelationData());
      assertEquals(List.of(new UserProperty("served-by", "nats")), r.props().getUserProperties());
    } finally {
      nc.closeDispatcher(d);
    }
  }

  @Test
  void natsRequestAnsweredByMqttResponder() throws Exception {
    String t = id("dev");
    try (PahoV5 responder = PahoV5.connect(rig.mqttUrl(), id("resp"))) {
      responder.subscribe(t + "/status/get", 1);
      Thread answering = new Thread(() -> {
        try {
          PahoV5.Received q = responder.next();
          responder.publish(q.props().getResponseTopic(), "ok:" + q.payload(), 1, false, null);
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      });
      answering.start();
      Message reply = nc.request(t + ".status.get", "now".getBytes(StandardCharsets.UTF_8), T);
      answering.join(5000);
      assertNotNull(reply);
      assertEquals("ok:now", text(reply));
    }
  }

  @Test
  void qos1IntoAStreamIsAcknowledgedAfterTheCommit() throws Exception {
    String t = id("tele");
    JetStreamManagement jsm = nc.jetStreamManagement();
    jsm.addStream(StreamConfiguration.builder().name(t.toUpperCase()).subjects(t + ".>")
        .storageType(StorageType.File).build());
    try (PahoV5 pub = PahoV5.connect(rig.mqttUrl(), id("pub"))) {
      for (int i = 1; i <= 5; i++) {
        assertArrayEquals(new int[] {0}, pub.publish(t + "/s" + i, "v" + i, 1, false, null));
        // The PUBACK came back: the stream holds the message already.
        assertEquals(i, jsm.getStreamInfo(t.toUpperCase()).getStreamState().getMsgCount());
      }
      assertArrayEquals(new int[] {0, 0}, pub.publish(t + "/s2", "q2", 2, false, null)); // PUBREC, PUBCOMP
      assertEquals(6, jsm.getStreamInfo(t.toUpperCase()).getStreamState().getMsgCount());
      assertEquals("v3", new String(jsm.getMessage(t.toUpperCase(), 3).getData(), StandardCharsets.UTF_8));
      assertEquals(t + ".s3", jsm.getMessage(t.toUpperCase(), 3).getSubject());
    }
  }

  @Test
  void aFullStreamRefusesQos1WithQuotaExceededOrClosesAV3Client() throws Exception {
    String t = id("full");
    JetStreamManagement jsm = nc.jetStreamManagement();
    jsm.addStream(StreamConfiguration.builder().name(t.toUpperCase()).subjects(t + ".>").maxMessages(1)
        .discardPolicy(DiscardPolicy.New).storageType(StorageType.File).build());
    try (PahoV5 pub = PahoV5.connect(rig.mqttUrl(), id("pub"))) {
      assertArrayEquals(new int[] {0}, pub.publish(t + "/a", "1", 1, false, null));
      assertArrayEquals(new int[] {0x97}, pub.publish(t + "/a", "2", 1, false, null));
      assertEquals(0x97, pub.publish(t + "/a", "3", 2, false, null)[0]); // PUBREC 0x97 ends the QoS 2 exchange
    }
    try (RawMqttClient v3 = new RawMqttClient(rig.mqttPort(), io.netty.handler.codec.mqtt.MqttVersion.MQTT_3_1_1)) {
      v3.send(RawMqttClient.connect(io.netty.handler.codec.mqtt.MqttVersion.MQTT_3_1_1, id("raw"), true, 30, null));
      assertNotNull(v3.receive(io.netty.handler.codec.mqtt.MqttMessageType.CONNACK, T));
      v3.send(RawMqttClient.publish(t + "/a", 1, 4, "x", null));
      // v3 cannot refuse a publish: no PUBACK, the connection closes so the client sends it again later.
      assertTrue(v3.awaitClosed(T));
    }
    assertEquals(1, jsm.getStreamInfo(t.toUpperCase()).getStreamState().getMsgCount());
  }

  @Test
  void sharedSubscriptionsAreNatsQueueGroups() throws Exception {
    String t = id("work");
    try (PahoV5 mqttWorker = PahoV5.connect(rig.mqttUrl(), id("w"))) {
      mqttWorker.subscribe("$share/jobs/" + t + "/#", 0);
      Subscription natsWorker = nc.subscribe(t + ".>", "jobs");
      nc.flush(T);
      int n = 60;
      for (int i = 0; i < n; i++) {
        nc.publish(t + ".job", Integer.toString(i).getBytes(StandardCharsets.UTF_8));
      }
      nc.flush(T);
      int[] nats = new int[1];
      Await.until(T, () -> {
        try {
          while (natsWorker.nextMessage(Duration.ofMillis(1)) != null) {
            nats[0]++;
          }
        } catch (InterruptedException e) {
          throw new IllegalStateException(e);
        }
        return nats[0] + mqttWorker.messages.size() == n ? null : (nats[0] + mqttWorker.messages.size()) + " of " + n;
      });
      assertTrue(nats[0] > 0 && !mqttWorker.messages.isEmpty(), "both members get work: " + nats[0]);
    }
  }
}
