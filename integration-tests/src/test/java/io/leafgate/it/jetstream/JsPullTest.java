package io.leafgate.it.jetstream;

import io.leafgate.it.harness.Await;
import static io.leafgate.it.jetstream.Clients.bytes;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.nats.client.ConsumeOptions;
import io.nats.client.Connection;
import io.nats.client.ConsumerContext;
import io.nats.client.FetchConsumeOptions;
import io.nats.client.FetchConsumer;
import io.nats.client.JetStream;
import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamManagement;
import io.nats.client.JetStreamOptions;
import io.nats.client.JetStreamStatusException;
import io.nats.client.JetStreamSubscription;
import io.nats.client.Message;
import io.nats.client.MessageConsumer;
import io.nats.client.OrderedConsumerContext;
import io.nats.client.PullSubscribeOptions;
import io.nats.client.StreamContext;
import io.nats.client.Subscription;
import io.nats.client.api.AckPolicy;
import io.nats.client.api.ConsumerConfiguration;
import io.nats.client.api.ConsumerInfo;
import io.nats.client.api.OrderedConsumerConfiguration;
import io.nats.client.api.PublishAck;
import io.nats.client.api.StreamConfiguration;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** §14 C: pull consumers with jnats: creation forms, legacy and simplified pulls, consume, ordered, acks. */
class JsPullTest extends JsTestBase {
  private static void stream(String name, String subjects) throws Exception {
    jsm.addStream(StreamConfiguration.builder().name(name).subjects(subjects).build());
  }

  private static void publish(String subject, int n) throws Exception {
    for (int i = 0; i < n; i++) {
      js.publish(subject, bytes("m" + i));
    }
  }

  private static long elapsedMs(long t0) {
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
  }

  /** Waits until the spy saw a request on {@code subject}. */
  private static void sawRequest(Subscription spy, String subject) throws Exception {
    List<String> seen = new ArrayList<>();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (System.nanoTime() < deadline) {
      Message m = spy.nextMessage(Duration.ofMillis(500));
      if (m == null) {
        continue;
      }
      if (m.getSubject().equals(subject)) {
        return;
      }
      seen.add(m.getSubject());
    }
    fail("no request on " + subject + "; saw " + seen);
  }

