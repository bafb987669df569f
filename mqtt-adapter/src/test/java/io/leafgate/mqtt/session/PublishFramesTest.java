package io.leafgate.mqtt.session;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.mqtt.MqttEncoder;
import io.netty.handler.codec.mqtt.MqttFixedHeader;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttProperties;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.handler.codec.mqtt.MqttPublishVariableHeader;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.netty.handler.codec.mqtt.MqttVersion;
import io.netty.util.AttributeKey;
import org.junit.jupiter.api.Test;

/** The PUBLISH fast path writes exactly what Netty's encoder writes. */
class PublishFramesTest {
  private static byte[] netty(MqttVersion v, String topic, int qos, boolean dup, boolean retain, int pid, byte[] payload) {
    EmbeddedChannel ch = new EmbeddedChannel(MqttEncoder.INSTANCE);
    ch.attr(AttributeKey.<MqttVersion>valueOf("NETTY_CODEC_MQTT_VERSION")).set(v);
    ch.writeOutbound(new MqttPublishMessage(new MqttFixedHeader(MqttMessageType.PUBLISH, dup, MqttQoS.valueOf(qos), retain, 0),
        new MqttPublishVariableHeader(topic, pid, MqttProperties.NO_PROPERTIES), Unpooled.wrappedBuffer(payload)));
    ByteBuf b = ch.readOutbound();
    byte[] out = ByteBufUtil.getBytes(b);
    b.release();
    ch.finishAndReleaseAll();
    return out;
  }

  private static byte[] ours(boolean v5, String topic, int qos, boolean dup, boolean retain, int pid, byte[] payload) {
    ByteBuf b = Unpooled.buffer();
    PublishFrames.write(b, topic, qos, dup, retain, pid, v5, payload);
    return ByteBufUtil.getBytes(b);
  }

  @Test
  void sameBytesAsTheEncoder() {
    for (MqttVersion v : new MqttVersion[] {MqttVersion.MQTT_3_1_1, MqttVersion.MQTT_5}) {
      for (int qos = 0; qos <= 2; qos++) {
        for (int size : new int[] {0, 16, 127 - 12, 200, 20_000, 3_000_000}) {
          for (String topic : new String[] {"a/b", "température/salle/x", "/"}) {
            byte[] payload = new byte[size];
            for (int i = 0; i < size; i++) {
              payload[i] = (byte) i;
            }
            boolean dup = qos > 0 && size % 2 == 0;
            boolean retain = size == 16;
            int pid = qos == 0 ? 0 : 12345;
            assertArrayEquals(netty(v, topic, qos, dup, retain, pid, payload),
                ours(v == MqttVersion.MQTT_5, topic, qos, dup, retain, pid, payload), v + " qos " + qos + " size " + size);
          }
        }
      }
    }
  }
}
