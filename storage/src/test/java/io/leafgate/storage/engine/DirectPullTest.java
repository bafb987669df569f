package io.leafgate.storage.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leafgate.leaf.route.Router;
import io.leafgate.leaf.spi.InternalClient;
import io.leafgate.storage.api.StoredMessage;
import io.leafgate.storage.mem.MemJetStreamStore;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The in-process pull path the uplink forwarder uses: messages in stream order and in batches,
 * the consumer's bookkeeping as for a client (max_ack_pending, ack wait redelivery, removal under
 * work-queue retention), and a request that expires ends with the status a client would get.
 */
class DirectPullTest {
  private Router router;
  private JetStreamEngine engine;
  private InternalClient client;

  @BeforeEach
  void start() throws Exception {
    router = new Router();
    engine = new JetStreamEngine(router, new MemJetStreamStore(), new JetStreamEngine.Options(null, 0, 0, "t"));
    engine.start();
    client = new InternalClient(router, "test");
    api("$JS.API.STREAM.CREATE.Q", "{\"name\":\"Q\",\"subjects\":[\"q.>\"],\"retention\":\"workqueue\",\"storage\":\"memory\"}");
    api("$JS.API.CONSUMER.CREATE.Q.C", "{\"stream_name\":\"Q\",\"config\":{\"durable_name\":\"C\",\"ack_policy\":\"explicit\","
        + "\"ack_wait\":300000000,\"max_ack_pending\":5}}");
  }

  @AfterEach
  void stop() {
    engine.close();
  }

  @Test
  void deliversInOrderInBatchesAndAcksRemoveFromAWorkQueue() throws Exception {
    for (int i = 0; i < 8; i++) {
      api("q.x", "m" + i);
    }
    Puller p = new Puller();
    engine.pullDirect("Q", "C", 8, 0, p);
    await(() -> p.got.size() == 5, "max_ack_pending stops the request at 5: " + p.got);
    assertEquals(List.of(1L, 2L, 3L, 4L, 5L), seqs(p.got));
    assertTrue(p.batchEnds.get(0) > 0, "handed on at the end of a delivery pass");
    assertEquals("m0", new String(p.got.get(0).data(), StandardCharsets.UTF_8));

    engine.ackDirect("Q", "C", new long[] {1, 2, 3, 99}, 3);
    await(() -> p.got.size() == 8, "acks make room for the rest: " + seqs(p.got));
    assertEquals(List.of(1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L), seqs(p.got));
    long left = engine.call(e -> e.stream("Q").store.state().msgs(), 5000);
    assertEquals(5, left, "the three acknowledged messages left the work queue");
    assertTrue(p.ends.isEmpty(), "a request that got all it asked for ends without a status: " + p.ends);
  }

  @Test
  void unacknowledgedMessagesComeAgainAfterAckWaitWithTheirDeliveryCount() throws Exception {
    api("q.x", "only");
    Puller p = new Puller();
    engine.pullDirect("Q", "C", 2, 0, p);
    await(() -> p.got.size() == 2, "redelivered after ack_wait: " + seqs(p.got));
    assertEquals(List.of(1L, 1L), seqs(p.got));
    assertEquals(List.of(1, 2), p.deliveries);
  }

  @Test
  void anExpiredRequestEndsWithATimeoutAndWhatItDidNotGet() throws Exception {
    Puller p = new Puller();
    engine.pullDirect("Q", "C", 3, TimeUnit.MILLISECONDS.toNanos(100), p);
    await(() -> !p.ends.isEmpty(), "the request expires");
    assertEquals(List.of("408 Request Timeout/3"), p.ends);

    Puller q = new Puller();
    engine.pullDirect("Q", "NOPE", 3, 0, q);
    await(() -> !q.ends.isEmpty(), "an unknown consumer ends the request");
    assertEquals(List.of("404 Consumer Not Found/3"), q.ends);
  }

  @Test
  void aRequestCompletedInThePassThatServesTheNextIsHandedOnFirst() throws Exception {
    Puller first = new Puller();
    Puller second = new Puller();
    engine.pullDirect("Q", "C", 2, 0, first);
    engine.pullDirect("Q", "C", 3, 0, second);
    // Published in one go, so that one delivery pass serves both requests.
    engine.call(e -> {
      for (int i = 0; i < 5; i++) {
        client.publish("q.x", null, null, ("m" + i).getBytes(StandardCharsets.UTF_8));
      }
      return null;
    }, 5000);
    await(() -> second.got.size() == 3, "the second request is served: " + seqs(second.got));
    await(() -> first.got.size() == 2, "the first request's messages are handed on: " + seqs(first.got));
    assertEquals(List.of(1L, 2L), seqs(first.got));
    assertEquals(List.of(3L, 4L, 5L), seqs(second.got));
  }

  @Test
  void aPullerThatIsGoneGetsNothingMore() throws Exception {
    Puller gone = new Puller();
    gone.live = false;
    engine.pullDirect("Q", "C", 1, 0, gone);
    Puller p = new Puller();
    engine.pullDirect("Q", "C", 1, 0, p);
    api("q.x", "m");
    await(() -> p.got.size() == 1, "the live request gets the message");
    assertTrue(gone.got.isEmpty(), "the request of a puller that is gone is dropped");
  }

  private static List<Long> seqs(List<StoredMessage> ms) {
    List<Long> out = new ArrayList<>();
    for (StoredMessage m : ms) {
      out.add(m.seq());
    }
    return out;
  }

  private void api(String subject, String body) throws Exception {
    InternalClient.Message r = client.request(subject, null, body.getBytes(StandardCharsets.UTF_8), 5000).get(5, TimeUnit.SECONDS);
    String s = new String(r.data(), StandardCharsets.UTF_8);
    assertTrue(!s.contains("\"error\""), subject + ": " + s);
  }

  private static void await(BooleanSupplier done, String what) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (!done.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out: " + what);
      }
      Thread.sleep(5);
    }
  }

  /** Records what the engine gives it (the engine calls it on its thread; the test reads). */
  private static final class Puller implements DirectPull {
    final List<StoredMessage> got = new CopyOnWriteArrayList<>();
    final List<Integer> deliveries = new CopyOnWriteArrayList<>();
    final List<Integer> batchEnds = new CopyOnWriteArrayList<>();
    final List<String> ends = new CopyOnWriteArrayList<>();
    volatile boolean live = true;
    private int inPass;

    /** Messages of the current pass: they count as received only once the pass is handed on. */
    private final List<StoredMessage> pass = new ArrayList<>();

    @Override
    public void onMessage(StoredMessage m, int n) {
      pass.add(m);
      deliveries.add(n);
      inPass++;
    }

    @Override
    public void onBatchEnd() {
      got.addAll(pass);
      pass.clear();
      batchEnds.add(inPass);
      inPass = 0;
    }

    @Override
    public void onEnd(String status, long undelivered) {
      ends.add(status + "/" + undelivered);
    }

    @Override
    public boolean live() {
      return live;
    }
  }
}
