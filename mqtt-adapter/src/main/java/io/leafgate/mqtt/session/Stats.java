package io.leafgate.mqtt.session;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/** Counters of the MQTT adapter, for {@code /varz} and {@code /metrics}. Thread-safe. */
public final class Stats {
  public final AtomicInteger connections = new AtomicInteger();
  public final LongAdder totalConnections = new LongAdder();
  public final LongAdder inMsgs = new LongAdder();
  public final LongAdder inBytes = new LongAdder();
  public final LongAdder outMsgs = new LongAdder();
  public final LongAdder outBytes = new LongAdder();
  /** Deliveries dropped because a connected client's in-memory queue was full. */
  public final LongAdder dropped = new LongAdder();
  /** Times a publisher was asked to pause because a subscriber's in-memory queue was past its high water mark. */
  public final LongAdder publisherPauses = new LongAdder();
  /** MQTT publishers not being read right now because a subscriber (or the local JetStream) is behind. */
  public final AtomicInteger pausedPublishers = new AtomicInteger();
  /** Sessions that held publishers back for the stall bound without taking anything (then dropped instead). */
  public final LongAdder stallTimeouts = new LongAdder();
  /** The most messages any connected session has had in its in-memory queue at once. */
  public final java.util.concurrent.atomic.AtomicLong queuedPeak = new java.util.concurrent.atomic.AtomicLong();
  /** Deliveries a persistent session's stored queue refused (full). */
  public final LongAdder queueFull = new LongAdder();
  /** Deliveries larger than the client's Maximum Packet Size. */
  public final LongAdder tooLarge = new LongAdder();
  /** Deliveries whose Message Expiry Interval ran out before they could be sent. */
  public final LongAdder expired = new LongAdder();
  /** Retained messages refused by the retained-message bounds. */
  public final LongAdder retainedRefused = new LongAdder();
  /** Publishes the store did not commit (the publisher got an error or no acknowledgement). */
  public final LongAdder storeErrors = new LongAdder();
  /** Connections refused at CONNECT (bad credentials, protocol, client id, limits). */
  public final LongAdder refused = new LongAdder();
  /** Connections closed because their TLS handshake failed or timed out. */
  public final LongAdder tlsHandshakeFailures = new LongAdder();
}
