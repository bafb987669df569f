package io.leafgate.leaf.route;

/**
 * Anything that receives routed messages: a NATS client connection, an MQTT session, a stream, the
 * hub link, or an internal service.
 */
public interface Subscriber {
  /**
   * Delivers one message matched by {@code sub}. Called on any thread, possibly concurrently. The
   * message's buffer belongs to the caller: keep it past the call only with {@code retain} or a
   * copy. A subscriber that writes to a socket registers itself in {@code batch} so that it is
   * flushed once at the end of the producer's read batch.
   */
  void deliver(Subscription sub, Msg msg, FlushBatch batch);

  /** Where this subscriber sits, so the router can keep hub messages from looping back. */
  default Origin origin() {
    return Origin.INTERNAL;
  }

  /** Called when the router drops a subscription on its own (auto-unsubscribe limit reached). */
  default void onAutoUnsubscribed(Subscription sub) {}
}
