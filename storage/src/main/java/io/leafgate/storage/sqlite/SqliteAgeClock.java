package io.leafgate.storage.sqlite;

import io.leafgate.storage.api.AgeClock;
import java.time.Duration;
import java.util.function.LongSupplier;

/**
 * The persisted {@link AgeClock}: while the process runs it advances with the monotonic clock from
 * the reading restored at open. The reading and the wall-clock time it was taken at are written to
 * {@code meta} by the store (at commits, at most every few seconds, and at close).
 *
 * <p>At open, the time the gateway was off is added only when it can be trusted: the wall time of the
 * last persisted reading looked real (after {@link #PLAUSIBLE_WALL_NANOS}, so not a 1970 boot without
 * an RTC), the wall clock now is after it, and the gap is credited up to {@link #MAX_CREDITED_DOWNTIME}
 * (a clock set years ahead must not expire a backlog). Downtime that cannot be trusted does not count.
 */
final class SqliteAgeClock implements AgeClock {
  /** 2024-01-01T00:00:00Z: no real clock reads earlier than this build. */
  static final long PLAUSIBLE_WALL_NANOS = 1_704_067_200L * 1_000_000_000L;
  /** The longest power-off credited to ages at one start. */
  static final long MAX_CREDITED_DOWNTIME = Duration.ofDays(30).toNanos();

  private final long base;
  private final long origin;
  private final LongSupplier monotonic;

  SqliteAgeClock(long reading, LongSupplier monotonic) {
    this.base = reading;
    this.monotonic = monotonic;
    this.origin = monotonic.getAsLong();
  }

  /**
   * The reading to start from, given the persisted reading and wall time (null for a new store) and
   * the wall clock now.
   */
  static long restore(Long persistedReading, Long persistedWall, long wallNow) {
    if (persistedReading == null) {
      return 0;
    }
    long credit = 0;
    if (persistedWall != null && persistedWall >= PLAUSIBLE_WALL_NANOS && wallNow > persistedWall) {
      credit = Math.min(wallNow - persistedWall, MAX_CREDITED_DOWNTIME);
    }
    return persistedReading + credit;
  }

  @Override
  public long now() {
    return base + (monotonic.getAsLong() - origin);
  }
}
