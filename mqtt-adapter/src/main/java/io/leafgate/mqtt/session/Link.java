package io.leafgate.mqtt.session;

import io.netty.buffer.ByteBuf;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.mqtt.MqttMessage;

/**
 * What a session needs from the network connection it is attached to. Every method but
 * {@link #loop} is called on that loop.
 */
public interface Link {
  /** The connection's event loop, where the session's state lives while attached. */
  EventLoop loop();

  /** 3, 4 or 5. */
  int protocolVersion();

  /** QoS 1/2 PUBLISHes we may have unacknowledged towards the client. */
  int maxInflight();

  /** The largest packet the client accepts (v5 Maximum Packet Size), or {@code Long.MAX_VALUE}. */
  long maxPacketSize();

  boolean isWritable();

  /** Whether the connection is still open. */
  boolean isActive();

  void write(MqttMessage m);

  /** Writes bytes that are already MQTT packets (see {@code PublishFrames}). */
  void writeBytes(ByteBuf packets);

  io.netty.buffer.ByteBufAllocator alloc();

  void flush();

  /** Identifies the connection in logs: {@code cid=17 client=foo}. */
  String logId();

  /** Ends the connection because another one took its session over (v5: DISCONNECT 0x8E). */
  void closeForTakeover();
}