  @Test
  void consumerCreateFormsAndErrors() throws Exception {
    stream("PULL_M", "pm.>");
    try (Connection spyConn = Clients.connect(gw.url())) {
      Subscription spy = spyConn.subscribe("$JS.API.CONSUMER.>");
      spyConn.flush(Duration.ofSeconds(2));

      ConsumerInfo d1 = jsm.addOrUpdateConsumer("PULL_M", ConsumerConfiguration.builder().durable("D1")
          .filterSubject("pm.a").ackPolicy(AckPolicy.Explicit).build());
      sawRequest(spy, "$JS.API.CONSUMER.CREATE.PULL_M.D1.pm.a");
      assertEquals("D1", d1.getName());
      assertEquals("pm.a", d1.getConsumerConfiguration().getFilterSubject());
      assertEquals(Duration.ofSeconds(30), d1.getConsumerConfiguration().getAckWait());
      assertEquals(1000, d1.getConsumerConfiguration().getMaxAckPending());
      assertEquals(512, d1.getConsumerConfiguration().getMaxPullWaiting());

      JetStreamManagement legacy = nc.jetStreamManagement(JetStreamOptions.builder().optOut290ConsumerCreate(true)
          .build());
      ConsumerInfo d2 = legacy.addOrUpdateConsumer("PULL_M", ConsumerConfiguration.builder().durable("D2")
          .ackPolicy(AckPolicy.Explicit).build());
      sawRequest(spy, "$JS.API.CONSUMER.DURABLE.CREATE.PULL_M.D2");
      assertEquals("D2", d2.getName());

      ConsumerInfo d3 = jsm.addOrUpdateConsumer("PULL_M", ConsumerConfiguration.builder().durable("D3")
          .filterSubjects("pm.b", "pm.c").build());
      sawRequest(spy, "$JS.API.CONSUMER.DURABLE.CREATE.PULL_M.D3");
      assertEquals(List.of("pm.b", "pm.c"), d3.getConsumerConfiguration().getFilterSubjects());

      ConsumerInfo eph = jsm.addOrUpdateConsumer("PULL_M", ConsumerConfiguration.builder()
          .filterSubjects("pm.d", "pm.e").build());
      sawRequest(spy, "$JS.API.CONSUMER.CREATE.PULL_M");
      assertFalse(eph.getName().isEmpty());
      assertEquals(Duration.ofSeconds(5), eph.getConsumerConfiguration().getInactiveThreshold());
    }
    publish("pm.b", 2);
    publish("pm.c", 1);
    publish("pm.a", 1);
    assertEquals(3, jsm.getConsumerInfo("PULL_M", "D3").getNumPending());

    JetStreamApiException exists = assertThrows(JetStreamApiException.class,
        () -> jsm.createConsumer("PULL_M", ConsumerConfiguration.builder().durable("D1").filterSubject("pm.a")
            .ackPolicy(AckPolicy.Explicit).maxAckPending(5).build()));
    assertEquals(10148, exists.getApiErrorCode());
    JetStreamApiException missing = assertThrows(JetStreamApiException.class,
        () -> jsm.updateConsumer("PULL_M", ConsumerConfiguration.builder().durable("NOPE").build()));
    assertEquals(10149, missing.getApiErrorCode());
    JetStreamApiException notFound = assertThrows(JetStreamApiException.class,
        () -> jsm.getConsumerInfo("PULL_M", "nope"));
    assertEquals(10014, notFound.getApiErrorCode());
    assertEquals(404, notFound.getErrorCode());

    ConsumerInfo updated = jsm.updateConsumer("PULL_M", ConsumerConfiguration.builder().durable("D1")
        .filterSubject("pm.a").ackPolicy(AckPolicy.Explicit).maxAckPending(5).build());
    assertEquals(5, updated.getConsumerConfiguration().getMaxAckPending());

    List<String> names = jsm.getConsumerNames("PULL_M");
    assertTrue(names.containsAll(List.of("D1", "D2", "D3")), names.toString());
    assertEquals(names.size(), jsm.getConsumers("PULL_M").size());
    assertTrue(jsm.deleteConsumer("PULL_M", "D2"));
    JetStreamApiException gone = assertThrows(JetStreamApiException.class, () -> jsm.deleteConsumer("PULL_M", "D2"));
    assertEquals(10014, gone.getApiErrorCode());
    assertFalse(jsm.getConsumerNames("PULL_M").contains("D2"));
  }

  @Test
  void legacyFetchIterateAndNoWait() throws Exception {
    stream("PULL_L", "pl.>");
    jsm.addOrUpdateConsumer("PULL_L", ConsumerConfiguration.builder().durable("L").ackPolicy(AckPolicy.Explicit)
        .build());
    publish("pl.a", 3);
    JetStreamSubscription sub = js.subscribe(null, PullSubscribeOptions.bind("PULL_L", "L"));
    long t0 = System.nanoTime();
    List<Message> got = sub.fetch(5, Duration.ofSeconds(2));
    assertEquals(3, got.size());
    assertTrue(elapsedMs(t0) < 3000, "fetch took " + elapsedMs(t0) + " ms");
    for (int i = 0; i < got.size(); i++) {
      assertEquals(i + 1, got.get(i).metaData().streamSequence());
      assertEquals("pl.a", got.get(i).getSubject());
      got.get(i).ack();
    }

    t0 = System.nanoTime();
    List<Message> none = sub.fetch(5, Duration.ofSeconds(1));
    assertTrue(none.isEmpty());
    long ms = elapsedMs(t0);
    assertTrue(ms >= 800 && ms < 4000, "empty fetch took " + ms + " ms (408 path)");

    publish("pl.b", 2);
    Iterator<Message> it = sub.iterate(5, Duration.ofSeconds(1));
    int n = 0;
    while (it.hasNext()) {
      Message m = it.next();
      assertEquals("pl.b", m.getSubject());
      m.ack();
      n++;
    }
    assertEquals(2, n);
    // The iterate's pull request (batch 5, two served) stays open on the server until its 1 s expiry;
    // wait for it to go so the no-wait pull below is the only one waiting.
    Await.until(Duration.ofSeconds(10), () -> {
      try {
        long waiting = jsm.getConsumerInfo("PULL_L", "L").getNumWaiting();
        return waiting == 0 ? null : waiting + " pull requests still waiting";
      } catch (Exception e) {
        return e.toString();
      }
    });

    sub.pullNoWait(5);
    t0 = System.nanoTime();
    assertNull(sub.nextMessage(Duration.ofSeconds(2)));
    assertTrue(elapsedMs(t0) < 1900, "no-wait pull on an empty consumer took " + elapsedMs(t0) + " ms (404 path)");

    publish("pl.c", 1);
    sub.pullNoWait(5);
    // nextMessage answers null for a status too; on a loaded machine a status of an earlier request
    // (the iterate's 408 Request Timeout) can still be queued ahead of the message, so statuses are
    // passed over until the deadline. A message that never comes still fails here.
    Message one = null;
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (one == null && System.nanoTime() < deadline) {
      one = sub.nextMessage(Duration.ofMillis(500));
    }
    assertNotNull(one, "the no-wait pull after a publish got nothing within 5 s");
    assertEquals("pl.c", one.getSubject());
    one.ack();
    assertNull(sub.nextMessage(Duration.ofSeconds(1)));
    sub.unsubscribe();
    assertTrue(events.pullErrors.isEmpty(), events.problems());
  }

