package io.leafgate.mqtt.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leafgate.mqtt.message.AppMessage;
import io.leafgate.mqtt.message.Delivery;
import io.leafgate.mqtt.message.Props;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Every {@link MqttStore} method and edge case, run against each implementation. */
abstract class MqttStoreContract {
  protected MqttStore store;

  /** A new, empty store. */
  protected abstract MqttStore open() throws Exception;

  @BeforeEach
  void setUp() throws Exception {
    store = open();
  }

  @AfterEach
  void tearDown() {
    store.close();
  }

  static <T> T get(java.util.concurrent.CompletableFuture<T> f) throws Exception {
    return f.get(5, TimeUnit.SECONDS);
  }

  /**
   * The sessions once {@code n} are readable. The JetStream API does not promise that a read right
   * after a PubAck sees the message (early versions of the local engine moved the durable watermark
   * after acknowledging), so reads that follow writes wait for them.
   */
  List<SessionRecord> sessionsOnce(int n) throws Exception {
    return until(() -> store.loadSessions(), l -> l.size() >= n);
  }

  /** Reads until {@code ok} holds (see {@link #sessionsOnce}) or 5 s pass; returns the last read. */
  static <T> T until(java.util.concurrent.Callable<T> read, java.util.function.Predicate<T> ok) throws Exception {
    long deadline = System.nanoTime() + 5_000_000_000L;
    T v = read.call();
    while (!ok.test(v) && System.nanoTime() < deadline) {
      Thread.sleep(2);
      v = read.call();
    }
    return v;
  }

  static AppMessage msg(String subject, String payload, int qos) {
    return new AppMessage(subject, payload.getBytes(StandardCharsets.UTF_8), qos, false, Props.NONE, 0);
  }

  @Test
  void sessionsAreSavedReplacedAndDeleted() throws Exception {
    SessionRecord a = new SessionRecord("dev/1.x", 5, 300, 0,
        List.of(new SessionRecord.Sub("$share/g/a/#", 1, false, true, 2, 7), new SessionRecord.Sub("b", 2, true, false, 0, 0)));
    get(store.saveSession(a));
    get(store.saveSession(new SessionRecord("other", 4, -1, 123, List.of())));
    SessionRecord a2 = new SessionRecord("dev/1.x", 5, 600, 99, List.of());
    get(store.saveSession(a2));
    List<SessionRecord> all = sessionsOnce(2);
    assertEquals(2, all.size());
    assertTrue(all.contains(a2), all.toString());
    assertTrue(all.contains(new SessionRecord("other", 4, -1, 123, List.of())));
    get(store.deleteSession(SessionKeys.of("dev/1.x")));
    assertEquals(List.of(new SessionRecord("other", 4, -1, 123, List.of())), store.loadSessions());
  }

  @Test
  void subscriptionOptionsRoundTrip() throws Exception {
    SessionRecord a = new SessionRecord("c", 5, 300, 0,
        List.of(new SessionRecord.Sub("$share/g/a/#", 1, false, true, 2, 7), new SessionRecord.Sub("b", 2, true, false, 1, 0)));
    get(store.saveSession(a));
    assertEquals(List.of(a), sessionsOnce(1));
  }

  @Test
  void queueKeepsOrderAndPagesAfterAnId() throws Exception {
    String k = SessionKeys.of("c");
    long[] ids = new long[5];
    for (int i = 0; i < 5; i++) {
      ids[i] = get(store.enqueue(k, new Delivery(msg("s." + i, "p" + i, 1), 1, false, 0, 0), null));
      assertTrue(i == 0 || ids[i] > ids[i - 1], "ids increase");
    }
    get(store.enqueue(SessionKeys.of("other"), new Delivery(msg("x", "x", 1), 1, false, 0, 0), null));
    until(() -> get(store.loadQueue(k, 0, 10)), l -> l.size() == 5);
    List<MqttStore.Queued> first = get(store.loadQueue(k, 0, 3));
    assertEquals(3, first.size());
    assertEquals("s.0", first.get(0).delivery().msg().subject());
    assertEquals(ids[0], first.get(0).id());
    List<MqttStore.Queued> rest = get(store.loadQueue(k, first.get(2).id(), 10));
    assertEquals(List.of("s.3", "s.4"), rest.stream().map(q -> q.delivery().msg().subject()).toList());
    store.dequeue(k, ids[3]);
    io.leafgate.mqtt.Poll.until(java.time.Duration.ofSeconds(5), () -> {
      try {
        return get(store.loadQueue(k, 0, 10)).size() == 4 ? null : "not dequeued yet";
      } catch (Exception e) {
        return e.toString();
      }
    });
    assertEquals(List.of("s.0", "s.1", "s.2", "s.4"),
        get(store.loadQueue(k, 0, 10)).stream().map(q -> q.delivery().msg().subject()).toList());
  }

