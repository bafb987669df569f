package io.leafgate.leaf.config;

import java.time.Duration;

/** Default values, nats-server's unless a comment says why leafgate differs. */
public final class Defaults {
  private Defaults() {}

  /** leafgate listens on loopback unless told otherwise: an appliance should not open ports by surprise. */
  public static final String HOST = "127.0.0.1";
  public static final int PORT = 4222;
  public static final int HTTP_PORT = 8222;
  public static final int MQTT_PORT = 1883;
  public static final String STORE_DIR = "data";

  public static final int MAX_PAYLOAD = 1024 * 1024;
  /**
   * The largest {@code max_payload} leafgate accepts. nats-server only warns above 8 MB; a gateway
   * with a few hundred MB of heap refuses anything above 64 MB.
   */
  public static final int MAX_PAYLOAD_LIMIT = 64 * 1024 * 1024;
  public static final int MAX_CONTROL_LINE = 4096;
  public static final int MAX_CONNECTIONS = 64 * 1024;
  /**
   * nats-server allows 64 MiB per connection; a 1 GB gateway cannot afford that for more than a few
   * stalled clients, so leafgate starts at 8 MiB (configurable with {@code max_pending}).
   */
  public static final long MAX_PENDING = 8L * 1024 * 1024;
  public static final Duration WRITE_DEADLINE = Duration.ofSeconds(10);
  public static final Duration PING_INTERVAL = Duration.ofMinutes(2);
  public static final int PING_MAX = 2;
  public static final Duration AUTH_TIMEOUT = Duration.ofSeconds(2);

  /**
   * A publisher's ack means the message is on flash (fsync per group commit); see DESIGN.md,
   * "Durability chain".
   */
  public static final ServerOptions.SyncMode JETSTREAM_SYNC = ServerOptions.SyncMode.ALWAYS;
}
