package io.leafgate.storage.sqlite;

import io.leafgate.storage.api.AgeClock;
import io.leafgate.storage.api.ConsumerRecord;
import io.leafgate.storage.api.ConsumerState;
import io.leafgate.storage.api.JetStreamStore;
import io.leafgate.storage.api.StoreException;
import io.leafgate.storage.api.StoreException.Kind;
import io.leafgate.storage.api.StreamRecord;
import io.leafgate.storage.api.StreamStore;
import io.leafgate.storage.mem.MemStreamStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Types;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.sqlite.SQLiteJDBCLoader;
import org.tinylog.Logger;

/**
 * The local JetStream's persistent store: one SQLite file, {@code <storeDir>/jetstream/leafgate.db},
 * in WAL mode, holding stream and consumer definitions, consumer progress and one message table per
 * file stream. {@code storage: memory} streams keep their definition here and their messages in a
 * {@link MemStreamStore}.
 *
 * <p>Threads: every method is called from the one engine thread, which owns the write connection and
 * a transaction kept open from the first mutation after a commit until the next {@link #commit}.
 * COMMIT only writes the WAL ({@code synchronous=NORMAL}); the {@link SqliteSyncer} thread
 * {@code leafgate-store-sync} then fsyncs it and runs the {@code onDurable} callbacks (group commit),
 * and checkpoints on its own connection. {@link #usedBytes()} and {@link #problem()} may be called
 * from any thread.
 *
 * <p>Failures: a full disk or an I/O error is {@link Kind#NO_SPACE}, a damaged file {@link Kind#CORRUPT}
 * (reported by {@link #problem()}, never deleted). After any failed mutation or commit the engine calls
 * {@link #rollback()}, which discards the group and restores every stream's numbers, after which the
 * store works again once there is room.
 */
public final class SqliteJetStreamStore implements JetStreamStore {
  /** When a commit counts as durable. */
  public enum Sync {
    /** After an fsync of the WAL (group commit): an acknowledged message survives a power cut. */
    ALWAYS,
    /** Right after COMMIT; the WAL is fsynced every {@link Options#syncInterval()}: fewer flash writes. */
    INTERVAL
  }

  /**
   * Store settings.
   *
   * @param sync when commits count as durable
   * @param syncInterval how often the WAL is fsynced in the background (with {@link Sync#INTERVAL},
   *     the most a power cut can lose)
   * @param maxFileStore the most bytes the store may use ({@code jetstream.max_file_store}), or -1
   */
  public record Options(Sync sync, Duration syncInterval, long maxFileStore) {
    public Options {
      Objects.requireNonNull(sync, "sync");
      Objects.requireNonNull(syncInterval, "syncInterval");
    }

    /** {@code sync: always}, a background fsync every second, no size limit. */
    public static Options defaults() {
      return new Options(Sync.ALWAYS, Duration.ofSeconds(1), -1);
    }
  }

  /** Where the store lives below the store dir, and its file name. */
  public static final String SUBDIR = "jetstream";
  public static final String FILE_NAME = "leafgate.db";

  private static final long AGE_PERSIST_NANOS = TimeUnit.SECONDS.toNanos(5);
  /** Free pages are returned to the file system only past this much (they are reused first anyway). */
  private static final long VACUUM_MIN_FREE_BYTES = 8L << 20;
  /** Pages moved per incremental vacuum step (each move is a write: keep it small and rare). */
  private static final long VACUUM_PAGES = 2048;

  /** A stream as the store keeps it. */
  private static final class Entry {
    final long id;
    StreamRecord record;
    StreamStore store;
    long lastSeq;
    long lastTs;

    Entry(long id, StreamRecord record, long lastSeq, long lastTs) {
      this.id = id;
      this.record = record;
      this.lastSeq = lastSeq;
      this.lastTs = lastTs;
    }

    SqliteStreamStore file() {
      return store instanceof SqliteStreamStore s ? s : null;
    }
  }

  private record PendingState(long streamId, String name, ConsumerState state) {}

