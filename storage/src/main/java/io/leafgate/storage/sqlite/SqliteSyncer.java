package io.leafgate.storage.sqlite;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.tinylog.Logger;

/**
 * The store's sync thread, {@code leafgate-store-sync}: makes commits durable and keeps the WAL
 * small, so the engine thread never waits for the disk.
 *
 * <p>With {@code sync: always}, it fsyncs the WAL file (the engine's COMMIT only wrote it, as
 * {@code synchronous=NORMAL} does in WAL mode) and then runs every {@code onDurable} that was queued
 * before that fsync began: one fsync serves every commit that arrived while the previous one ran
 * (group commit). With {@code sync: interval}, callbacks run as soon as they are queued and the WAL is
 * fsynced every interval.
 *
 * <p>It also checkpoints, on its own connection: once the WAL's log holds
 * {@link #CHECKPOINT_WAL_BYTES} of frames not yet checkpointed, a {@code PASSIVE} checkpoint copies
 * them into the database without any lock the engine needs. The WAL file is then reused, not
 * truncated: the next write transaction after a checkpoint that caught up starts the log again at
 * the beginning of the file, so commits overwrite blocks the file already has, and their fsyncs
 * need no file-system metadata (on ext4 half the time of an fsync that grows the file, and no
 * journal writes on the card). Under steady load the engine commits while the checkpoint runs, so
 * it never catches up here; the engine is then asked ({@link #takeEngineCheckpointRequest}) to run a
 * {@code PASSIVE} checkpoint itself right after its next commit, which copies only what arrived
 * meanwhile and catches up, since the engine is the only writer. The log's length is read from the
 * wal-index header ({@link #walFrameBytes}), since the file's size no longer says it. When the
 * store is idle, after {@link #IDLE_NANOS} without a commit if the log holds at least
 * {@link #IDLE_MIN_WAL_BYTES}, after {@link #LONG_IDLE_NANOS} whatever it holds, a {@code TRUNCATE}
 * checkpoint empties the file. Checkpointing is deliberately rare: each one writes the hot pages
 * (tail, index leaves, page 1) into the database again and costs two fsyncs; a gateway that stores
 * one message every few seconds must not checkpoint after each.
 */
final class SqliteSyncer implements AutoCloseable {
  static final String THREAD_NAME = "leafgate-store-sync";
  static final long CHECKPOINT_WAL_BYTES = 4L << 20;
  static final long IDLE_NANOS = TimeUnit.SECONDS.toNanos(10);
  static final long IDLE_MIN_WAL_BYTES = 256L << 10;
  static final long LONG_IDLE_NANOS = TimeUnit.MINUTES.toNanos(10);
  private static final long TICK_MILLIS = 500;

  private final Path dbFile;
  private final Path walFile;
  private final boolean always;
  private final long intervalNanos;
  private final BooleanSupplier engineInTransaction;
  private final Thread thread;

  private final Object lock = new Object();
  private ArrayList<Runnable> queued = new ArrayList<>();
  private long writeCommits; // commits that wrote something, guarded by lock
  private long durableCommits; // of those, the ones fsynced (sync: always), guarded by lock
  private volatile Runnable syncDone;
  private long lastCommitNanos = System.nanoTime(); // guarded by lock
  private boolean stopping; // guarded by lock

  // Sync thread only.
  private long syncedCommits;
  private long lastFsyncNanos = System.nanoTime();
  private FileChannel wal;
  private Connection checkpointConn;
  private boolean truncatedSinceCommit = true;
  /** WAL size right after our last checkpoint: what is above it has not been copied yet. */
  private long checkpointedWalBytes;
  private long lastCheckpointWarn;
  private volatile String problem;
  private volatile long fsyncs;
  private volatile long checkpoints;
  private volatile long rounds;
  private volatile boolean engineCheckpointWanted;
  /** The last checkpoint here did not catch up: the engine is asked to finish it (sync thread). */
  private boolean restartWanted;
  private long lastRestartRequest;
  /** How often the engine is asked again while a restart is still wanted (readers may hold the log). */
  private static final long RESTART_REQUEST_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
  /** Idle thresholds (tests shorten them). */
  volatile long idleNanos = IDLE_NANOS;
  volatile long idleMinWalBytes = IDLE_MIN_WAL_BYTES;
  volatile long longIdleNanos = LONG_IDLE_NANOS;

  SqliteSyncer(Path dbFile, Path walFile, boolean always, long intervalNanos, BooleanSupplier engineInTransaction) {
    this.dbFile = dbFile;
    this.walFile = walFile;
    this.always = always;
    this.intervalNanos = intervalNanos;
    this.engineInTransaction = engineInTransaction;
    this.thread = new Thread(this::run, THREAD_NAME);
    this.thread.setDaemon(true);
    this.thread.start();
  }

