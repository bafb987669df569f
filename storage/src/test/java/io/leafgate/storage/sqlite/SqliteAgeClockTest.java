package io.leafgate.storage.sqlite;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leafgate.storage.api.StreamRecord;
import io.leafgate.storage.api.StreamStore;
import io.leafgate.storage.sqlite.SqliteJetStreamStore.Options;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The persisted age clock: monotonic across restarts, and deaf to wall clocks that cannot be trusted. */
class SqliteAgeClockTest {
  private static final long SEC = 1_000_000_000L;
  private static final long YEAR = Duration.ofDays(365).toNanos();
  /** 2025-06-01T00:00:00Z. */
  private static final long JUNE_2025 = 1_748_736_000L * SEC;
  /** What the monotonic clock may add while a test runs. */
  private static final long SLACK = 20 * SEC;

  @TempDir Path dir;
  private final AtomicLong wall = new AtomicLong(JUNE_2025);

  private SqliteJetStreamStore open() throws Exception {
    return new SqliteJetStreamStore(dir, Options.defaults(), wall::get);
  }

  /** Opens, reads the clock, closes (which persists it with the current wall time); returns the reading. */
  private long cycle() throws Exception {
    try (SqliteJetStreamStore js = open()) {
      return js.ageClock().now();
    }
  }

  @Test
  void aNewStoreStartsAtZeroAndTheClockOnlyMovesForward() throws Exception {
    try (SqliteJetStreamStore js = open()) {
      long a = js.ageClock().now();
      assertTrue(a >= 0 && a < SLACK, "starts near zero: " + a);
      long prev = a;
      for (int i = 0; i < 1000; i++) {
        long t = js.ageClock().now();
        assertTrue(t >= prev);
        prev = t;
      }
    }
  }

  @Test
  void downtimeMeasuredByAPlausibleWallClockCounts() throws Exception {
    long r1 = cycle();
    wall.addAndGet(3600 * SEC); // off for an hour
    long r2 = cycle();
    assertTrue(r2 >= r1 + 3600 * SEC, "credited the hour: " + r1 + " -> " + r2);
    assertTrue(r2 < r1 + 3600 * SEC + SLACK, "and not more: " + r1 + " -> " + r2);
  }

  @Test
  void theReadingIsPersistedAtCommitsSoACrashKeepsIt() throws Exception {
    SqliteJetStreamStore js = open();
    StreamStore s = js.createStream(new StreamRecord("S", "{}", 1, "e", false));
    s.append("a", null, new byte[1], 1, js.ageClock().now(), null);
    js.commit(null); // the first commit persists the clock
    long atCommit = js.ageClock().now();
    // Simulate a crash: reopen a second store on the same file without closing the first.
    wall.addAndGet(60 * SEC);
    try (SqliteJetStreamStore again = open()) {
      long r = again.ageClock().now();
      assertTrue(r >= atCommit - SLACK + 60 * SEC && r < atCommit + 60 * SEC + SLACK, atCommit + " -> " + r);
      assertTrue(r >= s.ageOf(1), "never behind a stored message's age");
    } finally {
      js.close();
    }
  }

  @Test
  void aWallClockThatJumpsBackAddsNothingAndNeverGoesBackwards() throws Exception {
    long r1 = cycle();
    wall.addAndGet(-2 * YEAR); // RTC lost, NTP not yet synced
    long r2 = cycle();
    assertTrue(r2 >= r1, "monotonic across restarts: " + r1 + " -> " + r2);
    assertTrue(r2 < r1 + SLACK, "no downtime credited: " + r1 + " -> " + r2);
    wall.addAndGet(2 * YEAR + 10 * SEC); // NTP synced while we were off
    long r3 = cycle();
    assertTrue(r3 >= r2 && r3 < r2 + SLACK, "the 1970-style reading at the last close was not trusted: " + r3);
  }

  @Test
  void aBootInNineteenSeventyIsNotTrustedLater() throws Exception {
    wall.set(30 * SEC); // no RTC: 1970-01-01T00:00:30Z
    long r1 = cycle();
    wall.set(JUNE_2025); // NTP then moved the clock by 55 years
    long r2 = cycle();
    assertTrue(r2 >= r1 && r2 < r1 + SLACK, "55 years were not credited: " + r1 + " -> " + r2);
  }

  @Test
  void aClockSetYearsAheadIsCappedSoABacklogDoesNotExpire() throws Exception {
    long r1 = cycle();
    wall.addAndGet(10 * YEAR);
    long r2 = cycle();
    assertTrue(r2 - r1 <= SqliteAgeClock.MAX_CREDITED_DOWNTIME + SLACK, "credit capped: " + (r2 - r1));
    assertTrue(r2 - r1 >= SqliteAgeClock.MAX_CREDITED_DOWNTIME, "but the cap is credited: " + (r2 - r1));
  }

  @Test
  void restoreRules() {
    assertEquals(0, SqliteAgeClock.restore(null, null, JUNE_2025));
    assertEquals(500, SqliteAgeClock.restore(500L, null, JUNE_2025));
    assertEquals(500 + SEC, SqliteAgeClock.restore(500L, JUNE_2025 - SEC, JUNE_2025));
    assertEquals(500, SqliteAgeClock.restore(500L, JUNE_2025 + SEC, JUNE_2025));
    assertEquals(500, SqliteAgeClock.restore(500L, JUNE_2025, JUNE_2025));
    assertEquals(500, SqliteAgeClock.restore(500L, 5 * SEC, JUNE_2025));
  }
}
