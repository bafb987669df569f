package io.leafgate.storage.api;

/**
 * The clock that message ages ({@code max_age}) are measured against. It only moves forward, at the
 * rate of the monotonic clock while the gateway runs, and is persisted across restarts. At start-up it
 * adds the time the gateway was off only when the wall clock is plausible (after the last reading it
 * persisted); a gateway that boots with no RTC in 1970, or whose clock NTP then moves by years, can
 * therefore never make a backlog look old. The price is that downtime whose length cannot be trusted
 * does not count towards ages.
 */
public interface AgeClock {
  /** The current reading, in ns. */
  long now();
}
