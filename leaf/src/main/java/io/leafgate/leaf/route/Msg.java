package io.leafgate.leaf.route;

import io.netty.buffer.ByteBuf;

/**
 * A message being routed. {@code data} holds the header block (the first {@code hdrLen} bytes,
 * {@code NATS/1.0 ...}, or nothing when {@code hdrLen} is 0) followed by the payload; it belongs to
 * the publisher and stays valid only during the publish call.
 *
 * @param subject the literal subject, as a Latin-1 string
 * @param reply the reply subject, or null
 * @param hdrLen the length of the header block at the start of {@code data}, 0 for none
 * @param data headers and payload; its reader index is never moved by the router
 */
public record Msg(String subject, String reply, int hdrLen, ByteBuf data) {
  /** Total size: headers plus payload. */
  public int size() {
    return data.readableBytes();
  }

  /** Payload size without headers. */
  public int payloadSize() {
    return data.readableBytes() - hdrLen;
  }
}
