package io.leafgate.mqtt.message;

/**
 * One message on its way to one subscription: the message, the QoS it is delivered with (the lower
 * of the publish and subscription QoS), the RETAIN flag the subscriber sees, the subscription
 * identifier to include, and its id in the session's stored queue (0 when not stored). Immutable.
 */
public record Delivery(AppMessage msg, int qos, boolean retain, int subscriptionId, long storeId) {

  /** The same delivery, now stored under {@code id}. */
  public Delivery withStoreId(long id) {
    return new Delivery(msg, qos, retain, subscriptionId, id);
  }
}
