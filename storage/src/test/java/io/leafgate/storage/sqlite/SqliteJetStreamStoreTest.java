package io.leafgate.storage.sqlite;

import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leafgate.storage.api.StoreException;
import io.leafgate.storage.api.StreamRecord;
import io.leafgate.storage.api.StreamStore;
import io.leafgate.storage.sqlite.SqliteJetStreamStore.Options;
import io.leafgate.storage.sqlite.SqliteJetStreamStore.Sync;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the SQLite store does beyond the contract: settings, group commit, checkpoints, corruption, limits. */
class SqliteJetStreamStoreTest {
  @TempDir Path dir;

  static StreamRecord record(String name) {
    return new StreamRecord(name, "{}", 1, "ep", false);
  }

  private static String pragma(Connection c, String p) throws Exception {
    try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("PRAGMA " + p)) {
      return rs.next() ? rs.getString(1) : null;
    }
  }

  @Test
  void theFileIsTunedOnceAndVersioned() throws Exception {
    try (SqliteJetStreamStore js = SqliteJetStreamStore.open(dir, Options.defaults())) {
      js.createStream(record("S")).append("a", null, new byte[] {1}, 1, 1, null);
      js.commit(null);
      assertEquals(dir.resolve("jetstream").resolve("leafgate.db"), js.file());
      assertNotNull(System.getProperty("org.sqlite.tmpdir"), "the native library folder is set before loading");
      try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + js.file())) {
        assertEquals("wal", pragma(c, "journal_mode"));
        assertEquals("2", pragma(c, "auto_vacuum"), "incremental auto_vacuum was set before the first table");
        assertEquals(String.valueOf(Sql.APPLICATION_ID), pragma(c, "application_id"));
        try (Statement st = c.createStatement();
            ResultSet rs = st.executeQuery("SELECT value FROM meta WHERE key = 'schema_version'")) {
          assertTrue(rs.next());
          assertEquals(Sql.SCHEMA_VERSION, rs.getInt(1));
        }
      }
    }
  }

  @Test
  void onDurableRunsInOrderOnTheSyncThreadAndFsyncsAreShared() throws Exception {
    try (SqliteJetStreamStore js = SqliteJetStreamStore.open(dir, Options.defaults())) {
      StreamStore s = js.createStream(record("S"));
      int commits = 300;
      List<Integer> order = Collections.synchronizedList(new ArrayList<>());
      List<String> threads = Collections.synchronizedList(new ArrayList<>());
      CountDownLatch done = new CountDownLatch(commits);
      long before = js.fsyncCount();
      for (int i = 0; i < commits; i++) {
        s.append("a", null, new byte[64], i, i, null);
        int n = i;
        js.commit(() -> {
          order.add(n);
          threads.add(Thread.currentThread().getName());
          done.countDown();
        });
      }
      assertTrue(done.await(30, TimeUnit.SECONDS));
      for (int i = 0; i < commits; i++) {
        assertEquals(i, order.get(i));
      }
      assertTrue(threads.stream().allMatch(SqliteSyncer.THREAD_NAME::equals), threads.get(0));
      long fsyncs = js.fsyncCount() - before;
      assertTrue(fsyncs >= 1 && fsyncs <= commits, "fsyncs: " + fsyncs);
    }
  }

  @Test
  void syncIntervalAcknowledgesAtOnceAndFsyncsLater() throws Exception {
    Options o = new Options(Sync.INTERVAL, Duration.ofMillis(100), -1);
    try (SqliteJetStreamStore js = SqliteJetStreamStore.open(dir, o)) {
      StreamStore s = js.createStream(record("S"));
      s.append("a", null, new byte[10], 1, 1, null);
      CountDownLatch done = new CountDownLatch(1);
      long before = js.fsyncCount();
      js.commit(done::countDown);
      assertTrue(done.await(10, TimeUnit.SECONDS));
      Await.until(Duration.ofSeconds(10), () -> js.fsyncCount() > before ? null : "no background fsync yet");
    }
  }

  @Test
  void anIdleStoreTruncatesItsWalEvenAfterReads() throws Exception {
    try (SqliteJetStreamStore js = SqliteJetStreamStore.open(dir, Options.defaults())) {
      js.syncer().idleNanos = TimeUnit.MILLISECONDS.toNanos(300);
      js.syncer().idleMinWalBytes = 64 << 10;
      StreamStore s = js.createStream(record("S"));
      for (int i = 0; i < 200; i++) {
        s.append("a." + (i % 5), null, new byte[500], i, i, null);
      }
      js.commit(null);
      // Reads on the engine connection must not pin a snapshot that blocks the checkpoint.
      assertEquals(200, s.loadBatch("a.*", 0, 1000, 0).size());
      assertNotNull(s.loadNext("a.3", 0));
      assertEquals(38, s.countMatching("a.1", 10)); // seqs 12, 17, ..., 197
      Path wal = js.file().resolveSibling("leafgate.db-wal");
      assertTrue(Files.size(wal) > 0);
      Await.until(Duration.ofSeconds(15), () -> SqliteDatabase.sizeOrZero(wal) == 0 ? null
          : "WAL still " + SqliteDatabase.sizeOrZero(wal) + " bytes");
      assertEquals(200, s.state().msgs());
    }
  }

  /**
   * Under steady commits the WAL file is reused from its start after each checkpoint, not truncated:
   * its size stays near the checkpoint threshold (commits overwrite blocks it has, so their fsyncs
   * need no file-system metadata), and nothing is lost.
   */
  @Test
  void aBusyStoreReusesItsWalFileInsteadOfTruncatingIt() throws Exception {
    try (SqliteJetStreamStore js = SqliteJetStreamStore.open(dir, Options.defaults())) {
      StreamStore s = js.createStream(record("S"));
      js.commit(null);
      Path wal = js.file().resolveSibling("leafgate.db-wal");
      byte[] data = new byte[400];
      int n = 60_000;
      long max = 0;
      boolean grownPastThreshold = false;
      int shrinks = 0;
      long last = 0;
      for (int i = 1; i <= n; i++) {
        s.append("a." + (i % 4), null, data, i, i, null);
        if (i % 50 == 0) {
          CountDownLatch durable = new CountDownLatch(1);
          js.commit(durable::countDown);
          assertTrue(durable.await(10, TimeUnit.SECONDS));
          long size = SqliteDatabase.sizeOrZero(wal);
          grownPastThreshold |= size > SqliteSyncer.CHECKPOINT_WAL_BYTES;
          if (grownPastThreshold && size < last) {
            shrinks++;
          }
          last = size;
          max = Math.max(max, size);
        }
      }
      // 60,000 x 400 B is about 30 MB of frames: without reuse the file would pass 16 MiB.
      assertTrue(grownPastThreshold, "the WAL reached the checkpoint threshold: max " + max);
      assertTrue(max < 3 * SqliteSyncer.CHECKPOINT_WAL_BYTES, "the WAL file is reused: max " + max);
      assertEquals(0, shrinks, "the WAL file was truncated under load");
      assertEquals(n, s.state().msgs());
    }
  }

  /** A burst past the checkpoint threshold, then silence: the WAL is still truncated once idle. */
  @Test
  void anIdleStoreTruncatesItsWalAfterABurstPastTheCheckpointThreshold() throws Exception {
    try (SqliteJetStreamStore js = SqliteJetStreamStore.open(dir, Options.defaults())) {
      js.syncer().idleNanos = TimeUnit.MILLISECONDS.toNanos(500);
      StreamStore s = js.createStream(record("S"));
      Path wal = js.file().resolveSibling("leafgate.db-wal");
      // One large commit, then none: the sync thread's checkpoint finds the threshold passed, and
      // the engine has no next commit in which to restart the log.
      for (int i = 1; i <= 15_000; i++) {
        s.append("a." + (i % 3), null, new byte[400], i, i, null);
      }
      js.commit(null);
      assertTrue(Files.size(wal) > SqliteSyncer.CHECKPOINT_WAL_BYTES, "the burst passed the threshold");
      Await.until(Duration.ofSeconds(15), () -> SqliteDatabase.sizeOrZero(wal) == 0 ? null
          : "WAL still " + SqliteDatabase.sizeOrZero(wal) + " bytes");
      assertEquals(15_000, s.state().msgs());
    }
  }

  @Test
  void aQuietStoreDoesNotCheckpointAfterEachMessage() throws Exception {
    try (SqliteJetStreamStore js = SqliteJetStreamStore.open(dir, Options.defaults())) {
      js.syncer().idleNanos = TimeUnit.MILLISECONDS.toNanos(100);
      StreamStore s = js.createStream(record("S"));
      s.append("a", null, new byte[100], 1, 1, null);
      CountDownLatch durable = new CountDownLatch(1);
      js.commit(durable::countDown);
      assertTrue(durable.await(10, TimeUnit.SECONDS));
      Path wal = js.file().resolveSibling("leafgate.db-wal");
      long walBytes = Files.size(wal);
      // Idle past idleNanos (each round of the sync thread is at least one tick), with a small WAL: it
      // stays as it is (no checkpoint per message).
      js.syncer().idleMinWalBytes = walBytes + 1;
      long checkpoints = js.syncer().checkpointCount();
      long rounds = js.syncer().roundCount();
      Await.until(Duration.ofSeconds(10), () -> js.syncer().roundCount() >= rounds + 3 ? null : "sync thread idle");
      assertEquals(checkpoints, js.syncer().checkpointCount(), "no checkpoint for a small WAL");
      assertEquals(walBytes, Files.size(wal));
      js.syncer().longIdleNanos = TimeUnit.MILLISECONDS.toNanos(100);
      Await.until(Duration.ofSeconds(10), () -> SqliteDatabase.sizeOrZero(wal) == 0 ? null : "a long idle truncates");
    }
  }

  @Test
  void garbageInTheFileIsReportedAsCorruptAndLeftAlone() throws Exception {
    Path db = dir.resolve("jetstream").resolve("leafgate.db");
    Files.createDirectories(db.getParent());
    byte[] junk = new byte[8192];
    new Random(1).nextBytes(junk);
    Files.write(db, junk);
    StoreException e = assertThrows(StoreException.class, () -> SqliteJetStreamStore.open(dir, Options.defaults()));
    assertEquals(StoreException.Kind.CORRUPT, e.kind());
    assertTrue(e.getMessage().contains(db.toString()), e.getMessage());
    assertArrayEquals(junk, Files.readAllBytes(db), "the damaged file is never rewritten");
  }

  @Test
  void damagedPagesAreReportedAsCorruptWithTheFileName() throws Exception {
    Path db;
    try (SqliteJetStreamStore js = SqliteJetStreamStore.open(dir, Options.defaults())) {
      StreamStore s = js.createStream(record("S"));
      for (int i = 0; i < 2000; i++) {
        s.append("a." + i, null, new byte[200], i, i, null);
      }
      js.commit(null);
      db = js.file();
    }
    byte[] bytes = Files.readAllBytes(db);
    Random r = new Random(7);
    for (int i = 4096 * 3; i < bytes.length; i++) {
      bytes[i] = (byte) r.nextInt();
    }
    Files.write(db, bytes);
    StoreException e = assertThrows(StoreException.class, () -> {
      try (SqliteJetStreamStore js = SqliteJetStreamStore.open(dir, Options.defaults())) {
        try {
          js.openStream(js.streams().get(0));
        } finally {
          assertTrue(js.problem() == null || js.problem().contains(db.toString()), js.problem());
        }
      }
    });
    assertEquals(StoreException.Kind.CORRUPT, e.kind(), e.getMessage());
    assertTrue(e.getMessage().contains(db.toString()), e.getMessage());
    assertTrue(Files.exists(db));
  }

  @Test
  void anotherProgramsDatabaseIsNotTouched() throws Exception {
    Path db = dir.resolve("jetstream").resolve("leafgate.db");
    Files.createDirectories(db.getParent());
    SqliteJetStreamStore.open(dir.resolve("warmup"), Options.defaults()).close(); // loads the driver
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db); Statement st = c.createStatement()) {
      st.execute("CREATE TABLE recipes(name TEXT)");
    }
    StoreException e = assertThrows(StoreException.class, () -> SqliteJetStreamStore.open(dir, Options.defaults()));
    assertEquals(StoreException.Kind.CORRUPT, e.kind());
    assertTrue(e.getMessage().contains("not a leafgate store"), e.getMessage());
  }

  @Test
  void maxFileStoreRefusesAppendsUntilSpaceIsFreed() throws Exception {
    long limit;
    try (SqliteJetStreamStore js = SqliteJetStreamStore.open(dir, Options.defaults())) {
      js.createStream(record("S"));
      js.commit(null);
      limit = js.usedBytes() + 200_000;
    }
    try (SqliteJetStreamStore js = SqliteJetStreamStore.open(dir, new Options(Sync.ALWAYS, Duration.ofSeconds(1), limit))) {
      StreamStore s = js.openStream(js.streams().get(0));
      byte[] data = new byte[1000];
      StoreException full = null;
      long committed = 0;
      for (int i = 0; i < 1000 && full == null; i++) {
        try {
          s.append("a", null, data, i, i, null);
          if (i % 10 == 9) {
            js.commit(null);
            committed = s.state().lastSeq();
          }
        } catch (StoreException e) {
          full = e;
        }
      }
      assertNotNull(full, "the limit was never hit");
      assertEquals(StoreException.Kind.NO_ROOM, full.kind(), full.getMessage());
      assertTrue(js.usedBytes() <= limit, js.usedBytes() + " > " + limit);
      js.rollback();
      assertEquals(committed, s.state().lastSeq());
      assertEquals(committed, s.purge(null, 0, 0));
      js.commit(null);
      assertEquals(committed + 1, s.append("a", null, data, 1, 1, null), "appends work again once space is freed");
      js.commit(null);
    }
  }

  /**
   * The engine asks a stream for its numbers at each publish (limits, discard policy, expected last
   * subject sequence): that must not insert the rows appended so far, which would make every insert a statement of its own instead
   * of the multi-row statements of the group (about a fifth of the gateway's CPU per publish).
   */
  @Test
  void askingForTheNumbersLeavesTheAppendsToTheGroupsInserts() throws Exception {
    try (SqliteJetStreamStore js = SqliteJetStreamStore.open(dir, Options.defaults())) {
      SqliteStreamStore s = (SqliteStreamStore) js.createStream(record("S"));
      js.commit(null);
      for (int i = 1; i <= 40; i++) {
        s.append("s." + (i % 2), null, new byte[] {(byte) i}, i, i, null);
        assertEquals(i, s.state().msgs());
        assertEquals(i, s.state().lastSeq());
        assertEquals(Math.min(i, 2), s.subjectCounts(null).size());
      }
      assertEquals(40, s.pendingRows(), "state() inserted rows one by one");
      assertEquals(20, s.subjectState("s.1").count());
      assertEquals(40, s.pendingRows(), "subjectState() inserted them");
      assertEquals(7, s.load(7).data()[0]);
      assertEquals(0, s.pendingRows(), "a read inserts what is pending first");
      s.removeAcked(1);
      s.append("s.1", null, new byte[] {41}, 41, 41, null);
      assertEquals(40, s.state().msgs(), "a deferred removal is applied before the numbers are shown");
      js.commit(null);
      assertEquals(0, s.pendingRows());
    }
    try (SqliteJetStreamStore js = SqliteJetStreamStore.open(dir, Options.defaults())) {
      StreamStore s = js.openStream(js.streams().get(0));
      assertEquals(40, s.state().msgs());
      assertEquals(41, s.state().lastSeq());
      assertEquals(41, s.load(41).data()[0]);
    }
  }

  @Test
  void aNewerSchemaIsRefused() throws Exception {
    SqliteJetStreamStore.open(dir, Options.defaults()).close();
    Path db = dir.resolve("jetstream").resolve("leafgate.db");
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db); Statement st = c.createStatement()) {
      st.execute("UPDATE meta SET value = 99 WHERE key = 'schema_version'");
    }
    StoreException e = assertThrows(StoreException.class, () -> SqliteJetStreamStore.open(dir, Options.defaults()));
    assertTrue(e.getMessage().contains("newer"), e.getMessage());
  }

  @Test
  void closedStoreRefusesWork() throws Exception {
    SqliteJetStreamStore js = SqliteJetStreamStore.open(dir, Options.defaults());
    StreamStore s = js.createStream(record("S"));
    js.commit(null);
    js.close();
    assertEquals(StoreException.Kind.CLOSED,
        assertThrows(StoreException.class, () -> s.append("a", null, new byte[1], 1, 1, null)).kind());
    assertEquals(StoreException.Kind.CLOSED, assertThrows(StoreException.class, () -> js.commit(null)).kind());
    assertNull(js.problem());
    js.close(); // twice is fine
  }

  @Test
  void freedSpaceIsReturnedLittleByLittle() throws Exception {
    try (SqliteJetStreamStore js = SqliteJetStreamStore.open(dir, Options.defaults())) {
      js.vacuumEveryNanos = 0;
      StreamStore s = js.createStream(record("S"));
      StreamStore big = js.createStream(record("BIG"));
      byte[] data = new byte[2000];
      for (int i = 0; i < 4800; i++) {
        big.append("b", null, data, i, i, null);
      }
      js.commit(null);
      long used = js.usedBytes();
      js.deleteStream("BIG");
      s.append("a", null, data, 1, 1, null);
      js.commit(null);
      long free = js.freeBytes();
      assertTrue(free > 9L << 20, "dropping the table freed its pages: " + free);
      assertTrue(js.usedBytes() < used - (9L << 20), "usedBytes counts live pages only: " + js.usedBytes());
      for (int i = 0; i < 3; i++) {
        s.append("a", null, data, 1, 1, null);
        js.commit(null);
      }
      assertTrue(js.freeBytes() < free - (4L << 20), "an incremental vacuum step per commit: " + js.freeBytes());
      assertTrue(js.freeBytes() > 0, "but never all at once");
    }
  }

  /**
   * An empty store as schema {@code version} left it, with the settings a store is created with:
   * that version's own migration statements, which are never edited.
   */
  /** {@link #writeSchema} plus one file stream S (id 1, its tail at lastSeq and lastTs) and its empty tables. */
  private static void writeStreamS(Statement st, int version, long lastSeq, long lastTs) throws SQLException {
    writeSchema(st, version);
    st.execute("INSERT INTO streams(id, name, config, created_ns, epoch, memory, last_seq, last_ts)"
        + " VALUES(1, 'S', '{}', 1, 'ep', 0, " + lastSeq + ", " + lastTs + ")");
    for (String ddl : Sql.createStreamTables(1)) {
      st.execute(ddl);
    }
  }

  private static void writeSchema(Statement st, int version) throws SQLException {
    st.execute("PRAGMA page_size = " + SqliteDatabase.PAGE_SIZE);
    st.execute("PRAGMA auto_vacuum = INCREMENTAL");
    st.execute("PRAGMA journal_mode = WAL");
    for (int v = 0; v < version; v++) {
      for (String ddl : Sql.MIGRATIONS.get(v)) {
        st.execute(ddl);
      }
    }
    st.execute("PRAGMA application_id = " + Sql.APPLICATION_ID);
    st.execute("INSERT INTO meta(key, value) VALUES('schema_version', " + version + ")");
  }

  /**
   * A store written by the schema before delivery counts (version 1, built here with that version's
   * own statements, which are never edited) opens: it is migrated in place, keeps its messages and
   * consumer progress, and then stores delivery counts like a new one.
   */
  @Test
  void aVersionOneStoreIsMigratedAndKeepsItsData() throws Exception {
    Path db = dir.resolve("jetstream").resolve("leafgate.db");
    Files.createDirectories(db.getParent());
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db); Statement st = c.createStatement()) {
      writeStreamS(st, 1, 2, 20);
      st.execute("INSERT INTO subjects_1(id, subject) VALUES(1, CAST('a' AS BLOB))");
      st.execute("INSERT INTO msgs_1(seq, subj_id, ts, age, msg_id, hdr, data) VALUES"
          + " (1, 1, 10, 10, NULL, NULL, CAST('one' AS BLOB)), (2, 1, 20, 20, NULL, NULL, CAST('two' AS BLOB))");
      try (var ps = c.prepareStatement("INSERT INTO consumers(stream_id, name, config, created_ns, delivered_dseq,"
          + " delivered_sseq, floor_dseq, floor_sseq, acked_above) VALUES(1, 'D', '{}', 5, 3, 2, 0, 0, ?)")) {
        ps.setBytes(1, AckedAboveCodec.encode(new long[] {2}));
        ps.executeUpdate();
      }
    }
    try (SqliteJetStreamStore js = SqliteJetStreamStore.open(dir, Options.defaults())) {
      StreamStore s = js.openStream(js.streams().get(0));
      assertEquals(2, s.state().msgs());
      assertEquals("two", new String(s.load(2).data(), ISO_8859_1));
      var st = js.consumers("S").get(0).state();
      assertEquals(3, st.deliveredConsumerSeq());
      assertEquals(2, st.deliveredStreamSeq());
      assertArrayEquals(new long[] {2}, st.ackedAbove());
      assertArrayEquals(new long[0], st.redelivered(), "no counts were stored before");
      js.saveConsumerState("S", "D", new io.leafgate.storage.api.ConsumerState(4, 2, 0, 0, new long[] {2},
          new long[] {1, 2}));
      js.commit(null);
    }
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db); Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("SELECT value FROM meta WHERE key = 'schema_version'")) {
      assertTrue(rs.next());
      assertEquals(Sql.SCHEMA_VERSION, rs.getInt(1));
    }
    try (SqliteJetStreamStore js = SqliteJetStreamStore.open(dir, Options.defaults())) {
      assertArrayEquals(new long[] {1, 2}, js.consumers("S").get(0).state().redelivered());
    }
  }

  /**
   * A store written by version 2 (before a last-per-subject consumer's first phase was kept, built
   * here with the statements of versions 1 and 2) opens: it is migrated in place, its consumers keep
   * their progress and delivery counts and have no first phase, and then one is stored like in a new
   * store.
   */
  @Test
  void aVersionTwoStoreIsMigratedAndKeepsItsData() throws Exception {
    Path db = dir.resolve("jetstream").resolve("leafgate.db");
    Files.createDirectories(db.getParent());
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db); Statement st = c.createStatement()) {
      writeStreamS(st, 2, 3, 30);
      st.execute("INSERT INTO subjects_1(id, subject) VALUES(1, CAST('a' AS BLOB)), (2, CAST('b' AS BLOB))");
      st.execute("INSERT INTO msgs_1(seq, subj_id, ts, age, msg_id, hdr, data) VALUES"
          + " (1, 1, 10, 10, NULL, NULL, CAST('one' AS BLOB)), (2, 2, 20, 20, NULL, NULL, CAST('two' AS BLOB)),"
          + " (3, 1, 30, 30, NULL, NULL, CAST('three' AS BLOB))");
      try (var ps = c.prepareStatement("INSERT INTO consumers(stream_id, name, config, created_ns, delivered_dseq,"
          + " delivered_sseq, floor_dseq, floor_sseq, acked_above, redelivered)"
          + " VALUES(1, 'D', '{}', 5, 4, 3, 1, 1, ?, ?)")) {
        ps.setBytes(1, AckedAboveCodec.encode(new long[] {3}));
        ps.setBytes(2, RedeliveredCodec.encode(new long[] {2, 3}));
        ps.executeUpdate();
      }
    }
    try (SqliteJetStreamStore js = SqliteJetStreamStore.open(dir, Options.defaults())) {
      StreamStore s = js.openStream(js.streams().get(0));
      assertEquals(3, s.state().msgs());
      assertArrayEquals(new long[] {2, 3}, s.lastSeqPerSubject(null, 3));
      var st = js.consumers("S").get(0).state();
      assertEquals(4, st.deliveredConsumerSeq());
      assertEquals(3, st.deliveredStreamSeq());
      assertEquals(1, st.ackFloorStreamSeq());
      assertArrayEquals(new long[] {3}, st.ackedAbove());
      assertArrayEquals(new long[] {2, 3}, st.redelivered());
      assertEquals(0, st.initialEnd(), "no first phase was stored before");
      js.saveConsumerState("S", "D", new io.leafgate.storage.api.ConsumerState(4, 3, 1, 1, new long[] {3},
          new long[] {2, 3}, 3));
      js.commit(null);
    }
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db); Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("SELECT value FROM meta WHERE key = 'schema_version'")) {
      assertTrue(rs.next());
      assertEquals(Sql.SCHEMA_VERSION, rs.getInt(1));
    }
    try (SqliteJetStreamStore js = SqliteJetStreamStore.open(dir, Options.defaults())) {
      var st = js.consumers("S").get(0).state();
      assertEquals(3, st.initialEnd());
      assertArrayEquals(new long[] {2, 3}, st.redelivered());
    }
  }

  @Test
  void aVersionThreeStoreIsMigratedAndItsRemovalsStillWork() throws Exception {
    Path db = dir.resolve("jetstream").resolve("leafgate.db");
    Files.createDirectories(db.getParent());
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db); Statement st = c.createStatement()) {
      writeStreamS(st, 3, 3, 30);
      st.execute("INSERT INTO subjects_1(id, subject) VALUES(1, CAST('a' AS BLOB))");
      st.execute("INSERT INTO msgs_1(seq, subj_id, ts, age, msg_id, hdr, data) VALUES"
          + " (1, 1, 10, 10, NULL, NULL, CAST('one' AS BLOB)), (2, 1, 20, 20, NULL, NULL, CAST('two' AS BLOB)),"
          + " (3, 1, 30, 30, NULL, NULL, CAST('three' AS BLOB))");
    }
    try (SqliteJetStreamStore js = SqliteJetStreamStore.open(dir, Options.defaults())) {
      StreamStore s = js.openStream(js.streams().get(0));
      assertEquals(3, s.state().msgs());
      assertTrue(s.removeAcked(1));
      js.commit(null);
      assertEquals(2, s.state().firstSeq());
    }
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db); Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("SELECT value FROM meta WHERE key = 'schema_version'")) {
      assertTrue(rs.next());
      assertEquals(4, rs.getInt(1), "a store that may hold a removed prefix is version 4: older versions refuse it");
    }
    try (SqliteJetStreamStore js = SqliteJetStreamStore.open(dir, Options.defaults())) {
      StreamStore s = js.openStream(js.streams().get(0));
      assertEquals(2, s.state().msgs());
      assertEquals(2, s.loadNext(null, 0).seq());
    }
  }

  static byte[] bytes(String s) {
    return s.getBytes(ISO_8859_1);
  }
}
