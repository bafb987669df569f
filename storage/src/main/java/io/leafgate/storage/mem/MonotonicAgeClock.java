package io.leafgate.storage.mem;

import io.leafgate.storage.api.AgeClock;

/**
 * An {@link AgeClock} that starts at zero when created and follows {@link System#nanoTime()}. Nothing
 * is persisted, which is right for a store that forgets everything when the process stops.
 */
public final class MonotonicAgeClock implements AgeClock {
  private final long origin = System.nanoTime();

  @Override
  public long now() {
    return System.nanoTime() - origin;
  }
}
