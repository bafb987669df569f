package io.leafgate.storage.sqlite;

import io.leafgate.storage.api.StoreException;
import io.leafgate.storage.api.StoreException.Kind;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.sqlite.SQLiteException;
import org.tinylog.Logger;

/**
 * The one place that opens, tunes and migrates the SQLite file and owns the engine's connection and
 * its transaction (rules S5 and S7). Used only on the engine thread, except {@link #connect} and
 * {@link #classify}, which the sync thread uses for its own connection.
 *
 * <p>The write transaction is opened lazily ({@code BEGIN IMMEDIATE} on the first mutation after a
 * commit) and stays open until {@link #commit} or {@link #rollback}, so every mutation of a group is
 * one SQLite transaction and reads on the same connection see them.
 */
final class SqliteDatabase implements AutoCloseable {
  /** A unit of SQL work on the engine connection. */
  @FunctionalInterface
  interface SqlFunction<T> {
    T apply(Connection c) throws SQLException;
  }

  private static final byte[] HEADER = "SQLite format 3\0".getBytes(StandardCharsets.ISO_8859_1);
  private static final int BUSY_TIMEOUT_MS = 5_000;
  private static final int STATEMENT_CACHE = 256;
  /**
   * Small pages: every commit rewrites each page it touches (the tail data page, one index leaf per
   * subject, page 1, a pointer-map page) into the WAL, so the page size multiplies flash writes. For
   * 128-byte messages, 1 KiB pages wrote 3.2 KB per message committed one at a time over 20 subjects
   * and 640 B per message in commits of 100, against 9.2 KB and 920 B with the default 4 KiB.
   */
  static final int PAGE_SIZE = 1024;
  /** What a restarting WAL is cut back to when it grew beyond it ({@code journal_size_limit}). */
  static final long WAL_SIZE_LIMIT = 8L << 20;

