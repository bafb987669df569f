package io.leafgate.storage.sqlite;

import static java.nio.charset.StandardCharsets.ISO_8859_1;

import io.leafgate.leaf.subject.Subjects;
import io.leafgate.storage.api.StoreException;
import io.leafgate.storage.api.StoreException.Kind;
import io.leafgate.storage.api.StoredMessage;
import io.leafgate.storage.api.StreamState;
import io.leafgate.storage.api.StreamStore;
import io.leafgate.storage.api.SubjectState;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;

/**
 * The messages of one file stream, in its table {@code msgs_<id>} (the sequence is the rowid) with
 * subjects interned in {@code subjects_<id>} so the {@code (subj_id, seq)} index stays small.
 *
 * <p>The numbers ({@link #state()}) and a per-subject index (count, first, last) live in memory,
 * rebuilt by one scan at open and kept up to date by every mutation. Mutations record the subjects
 * they touch, so {@link #revert()} restores the last committed numbers without a rescan.
 *
 * <p>Confined to the engine thread; all SQL runs on the engine connection inside the group
 * transaction, so reads see uncommitted mutations.
 */
final class SqliteStreamStore implements StreamStore {
  /** Checks a new message against the store-wide byte limit. */
  @FunctionalInterface
  interface SpaceGuard {
    void reserve(long bytes) throws StoreException;
  }

  /** What the store knows about one subject. */
  static final class SubjectInfo {
    final String subject;
    final long id;
    long count;
    long first;
    long last;

    SubjectInfo(String subject, long id) {
      this.subject = subject;
      this.id = id;
    }

    SubjectInfo copy() {
      SubjectInfo c = new SubjectInfo(subject, id);
      c.count = count;
      c.first = first;
      c.last = last;
      return c;
    }

    long overhead() {
      return StoredMessage.OVERHEAD + subject.length();
    }
  }

  /** Above this many matching subjects, or when they hold a large share of the stream, filtered reads scan. */
  private static final int MERGE_SUBJECTS_MAX = 64;

  private final SqliteDatabase db;
  private final SpaceGuard space;
  private final String name;
  final long id;

  private final HashMap<String, SubjectInfo> subjects = new HashMap<>();
  private final HashMap<Long, SubjectInfo> byId = new HashMap<>();
  private long nextSubjectId = 1;
  private long msgs;
  private long bytes;
  private long firstSeq = 1;
  private long firstTs;
  private long firstAge = Long.MIN_VALUE;
  private long lastSeq;
  private long lastTs;

  /** Numbers as of the last commit, and the subjects touched since (null value: it did not exist). */
  private long[] committed;
  private final HashMap<String, SubjectInfo> undo = new HashMap<>();
  private boolean closed;
  /**
   * Acknowledged messages whose removal is deferred ({@link #removeAcked}), ascending. Applied
   * before any other call on this store and before the group commits, as one range DELETE per run
   * of consecutive sequences: a workqueue stream drained in order removed its messages one
   * statement each, the largest cost of the engine thread in an uplink replay.
   */
  private long[] deferred = new long[64];
  private int deferredCount;
  private static final int DEFERRED_MAX = 4096;

  /**
   * Appended messages not yet inserted, in sequence order. They go in as multi-row INSERTs before
   * any other call on this store reads or removes, and before the group commits: one statement per
   * {@link #INSERT_ROWS} messages instead of one each. Through the driver each statement costs a
   * dozen native calls whatever its size, which made the single-row INSERT the largest cost of an
   * acknowledged publish.
   */
  private final ArrayList<PendingRow> pendingRows = new ArrayList<>();
  /** Rows per multi-row INSERT; a rest goes in as statements of {@link #INSERT_ROWS_SMALL}, then single rows. */
  static final int INSERT_ROWS = 32;
  static final int INSERT_ROWS_SMALL = 8;
  /** Past this many pending rows an append inserts them at once (bounds the memory they hold). */
  private static final int PENDING_ROWS_MAX = 512;
  private final String insertSql1;
  private final String insertSqlSmall;
  private final String insertSqlMany;

  private record PendingRow(long seq, long sid, long ts, long age, String msgId, byte[] headers, byte[] data) {}

  /**
   * Ghosts: acknowledged messages removed from the stream but not yet from its table. Deleting rows
   * one run at a time makes SQLite rewrite every page it deletes from into the WAL (and the
   * checkpoint copies it again): about 4 µs and a fifth of a 1 KiB frame per row, the largest cost
   * of an uplink replay, whose workqueue stream removes every message it sends. Emptying the table
   * with a {@code DELETE} without {@code WHERE} frees its pages without writing them, ten times
   * cheaper. So a removal that starts at the stream's first message (an in-order drain) leaves the
   * rows in place below a floor, {@link #ghostEnd}, and the table is emptied when the stream is
   * empty. A stream that is never quite empty (a steady flow, a few messages always in flight) is
   * compacted instead: past {@link #COMPACT_GHOST_ROWS} ghost rows or {@link #COMPACT_GHOST_BYTES}
   * bytes, if at most {@link #COMPACT_LIVE_ROWS} messages of at most {@link #COMPACT_LIVE_BYTES}
   * are left, they are copied out, the table emptied and they go back in. Past
   * {@link #GHOST_MAX_ROWS} rows or {@link #GHOST_MAX_BYTES} bytes (a long drain) the oldest go
   * {@value #GHOST_CHUNK_ROWS} per flush, and all go when the store's byte limit is reached.
   *
   * <p>Invariant: every row at or above {@code ghostEnd} is a message of the stream, every row
   * below it is a ghost, and {@code ghostEnd <= firstSeq}; reads start at {@code firstSeq} (or a
   * subject's first, which is above it), so they never meet a ghost. The four numbers are saved
   * in {@code meta} in the transaction that changes them, so a restart (or a rollback) finds the
   * floor that goes with the rows. No ghosts: all four are 0 and the key is absent.
   */
  private long ghostFirst;
  private long ghostEnd;
  private long ghostRows;
  private long ghostBytes;
  static final long GHOST_MAX_ROWS = 4L << 20;
  static final long GHOST_MAX_BYTES = 256L << 20;
  static final int GHOST_CHUNK_ROWS = 8192;
  static final long COMPACT_GHOST_ROWS = 65_536;
  static final long COMPACT_GHOST_BYTES = 8L << 20;
  static final long COMPACT_LIVE_ROWS = 1024;
  static final long COMPACT_LIVE_BYTES = 4L << 20;
  /** The bounds in force (tests lower them). */
  long ghostMaxRows = GHOST_MAX_ROWS;
  long compactGhostRows = COMPACT_GHOST_ROWS;

