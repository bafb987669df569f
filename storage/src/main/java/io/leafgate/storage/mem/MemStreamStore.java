package io.leafgate.storage.mem;

import io.leafgate.leaf.subject.Subjects;
import io.leafgate.storage.api.StoreException;
import io.leafgate.storage.api.StoredMessage;
import io.leafgate.storage.api.StreamState;
import io.leafgate.storage.api.StreamStore;
import io.leafgate.storage.api.SubjectState;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * A stream whose messages live in memory: the reference implementation of {@link StreamStore} for
 * tests and the store of {@code storage: memory} streams. Messages are kept in sequence order with
 * a per-subject index of sequences, so per-subject counts, first and last are exact and cheap.
 *
 * <p>Confined to the engine thread like every {@link StreamStore}; no locking.
 */
public final class MemStreamStore implements StreamStore {
  /** Above this many matching subjects, filtered reads walk the messages instead of the subject index. */
  private static final int SUBJECT_WALK_LIMIT = 32;

  private record Entry(StoredMessage msg, long age, String msgId) {}

  private final String name;
  private final TreeMap<Long, Entry> msgs = new TreeMap<>();
  private final HashMap<String, TreeSet<Long>> bySubject = new HashMap<>();
  private long bytes;
  private long lastSeq;
  private long lastTs;
  private boolean closed;

  public MemStreamStore(String name) {
    this.name = name;
  }

  @Override
  public String name() {
    return name;
  }

  /** Marks the store unusable (its stream was deleted); later calls throw {@link StoreException.Kind#CLOSED}. */
  void close() {
    closed = true;
  }

  private void checkOpen() throws StoreException {
    if (closed) {
      throw new StoreException(StoreException.Kind.CLOSED, "stream " + name + " is closed");
    }
  }

  @Override
  public StreamState state() {
    if (msgs.isEmpty()) {
      // Like nats-server, the time of the last message stored is kept after it went (0 if none ever).
      return new StreamState(0, 0, lastSeq + 1, 0, lastSeq, lastTs, 0, 0);
    }
    StoredMessage first = msgs.firstEntry().getValue().msg();
    long n = msgs.size();
    return new StreamState(n, bytes, first.seq(), first.timestampNanos(), lastSeq, lastTs, bySubject.size(),
        lastSeq - first.seq() + 1 - n);
  }

  @Override
  public long append(String subject, byte[] headers, byte[] data, long timestampNanos, long ageNanos, String msgId)
      throws StoreException {
    checkOpen();
    long seq = lastSeq + 1;
    StoredMessage m = new StoredMessage(seq, subject, headers, data, timestampNanos);
    msgs.put(seq, new Entry(m, ageNanos, msgId));
    bySubject.computeIfAbsent(subject, s -> new TreeSet<>()).add(seq);
    bytes += m.size();
    lastSeq = seq;
    lastTs = timestampNanos;
    return seq;
  }

  @Override
  public StoredMessage load(long seq) throws StoreException {
    checkOpen();
    Entry e = msgs.get(seq);
    return e == null ? null : e.msg();
  }

  private static boolean all(String filter) {
    return filter == null || filter.equals(">");
  }

  /** The subjects that match a wildcard filter, or null if there are too many to be worth it. */
  private List<TreeSet<Long>> matchingIndexes(String filter, int limit) {
    List<TreeSet<Long>> out = new ArrayList<>();
    for (Map.Entry<String, TreeSet<Long>> e : bySubject.entrySet()) {
      if (Subjects.matches(filter, e.getKey())) {
        if (out.size() == limit) {
          return null;
        }
        out.add(e.getValue());
      }
    }
    return out;
  }

  @Override
  public StoredMessage loadNext(String filter, long fromSeq) throws StoreException {
    checkOpen();
    Long seq = nextSeq(filter, fromSeq);
    return seq == null ? null : msgs.get(seq).msg();
  }