  @Test
  void simplifiedFetchNextAndBytes() throws Exception {
    stream("PULL_S", "ps.>");
    StreamContext sc = nc.getStreamContext("PULL_S");
    ConsumerContext cc = sc.createOrUpdateConsumer(ConsumerConfiguration.builder().durable("S")
        .ackPolicy(AckPolicy.Explicit).build());
    publish("ps.a", 15);

    FetchConsumer f = cc.fetchMessages(10);
    List<Message> got = drain(f);
    assertEquals(10, got.size());
    got.forEach(Message::ack);

    long t0 = System.nanoTime();
    got = drain(cc.fetch(FetchConsumeOptions.builder().maxMessages(10).expiresIn(2000).build()));
    assertEquals(5, got.size());
    assertEquals(15, got.get(4).metaData().streamSequence());
    long ms = elapsedMs(t0);
    assertTrue(ms >= 1500 && ms < 4000, "fetch with expiresIn 2000 took " + ms + " ms");
    got.forEach(Message::ack);
    // jnats times the fetch itself and may give up just before the server's 408: wait until the
    // server has let the request go, or the next messages could go to the abandoned inbox.
    Await.until(Duration.ofSeconds(3), () -> {
      try {
        return cc.getConsumerInfo().getNumWaiting() == 0 ? null : "the expired request is still waiting";
      } catch (Exception e) {
        return e.toString();
      }
    });

    t0 = System.nanoTime();
    got = drain(cc.fetch(FetchConsumeOptions.builder().maxMessages(10).noWait().build()));
    assertTrue(got.isEmpty());
    assertTrue(elapsedMs(t0) < 2500, "noWait fetch took " + elapsedMs(t0) + " ms");

    publish("ps.b", 2);
    got = drain(cc.fetch(FetchConsumeOptions.builder().maxMessages(10).noWait().build()));
    assertEquals(2, got.size());
    got.forEach(Message::ack);

    assertNull(cc.next(Duration.ofSeconds(1)));
    publish("ps.c", 1);
    Message m = cc.next(Duration.ofSeconds(2));
    assertNotNull(m);
    assertEquals("ps.c", m.getSubject());
    m.ack();

    for (int i = 0; i < 5; i++) {
      js.publish("ps.d", new byte[100]);
    }
    got = drain(cc.fetchBytes(300));
    assertTrue(got.size() >= 1 && got.size() <= 2, "fetchBytes(300) of 100-byte messages got " + got.size());
    got.forEach(Message::ack);
    int rest = drain(cc.fetch(FetchConsumeOptions.builder().maxMessages(10).noWait().build())).size();
    assertEquals(5 - got.size(), rest);
    assertTrue(events.pullErrors.isEmpty(), events.problems());
  }

  private static List<Message> drain(FetchConsumer f) throws Exception {
    List<Message> out = new ArrayList<>();
    Message m;
    while ((m = f.nextMessage()) != null) {
      out.add(m);
    }
    return out;
  }

