package io.leafgate.mqtt.session;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;

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
}
