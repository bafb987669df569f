package io.leafgate.it.clients;

import io.leafgate.it.harness.Await;
import static io.leafgate.it.clients.Jnats.WAIT;
import static io.leafgate.it.clients.Jnats.connect;
import static io.leafgate.it.clients.Jnats.roundTrip;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.nats.client.Connection;
import io.nats.client.Dispatcher;
import io.nats.client.Message;
import io.nats.client.Subscription;
import io.nats.client.impl.Headers;
import io.nats.client.impl.NatsMessage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Core messaging with jnats, the Java client, against an in-JVM leafgate. */
class JnatsMessagingTest {
  private TestGateway gw;

  @BeforeEach
  void start(@TempDir Path tmp) throws Exception {
    gw = TestGateway.start(tmp);
  }

  @AfterEach
  void stop() {
    gw.close();
  }

  @Test
  void publishedMessagesReachASubscriberOnAnotherConnection() throws Exception {
    try (Connection sub = connect(gw.url()); Connection pub = connect(gw.url())) {
      Subscription s = sub.subscribe("sensors.t1");
      roundTrip(sub);
      for (int i = 0; i < 10; i++) {
        pub.publish("sensors.t1", ("reading " + i).getBytes(UTF_8));
      }
      for (int i = 0; i < 10; i++) {
        Message m = s.nextMessage(WAIT);
        assertNotNull(m, "message " + i + " did not arrive");
        assertEquals("sensors.t1", m.getSubject());
        assertEquals("reading " + i, new String(m.getData(), UTF_8));
      }
    }
  }

  @Test
  void starMatchesOneTokenAndGreaterThanMatchesTheRest() throws Exception {
    try (Connection nc = connect(gw.url())) {
      Subscription star = nc.subscribe("site.*.temp");
      Subscription tail = nc.subscribe("site.>");
      roundTrip(nc);
      for (String s : List.of("site.a.temp", "site.a.b.temp", "site.a.hum", "other.a.temp", "site.b.temp")) {
        nc.publish(s, s.getBytes(UTF_8));
      }
      nc.publish("site.end.temp", new byte[0]);
      assertEquals(List.of("site.a.temp", "site.b.temp", "site.end.temp"), subjectsUntil(star, "site.end.temp"));
      assertEquals(List.of("site.a.temp", "site.a.b.temp", "site.a.hum", "site.b.temp", "site.end.temp"),
          subjectsUntil(tail, "site.end.temp"));
    }
  }

  private static List<String> subjectsUntil(Subscription s, String last) throws InterruptedException {
    List<String> got = new ArrayList<>();
    while (got.isEmpty() || !got.get(got.size() - 1).equals(last)) {
      Message m = s.nextMessage(WAIT);
      assertNotNull(m, s.getSubject() + " got only " + got + " before waiting in vain for " + last);
      got.add(m.getSubject());
    }
    return got;
  }

  @Test
  void queueGroupSpreadsMessagesFairlyAndDeliversEachOnce() throws Exception {
    int members = 4;
    int total = 2000;
    List<Connection> conns = new ArrayList<>();
    ConcurrentHashMap<String, AtomicInteger> seen = new ConcurrentHashMap<>();
    AtomicInteger[] perMember = new AtomicInteger[members];
    try (Connection pub = connect(gw.url())) {
      for (int i = 0; i < members; i++) {
        Connection c = connect(gw.url());
        conns.add(c);
        AtomicInteger mine = perMember[i] = new AtomicInteger();
        Dispatcher d = c.createDispatcher(m -> {
          mine.incrementAndGet();
          seen.computeIfAbsent(new String(m.getData(), UTF_8), k -> new AtomicInteger()).incrementAndGet();
        });
        d.subscribe("jobs.resize", "workers");
        roundTrip(c);
      }
      for (int i = 0; i < total; i++) {
        pub.publish("jobs.resize", Integer.toString(i).getBytes(UTF_8));
      }
      roundTrip(pub);
      Await.until(WAIT, () -> sum(perMember) >= total ? null : "members received " + sum(perMember) + " of " + total);
      for (Connection c : conns) {
        roundTrip(c);
      }
      assertEquals(total, sum(perMember), "every message must reach exactly one member");
      assertEquals(total, seen.size(), "distinct messages received");
      seen.forEach((id, n) -> assertEquals(1, n.get(), "message " + id + " deliveries"));
      // 500 each on average, standard deviation about 19: 400..600 is more than 5 of them away.
      for (int i = 0; i < members; i++) {
        int n = perMember[i].get();
        assertTrue(n >= 400 && n <= 600, "member " + i + " got " + n + " of " + total + ", not a fair share");
      }
    } finally {
      for (Connection c : conns) {
        c.close();
      }
    }
  }

  private static int sum(AtomicInteger[] counters) {
    int n = 0;
    for (AtomicInteger c : counters) {
      n += c == null ? 0 : c.get();
    }
    return n;
  }

