package io.leafgate.mqtt.session;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.leafgate.mqtt.message.AppMessage;
import io.leafgate.mqtt.message.Delivery;
import io.leafgate.mqtt.message.Props;
import io.netty.handler.codec.mqtt.MqttProperties;

/**
 * Writes PUBLISH packets without properties straight into one outbound buffer, so that a batch of
 * deliveries to a client costs one buffer and one write instead of a message, an encoder pass and
 * a buffer each. The bytes are exactly what Netty's {@code MqttEncoder} writes for the same packet
 * (tested); packets with v5 properties still go through the encoder.
 */
final class PublishFrames {
  private PublishFrames() {}

  /** Upper bound of the encoded size, for sizing the buffer. */
  static int maxSize(String topic, int payloadLength) {
    return 1 + 4 + 2 + topic.length() * 3 + 2 + 1 + payloadLength;
  }

  /** Appends one PUBLISH (v5: with an empty property block). */
  static void write(ByteBuf out, String topic, int qos, boolean dup, boolean retain, int packetId, boolean v5,
      byte[] payload) {
    int topicLen = ByteBufUtil.utf8Bytes(topic);
    int remaining = 2 + topicLen + (qos > 0 ? 2 : 0) + (v5 ? 1 : 0) + payload.length;
    out.writeByte(0x30 | (dup ? 0x08 : 0) | (qos << 1) | (retain ? 0x01 : 0));
    int n = remaining;
    do {
      int digit = n % 128;
      n /= 128;
      out.writeByte(n > 0 ? digit | 0x80 : digit);
    } while (n > 0);
    out.writeShort(topicLen);
    ByteBufUtil.reserveAndWriteUtf8(out, topic, topicLen);
    if (qos > 0) {
      out.writeShort(packetId);
    }
    if (v5) {
      out.writeByte(0);
    }
    out.writeBytes(payload);
  }

  /** An upper bound of a PUBLISH's encoded size, for the client's Maximum Packet Size. */
  static long estimateSize(String topic, AppMessage m, MqttProperties props) {
    long n = 5 + 2 + 2 + (long) topic.length() * 3 + m.payload().length + 4;
    if (props != MqttProperties.NO_PROPERTIES) {
      Props p = m.props();
      n += 16 + (p.contentType() == null ? 0 : p.contentType().length() * 3L)
          + (p.responseTopic() == null ? 0 : p.responseTopic().length() * 3L)
          + (p.correlationData() == null ? 0 : p.correlationData().length);
      for (Props.UserProperty u : p.user()) {
        n += 5 + (u.name().length() + u.value().length()) * 3L;
      }
    }
    return n;
  }

  /** The v5 properties of a PUBLISH for {@code d} (NO_PROPERTIES when it needs none). */
  static MqttProperties properties(Delivery d) {
    AppMessage m = d.msg();
    Props p = m.props();
    long expiry = m.remainingExpirySeconds(System.currentTimeMillis());
    if (p.isEmpty() && d.subscriptionId() == 0 && expiry < 0) {
      return MqttProperties.NO_PROPERTIES;
    }
    MqttProperties props = new MqttProperties();
    if (p.payloadFormat() != null) {
      props.add(new MqttProperties.IntegerProperty(MqttProperties.PAYLOAD_FORMAT_INDICATOR, p.payloadFormat()));
    }
    if (expiry >= 0) {
      props.add(new MqttProperties.IntegerProperty(MqttProperties.PUBLICATION_EXPIRY_INTERVAL, (int) Math.min(expiry, Integer.MAX_VALUE)));
    }
    if (p.contentType() != null) {
      props.add(new MqttProperties.StringProperty(MqttProperties.CONTENT_TYPE, p.contentType()));
    }
    if (p.responseTopic() != null) {
      props.add(new MqttProperties.StringProperty(MqttProperties.RESPONSE_TOPIC, p.responseTopic()));
    }
    if (p.correlationData() != null) {
      props.add(new MqttProperties.BinaryProperty(MqttProperties.CORRELATION_DATA, p.correlationData()));
    }
    if (d.subscriptionId() > 0) {
      props.add(new MqttProperties.IntegerProperty(MqttProperties.SUBSCRIPTION_IDENTIFIER, d.subscriptionId()));
    }
    for (Props.UserProperty u : p.user()) {
      props.add(new MqttProperties.UserProperty(u.name(), u.value()));
    }
    return props;
  }
}
