package io.leafgate.it.jetstream;

import io.leafgate.it.harness.Await;
import static io.leafgate.it.jetstream.Clients.bytes;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.nats.client.Connection;
import io.nats.client.Dispatcher;
import io.nats.client.JetStream;
import io.nats.client.JetStreamManagement;
import io.nats.client.JetStreamSubscription;
import io.nats.client.Message;
import io.nats.client.PushSubscribeOptions;
import io.nats.client.api.AckPolicy;
import io.nats.client.api.ConsumerConfiguration;
import io.nats.client.api.StreamConfiguration;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** §14 D: push consumers with jnats: sync ephemeral, heartbeats and flow control, queues, ordered, cleanup. */
class JsPushTest extends JsTestBase {
  private static void stream(String name, String subjects) throws Exception {
    jsm.addStream(StreamConfiguration.builder().name(name).subjects(subjects).build());
  }

  /** Lets time pass (an idle period that heartbeats must fill); not a wait for a condition. */
  private static void idle(long millis) throws InterruptedException {
    long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
    while (System.nanoTime() < until) {
      Thread.sleep(50);
    }
  }

  @Test
  void syncEphemeralGetsMessagesAndNoStatuses() throws Exception {
    stream("PUSH_SYNC", "dp.>");
    for (int i = 0; i < 3; i++) {
      js.publish("dp.a", bytes("m" + i));
    }
    JetStreamSubscription sub = js.subscribe("dp.a");
    for (int i = 0; i < 3; i++) {
      Message m = sub.nextMessage(Duration.ofSeconds(2));
      assertNotNull(m, "message " + i);
      assertEquals("dp.a", m.getSubject());
      assertEquals("m" + i, Clients.text(m));
      assertEquals(i + 1, m.metaData().streamSequence());
      assertEquals(2 - i, m.metaData().pendingCount());
      m.ack();
    }
    js.publish("dp.a", bytes("live"));
    Message live = sub.nextMessage(Duration.ofSeconds(2));
    assertNotNull(live);
    assertEquals("live", Clients.text(live));
    assertNull(sub.nextMessage(Duration.ofMillis(700)), "a status or extra message reached a plain push subscription");
    sub.unsubscribe();
  }

  @Test
  void durableWithHeartbeatAndFlowControlStaysQuietWhenIdle() throws Exception {
    stream("PUSH_HB", "dh.>");
    ClientEvents ev = new ClientEvents();
    try (Connection c = Clients.connect(gw.url(), ev)) {
      JetStream cjs = c.jetStream();
      Dispatcher d = c.createDispatcher();
      AtomicInteger got = new AtomicInteger();
      PushSubscribeOptions pso = PushSubscribeOptions.builder().durable("HB").configuration(ConsumerConfiguration
          .builder().ackPolicy(AckPolicy.Explicit).flowControl(Duration.ofMillis(400)).build()).build();
      JetStreamSubscription sub = cjs.subscribe("dh.>", d, m -> {
        got.incrementAndGet();
        m.ack();
      }, false, pso);
      var cfg = jsm.getConsumerInfo("PUSH_HB", "HB").getConsumerConfiguration();
      assertEquals(Duration.ofMillis(400), cfg.getIdleHeartbeat());
      assertTrue(cfg.isFlowControl());
      assertTrue(jsm.getConsumerInfo("PUSH_HB", "HB").isPushBound());
      for (int i = 0; i < 50; i++) {
        cjs.publish("dh.x", bytes("m" + i));
      }
      Await.until(Duration.ofSeconds(5), () -> got.get() >= 50 ? null : got.get() + " of 50");
      // Heartbeats every 400 ms; jnats alarms after 3 missed ones (1.2 s). Stay idle for 3 s.
      idle(3000);
      assertEquals("", ev.problems());
      cjs.publish("dh.x", bytes("after"));
      Await.until(Duration.ofSeconds(3), () -> got.get() >= 51 ? null : "the message after idling did not arrive");
      assertEquals(51, got.get());
      d.unsubscribe(sub);
    }
  }