  private Long nextSeq(String filter, long fromSeq) {
    if (all(filter)) {
      return msgs.ceilingKey(fromSeq);
    }
    if (!Subjects.hasWildcard(filter)) {
      TreeSet<Long> seqs = bySubject.get(filter);
      return seqs == null ? null : seqs.ceiling(fromSeq);
    }
    List<TreeSet<Long>> idx = matchingIndexes(filter, SUBJECT_WALK_LIMIT);
    if (idx == null) {
      for (Entry e : msgs.tailMap(fromSeq, true).values()) {
        if (Subjects.matches(filter, e.msg().subject())) {
          return e.msg().seq();
        }
      }
      return null;
    }
    Long best = null;
    for (TreeSet<Long> seqs : idx) {
      Long s = seqs.ceiling(fromSeq);
      if (s != null && (best == null || s < best)) {
        best = s;
      }
    }
    return best;
  }

  @Override
  public List<StoredMessage> loadBatch(String filter, long fromSeq, int max, long maxBytes) throws StoreException {
    checkOpen();
    List<StoredMessage> out = new ArrayList<>();
    long total = 0;
    long from = fromSeq;
    while (out.size() < max) {
      Long seq = nextSeq(filter, from);
      if (seq == null) {
        break;
      }
      StoredMessage m = msgs.get(seq).msg();
      if (maxBytes > 0 && !out.isEmpty() && total + m.size() > maxBytes) {
        break;
      }
      total += m.size();
      out.add(m);
      from = seq + 1;
    }
    return out;
  }

  @Override
  public StoredMessage loadLast(String filter) throws StoreException {
    checkOpen();
    if (all(filter)) {
      return msgs.isEmpty() ? null : msgs.lastEntry().getValue().msg();
    }
    long best = 0;
    for (Map.Entry<String, TreeSet<Long>> e : bySubject.entrySet()) {
      if (Subjects.matches(filter, e.getKey())) {
        best = Math.max(best, e.getValue().last());
      }
    }
    return best == 0 ? null : msgs.get(best).msg();
  }

  @Override
  public long seqAtOrAfterTime(long timestampNanos) throws StoreException {
    checkOpen();
    for (Entry e : msgs.values()) {
      if (e.msg().timestampNanos() >= timestampNanos) {
        return e.msg().seq();
      }
    }
    return lastSeq + 1;
  }

  @Override
  public SubjectState subjectState(String subject) throws StoreException {
    checkOpen();
    TreeSet<Long> seqs = bySubject.get(subject);
    return seqs == null ? SubjectState.EMPTY : new SubjectState(seqs.size(), seqs.first(), seqs.last());
  }

  @Override
  public Map<String, Long> subjectCounts(String filter) {
    Map<String, Long> out = new HashMap<>();
    boolean all = all(filter);
    for (Map.Entry<String, TreeSet<Long>> e : bySubject.entrySet()) {
      if (all || Subjects.matches(filter, e.getKey())) {
        out.put(e.getKey(), (long) e.getValue().size());
      }
    }
    return out;
  }

  @Override
  public long[] lastSeqPerSubject(String filter, long maxSeq) throws StoreException {
    checkOpen();
    boolean all = all(filter);
    long[] out = new long[bySubject.size()];
    int n = 0;
    for (Map.Entry<String, TreeSet<Long>> e : bySubject.entrySet()) {
      if (all || Subjects.matches(filter, e.getKey())) {
        Long last = e.getValue().floor(maxSeq);
        if (last != null) {
          out[n++] = last;
        }
      }
    }
    out = Arrays.copyOf(out, n);
    Arrays.sort(out);
    return out;
  }

  @Override
  public long countMatching(String filter, long fromSeq) throws StoreException {
    checkOpen();
    if (all(filter)) {
      return msgs.isEmpty() || fromSeq <= msgs.firstKey() ? msgs.size() : msgs.tailMap(fromSeq, true).size();
    }
    long n = 0;
    boolean literal = !Subjects.hasWildcard(filter);
    for (Map.Entry<String, TreeSet<Long>> e : bySubject.entrySet()) {
      if (literal ? e.getKey().equals(filter) : Subjects.matches(filter, e.getKey())) {
        TreeSet<Long> seqs = e.getValue();
        n += fromSeq <= seqs.first() ? seqs.size() : seqs.tailSet(fromSeq, true).size();
      }
    }
    return n;
  }