  @Test
  void consumeReceivesEverythingExactlyOnceWithoutHeartbeatAlarms() throws Exception {
    stream("PULL_C", "pc.>");
    ClientEvents ev = new ClientEvents();
    try (Connection c = Clients.connect(gw.url(), ev)) {
      ConsumerContext cc = c.getStreamContext("PULL_C").createOrUpdateConsumer(ConsumerConfiguration.builder()
          .durable("C").ackPolicy(AckPolicy.Explicit).build());
      Map<Long, Integer> seen = new ConcurrentHashMap<>();
      AtomicInteger count = new AtomicInteger();
      // expiresIn 3 s: jnats then asks for 1.5 s heartbeats and alarms after 4.5 s without traffic
      // (short, yet tolerant of a build machine shared by several builds).
      MessageConsumer mc = cc.consume(ConsumeOptions.builder().expiresIn(3000).build(), msg -> {
        seen.merge(msg.metaData().streamSequence(), 1, Integer::sum);
        count.incrementAndGet();
        msg.ack();
      });
      List<CompletableFuture<PublishAck>> acks = new ArrayList<>();
      for (int i = 0; i < 2000; i++) {
        acks.add(js.publishAsync("pc." + (i % 10), bytes("m" + i)));
      }
      for (CompletableFuture<PublishAck> a : acks) {
        a.get(10, TimeUnit.SECONDS);
      }
      Await.until(Duration.ofSeconds(30), () -> count.get() >= 2000 ? null : count.get() + " of 2000 received");
      // Idle past the alarm period and through pull expiries: 408s and heartbeats keep it quiet.
      long idleUntil = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(6000);
      while (System.nanoTime() < idleUntil) {
        Thread.sleep(100);
      }
      js.publish("pc.late", bytes("late"));
      Await.until(Duration.ofSeconds(5), () -> count.get() >= 2001 ? null : "the message after idling did not arrive");
      mc.stop();
      assertEquals(2001, seen.size());
      seen.forEach((seq, n) -> assertEquals(1, n, "sequence " + seq + " delivered " + n + " times"));
      assertEquals("", ev.problems());
      Await.until(Duration.ofSeconds(5), () -> {
        try {
          return jsm.getConsumerInfo("PULL_C", "C").getNumAckPending() == 0 ? null : "acks still pending";
        } catch (Exception e) {
          return e.toString();
        }
      });
    }
  }

  @Test
  void orderedConsumerHasContiguousSequences() throws Exception {
    stream("PULL_O", "po.>");
    publish("po.a", 20);
    StreamContext sc = nc.getStreamContext("PULL_O");
    OrderedConsumerContext oc = sc.createOrderedConsumer(new OrderedConsumerConfiguration().filterSubjects("po.>"));
    List<Message> got = drain(oc.fetchMessages(15));
    assertEquals(15, got.size());
    for (int i = 0; i < got.size(); i++) {
      assertEquals(i + 1, got.get(i).metaData().consumerSequence());
      assertEquals(i + 1, got.get(i).metaData().streamSequence());
    }
    Message next = oc.next(Duration.ofSeconds(2));
    assertNotNull(next);
    assertEquals(16, next.metaData().streamSequence());

    List<Long> consumed = new CopyOnWriteList();
    MessageConsumer mc = oc.consume(ConsumeOptions.builder().expiresIn(2000).build(),
        m -> consumed.add(m.metaData().streamSequence()));
    Await.until(Duration.ofSeconds(5), () -> consumed.size() >= 4 ? null : "consumed " + consumed);
    mc.stop();
    assertEquals(List.of(17L, 18L, 19L, 20L), consumed.subList(0, 4));
  }

  /** A thread-safe list for handler callbacks. */
  private static final class CopyOnWriteList extends java.util.concurrent.CopyOnWriteArrayList<Long> {}

