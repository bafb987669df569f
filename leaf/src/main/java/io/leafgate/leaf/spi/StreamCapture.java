package io.leafgate.leaf.spi;

import java.util.function.Predicate;

/**
 * Tells protocol adapters whether a subject is captured by a local stream, so that a publisher's
 * acknowledgement (MQTT PUBACK/PUBCOMP) can wait for the stream's commit. The local JetStream
 * installs the predicate; without one nothing is captured. Thread-safe.
 */
public final class StreamCapture {
  private volatile Predicate<String> captures = s -> false;

  /** Installs the predicate (the JetStream engine does, at start-up). */
  public void install(Predicate<String> p) {
    captures = p;
  }

  /** Whether a message published on {@code subject} is stored by a local stream. */
  public boolean captures(String subject) {
    return captures.test(subject);
  }
}
