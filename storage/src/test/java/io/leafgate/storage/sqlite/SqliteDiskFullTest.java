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

  /**
   * Removed messages whose rows are still in their table (a consumed prefix: see
   * SqliteStreamStore's ghosts) hold pages. When the store has filled the disk up to the room it
   * leaves to the system, it frees them by itself and new messages go into their pages.
   */
  @Test
  void theRowsOfRemovedMessagesAreFreedForNewOnesWhenTheDiskIsFull() throws Exception {
    onSmallDisk("16m", this::freeRemovedOnFullDisk);
  }

  @Test
  void aFullDiskFailsCleanlyAndTheStoreRecoversOnceSpaceReturns() throws Exception {
    onSmallDisk("2m", this::fillFailAndRecover);
  }

  private interface OnDisk {
    void run(Path mnt) throws Exception;
  }

  private void onSmallDisk(String size, OnDisk test) throws Exception {
    // Load the native library outside the small file system (it is about 1 MB).
    SqliteJetStreamStore.open(tmp.resolve("warmup"), Options.defaults()).close();
    Path mnt = tmp.resolve("small");
    Files.createDirectories(mnt);
    int rc;
    try {
      rc = run("mount", "-t", "tmpfs", "-o", "size=" + size, "tmpfs", mnt.toString());
    } catch (IOException e) {
      rc = -1;
    }
    Assumptions.assumeTrue(rc == 0, "cannot mount a tmpfs here (not root?)");
    try {
      test.run(mnt);
    } finally {
      assertEquals(0, run("umount", mnt.toString()), "umount " + mnt);
    }
  }

  /**
   * Appends 500 B messages, a commit every 20, until the store refuses one while the WAL is empty
   * (a refusal is followed by a commit, which truncates the WAL if the sync thread is not
   * checkpointing: the room the WAL held comes back); returns them.
   */
  private static Map<Long, byte[]> fillUp(SqliteJetStreamStore js, StreamStore s, Random rnd) throws Exception {
    Map<Long, byte[]> stored = new HashMap<>();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    for (int i = 0; i < 400_000 && System.nanoTime() < deadline; i++) {
      byte[] data = new byte[500];
      rnd.nextBytes(data);
      // Checked before the append: a checkpoint of the sync thread that ends during it cannot have
      // given back room the store did not see.
      boolean walEmpty = SqliteDatabase.sizeOrZero(wal(js)) == 0;
      try {
        stored.put(s.append("s." + (i % 3), null, data, i, i, null), data);
      } catch (StoreException e) {
        assertEquals(StoreException.Kind.NO_ROOM, e.kind(), e.getMessage());
        assertTrue(e.getMessage().contains("leaves"), e.getMessage());
        js.commit(null); // nothing was written for the refused one: the group is good
        if (walEmpty) {
          return stored; // full, with nothing more to gain from a checkpoint
        }
        continue;
      }
      if (i % 20 == 19) {
        js.commit(null);
      }
    }
    throw new AssertionError("the file system never filled up");
  }

  private static Path wal(SqliteJetStreamStore js) {
    return js.file().resolveSibling(js.file().getFileName() + "-wal");
  }

  private void freeRemovedOnFullDisk(Path mnt) throws Exception {
    Random rnd = new Random(7);
    Map<Long, byte[]> kept;
    try (SqliteJetStreamStore js = SqliteJetStreamStore.open(mnt, Options.defaults())) {
      SqliteStreamStore s = (SqliteStreamStore) js.createStream(new StreamRecord("S", "{}", 1, "e", false));
      js.commit(null);
      kept = fillUp(js, s, rnd);
      int n = kept.size();
      assertTrue(n > 1000, "stored before the disk filled: " + n);

      // The first half is consumed and removed: small writes, which the room left makes possible.
      for (long seq = 1; seq <= n / 2; seq++) {
        assertTrue(s.removeAcked(seq));
        kept.remove(seq);
      }
      js.commit(null);
      assertEquals(n / 2, s.ghostRows(), "the consumed prefix stays in the table until space is wanted");

      // New messages, four fifths of those removed: they need the freed pages. While the WAL holds
      // the room they borrow, one may be refused; it is sent again after a commit (which truncates
      // the WAL, once the sync thread's own checkpoint is not running), as a client would.
      long last = s.state().lastSeq();
      int more = n * 2 / 5;
      int refused = 0;
      for (int i = 0; i < more; ) {
        byte[] data = new byte[500];
        rnd.nextBytes(data);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (true) {
          try {
            kept.put(s.append("s.new", null, data, i, i, null), data);
            break;
          } catch (StoreException e) {
            assertEquals(StoreException.Kind.NO_ROOM, e.kind(), e.getMessage());
            assertTrue(System.nanoTime() < deadline, "refused for 20 s: " + e.getMessage());
            refused++;
            js.commit(null);
            Thread.onSpinWait();
          }
        }
        i++;
        if (i % 20 == 0) {
          js.commit(null);
        }
      }
      js.commit(null);
      assertTrue(refused < more / 2, "refused " + refused + " times for " + more + " messages");
      assertEquals(0, s.ghostRows());
      assertEquals(last + more, s.state().lastSeq());
      assertEquals(kept.size(), s.state().msgs());
      checkAll(s, kept);
      assertNull(s.load(n / 2), "removed");
    }
    try (SqliteJetStreamStore js = SqliteJetStreamStore.open(mnt, Options.defaults())) {
      StreamStore s = js.openStream(js.streams().get(0));
      assertEquals(kept.size(), s.state().msgs());
      checkAll(s, kept);
    }
  }

  private void fillFailAndRecover(Path mnt) throws Exception {
    Random rnd = new Random(42);
    Map<Long, byte[]> committed;
    try (SqliteJetStreamStore js = SqliteJetStreamStore.open(mnt, Options.defaults())) {
      StreamStore s = js.createStream(new StreamRecord("S", "{}", 1, "e", false));
      js.commit(null);
      // Space that returns later.
      Path reserve = mnt.resolve("reserve");
      Files.write(reserve, new byte[400 * 1024]);
      // The store fills the disk up to the room it leaves, and refuses more.
      committed = fillUp(js, s, rnd);
      assertTrue(committed.size() > 100, "committed before the disk filled: " + committed.size());
      long last = committed.keySet().stream().mapToLong(Long::longValue).max().orElseThrow();
      assertEquals(last, s.state().lastSeq());

      // Then something else takes that room too, to the last byte: a group now fails (at its
      // commit, or refused at once once the store has read the free space again), and rolls back.
      Path filler = mnt.resolve("filler");
      try (var out = Files.newOutputStream(filler)) {
        byte[] block = new byte[4096];
        while (true) {
          out.write(block);
          out.flush();
        }
      } catch (IOException expected) {
        // full
      }
      boolean failed = false;
      try {
        for (int i = 0; i < 200; i++) {
          s.append("s.0", null, new byte[1000], 1, 1, null);
        }
        js.commit(null);
      } catch (StoreException e) {
        failed = e.kind() == StoreException.Kind.NO_SPACE || e.kind() == StoreException.Kind.NO_ROOM;
        if (e.kind() == StoreException.Kind.NO_SPACE) {
          // Until the rollback, the group is refused as a whole.
          StoreException again = null;
          try {
            s.append("s.0", null, new byte[10], 1, 1, null);
          } catch (StoreException e2) {
            again = e2;
          }
          assertNotNull(again);
        }
        js.rollback();
      }
      assertTrue(failed, "no room");
      assertNull(js.problem(), "a full disk is not a damaged store");
      assertEquals(last, s.state().lastSeq());
      assertEquals(committed.size(), s.state().msgs());
      checkAll(s, committed);

      // Still full: refused again, at once.
      StoreException refused = null;
      try {
        s.append("s.0", null, new byte[1000], 1, 1, null);
      } catch (StoreException e) {
        refused = e;
      }
      assertNotNull(refused, "still no room");
      assertEquals(StoreException.Kind.NO_ROOM, refused.kind(), refused.getMessage());

      Files.delete(filler);
      Files.delete(reserve);
      CountDownLatch durable = new CountDownLatch(1);
      for (int i = 0; i < 20; i++) {
        byte[] data = new byte[100];
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
