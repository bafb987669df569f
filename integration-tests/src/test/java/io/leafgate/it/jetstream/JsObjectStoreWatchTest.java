package io.leafgate.it.jetstream;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.leafgate.it.harness.Await;
import io.nats.client.Connection;
import io.nats.client.ObjectStore;
import io.nats.client.api.ObjectInfo;
import io.nats.client.api.ObjectMeta;
import io.nats.client.api.ObjectStoreConfiguration;
import io.nats.client.api.ObjectStoreWatchOption;
import io.nats.client.api.ObjectStoreWatcher;
import io.nats.client.api.StorageType;
import io.nats.client.impl.NatsObjectStoreWatchSubscription;
import java.io.ByteArrayInputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * jnats' {@code ObjectStore.watch} (an ordered push consumer on the bucket's meta subjects, last
 * per subject, with flow control and heartbeats) against leafgate and against nats-server: the
 * same steps give the same events on both, with and without the watch options.
 */
class JsObjectStoreWatchTest {
  /** What one watcher saw, as comparable strings: {@code name} or {@code name deleted}, and {@code EOD}. */
  static final class Recorder implements ObjectStoreWatcher {
    final List<String> events = new CopyOnWriteArrayList<>();
    final String prefix;

    Recorder() {
      this(null);
    }

    Recorder(String prefix) {
      this.prefix = prefix;
    }

    @Override
    public String getConsumerNamePrefix() {
      return prefix;
    }

    @Override
    public void watch(ObjectInfo info) {
      events.add(info.getObjectName() + (info.isDeleted() ? " deleted" : " " + info.getSize()));
    }

    @Override
    public void endOfData() {
      events.add("EOD");
    }

    /** Waits until {@code n} events have arrived. */
    void await(int n) {
      Await.until(Duration.ofSeconds(10), () -> events.size() >= n ? null : "events so far " + events);
    }
  }

  /** The events of each watcher after the same steps; the lists are compared whole. */
  record Seen(List<String> empty, List<String> all, List<String> updates, List<String> noDeletes,
      List<String> history, List<String> named, int consumers) {}

  @Test
  void watchSeesPutsAndDeletesAsOnNatsServer(@TempDir Path tmp) throws Exception {
    Seen ref;
    try (NatsServerJs ns = NatsServerJs.start(tmp.resolve("nats-server"))) {
      ref = run(ns.url(), new ClientEvents());
    }
    ClientEvents ev = new ClientEvents();
    Seen lg;
    try (JsGateway gw = JsGateway.start(tmp.resolve("leafgate"))) {
      lg = run(gw.url(), ev);
    }
    assertEquals(List.of("a.txt 3", "b.bin 300000", "EOD", "c.txt 1", "a.txt deleted", "b.bin 10"), ref.all(),
        "nats-server's own events are not what this test expects");
    assertEquals(List.of("EOD"), ref.empty());
    assertEquals(5, ref.consumers());
    assertEquals(ref, lg);
    assertEquals("", ev.problems());
  }

  private static Seen run(String url, ClientEvents ev) throws Exception {
    try (Connection nc = Clients.connect(url, ev)) {
      nc.objectStoreManagement().create(ObjectStoreConfiguration.builder("watched")
          .storageType(StorageType.File).build());
      ObjectStore os = nc.objectStore("watched");
      Recorder empty = new Recorder();
      NatsObjectStoreWatchSubscription emptySub = os.watch(empty);
      empty.await(1);
      emptySub.unsubscribe();
      os.put("a.txt", "one".getBytes());
      os.put(ObjectMeta.builder("b.bin").chunkSize(128 * 1024).build(), new ByteArrayInputStream(new byte[300_000]));

      Recorder all = new Recorder();
      Recorder updates = new Recorder();
      Recorder noDeletes = new Recorder();
      Recorder history = new Recorder();
      Recorder named = new Recorder("osw");
      List<NatsObjectStoreWatchSubscription> subs = new ArrayList<>();
      subs.add(os.watch(all));
      subs.add(os.watch(updates, ObjectStoreWatchOption.UPDATES_ONLY));
      subs.add(os.watch(noDeletes, ObjectStoreWatchOption.IGNORE_DELETE));
      subs.add(os.watch(history, ObjectStoreWatchOption.INCLUDE_HISTORY));
      subs.add(os.watch(named));
      all.await(3);
      updates.await(1);
      noDeletes.await(3);
      history.await(3);
      named.await(3);

      os.put("c.txt", "3".getBytes());
      os.delete("a.txt");
      os.put(ObjectMeta.builder("b.bin").chunkSize(128 * 1024).build(), new ByteArrayInputStream(new byte[10]));
      all.await(6);
      updates.await(4);
      noDeletes.await(5);
      history.await(6);
      named.await(6);
      // The last step was seen by every watcher; a message more would have arrived with it.
      nc.flush(Duration.ofSeconds(2));
      // One consumer per live watcher: none was recreated (an ordered consumer that saw a gap or
      // missed heartbeats would have been), and the empty bucket's watcher is gone or going.
      int consumers = (int) nc.jetStreamManagement().getConsumers("OBJ_watched").stream()
          .filter(ci -> ci.isPushBound()).count();
      for (NatsObjectStoreWatchSubscription s : subs) {
        s.unsubscribe();
      }
      return new Seen(List.copyOf(empty.events), List.copyOf(all.events), List.copyOf(updates.events), List.copyOf(noDeletes.events),
          List.copyOf(history.events), List.copyOf(named.events), consumers);
    }
  }
}