  SqliteStreamStore(SqliteDatabase db, SpaceGuard space, String name, long id) {
    this.db = db;
    this.space = space;
    this.name = name;
    this.id = id;
    this.insertSql1 = Sql.insertMsgs(id, 1);
    this.insertSqlSmall = Sql.insertMsgs(id, INSERT_ROWS_SMALL);
    this.insertSqlMany = Sql.insertMsgs(id, INSERT_ROWS);
    markCommitted();
  }

  @Override
  public String name() {
    return name;
  }

  // ---- lifecycle (called by SqliteJetStreamStore) ----

  /** Rebuilds everything in memory from the tables (at open, and if a rollback failed). */
  void rebuild(long persistedLastSeq, long persistedLastTs) throws StoreException {
    deferredCount = 0;
    pendingRows.clear();
    db.read("load stream " + name, c -> {
      loadGhosts();
      subjects.clear();
      byId.clear();
      HashMap<Long, SubjectInfo> all = new HashMap<>();
      long maxId = 0;
      try (ResultSet rs = db.prepare(Sql.allSubjects(id)).executeQuery()) {
        while (rs.next()) {
          long sid = rs.getLong(1);
          all.put(sid, new SubjectInfo(new String(rs.getBytes(2), ISO_8859_1), sid));
          maxId = Math.max(maxId, sid);
        }
      }
      nextSubjectId = maxId + 1;
      msgs = 0;
      bytes = 0;
      PreparedStatement totals = db.prepare(Sql.subjectTotals(id));
      totals.setLong(1, ghostEnd);
      try (ResultSet rs = totals.executeQuery()) {
        while (rs.next()) {
          SubjectInfo si = all.get(rs.getLong(1));
          if (si == null) {
            throw new SQLException("stream " + name + " has messages with an unknown subject id " + rs.getLong(1),
                "", 11);
          }
          si.count = rs.getLong(2);
          si.first = rs.getLong(3);
          si.last = rs.getLong(4);
          msgs += si.count;
          bytes += si.count * si.overhead();
        }
      }
      PreparedStatement stored = db.prepare(Sql.storedBytes(id));
      stored.setLong(1, ghostEnd);
      try (ResultSet rs = stored.executeQuery()) {
        bytes += rs.next() ? rs.getLong(1) : 0;
      }
      long[] first = firstAtOrAfter(ghostEnd);
      if (first != null) {
        firstSeq = first[0];
        firstTs = first[1];
        firstAge = first[2];
      }
      long maxSeq = 0;
      long maxTs = 0;
      try (ResultSet rs = db.prepare(Sql.lastSeqTs(id)).executeQuery()) {
        if (rs.next()) {
          maxSeq = rs.getLong(1);
          maxTs = rs.getLong(2);
        }
      }
      for (SubjectInfo si : all.values()) {
        if (si.count > 0) {
          subjects.put(si.subject, si);
          byId.put(si.id, si);
        }
      }
      if (maxSeq >= persistedLastSeq) {
        lastSeq = maxSeq;
        lastTs = maxTs;
      } else {
        lastSeq = persistedLastSeq;
        lastTs = persistedLastTs;
      }
      if (msgs == 0) {
        setEmpty();
      }
      return null;
    });
    markCommitted();
  }

  private void setEmpty() {
    firstSeq = lastSeq + 1;
    firstTs = 0;
    firstAge = Long.MIN_VALUE;
  }

  /** The current numbers become the ones {@link #revert} goes back to. */
  void markCommitted() {
    committed = new long[] {msgs, bytes, firstSeq, firstTs, firstAge, lastSeq, lastTs, nextSubjectId, ghostFirst,
        ghostEnd, ghostRows, ghostBytes};
    undo.clear();
  }

  /** Goes back to the numbers of the last commit (the transaction was rolled back). */
  void revert() {
    deferredCount = 0;
    pendingRows.clear();
    long[] c = committed;
    msgs = c[0];
    bytes = c[1];
    firstSeq = c[2];
    firstTs = c[3];
    firstAge = c[4];
    lastSeq = c[5];
    lastTs = c[6];
    nextSubjectId = c[7];
    ghostFirst = c[8];
    ghostEnd = c[9];
    ghostRows = c[10];
    ghostBytes = c[11];
    for (Map.Entry<String, SubjectInfo> e : undo.entrySet()) {
      SubjectInfo now = subjects.remove(e.getKey());
      if (now != null) {
        byId.remove(now.id);
      }
      SubjectInfo before = e.getValue();
      if (before != null) {
        subjects.put(before.subject, before);
        byId.put(before.id, before);
      }
    }
    undo.clear();
  }

  void close() {
    deferredCount = 0;
    pendingRows.clear();
    closed = true;
  }

  void reopen() {
    closed = false;
  }

  boolean isClosed() {
    return closed;
  }

  /** Checks the store is open and applies the pending inserts and removals, before any other work on it. */
  private void ready() throws StoreException {
    checkOpen();
    flushRemovals();
  }

  private void checkOpen() throws StoreException {
    if (closed) {
      throw new StoreException(Kind.CLOSED, "stream " + name + " is closed");
    }
  }

  private void touch(String subject) {
    if (!undo.containsKey(subject)) {
      SubjectInfo si = subjects.get(subject);
      undo.put(subject, si == null ? null : si.copy());
    }
  }

  // ---- state ----

