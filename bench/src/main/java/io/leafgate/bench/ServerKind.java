package io.leafgate.bench;

/** The two servers under comparison. Both always run as separate processes on loopback. */
enum ServerKind {
  NATS_SERVER("nats-server"),
  LEAFGATE("leafgate");

  private final String label;

  ServerKind(String label) {
    this.label = label;
  }

  /** The name printed in tables and used for log files. */
  String label() {
    return label;
  }
}
