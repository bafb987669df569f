package io.leafgate.it.mqtt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.nats.client.Connection;
import io.nats.client.Message;
import io.nats.client.Nats;
import io.nats.client.Subscription;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The topic ↔ subject mapping, differentially against nats-server's own MQTT listener (Debian's
 * nats-server 2.9.10, MQTT 3.1.1): the same MQTT publishes and subscriptions on both servers, with
 * a NATS client (jnats) on each side comparing subjects and topics. Where leafgate differs on
 * purpose, the test says so and checks both behaviours: {@code .} inside a level (nats-server 2.10's
 * {@code //} rule, which 2.9 refuses by closing the connection) and NATS subjects with a bare
 * {@code /} (nats-server 2.9 makes it a level separator, 2.10 drops it; leafgate percent-encodes it).
 */
class MqttNatsServerMappingTest {
  private static final Duration T = Duration.ofSeconds(5);
  @TempDir
  static Path tmp;
  static MqttRig rig;
  static NatsServerMqtt ref;

  /** Topic names from nats-server's table test and edge-anchors §1.3 that both servers accept. */
  static final List<String> TOPICS = List.of(
      "/", "//", "///", "////", "foo", "/foo", "//foo", "///foo", "///foo/", "///foo//", "///foo///",
      "foo/bar", "/foo/bar", "/foo/bar/", "foo/bar/baz", "/foo/bar/baz", "/foo/bar/baz/", "bar/", "bar//",
      "bar///", "foo//bar", "foo///bar", "foo////bar", "sensors/cold-1/temp", "foo*/bar", "foo/*/bar",
      "température/salle-1");

  @BeforeAll
  static void start() throws Exception {
    ref = NatsServerMqtt.start(tmp.resolve("nats-server"));
    rig = MqttRig.start(tmp.resolve("leafgate"));
  }

  @AfterAll
  static void stop() {
    if (rig != null) {
      rig.close();
    }
    if (ref != null) {
      ref.close();
    }
  }

  /** Publishes each topic from MQTT and returns the subject a NATS client received for it. */
  private static Map<String, String> subjectsFor(String mqttUrl, String natsUrl, List<String> topics) throws Exception {
    Map<String, String> out = new LinkedHashMap<>();
    try (Connection nc = Nats.connect(natsUrl); PahoV3 pub = PahoV3.connect(mqttUrl, "mapper")) {
      Subscription all = nc.subscribe(">");
      nc.flush(T);
      for (int i = 0; i < topics.size(); i++) {
        pub.publish(topics.get(i), Integer.toString(i), 1);
      }
      while (out.size() < topics.size()) {
        Message m = all.nextMessage(T);
        assertNotNull(m, "only " + out.size() + " of " + topics.size() + " arrived on " + natsUrl + ": " + out);
        if (m.getSubject().startsWith("$")) {
          continue; // nats-server's own MQTT bookkeeping
        }
        int i = Integer.parseInt(new String(m.getData(), StandardCharsets.UTF_8));
        out.put(topics.get(i), m.getSubject());
      }
    }
    return out;
  }

  @Test
  void mqttTopicsBecomeTheSameSubjectsOnBothServers() throws Exception {
    Map<String, String> theirs = subjectsFor(ref.mqttUrl(), ref.natsUrl(), TOPICS);
    Map<String, String> ours = subjectsFor(rig.mqttUrl(), rig.natsUrl(), TOPICS);
    assertEquals(theirs, ours);
    // A few rows of the table, spelled out.
    assertEquals("/./", ours.get("/"));
    assertEquals("foo./.bar", ours.get("foo//bar"));
    assertEquals("/././.foo./././", ours.get("///foo///"));
    assertEquals("foo*.bar", ours.get("foo*/bar"));
  }

  @Test
  void dotsInsideALevelFollowNatsServer210() throws Exception {
    // nats-server 2.9 refuses the topic by closing the connection; leafgate maps '.' to '//' as 2.10 does.
    String url = ref.mqttUrl();
    try (RawMqttClient c = new RawMqttClient(Integer.parseInt(url.substring(url.lastIndexOf(':') + 1)),
        io.netty.handler.codec.mqtt.MqttVersion.MQTT_3_1_1)) {
      c.send(RawMqttClient.connect(io.netty.handler.codec.mqtt.MqttVersion.MQTT_3_1_1, "dotty", true, 30, null));
      assertNotNull(c.receive(io.netty.handler.codec.mqtt.MqttMessageType.CONNACK, T));
      c.sendRaw(RawMqttClient.rawPublish("spBv1.0/plant1", "x", false));
      assertTrue(c.awaitClosed(T), "nats-server 2.9 kept a client that published to a topic with a dot");
    }
    Map<String, String> ours = subjectsFor(rig.mqttUrl(), rig.natsUrl(), List.of("spBv1.0/plant1", ".", "foo.", "a..b"));
    assertEquals(Map.of("spBv1.0/plant1", "spBv1//0.plant1", ".", "//", "foo.", "foo//", "a..b", "a////b"), ours);
  }

  /** Publishes each subject from NATS and returns the topic an MQTT subscriber of {@code #} received. */
  private static Map<String, String> topicsFor(String mqttUrl, String natsUrl, List<String> subjects) throws Exception {
    Map<String, String> out = new LinkedHashMap<>();
    try (Connection nc = Nats.connect(natsUrl); PahoV3 sub = PahoV3.connect(mqttUrl, "reverse")) {
      sub.subscribe("#", 0);
      for (int i = 0; i < subjects.size(); i++) {
        nc.publish(subjects.get(i), Integer.toString(i).getBytes(StandardCharsets.UTF_8));
      }
      nc.flush(T);
      while (out.size() < subjects.size()) {
        PahoV3.Received r = sub.next();
        if (r.topic().startsWith("$")) {
          continue; // nats-server 2.9 lets '#' match its own $MQTT bookkeeping; MQTT 4.7.2 says it must not
        }
        int i = Integer.parseInt(r.payload());
        out.put(subjects.get(i), r.topic());
      }
    }
    return out;
  }

  @Test
  void natsSubjectsBecomeTheSameTopicsOnBothServers() throws Exception {
    List<String> subjects = new ArrayList<>();
    for (String t : TOPICS) {
      subjects.add(io.leafgate.mqtt.topic.TopicMapper.toSubject(t));
    }
    subjects.add("plain.nats.subject");
    subjects.add("_INBOX.abc123.1");
    assertEquals(topicsFor(ref.mqttUrl(), ref.natsUrl(), subjects), topicsFor(rig.mqttUrl(), rig.natsUrl(), subjects));
  }

  @Test
  void aBareSlashIsAmbiguousInNatsServerAndEncodedByLeafgate() throws Exception {
    List<String> subjects = List.of("site.a/b.c", "site.a.b.c", "x.50%/y");
    Map<String, String> theirs = topicsFor(ref.mqttUrl(), ref.natsUrl(), subjects);
    Map<String, String> ours = topicsFor(rig.mqttUrl(), rig.natsUrl(), subjects);
    // nats-server 2.9 turns the slash into a level separator, so two subjects share one topic (2.10+
    // drops the slash instead, edge-anchors §1.3); leafgate keeps them apart.
    assertEquals("site/a/b/c", theirs.get("site.a/b.c"));
    assertEquals(theirs.get("site.a.b.c"), theirs.get("site.a/b.c"));
    assertEquals("site/a/b/c", ours.get("site.a.b.c"));
    assertEquals("site/a%2Fb/c", ours.get("site.a/b.c"));
    assertEquals("x/50%25%2Fy", ours.get("x.50%/y"));
  }

  /** Which of {@code subjects} (published from NATS) an MQTT subscriber of {@code filter} receives. */
  private static List<String> matched(String mqttUrl, String natsUrl, String filter, List<String> subjects)
      throws Exception {
    List<String> got = new ArrayList<>();
    try (Connection nc = Nats.connect(natsUrl); PahoV3 sub = PahoV3.connect(mqttUrl, "filter")) {
      sub.subscribe(filter, 0);
      for (String s : subjects) {
        nc.publish(s, s.getBytes(StandardCharsets.UTF_8));
      }
      nc.publish("end.of.test", "end".getBytes(StandardCharsets.UTF_8));
      sub.subscribe("end/of/test", 0);
      nc.publish("end.of.test", "end".getBytes(StandardCharsets.UTF_8));
      nc.flush(T);
      while (true) {
        PahoV3.Received r = sub.next();
        if (r.payload().equals("end")) {
          if (r.topic().equals("end/of/test")) {
            break;
          }
          continue;
        }
        got.add(r.payload());
      }
    }
    return got;
  }

  @Test
  void filtersMatchTheSameSubjectsOnBothServers() throws Exception {
    List<String> subjects = List.of("foo", "foo.bar", "foo.bar.baz", "foox", "/.foo", "foo./", "bar.foo", "/./");
    for (String filter : List.of("foo/#", "foo/+", "+/foo", "/+", "+/", "foo/bar/#", "+/+")) {
      List<String> theirs = matched(ref.mqttUrl(), ref.natsUrl(), filter, subjects);
      List<String> ours = matched(rig.mqttUrl(), rig.natsUrl(), filter, subjects);
      assertEquals(theirs, ours, "filter " + filter);
    }
    assertEquals(List.of("foo", "foo.bar", "foo.bar.baz", "foo./"),
        matched(rig.mqttUrl(), rig.natsUrl(), "foo/#", subjects), "a/# also matches a");
  }

  @Test
  void wildcardsInPublishTopicsAreRefusedByBoth() throws Exception {
    for (String url : List.of(ref.mqttUrl(), rig.mqttUrl())) {
      try (RawMqttClient c = new RawMqttClient(Integer.parseInt(url.substring(url.lastIndexOf(':') + 1)),
          io.netty.handler.codec.mqtt.MqttVersion.MQTT_3_1_1)) {
        c.send(RawMqttClient.connect(io.netty.handler.codec.mqtt.MqttVersion.MQTT_3_1_1, "wild", true, 30, null));
        assertNotNull(c.receive(io.netty.handler.codec.mqtt.MqttMessageType.CONNACK, T));
        c.sendRaw(RawMqttClient.rawPublish("a/+", "x", false));
        assertTrue(c.awaitClosed(T), url + " kept a client that published to a/+");
      }
    }
  }
}