  @Override
  public StreamState state() {
    flushQuietly();
    if (msgs == 0) {
      // Like nats-server, the time of the last message stored is kept after it went (0 if none ever).
      return new StreamState(0, 0, firstSeq, 0, lastSeq, lastTs, 0, 0);
    }
    return new StreamState(msgs, bytes, firstSeq, firstTs, lastSeq, lastTs, subjects.size(),
        lastSeq - firstSeq + 1 - msgs);
  }

  // ---- append ----

  @Override
  public long append(String subject, byte[] headers, byte[] data, long timestampNanos, long ageNanos, String msgId)
      throws StoreException {
    checkOpen();
    if (db.groupFailed()) {
      db.checkNotFailed("append to " + name);
    }
    long size = StoredMessage.sizeOf(subject, headers, data);
    space.reserve(size);
    long seq = lastSeq + 1;
    SubjectInfo known = subjects.get(subject);
    long sid = known != null ? known.id : nextSubjectId;
    if (known == null) {
      db.write("append to " + name, c -> {
        PreparedStatement ps = db.prepare(Sql.insertSubject(id));
        ps.setLong(1, sid);
        ps.setBytes(2, subject.getBytes(ISO_8859_1));
        ps.executeUpdate();
        return null;
      });
    }
    if (pendingRows.size() >= PENDING_ROWS_MAX) {
      flushInserts();
    }
    pendingRows.add(new PendingRow(seq, sid, timestampNanos, ageNanos, msgId, headers, data));
    touch(subject);
    SubjectInfo si = known;
    if (si == null) {
      si = new SubjectInfo(subject, sid);
      si.first = seq;
      subjects.put(subject, si);
      byId.put(sid, si);
      nextSubjectId++;
    }
    si.count++;
    si.last = seq;
    if (msgs == 0) {
      firstSeq = seq;
      firstTs = timestampNanos;
      firstAge = ageNanos;
    }
    msgs++;
    bytes += size;
    lastSeq = seq;
    lastTs = timestampNanos;
    return seq;
  }

  // ---- reads ----

  private StoredMessage row(ResultSet rs) throws SQLException {
    long seq = rs.getLong(1);
    SubjectInfo si = byId.get(rs.getLong(2));
    if (si == null) {
      throw new SQLException("message " + seq + " of stream " + name + " has an unknown subject", "", 11);
    }
    byte[] data = rs.getBytes(5);
    return new StoredMessage(seq, si.subject, rs.getBytes(4), data == null ? new byte[0] : data, rs.getLong(3));
  }

  private StoredMessage loadRow(long seq) throws SQLException {
    PreparedStatement ps = db.prepare(Sql.loadBySeq(id));
    ps.setLong(1, seq);
    try (ResultSet rs = ps.executeQuery()) {
      return rs.next() ? row(rs) : null;
    }
  }

  @Override
  public StoredMessage load(long seq) throws StoreException {
    ready();
    if (seq < firstSeq || seq > lastSeq) {
      return null;
    }
    return db.read("load from " + name, c -> loadRow(seq));
  }

  private static boolean all(String filter) {
    return filter == null || filter.equals(">");
  }

  /** The subjects matching a wildcard filter that have messages at or after {@code fromSeq}. */
  private List<SubjectInfo> matching(String filter, long fromSeq) {
    List<SubjectInfo> out = new ArrayList<>();
    for (SubjectInfo si : subjects.values()) {
      if (si.last >= fromSeq && Subjects.matches(filter, si.subject)) {
        out.add(si);
      }
    }
    return out;
  }

  @Override
  public StoredMessage loadNext(String filter, long fromSeq) throws StoreException {
    ready();
    List<StoredMessage> one = read(filter, fromSeq, 1, 0);
    return one.isEmpty() ? null : one.get(0);
  }

  @Override
  public List<StoredMessage> loadBatch(String filter, long fromSeq, int max, long maxBytes) throws StoreException {
    ready();
    return read(filter, fromSeq, max, maxBytes);
  }

  /** Collects messages in sequence order, honouring max and maxBytes (the first always fits). */
  private static final class Batch {
    final List<StoredMessage> out = new ArrayList<>();
    final int max;
    final long maxBytes;
    long total;

    Batch(int max, long maxBytes) {
      this.max = max;
      this.maxBytes = maxBytes;
    }

    /** Adds m if it fits; returns whether more may follow. */
    boolean offer(StoredMessage m) {
      if (maxBytes > 0 && !out.isEmpty() && total + m.size() > maxBytes) {
        return false;
      }
      out.add(m);
      total += m.size();
      return out.size() < max;
    }
  }

  private List<StoredMessage> read(String filter, long fromSeq, int max, long maxBytes) throws StoreException {
    Batch batch = new Batch(max, maxBytes);
    long from = Math.max(fromSeq, firstSeq);
    if (max <= 0 || msgs == 0 || from > lastSeq) {
      return batch.out;
    }
    if (all(filter)) {
      return db.read("read " + name, c -> readRange(Sql.loadFrom(id), -1, from, max, batch));
    }
    if (!Subjects.hasWildcard(filter)) {
      SubjectInfo si = subjects.get(filter);
      if (si == null || si.last < from) {
        return batch.out;
      }
      return db.read("read " + name, c -> readRange(Sql.loadSubjectFrom(id), si.id, from, max, batch));
    }
    List<SubjectInfo> match = matching(filter, from);
    if (match.isEmpty()) {
      return batch.out;
    }
    if (match.size() == subjects.size()) {
      return db.read("read " + name, c -> readRange(Sql.loadFrom(id), -1, from, max, batch));
    }
    long matched = 0;
    for (SubjectInfo si : match) {
      matched += si.count;
    }
    if (match.size() <= MERGE_SUBJECTS_MAX || matched * 8 < msgs) {
      return db.read("read " + name, c -> readMerged(match, from, batch));
    }
    return db.read("read " + name, c -> readScan(match, from, batch));
  }

  private List<StoredMessage> readRange(String sql, long sid, long from, int max, Batch batch) throws SQLException {
    PreparedStatement ps = db.prepare(sql);
    int i = 1;
    if (sid >= 0) {
      ps.setLong(i++, sid);
    }
    ps.setLong(i++, from);
    ps.setLong(i, max);
    try (ResultSet rs = ps.executeQuery()) {
      while (rs.next() && batch.offer(row(rs))) {
        // keep going
      }
    }
    return batch.out;
  }

