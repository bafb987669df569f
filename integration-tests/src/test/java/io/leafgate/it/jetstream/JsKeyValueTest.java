package io.leafgate.it.jetstream;

import io.leafgate.it.harness.Await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.nats.client.Connection;
import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamManagement;
import io.nats.client.KeyValue;
import io.nats.client.KeyValueManagement;
import io.nats.client.api.DiscardPolicy;
import io.nats.client.api.KeyValueConfiguration;
import io.nats.client.api.KeyValueEntry;
import io.nats.client.api.KeyValueOperation;
import io.nats.client.api.KeyValueStatus;
import io.nats.client.api.KeyValueWatchOption;
import io.nats.client.api.KeyValueWatcher;
import io.nats.client.api.StreamConfiguration;
import io.nats.client.impl.NatsKeyValueWatchSubscription;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** §14 E: the jnats key-value store on leafgate's JetStream. */
class JsKeyValueTest extends JsTestBase {
  private static KeyValue bucket(String name, int history) throws Exception {
    nc.keyValueManagement().create(KeyValueConfiguration.builder().name(name).maxHistoryPerKey(history).build());
    return nc.keyValue(name);
  }

  /** Records what a watcher sees. */
  static final class Recorder implements KeyValueWatcher {
    final List<KeyValueEntry> entries = new CopyOnWriteArrayList<>();
    final AtomicInteger endOfData = new AtomicInteger();
    volatile int entriesAtEndOfData = -1;

    @Override
    public void watch(KeyValueEntry e) {
      entries.add(e);
    }

    @Override
    public void endOfData() {
      if (endOfData.incrementAndGet() == 1) {
        entriesAtEndOfData = entries.size();
      }
    }

    List<String> keys() {
      return entries.stream().map(KeyValueEntry::getKey).toList();
    }
  }

  @Test
  void createShapesTheBackingStream() throws Exception {
    KeyValueStatus st = nc.keyValueManagement().create(KeyValueConfiguration.builder().name("shape").maxHistoryPerKey(3).build());
    assertEquals("shape", st.getBucketName());
    assertEquals(3, st.getMaxHistoryPerKey());
    StreamConfiguration sc = jsm.getStreamInfo("KV_shape").getConfiguration();
    assertEquals(List.of("$KV.shape.>"), sc.getSubjects());
    assertEquals(DiscardPolicy.New, sc.getDiscardPolicy());
    assertTrue(sc.getAllowRollup());
    assertTrue(sc.getAllowDirect());
    assertTrue(sc.getDenyDelete());
    assertEquals(3, sc.getMaxMsgsPerSubject());
    // Creating the same bucket again is fine; a different one is 10058.
    nc.keyValueManagement().create(KeyValueConfiguration.builder().name("shape").maxHistoryPerKey(3).build());
    JetStreamApiException e = assertThrows(JetStreamApiException.class,
        () -> nc.keyValueManagement().create(KeyValueConfiguration.builder().name("shape").maxHistoryPerKey(5).build()));
    assertEquals(10058, e.getApiErrorCode());
  }

  @Test
  void putGetCreateUpdate() throws Exception {
    KeyValue kv = bucket("basic", 5);
    long r1 = kv.put("a", "1");
    assertEquals("1", kv.get("a").getValueAsString());
    assertEquals(r1, kv.get("a").getRevision());
    assertEquals(KeyValueOperation.PUT, kv.get("a").getOperation());
    long r2 = kv.put("a", "2");
    assertEquals("1", kv.get("a", r1).getValueAsString());
    assertEquals("2", kv.get("a", r2).getValueAsString());
    assertNull(kv.get("missing"));
    long rb = kv.put("b", "x");
    assertNull(kv.get("a", rb), "a revision of another key must not be returned");

    JetStreamApiException exists = assertThrows(JetStreamApiException.class, () -> kv.create("a", "3".getBytes()));
    assertEquals(10071, exists.getApiErrorCode());
    kv.delete("a");
    assertNull(kv.get("a"));
    long r4 = kv.create("a", "4".getBytes());
    assertEquals("4", kv.get("a").getValueAsString());

    JetStreamApiException wrong = assertThrows(JetStreamApiException.class, () -> kv.update("a", "5", r4 - 1));
    assertEquals(10071, wrong.getApiErrorCode());
    long r5 = kv.update("a", "5", r4);
    assertEquals(r5, kv.get("a").getRevision());
  }

