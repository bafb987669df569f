package io.leafgate.it.mqtt;

import io.leafgate.it.harness.Await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.eclipse.paho.mqttv5.common.MqttSubscription;
import org.eclipse.paho.mqttv5.common.packet.MqttProperties;
import org.eclipse.paho.mqttv5.common.packet.UserProperty;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** MQTT 5 features with the real Paho v5 client against leafgate. */
class MqttPahoV5Test {
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
    return base + "-" + (++ids);
  }

  @Test
  void connackTellsTheClientOurLimitsAndItsAssignedId() throws Exception {
    try (PahoV5 c = PahoV5.connect(rig.mqttUrl(), "", o -> o.setKeepAliveInterval(0))) {
      MqttProperties p = c.connack();
      assertEquals(1024, p.getReceiveMaximum());
      assertEquals(64, p.getTopicAliasMaximum());
      assertTrue(p.getMaximumPacketSize() > 1_000_000);
      assertTrue(p.getAssignedClientIdentifier().startsWith("lg-"), p.getAssignedClientIdentifier());
      assertEquals(3600, p.getServerKeepAlive());
      assertFalse(c.sessionPresent());
    }
  }

  @Test
  void qos0And1And2BothWays() throws Exception {
    String t = id("q");
    try (PahoV5 sub = PahoV5.connect(rig.mqttUrl(), id("sub"));
         PahoV5 pub = PahoV5.connect(rig.mqttUrl(), id("pub"))) {
      assertArrayEquals(new int[] {2}, sub.subscribe(t + "/#", 2));
      for (int qos = 0; qos <= 2; qos++) {
        pub.publish(t + "/" + qos, "m" + qos, qos);
        PahoV5.Received r = sub.next();
        assertEquals(t + "/" + qos, r.topic());
        assertEquals("m" + qos, r.payload());
        assertEquals(qos, r.qos());
      }
      // The subscription's maximum QoS caps the delivery.
      assertArrayEquals(new int[] {1}, sub.subscribe(t + "/#", 1));
      pub.publish(t + "/x", "capped", 2);
      assertEquals(1, sub.next().qos());
    }
  }

  @Test
  void noMatchingSubscribersAndNotAuthorizedAreReasonCodes() throws Exception {
    try (PahoV5 pub = PahoV5.connect(rig.mqttUrl(), id("pub"))) {
      assertArrayEquals(new int[] {0x10}, pub.publish(id("nobody"), "x", 1, false, null));
      // The internal namespace is refused like a permission.
      assertArrayEquals(new int[] {0x87}, pub.publish("$MQTT/sess/x", "x", 1, false, null));
    }
  }

  @Test
  void userPropertiesContentTypeAndCorrelationArriveAsPublished() throws Exception {
    String t = id("props");
    try (PahoV5 sub = PahoV5.connect(rig.mqttUrl(), id("sub"));
         PahoV5 pub = PahoV5.connect(rig.mqttUrl(), id("pub"))) {
      sub.subscribe(t, 1);
      MqttProperties p = new MqttProperties();
      List<UserProperty> up = new ArrayList<>();
      up.add(new UserProperty("site", "plant-1"));
      up.add(new UserProperty("site", "plant-2"));
      up.add(new UserProperty("key with space", "v"));
      p.setUserProperties(up);
      p.setContentType("application/json");
      p.setPayloadFormat(true);
      p.setCorrelationData("c-1".getBytes(StandardCharsets.UTF_8));
      p.setResponseTopic(t + "/reply");
      pub.publish(t, "{}", 1, false, p);
      PahoV5.Received r = sub.next();
      assertEquals(up, r.props().getUserProperties());
      assertEquals("application/json", r.props().getContentType());
      assertTrue(r.props().getPayloadFormat());
      assertEquals("c-1", new String(r.props().getCorrelationData(), StandardCharsets.UTF_8));
      assertEquals(t + "/reply", r.props().getResponseTopic());
    }
  }

  @Test
  void messageExpiryDropsWhatWaitedTooLongAndCountsDown() throws Exception {
    String t = id("exp");
    try (PahoV5 pub = PahoV5.connect(rig.mqttUrl(), id("pub"))) {
      MqttProperties p = new MqttProperties();
      p.setMessageExpiryInterval(60L);
      pub.publish(t, "retained-60", 1, true, p);
      MqttProperties q = new MqttProperties();
      q.setMessageExpiryInterval(1L);
      pub.publish(t + "/short", "retained-1", 1, true, q);
      try (PahoV5 sub = PahoV5.connect(rig.mqttUrl(), id("sub"))) {
        sub.subscribe(t, 1);
        PahoV5.Received r = sub.next();
        assertEquals("retained-60", r.payload());
        long left = r.props().getMessageExpiryInterval();
        assertTrue(left > 0 && left <= 60, "expiry interval " + left);
      }
      // The 1 s message expires: a subscriber arriving after 1.5 s gets nothing.
      long deadline = System.currentTimeMillis() + 1500;
      Await.until(Duration.ofSeconds(3), () -> System.currentTimeMillis() >= deadline ? null : "waiting for expiry");
      try (PahoV5 late = PahoV5.connect(rig.mqttUrl(), id("late"))) {
        late.subscribe(t + "/short", 1);
        assertNull(late.next(QUIET), "an expired retained message was delivered");
      }
    }
  }

  @Test
  void topicAliasesAreResolved() throws Exception {
    String t = id("alias");
    try (PahoV5 sub = PahoV5.connect(rig.mqttUrl(), id("sub"));
         PahoV5 pub = PahoV5.connect(rig.mqttUrl(), id("pub"), o -> o.setTopicAliasMaximum(10))) {
      sub.subscribe(t + "/long/topic/name", 0);
      // Paho sets the alias on the first publish and sends an empty topic with the alias after.
      pub.publish(t + "/long/topic/name", "1", 0);
      pub.publish(t + "/long/topic/name", "2", 0);
      pub.publish(t + "/long/topic/name", "3", 1);
      assertEquals(t + "/long/topic/name", sub.next().topic());
      assertEquals("2", sub.next().payload());
      PahoV5.Received third = sub.next();
      assertEquals(t + "/long/topic/name", third.topic());
      assertEquals("3", third.payload());
    }
  }

  @Test
  void retainHandlingAndRetainAsPublished() throws Exception {
    String t = id("rh");
    try (PahoV5 pub = PahoV5.connect(rig.mqttUrl(), id("pub"));
         PahoV5 sub = PahoV5.connect(rig.mqttUrl(), id("sub"))) {
      pub.publish(t, "kept", 1, true, null);
      // retain handling 2: no retained message at subscribe time
      MqttSubscription s2 = new MqttSubscription(t, 1);
      s2.setRetainHandling(2);
      sub.subscribe(s2, new MqttProperties());
      assertNull(sub.next(QUIET));
      // retain handling 1: only for a new subscription (this one exists)
      MqttSubscription s1 = new MqttSubscription(t, 1);
      s1.setRetainHandling(1);
      sub.subscribe(s1, new MqttProperties());
      assertNull(sub.next(QUIET));
      // retain handling 0: always, with the RETAIN flag set
      sub.subscribe(new MqttSubscription(t, 1), new MqttProperties());
      PahoV5.Received r = sub.next();
      assertEquals("kept", r.payload());
      assertTrue(r.retained());
      // A live message: RETAIN cleared, unless retain-as-published
      pub.publish(t, "live", 1, true, null);
      assertFalse(sub.next().retained());
      MqttSubscription rap = new MqttSubscription(t, 1);
      rap.setRetainAsPublished(true);
      rap.setRetainHandling(2);
      sub.subscribe(rap, new MqttProperties());
      pub.publish(t, "live2", 1, true, null);
      assertTrue(sub.next().retained());
      // An empty retained message deletes it.
      pub.publish(t, "", 1, true, null);
      sub.next();
      try (PahoV5 late = PahoV5.connect(rig.mqttUrl(), id("late"))) {
        late.subscribe(t, 1);
        assertNull(late.next(QUIET), "the retained message was not deleted");
      }
    }
  }

  @Test
  void noLocalKeepsOwnMessagesAway() throws Exception {
    String t = id("nl");
    try (PahoV5 c = PahoV5.connect(rig.mqttUrl(), id("c"))) {
      MqttSubscription s = new MqttSubscription(t, 1);
      s.setNoLocal(true);
      c.subscribe(s, new MqttProperties());
      c.publish(t, "mine", 1);
      assertNull(c.next(QUIET));
      try (PahoV5 other = PahoV5.connect(rig.mqttUrl(), id("o"))) {
        other.publish(t, "theirs", 1);
      }
      assertEquals("theirs", c.next().payload());
    }
  }

  @Test
  void subscriptionIdentifiersComeBack() throws Exception {
    String t = id("sid");
    try (PahoV5 c = PahoV5.connect(rig.mqttUrl(), id("c"))) {
      MqttProperties p = new MqttProperties();
      p.setSubscriptionIdentifier(42);
      c.subscribe(new MqttSubscription(t + "/+", 1), p);
      c.publish(t + "/a", "x", 1);
      assertEquals(List.of(42), c.next().props().getSubscriptionIdentifiers());
    }
  }

  @Test
  void sharedSubscriptionsSplitMessagesAcrossTheGroup() throws Exception {
    String t = id("share");
    try (PahoV5 a = PahoV5.connect(rig.mqttUrl(), id("a"));
         PahoV5 b = PahoV5.connect(rig.mqttUrl(), id("b"));
         PahoV5 pub = PahoV5.connect(rig.mqttUrl(), id("pub"))) {
      a.subscribe("$share/g/" + t + "/#", 1);
      b.subscribe("$share/g/" + t + "/#", 1);
      int n = 40;
      for (int i = 0; i < n; i++) {
        pub.publish(t + "/" + i, Integer.toString(i), 1);
      }
      Set<String> seen = new HashSet<>();
      int[] from = new int[2];
      Await.until(Duration.ofSeconds(10), () -> {
        PahoV5.Received r;
        while ((r = a.messages.poll()) != null) {
          assertTrue(seen.add(r.payload()), "delivered twice: " + r.payload());
          from[0]++;
        }
        while ((r = b.messages.poll()) != null) {
          assertTrue(seen.add(r.payload()), "delivered twice: " + r.payload());
          from[1]++;
        }
        return seen.size() == n ? null : seen.size() + " of " + n + " received";
      });
      int fromA = from[0];
      int fromB = from[1];
      assertEquals(n, seen.size());
      assertTrue(fromA > 0 && fromB > 0, "one member got everything: " + fromA + "/" + fromB);
    }
  }

  @Test
  void willWithDelayIsCancelledByAQuickReturnAndSentOtherwise() throws Exception {
    String t = id("will");
    try (PahoV5 watcher = PahoV5.connect(rig.mqttUrl(), id("w"))) {
      watcher.subscribe(t, 1);
      String cid = id("dev");
      PahoV5 dev = PahoV5.connect(rig.mqttUrl(), cid, o -> {
        o.setCleanStart(false);
        o.setSessionExpiryInterval(60L);
        MqttProperties wp = new MqttProperties();
        wp.setWillDelayInterval(2L);
        o.setWillMessageProperties(wp);
        o.setWill(t, new org.eclipse.paho.mqttv5.common.MqttMessage("gone".getBytes(StandardCharsets.UTF_8), 1, false, null));
      });
      dev.drop();
      dev.close();
      // Back within the delay: no will.
      try (PahoV5 back = PahoV5.connect(rig.mqttUrl(), cid, o -> {
        o.setCleanStart(false);
        o.setSessionExpiryInterval(60L);
      })) {
        assertTrue(back.sessionPresent());
        assertNull(watcher.next(Duration.ofMillis(2500)), "the will was sent although the session came back");
      }
      // A will without delay goes out at once when the connection drops.
      PahoV5 dev2 = PahoV5.connect(rig.mqttUrl(), id("dev2"), o ->
          o.setWill(t, new org.eclipse.paho.mqttv5.common.MqttMessage("gone2".getBytes(StandardCharsets.UTF_8), 1, false, null)));
      dev2.drop();
      dev2.close();
      assertEquals("gone2", watcher.next().payload());
      // A normal DISCONNECT discards the will.
      PahoV5 dev3 = PahoV5.connect(rig.mqttUrl(), id("dev3"), o ->
          o.setWill(t, new org.eclipse.paho.mqttv5.common.MqttMessage("gone3".getBytes(StandardCharsets.UTF_8), 1, false, null)));
      dev3.close();
      assertNull(watcher.next(QUIET));
    }
  }

  @Test
  void sessionTakeoverDisconnectsTheOldConnectionWith0x8E() throws Exception {
    String cid = id("twin");
    PahoV5 first = PahoV5.connect(rig.mqttUrl(), cid);
    try (PahoV5 second = PahoV5.connect(rig.mqttUrl(), cid)) {
      Await.until(Duration.ofSeconds(5), () -> first.disconnected != null ? null : "first still connected");
      assertEquals(0x8E, first.disconnected.getReturnCode());
      assertTrue(second.client.isConnected());
    } finally {
      first.close();
    }
  }

  @Test
  void persistentSessionKeepsSubscriptionAndQueuesWhileAway() throws Exception {
    String t = id("persist");
    String cid = id("p");
    try (PahoV5 c = PahoV5.connect(rig.mqttUrl(), cid, o -> {
      o.setCleanStart(true);
      o.setSessionExpiryInterval(300L);
    })) {
      c.subscribe(t + "/+", 2);
    }
    try (PahoV5 pub = PahoV5.connect(rig.mqttUrl(), id("pub"))) {
      pub.publish(t + "/1", "q1", 1);
      pub.publish(t + "/2", "q2", 2);
      pub.publish(t + "/0", "q0", 0);
    }
    try (PahoV5 c = PahoV5.connect(rig.mqttUrl(), cid, o -> {
      o.setCleanStart(false);
      o.setSessionExpiryInterval(300L);
    })) {
      assertTrue(c.sessionPresent());
      assertEquals("q1", c.next().payload());
      assertEquals("q2", c.next().payload());
      assertNull(c.next(QUIET), "QoS 0 is not queued for an absent client");
    }
    // Clean start discards the session.
    try (PahoV5 c = PahoV5.connect(rig.mqttUrl(), cid)) {
      assertFalse(c.sessionPresent());
    }
  }

  @Test
  void requestResponseBetweenMqttClients() throws Exception {
    String t = id("rr");
    try (PahoV5 responder = PahoV5.connect(rig.mqttUrl(), id("resp"));
         PahoV5 requester = PahoV5.connect(rig.mqttUrl(), id("req"))) {
      responder.subscribe(t + "/req", 1);
      requester.subscribe(t + "/resp/+", 1);
      MqttProperties p = new MqttProperties();
      p.setResponseTopic(t + "/resp/1");
      p.setCorrelationData(new byte[] {1, 2, 3});
      requester.publish(t + "/req", "ping", 1, false, p);
      PahoV5.Received req = responder.next();
      MqttProperties rp = new MqttProperties();
      rp.setCorrelationData(req.props().getCorrelationData());
      responder.publish(req.props().getResponseTopic(), "pong", 1, false, rp);
      PahoV5.Received resp = requester.next();
      assertEquals("pong", resp.payload());
      assertArrayEquals(new byte[] {1, 2, 3}, resp.props().getCorrelationData());
      assertNotNull(resp.topic());
    }
  }
}