  /**
   * Called on the engine thread after a COMMIT: queues {@code onDurable} (may be null) behind the
   * next fsync, or runs it at once with {@code sync: interval}.
   *
   * @param wrote whether the commit wrote anything (an empty group needs no fsync of its own)
   */
  void committed(Runnable onDurable, boolean wrote) {
    synchronized (lock) {
      if (wrote) {
        writeCommits++;
        lastCommitNanos = System.nanoTime();
      }
      if (onDurable != null) {
        queued.add(onDurable);
      }
      lock.notifyAll();
    }
  }

  /**
   * With {@code sync: always}, whether a commit that wrote is not yet fsynced (its fsync may be
   * running). False after a failed fsync: nothing will become durable again, so there is no sync
   * worth waiting for.
   */
  boolean syncInFlight() {
    if (!always || problem != null) {
      return false;
    }
    synchronized (lock) {
      return writeCommits > durableCommits;
    }
  }

  /** Sets what runs on this thread after each fsync of {@code sync: always} (one listener). */
  void onSyncDone(Runnable r) {
    syncDone = r;
  }

  /** A sticky failure (a failed fsync: what the kernel dropped cannot be trusted again), or null. */
  String problem() {
    return problem;
  }

  /** Whether the engine should finish a checkpoint after its commit (ours could not catch up); resets. */
  boolean takeEngineCheckpointRequest() {
    if (engineCheckpointWanted) {
      engineCheckpointWanted = false;
      return true;
    }
    return false;
  }

  /** How many checkpoints ran (for tests and metrics). */
  long checkpointCount() {
    return checkpoints;
  }

  /** How many times the loop went round (tests wait for rounds instead of sleeping). */
  long roundCount() {
    return rounds;
  }

  /** How many times the WAL was fsynced (for tests and metrics). */
  long fsyncCount() {
    return fsyncs;
  }

  private void run() {
    try {
      loop();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      SqliteDatabase.closeQuietly(wal);
      SqliteDatabase.closeQuietly(walIndex);
      SqliteDatabase.closeQuietly(checkpointConn);
    }
  }

  private void loop() throws InterruptedException {
    while (true) {
      List<Runnable> batch;
      long commits;
      boolean stop;
      long sinceCommit;
      synchronized (lock) {
        if (queued.isEmpty() && !stopping) {
          lock.wait(TICK_MILLIS);
        }
        batch = queued;
        queued = new ArrayList<>();
        commits = writeCommits;
        stop = stopping;
        sinceCommit = System.nanoTime() - lastCommitNanos;
      }
      boolean unsynced = commits > syncedCommits;
      if (unsynced) {
        truncatedSinceCommit = false;
      }
      boolean durable = true;
      boolean synced = false;
      if (always) {
        if (unsynced && (!batch.isEmpty() || stop || System.nanoTime() - lastFsyncNanos >= intervalNanos)) {
          durable = fsync(commits);
          synced = durable;
          if (durable) {
            synchronized (lock) {
              durableCommits = Math.max(durableCommits, commits);
            }
          }
        }
      } else if (unsynced && (stop || System.nanoTime() - lastFsyncNanos >= intervalNanos)) {
        fsync(commits);
      }
      if (!always || (durable && problem == null)) {
        runAll(batch);
      } else if (!batch.isEmpty()) {
        Logger.error("{} commit acknowledgements withheld: the store could not make them durable ({}).",
            batch.size(), problem);
      }
      Runnable done = syncDone;
      if ((synced || problem != null) && done != null) {
        try {
          done.run();
        } catch (RuntimeException e) {
          Logger.error(e, "The sync listener failed.");
        }
      }
      if (stop) {
        return;
      }
      checkpointIfDue(sinceCommit);
      rounds++;
    }
  }

  private static void runAll(List<Runnable> batch) {
    for (Runnable r : batch) {
      try {
        r.run();
      } catch (RuntimeException e) {
        Logger.error(e, "An onDurable callback failed.");
      }
    }
  }

  /** Fsyncs the WAL; returns whether the commits up to {@code commits} are durable. */
  private boolean fsync(long commits) {
    try {
      FileChannel ch = walChannel();
      if (ch != null) {
        ch.force(false);
      }
      syncedCommits = commits;
      lastFsyncNanos = System.nanoTime();
      fsyncs++;
      return true;
    } catch (IOException e) {
      if (problem == null) {
        problem = "fsync of " + walFile + " failed: " + e.getMessage();
        Logger.error("Fsync of {} failed; commits are no longer acknowledged: {}", walFile, e.getMessage());
      }
      return false;
    }
  }

  private FileChannel walChannel() throws IOException {
    if (wal == null) {
      try {
        wal = FileChannel.open(walFile, StandardOpenOption.READ);
      } catch (NoSuchFileException e) {
        return null; // nothing was ever written to it
      }
      // The WAL may be new: its directory entry must be durable too.
      SqliteDatabase.fsyncDirectory(walFile.getParent());
    }
    return wal;
  }

