package io.leafgate.storage.api;

import java.util.List;
import java.util.Map;

/**
 * The messages of one stream. Confined to the JetStream engine thread: every method is called from
 * that one thread, so implementations need no locking of their own (the SQLite implementation hands
 * durability to its sync thread, see {@link JetStreamStore#commit}).
 *
 * <p>Mutations take effect in {@link #state()} and in reads at once; they become durable at the next
 * {@link JetStreamStore#commit}. If a commit fails, the whole store reverts to the last committed
 * state ({@link JetStreamStore#rollback}).
 *
 * <p>Filters are NATS subject filters ({@code *} and {@code >} allowed); a null filter or
 * {@code ">"} means every subject.
 */
public interface StreamStore {
  String name();

  /** Current numbers (including uncommitted mutations). */
  StreamState state();

  /**
   * Appends a message with sequence {@code state().lastSeq() + 1} and returns that sequence.
   *
   * @param headers the header block or null
   * @param timestampNanos wall-clock time, ns since the epoch (shown to clients)
   * @param ageNanos the {@link AgeClock} reading at store time (what max_age is measured against)
   * @param msgId the {@code Nats-Msg-Id}, or null; kept so the dedupe window survives a restart
   */
  long append(String subject, byte[] headers, byte[] data, long timestampNanos, long ageNanos, String msgId)
      throws StoreException;

  /** The message with this sequence, or null if there is none. */
  StoredMessage load(long seq) throws StoreException;

  /** The first message with {@code seq >= fromSeq} whose subject matches {@code filter}, or null. */
  StoredMessage loadNext(String filter, long fromSeq) throws StoreException;

  /**
   * Up to {@code max} messages with {@code seq >= fromSeq} matching {@code filter}, in sequence order,
   * stopping early once {@code maxBytes} (if above 0) would be exceeded by the next one (the first is
   * always included).
   */
  List<StoredMessage> loadBatch(String filter, long fromSeq, int max, long maxBytes) throws StoreException;

  /** The message with the highest sequence matching {@code filter}, or null. */
  StoredMessage loadLast(String filter) throws StoreException;

  /** The first sequence whose timestamp is at or after {@code timestampNanos}; lastSeq+1 if none. */
  long seqAtOrAfterTime(long timestampNanos) throws StoreException;

  /** Count, first and last sequence of one literal subject. */
  SubjectState subjectState(String subject) throws StoreException;

  /** Message counts per subject, for subjects matching {@code filter}. */
  Map<String, Long> subjectCounts(String filter);

  /**
   * The last sequence of each subject matching {@code filter}, ascending by sequence (deliver policy
   * last_per_subject).
   */
  default long[] lastSeqPerSubject(String filter) throws StoreException {
    return lastSeqPerSubject(filter, Long.MAX_VALUE);
  }

  /**
   * The last sequence of each subject matching {@code filter} among the messages with
   * {@code seq <= maxSeq}, ascending by sequence (a last_per_subject consumer's first phase, rebuilt
   * after a restart).
   */
  long[] lastSeqPerSubject(String filter, long maxSeq) throws StoreException;

  /** How many messages with {@code seq >= fromSeq} match {@code filter}. */
  long countMatching(String filter, long fromSeq) throws StoreException;

  /** Removes one message; returns whether it existed. */
  boolean remove(long seq) throws StoreException;

  /**
   * Removes one acknowledged message (workqueue and interest retention). A store may defer the
   * removal until the next other call on it or the next commit, whichever comes first, and then
   * remove a run of them in one statement; it then returns true whenever {@code seq} is within the
   * stream's range, whether or not it still existed. The removal is part of the current group
   * either way.
   */
  default boolean removeAcked(long seq) throws StoreException {
    return remove(seq);
  }

  /**
   * Purges messages matching {@code filter}: all of them, or only those below {@code beforeSeq}
   * (when above 0), or all but the newest {@code keep} (when above 0). Returns how many went. A full
   * purge moves firstSeq to lastSeq + 1; sequences are never reused.
   */
  long purge(String filter, long beforeSeq, long keep) throws StoreException;

  /**
   * Removes the oldest messages while the stream is above {@code maxMsgs} or {@code maxBytes} (each
   * ignored when negative), and every message whose age reading is below {@code minAgeNanos} (ignored
   * when {@link Long#MIN_VALUE}). Returns how many went.
   */
  long trim(long maxMsgs, long maxBytes, long minAgeNanos) throws StoreException;

  /** Removes the oldest messages of {@code subject} until it has at most {@code max}. Returns how many went. */
  long trimSubject(String subject, long max) throws StoreException;

  /** The sequences of messages stored since {@code ageNanos} (age clock) that carry a msg id: id to seq, in order. */
  Map<String, Long> msgIdsSince(long ageNanos) throws StoreException;

  /** The age-clock reading of a message, or {@link Long#MIN_VALUE} if it is gone. */
  long ageOf(long seq) throws StoreException;

  /** Up to {@code limit} sequences missing between firstSeq and lastSeq (interior deletes), ascending. */
  List<Long> deletedSeqs(int limit) throws StoreException;
}
