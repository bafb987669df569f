package io.leafgate.bench;

import java.util.List;

/** The servers the bench launches. All run as separate processes on loopback. */
enum ServerKind {
  NATS_SERVER("nats-server"),
  LEAFGATE("leafgate"),
  MOSQUITTO("mosquitto");

  /** The two servers of the NATS load and resource scenarios. */
  static final List<ServerKind> NATS_PAIR = List.of(NATS_SERVER, LEAFGATE);

  private final String label;

  ServerKind(String label) {
    this.label = label;
  }

  /** The name printed in tables and used for log files. */
  String label() {
    return label;
  }
}
