package io.leafgate.leaf.proto;

import io.netty.buffer.ByteBuf;

/** One decoded operation of the NATS client protocol, as {@link NatsDecoder} emits it. */
public sealed interface ClientOp {
  /** {@code CONNECT <json>}. */
  record Connect(String json) implements ClientOp {}

  /**
   * {@code PUB} or {@code HPUB}. {@code data} is a retained slice of the read buffer holding the
   * header block (first {@code hdrLen} bytes) and the payload; whoever handles the op releases it.
   */
  record Pub(String subject, String reply, boolean headers, int hdrLen, ByteBuf data) implements ClientOp {
    /**
     * Releases the payload slice. (Pub is deliberately not a ReferenceCounted: Netty would then
     * "touch" it on every pipeline hop, which costs more than the whole routing of a small message.)
     */
    public boolean release() {
      return data.release();
    }
  }

  /** {@code SUB <subject> [queue] <sid>}. */
  record Sub(String subject, String queue, String sid) implements ClientOp {}

  /** {@code UNSUB <sid> [max]}; {@code max} is 0 when absent. */
  record Unsub(String sid, long max) implements ClientOp {}

  /** {@code PING}. */
  record Ping() implements ClientOp {}

  /** {@code PONG}. */
  record Pong() implements ClientOp {}

  /** {@code INFO <json>} sent by a client; accepted and ignored, as nats-server does. */
  record Info(String json) implements ClientOp {}

  /** {@code +OK}. */
  record Ok() implements ClientOp {}

  /** {@code -ERR <text>} sent by a client. */
  record Err(String text) implements ClientOp {}

  /**
   * The input cannot be parsed; the decoder discards everything after it. {@code clientText} is
   * what goes back in {@code -ERR '...'} (null for nothing), {@code detail} is for the log.
   */
  record ProtocolError(Kind kind, String clientText, String detail) implements ClientOp {
    /** What went wrong. */
    public enum Kind {
      UNKNOWN_OPERATION,
      MAX_CONTROL_LINE,
      MAX_PAYLOAD,
      BAD_ARGUMENTS,
      /** Something other than CONNECT came first from a client that must authenticate. */
      AUTHORIZATION_VIOLATION
    }
  }

  Ping PING = new Ping();
  Pong PONG = new Pong();
  Ok OK = new Ok();
}
