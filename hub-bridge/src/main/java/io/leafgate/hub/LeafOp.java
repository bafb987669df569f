package io.leafgate.hub;

import io.netty.buffer.ByteBuf;
import java.util.List;

/** One operation a hub sends on a leaf connection, as {@link LeafDecoder} emits it. */
sealed interface LeafOp {
  /** {@code INFO <json>}: the handshake and later updates (leafnode_urls). */
  record Info(String json) implements LeafOp {}

  /** {@code PING}. */
  record Ping() implements LeafOp {}

  /** {@code PONG}. */
  record Pong() implements LeafOp {}

  /** {@code +OK} (hubs do not send it to leafs; tolerated). */
  record Ok() implements LeafOp {}

  /** {@code -ERR '<text>'}, quotes removed. */
  record Err(String text) implements LeafOp {}

  /** {@code LS+ <subject> [<queue> <weight>]}: interest on the hub. */
  record SubAdd(String subject, String queue, int weight) implements LeafOp {}

  /** {@code LS- <subject> [<queue>]}. */
  record SubRemove(String subject, String queue) implements LeafOp {}

  /**
   * {@code LMSG}/{@code HMSG}: a message from the hub. {@code queues} lists the local queue groups it
   * is aimed at (empty: plain subscribers only). {@code data} is a retained slice (headers then
   * payload) that the handler releases.
   */
  record Message(String subject, String reply, List<String> queues, int hdrLen, ByteBuf data) implements LeafOp {}

  /** The input could not be parsed; the connection is closed. */
  record Malformed(String detail) implements LeafOp {}

  Ping PING = new Ping();
  Pong PONG = new Pong();
  Ok OK = new Ok();
}