  @Test
  void thousandsOfMessagesArriveInOrderPerPublisher() throws Exception {
    int publishers = 3;
    int perPublisher = 2000;
    try (Connection sub = connect(gw.url())) {
      List<String> got = Collections.synchronizedList(new ArrayList<>());
      Dispatcher d = sub.createDispatcher(m -> got.add(new String(m.getData(), UTF_8)));
      d.subscribe("line.>");
      roundTrip(sub);
      List<Thread> threads = new ArrayList<>();
      List<Throwable> failures = new CopyOnWriteArrayList<>();
      for (int p = 0; p < publishers; p++) {
        int id = p;
        Thread t = new Thread(() -> {
          try (Connection pub = connect(gw.url())) {
            for (int i = 0; i < perPublisher; i++) {
              pub.publish("line." + id, (id + ":" + i).getBytes(UTF_8));
            }
            roundTrip(pub);
          } catch (Exception e) {
            failures.add(e);
          }
        }, "publisher-" + p);
        threads.add(t);
        t.start();
      }
      for (Thread t : threads) {
        t.join(WAIT.toMillis());
      }
      assertEquals(List.of(), failures);
      int total = publishers * perPublisher;
      Await.until(WAIT, () -> got.size() >= total ? null : "received " + got.size() + " of " + total);
      int[] next = new int[publishers];
      for (String s : List.copyOf(got)) {
        int colon = s.indexOf(':');
        int p = Integer.parseInt(s.substring(0, colon));
        int seq = Integer.parseInt(s.substring(colon + 1));
        assertEquals(next[p], seq, "publisher " + p + ": expected message " + next[p] + " next, got " + seq);
        next[p]++;
      }
      assertEquals(total, got.size());
    }
  }

  @Test
  void payloadOfExactlyMaxPayloadRoundTrips() throws Exception {
    try (Connection sub = connect(gw.url()); Connection pub = connect(gw.url())) {
      long max = pub.getServerInfo().getMaxPayload();
      assertEquals(gw.gateway().options().maxPayload, max, "max_payload announced in INFO");
      Subscription s = sub.subscribe("blob");
      roundTrip(sub);
      byte[] big = new byte[(int) max];
      new Random(7).nextBytes(big);
      pub.publish("blob", big);
      Headers h = new Headers().add("Content-Type", "application/octet-stream");
      byte[] withHeaders = new byte[(int) max - 1024];
      new Random(8).nextBytes(withHeaders);
      pub.publish(NatsMessage.builder().subject("blob").headers(h).data(withHeaders).build());
      Message m1 = s.nextMessage(WAIT);
      assertNotNull(m1, "the max_payload message did not arrive");
      assertArrayEquals(big, m1.getData());
      Message m2 = s.nextMessage(WAIT);
      assertNotNull(m2, "the large message with headers did not arrive");
      assertArrayEquals(withHeaders, m2.getData());
      assertEquals("application/octet-stream", m2.getHeaders().getFirst("Content-Type"));
      assertTrue(pub.getStatus() == Connection.Status.CONNECTED && sub.getStatus() == Connection.Status.CONNECTED);
    }
  }

  @Test
  void headersRoundTripWithMultipleValues() throws Exception {
    try (Connection sub = connect(gw.url()); Connection pub = connect(gw.url())) {
      Subscription s = sub.subscribe("with.headers");
      roundTrip(sub);
      Headers h = new Headers()
          .add("X-Sensor", "t-17")
          .add("X-Multi", "one", "two", "three")
          .add("X-Spaces", "a value: with colon and spaces");
      pub.publish(NatsMessage.builder().subject("with.headers").replyTo("reply.here").headers(h)
          .data("body".getBytes(UTF_8)).build());
      pub.publish(NatsMessage.builder().subject("with.headers").headers(new Headers().add("Only", "header")).build());
      Message m = s.nextMessage(WAIT);
      assertNotNull(m, "the message with headers did not arrive");
      assertTrue(m.hasHeaders(), "headers were lost");
      assertEquals(List.of("t-17"), m.getHeaders().get("X-Sensor"));
      assertEquals(List.of("one", "two", "three"), m.getHeaders().get("X-Multi"));
      assertEquals(List.of("a value: with colon and spaces"), m.getHeaders().get("X-Spaces"));
      assertEquals("reply.here", m.getReplyTo());
      assertEquals("body", new String(m.getData(), UTF_8));
      Message empty = s.nextMessage(WAIT);
      assertNotNull(empty, "the message with headers and no payload did not arrive");
      assertEquals("header", empty.getHeaders().getFirst("Only"));
      assertEquals(0, empty.getData().length);
    }
  }

  @Test
  void noEchoKeepsAConnectionsOwnMessagesFromIt() throws Exception {
    try (Connection quiet = connect(Jnats.options(gw.url()).noEcho()); Connection peer = connect(gw.url())) {
      Subscription quietSub = quiet.subscribe("chat");
      Subscription peerSub = peer.subscribe("chat");
      roundTrip(quiet);
      roundTrip(peer);
      quiet.publish("chat", "from quiet".getBytes(UTF_8));
      roundTrip(quiet);
      Message atPeer = peerSub.nextMessage(WAIT);
      assertNotNull(atPeer, "the peer did not get the no-echo connection's message");
      assertEquals("from quiet", new String(atPeer.getData(), UTF_8));
      peer.publish("chat", "from peer".getBytes(UTF_8));
      // Had the server echoed "from quiet", it would be first: it was routed before "from peer" was sent.
      Message atQuiet = quietSub.nextMessage(WAIT);
      assertNotNull(atQuiet, "the no-echo connection did not get the peer's message");
      assertEquals("from peer", new String(atQuiet.getData(), UTF_8));
      Message peerOwn = peerSub.nextMessage(WAIT);
      assertNotNull(peerOwn, "a connection with echo on must get its own message");
      assertEquals("from peer", new String(peerOwn.getData(), UTF_8));
    }
  }
}
