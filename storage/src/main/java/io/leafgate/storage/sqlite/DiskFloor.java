package io.leafgate.storage.sqlite;

import org.tinylog.Logger;
import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The free space the store leaves on its file system: {@link #floor} bytes, the lesser of
 * {@link #MAX_FLOOR} and 2% of the file system. New messages are refused above it, so that an SD
 * card filled by a long outage still has room for the system (journald, package updates) and for
 * the store's own small writes: consumer acknowledgements, the removal of what the hub took, a
 * checkpoint. A disk filled to the last byte stops a WAL store altogether, even its deletes.
 *
 * <p>The free space and the WAL's size are read after every commit that wrote (a {@code statvfs}
 * and a {@code stat}: a few microseconds a commit), and again whenever an append would not fit.
 * Between readings, the appends of {@code a} bytes (each counted with {@link #ROW_OVERHEAD} more)
 * may grow the WAL by {@code W = 2a +} {@link #GROUP_SLACK} (a page holds whole rows, so a message
 * a little over half a page takes a page; and a commit rewrites the tail of each index and the
 * stream's row whatever it holds). The checkpoints to come may grow the database by
 * {@code D = wal + max(0, W - free pages)}: all that the WAL held at the reading, and what of the new
 * rows the file's free pages cannot take. An append fits if {@code D} stays above the floor and
 * {@code D + W} above half of it: the WAL may borrow the floor's upper half until a checkpoint
 * truncates it, which is how the pages of removed messages are reused on a full disk. Engine thread
 * only.
 */
final class DiskFloor {
  static final long MAX_FLOOR = 64L << 20;
  static final int ROW_OVERHEAD = 64;
  static final long GROUP_SLACK = 64L << 10;

  private final FileStore fs;
  private final Path dir;
  private final Path wal;
  final long floor;
  /** The WAL's size at the last reading. */
  private long walBytes;
  /** Usable bytes at the last reading. */
  private long usable;
  /** Bytes appended (each with its overhead) since that reading, so not in it. */
  private long appended;

  private DiskFloor(FileStore fs, Path file, long floor) {
    this.fs = fs;
    this.dir = file.getParent();
    this.wal = file.resolveSibling(file.getFileName() + "-wal");
    this.floor = floor;
  }

  /** The floor of the file system holding the store {@code file}; none (always fits) if it cannot be read. */
  static DiskFloor of(Path file) {
    Path dir = file.getParent();
    try {
      FileStore fs = Files.getFileStore(dir);
      long total = fs.getTotalSpace();
      DiskFloor f = new DiskFloor(fs, file, Math.min(MAX_FLOOR, total / 50));
      f.read(0);
      return f;
    } catch (IOException | RuntimeException e) {
      Logger.warn("Cannot read the free space of {} ({}); the store will fill it to the last byte", dir,
          e.getMessage());
      return new DiskFloor(null, file, 0);
    }
  }

  /**
   * Whether {@code bytes} more fit above the floor, with {@code freePages} bytes of free pages in
   * the store file. Reads the free space again before saying no; {@code unwritten} is the bytes the
   * open group appended so far, not yet on disk.
   */
  boolean fits(long bytes, long freePages, long unwritten) {
    if (fs == null) {
      return true;
    }
    long b = bytes + ROW_OVERHEAD;
    if (fits(b, freePages)) {
      return true;
    }
    read(unwritten);
    return fits(b, freePages);
  }

  private boolean fits(long b, long freePages) {
    long w = 2 * (appended + b) + GROUP_SLACK;
    long d = walBytes + Math.max(0, w - freePages);
    return d <= usable - floor && d + w <= usable - floor / 2;
  }

  /** Counts an append of {@code bytes} that fitted. */
  void add(long bytes) {
    appended += bytes + ROW_OVERHEAD;
  }

  /** After a commit that wrote, or a checkpoint: reads again. */
  void committed() {
    if (fs != null) {
      read(0);
    }
  }

  /** The WAL's size at the last reading. */
  long walBytes() {
    return walBytes;
  }

  /** Usable bytes at the last reading. */
  long usable() {
    return usable;
  }

  private void read(long unwritten) {
    try {
      usable = fs.getUsableSpace();
      walBytes = SqliteDatabase.sizeOrZero(wal);
    } catch (IOException | RuntimeException e) {
      Logger.debug("Cannot read the free space of {}: {}", dir, e.getMessage());
    }
    appended = unwritten;
  }
}
