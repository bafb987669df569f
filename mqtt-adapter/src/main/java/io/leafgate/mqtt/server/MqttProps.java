package io.leafgate.mqtt.server;

import io.leafgate.mqtt.message.Props;
import io.netty.handler.codec.mqtt.MqttProperties;
import java.util.ArrayList;
import java.util.List;

/** Reading MQTT 5 properties from Netty's {@link MqttProperties}. */
final class MqttProps {
  private MqttProps() {}

  static Integer intProp(MqttProperties props, int id, Integer dflt) {
    MqttProperties.MqttProperty<?> p = props.getProperty(id);
    return p != null && p.value() instanceof Integer i ? i : dflt;
  }

  /** An MQTT Four Byte Integer as unsigned; 0xFFFFFFFF (never) becomes -1. */
  static long unsigned(Integer v) {
    if (v == null) {
      return -1;
    }
    long l = v & 0xFFFFFFFFL;
    return l == 0xFFFFFFFFL ? -1 : l;
  }

  /** The v5 properties of a PUBLISH or will that travel with the message. */
  static Props toProps(MqttProperties p) {
    if (p == null || p.isEmpty()) {
      return Props.NONE;
    }
    Integer pf = intProp(p, MqttProperties.PAYLOAD_FORMAT_INDICATOR, null);
    String ct = p.getProperty(MqttProperties.CONTENT_TYPE) instanceof MqttProperties.StringProperty s ? s.value() : null;
    String rt = p.getProperty(MqttProperties.RESPONSE_TOPIC) instanceof MqttProperties.StringProperty s ? s.value() : null;
    byte[] cd = p.getProperty(MqttProperties.CORRELATION_DATA) instanceof MqttProperties.BinaryProperty b ? b.value() : null;
    List<Props.UserProperty> user = new ArrayList<>();
    for (MqttProperties.MqttProperty<?> u : p.getProperties(MqttProperties.USER_PROPERTY)) {
      if (u.value() instanceof MqttProperties.StringPair sp) {
        user.add(new Props.UserProperty(sp.key, sp.value));
      }
    }
    if (pf == null && ct == null && rt == null && cd == null && user.isEmpty()) {
      return Props.NONE;
    }
    return new Props(pf, ct, rt, cd, List.copyOf(user));
  }
}
