package io.leafgate.mqtt;

/**
 * The MQTT adapter's limits and timings, in one place (nats-server's {@code mqtt.go} constants and
 * mosquitto's defaults where they exist; a comment says why leafgate differs). None of them is in
 * the config file yet: the {@code mqtt} block only takes {@code listen}, {@code host} and {@code port}.
 */
public final class Defaults {
  private Defaults() {}

  /** Receive Maximum we announce: QoS 1 and 2 PUBLISHes a client may have unacknowledged at once. */
  public static final int RECEIVE_MAXIMUM = 1024;
  /**
   * QoS 1 and 2 PUBLISHes we send before waiting for acknowledgements (the client's Receive Maximum
   * caps it further). nats-server's {@code max_ack_pending} default.
   */
  public static final int MAX_INFLIGHT_OUT = 1024;
  /**
   * Messages waiting in memory for a connected client beyond the inflight window (and, in bytes,
   * {@code max_pending}); more are dropped and counted (reliable deliveries pause their publishers
   * first, see {@link #QUEUED_HIGH_WATER}). Higher than mosquitto's
   * {@code max_queued_messages} (1000) because QoS 0 bursts of small messages count too.
   */
  public static final int MAX_QUEUED_IN_MEMORY = 100_000;
  /**
   * Backpressure: past this many messages (or half of {@code max_pending} bytes) in a connected
   * client's in-memory queue, a QoS 1/2 delivery asks its publisher to stop reading until the queue
   * is under {@link #QUEUED_LOW_WATER}, so that reliable messages wait in the publisher rather than
   * being dropped here.
   */
  public static final int QUEUED_HIGH_WATER = MAX_QUEUED_IN_MEMORY / 2;
  /** Where paused publishers resume (also a quarter of {@code max_pending} bytes). */
  public static final int QUEUED_LOW_WATER = MAX_QUEUED_IN_MEMORY / 4;
  /**
   * How long a session may hold publishers back while it takes nothing (no PUBLISH sent to its
   * client): after this its publishers are no longer paused for it, and what does not fit its
   * queue is dropped and counted, until it drains to the low water mark. The local JetStream's
   * ingest stall has the same bound.
   */
  public static final long STALL_MILLIS = 30_000;
  /** Topic aliases a v5 client may set up towards us. */
  public static final int TOPIC_ALIAS_MAXIMUM = 64;
  /**
   * Keep alive we impose on v5 clients asking for none (0) or for more: announced in CONNACK as
   * Server Keep Alive. v3 clients keep what they ask for.
   */
  public static final int MAX_KEEP_ALIVE_SECONDS = 3600;
  /** The largest client identifier we accept (nats-server has none; mosquitto 65535). */
  public static final int MAX_CLIENT_ID_LENGTH = 256;
  /** Bytes of topic, properties and headers allowed in a PUBLISH beyond {@code max_payload}. */
  public static final int PACKET_OVERHEAD = 64 * 1024;

  /** Queued QoS 1/2 messages per persistent session (stream {@code $MQTT_msgs}, per subject). */
  public static final long MAX_QUEUED_PER_SESSION = 10_000;
  /** Bytes of queued messages for all persistent sessions together. */
  public static final long MAX_QUEUED_BYTES = 256L * 1024 * 1024;
  /** Retained messages (stream {@code $MQTT_rmsgs} and the in-memory index). */
  public static final long MAX_RETAINED = 100_000;
  /** Bytes of retained messages. */
  public static final long MAX_RETAINED_BYTES = 64L * 1024 * 1024;
  /** Queued messages loaded into memory at once for a connected persistent session. */
  public static final int READ_AHEAD = 256;

  /** How long a JetStream API call or publish acknowledgement may take before it counts as failed. */
  public static final long STORE_TIMEOUT_MILLIS = 10_000;
  /** How long a request's reply inbox waits for responses when the request has no message expiry. */
  public static final long RESPONSE_WINDOW_MILLIS = 60_000;
  /** Outstanding MQTT requests waiting for a NATS response; the oldest is forgotten beyond. */
  public static final int MAX_PENDING_RESPONSES = 10_000;
}
