package io.leafgate.mqtt.server;

import io.leafgate.mqtt.Defaults;
import io.netty.channel.Channel;
import io.netty.handler.codec.mqtt.MqttFixedHeader;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageIdVariableHeader;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttProperties;
import io.netty.handler.codec.mqtt.MqttPubReplyMessageVariableHeader;
import io.netty.handler.codec.mqtt.MqttQoS;
import java.util.ArrayDeque;
import org.tinylog.Logger;

/**
 * The acknowledgements a connection owes its client (PUBACK, PUBREC, PUBCOMP), sent in the order
 * the packets came (MQTT 4.6), each once its reason code is known. For a v3 client, whose protocol
 * cannot refuse a publish, an error closes the connection instead, so that the client sends the
 * message again; and since v3 has no Receive Maximum, reading pauses while too many are owed.
 * Confined to the connection's event loop.
 */
final class AckQueue {
  /** One acknowledgement owed. */
  static final class Ack {
    final MqttMessageType type;
    final int packetId;
    int reason = -1;

    Ack(MqttMessageType type, int packetId) {
      this.type = type;
      this.packetId = packetId;
    }
  }

  private final MqttConnection conn;
  private final ArrayDeque<Ack> queue = new ArrayDeque<>();
  private boolean readsPaused;

  AckQueue(MqttConnection conn) {
    this.conn = conn;
  }

  int size() {
    return queue.size();
  }

  /** Owes an acknowledgement, in order after those already owed. */
  Ack add(MqttMessageType type, int pid) {
    Ack a = new Ack(type, pid);
    queue.add(a);
    if (conn.version() != 5 && queue.size() >= Defaults.RECEIVE_MAXIMUM && !readsPaused) {
      readsPaused = true;
      conn.channel().config().setAutoRead(false);
    }
    return a;
  }

  /** Sets an acknowledgement's reason and sends every acknowledgement that is now first in line. */
  void ready(Ack a, int reason) {
    a.reason = reason;
    Channel ch = conn.channel();
    boolean wrote = false;
    while (!queue.isEmpty() && queue.peekFirst().reason >= 0) {
      Ack head = queue.pollFirst();
      if (conn.version() != 5 && head.reason >= 0x80) {
        Logger.info("{} a QoS {} publish could not be stored; closing without acknowledging it", conn.logId(),
            head.type == MqttMessageType.PUBACK ? 1 : 2);
        conn.close(CloseReason.STORE_FAILURE);
        queue.clear();
        return;
      }
      MqttFixedHeader fh = new MqttFixedHeader(head.type, false, MqttQoS.AT_MOST_ONCE, false, 0);
      Object vh = conn.version() == 5 && head.reason != 0
          ? new MqttPubReplyMessageVariableHeader(head.packetId, (byte) head.reason, MqttProperties.NO_PROPERTIES)
          : MqttMessageIdVariableHeader.from(head.packetId);
      ch.write(new MqttMessage(fh, vh), ch.voidPromise());
      wrote = true;
    }
    if (wrote && !conn.inReadBatch()) {
      ch.flush();
    }
    if (readsPaused && queue.size() < Defaults.RECEIVE_MAXIMUM / 2 && conn.isActive()) {
      readsPaused = false;
      ch.config().setAutoRead(true);
    }
  }
}
