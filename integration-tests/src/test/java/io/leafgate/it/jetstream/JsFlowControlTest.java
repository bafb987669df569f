package io.leafgate.it.jetstream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leafgate.it.harness.Await;
import io.nats.client.Connection;
import io.nats.client.Dispatcher;
import io.nats.client.JetStream;
import io.nats.client.JetStreamSubscription;
import io.nats.client.Message;
import io.nats.client.PushSubscribeOptions;
import io.nats.client.Subscription;
import io.nats.client.api.AckPolicy;
import io.nats.client.api.ConsumerConfiguration;
import io.nats.client.api.PublishAck;
import io.nats.client.api.StreamConfiguration;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Push consumer flow control ({@code flow_control} with {@code idle_heartbeat}) against leafgate and
 * nats-server: jnats gets a large backlog in order while answering the requests; a plain subscriber
 * that does not answer sees the request after half the first window, delivery stop once the whole
 * window is out, heartbeats naming the unanswered request, and the rest after it answers.
 */
class JsFlowControlTest {
  /** nats-server's first window (a sixteenth of its 32 MiB limit); a request goes out past half of it. */
  private static final long FIRST_WINDOW = 2L * 1024 * 1024;
  private static final String FC_REPLY = "\\$JS\\.FC\\.[A-Za-z0-9_]+\\.[A-Za-z0-9_]+\\.[0-9A-Za-z]{4}";

  @TempDir static Path tmp;
  static NatsServerJs ns;
  static JsGateway gw;

  @BeforeAll
  static void start() throws Exception {
    ns = NatsServerJs.start(tmp.resolve("nats-server"));
    gw = JsGateway.start(tmp.resolve("leafgate"));
  }

  @AfterAll
  static void stop() throws Exception {
    for (AutoCloseable c : new AutoCloseable[] {gw, ns}) {
      if (c != null) {
        c.close();
      }
    }
  }

  /** Publishes {@code n} messages of {@code size} bytes (the sequence number first) with acks in windows. */
  private static void fill(Connection nc, String subject, int n, int size) throws Exception {
    JetStream js = nc.jetStream();
    List<CompletableFuture<PublishAck>> window = new ArrayList<>();
    for (int i = 1; i <= n; i++) {
      byte[] data = new byte[size];
      byte[] id = Integer.toString(i).getBytes(StandardCharsets.US_ASCII);
      System.arraycopy(id, 0, data, 0, id.length);
      window.add(js.publishAsync(subject, data));
      if (window.size() == 500 || i == n) {
        for (CompletableFuture<PublishAck> f : window) {
          f.get(30, TimeUnit.SECONDS);
        }
        window.clear();
      }
    }
  }

  @Test
  void jnatsGetsTwentyThousandMessagesInOrderAnsweringFlowControl() throws Exception {
    for (String[] peer : new String[][] {{"nats-server", ns.url()}, {"leafgate", gw.url()}}) {
      receiveAllInOrder(peer[0], peer[1]);
    }
  }

  private static void receiveAllInOrder(String peer, String url) throws Exception {
    int total = 20_000;
    ClientEvents ev = new ClientEvents();
    try (Connection nc = Clients.connect(url, ev); Connection watcher = Clients.connect(url)) {
      nc.jetStreamManagement().addStream(StreamConfiguration.builder().name("FCJ").subjects("fcj.>").build());
      fill(nc, "fcj.a", total, 1024);
      // Each answer jnats sends is a request the server made.
      AtomicInteger answers = new AtomicInteger();
      watcher.createDispatcher(m -> answers.incrementAndGet()).subscribe("$JS.FC.FCJ.>");
      watcher.flush(Duration.ofSeconds(2));

      AtomicLong expected = new AtomicLong(1);
      AtomicReference<String> outOfOrder = new AtomicReference<>();
      Dispatcher d = nc.createDispatcher();
      JetStreamSubscription sub = nc.jetStream().subscribe("fcj.a", d, m -> {
        long seq = m.metaData().streamSequence();
        String id = new String(m.getData(), 0, 8, StandardCharsets.US_ASCII).trim();
        if (seq != expected.get() || !id.startsWith(Long.toString(seq))) {
          outOfOrder.compareAndSet(null, "expected " + expected.get() + ", got stream seq " + seq);
        }
        expected.incrementAndGet();
      }, false, PushSubscribeOptions.builder().configuration(ConsumerConfiguration.builder()
          .ackPolicy(AckPolicy.None).flowControl(Duration.ofMillis(500)).build()).build());
      Await.until(Duration.ofSeconds(60), () -> outOfOrder.get() != null ? null
          : expected.get() > total ? null : peer + ": " + (expected.get() - 1) + " of " + total);
      assertEquals(null, outOfOrder.get(), peer);
      assertEquals(total + 1, expected.get(), peer);
      Await.until(Duration.ofSeconds(5), () -> answers.get() >= 3 ? null
          : peer + ": jnats answered " + answers.get() + " flow control requests for 20 MB");
      assertEquals("", ev.problems(), peer);
      d.unsubscribe(sub);
      nc.jetStreamManagement().deleteStream("FCJ");
    }
  }

