package io.leafgate.storage.sqlite;

import java.util.List;

/**
 * The SQL of the SQLite store, beside it (rule S5). Per-stream statements name the stream's own
 * tables, {@code msgs_<id>} and {@code subjects_<id>}, where {@code id} is {@code streams.id}.
 */
final class Sql {
  private Sql() {}

  /** Identifies our files ('LFGT'); any other non-zero application_id means "not a leafgate store". */
  static final int APPLICATION_ID = 0x4C464754;

  /**
   * Ordered schema migrations: element {@code i} takes the schema from version {@code i} to
   * {@code i + 1}. Never edit a released element; append a new one.
   */
  static final List<List<String>> MIGRATIONS = List.of(
      List.of(
          "CREATE TABLE meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID",
          "CREATE TABLE streams(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, config TEXT NOT NULL,"
              + " created_ns INTEGER NOT NULL, epoch TEXT NOT NULL, memory INTEGER NOT NULL,"
              + " last_seq INTEGER NOT NULL DEFAULT 0, last_ts INTEGER NOT NULL DEFAULT 0)",
          "CREATE TABLE consumers(stream_id INTEGER NOT NULL REFERENCES streams(id) ON DELETE CASCADE,"
              + " name TEXT NOT NULL, config TEXT NOT NULL, created_ns INTEGER NOT NULL,"
              + " delivered_dseq INTEGER NOT NULL, delivered_sseq INTEGER NOT NULL,"
              + " floor_dseq INTEGER NOT NULL, floor_sseq INTEGER NOT NULL, acked_above BLOB,"
              + " PRIMARY KEY(stream_id, name)) WITHOUT ROWID"),
      // 1 -> 2: delivery counts of unacknowledged messages delivered more than once (RedeliveredCodec),
      // so that a restart neither resets them nor lets max_deliver start over. NULL: none.
      List.of("ALTER TABLE consumers ADD COLUMN redelivered BLOB"),
      // 2 -> 3: where a last_per_subject consumer's first phase ends (ConsumerState.initialEnd), so
      // that a restart owes and delivers only the last message of each subject up to it. NULL: none.
      List.of("ALTER TABLE consumers ADD COLUMN initial_end INTEGER"),
      // 3 -> 4: meta may hold ghosts_<stream id>, the floor below which a stream's table keeps rows
      // of removed messages (SqliteStreamStore). Nothing to convert (a version-3 store has none); the
      // version makes an older leafgate refuse the file rather than read those rows as messages.
      List.of("DELETE FROM meta WHERE substr(key, 1, 7) = 'ghosts_'"));

  static final int SCHEMA_VERSION = MIGRATIONS.size();

  // ---- meta ----
  static final String META_GET = "SELECT value FROM meta WHERE key = ?";
  static final String META_PUT = "INSERT INTO meta(key, value) VALUES(?, ?)"
      + " ON CONFLICT(key) DO UPDATE SET value = excluded.value";
  static final String META_DELETE = "DELETE FROM meta WHERE key = ?";
  static final String META_SCHEMA_VERSION = "schema_version";
  static final String META_AGE_READING = "age_reading";
  static final String META_AGE_WALL = "age_wall";

  /** Page size, pages and free pages in one statement (the store's size after each commit). */
  static final String PAGE_COUNTS =
      "SELECT * FROM pragma_page_size(), pragma_page_count(), pragma_freelist_count()";

  // ---- streams ----
  static final String STREAMS_ALL =
      "SELECT id, name, config, created_ns, epoch, memory, last_seq, last_ts FROM streams ORDER BY id";
  static final String STREAM_INSERT =
      "INSERT INTO streams(name, config, created_ns, epoch, memory) VALUES(?, ?, ?, ?, ?)";
  static final String STREAM_ID = "SELECT id FROM streams WHERE name = ?";
  static final String STREAM_UPDATE_CONFIG = "UPDATE streams SET config = ? WHERE id = ?";
  static final String STREAM_DELETE = "DELETE FROM streams WHERE id = ?";
  static final String STREAM_SET_TAIL = "UPDATE streams SET last_seq = ?, last_ts = ? WHERE id = ?";