  @Test
  void purgeHistoryKeysStatusAndDelete() throws Exception {
    KeyValue kv = bucket("hist", 3);
    for (int i = 1; i <= 5; i++) {
      kv.put("h", "v" + i);
    }
    List<KeyValueEntry> h = kv.history("h");
    assertEquals(3, h.size());
    assertEquals(List.of("v3", "v4", "v5"), h.stream().map(KeyValueEntry::getValueAsString).toList());

    kv.put("p", "x");
    kv.put("p", "y");
    kv.purge("p");
    List<KeyValueEntry> ph = kv.history("p");
    assertEquals(1, ph.size());
    assertEquals(KeyValueOperation.PURGE, ph.get(0).getOperation());

    kv.put("dir.one", "1");
    kv.put("dir.two", "2");
    kv.put("gone", "g");
    kv.delete("gone");
    Set<String> keys = new HashSet<>(kv.keys());
    assertEquals(Set.of("h", "dir.one", "dir.two"), keys);
    assertEquals(Set.of("dir.one", "dir.two"), new HashSet<>(kv.keys("dir.*")));

    KeyValueStatus st = kv.getStatus();
    assertEquals(3, st.getMaxHistoryPerKey());
    long before = st.getEntryCount();
    kv.purgeDeletes();
    long after = kv.getStatus().getEntryCount();
    assertTrue(after < before, "purgeDeletes removed nothing: " + before + " -> " + after);
    assertEquals(Set.of("h", "dir.one", "dir.two"), new HashSet<>(kv.keys()));

    assertTrue(nc.keyValueManagement().getBucketNames().contains("hist"));
    nc.keyValueManagement().delete("hist");
    assertFalse(nc.keyValueManagement().getBucketNames().contains("hist"));
    assertThrows(Exception.class, () -> nc.keyValue("hist").get("h"));
  }

  @Test
  void watchAllSendsInitialValuesThenEndOfDataOnceThenUpdates() throws Exception {
    KeyValue kv = bucket("watch", 5);
    kv.put("a", "1");
    kv.put("b", "1");
    kv.put("a", "2");
    kv.put("c", "1");
    Recorder r = new Recorder();
    NatsKeyValueWatchSubscription w = kv.watchAll(r);
    Await.until(Duration.ofSeconds(5), () -> r.endOfData.get() == 1 ? null : "no end of data");
    assertEquals(3, r.entriesAtEndOfData);
    assertEquals(List.of("b", "a", "c"), r.keys().subList(0, 3));
    kv.put("d", "1");
    kv.delete("b");
    Await.until(Duration.ofSeconds(5), () -> r.entries.size() >= 5 ? null : "live updates missing: " + r.keys());
    assertEquals(KeyValueOperation.DELETE, r.entries.get(4).getOperation());
    assertEquals(1, r.endOfData.get());
    w.unsubscribe();
    assertEquals("", events.problems());
  }

  @Test
  void watchOptions() throws Exception {
    KeyValue kv = bucket("watchopt", 5);
    kv.put("a", "1");
    kv.put("a", "2");
    kv.put("b", "1");

    Recorder updates = new Recorder();
    NatsKeyValueWatchSubscription w1 = kv.watchAll(updates, KeyValueWatchOption.UPDATES_ONLY);
    Await.until(Duration.ofSeconds(5), () -> updates.endOfData.get() == 1 ? null : "no end of data");
    assertEquals(0, updates.entriesAtEndOfData);

    Recorder history = new Recorder();
    NatsKeyValueWatchSubscription w2 = kv.watchAll(history, KeyValueWatchOption.INCLUDE_HISTORY);
    Await.until(Duration.ofSeconds(5), () -> history.endOfData.get() == 1 ? null : "no end of data");
    assertEquals(3, history.entriesAtEndOfData);

    Recorder meta = new Recorder();
    NatsKeyValueWatchSubscription w3 = kv.watchAll(meta, KeyValueWatchOption.META_ONLY);
    Await.until(Duration.ofSeconds(5), () -> meta.endOfData.get() == 1 ? null : "no end of data");
    assertEquals(2, meta.entriesAtEndOfData);
    for (KeyValueEntry e : meta.entries) {
      assertTrue(e.getValue() == null || e.getValue().length == 0, "META_ONLY delivered a value");
      assertEquals(1, e.getDataLen());
    }

    Recorder two = new Recorder();
    NatsKeyValueWatchSubscription w4 = kv.watch(List.of("a", "c"), two);
    Await.until(Duration.ofSeconds(5), () -> two.endOfData.get() == 1 ? null : "no end of data");
    assertEquals(List.of("a"), two.keys());

    kv.put("c", "new");
    kv.put("b", "2");
    Await.until(Duration.ofSeconds(5), () -> updates.entries.size() >= 2 ? null : "updates: " + updates.keys());
    Await.until(Duration.ofSeconds(5), () -> two.entries.size() >= 2 ? null : "two keys: " + two.keys());
    assertEquals(List.of("c", "b"), updates.keys());
    assertEquals(List.of("a", "c"), two.keys());
    for (Recorder r : List.of(updates, history, meta, two)) {
      assertEquals(1, r.endOfData.get());
    }
    w1.unsubscribe();
    w2.unsubscribe();
    w3.unsubscribe();
    w4.unsubscribe();
    assertEquals("", events.problems());
  }

  @Test
  void bucketNamesListsOnlyBuckets() throws Exception {
    bucket("names1", 1);
    bucket("names2", 1);
    jsm.addStream(StreamConfiguration.builder().name("NOT_A_BUCKET").subjects("nab.>").build());
    List<String> names = nc.keyValueManagement().getBucketNames();
    assertTrue(names.containsAll(List.of("names1", "names2")), names.toString());
    assertFalse(names.contains("NOT_A_BUCKET"));
    assertNotNull(nc.keyValueManagement().getStatus("names1"));
  }
}