  /** What a plain subscriber saw up to the stall, for comparing the two servers. */
  record Stall(int delivered, long bytes, long lastBytes, String request, String stalledOn, String lastConsumer,
      String lastStream) {}

  @Test
  void plainSubscriberSeesDeliveryStopAtTheWindowAndResumeAfterAnswering() throws Exception {
    Stall ref = stallAndResume("nats-server", ns.url());
    Stall lg = stallAndResume("leafgate", gw.url());
    // The same window on both: the stall comes on the message that takes the bytes past 2 MiB.
    for (Stall s : new Stall[] {ref, lg}) {
      assertTrue(s.bytes() > FIRST_WINDOW && s.bytes() - s.lastBytes() <= FIRST_WINDOW, s.toString());
      assertEquals(s.request(), s.stalledOn(), "heartbeats name the unanswered request: " + s);
      assertEquals(Integer.toString(s.delivered()), s.lastConsumer(), s.toString());
      assertEquals(Integer.toString(s.delivered()), s.lastStream(), s.toString());
    }
    assertEquals(ref.delivered(), lg.delivered(), "stall point differs: nats-server " + ref + ", leafgate " + lg);
  }

  @Test
  void jnatsAnswersTheRequestAStalledHeartbeatNames() throws Exception {
    for (String[] peer : new String[][] {{"nats-server", ns.url()}, {"leafgate", gw.url()}}) {
      recoverLostRequest(peer[0], peer[1]);
    }
  }

  /** Bytes nats-server counts for a delivery: deliver subject, reply, headers and payload. */
  private static long size(String deliverSubject, Message m) {
    return deliverSubject.length() + m.getReplyTo().length() + m.getData().length;
  }

  /**
   * Fills stream {@code stream} with {@code total} messages and creates durable push consumer
   * {@code <stream>D} on {@code deliver} with flow control and 300 ms heartbeats. The same name on
   * both servers keeps ack replies, and so the counted bytes, alike.
   */
  private static void durableWithFlowControl(Connection nc, String peer, String stream, String deliver, int total)
      throws Exception {
    nc.jetStreamManagement().addStream(StreamConfiguration.builder().name(stream)
        .subjects(stream.toLowerCase() + ".>").build());
    fill(nc, stream.toLowerCase() + ".a", total, 1024);
    new RawApi(peer, nc).json("$JS.API.CONSUMER.DURABLE.CREATE." + stream + "." + stream + "D",
        "{\"stream_name\":\"" + stream + "\",\"config\":{\"durable_name\":\"" + stream + "D\","
        + "\"deliver_subject\":\"" + deliver + "\",\"ack_policy\":\"none\",\"deliver_policy\":\"all\","
        + "\"flow_control\":true,\"idle_heartbeat\":300000000}}");
  }