  @Test
  void queueGroupDeliversEachMessageOnce() throws Exception {
    stream("PUSH_Q", "dq.>");
    Map<Long, Integer> seen = new ConcurrentHashMap<>();
    AtomicInteger a = new AtomicInteger();
    AtomicInteger b = new AtomicInteger();
    try (Connection c2 = Clients.connect(gw.url())) {
      Dispatcher d1 = nc.createDispatcher();
      Dispatcher d2 = c2.createDispatcher();
      PushSubscribeOptions pso = PushSubscribeOptions.builder().durable("Q").build();
      js.subscribe("dq.a", "workers", d1, m -> {
        seen.merge(m.metaData().streamSequence(), 1, Integer::sum);
        a.incrementAndGet();
        m.ack();
      }, false, pso);
      c2.jetStream().subscribe("dq.a", "workers", d2, m -> {
        seen.merge(m.metaData().streamSequence(), 1, Integer::sum);
        b.incrementAndGet();
        m.ack();
      }, false, pso);
      nc.flush(Duration.ofSeconds(2));
      c2.flush(Duration.ofSeconds(2));
      for (int i = 0; i < 40; i++) {
        js.publish("dq.a", bytes("m" + i));
      }
      Await.until(Duration.ofSeconds(5), () -> a.get() + b.get() >= 40 ? null : (a.get() + b.get()) + " of 40");
      idle(300);
      assertEquals(40, a.get() + b.get(), "a message went to both members");
      assertEquals(40, seen.size());
      seen.forEach((seq, n) -> assertEquals(1, n, "sequence " + seq));
      assertEquals("workers", jsm.getConsumerInfo("PUSH_Q", "Q").getConsumerConfiguration().getDeliverGroup());
    }
  }

  @Test
  void orderedPushKeepsOrderWithoutResets() throws Exception {
    stream("PUSH_ORD", "do.>");
    ClientEvents ev = new ClientEvents();
    try (Connection c = Clients.connect(gw.url(), ev)) {
      JetStream cjs = c.jetStream();
      for (int i = 0; i < 30; i++) {
        cjs.publish("do." + (i % 3), bytes("m" + i));
      }
      List<Long> streamSeqs = new CopyOnWriteArrayList<>();
      List<Long> consumerSeqs = new CopyOnWriteArrayList<>();
      Dispatcher d = c.createDispatcher();
      JetStreamSubscription sub = cjs.subscribe("do.>", d, m -> {
        streamSeqs.add(m.metaData().streamSequence());
        consumerSeqs.add(m.metaData().consumerSequence());
      }, false, PushSubscribeOptions.builder().ordered(true).build());
      for (int i = 30; i < 60; i++) {
        cjs.publish("do." + (i % 3), bytes("m" + i));
      }
      Await.until(Duration.ofSeconds(5), () -> streamSeqs.size() >= 60 ? null : streamSeqs.size() + " of 60");
      for (int i = 0; i < 60; i++) {
        assertEquals(i + 1, streamSeqs.get(i));
        assertEquals(i + 1, consumerSeqs.get(i), "consumer sequence gap: the ordered consumer was reset");
      }
      assertEquals(1, jsm.getConsumerNames("PUSH_ORD").size(), "the ordered consumer was recreated");
      assertEquals("", ev.problems());
      d.unsubscribe(sub);
    }
  }

  @Test
  void ephemeralDisappearsAfterInactiveThreshold() throws Exception {
    stream("PUSH_EPH", "de.>");
    JetStreamSubscription sub = js.subscribe("de.a", PushSubscribeOptions.builder()
        .configuration(ConsumerConfiguration.builder().inactiveThreshold(Duration.ofSeconds(1)).build()).build());
    String name = sub.getConsumerName();
    assertEquals(List.of(name), jsm.getConsumerNames("PUSH_EPH"));
    // While the subscription is there, the consumer stays.
    idle(1500);
    assertEquals(List.of(name), jsm.getConsumerNames("PUSH_EPH"));
    sub.unsubscribe();
    long t0 = System.nanoTime();
    Await.until(Duration.ofSeconds(5), () -> {
      try {
        return jsm.getConsumerNames("PUSH_EPH").isEmpty() ? null : "consumer still there";
      } catch (Exception e) {
        return e.toString();
      }
    });
    assertTrue(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0) >= 700, "deleted before the threshold");
  }
}
