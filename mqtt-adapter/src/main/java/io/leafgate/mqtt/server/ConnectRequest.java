package io.leafgate.mqtt.server;

import io.leafgate.leaf.auth.Authenticator;
import io.leafgate.leaf.auth.Permissions;
import io.leafgate.mqtt.Defaults;
import io.leafgate.mqtt.message.AppMessage;
import io.leafgate.mqtt.message.Props;
import io.leafgate.mqtt.session.Will;
import io.leafgate.mqtt.topic.TopicMapper;
import io.netty.handler.codec.mqtt.MqttConnectMessage;
import io.netty.handler.codec.mqtt.MqttConnectPayload;
import io.netty.handler.codec.mqtt.MqttConnectVariableHeader;
import io.netty.handler.codec.mqtt.MqttProperties;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A CONNECT, validated: the session it asks for, the limits it announces, its credentials checked
 * against the NATS users, its will mapped to a subject; or why it is refused. Immutable once parsed.
 */
final class ConnectRequest {
  /**
   * A refusal: the CONNACK return code for v3 and reason code for v5 (0: close without a CONNACK),
   * and a sentence for the log.
   */
  record Refusal(int v3, int v5, String why) {}

  int version;
  boolean cleanStart;
  /** Session Expiry Interval: 0 ends with the connection, -1 never. */
  long expiry;
  int receiveMaximum = 65535;
  long maximumPacketSize = Long.MAX_VALUE;
  String clientId;
  boolean assignedId;
  String user;
  Permissions permissions;
  Will will;
  int keepAlive;
  /** Server Keep Alive to announce (v5), or -1. */
  int serverKeepAlive = -1;
  Refusal refusal;

  private ConnectRequest() {}

  /** Validates {@code c}; {@code room}: whether max_connections allows one more. */
  static ConnectRequest parse(MqttConnectMessage c, Authenticator auth, boolean room) {
    ConnectRequest r = new ConnectRequest();
    MqttConnectVariableHeader vh = c.variableHeader();
    MqttConnectPayload p = c.payload();
    r.version = vh.version();
    r.cleanStart = vh.isCleanSession();
    if (r.version == 5) {
      MqttProperties props = vh.properties();
      r.expiry = MqttProps.unsigned(MqttProps.intProp(props, MqttProperties.SESSION_EXPIRY_INTERVAL, 0));
      Integer rm = MqttProps.intProp(props, MqttProperties.RECEIVE_MAXIMUM, null);
      Integer mp = MqttProps.intProp(props, MqttProperties.MAXIMUM_PACKET_SIZE, null);
      if ((rm != null && rm == 0) || (mp != null && mp == 0)) {
        return r.refuse(Reason.V3_SERVER_UNAVAILABLE, Reason.PROTOCOL_ERROR, "Receive Maximum or Maximum Packet Size of 0");
      }
      r.receiveMaximum = rm == null ? 65535 : rm;
      r.maximumPacketSize = mp == null ? Long.MAX_VALUE : MqttProps.unsigned(mp);
      if (props.getProperty(MqttProperties.AUTHENTICATION_METHOD) != null) {
        return r.refuse(Reason.V3_NOT_AUTHORIZED, Reason.BAD_AUTHENTICATION_METHOD,
            "enhanced authentication is not supported");
      }
    } else {
      r.expiry = r.cleanStart ? 0 : -1;
    }
    String id = p.clientIdentifier();
    if (id == null || id.isEmpty()) {
      if (r.version != 5 && !r.cleanStart) {
        return r.refuse(Reason.V3_IDENTIFIER_REJECTED, Reason.CLIENT_ID_NOT_VALID,
            "an empty client id needs a clean session");
      }
      id = "lg-" + Long.toString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE, 36);
      r.assignedId = r.version == 5;
    }
    r.clientId = id;
    if (!room) {
      return r.refuse(Reason.V3_SERVER_UNAVAILABLE, Reason.QUOTA_EXCEEDED, "maximum connections reached");
    }
    r.user = p.userName();
    String pass = p.passwordInBytes() == null ? null : new String(p.passwordInBytes(), StandardCharsets.UTF_8);
    r.permissions = auth.authenticate(r.user, pass, r.user == null || r.user.isEmpty() ? pass : null);
    if (r.permissions == null) {
      return r.refuse(Reason.V3_NOT_AUTHORIZED, Reason.BAD_USER_NAME_OR_PASSWORD,
          "failed authorization (user \"" + (r.user == null ? "" : r.user) + "\")");
    }
    if (vh.isWillFlag() && r.parseWill(vh, p) != null) {
      return r;
    }
    r.keepAlive = vh.keepAliveTimeSeconds();
    if (r.version == 5 && (r.keepAlive == 0 || r.keepAlive > Defaults.MAX_KEEP_ALIVE_SECONDS)) {
      r.keepAlive = Defaults.MAX_KEEP_ALIVE_SECONDS;
      r.serverKeepAlive = r.keepAlive;
    }
    return r;
  }

  private Refusal parseWill(MqttConnectVariableHeader vh, MqttConnectPayload p) {
    String subject;
    try {
      subject = TopicMapper.toSubject(p.willTopic() == null ? "" : p.willTopic());
    } catch (TopicMapper.TopicException e) {
      if (e.problem() == TopicMapper.Problem.RESERVED) {
        return refuse(Reason.V3_NOT_AUTHORIZED, Reason.NOT_AUTHORIZED, "will topic: " + e.getMessage()).refusal;
      }
      return refuse(0, Reason.TOPIC_NAME_INVALID, "will topic: " + e.getMessage()).refusal;
    }
    if (vh.willQos() > 2) {
      return refuse(0, 0, "will QoS " + vh.willQos()).refusal;
    }
    if (!permissions.canPublish(subject)) {
      return refuse(Reason.V3_NOT_AUTHORIZED, Reason.NOT_AUTHORIZED, "may not publish its will on " + subject).refusal;
    }
    MqttProperties wp = p.willProperties();
    boolean v5 = version == 5;
    long delay = v5 ? MqttProps.unsigned(MqttProps.intProp(wp, MqttProperties.WILL_DELAY_INTERVAL, 0)) : 0;
    long msgExpiry = v5 ? MqttProps.unsigned(MqttProps.intProp(wp, MqttProperties.PUBLICATION_EXPIRY_INTERVAL, -1)) : -1;
    byte[] body = p.willMessageInBytes() == null ? new byte[0] : p.willMessageInBytes();
    AppMessage wm = new AppMessage(subject, body, vh.willQos(), vh.isWillRetain(), v5 ? MqttProps.toProps(wp) : Props.NONE, 0);
    will = new Will(wm, delay, msgExpiry);
    return null;
  }

  private ConnectRequest refuse(int v3, int v5, String why) {
    refusal = new Refusal(v3, v5, why);
    return this;
  }
}