  // ---- consumers ----
  static final String CONSUMERS_OF = "SELECT name, config, created_ns, delivered_dseq, delivered_sseq, floor_dseq,"
      + " floor_sseq, acked_above, redelivered, initial_end FROM consumers WHERE stream_id = ? ORDER BY name";
  static final String CONSUMER_NAMES = "SELECT stream_id, name FROM consumers";
  static final String CONSUMER_UPSERT = "INSERT INTO consumers(stream_id, name, config, created_ns, delivered_dseq,"
      + " delivered_sseq, floor_dseq, floor_sseq, acked_above, redelivered, initial_end)"
      + " VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
      + " ON CONFLICT(stream_id, name) DO UPDATE SET config = excluded.config, created_ns = excluded.created_ns,"
      + " delivered_dseq = excluded.delivered_dseq, delivered_sseq = excluded.delivered_sseq,"
      + " floor_dseq = excluded.floor_dseq, floor_sseq = excluded.floor_sseq, acked_above = excluded.acked_above,"
      + " redelivered = excluded.redelivered, initial_end = excluded.initial_end";
  static final String CONSUMER_UPDATE_STATE = "UPDATE consumers SET delivered_dseq = ?, delivered_sseq = ?,"
      + " floor_dseq = ?, floor_sseq = ?, acked_above = ?, redelivered = ?, initial_end = ?"
      + " WHERE stream_id = ? AND name = ?";
  static final String CONSUMER_DELETE = "DELETE FROM consumers WHERE stream_id = ? AND name = ?";

  // ---- per stream ----
  static String msgs(long id) {
    return "msgs_" + id;
  }

  static String subjects(long id) {
    return "subjects_" + id;
  }

  static List<String> createStreamTables(long id) {
    return List.of(
        "CREATE TABLE " + msgs(id) + "(seq INTEGER PRIMARY KEY, subj_id INTEGER NOT NULL, ts INTEGER NOT NULL,"
            + " age INTEGER NOT NULL, msg_id TEXT, hdr BLOB, data BLOB NOT NULL)",
        "CREATE INDEX " + msgs(id) + "_subj ON " + msgs(id) + "(subj_id, seq)",
        "CREATE TABLE " + subjects(id) + "(id INTEGER PRIMARY KEY, subject BLOB NOT NULL)");
  }

  static List<String> dropStreamTables(long id) {
    return List.of("DROP TABLE IF EXISTS " + msgs(id), "DROP TABLE IF EXISTS " + subjects(id));
  }

  /** The stored size of a row's header and payload (length() of a blob does not read the blob). */
  static final String LEN = "(ifnull(length(hdr), 0) + length(data))";

  /** An INSERT of {@code rows} messages in one statement (seven parameters each). */
  static String insertMsgs(long id, int rows) {
    StringBuilder sb = new StringBuilder("INSERT INTO ").append(msgs(id))
        .append("(seq, subj_id, ts, age, msg_id, hdr, data) VALUES");
    for (int i = 0; i < rows; i++) {
      sb.append(i == 0 ? "" : ",").append("(?, ?, ?, ?, ?, ?, ?)");
    }
    return sb.toString();
  }

  static String insertSubject(long id) {
    return "INSERT INTO " + subjects(id) + "(id, subject) VALUES(?, ?)";
  }

  static String deleteSubject(long id) {
    return "DELETE FROM " + subjects(id) + " WHERE id = ?";
  }

  static String allSubjects(long id) {
    return "SELECT id, subject FROM " + subjects(id);
  }

  /**
   * The meta key of a stream's removed prefix still in its table ({@code SqliteStreamStore}'s
   * "ghosts"): "first,end,rows,bytes".
   */
  static String metaGhosts(long id) {
    return "ghosts_" + id;
  }

  /** Per-subject count, first and last from a sequence on: a walk of the (subj_id, seq) index alone, in C. */
  static String subjectTotals(long id) {
    return "SELECT subj_id, count(*), min(seq), max(seq) FROM " + msgs(id) + " WHERE seq >= ? GROUP BY subj_id";
  }

