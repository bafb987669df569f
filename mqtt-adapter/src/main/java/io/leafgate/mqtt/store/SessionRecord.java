package io.leafgate.mqtt.store;

import java.util.List;

/**
 * What is stored of a persistent session: who it is, how long it lives after a disconnect, and its
 * subscriptions. Immutable.
 *
 * @param clientId the client identifier
 * @param protocolVersion 3, 4 or 5 (the protocol level of the last CONNECT)
 * @param expirySeconds Session Expiry Interval; -1 for never (v3 persistent sessions)
 * @param disconnectedAtMillis when the client went away (wall clock), or 0 while connected
 * @param subscriptions the subscriptions, in the order they were made
 */
public record SessionRecord(String clientId, int protocolVersion, long expirySeconds, long disconnectedAtMillis,
    List<Sub> subscriptions) {

  /**
   * One subscription: the MQTT filter as the client sent it (with {@code $share/...}), its maximum
   * QoS, v5 options, and subscription identifier (0 for none).
   */
  public record Sub(String filter, int qos, boolean noLocal, boolean retainAsPublished, int retainHandling,
      int subscriptionId) {}
}