  @Test
  void deliveryFieldsRoundTrip() throws Exception {
    Props p = new Props(1, "text/plain", "reply/here", new byte[] {0, 1, 2},
        List.of(new Props.UserProperty("a", "1"), new Props.UserProperty("a", "2"), new Props.UserProperty("k: v", "x\r\ny")));
    AppMessage m = new AppMessage("a.*.b", "payload".getBytes(StandardCharsets.UTF_8), 2, true, p, 1_800_000_000_000L);
    String k = SessionKeys.of("c");
    get(store.enqueue(k, new Delivery(m, 1, true, 42, 0), null));
    Delivery d = until(() -> get(store.loadQueue(k, 0, 1)), l -> l.size() == 1).get(0).delivery();
    assertEquals(1, d.qos());
    assertTrue(d.retain());
    assertEquals(42, d.subscriptionId());
    assertEquals("a.*.b", d.msg().subject());
    assertArrayEquals(m.payload(), d.msg().payload());
    assertEquals(1_800_000_000_000L, d.msg().expiresAtMillis());
    assertEquals(p.user(), d.msg().props().user());
    assertEquals("text/plain", d.msg().props().contentType());
    assertEquals("reply/here", d.msg().props().responseTopic());
    assertArrayEquals(new byte[] {0, 1, 2}, d.msg().props().correlationData());
    assertEquals(1, d.msg().props().payloadFormat());
  }

  @Test
  void aRepeatedMessageIdIsQueuedOnce() throws Exception {
    String k = SessionKeys.of("c");
    long a = get(store.enqueue(k, new Delivery(msg("s", "1", 1), 1, false, 0, 0), "id-1"));
    long b = get(store.enqueue(k, new Delivery(msg("s", "1", 1), 1, false, 0, 0), "id-1"));
    assertEquals(a, b);
    assertEquals(1, until(() -> get(store.loadQueue(k, 0, 10)), l -> !l.isEmpty()).size());
  }

  @Test
  void heldQos2MessagesAndOutboundStateAreKeptPerPacketId() throws Exception {
    String k = SessionKeys.of("c");
    long h1 = get(store.holdQos2(k, 1, msg("a", "x", 2)));
    long h2 = get(store.holdQos2(k, 65535, msg("b", "y", 2)));
    assertTrue(h1 > 0 && h2 > 0 && h1 != h2);
    get(store.holdQos2(SessionKeys.of("other"), 1, msg("z", "z", 2)));
    Map<Integer, MqttStore.Held> held = until(() -> get(store.loadQos2(k)), m -> m.size() >= 2);
    assertEquals(2, held.size());
    assertEquals("b", held.get(65535).msg().subject());
    assertEquals(h1, held.get(1).holdId());
    get(store.releaseQos2(k, 1));
    assertEquals(java.util.Set.of(65535), get(store.loadQos2(k)).keySet());

    get(store.saveOutbound(k, 7, 100));
    get(store.saveOutbound(k, 8, 101));
    get(store.saveOutbound(k, 7, 0)); // PUBREL sent
    assertEquals(Map.of(7, 0L, 8, 101L), until(() -> get(store.loadOutbound(k)), m -> m.equals(Map.of(7, 0L, 8, 101L))));
    get(store.clearOutbound(k, 8));
    assertEquals(Map.of(7, 0L), get(store.loadOutbound(k)));

    get(store.deleteSession(k));
    assertEquals(Map.of(), get(store.loadQos2(k)));
    assertEquals(Map.of(), get(store.loadOutbound(k)));
    assertEquals(1, until(() -> get(store.loadQos2(SessionKeys.of("other"))), m -> !m.isEmpty()).size());
  }

  @Test
  void deleteSessionEmptiesItsQueue() throws Exception {
    String k = SessionKeys.of("c");
    get(store.enqueue(k, new Delivery(msg("s", "1", 1), 1, false, 0, 0), null));
    get(store.deleteSession(k));
    assertEquals(List.of(), get(store.loadQueue(k, 0, 10)));
  }

  @Test
  void retainedMessagesAreOnePerSubjectWithLiteralWildcards() throws Exception {
    get(store.putRetained(msg("a.b", "1", 1)));
    get(store.putRetained(msg("a.*", "star", 0)));
    get(store.putRetained(msg("a.b", "2", 1)));
    get(store.putRetained(msg("a.>", "gt", 0)));
    assertEquals(Map.of("a.b", "2", "a.*", "star", "a.>", "gt"),
        until(this::retained, m -> m.equals(Map.of("a.b", "2", "a.*", "star", "a.>", "gt"))));
    // Deleting the subject with a literal '*' must not touch the others.
    get(store.deleteRetained("a.*"));
    assertEquals(Map.of("a.b", "2", "a.>", "gt"), retained());
  }

  private Map<String, String> retained() throws Exception {
    Map<String, String> m = new java.util.HashMap<>();
    for (AppMessage a : store.loadRetained()) {
      m.put(a.subject(), new String(a.payload(), StandardCharsets.UTF_8));
      assertTrue(a.retain());
    }
    return m;
  }

  @Test
  void aFullSessionQueueRefusesMore() throws Exception {
    String k = SessionKeys.of("flood");
    long limit = io.leafgate.mqtt.Defaults.MAX_QUEUED_PER_SESSION;
    java.util.List<java.util.concurrent.CompletableFuture<Long>> all = new java.util.ArrayList<>();
    for (long i = 0; i < limit; i++) {
      all.add(store.enqueue(k, new Delivery(msg("s", "", 1), 1, false, 0, 0), null));
    }
    for (var f : all) {
      get(f);
    }
    ExecutionException e = assertThrows(ExecutionException.class,
        () -> get(store.enqueue(k, new Delivery(msg("s", "", 1), 1, false, 0, 0), null)));
    assertTrue(e.getCause().getMessage().contains("maximum"), e.getCause().getMessage());
    // Another session is not affected.
    get(store.enqueue(SessionKeys.of("calm"), new Delivery(msg("s", "", 1), 1, false, 0, 0), null));
  }
}
