package io.leafgate.storage.contract;

import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leafgate.storage.api.ConsumerRecord;
import io.leafgate.storage.api.ConsumerState;
import io.leafgate.storage.api.JetStreamStore;
import io.leafgate.storage.api.StoreException;
import io.leafgate.storage.api.StoredMessage;
import io.leafgate.storage.api.StreamRecord;
import io.leafgate.storage.api.StreamState;
import io.leafgate.storage.api.StreamStore;
import io.leafgate.storage.api.SubjectState;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The behaviour every {@link StreamStore} and {@link JetStreamStore} must show, run against each
 * implementation by a subclass. Persistent stores additionally close and reopen at the end of most
 * tests and must come back with identical contents ({@link #reopenAndCompare}).
 */
public abstract class StreamStoreContract {
  @TempDir protected Path dir;
  protected JetStreamStore js;
  protected StreamStore s;

  /** Opens (or reopens) the store kept in {@code dir}. */
  protected abstract JetStreamStore openStore(Path dir) throws Exception;

  /** Whether the store keeps what was committed across close and open. */
  protected abstract boolean persistent();

  /** Whether {@link JetStreamStore#rollback} really reverts uncommitted mutations. */
  protected abstract boolean revertsOnRollback();

  @BeforeEach
  void openAndCreate() throws Exception {
    js = openStore(dir);
    s = js.createStream(record("S"));
  }

  @AfterEach
  void closeStore() {
    if (js != null) {
      js.close();
    }
  }

  // ---- helpers ----

  protected static StreamRecord record(String name) {
    return new StreamRecord(name, "{\"name\":\"" + name + "\"}", 1_700_000_000_000_000_000L, "ep-" + name, false);
  }

  protected static byte[] b(String s) {
    return s.getBytes(ISO_8859_1);
  }

  /** Appends with ts = 1000 * seq-ish and age = 10 * seq-ish, so both grow with the sequence. */
  protected long add(String subject, String data) throws StoreException {
    long next = s.state().lastSeq() + 1;
    return s.append(subject, null, b(data), 1000 * next, 10 * next, null);
  }

  protected void fill(String... subjects) throws StoreException {
    for (String subj : subjects) {
      add(subj, "d" + (s.state().lastSeq() + 1));
    }
  }

  protected void commit() throws Exception {
    CountDownLatch done = new CountDownLatch(1);
    js.commit(done::countDown);
    assertTrue(done.await(10, TimeUnit.SECONDS), "onDurable did not run within 10 s");
  }

  private static List<Long> seqs(List<StoredMessage> msgs) {
    List<Long> out = new ArrayList<>();
    for (StoredMessage m : msgs) {
      out.add(m.seq());
    }
    return out;
  }

  private List<Long> allSeqs() throws StoreException {
    return seqs(s.loadBatch(null, 0, Integer.MAX_VALUE, 0));
  }

  protected static void assertSameMessage(StoredMessage want, StoredMessage got) {
    assertNotNull(got, "message " + want.seq() + " is missing");
    assertEquals(want.seq(), got.seq());
    assertEquals(want.subject(), got.subject());
    assertArrayEquals(want.headers(), got.headers(), "headers of " + want.seq());
    assertArrayEquals(want.data(), got.data(), "data of " + want.seq());
    assertEquals(want.timestampNanos(), got.timestampNanos());
  }

  private record Snapshot(StreamState state, List<StoredMessage> msgs, Map<Long, Long> ages, Map<String, Long> counts,
      Map<String, Long> ids, List<Long> deleted) {}

  private static Snapshot snapshot(StreamStore st) throws StoreException {
    List<StoredMessage> msgs = st.loadBatch(null, 0, Integer.MAX_VALUE, 0);
    Map<Long, Long> ages = new HashMap<>();
    for (StoredMessage m : msgs) {
      ages.put(m.seq(), st.ageOf(m.seq()));
    }
    return new Snapshot(st.state(), msgs, ages, st.subjectCounts(null), st.msgIdsSince(Long.MIN_VALUE),
        st.deletedSeqs(1000));
  }

  /**
   * For persistent stores: commits, closes, reopens and checks that every stream, its messages,
   * numbers and consumers came back identically; {@link #s} then refers to the reopened "S".
   */
  protected void reopenAndCompare() throws Exception {
    if (!persistent()) {
      return;
    }
    commit();
    Map<String, Snapshot> before = new LinkedHashMap<>();
    Map<String, List<ConsumerRecord>> consumers = new HashMap<>();
    List<StreamRecord> records = new ArrayList<>();
    for (StreamRecord r : js.streams()) {
      records.add(r);
    }
    Map<String, StreamStore> open = new HashMap<>();
    open.put(s.name(), s);
    for (StreamRecord r : records) {
      StreamStore st = open.containsKey(r.name()) ? open.get(r.name()) : js.openStream(r);
      before.put(r.name(), snapshot(st));
      consumers.put(r.name(), js.consumers(r.name()));
    }
    js.close();
    js = openStore(dir);
    assertEquals(records, js.streams(), "stream records after reopen");
    for (StreamRecord r : js.streams()) {
      StreamStore st = js.openStream(r);
      Snapshot want = before.get(r.name());
      Snapshot got = snapshot(st);
      assertEquals(want.state(), got.state(), "state of " + r.name() + " after reopen");
      assertEquals(want.msgs().size(), got.msgs().size());
      for (int i = 0; i < want.msgs().size(); i++) {
        assertSameMessage(want.msgs().get(i), got.msgs().get(i));
      }
      assertEquals(want.ages(), got.ages());
      assertEquals(want.counts(), got.counts());
      assertEquals(want.ids(), got.ids());
      assertEquals(want.deleted(), got.deleted());
      assertConsumersEqual(consumers.get(r.name()), js.consumers(r.name()));
      if (r.name().equals("S")) {
        s = st;
      }
    }
  }

  protected static void assertConsumersEqual(List<ConsumerRecord> want, List<ConsumerRecord> got) {
    assertEquals(want.size(), got.size(), "consumer count");
    Map<String, ConsumerRecord> byName = new HashMap<>();
    for (ConsumerRecord c : got) {
      byName.put(c.name(), c);
    }
    for (ConsumerRecord w : want) {
      ConsumerRecord g = byName.get(w.name());
      assertNotNull(g, "consumer " + w.name());
      assertEquals(w.stream(), g.stream());
      assertEquals(w.configJson(), g.configJson());
      assertEquals(w.createdNanos(), g.createdNanos());
      assertStateEquals(w.state(), g.state());
    }
  }

  protected static void assertStateEquals(ConsumerState want, ConsumerState got) {
    assertEquals(want.deliveredConsumerSeq(), got.deliveredConsumerSeq());
    assertEquals(want.deliveredStreamSeq(), got.deliveredStreamSeq());
    assertEquals(want.ackFloorConsumerSeq(), got.ackFloorConsumerSeq());
    assertEquals(want.ackFloorStreamSeq(), got.ackFloorStreamSeq());
    assertArrayEquals(want.ackedAbove(), got.ackedAbove());
    assertArrayEquals(want.redelivered(), got.redelivered());
    assertEquals(want.initialEnd(), got.initialEnd());
  }

  // ---- empty stream and appends ----

  @Test
  void emptyStreamHasFirstSeqOneAndNothingToRead() throws Exception {
    assertEquals(new StreamState(0, 0, 1, 0, 0, 0, 0, 0), s.state());
    assertEquals("S", s.name());
    assertNull(s.load(1));
    assertNull(s.loadNext(null, 0));
    assertNull(s.loadLast(">"));
    assertTrue(s.loadBatch(null, 1, 10, 0).isEmpty());
    assertEquals(1, s.seqAtOrAfterTime(0));
    assertEquals(0, s.countMatching(null, 0));
    assertEquals(SubjectState.EMPTY, s.subjectState("a"));
    assertTrue(s.subjectCounts(null).isEmpty());
    assertEquals(0, s.lastSeqPerSubject(">").length);
    assertTrue(s.deletedSeqs(10).isEmpty());
    assertTrue(s.msgIdsSince(Long.MIN_VALUE).isEmpty());
    assertEquals(Long.MIN_VALUE, s.ageOf(1));
    assertFalse(s.remove(1));
    assertEquals(0, s.purge(null, 0, 0));
    assertEquals(0, s.trim(0, 0, Long.MAX_VALUE));
    reopenAndCompare();
    assertEquals(new StreamState(0, 0, 1, 0, 0, 0, 0, 0), s.state());
  }

  @Test
  void appendsGetConsecutiveSeqsAndLoadBackWhatWasStored() throws Exception {
    byte[] hdr = b("NATS/1.0\r\nNats-Msg-Id: x1\r\n\r\n");
    assertEquals(1, s.append("a.b", hdr, b("one"), 1_000, 7, "x1"));
    assertEquals(2, s.append("a.c", null, new byte[0], 2_000, 8, null));
    byte[] big = new byte[70_000]; // spans several SQLite pages
    for (int i = 0; i < big.length; i++) {
      big[i] = (byte) (i * 31);
    }
    assertEquals(3, s.append("a.b", null, big, 3_000, 9, "x3"));
    StoredMessage m1 = s.load(1);
    assertSameMessage(new StoredMessage(1, "a.b", hdr, b("one"), 1_000), m1);
    StoredMessage m2 = s.load(2);
    assertNull(m2.headers());
    assertEquals(0, m2.data().length);
    assertArrayEquals(big, s.load(3).data());
    long bytes = StoredMessage.sizeOf("a.b", hdr, b("one")) + StoredMessage.sizeOf("a.c", null, new byte[0])
        + StoredMessage.sizeOf("a.b", null, big);
    assertEquals(new StreamState(3, bytes, 1, 1_000, 3, 3_000, 2, 0), s.state());
    assertEquals(new SubjectState(2, 1, 3), s.subjectState("a.b"));
    assertEquals(new SubjectState(1, 2, 2), s.subjectState("a.c"));
    assertEquals(9, s.ageOf(3));
    assertNull(s.load(0));
    assertNull(s.load(4));
    reopenAndCompare();
    assertEquals(4, s.append("a.d", null, b("four"), 4_000, 10, null), "seqs continue after reopen");
  }

  @Test
  void subjectsKeepEveryLatin1Byte() throws Exception {
    String subj = "t.\u00e9\u00ff.\u0080x";
    add(subj, "v");
    assertEquals(subj, s.load(1).subject());
    assertEquals(1L, s.subjectCounts(null).get(subj));
    assertEquals(1, s.countMatching("t.*.>", 0));
    reopenAndCompare();
    assertEquals(subj, s.loadLast(subj).subject());
  }

  // ---- removal ----

  @Test
  void removingInteriorMessagesCountsAsDeleted() throws Exception {
    fill("a", "b", "a", "b", "a", "b");
    assertTrue(s.remove(3));
    assertFalse(s.remove(3), "already gone");
    assertTrue(s.remove(4));
    StreamState st = s.state();
    assertEquals(4, st.msgs());
    assertEquals(1, st.firstSeq());
    assertEquals(6, st.lastSeq());
    assertEquals(2, st.numDeleted());
    assertEquals(List.of(3L, 4L), s.deletedSeqs(10));
    assertEquals(List.of(3L), s.deletedSeqs(1));
    assertEquals(new SubjectState(2, 1, 5), s.subjectState("a"));
    assertEquals(new SubjectState(2, 2, 6), s.subjectState("b"));
    assertEquals(List.of(1L, 2L, 5L, 6L), allSeqs());
    assertEquals(5, s.loadNext(null, 3).seq());
    reopenAndCompare();
    assertEquals(List.of(3L, 4L), s.deletedSeqs(10));
  }

  @Test
  void removingTheFirstMovesFirstSeqAndItsTimestamp() throws Exception {
    fill("a", "b", "c", "d");
    assertTrue(s.remove(1));
    assertTrue(s.remove(2));
    StreamState st = s.state();
    assertEquals(3, st.firstSeq());
    assertEquals(3_000, st.firstTsNanos());
    assertEquals(0, st.numDeleted());
    assertEquals(2, st.numSubjects());
    assertEquals(SubjectState.EMPTY, s.subjectState("a"));
    reopenAndCompare();
    assertEquals(3, s.state().firstSeq());
  }

  @Test
  void removingTheTailNeverReusesItsSeq() throws Exception {
    fill("a", "b", "c");
    assertTrue(s.remove(3));
    StreamState st = s.state();
    assertEquals(3, st.lastSeq(), "lastSeq stays after the tail is removed");
    assertEquals(3_000, st.lastTsNanos(), "and so does its timestamp");
    assertEquals(1, st.numDeleted());
    assertEquals(List.of(3L), s.deletedSeqs(10));
    reopenAndCompare();
    assertEquals(3, s.state().lastSeq(), "lastSeq survives reopen although message 3 is gone");
    assertEquals(4, add("d", "x"));
  }

  @Test
  void removingEverythingLeavesAnEmptyStreamThatKeepsCounting() throws Exception {
    fill("a", "b", "c");
    assertTrue(s.remove(2));
    assertTrue(s.remove(1));
    assertTrue(s.remove(3));
    StreamState st = s.state();
    assertEquals(0, st.msgs());
    assertEquals(0, st.bytes());
    assertEquals(4, st.firstSeq());
    assertEquals(3, st.lastSeq());
    assertEquals(0, st.numDeleted());
    assertEquals(0, st.numSubjects());
    assertEquals(0, st.firstTsNanos());
    assertEquals(3_000, st.lastTsNanos(), "the time of the last message stored stays, as in nats-server");
    assertTrue(s.deletedSeqs(10).isEmpty());
    assertEquals(4, s.seqAtOrAfterTime(0));
    reopenAndCompare();
    assertEquals(4, s.state().firstSeq());
    assertEquals(4, add("a", "again"));
    assertEquals(new StreamState(1, s.load(4).size(), 4, 4_000, 4, 4_000, 1, 0), s.state());
  }

  // ---- purge ----

  @Test
  void fullPurgeMovesFirstSeqPastTheEnd() throws Exception {
    fill("a", "b", "c", "a");
    assertEquals(4, s.purge(null, 0, 0));
    StreamState st = s.state();
    assertEquals(0, st.msgs());
    assertEquals(5, st.firstSeq());
    assertEquals(4, st.lastSeq());
    assertEquals(0, st.numSubjects());
    assertEquals(0, st.numDeleted());
    assertNull(s.load(4));
    assertNull(s.loadLast("a"));
    assertEquals(0, s.countMatching(null, 0));
    reopenAndCompare();
    assertEquals(5, s.state().firstSeq());
    assertEquals(5, add("a", "x"), "purged sequences are never reused");
    assertEquals(1, s.purge(">", 0, 0), "'>' purges everything too");
    assertEquals(6, add("a", "y"));
  }

  @Test
  void purgeWithAFilterRemovesOnlyMatchingSubjects() throws Exception {
    fill("a.1", "b.1", "a.2", "b.2", "a.1", "c");
    assertEquals(3, s.purge("a.*", 0, 0));
    assertEquals(List.of(2L, 4L, 6L), allSeqs());
    StreamState st = s.state();
    assertEquals(3, st.msgs());
    assertEquals(2, st.firstSeq());
    assertEquals(6, st.lastSeq());
    assertEquals(2, st.numDeleted());
    assertEquals(1, s.purge("c", 0, 0));
    assertEquals(6, s.state().lastSeq());
    assertEquals(3, s.state().numDeleted());
    assertEquals(0, s.purge("nope", 0, 0));
    reopenAndCompare();
    assertEquals(List.of(2L, 4L), allSeqs());
    assertEquals(7, add("a.1", "z"));
  }

  @Test
  void purgeBeforeSeqRemovesOnlyOlderMessages() throws Exception {
    fill("a", "b", "a", "b", "a", "b");
    assertEquals(2, s.purge("a", 5, 0));
    assertEquals(List.of(2L, 4L, 5L, 6L), allSeqs());
    assertEquals(2, s.purge(null, 5, 0));
    assertEquals(List.of(5L, 6L), allSeqs());
    assertEquals(5, s.state().firstSeq());
    assertEquals(0, s.state().numDeleted());
    reopenAndCompare();
    assertEquals(List.of(5L, 6L), allSeqs());
  }

  @Test
  void purgeKeepSparesTheNewestMatching() throws Exception {
    fill("a.1", "b", "a.2", "a.1", "b", "a.1");
    assertEquals(2, s.purge("a.1", 0, 1));
    assertEquals(List.of(2L, 3L, 5L, 6L), allSeqs());
    assertEquals(0, s.purge("a.1", 0, 5), "keeping more than there are purges nothing");
    assertEquals(2, s.purge(null, 0, 2));
    assertEquals(List.of(5L, 6L), allSeqs());
    fill("a.x", "a.y", "a.z");
    assertEquals(2, s.purge("a.*", 0, 2), "keep counts across every subject of a wildcard");
    assertEquals(List.of(5L, 8L, 9L), allSeqs());
    reopenAndCompare();
    assertEquals(List.of(5L, 8L, 9L), allSeqs());
  }

  // ---- trim ----

  @Test
  void trimByCountRemovesTheOldest() throws Exception {
    fill("a", "b", "c", "d", "e");
    assertEquals(0, s.trim(-1, -1, Long.MIN_VALUE), "no limits, nothing goes");
    assertEquals(0, s.trim(5, -1, Long.MIN_VALUE));
    assertEquals(2, s.trim(3, -1, Long.MIN_VALUE));
    assertEquals(List.of(3L, 4L, 5L), allSeqs());
    assertEquals(3, s.state().numSubjects());
    assertEquals(3, s.trim(0, -1, Long.MIN_VALUE));
    assertEquals(new StreamState(0, 0, 6, 0, 5, 5_000, 0, 0), s.state(), "empty: last_ts kept, as nats-server does");
    reopenAndCompare();
    assertEquals(6, add("z", "z"));
  }

  @Test
  void trimByBytesKeepsTheStreamUnderTheLimit() throws Exception {
    fill("a", "a", "a", "a");
    long each = s.load(1).size();
    assertEquals(0, s.trim(-1, 4 * each, Long.MIN_VALUE));
    assertEquals(1, s.trim(-1, 4 * each - 1, Long.MIN_VALUE));
    assertEquals(1, s.trim(-1, 2 * each + 1, Long.MIN_VALUE));
    assertEquals(2 * each, s.state().bytes());
    assertEquals(List.of(3L, 4L), allSeqs());
    assertEquals(new SubjectState(2, 3, 4), s.subjectState("a"));
    reopenAndCompare();
    assertEquals(2 * each, s.state().bytes());
  }

  @Test
  void trimByAgeRemovesMessagesOlderThanTheReading() throws Exception {
    fill("a", "b", "c", "d"); // ages 10, 20, 30, 40
    assertEquals(0, s.trim(-1, -1, 10));
    assertEquals(2, s.trim(-1, -1, 25));
    assertEquals(List.of(3L, 4L), allSeqs());
    assertEquals(1, s.trim(10, -1, 31));
    assertEquals(1, s.trim(0, -1, Long.MIN_VALUE), "count limit applies along with age");
    assertEquals(0, s.state().msgs());
    reopenAndCompare();
    assertEquals(5, s.state().firstSeq());
  }

  @Test
  void trimSubjectKeepsTheNewestOfThatSubjectOnly() throws Exception {
    fill("k", "x", "k", "k", "x", "k");
    assertEquals(0, s.trimSubject("k", 4));
    assertEquals(2, s.trimSubject("k", 2));
    assertEquals(List.of(2L, 4L, 5L, 6L), allSeqs());
    assertEquals(new SubjectState(2, 4, 6), s.subjectState("k"));
    assertEquals(0, s.trimSubject("none", 0));
    assertEquals(2, s.trimSubject("x", 0));
    assertEquals(SubjectState.EMPTY, s.subjectState("x"));
    assertEquals(1, s.state().numSubjects());
    reopenAndCompare();
    assertEquals(new SubjectState(2, 4, 6), s.subjectState("k"));
  }

  // ---- filtered reads ----

  private void fillTree() throws StoreException {
    // seq:  1        2        3        4        5       6        7
    fill("a.b.c", "a.x.c", "a.b.d", "b.b.c", "a.b.c", "a", "a.x.c");
  }

  @Test
  void loadNextHonoursLiteralAndWildcardFilters() throws Exception {
    fillTree();
    assertEquals(1, s.loadNext(null, 0).seq());
    assertEquals(2, s.loadNext(">", 2).seq());
    assertEquals(5, s.loadNext("a.b.c", 2).seq());
    assertEquals(2, s.loadNext("a.*.c", 2).seq());
    assertEquals(5, s.loadNext("a.*.c", 3).seq());
    assertEquals(4, s.loadNext("*.b.c", 2).seq());
    assertEquals(2, s.loadNext("a.>", 2).seq());
    assertEquals(6, s.loadNext("a", 2).seq());
    assertEquals(6, s.loadNext("*", 0).seq());
    assertNull(s.loadNext("a.b.c", 6));
    assertNull(s.loadNext("zzz", 0));
    assertNull(s.loadNext("a.*.c", 8));
    assertEquals("a.x.c", s.loadNext("a.x.*", 3).subject());
  }

  @Test
  void loadBatchFiltersAndStopsAtCountAndBytes() throws Exception {
    fillTree();
    assertEquals(List.of(1L, 2L, 3L, 5L, 7L), seqs(s.loadBatch("a.>", 0, 100, 0)));
    assertEquals(List.of(2L, 3L), seqs(s.loadBatch("a.>", 2, 2, 0)));
    assertEquals(List.of(1L, 5L), seqs(s.loadBatch("a.b.c", 0, 10, 0)));
    assertEquals(List.of(2L, 5L, 7L), seqs(s.loadBatch("a.*.c", 2, 10, 0)));
    assertTrue(s.loadBatch("a.*.c", 8, 10, 0).isEmpty());
    long one = s.load(1).size();
    assertEquals(List.of(1L), seqs(s.loadBatch(null, 1, 10, 1)), "the first always comes, even if too big");
    assertEquals(List.of(1L, 2L), seqs(s.loadBatch(null, 1, 10, one + s.load(2).size())));
    assertEquals(List.of(1L), seqs(s.loadBatch(null, 1, 10, one + s.load(2).size() - 1)));
    List<StoredMessage> batch = s.loadBatch("*.b.*", 0, 10, 0);
    assertEquals(List.of(1L, 3L, 4L, 5L), seqs(batch));
    assertSameMessage(s.load(4), batch.get(2));
  }

  @Test
  void loadLastFindsTheNewestMatching() throws Exception {
    fillTree();
    assertEquals(7, s.loadLast(null).seq());
    assertEquals(7, s.loadLast(">").seq());
    assertEquals(5, s.loadLast("a.b.c").seq());
    assertEquals(5, s.loadLast("a.b.*").seq());
    assertEquals(4, s.loadLast("b.>").seq());
    assertEquals(7, s.loadLast("*.*.c").seq());
    assertNull(s.loadLast("q.>"));
    assertTrue(s.remove(7));
    assertEquals(6, s.loadLast(null).seq());
    assertEquals(2, s.loadLast("a.x.c").seq());
  }

  @Test
  void countsAndPerSubjectQueriesHonourFilters() throws Exception {
    fillTree();
    assertEquals(7, s.countMatching(null, 0));
    assertEquals(4, s.countMatching(">", 4));
    assertEquals(4, s.countMatching("a.*.c", 0));
    assertEquals(2, s.countMatching("a.*.c", 3));
    assertEquals(1, s.countMatching("a.b.c", 2));
    assertEquals(5, s.countMatching("a.>", 0));
    assertEquals(1, s.countMatching("a", 0));
    assertEquals(0, s.countMatching("a.b.c", 6));
    assertEquals(0, s.countMatching("x.*", 0));
    assertEquals(Map.of("a.b.c", 2L, "a.x.c", 2L, "a.b.d", 1L, "b.b.c", 1L, "a", 1L), s.subjectCounts(null));
    assertEquals(Map.of("a.b.c", 2L, "a.x.c", 2L), s.subjectCounts("a.*.c"));
    assertEquals(Map.of("a.b.c", 2L, "a.x.c", 2L, "a.b.d", 1L), s.subjectCounts("a.>"));
    assertEquals(Map.of("a.b.d", 1L), s.subjectCounts("a.b.d"));
    assertTrue(s.subjectCounts("zz").isEmpty());
    assertArrayEquals(new long[] {3, 4, 5, 6, 7}, s.lastSeqPerSubject(null));
    assertArrayEquals(new long[] {3, 5, 7}, s.lastSeqPerSubject("a.>"));
    assertArrayEquals(new long[] {4, 5, 7}, s.lastSeqPerSubject("*.*.c"));
    assertArrayEquals(new long[] {6}, s.lastSeqPerSubject("a"));
    assertEquals(0, s.lastSeqPerSubject("zz").length);
    assertEquals(5, s.state().numSubjects());
    reopenAndCompare();
    assertEquals(2, s.countMatching("a.*.c", 3));
    assertArrayEquals(new long[] {3, 5, 7}, s.lastSeqPerSubject("a.>"));
  }

  @Test
  void lastSeqPerSubjectUpToASequence() throws Exception {
    fillTree();
    // a.b.c: 1, 5; a.x.c: 2, 7; a.b.d: 3; b.b.c: 4; a: 6
    assertArrayEquals(new long[] {3, 4, 5, 6, 7}, s.lastSeqPerSubject(null, Long.MAX_VALUE));
    assertArrayEquals(new long[] {3, 4, 5, 6, 7}, s.lastSeqPerSubject(null, 7));
    assertArrayEquals(new long[] {2, 3, 4, 5, 6}, s.lastSeqPerSubject(null, 6));
    assertArrayEquals(new long[] {1, 2, 3, 4}, s.lastSeqPerSubject(">", 4));
    assertArrayEquals(new long[] {1, 2, 3}, s.lastSeqPerSubject("a.>", 4));
    assertArrayEquals(new long[] {1, 2, 4}, s.lastSeqPerSubject("*.*.c", 4));
    assertArrayEquals(new long[] {1}, s.lastSeqPerSubject("a.b.c", 4));
    assertEquals(0, s.lastSeqPerSubject("a", 5).length);
    assertEquals(0, s.lastSeqPerSubject(null, 0).length);
    assertTrue(s.remove(5));
    assertTrue(s.remove(2));
    assertArrayEquals(new long[] {1, 3, 4, 6}, s.lastSeqPerSubject(null, 6));
    assertArrayEquals(new long[] {1, 3, 4}, s.lastSeqPerSubject(null, 5));
    reopenAndCompare();
    assertArrayEquals(new long[] {1, 3, 4, 6}, s.lastSeqPerSubject(null, 6));
    assertArrayEquals(new long[] {1, 7}, s.lastSeqPerSubject("a.*.c", 7));
  }

  @Test
  void wildcardReadsOverManySubjectsAgreeWithAScan() throws Exception {
    // Enough subjects that an implementation may switch from per-subject lookups to a scan.
    for (int i = 0; i < 300; i++) {
      add("dev." + (i % 150) + (i % 2 == 0 ? ".t" : ".h"), "v" + i);
    }
    assertEquals(150, s.countMatching("dev.*.t", 0));
    assertEquals(75, s.countMatching("dev.*.t", 151));
    assertEquals(2, s.loadNext("dev.*.h", 0).seq());
    assertEquals(300, s.loadLast("dev.*.h").seq());
    assertEquals(75, s.subjectCounts("dev.*.t").size());
    assertEquals(Map.of("dev.7.h", 2L), s.subjectCounts("dev.7.>"));
    long[] lasts = s.lastSeqPerSubject("dev.*.h");
    assertEquals(75, lasts.length);
    assertEquals(152, lasts[0]);
    List<StoredMessage> batch = s.loadBatch("dev.*.h", 100, 10, 0);
    assertEquals(10, batch.size());
    for (StoredMessage m : batch) {
      assertTrue(m.subject().endsWith(".h"));
      assertTrue(m.seq() >= 100);
    }
    assertEquals(150, s.purge("dev.*.h", 0, 0));
    assertEquals(150, s.state().msgs());
    assertEquals(150, s.state().numDeleted());
    reopenAndCompare();
    assertEquals(150, s.countMatching("dev.>", 0));
  }

  // ---- time, ids, ages ----

  @Test
  void seqAtOrAfterTimeFindsTheFirstStoredAtOrAfter() throws Exception {
    fill("a", "a", "a", "a", "a"); // ts 1000..5000
    assertEquals(1, s.seqAtOrAfterTime(0));
    assertEquals(1, s.seqAtOrAfterTime(1_000));
    assertEquals(2, s.seqAtOrAfterTime(1_001));
    assertEquals(3, s.seqAtOrAfterTime(3_000));
    assertEquals(5, s.seqAtOrAfterTime(5_000));
    assertEquals(6, s.seqAtOrAfterTime(5_001));
    assertTrue(s.remove(3));
    assertEquals(4, s.seqAtOrAfterTime(2_500));
    assertTrue(s.remove(1));
    assertEquals(2, s.seqAtOrAfterTime(0));
  }

  @Test
  void msgIdsSinceListsIdsInOrderFromAnAge() throws Exception {
    s.append("a", null, b("1"), 1, 100, "id-1");
    s.append("a", null, b("2"), 2, 200, null);
    s.append("a", null, b("3"), 3, 300, "id-3");
    s.append("b", null, b("4"), 4, 400, "id-4");
    Map<String, Long> all = s.msgIdsSince(Long.MIN_VALUE);
    assertEquals(List.of("id-1", "id-3", "id-4"), new ArrayList<>(all.keySet()));
    assertEquals(List.of(1L, 3L, 4L), new ArrayList<>(all.values()));
    assertEquals(Map.of("id-3", 3L, "id-4", 4L), s.msgIdsSince(300));
    assertEquals(Map.of("id-4", 4L), s.msgIdsSince(301));
    assertTrue(s.msgIdsSince(401).isEmpty());
    assertEquals(300, s.ageOf(3));
    assertTrue(s.remove(3));
    assertEquals(Long.MIN_VALUE, s.ageOf(3));
    assertEquals(Map.of("id-4", 4L), s.msgIdsSince(250));
    reopenAndCompare();
    assertEquals(Map.of("id-1", 1L, "id-4", 4L), s.msgIdsSince(0));
  }

  // ---- JetStreamStore ----

  private static ConsumerRecord consumer(String stream, String name) {
    return new ConsumerRecord(stream, name, "{\"durable_name\":\"" + name + "\"}", 42, ConsumerState.INITIAL);
  }

  @Test
  void streamDefinitionsAreKeptAndUpdated() throws Exception {
    StreamRecord t = new StreamRecord("T.with-dash", "{}", 5, "ep2", false);
    StreamStore ts = js.createStream(t);
    assertEquals("T.with-dash", ts.name());
    assertThrows(StoreException.class, () -> js.createStream(record("S")));
    js.updateStreamConfig("S", "{\"name\":\"S\",\"max_msgs\":5}");
    ts.append("x", null, b("t"), 1, 1, null);
    add("y", "s");
    reopenAndCompare();
    if (persistent()) {
      List<StreamRecord> recs = js.streams();
      assertEquals(2, recs.size());
      assertEquals(new StreamRecord("S", "{\"name\":\"S\",\"max_msgs\":5}", 1_700_000_000_000_000_000L, "ep-S", false),
          recs.get(0));
      assertEquals(t, recs.get(1));
      assertEquals(1, js.openStream(recs.get(1)).state().msgs());
    }
  }

  @Test
  void streamsAreIndependent() throws Exception {
    StreamStore t = js.createStream(record("T"));
    fill("a", "a");
    t.append("a", null, b("t"), 9, 9, null);
    assertEquals(1, t.state().lastSeq());
    assertEquals(2, s.state().lastSeq());
    assertEquals(1, t.purge(null, 0, 0));
    assertEquals(2, s.state().msgs());
    assertEquals("d1", new String(s.load(1).data(), ISO_8859_1));
  }

  @Test
  void consumersArePersistedWithTheirState() throws Exception {
    js.saveConsumer(consumer("S", "c1"));
    js.saveConsumer(consumer("S", "c2"));
    assertEquals(2, js.consumers("S").size());
    ConsumerState st = new ConsumerState(10, 12, 7, 9, new long[] {11, 12}, new long[] {8, 3, 10, 2}, 15);
    js.saveConsumerState("S", "c1", st);
    assertStateEquals(st, find(js.consumers("S"), "c1").state());
    assertStateEquals(ConsumerState.INITIAL, find(js.consumers("S"), "c2").state());
    ConsumerRecord replaced = new ConsumerRecord("S", "c2", "{\"v\":2}", 43,
        new ConsumerState(1, 1, 0, 0, new long[0], new long[0], 30));
    js.saveConsumer(replaced);
    assertEquals("{\"v\":2}", find(js.consumers("S"), "c2").configJson());
    reopenAndCompare();
    assertStateEquals(st, find(js.consumers("S"), "c1").state());
    assertStateEquals(replaced.state(), find(js.consumers("S"), "c2").state());
    ConsumerState phaseOver = new ConsumerState(3, 31, 3, 31, new long[0]);
    js.saveConsumerState("S", "c2", phaseOver);
    js.deleteConsumer("S", "c1");
    assertEquals(1, js.consumers("S").size());
    reopenAndCompare();
    assertStateEquals(phaseOver, find(js.consumers("S"), "c2").state());
    assertEquals(List.of("c2"), js.consumers("S").stream().map(ConsumerRecord::name).toList());
  }

  @Test
  void consumerStateWritesCoalesceToTheLatest() throws Exception {
    js.saveConsumer(consumer("S", "c"));
    commit();
    long[] big = new long[500];
    for (int i = 0; i < big.length; i++) {
      big[i] = 1_000_000_000_000L + 3L * i;
    }
    for (int i = 1; i <= 100; i++) {
      js.saveConsumerState("S", "c", new ConsumerState(i, i, i - 1, i - 1, i == 100 ? big : new long[] {i + 5}));
    }
    long[] counts = new long[2 * 300];
    for (int i = 0; i < 300; i++) {
      counts[2 * i] = 1_000_000_000_001L + 3L * i;
      counts[2 * i + 1] = 2 + i % 70;
    }
    js.saveConsumerState("S", "c", new ConsumerState(100, 100, 99, 99, big, counts));
    ConsumerState last = new ConsumerState(100, 100, 99, 99, big, counts);
    assertStateEquals(last, find(js.consumers("S"), "c").state());
    reopenAndCompare();
    assertStateEquals(last, find(js.consumers("S"), "c").state());
    assertThrows(StoreException.class, () -> js.saveConsumerState("S", "nope", ConsumerState.INITIAL));
  }

  @Test
  void deletingAStreamRemovesItsMessagesAndConsumers() throws Exception {
    fill("a", "b");
    js.saveConsumer(consumer("S", "c"));
    StreamStore t = js.createStream(record("T"));
    js.saveConsumer(consumer("T", "d"));
    commit();
    js.deleteStream("S");
    assertThrows(StoreException.class, () -> js.consumers("S"));
    assertThrows(StoreException.class, () -> js.deleteStream("S"));
    assertEquals(1, js.consumers("T").size());
    s = js.createStream(record("S"));
    assertEquals(new StreamState(0, 0, 1, 0, 0, 0, 0, 0), s.state(), "a re-created stream starts from 1");
    assertTrue(js.consumers("S").isEmpty());
    assertEquals(0, t.state().msgs());
    reopenAndCompare();
    if (persistent()) {
      assertEquals(List.of("T", "S"), js.streams().stream().map(StreamRecord::name).toList());
    }
    assertTrue(js.consumers("S").isEmpty());
    assertEquals(1, js.consumers("T").size());
  }

  @Test
  void memoryStreamsKeepTheirDefinitionButNotTheirMessages() throws Exception {
    StreamRecord mr = new StreamRecord("M", "{}", 3, "epm", true);
    StreamStore m = js.createStream(mr);
    m.append("a", null, b("m"), 1, 1, null);
    assertEquals(1, m.state().msgs());
    js.saveConsumer(consumer("M", "mc"));
    if (persistent()) {
      commit();
      js.close();
      js = openStore(dir);
      assertTrue(js.streams().contains(mr));
      StreamStore again = js.openStream(mr);
      assertEquals(0, again.state().msgs());
      assertEquals(1, js.consumers("M").size());
    }
  }

  @Test
  void commitRunsOnDurableAndTheStoreReportsNoProblem() throws Exception {
    add("a", "x");
    commit();
    commit(); // an empty group is fine too
    assertNull(js.problem());
    assertTrue(js.usedBytes() >= 0);
    long t0 = js.ageClock().now();
    long t1 = js.ageClock().now();
    assertTrue(t1 >= t0, "the age clock never goes back");
  }

  @Test
  void rollbackRevertsToTheLastCommit() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue(revertsOnRollback());
    fill("a", "b", "c");
    js.saveConsumer(consumer("S", "c"));
    js.saveConsumerState("S", "c", new ConsumerState(2, 2, 1, 1, new long[0]));
    commit();
    StreamState committed = s.state();
    fill("a", "d");
    assertTrue(s.remove(1));
    js.saveConsumerState("S", "c", new ConsumerState(4, 4, 3, 3, new long[0]));
    js.saveConsumer(consumer("S", "c2"));
    StreamStore t = js.createStream(record("T"));
    t.append("x", null, b("x"), 1, 1, null);
    js.rollback();
    assertEquals(committed, s.state());
    assertEquals(List.of(1L, 2L, 3L), allSeqs());
    assertEquals(Map.of("a", 1L, "b", 1L, "c", 1L), s.subjectCounts(null));
    assertEquals(new SubjectState(1, 1, 1), s.subjectState("a"));
    assertNull(s.loadLast("d"));
    assertEquals(List.of("c"), js.consumers("S").stream().map(ConsumerRecord::name).toList());
    assertStateEquals(new ConsumerState(2, 2, 1, 1, new long[0]), js.consumers("S").get(0).state());
    assertThrows(StoreException.class, () -> js.consumers("T"), "a stream created in the group is gone");
    assertEquals(4, add("e", "after"));
    commit();
    reopenAndCompare();
    assertEquals(List.of(1L, 2L, 3L, 4L), allSeqs());
  }

  @Test
  void rollbackAfterPurgeAndDeleteRestoresThem() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue(revertsOnRollback());
    fill("a", "b", "a");
    StreamStore t = js.createStream(record("T"));
    t.append("t", null, b("t"), 1, 1, null);
    commit();
    assertEquals(3, s.purge(null, 0, 0));
    js.deleteStream("T");
    js.rollback();
    assertEquals(List.of(1L, 2L, 3L), allSeqs());
    assertEquals(new SubjectState(2, 1, 3), s.subjectState("a"));
    assertTrue(js.consumers("T").isEmpty(), "a stream deleted in the group is back");
    assertEquals(1, t.state().msgs(), "a stream deleted in the group is back");
    assertEquals(2, t.append("t", null, b("t2"), 2, 2, null));
    reopenAndCompare();
  }

  private static ConsumerRecord find(List<ConsumerRecord> list, String name) {
    for (ConsumerRecord c : list) {
      if (c.name().equals(name)) {
        return c;
      }
    }
    throw new AssertionError("no consumer " + name + " in " + Arrays.toString(list.toArray()));
  }
}
