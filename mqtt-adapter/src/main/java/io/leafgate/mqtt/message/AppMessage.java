package io.leafgate.mqtt.message;

/**
 * An application message as MQTT sees it once inside the gateway: the subject it is routed on, its
 * payload, the QoS and retain flag it was published with, its v5 properties and its expiry.
 * Immutable; shared by every subscriber it reaches, so the payload array is never modified.
 *
 * @param subject the NATS subject (Latin-1 string of UTF-8 bytes)
 * @param payload the payload bytes
 * @param qos the QoS it was published with (0 for messages from NATS)
 * @param retain the RETAIN flag it was published with
 * @param props its v5 properties
 * @param expiresAtMillis wall-clock deadline from the Message Expiry Interval, or 0 for none
 */
public record AppMessage(String subject, byte[] payload, int qos, boolean retain, Props props, long expiresAtMillis) {

  /** Whether the message expired before {@code nowMillis}. */
  public boolean expired(long nowMillis) {
    return expiresAtMillis > 0 && nowMillis >= expiresAtMillis;
  }

  /** The Message Expiry Interval left at {@code nowMillis}, in whole seconds (at least 1), or -1 for none. */
  public long remainingExpirySeconds(long nowMillis) {
    if (expiresAtMillis <= 0) {
      return -1;
    }
    return Math.max(1, (expiresAtMillis - nowMillis + 999) / 1000);
  }

  /** Bytes this message holds in memory, roughly (for bounds). */
  public long weight() {
    return payload.length + subject.length() + 64L;
  }
}
