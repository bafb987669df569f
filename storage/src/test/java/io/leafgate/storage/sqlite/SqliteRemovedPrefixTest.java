package io.leafgate.storage.sqlite;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leafgate.storage.api.StoredMessage;
import io.leafgate.storage.api.StreamRecord;
import io.leafgate.storage.api.StreamState;
import io.leafgate.storage.api.StreamStore;
import io.leafgate.storage.sqlite.SqliteJetStreamStore.Options;
import io.leafgate.storage.sqlite.SqliteJetStreamStore.Sync;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Acknowledged messages removed in order from the front of a stream stay in its table below a
 * floor ("ghosts") until the stream is empty: no read, count, purge, trim or restart may see them.
 */
class SqliteRemovedPrefixTest {
  @TempDir Path dir;

  private static StreamRecord record(String name) {
    return new StreamRecord(name, "{}", 1, "ep", false);
  }

  private static SqliteStreamStore sql(StreamStore s) {
    return (SqliteStreamStore) s;
  }

  /** Rows in the stream's table, ghosts included, as another connection sees the committed file. */
  private long rows(SqliteJetStreamStore js, SqliteStreamStore s) throws Exception {
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + js.file());
        Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("SELECT count(*) FROM " + Sql.msgs(s.id))) {
      rs.next();
      return rs.getLong(1);
    }
  }

  private long ghostKeys(SqliteJetStreamStore js) throws Exception {
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + js.file());
        Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("SELECT count(*) FROM meta WHERE key LIKE 'ghosts_%'")) {
      rs.next();
      return rs.getLong(1);
    }
  }

  private static void fill(StreamStore s, int n, String msgIdPrefix) throws Exception {
    for (int i = 1; i <= n; i++) {
      s.append(i % 2 == 1 ? "a" : "b", null, new byte[] {(byte) i}, i, i, msgIdPrefix == null ? null : msgIdPrefix + i);
    }
  }

  private static void ack(StreamStore s, long from, long to) throws Exception {
    for (long seq = from; seq <= to; seq++) {
      assertTrue(s.removeAcked(seq), "removeAcked(" + seq + ")");
    }
  }

  @Test
  void anInOrderDrainLeavesRowsThatNoReadSeesAndEmptiesTheTableAtTheEnd() throws Exception {
    try (SqliteJetStreamStore js = SqliteJetStreamStore.open(dir, Options.defaults())) {
      StreamStore s = js.createStream(record("S"));
      fill(s, 100, "id-");
      js.commit(null);
      ack(s, 1, 40);
      js.commit(null);

      StreamState st = s.state();
      assertEquals(60, st.msgs());
      assertEquals(41, st.firstSeq());
      assertEquals(100, st.lastSeq());
      assertEquals(0, st.numDeleted());
      assertEquals(40, sql(s).ghostRows());
      assertEquals(100, rows(js, sql(s)), "the removed rows are still in the table");
      assertEquals(41, s.loadNext(null, 1).seq());
      assertEquals(41, s.loadNext("a", 1).seq());
      assertEquals(42, s.loadNext("b", 0).seq());
      assertEquals(41, s.loadNext("*", 1).seq());
      assertEquals(List.of(41L, 42L, 43L), s.loadBatch(">", 1, 3, 0).stream().map(StoredMessage::seq).toList());
      assertNull(s.load(10));
      assertEquals(60, s.countMatching(null, 1));
      assertEquals(30, s.countMatching("a", 1));
      assertEquals(29, s.countMatching("a", 42));
      assertEquals(Map.of("a", 30L, "b", 30L), s.subjectCounts(null));
      assertEquals(41, s.subjectState("a").firstSeq());
      assertEquals(List.of(), s.deletedSeqs(10));
      assertEquals(41, s.seqAtOrAfterTime(0));
      Map<String, Long> ids = s.msgIdsSince(Long.MIN_VALUE);
      assertEquals(60, ids.size(), "only the stream's own messages count for duplicates");
      assertEquals(41L, ids.get("id-41"));

      ack(s, 41, 100);
      js.commit(null);
      st = s.state();
      assertEquals(0, st.msgs());
      assertEquals(101, st.firstSeq());
      assertEquals(100, st.lastSeq());
      assertEquals(0, sql(s).ghostRows());
      assertEquals(0, rows(js, sql(s)), "an empty stream empties its table");
      assertEquals(0, ghostKeys(js));
      assertEquals(101, s.append("a", null, new byte[1], 1, 1, null));
      js.commit(null);
    }
  }

  @Test
  void theFloorSurvivesARestart() throws Exception {
    StreamState before;
    try (SqliteJetStreamStore js = SqliteJetStreamStore.open(dir, Options.defaults())) {
      StreamStore s = js.createStream(record("S"));
      fill(s, 50, null);
      js.commit(null);
      ack(s, 1, 21);
      js.commit(null);
      before = s.state();
      assertEquals(21, sql(s).ghostRows());
      assertEquals(1, ghostKeys(js));
    }
    try (SqliteJetStreamStore js = SqliteJetStreamStore.open(dir, Options.defaults())) {
      StreamStore s = js.openStream(js.streams().get(0));
      assertEquals(before, s.state());
      assertEquals(21, sql(s).ghostRows());
      assertEquals(22, s.loadNext(null, 0).seq());
      assertEquals(22, s.subjectState("b").firstSeq());
      assertEquals(23, s.subjectState("a").firstSeq());
      ack(s, 22, 30);
      js.commit(null);
      assertEquals(30, sql(s).ghostRows());
      assertEquals(31, s.state().firstSeq());
    }
  }

  @Test
  void otherRemovalsBesideTheFloorCountOnlyLiveMessages() throws Exception {
    try (SqliteJetStreamStore js = SqliteJetStreamStore.open(dir, Options.defaults())) {
      StreamStore s = js.createStream(record("S"));
      fill(s, 60, null);
      js.commit(null);
      ack(s, 1, 10);
      js.commit(null);
      assertTrue(s.remove(20));
      assertTrue(s.removeAcked(30)); // not at the front: a real delete
      js.commit(null);
      assertEquals(10, sql(s).ghostRows());
      assertEquals(List.of(20L, 30L), s.deletedSeqs(10));
      assertEquals(48, s.state().msgs());

      assertEquals(23, s.purge("b", 0, 0), "b had 25 live messages after 10, less 20 and 30");
      js.commit(null);
      assertEquals(25, s.state().msgs());
      assertEquals(11, s.state().firstSeq());
      assertEquals(6, s.trim(19, -1, Long.MIN_VALUE), "keep 19 of 25");
      js.commit(null);
      assertEquals(19, s.state().msgs());
      assertEquals(23, s.state().firstSeq());
      assertEquals(10, s.trimSubject("a", 9), "keep 9 of 19");
      js.commit(null);
      assertEquals(9, s.state().msgs());
      assertEquals(9, s.countMatching(null, 0));
      assertEquals(43, s.loadNext(null, 0).seq());
      StreamState live = s.state();

      js.close();
      try (SqliteJetStreamStore again = SqliteJetStreamStore.open(dir, Options.defaults())) {
        StreamStore r = again.openStream(again.streams().get(0));
        assertEquals(live, r.state(), "a restart finds the same numbers");
        assertEquals(s.subjectCounts(null), r.subjectCounts(null));
      }
    }
  }

  @Test
  void aRollbackPutsTheFloorBack() throws Exception {
    try (SqliteJetStreamStore js = SqliteJetStreamStore.open(dir, Options.defaults())) {
      StreamStore s = js.createStream(record("S"));
      fill(s, 20, null);
      js.commit(null);
      ack(s, 1, 5);
      assertEquals(6, s.state().firstSeq());
      assertEquals(5, sql(s).ghostRows());
      js.rollback();
      assertEquals(20, s.state().msgs());
      assertEquals(1, s.state().firstSeq());
      assertEquals(0, sql(s).ghostRows());
      assertEquals(1, s.loadNext(null, 0).seq());
      ack(s, 1, 3);
      js.commit(null);
      assertEquals(3, sql(s).ghostRows());
      assertEquals(4, s.loadNext(null, 0).seq());
    }
  }

  @Test
  void pastTheBoundTheOldestRowsGoAChunkAtATime() throws Exception {
    try (SqliteJetStreamStore js = SqliteJetStreamStore.open(dir, Options.defaults())) {
      StreamStore s = js.createStream(record("S"));
      fill(s, 20_000, null);
      js.commit(null);
      ack(s, 1, 10_000);
      js.commit(null);
      assertEquals(10_000, sql(s).ghostRows());
      sql(s).ghostMaxRows = 100;
      ack(s, 10_001, 10_010);
      js.commit(null);
      int chunk = SqliteStreamStore.GHOST_CHUNK_ROWS;
      assertEquals(10_010 - chunk, sql(s).ghostRows(), "one chunk of the oldest went");
      assertEquals(20_000 - chunk, rows(js, sql(s)));
      ack(s, 10_011, 10_020);
      js.commit(null);
      assertEquals(0, sql(s).ghostRows(), "the next flush took the rest of them");
      assertEquals(9_980, rows(js, sql(s)));
      assertEquals(10_021, s.loadNext(null, 0).seq());
    }
  }

  @Test
  void aStreamThatIsNeverEmptyIsCompactedWhenFewMessagesAreLeft() throws Exception {
    StreamState live;
    Map<String, Long> counts;
    try (SqliteJetStreamStore js = SqliteJetStreamStore.open(dir, Options.defaults())) {
      StreamStore s = js.createStream(record("S"));
      sql(s).compactGhostRows = 50;
      fill(s, 300, "id-");
      js.commit(null);
      ack(s, 1, 40);
      js.commit(null);
      assertEquals(40, sql(s).ghostRows(), "below the threshold: the rows stay");
      ack(s, 41, 280);
      js.commit(null);
      assertEquals(0, sql(s).ghostRows(), "20 messages left: copied out and back");
      assertEquals(20, rows(js, sql(s)));
      assertEquals(0, ghostKeys(js));
      live = s.state();
      counts = s.subjectCounts(null);
      assertEquals(20, live.msgs());
      assertEquals(281, live.firstSeq());
      assertEquals(281, s.loadNext(null, 0).seq());
      assertEquals(20, s.msgIdsSince(Long.MIN_VALUE).size());
      for (StoredMessage m : s.loadBatch(null, 0, 100, 0)) {
        assertEquals(m.seq() % 2 == 1 ? "a" : "b", m.subject());
        assertEquals((byte) m.seq(), m.data()[0]);
      }
    }
    try (SqliteJetStreamStore js = SqliteJetStreamStore.open(dir, Options.defaults())) {
      StreamStore s = js.openStream(js.streams().get(0));
      assertEquals(live, s.state());
      assertEquals(counts, s.subjectCounts(null));
    }
  }

  @Test
  void theByteLimitFreesTheRowsBeforeRefusing() throws Exception {
    long limit;
    try (SqliteJetStreamStore js = SqliteJetStreamStore.open(dir, Options.defaults())) {
      js.createStream(record("S"));
      js.commit(null);
      limit = js.usedBytes() + 400_000;
    }
    try (SqliteJetStreamStore js = SqliteJetStreamStore.open(dir, new Options(Sync.ALWAYS, Duration.ofSeconds(1), limit))) {
      StreamStore s = js.openStream(js.streams().get(0));
      byte[] data = new byte[400];
      for (int i = 0; i < 500; i++) {
        s.append("a", null, data, i, i, null);
      }
      js.commit(null);
      ack(s, 1, 400);
      js.commit(null);
      assertEquals(400, sql(s).ghostRows());
      assertDoesNotThrow(() -> {
        for (int i = 0; i < 500; i++) {
          s.append("a", null, data, i, i, null);
          if (i % 10 == 9) {
            js.commit(null);
          }
        }
      }, "600 live messages of 400 B fit in 400,000 bytes once the 400 removed ones are gone");
      js.commit(null);
      assertEquals(0, sql(s).ghostRows());
      assertEquals(600, s.state().msgs());
    }
  }

  @Test
  void aNewStreamWithAReusedIdStartsWithoutAFloor() throws Exception {
    try (SqliteJetStreamStore js = SqliteJetStreamStore.open(dir, Options.defaults())) {
      StreamStore s = js.createStream(record("S"));
      fill(s, 10, null);
      js.commit(null);
      ack(s, 1, 5);
      js.commit(null);
      long id = sql(s).id;
      js.deleteStream("S");
      js.commit(null);
      assertEquals(0, ghostKeys(js));
      StreamStore t = js.createStream(record("T"));
      js.commit(null);
      assertEquals(id, sql(t).id, "SQLite reuses the highest rowid once its row is gone");
      fill(t, 3, null);
      js.commit(null);
      assertEquals(1, t.loadNext(null, 0).seq());
      assertEquals(3, t.state().msgs());
    }
    try (SqliteJetStreamStore js = SqliteJetStreamStore.open(dir, Options.defaults())) {
      StreamStore t = js.openStream(js.streams().get(0));
      assertEquals(3, t.state().msgs(), "no floor of the deleted stream applies after a restart");
      assertEquals(1, t.loadNext(null, 0).seq());
    }
  }
}
