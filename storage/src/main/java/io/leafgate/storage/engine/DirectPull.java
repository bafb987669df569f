package io.leafgate.storage.engine;

import io.leafgate.storage.api.StoredMessage;

/**
 * A pull consumer's client inside the gateway (the uplink forwarder): it takes messages as they are
 * stored, without an ack subject to build and parse or a trip through the router, and acknowledges
 * them with {@link JetStreamEngine#ackDirect(String, String, long[], int)}. Everything else (pending
 * messages, ack wait, redelivery, max_ack_pending, the durable state) is the consumer's as for any
 * client. All methods run on the engine's thread.
 */
public interface DirectPull {
  /** One message for this request; {@code deliveries} is 1 for its first delivery. */
  void onMessage(StoredMessage m, int deliveries);

  /** The end of a delivery pass that gave this puller messages: hand them on in one go. */
  void onBatchEnd();

  /**
   * The request ended without all it asked for: {@code status} is what a client would have got
   * (e.g. {@code 408 Request Timeout}, {@code 409 Consumer Deleted}), {@code undelivered} how many of
   * its messages it did not get.
   */
  void onEnd(String status, long undelivered);

  /** Whether the puller still wants messages; a request of one that is gone is dropped. */
  boolean live();
}
