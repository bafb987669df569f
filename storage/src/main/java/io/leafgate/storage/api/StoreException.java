package io.leafgate.storage.api;

/**
 * A storage failure. {@link #kind()} says what the engine should answer: a full disk maps to
 * nats-server's "insufficient resources", a corrupt file is reported and never silently deleted.
 */
public final class StoreException extends Exception {
  /** What went wrong, as far as a caller needs to know. */
  public enum Kind {
    /**
     * A write failed for want of space (a full disk); the group must be rolled back. Retry once
     * space returns.
     */
    NO_SPACE,
    /**
     * An append was refused before anything was written: the store reached max_file_store or the
     * free space it leaves on the disk. The group stays good. Retry once space returns.
     */
    NO_ROOM,
    /** The store file is damaged or not a leafgate store. */
    CORRUPT,
    /** The store is closed. */
    CLOSED,
    /** Any other I/O or SQL failure. */
    IO
  }

  private final Kind kind;

  public StoreException(Kind kind, String message, Throwable cause) {
    super(message, cause);
    this.kind = kind;
  }

  public StoreException(Kind kind, String message) {
    this(kind, message, null);
  }

  public Kind kind() {
    return kind;
  }
}
