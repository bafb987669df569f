package io.leafgate.it.mqtt;

import io.leafgate.it.harness.Await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** MQTT 3.1.1 with the real Paho v3 client against leafgate. */
class MqttPahoV3Test {
  private static final Duration QUIET = Duration.ofMillis(300);
  @TempDir
  static Path tmp;
  static MqttRig rig;
  private static int ids;

  @BeforeAll
  static void start() throws Exception {
    rig = MqttRig.start(tmp);
  }

  @AfterAll
  static void stop() {
    rig.close();
  }

  private static String id(String base) {
    return base + (++ids);
  }

  @Test
  void qos0And1And2() throws Exception {
    String t = id("v3q");
    try (PahoV3 sub = PahoV3.connect(rig.mqttUrl(), id("sub"));
         PahoV3 pub = PahoV3.connect(rig.mqttUrl(), id("pub"))) {
      assertArrayEquals(new int[] {2}, sub.subscribe(t + "/+", 2));
      for (int qos = 0; qos <= 2; qos++) {
        pub.publish(t + "/" + qos, "m" + qos, qos);
        PahoV3.Received r = sub.next();
        assertEquals(t + "/" + qos, r.topic());
        assertEquals("m" + qos, r.payload());
        assertEquals(qos, r.qos());
        assertFalse(r.retained());
      }
    }
  }

  @Test
  void retainedMessages() throws Exception {
    String t = id("v3r");
    try (PahoV3 pub = PahoV3.connect(rig.mqttUrl(), id("pub"))) {
      pub.publish(t + "/state", "on", 1, true);
      try (PahoV3 sub = PahoV3.connect(rig.mqttUrl(), id("sub"))) {
        sub.subscribe(t + "/#", 1);
        PahoV3.Received r = sub.next();
        assertEquals("on", r.payload());
        assertTrue(r.retained());
      }
      pub.publish(t + "/state", "", 1, true);
      try (PahoV3 sub = PahoV3.connect(rig.mqttUrl(), id("sub"))) {
        sub.subscribe(t + "/#", 1);
        assertNull(sub.next(QUIET));
      }
    }
  }

  @Test
  void persistentSessionWithTheClientsOwnStore() throws Exception {
    String t = id("v3p");
    String cid = id("dev");
    MemoryPersistence clientStore = new MemoryPersistence();
    try (PahoV3 c = PahoV3.connect(rig.mqttUrl(), cid, clientStore, o -> o.setCleanSession(false))) {
      assertFalse(c.sessionPresent());
      c.subscribe(t + "/cmd", 2);
    }
    try (PahoV3 pub = PahoV3.connect(rig.mqttUrl(), id("pub"))) {
      for (int i = 0; i < 20; i++) {
        pub.publish(t + "/cmd", "c" + i, i % 2 + 1);
      }
    }
    try (PahoV3 c = PahoV3.connect(rig.mqttUrl(), cid, clientStore, o -> o.setCleanSession(false))) {
      assertTrue(c.sessionPresent());
      // In order within each QoS (Paho hands QoS 2 messages over at PUBREL, so the two interleave).
      java.util.List<String> q1 = new java.util.ArrayList<>();
      java.util.List<String> q2 = new java.util.ArrayList<>();
      for (int i = 0; i < 20; i++) {
        PahoV3.Received r = c.next();
        (r.qos() == 1 ? q1 : q2).add(r.payload());
        assertEquals(Integer.parseInt(r.payload().substring(1)) % 2 + 1, r.qos());
      }
      assertEquals(java.util.stream.IntStream.range(0, 10).mapToObj(i -> "c" + (2 * i)).toList(), q1);
      assertEquals(java.util.stream.IntStream.range(0, 10).mapToObj(i -> "c" + (2 * i + 1)).toList(), q2);
      assertNull(c.next(QUIET));
    }
  }

  @Test
  void willOnConnectionLoss() throws Exception {
    String t = id("v3w");
    try (PahoV3 watcher = PahoV3.connect(rig.mqttUrl(), id("w"))) {
      watcher.subscribe(t + "/lwt", 1);
      PahoV3 dev = PahoV3.connect(rig.mqttUrl(), id("dev"), o ->
          o.setWill(t + "/lwt", "lost".getBytes(StandardCharsets.UTF_8), 1, true));
      dev.drop();
      dev.close();
      PahoV3.Received r = watcher.next();
      assertEquals("lost", r.payload());
      // The will was retained: a later subscriber sees it.
      try (PahoV3 late = PahoV3.connect(rig.mqttUrl(), id("late"))) {
        late.subscribe(t + "/lwt", 1);
        assertTrue(late.next().retained());
      }
    }
  }

  @Test
  void takeoverClosesTheOldConnection() throws Exception {
    String cid = id("twin");
    PahoV3 first = PahoV3.connect(rig.mqttUrl(), cid);
    try (PahoV3 second = PahoV3.connect(rig.mqttUrl(), cid)) {
      Await.until(Duration.ofSeconds(5), () -> first.lost != null ? null : "the first connection is still up");
      assertTrue(second.client.isConnected());
    } finally {
      first.close();
    }
  }
}