  private void removeEntry(Entry e) {
    StoredMessage m = e.msg();
    msgs.remove(m.seq());
    bytes -= m.size();
    TreeSet<Long> seqs = bySubject.get(m.subject());
    seqs.remove(m.seq());
    if (seqs.isEmpty()) {
      bySubject.remove(m.subject());
    }
  }

  @Override
  public boolean remove(long seq) throws StoreException {
    checkOpen();
    Entry e = msgs.get(seq);
    if (e == null) {
      return false;
    }
    removeEntry(e);
    return true;
  }

  @Override
  public long purge(String filter, long beforeSeq, long keep) throws StoreException {
    checkOpen();
    long n = 0;
    if (all(filter) && beforeSeq <= 0 && keep <= 0) {
      n = msgs.size();
      msgs.clear();
      bySubject.clear();
      bytes = 0;
      return n;
    }
    // Collect the candidates in sequence order, then spare the newest `keep` of them.
    List<Entry> victims = new ArrayList<>();
    NavigableMap<Long, Entry> range = beforeSeq > 0 ? msgs.headMap(beforeSeq, false) : msgs;
    boolean all = all(filter);
    for (Entry e : range.values()) {
      if (all || Subjects.matches(filter, e.msg().subject())) {
        victims.add(e);
      }
    }
    int upTo = victims.size();
    if (keep > 0) {
      upTo = (int) Math.max(0, victims.size() - keep);
    }
    for (int i = 0; i < upTo; i++) {
      removeEntry(victims.get(i));
      n++;
    }
    return n;
  }

  @Override
  public long trim(long maxMsgs, long maxBytes, long minAgeNanos) throws StoreException {
    checkOpen();
    long n = 0;
    Iterator<Entry> it = msgs.values().iterator();
    while (it.hasNext()) {
      Entry e = it.next();
      boolean over = (maxMsgs >= 0 && msgs.size() > maxMsgs) || (maxBytes >= 0 && bytes > maxBytes)
          || (minAgeNanos != Long.MIN_VALUE && e.age() < minAgeNanos);
      if (!over) {
        break;
      }
      it.remove();
      StoredMessage m = e.msg();
      bytes -= m.size();
      TreeSet<Long> seqs = bySubject.get(m.subject());
      seqs.remove(m.seq());
      if (seqs.isEmpty()) {
        bySubject.remove(m.subject());
      }
      n++;
    }
    return n;
  }

  @Override
  public long trimSubject(String subject, long max) throws StoreException {
    checkOpen();
    TreeSet<Long> seqs = bySubject.get(subject);
    long n = 0;
    while (seqs != null && seqs.size() > Math.max(0, max)) {
      removeEntry(msgs.get(seqs.first()));
      n++;
      seqs = bySubject.get(subject);
    }
    return n;
  }

  @Override
  public Map<String, Long> msgIdsSince(long ageNanos) throws StoreException {
    checkOpen();
    List<Entry> found = new ArrayList<>();
    for (Entry e : msgs.descendingMap().values()) {
      if (e.age() < ageNanos) {
        break;
      }
      if (e.msgId() != null) {
        found.add(e);
      }
    }
    Map<String, Long> out = new LinkedHashMap<>();
    for (int i = found.size() - 1; i >= 0; i--) {
      out.put(found.get(i).msgId(), found.get(i).msg().seq());
    }
    return out;
  }

  @Override
  public long ageOf(long seq) throws StoreException {
    checkOpen();
    Entry e = msgs.get(seq);
    return e == null ? Long.MIN_VALUE : e.age();
  }

  @Override
  public List<Long> deletedSeqs(int limit) throws StoreException {
    checkOpen();
    List<Long> out = new ArrayList<>();
    if (msgs.isEmpty()) {
      return out;
    }
    long expect = msgs.firstKey();
    for (Long seq : msgs.keySet()) {
      for (; expect < seq && out.size() < limit; expect++) {
        out.add(expect);
      }
      if (out.size() >= limit) {
        return out;
      }
      expect = seq + 1;
    }
    for (; expect <= lastSeq && out.size() < limit; expect++) {
      out.add(expect);
    }
    return out;
  }
}