  /** The first sequence at or after {@code from} of one subject, via the index; 0 if none. */
  private long subjectNext(SubjectInfo si, long from) throws SQLException {
    if (from <= si.first) {
      return si.first;
    }
    if (from > si.last) {
      return 0;
    }
    PreparedStatement ps = db.prepare(Sql.subjectNextSeq(id));
    ps.setLong(1, si.id);
    ps.setLong(2, from);
    try (ResultSet rs = ps.executeQuery()) {
      return rs.next() ? rs.getLong(1) : 0;
    }
  }

  /** Few matching subjects: merge their index runs. */
  private List<StoredMessage> readMerged(List<SubjectInfo> match, long from, Batch batch) throws SQLException {
    PriorityQueue<long[]> heads = new PriorityQueue<>((a, b) -> Long.compare(a[0], b[0]));
    for (int i = 0; i < match.size(); i++) {
      long seq = subjectNext(match.get(i), from);
      if (seq > 0) {
        heads.add(new long[] {seq, i});
      }
    }
    while (!heads.isEmpty()) {
      long[] h = heads.poll();
      StoredMessage m = loadRow(h[0]);
      if (m != null && !batch.offer(m)) {
        break;
      }
      long next = subjectNext(match.get((int) h[1]), h[0] + 1);
      if (next > 0) {
        heads.add(new long[] {next, h[1]});
      }
    }
    return batch.out;
  }