  final Path file;
  final Path wal;
  private final Connection conn;
  private final Statement plain;
  private final LinkedHashMap<String, PreparedStatement> statements =
      new LinkedHashMap<>(64, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, PreparedStatement> eldest) {
          if (size() > STATEMENT_CACHE) {
            closeQuietly(eldest.getValue());
            return true;
          }
          return false;
        }
      };
  private volatile boolean inTxn; // read by the sync thread to spot idle time
  private Thread txnThread;
  /**
   * Set when a mutation or commit failed: SQLite may have rolled the transaction back on its own, and
   * later statements would then run (and commit) one by one, so nothing more is written until
   * {@link #rollback}.
   */
  private StoreException failed;
  private volatile String problem;
  /** A write failed with SQLITE_FULL or an I/O error since {@link #takeNoSpace}; engine thread only. */
  private boolean noSpace;

  private SqliteDatabase(Path file, Connection conn) throws SQLException {
    this.file = file;
    this.wal = file.resolveSibling(file.getFileName() + "-wal");
    this.conn = conn;
    this.plain = conn.createStatement();
  }

  /**
   * Opens (creating if needed) the store file, applies the PRAGMAs and brings the schema up to date.
   * A file that is not an SQLite database, or is another program's database, is reported as
   * {@link Kind#CORRUPT} and left untouched.
   */
  static SqliteDatabase open(Path file) throws StoreException {
    checkHeader(file);
    boolean fresh = !Files.exists(file);
    Connection c;
    try {
      c = connect(file);
    } catch (SQLException e) {
      throw classify("open " + file, e, file);
    }
    SqliteDatabase db = null;
    try {
      db = new SqliteDatabase(file, c);
      db.tune();
      db.migrate();
      if (fresh) {
        fsyncDirectory(file.getParent());
      }
      return db;
    } catch (SQLException e) {
      closeQuietly(c);
      throw classify("open " + file, e, file);
    } catch (StoreException e) {
      closeQuietly(c);
      throw e;
    }
  }

  /** A new connection to the store file with the per-connection settings every connection needs. */
  static Connection connect(Path file) throws SQLException {
    Properties p = new Properties();
    // The driver would otherwise prepare and run "SELECT last_insert_rowid()" after every INSERT,
    // UPDATE and DELETE (for getGeneratedKeys, which the store never calls): a third of the
    // engine thread's native time on the publish path. The one caller that needs a new rowid asks
    // for it in SQL.
    p.setProperty("jdbc.get_generated_keys", "false");
    Connection c = DriverManager.getConnection("jdbc:sqlite:" + file.toAbsolutePath(), p);
    try (Statement st = c.createStatement()) {
      st.execute("PRAGMA busy_timeout = " + BUSY_TIMEOUT_MS);
      st.execute("PRAGMA foreign_keys = ON");
      st.execute("PRAGMA temp_store = MEMORY"); // no temp files on the SD card
    }
    return c;
  }

  private static void checkHeader(Path file) throws StoreException {
    try {
      if (!Files.exists(file) || Files.size(file) == 0) {
        return;
      }
      byte[] head = new byte[HEADER.length];
      int n;
      try (InputStream in = Files.newInputStream(file)) {
        n = in.readNBytes(head, 0, head.length);
      }
      if (n < head.length || !Arrays.equals(head, HEADER)) {
        throw new StoreException(Kind.CORRUPT, "store file " + file
            + " is not an SQLite database (bad header); it was left as it is: move it away to start empty");
      }
    } catch (IOException e) {
      throw new StoreException(Kind.IO, "cannot read store file " + file + ": " + e.getMessage(), e);
    }
  }

  private void tune() throws SQLException, StoreException {
    // page_size and auto_vacuum only take effect before the first table is created (page_size must
    // come first); on an existing file they would be writes, which opening a store on a full disk
    // must not need.
    if (queryLong("PRAGMA page_count") == 0) {
      plain.execute("PRAGMA page_size = " + PAGE_SIZE);
      plain.execute("PRAGMA auto_vacuum = INCREMENTAL");
    }
    String mode;
    try (ResultSet rs = plain.executeQuery("PRAGMA journal_mode = WAL")) {
      mode = rs.next() ? rs.getString(1) : "?";
    }
    if (!"wal".equalsIgnoreCase(mode)) {
      throw new StoreException(Kind.IO, "store file " + file + " cannot use WAL mode (got " + mode + ")");
    }
    plain.execute("PRAGMA synchronous = NORMAL");
    plain.execute("PRAGMA wal_autocheckpoint = 0"); // the sync thread checkpoints
    // The WAL file is reused from its start after each complete checkpoint (SqliteSyncer), so its
    // fsyncs rewrite allocated blocks instead of growing the file; a log that outgrew this limit
    // (a long read or a stalled checkpoint) is cut back to it when it restarts.
    plain.execute("PRAGMA journal_size_limit = " + WAL_SIZE_LIMIT);
    long appId = queryLong("PRAGMA application_id");
    if (appId != 0 && appId != Sql.APPLICATION_ID) {
      throw new StoreException(Kind.CORRUPT, "store file " + file + " belongs to another program (application_id "
          + appId + "); it was left as it is");
    }
  }

  private long queryLong(String sql) throws SQLException {
    try (ResultSet rs = plain.executeQuery(sql)) {
      return rs.next() ? rs.getLong(1) : 0;
    }
  }

  private void migrate() throws SQLException, StoreException {
    int version = 0;
    boolean hasMeta = queryLong("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'") > 0;
    if (hasMeta) {
      try (PreparedStatement ps = conn.prepareStatement(Sql.META_GET)) {
        ps.setString(1, Sql.META_SCHEMA_VERSION);
        try (ResultSet rs = ps.executeQuery()) {
          version = rs.next() ? rs.getInt(1) : 0;
        }
      }
    } else if (queryLong("SELECT count(*) FROM sqlite_master") > 0) {
      throw new StoreException(Kind.CORRUPT, "store file " + file
          + " is an SQLite database but not a leafgate store; it was left as it is");
    }
    if (version > Sql.SCHEMA_VERSION) {
      throw new StoreException(Kind.IO, "store file " + file + " has schema version " + version
          + ", newer than this leafgate understands (" + Sql.SCHEMA_VERSION + ")");
    }
    for (int v = version; v < Sql.SCHEMA_VERSION; v++) {
      plain.execute("BEGIN IMMEDIATE");
      try {
        for (String ddl : Sql.MIGRATIONS.get(v)) {
          plain.execute(ddl);
        }
        if (v == 0) {
          plain.execute("PRAGMA application_id = " + Sql.APPLICATION_ID);
        }
        try (PreparedStatement ps = conn.prepareStatement(Sql.META_PUT)) {
          ps.setString(1, Sql.META_SCHEMA_VERSION);
          ps.setInt(2, v + 1);
          ps.executeUpdate();
        }
        plain.execute("COMMIT");
      } catch (SQLException e) {
        rollbackQuietly();
        throw e;
      }
      Logger.debug("Store {} migrated to schema version {}.", file, v + 1);
    }
  }

  // ---- work on the engine connection ----

  /** Runs a mutation inside the open group transaction, beginning it if needed. */
  <T> T write(String op, SqlFunction<T> fn) throws StoreException {
    checkNotFailed(op);
    try {
      begin();
      return fn.apply(conn);
    } catch (SQLException e) {
      failed = classify(op, e);
      throw failed;
    }
  }

  /** Whether a mutation or commit of the open group failed: nothing more joins it until the rollback. */
  boolean groupFailed() {
    return failed != null;
  }

  void checkNotFailed(String op) throws StoreException {
    if (failed != null) {
      throw new StoreException(failed.kind(), op + " refused: the group failed (" + failed.getMessage()
          + ") and must be rolled back first", failed);
    }
  }

  /** Runs a read on the engine connection (it sees the group's uncommitted mutations). */
  <T> T read(String op, SqlFunction<T> fn) throws StoreException {
    try {
      return fn.apply(conn);
    } catch (SQLException e) {
      throw classify(op, e);
    }
  }

  private void begin() throws SQLException {
    if (inTxn) {
      assert txnThread == Thread.currentThread()
          : "store mutated from " + Thread.currentThread().getName() + " while " + txnThread.getName() + " owns the group";
      return;
    }
    plain.execute("BEGIN IMMEDIATE");
    inTxn = true;
    txnThread = Thread.currentThread();
  }

  /** Whether a group transaction is open (any thread may ask). */
  boolean inTransaction() {
    return inTxn;
  }

  /** A prepared statement from the per-connection cache; callers must not close it. */
  PreparedStatement prepare(String sql) throws SQLException {
    PreparedStatement ps = statements.get(sql);
    if (ps == null) {
      ps = conn.prepareStatement(sql);
      statements.put(sql, ps);
    }
    return ps;
  }

  /** Executes DDL or a one-off statement. */
  void execute(String sql) throws SQLException {
    plain.execute(sql);
  }

  /** Closes and forgets every cached statement that mentions {@code table} (it is being dropped). */
  void forgetStatements(String table) {
    Iterator<Map.Entry<String, PreparedStatement>> it = statements.entrySet().iterator();
    while (it.hasNext()) {
      Map.Entry<String, PreparedStatement> e = it.next();
      if (e.getKey().contains(table)) {
        closeQuietly(e.getValue());
        it.remove();
      }
    }
  }

  /** Commits the group, if one is open. */
  void commit() throws StoreException {
    checkNotFailed("commit");
    if (!inTxn) {
      return;
    }
    try {
      plain.execute("COMMIT");
      inTxn = false;
      txnThread = null;
    } catch (SQLException e) {
      failed = classify("commit", e);
      throw failed;
    }
  }

  /** Rolls back the open group; returns false if SQLite refused (the caller then rebuilds from disk). */
  boolean rollback() {
    boolean had = inTxn;
    inTxn = false;
    txnThread = null;
    failed = null;
    try {
      plain.execute("ROLLBACK");
      return true;
    } catch (SQLException e) {
      // After SQLITE_FULL or an I/O error SQLite may already have rolled back on its own.
      if (e.getMessage() != null && e.getMessage().contains("no transaction is active")) {
        return true;
      }
      if (had) {
        Logger.warn("Rolling back the store transaction failed: {}", e.getMessage());
      }
      return !had;
    }
  }

  private void rollbackQuietly() {
    try {
      plain.execute("ROLLBACK");
    } catch (SQLException ignored) {
      // nothing was open
    }
  }

  /**
   * Copies the whole WAL into the database and empties it, on the engine connection between groups
   * (the engine is the only writer, so this always catches up). Returns whether it completed.
   */
  boolean checkpointTruncate() {
    if (inTxn) {
      return false;
    }
    try (ResultSet rs = plain.executeQuery("PRAGMA wal_checkpoint(TRUNCATE)")) {
      return rs.next() && rs.getInt(1) == 0;
    } catch (SQLException e) {
      Logger.debug("Engine-side checkpoint of {} failed: {}", file, e.getMessage());
      return false;
    }
  }

  /**
   * Copies what the WAL holds into the database, on the engine connection between groups, without
   * waiting for anything: as the only writer, it catches up unless a reader still uses old frames.
   */
  boolean checkpointPassive() {
    if (inTxn) {
      return false;
    }
    try (ResultSet rs = plain.executeQuery("PRAGMA wal_checkpoint(PASSIVE)")) {
      return rs.next() && rs.getInt(1) == 0 && rs.getInt(2) == rs.getInt(3);
    } catch (SQLException e) {
      Logger.debug("Engine-side checkpoint of {} failed: {}", file, e.getMessage());
      return false;
    }
  }

  /** {page_size, page_count, freelist_count}, with one cached statement. */
  long[] pageCounts() throws StoreException {
    return read("page counts", c -> {
      try (ResultSet rs = prepare(Sql.PAGE_COUNTS).executeQuery()) {
        rs.next();
        return new long[] {rs.getLong(1), rs.getLong(2), rs.getLong(3)};
      }
    });
  }

  long pragmaLong(String pragma) throws StoreException {
    return read("PRAGMA " + pragma, c -> queryLong("PRAGMA " + pragma));
  }

  /**
   * Whether a write failed for want of space since the last call (then resets): the store should
   * free what it can before its next write.
   */
  boolean takeNoSpace() {
    boolean was = noSpace;
    noSpace = false;
    return was;
  }

  /** A problem that makes the store unusable (a corrupt file), or null. */
  String problem() {
    return problem;
  }

  void setProblem(String p) {
    if (problem == null) {
      problem = p;
    }
  }

  // ---- errors ----

  /** Maps an SQLite failure on this database to a {@link StoreException}, remembering corruption. */
  StoreException classify(String op, SQLException e) {
    StoreException se = classify(op, e, file);
    if (se.kind() == Kind.NO_SPACE) {
      noSpace = true;
    }
    if (se.kind() == Kind.CORRUPT) {
      setProblem(se.getMessage());
      Logger.error("Store file {} is damaged: {}", file, e.getMessage());
    }
    return se;
  }

  static StoreException classify(String op, SQLException e, Path file) {
    int code = primaryCode(e);
    String what = op + " on " + file + ": " + e.getMessage();
    switch (code) {
      case 13: // SQLITE_FULL
      case 10: // SQLITE_IOERR (a failed write is nearly always a full or failing card)
        return new StoreException(Kind.NO_SPACE, "no space: " + what, e);
      case 11: // SQLITE_CORRUPT
      case 26: // SQLITE_NOTADB
        return new StoreException(Kind.CORRUPT, "store file " + file + " is damaged (" + e.getMessage()
            + "); it was left as it is: move it away to start empty", e);
      default:
        return new StoreException(Kind.IO, what, e);
    }
  }

  static int primaryCode(SQLException e) {
    if (e instanceof SQLiteException se && se.getResultCode() != null) {
      return se.getResultCode().code & 0xff;
    }
    return e.getErrorCode() & 0xff;
  }

  // ---- files ----

  /** Bytes of the database and WAL files. */
  long fileBytes() {
    return sizeOrZero(file) + sizeOrZero(wal);
  }

  static long sizeOrZero(Path p) {
    try {
      return Files.size(p);
    } catch (IOException e) {
      return 0;
    }
  }

  /** Makes a file's directory entry durable (a new file is only safe once its directory is synced). */
  static void fsyncDirectory(Path dir) {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    } catch (IOException e) {
      Logger.debug("Cannot fsync directory {}: {}", dir, e.getMessage());
    }
  }

  static void closeQuietly(AutoCloseable c) {
    try {
      if (c != null) {
        c.close();
      }
    } catch (Exception ignored) {
      // closing is best effort
    }
  }

  /** Runs the given statements, for DDL lists. */
  void executeAll(List<String> sqls) throws SQLException {
    for (String s : sqls) {
      plain.execute(s);
    }
  }

  @Override
  public void close() {
    for (PreparedStatement ps : statements.values()) {
      closeQuietly(ps);
    }
    statements.clear();
    if (inTxn) {
      rollback();
    }
    closeQuietly(plain);
    closeQuietly(conn);
  }
}