  private final Path file;
  private final Options options;
  private final SqliteDatabase db;
  private final SqliteSyncer syncer;
  private final LongSupplier wallClock;
  private final SqliteAgeClock ageClock;
  private final DiskFloor floor;

  private final LinkedHashMap<String, Entry> streams = new LinkedHashMap<>();
  private final Set<String> consumerKeys = new HashSet<>();
  private final LinkedHashMap<String, PendingState> pendingStates = new LinkedHashMap<>();
  /** Streams created or deleted in the open group (deleted ones keep their entry for a rollback). */
  private final Map<String, Entry> deletedInGroup = new HashMap<>();
  private final Set<String> createdInGroup = new HashSet<>();

  private volatile long usedMeasured;
  private volatile long pendingBytes;
  private long freeBytes;
  private long lastAgePersist;
  private long lastVacuum;
  /** How often a commit may include an incremental vacuum step (tests shorten it). */
  long vacuumEveryNanos = TimeUnit.SECONDS.toNanos(10);
  private boolean closed;
  /** An append was refused at the disk's floor: truncate the WAL after the next commit. */
  private boolean checkpointAfterCommit;

  /** Opens (creating if needed) the store below {@code storeDir}. */
  public static SqliteJetStreamStore open(Path storeDir, Options options) throws StoreException {
    return new SqliteJetStreamStore(storeDir, options, () -> System.currentTimeMillis() * 1_000_000L);
  }