  /** Many matching subjects holding much of the stream: walk the sequences and pick theirs. */
  private List<StoredMessage> readScan(List<SubjectInfo> match, long from, Batch batch) throws SQLException {
    Set<Long> ids = new HashSet<>();
    for (SubjectInfo si : match) {
      ids.add(si.id);
    }
    PreparedStatement ps = db.prepare(Sql.seqsFrom(id));
    ps.setLong(1, from);
    try (ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        if (ids.contains(rs.getLong(2))) {
          StoredMessage m = loadRow(rs.getLong(1));
          if (m != null && !batch.offer(m)) {
            break;
          }
        }
      }
    }
    return batch.out;
  }

  @Override
  public StoredMessage loadLast(String filter) throws StoreException {
    ready();
    if (msgs == 0) {
      return null;
    }
    long best = 0;
    if (all(filter)) {
      return db.read("load last of " + name, c -> {
        try (ResultSet rs = db.prepare(Sql.lastSeqTs(id)).executeQuery()) {
          return rs.next() ? loadRow(rs.getLong(1)) : null;
        }
      });
    }
    if (!Subjects.hasWildcard(filter)) {
      SubjectInfo si = subjects.get(filter);
      best = si == null ? 0 : si.last;
    } else {
      for (SubjectInfo si : subjects.values()) {
        if (si.last > best && Subjects.matches(filter, si.subject)) {
          best = si.last;
        }
      }
    }
    return best == 0 ? null : load(best);
  }

  @Override
  public long seqAtOrAfterTime(long timestampNanos) throws StoreException {
    ready();
    if (msgs == 0) {
      return lastSeq + 1;
    }
    if (timestampNanos <= firstTs) {
      return firstSeq;
    }
    // Binary search over "first message at or after x", assuming timestamps grow with sequences.
    return db.read("find time in " + name, c -> {
      long lo = firstSeq;
      long hi = lastSeq + 1;
      while (lo < hi) {
        long mid = (lo + hi) >>> 1;
        long[] r = firstAtOrAfter(mid);
        if (r == null || r[1] >= timestampNanos) {
          hi = mid;
        } else {
          lo = mid + 1;
        }
      }
      long[] r = firstAtOrAfter(lo);
      return r == null ? lastSeq + 1 : r[0];
    });
  }

  /** {seq, ts, age, subject id} of the first message at or after seq, or null. */
  private long[] firstAtOrAfter(long seq) throws SQLException {
    PreparedStatement ps = db.prepare(Sql.firstSeqTs(id));
    ps.setLong(1, seq);
    try (ResultSet rs = ps.executeQuery()) {
      return rs.next() ? new long[] {rs.getLong(1), rs.getLong(2), rs.getLong(3), rs.getLong(4)} : null;
    }
  }

  @Override
  public SubjectState subjectState(String subject) throws StoreException {
    // From memory, like state(): only deferred removals are applied first, pending inserts wait.
    checkOpen();
    if (deferredCount > 0) {
      flushRemovals();
    }
    SubjectInfo si = subjects.get(subject);
    return si == null ? SubjectState.EMPTY : new SubjectState(si.count, si.first, si.last);
  }

  @Override
  public Map<String, Long> subjectCounts(String filter) {
    flushQuietly();
    Map<String, Long> out = new HashMap<>();
    boolean all = all(filter);
    for (SubjectInfo si : subjects.values()) {
      if (all || Subjects.matches(filter, si.subject)) {
        out.put(si.subject, si.count);
      }
    }
    return out;
  }

  /**
   * Subjects whose messages all lie at or below {@code maxSeq} answer from memory; the others that
   * have one there cost one lookup each in the (subj_id, seq) index.
   */
  @Override
  public long[] lastSeqPerSubject(String filter, long maxSeq) throws StoreException {
    ready();
    boolean all = all(filter);
    long[] out = new long[subjects.size()];
    List<SubjectInfo> straddling = new ArrayList<>();
    int n = 0;
    for (SubjectInfo si : subjects.values()) {
      if (si.first > maxSeq || !(all || Subjects.matches(filter, si.subject))) {
        continue;
      }
      if (si.last <= maxSeq) {
        out[n++] = si.last;
      } else {
        straddling.add(si);
      }
    }
    if (!straddling.isEmpty()) {
      long[] found = db.read("last per subject in " + name, c -> {
        long[] r = new long[straddling.size()];
        for (int i = 0; i < r.length; i++) {
          r[i] = queryLong(Sql.subjectPrevSeq(id), straddling.get(i).id, maxSeq);
        }
        return r;
      });
      for (long seq : found) {
        out[n++] = seq;
      }
    }
    out = Arrays.copyOf(out, n);
    Arrays.sort(out);
    return out;
  }

  @Override
  public long countMatching(String filter, long fromSeq) throws StoreException {
    ready();
    if (msgs == 0 || fromSeq > lastSeq) {
      return 0;
    }
    if (all(filter)) {
      if (fromSeq <= firstSeq) {
        return msgs;
      }
      return db.read("count " + name, c -> {
        PreparedStatement ps = db.prepare(Sql.countFrom(id));
        ps.setLong(1, fromSeq);
        try (ResultSet rs = ps.executeQuery()) {
          return rs.next() ? rs.getLong(1) : 0L;
        }
      });
    }
    if (!Subjects.hasWildcard(filter)) {
      SubjectInfo si = subjects.get(filter);
      return si == null ? 0 : db.read("count " + name, c -> subjectCount(si, fromSeq));
    }
    List<SubjectInfo> match = matching(filter, fromSeq);
    return db.read("count " + name, c -> {
      long n = 0;
      for (SubjectInfo si : match) {
        n += subjectCount(si, fromSeq);
      }
      return n;
    });
  }

  private long subjectCount(SubjectInfo si, long fromSeq) throws SQLException {
    if (fromSeq <= si.first) {
      return si.count;
    }
    if (fromSeq > si.last) {
      return 0;
    }
    PreparedStatement ps = db.prepare(Sql.countSubjectFrom(id));
    ps.setLong(1, si.id);
    ps.setLong(2, fromSeq);
    try (ResultSet rs = ps.executeQuery()) {
      return rs.next() ? rs.getLong(1) : 0;
    }
  }

  // ---- removal ----

  /**
   * Removes the rows matching {@code where} (with {@code params} bound in order) and updates the
   * numbers. Returns how many went.
   */
  private long removeWhere(String op, String whereLive, long... paramsLive) throws StoreException {
    String where = "(" + whereLive + ") AND seq >= ?";
    long[] params = append(paramsLive, ghostEnd);
    return db.write(op + " in " + name, c -> {
      Removal r = new Removal();
      PreparedStatement sel = db.prepare(Sql.victims(id, where));
      bind(sel, params);
      try (ResultSet rs = sel.executeQuery()) {
        while (rs.next()) {
          r.add(rs.getLong(1), rs.getLong(2), rs.getLong(3));
        }
      }
      return deleteAndApply(r, where, params);
    });
  }

  /** Rows about to go, summed per subject. */
  private static final class Removal {
    final HashMap<Long, long[]> perSubject = new HashMap<>();
    long n;
    long min = Long.MAX_VALUE;
    long max = Long.MIN_VALUE;

    void add(long seq, long subjectId, long storedBytes) {
      long[] acc = perSubject.computeIfAbsent(subjectId, k -> new long[2]);
      acc[0]++;
      acc[1] += storedBytes;
      n++;
      min = Math.min(min, seq);
      max = Math.max(max, seq);
    }
  }

  /** Deletes the rows matching {@code where}, which are exactly those summed in {@code r}. */
  private long deleteAndApply(Removal r, String where, long... params) throws SQLException {
    if (r.n == 0) {
      return 0L;
    }
    PreparedStatement del = db.prepare(Sql.deleteWhere(id, where));
    bind(del, params);
    del.executeUpdate();
    applyRemoval(r.perSubject, r.n, r.min, r.max);
    return r.n;
  }

  private static void bind(PreparedStatement ps, long[] params) throws SQLException {
    for (int i = 0; i < params.length; i++) {
      ps.setLong(i + 1, params[i]);
    }
  }

  /** Updates the numbers after rows went; min and max are the lowest and highest removed seq. */
  private void applyRemoval(Map<Long, long[]> perSubject, long n, long min, long max) throws SQLException {
    // The new first message of the stream, when the old one went: also the new first of its own
    // subject (it is the lowest left), which spares that subject's index query below.
    long[] newFirst = msgs > n && min <= firstSeq ? firstAtOrAfter(Math.max(firstSeq, ghostEnd)) : null;
    for (Map.Entry<Long, long[]> e : perSubject.entrySet()) {
      SubjectInfo si = byId.get(e.getKey());
      if (si == null) {
        throw new SQLException("stream " + name + " has a message with an unknown subject id " + e.getKey(), "", 11);
      }
      touch(si.subject);
      long cnt = e.getValue()[0];
      si.count -= cnt;
      bytes -= cnt * si.overhead() + e.getValue()[1];
      if (si.count <= 0) {
        subjects.remove(si.subject);
        byId.remove(si.id);
        PreparedStatement ps = db.prepare(Sql.deleteSubject(id));
        ps.setLong(1, si.id);
        ps.executeUpdate();
        continue;
      }
      if (si.first >= min && si.first <= max) {
        si.first = newFirst != null && newFirst[3] == si.id ? newFirst[0]
            : queryLong(Sql.subjectNextSeq(id), si.id, Math.max(si.first, ghostEnd));
      }
      if (si.last >= min && si.last <= max) {
        si.last = queryLong(Sql.subjectPrevSeq(id), si.id, si.last);
      }
    }
    msgs -= n;
    if (msgs == 0) {
      setEmpty();
    } else if (min <= firstSeq) {
      long[] r = newFirst != null ? newFirst : firstAtOrAfter(Math.max(firstSeq, ghostEnd));
      firstSeq = r[0];
      firstTs = r[1];
      firstAge = r[2];
    }
    if (max == lastSeq) {
      // The tail went: remember lastSeq so it is never reused, even after a restart.
      PreparedStatement ps = db.prepare(Sql.STREAM_SET_TAIL);
      ps.setLong(1, lastSeq);
      ps.setLong(2, lastTs);
      ps.setLong(3, id);
      ps.executeUpdate();
    }
  }

  private long queryLong(String sql, long a, long b) throws SQLException {
    PreparedStatement ps = db.prepare(sql);
    ps.setLong(1, a);
    ps.setLong(2, b);
    try (ResultSet rs = ps.executeQuery()) {
      if (!rs.next()) {
        throw new SQLException("stream " + name + ": per-subject index out of step with the table", "", 11);
      }
      return rs.getLong(1);
    }
  }

  @Override
  public boolean remove(long seq) throws StoreException {
    ready();
    if (msgs == 0 || seq < firstSeq || seq > lastSeq) {
      return false;
    }
    // One statement instead of a SELECT of the victim and a DELETE: workqueue and interest streams
    // remove every acknowledged message this way, one by one.
    return db.write("remove from " + name, c -> {
      PreparedStatement del = db.prepare(Sql.deleteOneReturning(id));
      del.setLong(1, seq);
      long sid;
      long len;
      try (ResultSet rs = del.executeQuery()) {
        if (!rs.next()) {
          return false;
        }
        sid = rs.getLong(1);
        len = rs.getLong(2);
      }
      HashMap<Long, long[]> one = new HashMap<>(2);
      one.put(sid, new long[] {1, len});
      applyRemoval(one, 1, seq, seq);
      return true;
    });
  }

  @Override
  public boolean removeAcked(long seq) throws StoreException {
    checkOpen();
    if (deferredCount > 0 && seq <= deferred[deferredCount - 1]) {
      flushRemovals(); // out of order: keep the list ascending
    }
    if (msgs == 0 || seq < firstSeq || seq > lastSeq) {
      return false;
    }
    if (deferredCount == deferred.length) {
      if (deferredCount >= DEFERRED_MAX) {
        flushRemovals();
      } else {
        deferred = Arrays.copyOf(deferred, deferred.length * 2);
      }
    }
    deferred[deferredCount++] = seq;
    return true;
  }

  /** Inserts the pending rows (the group's own transaction). */
  private void flushInserts() throws StoreException {
    int n = pendingRows.size();
    if (n == 0) {
      return;
    }
    try {
      db.write("append to " + name, c -> {
        insertPending();
        return null;
      });
    } finally {
      pendingRows.clear(); // inserted, or the group fails and rolls back with them
    }
  }

  /** Inserts the pending rows in multi-row statements (the caller clears them). */
  private void insertPending() throws SQLException {
    int n = pendingRows.size();
    int i = insertChunks(0, n, INSERT_ROWS, insertSqlMany);
    i = insertChunks(i, n, INSERT_ROWS_SMALL, insertSqlSmall);
    insertChunks(i, n, 1, insertSql1);
  }

  /** Inserts rows from {@code from} in statements of {@code rows} while that many are left; returns the next row. */
  private int insertChunks(int from, int n, int rows, String sql) throws SQLException {
    if (n - from < rows) {
      return from;
    }
    PreparedStatement ps = db.prepare(sql);
    int i = from;
    while (n - i >= rows) {
      int p = 1;
      for (int r = 0; r < rows; r++, i++) {
        PendingRow row = pendingRows.get(i);
        ps.setLong(p++, row.seq);
        ps.setLong(p++, row.sid);
        ps.setLong(p++, row.ts);
        ps.setLong(p++, row.age);
        if (row.msgId == null) {
          ps.setNull(p++, Types.VARCHAR);
        } else {
          ps.setString(p++, row.msgId);
        }
        if (row.headers == null) {
          ps.setNull(p++, Types.BLOB);
        } else {
          ps.setBytes(p++, row.headers);
        }
        ps.setBytes(p++, row.data);
      }
      ps.executeUpdate();
    }
    return i;
  }

  /** Applies the pending inserts, then the deferred removals, if any (the group's own transaction). */
  void flushRemovals() throws StoreException {
    flushInserts();
    if (deferredCount == 0) {
      return;
    }
    long[] seqs = deferred;
    int n = deferredCount;
    deferredCount = 0;
    db.write("remove from " + name, c -> {
      long firstBefore = ghostFirst;
      long endBefore = ghostEnd;
      long rowsBefore = ghostRows;
      int i = 0;
      // Runs from the stream's first message become ghosts: their rows stay, below ghostEnd.
      while (i < n && seqs[i] == firstSeq && msgs > 0) {
        int j = run(seqs, i, n);
        ghost(seqs[i], seqs[j]);
        i = j + 1;
      }
      Removal r = new Removal();
      PreparedStatement del = i < n ? db.prepare(Sql.deleteRangeReturning(id)) : null;
      for (; i < n; ) {
        int j = run(seqs, i, n);
        del.setLong(1, seqs[i]);
        del.setLong(2, seqs[j]);
        try (ResultSet rs = del.executeQuery()) {
          while (rs.next()) {
            r.add(rs.getLong(1), rs.getLong(2), rs.getLong(3));
          }
        }
        i = j + 1;
      }
      if (r.n > 0) {
        applyRemoval(r.perSubject, r.n, r.min, r.max);
      }
      if (ghostRows > 0) {
        if (msgs == 0 || ((ghostRows >= compactGhostRows || ghostBytes >= COMPACT_GHOST_BYTES)
            && msgs <= COMPACT_LIVE_ROWS && bytes <= COMPACT_LIVE_BYTES)) {
          compact(); // with nothing left, just the emptying of the table
        } else if (ghostRows > ghostMaxRows || ghostBytes > GHOST_MAX_BYTES) {
          dropGhosts(GHOST_CHUNK_ROWS);
        }
      }
      if (ghostFirst != firstBefore || ghostEnd != endBefore || ghostRows != rowsBefore) {
        saveGhosts();
      }
      return null;
    });
  }

  /** The index of the last sequence of the run of consecutive ones that starts at {@code i}. */
  private static int run(long[] seqs, int i, int n) {
    int j = i;
    while (j + 1 < n && seqs[j + 1] == seqs[j] + 1) {
      j++;
    }
    return j;
  }

  /** Removes {@code [from, to]}, which starts at the first message, from the stream, leaving its rows as ghosts. */
  private void ghost(long from, long to) throws SQLException {
    Removal r = new Removal();
    PreparedStatement sel = db.prepare(Sql.victims(id, "seq BETWEEN ? AND ?"));
    sel.setLong(1, from);
    sel.setLong(2, to);
    try (ResultSet rs = sel.executeQuery()) {
      while (rs.next()) {
        r.add(rs.getLong(1), rs.getLong(2), rs.getLong(3));
      }
    }
    if (r.n == 0) {
      return;
    }
    if (ghostRows == 0) {
      ghostFirst = r.min;
    }
    ghostEnd = to + 1;
    ghostRows += r.n;
    for (long[] acc : r.perSubject.values()) {
      ghostBytes += acc[1];
    }
    applyRemoval(r.perSubject, r.n, r.min, r.max);
  }

  /**
   * Copies the (few or no) messages out, empties the table, which frees its pages without writing
   * them, and puts the messages back.
   */
  private void compact() throws SQLException {
    PreparedStatement ps = db.prepare(Sql.rowsFrom(id));
    ps.setLong(1, ghostEnd);
    try (ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        pendingRows.add(new PendingRow(rs.getLong(1), rs.getLong(2), rs.getLong(3), rs.getLong(4), rs.getString(5),
            rs.getBytes(6), rs.getBytes(7)));
      }
    }
    if (pendingRows.size() != msgs) {
      int found = pendingRows.size();
      pendingRows.clear();
      throw new SQLException("stream " + name + " holds " + found + " messages above its removed prefix, "
          + msgs + " expected", "", 11);
    }
    db.execute(Sql.deleteAll(id));
    noGhosts();
    try {
      insertPending();
    } finally {
      pendingRows.clear();
    }
  }

  /** Deletes the oldest ghost rows, at most {@code maxRows} of them (all: Long.MAX_VALUE). */
  private void dropGhosts(long maxRows) throws SQLException {
    long upTo = maxRows >= ghostRows ? ghostEnd : Math.min(ghostEnd, ghostFirst + maxRows);
    PreparedStatement del = db.prepare(Sql.deleteWhere(id, "seq < ?"));
    del.setLong(1, upTo);
    long gone = del.executeUpdate();
    if (upTo == ghostEnd || gone >= ghostRows) {
      noGhosts();
    } else {
      ghostBytes -= ghostBytes * gone / ghostRows;
      ghostRows -= gone;
      ghostFirst = upTo;
    }
  }

  /**
   * Deletes every ghost row now (the store reached its byte limit: their pages become free for new
   * messages). Returns whether there were any.
   */
  boolean dropAllGhosts() throws StoreException {
    if (ghostRows == 0 || closed) {
      return false;
    }
    db.write("free removed messages of " + name, c -> {
      dropGhosts(Long.MAX_VALUE);
      saveGhosts();
      return null;
    });
    return true;
  }

  private void noGhosts() {
    ghostFirst = 0;
    ghostEnd = 0;
    ghostRows = 0;
    ghostBytes = 0;
  }

  private void saveGhosts() throws SQLException {
    if (ghostRows == 0) {
      PreparedStatement ps = db.prepare(Sql.META_DELETE);
      ps.setString(1, Sql.metaGhosts(id));
      ps.executeUpdate();
      return;
    }
    PreparedStatement ps = db.prepare(Sql.META_PUT);
    ps.setString(1, Sql.metaGhosts(id));
    ps.setString(2, ghostFirst + "," + ghostEnd + "," + ghostRows + "," + ghostBytes);
    ps.executeUpdate();
  }

  private void loadGhosts() throws SQLException {
    noGhosts();
    PreparedStatement ps = db.prepare(Sql.META_GET);
    ps.setString(1, Sql.metaGhosts(id));
    try (ResultSet rs = ps.executeQuery()) {
      if (!rs.next()) {
        return;
      }
      String[] v = rs.getString(1).split(",");
      if (v.length != 4) {
        throw new SQLException("stream " + name + " has a malformed removed-prefix record: " + rs.getString(1), "", 11);
      }
      ghostFirst = Long.parseLong(v[0]);
      ghostEnd = Long.parseLong(v[1]);
      ghostRows = Long.parseLong(v[2]);
      ghostBytes = Long.parseLong(v[3]);
    } catch (NumberFormatException e) {
      throw new SQLException("stream " + name + " has a malformed removed-prefix record", "", 11, e);
    }
  }

  /** Appended rows not inserted yet (for tests). */
  int pendingRows() {
    return pendingRows.size();
  }

  /** Ghost rows (for tests and metrics). */
  long ghostRows() {
    return ghostRows;
  }

  /**
   * {@link #flushRemovals} for callers that cannot throw (a failure marks the group failed, so it
   * rolls back), and only if removals are deferred: the numbers that {@link #state()} and
   * {@link #subjectCounts} show count those once applied, but count appends at once. Pending
   * inserts stay pending: flushing them here inserted the rows of a batch one by one, as each
   * publish asks for the state.
   */
  private void flushQuietly() {
    if (deferredCount == 0 || closed) {
      return;
    }
    try {
      flushRemovals();
    } catch (StoreException e) {
      org.tinylog.Logger.debug("Deferred removals of {} failed: {}", name, e.getMessage());
    }
  }

  @Override
  public long purge(String filter, long beforeSeq, long keep) throws StoreException {
    ready();
    if (msgs == 0) {
      return 0;
    }
    String where;
    long[] params;
    if (all(filter) || (Subjects.hasWildcard(filter) && matching(filter, 0).size() == subjects.size())) {
      if (beforeSeq <= 0 && keep <= 0) {
        return purgeAll();
      }
      where = "1";
      params = new long[0];
    } else if (!Subjects.hasWildcard(filter)) {
      SubjectInfo si = subjects.get(filter);
      if (si == null) {
        return 0;
      }
      where = "subj_id = ?";
      params = new long[] {si.id};
    } else {
      List<SubjectInfo> match = matching(filter, 0);
      if (match.isEmpty()) {
        return 0;
      }
      StringBuilder in = new StringBuilder("subj_id IN (");
      for (int i = 0; i < match.size(); i++) {
        in.append(i == 0 ? "" : ",").append(match.get(i).id);
      }
      where = in.append(')').toString();
      params = new long[0];
    }
    if (beforeSeq > 0) {
      where = where + " AND seq < ?";
      params = append(params, beforeSeq);
    }
    if (keep > 0) {
      String w = where;
      long[] p = params;
      long cutoff = db.read("purge " + name, c -> {
        PreparedStatement ps = db.prepare(Sql.nthNewest(id, w));
        bind(ps, append(p, keep - 1));
        try (ResultSet rs = ps.executeQuery()) {
          return rs.next() ? rs.getLong(1) : 0L;
        }
      });
      if (cutoff == 0) {
        return 0;
      }
      where = where + " AND seq < ?";
      params = append(params, cutoff);
    }
    return removeWhere("purge", where, params);
  }

  private static long[] append(long[] a, long v) {
    long[] out = Arrays.copyOf(a, a.length + 1);
    out[a.length] = v;
    return out;
  }

  private long purgeAll() throws StoreException {
    long n = msgs;
    db.write("purge " + name, c -> {
      db.execute(Sql.deleteAll(id));
      db.execute(Sql.deleteAllSubjects(id));
      if (ghostRows > 0) {
        noGhosts();
        saveGhosts();
      }
      PreparedStatement ps = db.prepare(Sql.STREAM_SET_TAIL);
      ps.setLong(1, lastSeq);
      ps.setLong(2, lastTs);
      ps.setLong(3, id);
      ps.executeUpdate();
      return null;
    });
    for (String subject : new ArrayList<>(subjects.keySet())) {
      touch(subject);
    }
    subjects.clear();
    byId.clear();
    msgs = 0;
    bytes = 0;
    setEmpty();
    return n;
  }

  @Override
  public long trim(long maxMsgs, long maxBytes, long minAgeNanos) throws StoreException {
    ready();
    boolean overMsgs = maxMsgs >= 0 && msgs > maxMsgs;
    boolean overBytes = maxBytes >= 0 && bytes > maxBytes;
    boolean tooOld = minAgeNanos != Long.MIN_VALUE && msgs > 0 && firstAge < minAgeNanos;
    if (msgs == 0 || !(overMsgs || overBytes || tooOld)) {
      return 0;
    }
    // Walk from the oldest while a limit is exceeded; ages grow with sequences (AgeClock is monotonic).
    return db.write("trim " + name, c -> {
      Removal r = new Removal();
      long n = msgs;
      long b = bytes;
      PreparedStatement scan = db.prepare(Sql.trimScan(id));
      scan.setLong(1, ghostEnd);
      try (ResultSet rs = scan.executeQuery()) {
        while (rs.next()) {
          boolean over = (maxMsgs >= 0 && n > maxMsgs) || (maxBytes >= 0 && b > maxBytes)
              || (minAgeNanos != Long.MIN_VALUE && rs.getLong(4) < minAgeNanos);
          if (!over) {
            break;
          }
          SubjectInfo si = byId.get(rs.getLong(2));
          r.add(rs.getLong(1), rs.getLong(2), rs.getLong(3));
          n--;
          b -= (si == null ? StoredMessage.OVERHEAD : si.overhead()) + rs.getLong(3);
        }
      }
      return deleteAndApply(r, "seq <= ? AND seq >= ?", r.max, ghostEnd);
    });
  }

  @Override
  public long trimSubject(String subject, long max) throws StoreException {
    ready();
    SubjectInfo si = subjects.get(subject);
    long keep = Math.max(0, max);
    if (si == null || si.count <= keep) {
      return 0;
    }
    if (keep == 0) {
      return removeWhere("trim subject", "subj_id = ?", si.id);
    }
    if (si.count == keep + 1) {
      return removeWhere("trim subject", "seq = ?", si.first);
    }
    long cutoff = db.read("trim subject in " + name, c -> {
      PreparedStatement ps = db.prepare(Sql.nthNewest(id, "subj_id = ?"));
      ps.setLong(1, si.id);
      ps.setLong(2, keep - 1);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? rs.getLong(1) : 0L;
      }
    });
    return cutoff == 0 ? 0 : removeWhere("trim subject", "subj_id = ? AND seq < ?", si.id, cutoff);
  }

  // ---- ids, ages, gaps ----

  @Override
  public Map<String, Long> msgIdsSince(long ageNanos) throws StoreException {
    ready();
    return db.read("msg ids of " + name, c -> {
      List<Object[]> found = new ArrayList<>();
      try (ResultSet rs = db.prepare(Sql.idsNewestFirst(id)).executeQuery()) {
        while (rs.next()) {
          if (rs.getLong(2) < ageNanos || rs.getLong(1) < ghostEnd) {
            break;
          }
          String msgId = rs.getString(3);
          if (msgId != null) {
            found.add(new Object[] {msgId, rs.getLong(1)});
          }
        }
      }
      Map<String, Long> out = new LinkedHashMap<>();
      for (int i = found.size() - 1; i >= 0; i--) {
        out.put((String) found.get(i)[0], (Long) found.get(i)[1]);
      }
      return out;
    });
  }

  @Override
  public long ageOf(long seq) throws StoreException {
    ready();
    if (msgs == 0 || seq < firstSeq || seq > lastSeq) {
      return Long.MIN_VALUE;
    }
    return db.read("age in " + name, c -> {
      PreparedStatement ps = db.prepare(Sql.ageOf(id));
      ps.setLong(1, seq);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? rs.getLong(1) : Long.MIN_VALUE;
      }
    });
  }

  @Override
  public List<Long> deletedSeqs(int limit) throws StoreException {
    ready();
    List<Long> out = new ArrayList<>();
    if (msgs == 0 || lastSeq - firstSeq + 1 == msgs || limit <= 0) {
      return out;
    }
    return db.read("gaps of " + name, c -> {
      long expect = firstSeq;
      PreparedStatement ps = db.prepare(Sql.seqsFrom(id));
      ps.setLong(1, firstSeq);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next() && out.size() < limit) {
          long seq = rs.getLong(1);
          for (; expect < seq && out.size() < limit; expect++) {
            out.add(expect);
          }
          expect = seq + 1;
        }
      }
      for (; expect <= lastSeq && out.size() < limit; expect++) {
        out.add(expect);
      }
      return out;
    });
  }
}