  /**
   * Reads {@code plain} without answering: up to the request (past half the first window), then up
   * to a heartbeat that names it once the whole window is out. Delivery has stopped there, so the
   * next thing to come is another heartbeat, not a message.
   */
  private static Stall readUntilStalled(String peer, Subscription plain, String deliver) throws Exception {
    // Heartbeats keep coming whatever happens: the loops have a deadline too.
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    int delivered = 0;
    long bytes = 0;
    long lastBytes = 0;
    String request = null;
    Message m;
    while (request == null) {
      assertTrue(System.nanoTime() < deadline, peer + ": no flow control request in 30 s");
      m = plain.nextMessage(Duration.ofSeconds(10));
      assertNotNull(m, peer + ": no flow control request after " + delivered + " messages, " + bytes + " bytes");
      if (m.isStatusMessage()) {
        if (m.getStatus().getCode() == 100 && m.getStatus().getMessage().equals("FlowControl Request")) {
          request = m.getReplyTo();
          assertTrue(request.matches(FC_REPLY), peer + ": " + request);
          assertEquals(0, m.getData().length, peer);
          assertTrue(bytes > FIRST_WINDOW / 2, peer + ": request after " + bytes + " bytes");
        }
        continue;
      }
      delivered++;
      assertEquals(delivered, m.metaData().streamSequence(), peer);
      lastBytes = size(deliver, m);
      bytes += lastBytes;
    }
    while (true) {
      assertTrue(System.nanoTime() < deadline, peer + ": no heartbeat naming the request in 30 s");
      m = plain.nextMessage(Duration.ofSeconds(10));
      assertNotNull(m, peer + ": nothing after " + delivered + " messages, " + bytes + " bytes");
      if (!m.isStatusMessage()) {
        assertTrue(bytes <= FIRST_WINDOW, peer + ": delivery went on past the window: " + bytes + " bytes");
        delivered++;
        assertEquals(delivered, m.metaData().streamSequence(), peer);
        lastBytes = size(deliver, m);
        bytes += lastBytes;
        continue;
      }
      String s = m.getHeaders() == null ? null : m.getHeaders().getFirst("Nats-Consumer-Stalled");
      if (m.getStatus().getCode() == 100 && s != null && bytes > FIRST_WINDOW) {
        Message next = plain.nextMessage(Duration.ofSeconds(10));
        assertNotNull(next, peer + ": no second heartbeat while stalled");
        assertTrue(next.isStatusMessage(), peer + ": a message arrived while stalled");
        return new Stall(delivered, bytes, lastBytes, request, s, m.getHeaders().getFirst("Nats-Last-Consumer"),
            m.getHeaders().getFirst("Nats-Last-Stream"));
      }
    }
  }

  private static Stall stallAndResume(String peer, String url) throws Exception {
    int total = 4000;
    String deliver = "dlv.fcr";
    try (Connection nc = Clients.connect(url)) {
      Subscription plain = nc.subscribe(deliver);
      nc.flush(Duration.ofSeconds(2));
      durableWithFlowControl(nc, peer, "FCR", deliver, total);
      Stall stall = readUntilStalled(peer, plain, deliver);
      assertTrue(stall.delivered() < total, peer);

      nc.publish(stall.request(), null);
      int delivered = stall.delivered();
      int requests = 0;
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (delivered < total) {
        assertTrue(System.nanoTime() < deadline, peer + ": " + delivered + " of " + total + " after 30 s");
        Message m = plain.nextMessage(Duration.ofSeconds(10));
        assertNotNull(m, peer + ": delivery did not resume after the answer; " + delivered + " of " + total);
        if (m.isStatusMessage()) {
          if (m.getReplyTo() != null && m.getReplyTo().matches(FC_REPLY)) {
            requests++;
          }
          continue;
        }
        delivered++;
        assertEquals(delivered, m.metaData().streamSequence(), peer);
      }
      assertTrue(requests >= 1, peer + ": no second flow control request after the answer");
      plain.unsubscribe();
      nc.jetStreamManagement().deleteStream("FCR");
      return stall;
    }
  }

  /**
   * A plain subscriber leaves the durable stalled on a request it never answered; jnats then binds to
   * it and learns the request from a heartbeat's {@code Nats-Consumer-Stalled}, answers, and gets the
   * rest.
   */
  private static void recoverLostRequest(String peer, String url) throws Exception {
    int total = 4000;
    String deliver = "dlv.fcl";
    ClientEvents ev = new ClientEvents();
    try (Connection nc = Clients.connect(url, ev)) {
      Subscription plain = nc.subscribe(deliver);
      nc.flush(Duration.ofSeconds(2));
      durableWithFlowControl(nc, peer, "FCL", deliver, total);
      Stall stall = readUntilStalled(peer, plain, deliver);
      plain.unsubscribe();
      nc.flush(Duration.ofSeconds(2));

      AtomicLong last = new AtomicLong(stall.delivered());
      AtomicReference<String> gap = new AtomicReference<>();
      Dispatcher d = nc.createDispatcher();
      JetStreamSubscription sub = nc.jetStream().subscribe(null, d, m -> {
        long seq = m.metaData().streamSequence();
        if (seq != last.get() + 1) {
          gap.compareAndSet(null, "after " + last.get() + " came " + seq);
        }
        last.set(seq);
      }, false, PushSubscribeOptions.bind("FCL", "FCLD"));
      Await.until(Duration.ofSeconds(30), () -> gap.get() != null || last.get() >= total ? null
          : peer + ": jnats got up to " + last.get() + " of " + total + " (stalled on " + stall.request() + ")");
      assertEquals(null, gap.get(), peer);
      assertEquals("", ev.problems(), peer);
      d.unsubscribe(sub);
      nc.jetStreamManagement().deleteStream("FCL");
    }
  }
}