  /** As {@link #open}, with the wall clock (ns since the epoch) injected, for age-clock tests. */
  SqliteJetStreamStore(Path storeDir, Options options, LongSupplier wallClock) throws StoreException {
    Path dir = storeDir.resolve(SUBDIR);
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new StoreException(Kind.IO, "cannot create store folder " + dir + ": " + e.getMessage(), e);
    }
    loadNativeLibrary(dir);
    this.file = dir.resolve(FILE_NAME);
    this.floor = DiskFloor.of(file);
    this.options = options;
    this.wallClock = wallClock;
    this.db = SqliteDatabase.open(file);
    try {
      this.ageClock = new SqliteAgeClock(restoreAgeReading(), System::nanoTime);
      loadStreams();
      loadConsumerKeys();
      measureUsage();
    } catch (StoreException | RuntimeException e) {
      db.close();
      throw e;
    }
    this.lastAgePersist = System.nanoTime() - AGE_PERSIST_NANOS;
    this.syncer = new SqliteSyncer(file, db.wal, options.sync() == Sync.ALWAYS, options.syncInterval().toNanos(),
        db::inTransaction);
    Logger.debug("Store {} opened with {} streams.", file, streams.size());
  }

  /**
   * Loads the SQLite native library for a store in {@code dir} ahead of {@link #open}, so that a
   * start-up can do it on another core; a failure is left for {@code open} to report.
   */
  public static void preloadNativeLibrary(Path dir) {
    try {
      loadNativeLibrary(dir);
    } catch (StoreException | RuntimeException e) {
      Logger.debug("Preloading the SQLite native library failed ({}); the store open will try again.", e.getMessage());
    }
  }

  /**
   * sqlite-jdbc extracts its native library to {@code java.io.tmpdir} unless {@code org.sqlite.tmpdir}
   * is set; under systemd's PrivateTmp that is awkward, so when unset we point it into the store and
   * load the library at once (while that folder exists).
   */
  private static synchronized void loadNativeLibrary(Path dir) throws StoreException {
    try {
      if (System.getProperty("org.sqlite.tmpdir") == null) {
        Path nat = dir.resolve("native");
        Files.createDirectories(nat);
        System.setProperty("org.sqlite.tmpdir", nat.toString());
        keepExtractedLibrary(nat);
      }
      SQLiteJDBCLoader.initialize();
    } catch (Exception e) {
      throw new StoreException(Kind.IO, "cannot load the SQLite native library: " + e.getMessage(), e);
    }
  }

  /**
   * sqlite-jdbc extracts its library afresh at every start (a megabyte written to the SD card, and
   * a tenth of a second); extract it once per driver version instead and point the driver at it.
   * Anything unexpected leaves the driver to its own way.
   */
  private static void keepExtractedLibrary(Path nat) {
    if (System.getProperty("org.sqlite.lib.path") != null) {
      return;
    }
    try {
      String folder = org.sqlite.util.OSInfo.getNativeLibFolderPathForCurrentOS();
      String libName = System.mapLibraryName("sqlitejdbc");
      String resource = "/org/sqlite/native/" + folder + "/" + libName;
      String version = SQLiteJDBCLoader.getVersion();
      String kept = "libsqlitejdbc-" + version + "-" + folder.replace('/', '_') + ".so";
      Path target = nat.resolve(kept);
      if (!Files.exists(target)) {
        try (java.io.InputStream in = SQLiteJDBCLoader.class.getResourceAsStream(resource)) {
          if (in == null) {
            return;
          }
          Path tmp = nat.resolve(kept + ".tmp");
          Files.copy(in, tmp, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
          Files.move(tmp, target, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        }
      }
      System.setProperty("org.sqlite.lib.path", nat.toString());
      System.setProperty("org.sqlite.lib.name", kept);
    } catch (Exception | LinkageError e) {
      Logger.debug("Keeping the SQLite native library failed ({}); the driver extracts it itself.", e.getMessage());
    }
  }

  // ---- open ----

  private Long metaLong(String key) throws StoreException {
    return db.read("read meta", c -> {
      PreparedStatement ps = db.prepare(Sql.META_GET);
      ps.setString(1, key);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? rs.getLong(1) : null;
      }
    });
  }

  private long restoreAgeReading() throws StoreException {
    long reading = SqliteAgeClock.restore(metaLong(Sql.META_AGE_READING), metaLong(Sql.META_AGE_WALL),
        wallClock.getAsLong());
    return reading;
  }

  private void loadStreams() throws StoreException {
    Map<String, Entry> byName = new LinkedHashMap<>();
    db.read("load streams", c -> {
      try (ResultSet rs = db.prepare(Sql.STREAMS_ALL).executeQuery()) {
        while (rs.next()) {
          StreamRecord r = new StreamRecord(rs.getString(2), rs.getString(3), rs.getLong(4), rs.getString(5),
              rs.getInt(6) != 0);
          byName.put(r.name(), new Entry(rs.getLong(1), r, rs.getLong(7), rs.getLong(8)));
        }
      }
      return null;
    });
    streams.clear();
    streams.putAll(byName);
  }

  private void loadConsumerKeys() throws StoreException {
    consumerKeys.clear();
    db.read("load consumers", c -> {
      try (ResultSet rs = db.prepare(Sql.CONSUMER_NAMES).executeQuery()) {
        while (rs.next()) {
          consumerKeys.add(key(rs.getLong(1), rs.getString(2)));
        }
      }
      return null;
    });
  }

  private static String key(long streamId, String name) {
    return streamId + "\u0000" + name;
  }

  // ---- streams ----

  private void checkOpen() throws StoreException {
    if (closed) {
      throw new StoreException(Kind.CLOSED, "store " + file + " is closed");
    }
  }

  private Entry entry(String name) throws StoreException {
    checkOpen();
    Entry e = streams.get(name);
    if (e == null) {
      throw new StoreException(Kind.IO, "no stream " + name);
    }
    return e;
  }

  /** The streams the store holds (at open: those found in the file), in creation order. */
  @Override
  public List<StreamRecord> streams() {
    List<StreamRecord> out = new ArrayList<>();
    for (Entry e : streams.values()) {
      out.add(e.record);
    }
    return out;
  }

  @Override
  public StreamStore openStream(StreamRecord record) throws StoreException {
    Entry e = entry(record.name());
    if (e.store == null) {
      if (e.record.memory()) {
        e.store = new MemStreamStore(e.record.name());
      } else {
        SqliteStreamStore s = new SqliteStreamStore(db, this::reserve, e.record.name(), e.id);
        s.rebuild(e.lastSeq, e.lastTs);
        e.store = s;
      }
    }
    return e.store;
  }

  @Override
  public StreamStore createStream(StreamRecord record) throws StoreException {
    checkOpen();
    if (streams.containsKey(record.name())) {
      throw new StoreException(Kind.IO, "stream " + record.name() + " already exists");
    }
    long id = write("create stream " + record.name(), () -> {
      PreparedStatement ps = db.prepare(Sql.STREAM_INSERT);
      ps.setString(1, record.name());
      ps.setString(2, record.configJson());
      ps.setLong(3, record.createdNanos());
      ps.setString(4, record.epoch());
      ps.setInt(5, record.memory() ? 1 : 0);
      ps.executeUpdate();
      long newId;
      try (ResultSet rs = db.prepare("SELECT last_insert_rowid()").executeQuery()) {
        rs.next();
        newId = rs.getLong(1);
      }
      if (!record.memory()) {
        db.executeAll(Sql.createStreamTables(newId));
        forgetGhosts(newId); // a reused id must not find an earlier stream's record
      }
      return newId;
    });
    Entry e = new Entry(id, record, 0, 0);
    e.store = record.memory() ? new MemStreamStore(record.name())
        : new SqliteStreamStore(db, this::reserve, record.name(), id);
    streams.put(record.name(), e);
    createdInGroup.add(record.name());
    return e.store;
  }

  @Override
  public void updateStreamConfig(String name, String configJson) throws StoreException {
    Entry e = entry(name);
    write("update stream " + name, () -> {
      PreparedStatement ps = db.prepare(Sql.STREAM_UPDATE_CONFIG);
      ps.setString(1, configJson);
      ps.setLong(2, e.id);
      ps.executeUpdate();
      return null;
    });
    StreamRecord r = e.record;
    e.record = new StreamRecord(r.name(), configJson, r.createdNanos(), r.epoch(), r.memory());
  }

  @Override
  public void deleteStream(String name) throws StoreException {
    Entry e = entry(name);
    write("delete stream " + name, () -> {
      PreparedStatement ps = db.prepare(Sql.STREAM_DELETE);
      ps.setLong(1, e.id);
      ps.executeUpdate();
      if (!e.record.memory()) {
        db.forgetStatements(Sql.msgs(e.id));
        db.forgetStatements(Sql.subjects(e.id));
        db.executeAll(Sql.dropStreamTables(e.id));
        forgetGhosts(e.id);
      }
      return null;
    });
    streams.remove(name);
    if (!createdInGroup.remove(name)) {
      deletedInGroup.putIfAbsent(name, e);
    }
    if (e.file() != null) {
      e.file().close();
    }
    consumerKeys.removeIf(k -> k.startsWith(e.id + "\u0000"));
    pendingStates.values().removeIf(p -> p.streamId() == e.id);
  }

  // ---- consumers ----

  @Override
  public List<ConsumerRecord> consumers(String stream) throws StoreException {
    Entry e = entry(stream);
    return db.read("list consumers of " + stream, c -> {
      List<ConsumerRecord> out = new ArrayList<>();
      PreparedStatement ps = db.prepare(Sql.CONSUMERS_OF);
      ps.setLong(1, e.id);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          String name = rs.getString(1);
          PendingState p = pendingStates.get(key(e.id, name));
          ConsumerState st = p != null ? p.state()
              : new ConsumerState(rs.getLong(4), rs.getLong(5), rs.getLong(6), rs.getLong(7),
                  AckedAboveCodec.decode(rs.getBytes(8)), RedeliveredCodec.decode(rs.getBytes(9)), rs.getLong(10));
          out.add(new ConsumerRecord(stream, name, rs.getString(2), rs.getLong(3), st));
        }
      }
      return out;
    });
  }

  @Override
  public void saveConsumer(ConsumerRecord record) throws StoreException {
    Entry e = entry(record.stream());
    ConsumerState st = record.state() == null ? ConsumerState.INITIAL : record.state();
    write("save consumer " + record.name(), () -> {
      PreparedStatement ps = db.prepare(Sql.CONSUMER_UPSERT);
      ps.setLong(1, e.id);
      ps.setString(2, record.name());
      ps.setString(3, record.configJson());
      ps.setLong(4, record.createdNanos());
      bindState(ps, 5, st);
      ps.executeUpdate();
      return null;
    });
    String k = key(e.id, record.name());
    consumerKeys.add(k);
    pendingStates.remove(k);
  }

  private static void bindState(PreparedStatement ps, int at, ConsumerState st) throws java.sql.SQLException {
    ps.setLong(at, st.deliveredConsumerSeq());
    ps.setLong(at + 1, st.deliveredStreamSeq());
    ps.setLong(at + 2, st.ackFloorConsumerSeq());
    ps.setLong(at + 3, st.ackFloorStreamSeq());
    bindBlob(ps, at + 4, AckedAboveCodec.encode(st.ackedAbove()));
    bindBlob(ps, at + 5, RedeliveredCodec.encode(st.redelivered()));
    if (st.initialEnd() > 0) {
      ps.setLong(at + 6, st.initialEnd());
    } else {
      ps.setNull(at + 6, Types.INTEGER);
    }
  }

  private static void bindBlob(PreparedStatement ps, int at, byte[] b) throws java.sql.SQLException {
    if (b == null) {
      ps.setNull(at, Types.BLOB);
    } else {
      ps.setBytes(at, b);
    }
  }

  @Override
  public void saveConsumerState(String stream, String name, ConsumerState state) throws StoreException {
    Entry e = entry(stream);
    String k = key(e.id, name);
    if (!consumerKeys.contains(k)) {
      throw new StoreException(Kind.IO, "no consumer " + stream + " > " + name);
    }
    // Coalesced: only the latest state of each consumer is written, at the next commit.
    pendingStates.put(k, new PendingState(e.id, name, state));
  }

  @Override
  public void deleteConsumer(String stream, String name) throws StoreException {
    Entry e = entry(stream);
    write("delete consumer " + name, () -> {
      PreparedStatement ps = db.prepare(Sql.CONSUMER_DELETE);
      ps.setLong(1, e.id);
      ps.setString(2, name);
      ps.executeUpdate();
      return null;
    });
    String k = key(e.id, name);
    consumerKeys.remove(k);
    pendingStates.remove(k);
  }

  // ---- groups ----

  @FunctionalInterface
  private interface Work<T> {
    T run() throws java.sql.SQLException;
  }

  private <T> T write(String op, Work<T> w) throws StoreException {
    return db.write(op, c -> w.run());
  }

  private void forgetGhosts(long streamId) throws java.sql.SQLException {
    PreparedStatement ps = db.prepare(Sql.META_DELETE);
    ps.setString(1, Sql.metaGhosts(streamId));
    ps.executeUpdate();
  }

  /**
   * Called by file streams before each append: enforces {@code max_file_store} and the disk's floor
   * ({@link DiskFloor}). A refusal is {@link Kind#NO_ROOM}: nothing was written, the group stays good.
   */
  private void reserve(long bytes) throws StoreException {
    long max = options.maxFileStore();
    boolean overLimit = max >= 0 && usedMeasured + pendingBytes + bytes > max;
    // A write that found the disk full (filled by someone else) makes the next one free what it can too.
    boolean diskFull = db.takeNoSpace() | !floor.fits(bytes, freeBytes, pendingBytes);
    if (overLimit || diskFull) {
      if (freeGhosts()) {
        measureUsage();
      }
      if (max >= 0 && usedMeasured + pendingBytes + bytes > max) {
        throw new StoreException(Kind.NO_ROOM, "max_file_store of " + max + " bytes reached in " + file);
      }
      if (!floor.fits(bytes, freeBytes, pendingBytes) && !(floor.walBytes() > 0 && shrinkWal()
          && floor.fits(bytes, freeBytes, pendingBytes))) {
        // The WAL may hold the room: it is truncated after the commit, if it could not be now.
        checkpointAfterCommit = floor.walBytes() > 0;
        throw new StoreException(Kind.NO_ROOM, String.format(Locale.ROOT,
            "the file system of %s has %.1f MiB free, and the store leaves %.1f MiB to the system",
            file, floor.usable() / 1048576.0, floor.floor / 1048576.0));
      }
    }
    pendingBytes += bytes;
    floor.add(bytes);
  }

  /** Copies the WAL into the database and truncates it, if no transaction is open; reads the free space again. */
  private boolean shrinkWal() {
    if (!db.checkpointTruncate()) {
      return false;
    }
    floor.committed();
    return true;
  }

  /**
   * Deletes the rows of removed messages still in their tables (see SqliteStreamStore's ghosts):
   * their pages become free for new messages. Returns whether there were any.
   */
  private boolean freeGhosts() throws StoreException {
    boolean ghosts = false;
    for (Entry e : streams.values()) {
      ghosts |= e.file() != null && e.file().ghostRows() > 0;
    }
    if (ghosts) {
      // Everything pending goes into the tables first, so the measure that follows counts it.
      for (Entry e : streams.values()) {
        if (e.file() != null && !e.file().isClosed()) {
          e.file().flushRemovals();
          e.file().dropAllGhosts();
        }
      }
    }
    return ghosts;
  }

  @Override
  public void commit(Runnable onDurable) throws StoreException {
    checkOpen();
    for (Entry e : streams.values()) {
      if (e.file() != null) {
        e.file().flushRemovals();
      }
    }
    if (!pendingStates.isEmpty()) {
      write("save consumer state", () -> {
        PreparedStatement ps = db.prepare(Sql.CONSUMER_UPDATE_STATE);
        for (PendingState p : pendingStates.values()) {
          bindState(ps, 1, p.state());
          ps.setLong(8, p.streamId());
          ps.setString(9, p.name());
          ps.executeUpdate();
        }
        return null;
      });
    }
    long now = System.nanoTime();
    if (now - lastAgePersist >= AGE_PERSIST_NANOS) {
      persistAgeClock();
    }
    if (db.inTransaction() && freeBytes > VACUUM_MIN_FREE_BYTES && now - lastVacuum >= vacuumEveryNanos) {
      vacuumSome();
      lastVacuum = now;
    }
    boolean wrote = db.inTransaction();
    db.commit();
    pendingStates.clear();
    createdInGroup.clear();
    deletedInGroup.clear();
    for (Entry e : streams.values()) {
      if (e.file() != null) {
        e.file().markCommitted();
      }
    }
    if (wrote) {
      measureUsage();
    }
    syncer.committed(onDurable, wrote);
    boolean shrink = checkpointAfterCommit;
    checkpointAfterCommit = false;
    if (shrink) {
      // The disk is full up to its floor: give the WAL's room back.
      db.checkpointTruncate();
    } else if (syncer.takeEngineCheckpointRequest()) {
      // The sync thread copied the bulk but could not catch up with our commits: finish it, so the
      // next transaction starts the log again at the beginning of the file.
      db.checkpointPassive();
    }
    if (wrote || shrink) {
      floor.committed();
    }
  }

  private void persistAgeClock() throws StoreException {
    long reading = ageClock.now();
    long wall = wallClock.getAsLong();
    write("persist age clock", () -> {
      PreparedStatement ps = db.prepare(Sql.META_PUT);
      ps.setString(1, Sql.META_AGE_READING);
      ps.setLong(2, reading);
      ps.executeUpdate();
      ps.setString(1, Sql.META_AGE_WALL);
      ps.setLong(2, wall);
      ps.executeUpdate();
      return null;
    });
    lastAgePersist = System.nanoTime();
  }

  /** Returns a bounded number of free pages to the file system (never a full VACUUM: flash wears). */
  private void vacuumSome() throws StoreException {
    long pages = Math.min(VACUUM_PAGES, db.pragmaLong("freelist_count"));
    db.write("incremental vacuum", c -> {
      // The pragma frees one page per step, and the driver steps a statement once per execution;
      // closing the statement afterwards ends the last step before the COMMIT.
      try (java.sql.Statement st = c.createStatement()) {
        for (long i = 0; i < pages; i++) {
          st.execute("PRAGMA incremental_vacuum(1)");
        }
      }
      return null;
    });
  }

  private void measureUsage() {
    try {
      // After every commit that wrote: one cached statement (three PRAGMA statements, each
      // prepared and finalized again, cost more than a small commit's own SQL).
      long[] pf = db.pageCounts();
      long pageSize = pf[0];
      long pages = pf[1];
      long free = pf[2];
      freeBytes = free * pageSize;
      usedMeasured = (pages - free) * pageSize;
      pendingBytes = 0;
    } catch (StoreException e) {
      Logger.debug("Cannot measure {}: {}", file, e.getMessage());
    }
  }

  @Override
  public void rollback() {
    if (closed) {
      return;
    }
    boolean clean = db.rollback();
    for (String name : createdInGroup) {
      Entry e = streams.get(name);
      if (e != null && e.file() != null) {
        e.file().close();
      }
    }
    pendingStates.clear();
    pendingBytes = 0;
    try {
      Map<String, Entry> before = new HashMap<>(streams);
      before.putAll(deletedInGroup);
      loadStreams();
      for (Map.Entry<String, Entry> e : streams.entrySet()) {
        Entry old = before.remove(e.getKey());
        Entry now = e.getValue();
        if (old != null && old.id == now.id) {
          now.store = old.store;
          SqliteStreamStore s = now.file();
          if (s != null) {
            s.reopen();
            if (clean) {
              s.revert();
            } else {
              s.rebuild(now.lastSeq, now.lastTs);
            }
          }
        }
      }
      for (Entry gone : before.values()) {
        if (gone.file() != null) {
          gone.file().close(); // created in the group that was rolled back
        }
      }
      loadConsumerKeys();
    } catch (StoreException e) {
      Logger.error("Reloading {} after a rollback failed: {}", file, e.getMessage());
    }
    createdInGroup.clear();
    deletedInGroup.clear();
    measureUsage();
  }

  // ---- reports ----

  /** Live bytes of the store file (pages in use; free pages are reused first) plus unsaved appends. */
  @Override
  public long usedBytes() {
    return usedMeasured + pendingBytes;
  }

  @Override
  public AgeClock ageClock() {
    return ageClock;
  }

  @Override
  public String problem() {
    String p = db.problem();
    return p != null ? p : syncer.problem();
  }

  /** Bytes of free pages inside the file, as of the last commit. */
  long freeBytes() {
    return freeBytes;
  }

  /** The store file. */
  public Path file() {
    return file;
  }

  @Override
  public boolean syncInFlight() {
    return syncer.syncInFlight();
  }

  @Override
  public void onSyncDone(Runnable r) {
    syncer.onSyncDone(r);
  }

  /** The sync thread (tests adjust its idle thresholds). */
  SqliteSyncer syncer() {
    return syncer;
  }

  /** How many times the WAL was fsynced (metrics; tests check group commit with it). */
  public long fsyncCount() {
    return syncer.fsyncCount();
  }

  /**
   * Closes the store: uncommitted mutations are discarded (as a power cut would), the age clock is
   * saved, the last commits are made durable and their callbacks run.
   */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    if (db.inTransaction()) {
      db.rollback();
    }
    try {
      persistAgeClock();
      db.commit();
      syncer.committed(null, true);
    } catch (StoreException e) {
      db.rollback();
      Logger.warn("Could not save the age clock of {}: {}", file, e.getMessage());
    }
    closed = true;
    syncer.close();
    for (Entry e : streams.values()) {
      if (e.file() != null) {
        e.file().close();
      }
    }
    db.close();
  }
}
