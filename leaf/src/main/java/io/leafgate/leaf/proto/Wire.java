package io.leafgate.leaf.proto;

import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;

/** Helpers that write NATS protocol lines into a {@link ByteBuf}. */
public final class Wire {
  private Wire() {}

  public static final byte[] CRLF = {'\r', '\n'};
  public static final byte[] PING = ascii("PING\r\n");
  public static final byte[] PONG = ascii("PONG\r\n");
  public static final byte[] OK = ascii("+OK\r\n");
  private static final byte[] MSG = ascii("MSG ");
  private static final byte[] HMSG = ascii("HMSG ");
  /** The header block of a "no responders" status message. */
  public static final byte[] NO_RESPONDERS_HDR = ascii("NATS/1.0 503\r\n\r\n");

  /** {@code -ERR 'text'\r\n}, as nats-server words it. */
  public static byte[] err(String text) {
    return ("-ERR '" + text + "'\r\n").getBytes(StandardCharsets.ISO_8859_1);
  }

  /**
   * Writes a whole {@code MSG} or {@code HMSG} frame: control line, then {@code hdrLen + payload}
   * bytes from {@code data}, then CRLF. {@code data}'s reader index is left as it was.
   */
  public static void writeMsg(ByteBuf out, String subject, byte[] sid, String reply, int hdrLen, ByteBuf data) {
    int size = data.readableBytes();
    boolean hdr = hdrLen > 0;
    out.ensureWritable(subject.length() + sid.length + (reply == null ? 0 : reply.length() + 1) + size + 32);
    out.writeBytes(hdr ? HMSG : MSG);
    writeLatin1(out, subject);
    out.writeByte(' ');
    out.writeBytes(sid);
    out.writeByte(' ');
    if (reply != null) {
      writeLatin1(out, reply);
      out.writeByte(' ');
    }
    if (hdr) {
      writeInt(out, hdrLen);
      out.writeByte(' ');
    }
    writeInt(out, size);
    out.writeBytes(CRLF);
    out.writeBytes(data, data.readerIndex(), size);
    out.writeBytes(CRLF);
  }

  /** Writes a string whose chars are all below 256, one byte each. */
  public static void writeLatin1(ByteBuf out, String s) {
    out.writeCharSequence(s, StandardCharsets.ISO_8859_1);
  }

  /** Writes a non-negative int in decimal. */
  public static void writeInt(ByteBuf out, int v) {
    if (v < 10) {
      out.writeByte('0' + v);
      return;
    }
    int digits = 1;
    for (int t = v; t >= 10; t /= 10) {
      digits++;
    }
    int at = out.writerIndex() + digits;
    out.ensureWritable(digits);
    for (int i = 1; i <= digits; i++) {
      out.setByte(at - i, '0' + v % 10);
      v /= 10;
    }
    out.writerIndex(at);
  }

  public static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.US_ASCII);
  }
}
