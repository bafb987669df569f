package io.leafgate.storage.sqlite;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leafgate.storage.api.StoreException;
import io.leafgate.storage.api.StreamRecord;
import io.leafgate.storage.api.StreamStore;
import io.leafgate.storage.sqlite.SqliteJetStreamStore.Options;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A full disk, for real: the store on a 2 MB tmpfs (needs root; skipped otherwise). Appends and
 * commits fail with NO_SPACE, nothing committed is lost, and after a rollback and some freed space
 * the store works again.
 */
class SqliteDiskFullTest {
  @TempDir Path tmp;

  private static int run(String... cmd) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    p.getInputStream().readAllBytes();
    return p.waitFor(30, TimeUnit.SECONDS) ? p.exitValue() : -1;
  }

  @Test
  void aFullDiskFailsCleanlyAndTheStoreRecoversOnceSpaceReturns() throws Exception {
    // Load the native library outside the small file system (it is about 1 MB).
    SqliteJetStreamStore.open(tmp.resolve("warmup"), Options.defaults()).close();
    Path mnt = tmp.resolve("small");
    Files.createDirectories(mnt);
    int rc;
    try {
      rc = run("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", mnt.toString());
    } catch (IOException e) {
      rc = -1;
    }
    Assumptions.assumeTrue(rc == 0, "cannot mount a tmpfs here (not root?)");
    try {
      fillFailAndRecover(mnt);
    } finally {
      assertEquals(0, run("umount", mnt.toString()), "umount " + mnt);
    }
  }

  private void fillFailAndRecover(Path mnt) throws Exception {
    Path filler = mnt.resolve("filler");
    Files.write(filler, new byte[400 * 1024]);
    Random rnd = new Random(42);
    Map<Long, byte[]> committed = new HashMap<>();
    Map<Long, byte[]> pending = new HashMap<>();
    StoreException full = null;
    try (SqliteJetStreamStore js = SqliteJetStreamStore.open(mnt, Options.defaults())) {
      StreamStore s = js.createStream(new StreamRecord("S", "{}", 1, "e", false));
      js.commit(null);
      for (int i = 0; i < 20_000 && full == null; i++) {
        byte[] data = new byte[1000];
        rnd.nextBytes(data);
        try {
          pending.put(s.append("s." + (i % 3), null, data, i, i, null), data);
          if (i % 10 == 9) {
            js.commit(null);
            committed.putAll(pending);
            pending.clear();
          }
        } catch (StoreException e) {
          full = e;
        }
      }
      assertNotNull(full, "the 2 MB file system never filled up");
      assertEquals(StoreException.Kind.NO_SPACE, full.kind(), full.getMessage());
      assertTrue(committed.size() > 100, "committed before the disk filled: " + committed.size());

      // Until the rollback, the group is refused as a whole.
      StoreException again = null;
      try {
        s.append("s.0", null, new byte[10], 1, 1, null);
      } catch (StoreException e) {
        again = e;
      }
      assertNotNull(again);
      js.rollback();
      assertNull(js.problem(), "a full disk is not a damaged store");
      long last = committed.keySet().stream().mapToLong(Long::longValue).max().orElseThrow();
      assertEquals(last, s.state().lastSeq());
      assertEquals(committed.size(), s.state().msgs());
      checkAll(s, committed);

      // Still full: fails again, and rolls back again.
      boolean failedAgain = false;
      try {
        for (int i = 0; i < 200; i++) {
          s.append("s.0", null, new byte[1000], 1, 1, null);
        }
        js.commit(null);
      } catch (StoreException e) {
        failedAgain = e.kind() == StoreException.Kind.NO_SPACE;
        js.rollback();
      }
      assertTrue(failedAgain, "still no room");
      assertEquals(last, s.state().lastSeq());

      Files.delete(filler);
      CountDownLatch durable = new CountDownLatch(1);
      for (int i = 0; i < 20; i++) {
        byte[] data = new byte[1000];
        rnd.nextBytes(data);
        committed.put(s.append("s.1", null, data, i, i, null), data);
      }
      js.commit(durable::countDown);
      assertTrue(durable.await(10, TimeUnit.SECONDS));
      assertEquals(last + 20, s.state().lastSeq());
    }
    try (SqliteJetStreamStore js = SqliteJetStreamStore.open(mnt, Options.defaults())) {
      StreamStore s = js.openStream(js.streams().get(0));
      assertEquals(committed.size(), s.state().msgs());
      checkAll(s, committed);
    }
  }

  private static void checkAll(StreamStore s, Map<Long, byte[]> want) throws StoreException {
    for (Map.Entry<Long, byte[]> e : want.entrySet()) {
      assertNotNull(s.load(e.getKey()), "lost " + e.getKey());
      assertArrayEquals(e.getValue(), s.load(e.getKey()).data(), "content of " + e.getKey());
    }
  }
}