  @Test
  void acknowledgements() throws Exception {
    stream("PULL_A", "pa.>");
    StreamContext sc = nc.getStreamContext("PULL_A");
    ConsumerContext cc = sc.createOrUpdateConsumer(ConsumerConfiguration.builder().durable("A")
        .ackPolicy(AckPolicy.Explicit).ackWait(Duration.ofMillis(1500)).build());
    publish("pa.x", 3);
    List<Message> got = drain(cc.fetch(FetchConsumeOptions.builder().maxMessages(3).noWait().build()));
    assertEquals(3, got.size());
    got.get(0).ackSync(Duration.ofSeconds(2));
    got.get(1).ackSync(Duration.ofSeconds(2));
    ConsumerInfo ci = cc.getConsumerInfo();
    assertEquals(2, ci.getAckFloor().getStreamSequence());
    assertEquals(2, ci.getAckFloor().getConsumerSequence());
    assertEquals(1, ci.getNumAckPending());

    // nak: redelivered at once with deliveredCount 2.
    got.get(2).nak();
    Message again = cc.next(Duration.ofSeconds(2));
    assertNotNull(again);
    assertEquals(3, again.metaData().streamSequence());
    assertEquals(2, again.metaData().deliveredCount());
    assertEquals(4, again.metaData().consumerSequence());

    // nakWithDelay: not before the delay.
    long t0 = System.nanoTime();
    again.nakWithDelay(Duration.ofMillis(1500));
    Message delayed = cc.next(Duration.ofSeconds(4));
    assertNotNull(delayed);
    assertTrue(elapsedMs(t0) >= 1300, "nakWithDelay(1500) came back after " + elapsedMs(t0) + " ms");
    assertEquals(3, delayed.metaData().deliveredCount());

    // inProgress every second keeps extending the 1.5 s ack wait, for more than twice its length.
    long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(3500);
    while (System.nanoTime() < until) {
      delayed.inProgress();
      assertNull(cc.fetch(FetchConsumeOptions.builder().maxMessages(1).expiresIn(1000).build()).nextMessage(),
          "redelivered while in progress");
    }
    delayed.ackSync(Duration.ofSeconds(2));
    assertEquals(3, cc.getConsumerInfo().getAckFloor().getStreamSequence());

    // term: never again.
    publish("pa.y", 1);
    Message t = cc.next(Duration.ofSeconds(2));
    assertNotNull(t);
    t.term();
    assertNull(cc.next(Duration.ofMillis(2000)), "redelivered after term");
    assertEquals(4, cc.getConsumerInfo().getAckFloor().getStreamSequence());
    assertEquals(0, cc.getConsumerInfo().getNumAckPending());
  }

  @Test
  void ackWaitRedeliversAndMaxDeliverStops() throws Exception {
    stream("PULL_W", "pw.>");
    ConsumerContext cc = nc.getStreamContext("PULL_W").createOrUpdateConsumer(ConsumerConfiguration.builder()
        .durable("W").ackPolicy(AckPolicy.Explicit).ackWait(Duration.ofMillis(500)).maxDeliver(2).build());
    publish("pw.a", 1);
    long t0 = System.nanoTime();
    Message first = cc.next(Duration.ofSeconds(2));
    assertNotNull(first);
    assertEquals(1, first.metaData().deliveredCount());
    Message second = cc.next(Duration.ofSeconds(3));
    assertNotNull(second, "not redelivered after ack_wait");
    assertTrue(elapsedMs(t0) >= 400, "redelivered after " + elapsedMs(t0) + " ms, before ack_wait");
    assertEquals(2, second.metaData().deliveredCount());
    assertEquals(1, second.metaData().streamSequence());
    assertNull(cc.next(Duration.ofMillis(1500)), "delivered a third time despite max_deliver 2");
    assertEquals(1, cc.getConsumerInfo().getRedelivered());
  }

  @Test
  void deletingTheConsumerEndsAPendingFetchWith409() throws Exception {
    stream("PULL_D", "pd.>");
    jsm.addOrUpdateConsumer("PULL_D", ConsumerConfiguration.builder().durable("X").ackPolicy(AckPolicy.Explicit)
        .build());
    JetStreamSubscription sub = js.subscribe(null, PullSubscribeOptions.bind("PULL_D", "X"));
    CompletableFuture<List<Message>> fetch = CompletableFuture.supplyAsync(() -> sub.fetch(10, Duration.ofSeconds(30)));
    Await.until(Duration.ofSeconds(5), () -> {
      try {
        return jsm.getConsumerInfo("PULL_D", "X").getNumWaiting() == 1 ? null : "the fetch is not waiting yet";
      } catch (Exception e) {
        return e.toString();
      }
    });
    long t0 = System.nanoTime();
    assertTrue(jsm.deleteConsumer("PULL_D", "X"));
    ExecutionException e = assertThrows(ExecutionException.class, () -> fetch.get(5, TimeUnit.SECONDS));
    assertTrue(e.getCause() instanceof JetStreamStatusException, String.valueOf(e.getCause()));
    assertTrue(e.getCause().getMessage().contains("409") && e.getCause().getMessage().contains("Consumer Deleted"),
        e.getCause().getMessage());
    assertTrue(elapsedMs(t0) < 3000);
  }
}