  private void checkpointIfDue(long sinceCommit) {
    long walBytes = walFrameBytes();
    try {
      if (walBytes < checkpointedWalBytes) {
        checkpointedWalBytes = 0; // the log restarted (or was truncated)
        restartWanted = false;
      }
      // Only every CHECKPOINT_WAL_BYTES of new frames: each checkpoint copies the hot pages again and
      // fsyncs the database, so checkpointing after every commit would multiply flash writes.
      if (walBytes - checkpointedWalBytes > CHECKPOINT_WAL_BYTES) {
        // A writer restarts the log only if its transaction began after a checkpoint that caught up
        // (SQLite's walRestartLog); under steady load the engine's next transaction has begun, or
        // commits, while ours runs. So the engine finishes the copy itself, between two of its
        // transactions: only what arrived meanwhile is left.
        checkpoint("PASSIVE");
        restartWanted = true;
        checkpointedWalBytes = walBytes;
        lastRestartRequest = 0;
      }
      long now = System.nanoTime();
      if (restartWanted && sinceCommit <= idleNanos) {
        if (now - lastRestartRequest > RESTART_REQUEST_NANOS) {
          engineCheckpointWanted = true;
          lastRestartRequest = now;
        }
        return;
      }
      // Idle (a load that stopped included: the engine has no next commit to restart the log in).
      if (walBytes > 0 && !truncatedSinceCommit && !engineInTransaction.getAsBoolean()
          && ((sinceCommit > idleNanos && walBytes >= idleMinWalBytes) || sinceCommit > longIdleNanos)) {
        if (checkpoint("PASSIVE") && checkpoint("TRUNCATE")) {
          truncatedSinceCommit = true;
          checkpointedWalBytes = 0;
          restartWanted = false;
        }
      }
    } catch (SQLException e) {
      long now = System.nanoTime();
      if (now - lastCheckpointWarn > TimeUnit.MINUTES.toNanos(1)) {
        lastCheckpointWarn = now;
        Logger.warn("Checkpoint of {} failed (will retry): {}", dbFile, e.getMessage());
      }
      SqliteDatabase.closeQuietly(checkpointConn);
      checkpointConn = null;
    }
  }

  private FileChannel walIndex;
  private final java.nio.ByteBuffer walIndexHeader =
      java.nio.ByteBuffer.allocate(20).order(java.nio.ByteOrder.nativeOrder());

  /**
   * The bytes of frames in the WAL's current log (from its start, which moves back to the beginning
   * of the file when a writer restarts the log after a complete checkpoint). Read from the
   * wal-index header at the start of the -shm file ({@code szPage}, a native-order u16 at offset 14,
   * and {@code mxFrame}, a u32 at 16; see the SQLite file format), because the file's size no longer
   * says it: the file is reused, not truncated. Falls back to the file's size when the index cannot
   * be read.
   */
  private long walFrameBytes() {
    try {
      if (walIndex == null) {
        walIndex = FileChannel.open(walFile.resolveSibling(walFile.getFileName().toString().replaceFirst("-wal$", "-shm")),
            StandardOpenOption.READ);
      }
      walIndexHeader.clear();
      if (walIndex.read(walIndexHeader, 0) < 20) {
        return SqliteDatabase.sizeOrZero(walFile);
      }
      long frames = walIndexHeader.getInt(16) & 0xffffffffL;
      int pageSize = walIndexHeader.getShort(14) & 0xffff;
      return frames * (24 + (pageSize == 1 ? 65536 : pageSize));
    } catch (IOException e) {
      return SqliteDatabase.sizeOrZero(walFile);
    }
  }

  /** Runs one checkpoint; returns whether it completed (copied the whole WAL). */
  private boolean checkpoint(String mode) throws SQLException {
    if (checkpointConn == null) {
      checkpointConn = SqliteDatabase.connect(dbFile);
      try (Statement st = checkpointConn.createStatement()) {
        st.execute("PRAGMA busy_timeout = 0"); // never wait for the engine: try again later
        st.execute("PRAGMA synchronous = NORMAL"); // checkpoints fsync the WAL and the database
        st.execute("PRAGMA wal_autocheckpoint = 0");
      }
    }
    checkpoints++;
    try (Statement st = checkpointConn.createStatement();
        ResultSet rs = st.executeQuery("PRAGMA wal_checkpoint(" + mode + ")")) {
      if (!rs.next()) {
        return false;
      }
      int busy = rs.getInt(1);
      int log = rs.getInt(2);
      int done = rs.getInt(3);
      return busy == 0 && log == done;
    }
  }

  /** Runs the last fsync and callbacks, then stops the thread. */
  @Override
  public void close() {
    synchronized (lock) {
      stopping = true;
      lock.notifyAll();
    }
    try {
      thread.join(TimeUnit.SECONDS.toMillis(30));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
