package io.leafgate.storage.sqlite;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leafgate.storage.api.StreamRecord;
import io.leafgate.storage.api.StreamStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tinylog.Logger;

/**
 * How many bytes reach the disk per stored message (flash wear), with {@code sync: always}: 100k
 * appends of 128 bytes over 4 subjects in commits of 100 (a busy gateway), and 3k appends over 20
 * subjects committed one by one (a quiet one). Prints the numbers; asserts only that everything is
 * there and that the sync thread's checkpoints kept the WAL bounded. The sizes can be changed with
 * {@code -Dwa.msgs}, {@code -Dwa.group} and {@code -Dwa.subjects} (first scenario).
 */
class SqliteWriteAmplificationTest {
  @TempDir Path dir;

  /** write_bytes and wchar of this process, from /proc/self/io (zeros where unavailable). */
  private static long[] io() {
    long[] out = new long[2];
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/io"))) {
        if (line.startsWith("write_bytes:")) {
          out[0] = Long.parseLong(line.substring(12).trim());
        } else if (line.startsWith("wchar:")) {
          out[1] = Long.parseLong(line.substring(6).trim());
        }
      }
    } catch (Exception e) {
      // not Linux: print zeros
    }
    return out;
  }

  @Test
  void busyGateway() throws Exception {
    measure(dir.resolve("busy"), Integer.getInteger("wa.msgs", 100_000), Integer.getInteger("wa.group", 100),
        Integer.getInteger("wa.subjects", 4));
  }

  @Test
  void quietGateway() throws Exception {
    measure(dir.resolve("quiet"), 3_000, 1, 20);
  }

  private static void measure(Path dir, int messages, int group, int subjects) throws Exception {
    SqliteJetStreamStore js = SqliteJetStreamStore.open(dir, SqliteJetStreamStore.Options.defaults());
    StreamStore s = js.createStream(new StreamRecord("W", "{}", 1, "e", false));
    js.commit(null);
    Path wal = js.file().resolveSibling("leafgate.db-wal");
    byte[] data = new byte[128];
    long maxWal = 0;
    long[] before = io();
    long fsyncsBefore = js.fsyncCount();
    long t0 = System.nanoTime();
    // Every commit waits for durability, as publishers' acks do.
    int commits = (messages + group - 1) / group;
    CountDownLatch durable = new CountDownLatch(commits);
    for (int i = 1; i <= messages; i++) {
      data[i % 128]++;
      s.append("sensors.t" + (i % subjects), null, data, i, i, null);
      if (i % group == 0 || i == messages) {
        js.commit(durable::countDown);
        maxWal = Math.max(maxWal, SqliteDatabase.sizeOrZero(wal));
      }
    }
    assertTrue(durable.await(60, TimeUnit.SECONDS));
    long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
    long[] running = io();
    long fsyncs = js.fsyncCount() - fsyncsBefore;
    js.close();
    long[] after = io();
    long fileBytes = SqliteDatabase.sizeOrZero(js.file());
    String report = String.format("write amplification: %d x %d B over %d subjects in commits of %d, %d ms, "
        + "%d fsyncs for %d commits; to disk (write_bytes) %.0f B/msg while running, %.0f B/msg with the final "
        + "checkpoint; write() calls (wchar) %.0f B/msg; max WAL %d KB; db file %d KB (%.0f B/msg)",
        messages, data.length, subjects, group, ms, fsyncs, commits,
        (running[0] - before[0]) / (double) messages, (after[0] - before[0]) / (double) messages,
        (after[1] - before[1]) / (double) messages, maxWal >> 10, fileBytes >> 10, fileBytes / (double) messages);
    long t1 = System.nanoTime();
    try (SqliteJetStreamStore again = SqliteJetStreamStore.open(dir, SqliteJetStreamStore.Options.defaults())) {
      assertEquals(messages, again.openStream(again.streams().get(0)).state().msgs());
      report += String.format("; reopen with the rebuild scan %d ms",
          TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t1));
    }
    Logger.warn(report);
    // Here the writer does not wait for its commits to be durable, so the log grows while the sync
    // thread checkpoints; on a slow disk by several megabytes (5.3 MB on the build machine).
    assertTrue(maxWal < 8 * SqliteSyncer.CHECKPOINT_WAL_BYTES, "the WAL stays bounded: max " + maxWal);
  }
}
