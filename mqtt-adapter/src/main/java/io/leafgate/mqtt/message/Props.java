package io.leafgate.mqtt.message;

import java.util.List;

/**
 * The MQTT 5 properties that travel with an application message (all optional). Message expiry is
 * kept apart, as an absolute deadline, in {@link AppMessage}. Immutable; {@code correlationData} is
 * never modified after construction.
 *
 * @param payloadFormat the Payload Format Indicator, or null
 * @param contentType the Content Type, or null
 * @param responseTopic the Response Topic, or null
 * @param correlationData the Correlation Data, or null
 * @param user the User Properties in order, possibly with repeated names
 */
public record Props(Integer payloadFormat, String contentType, String responseTopic, byte[] correlationData,
    List<UserProperty> user) {

  /** No properties at all (every v3 message). */
  public static final Props NONE = new Props(null, null, null, null, List.of());

  /** One User Property. */
  public record UserProperty(String name, String value) {}

  public boolean isEmpty() {
    return payloadFormat == null && contentType == null && responseTopic == null && correlationData == null
        && user.isEmpty();
  }

  /** The same properties with another correlation data. */
  public Props withCorrelationData(byte[] data) {
    return new Props(payloadFormat, contentType, responseTopic, data, user);
  }

  /** The same properties with another response topic. */
  public Props withResponseTopic(String topic) {
    return new Props(payloadFormat, contentType, topic, correlationData, user);
  }
}
