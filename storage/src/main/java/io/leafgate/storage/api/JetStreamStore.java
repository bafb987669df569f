package io.leafgate.storage.api;

import java.util.List;

/**
 * The persistent side of the local JetStream: stream and consumer definitions, consumer progress,
 * and a {@link StreamStore} per stream. Confined to the engine thread, except that the
 * {@code onDurable} callbacks of {@link #commit} run on the store's own sync thread.
 *
 * <p>Durability: every mutation (appends, removals, purges, definitions, consumer state) since the
 * last commit forms one group. {@link #commit} ends the group (cheaply: it need not wait for the
 * disk) and arranges for {@code onDurable} to run once the group would survive a power cut (with
 * {@code sync: always}; with {@code sync: interval}, once it is committed).
 */
public interface JetStreamStore extends AutoCloseable {
  /** The streams found when the store was opened. */
  List<StreamRecord> streams();

  /** Opens the message store of a stream listed by {@link #streams()}. */
  StreamStore openStream(StreamRecord record) throws StoreException;

  /** Creates a stream (memory or file messages; the definition is persisted either way). */
  StreamStore createStream(StreamRecord record) throws StoreException;

  void updateStreamConfig(String name, String configJson) throws StoreException;

  /** Deletes a stream with all its messages and consumers. */
  void deleteStream(String name) throws StoreException;

  /** The durable consumers of a stream, with their committed progress. */
  List<ConsumerRecord> consumers(String stream) throws StoreException;

  /** Creates or replaces a durable consumer's definition. */
  void saveConsumer(ConsumerRecord record) throws StoreException;

  /** Records a durable consumer's progress; writes are coalesced to the latest state per commit. */
  void saveConsumerState(String stream, String name, ConsumerState state) throws StoreException;

  void deleteConsumer(String stream, String name) throws StoreException;

  /**
   * Ends the current group of mutations. {@code onDurable} runs, on another thread, once they are
   * durable. Throws if the group cannot be committed; the caller must then {@link #rollback}.
   */
  void commit(Runnable onDurable) throws StoreException;

  /**
   * Whether an earlier commit is still being made durable: a commit now would only wait for that
   * sync and then need its own. A caller may instead keep adding to the open group and commit once
   * the sync is done ({@link #onSyncDone}); the group then costs one commit instead of several.
   */
  default boolean syncInFlight() {
    return false;
  }

  /** Registers {@code r} to run (on the store's sync thread) each time a sync completes. */
  default void onSyncDone(Runnable r) {}

  /**
   * Discards uncommitted mutations and reverts every open {@link StreamStore} to its last committed
   * state (used after a failed write or commit, e.g. a full disk).
   */
  void rollback();

  /** Bytes the store occupies on disk (for {@code max_file_store} and {@code /jsz}). */
  long usedBytes();

  /** The clock ages are measured with. */
  AgeClock ageClock();

  /** A problem that makes the store unusable (shown by {@code /healthz}), or null. */
  String problem();

  @Override
  void close();
}
