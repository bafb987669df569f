package io.leafgate.mqtt.store;

import io.leafgate.mqtt.message.AppMessage;
import io.leafgate.mqtt.message.Delivery;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * Where MQTT state that must outlive a connection (and, with JetStream, a restart) is kept:
 * persistent sessions, the queued QoS 1/2 messages of each, inbound QoS 2 messages held until
 * PUBREL, outbound QoS 2 packet ids, and retained messages. Sessions are keyed by
 * {@link SessionKeys#of a hash of the client id}.
 *
 * <p>Every write returns a future that completes once the write is durable (committed by the local
 * JetStream), on a store thread; callers hop back to their own thread. Loads at start-up block.
 * Implementations: {@link JetStreamMqttStore} (the local JetStream, streams {@code $MQTT_*}) and
 * {@link MemMqttStore} (when JetStream is disabled; nothing survives a restart). Thread-safe.
 */
public interface MqttStore extends AutoCloseable {

  /** A stored message of a session's queue. */
  record Queued(long id, Delivery delivery) {}

  /** An inbound QoS 2 message held until PUBREL, with the unique id of its hold. */
  record Held(AppMessage msg, long holdId) {}

  /** What the store is, for monitoring: "jetstream" or "memory". */
  String kind();

  // ---- sessions

  CompletableFuture<Void> saveSession(SessionRecord r);

  /** Removes a session with its queue, held QoS 2 messages and outbound QoS 2 state. */
  CompletableFuture<Void> deleteSession(String key);

  /** Every stored session (start-up). */
  List<SessionRecord> loadSessions() throws Exception;

  // ---- queued messages of persistent sessions

  /**
   * Appends a delivery to a session's queue; completes with its id (ids increase with each append).
   * Fails when the session's queue or the store is full. A non-null {@code msgId} makes a second
   * append with the same id (a replay after a restart) a no-op that completes with the first id.
   */
  CompletableFuture<Long> enqueue(String key, Delivery d, String msgId);

  /** Up to {@code max} queued messages with ids above {@code afterId}, oldest first. */
  CompletableFuture<List<Queued>> loadQueue(String key, long afterId, int max);

  /** Removes an acknowledged message (fire and forget). */
  void dequeue(String key, long id);

  // ---- inbound QoS 2 (held until PUBREL)

  /** Holds an inbound QoS 2 message; completes with a unique id of this hold (for duplicate detection). */
  CompletableFuture<Long> holdQos2(String key, int packetId, AppMessage m);

  CompletableFuture<Void> releaseQos2(String key, int packetId);

  CompletableFuture<Map<Integer, Held>> loadQos2(String key);

  // ---- outbound QoS 2: packet id to queue id (PUBLISH sent), or 0 (PUBREL sent)

  CompletableFuture<Void> saveOutbound(String key, int packetId, long queueId);

  CompletableFuture<Void> clearOutbound(String key, int packetId);

  CompletableFuture<Map<Integer, Long>> loadOutbound(String key);

  // ---- retained messages

  /** Stores the retained message of {@code m.subject()}. */
  CompletableFuture<Void> putRetained(AppMessage m);

  CompletableFuture<Void> deleteRetained(String subject);

  /** Every retained message (start-up). */
  List<AppMessage> loadRetained() throws Exception;

  @Override
  void close();
}