  /** Stored header and payload bytes from a sequence on: one pass over the table, in C. */
  static String storedBytes(long id) {
    return "SELECT sum" + LEN + " FROM " + msgs(id) + " WHERE seq >= ?";
  }

  static String loadBySeq(long id) {
    return "SELECT seq, subj_id, ts, hdr, data FROM " + msgs(id) + " WHERE seq = ?";
  }

  /** Whole rows from a sequence on, as they were inserted (to copy them back after emptying the table). */
  static String rowsFrom(long id) {
    return "SELECT seq, subj_id, ts, age, msg_id, hdr, data FROM " + msgs(id) + " WHERE seq >= ? ORDER BY seq";
  }

  static String loadFrom(long id) {
    return "SELECT seq, subj_id, ts, hdr, data FROM " + msgs(id) + " WHERE seq >= ? ORDER BY seq LIMIT ?";
  }

  static String loadSubjectFrom(long id) {
    return "SELECT seq, subj_id, ts, hdr, data FROM " + msgs(id)
        + " WHERE subj_id = ? AND seq >= ? ORDER BY seq LIMIT ?";
  }

  static String seqsFrom(long id) {
    return "SELECT seq, subj_id FROM " + msgs(id) + " WHERE seq >= ? ORDER BY seq";
  }

  static String firstSeqTs(long id) {
    return "SELECT seq, ts, age, subj_id FROM " + msgs(id) + " WHERE seq >= ? ORDER BY seq LIMIT 1";
  }

  static String subjectNextSeq(long id) {
    return "SELECT seq FROM " + msgs(id) + " WHERE subj_id = ? AND seq >= ? ORDER BY seq LIMIT 1";
  }

  static String subjectPrevSeq(long id) {
    return "SELECT seq FROM " + msgs(id) + " WHERE subj_id = ? AND seq <= ? ORDER BY seq DESC LIMIT 1";
  }

  static String countFrom(long id) {
    return "SELECT count(*) FROM " + msgs(id) + " WHERE seq >= ?";
  }

  static String countSubjectFrom(long id) {
    return "SELECT count(*) FROM " + msgs(id) + " WHERE subj_id = ? AND seq >= ?";
  }

  static String trimScan(long id) {
    return "SELECT seq, subj_id, " + LEN + ", age FROM " + msgs(id) + " WHERE seq >= ? ORDER BY seq";
  }

  static String ageOf(long id) {
    return "SELECT age FROM " + msgs(id) + " WHERE seq = ?";
  }

  static String idsNewestFirst(long id) {
    return "SELECT seq, age, msg_id FROM " + msgs(id) + " ORDER BY seq DESC";
  }


  static String lastSeqTs(long id) {
    return "SELECT seq, ts FROM " + msgs(id) + " ORDER BY seq DESC LIMIT 1";
  }

  /** Rows matching a WHERE clause, as removal accounting needs them. */
  static String victims(long id, String where) {
    return "SELECT seq, subj_id, " + LEN + " FROM " + msgs(id) + " WHERE " + where;
  }

  /** The sequence of the (offset+1)-th newest row matching a WHERE clause: the cut-off for "keep N". */
  static String nthNewest(long id, String where) {
    return "SELECT seq FROM " + msgs(id) + " WHERE " + where + " ORDER BY seq DESC LIMIT 1 OFFSET ?";
  }

  /** Deletes one row and returns what removal accounting needs (subject id, stored size). */
  static String deleteOneReturning(long id) {
    return "DELETE FROM " + msgs(id) + " WHERE seq = ? RETURNING subj_id, " + LEN;
  }

  /** Deletes a run of sequences and returns what removal accounting needs for each row that went. */
  static String deleteRangeReturning(long id) {
    return "DELETE FROM " + msgs(id) + " WHERE seq BETWEEN ? AND ? RETURNING seq, subj_id, " + LEN;
  }

  static String deleteWhere(long id, String where) {
    return "DELETE FROM " + msgs(id) + " WHERE " + where;
  }

  static String deleteAll(long id) {
    return "DELETE FROM " + msgs(id);
  }

  static String deleteAllSubjects(long id) {
    return "DELETE FROM " + subjects(id);
  }
}
