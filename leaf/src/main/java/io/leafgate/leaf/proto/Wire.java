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
   * bytes from {@code data}, then CRLF. {@code data}'s reader index is left as it was. The control
   * line is assembled in {@code scratch} (at least 64 bytes longer than subject, sid and reply) and
   * written at once.
   */
  public static void writeMsg(ByteBuf out, String subject, byte[] sid, String reply, int hdrLen, ByteBuf data,
      byte[] scratch) {
    int size = data.readableBytes();
    boolean hdr = hdrLen > 0;
    byte[] b = scratch;
    int n;
    if (hdr) {
      b[0] = 'H';
      b[1] = 'M';
      b[2] = 'S';
      b[3] = 'G';
      b[4] = ' ';
      n = 5;
    } else {
      b[0] = 'M';
      b[1] = 'S';
      b[2] = 'G';
      b[3] = ' ';
      n = 4;
    }
    n = putLatin1(b, n, subject);
    b[n++] = ' ';
    System.arraycopy(sid, 0, b, n, sid.length);
    n += sid.length;
    b[n++] = ' ';
    if (reply != null) {
      n = putLatin1(b, n, reply);
      b[n++] = ' ';
    }
    if (hdr) {
      n = putInt(b, n, hdrLen);
      b[n++] = ' ';
    }
    n = putInt(b, n, size);
    b[n++] = '\r';
    b[n++] = '\n';
    out.ensureWritable(n + size + 2);
    out.writeBytes(b, 0, n);
    out.writeBytes(data, data.readerIndex(), size);
    out.writeShort(CRLF_SHORT);
  }

  /** Bytes of scratch {@link #writeMsg} needs for this frame's control line. */
  public static int controlLineBytes(String subject, byte[] sid, String reply) {
    return subject.length() + sid.length + (reply == null ? 0 : reply.length()) + 40;
  }

  private static final int CRLF_SHORT = ('\r' << 8) | '\n';

  private static int putLatin1(byte[] b, int at, String s) {
    int len = s.length();
    for (int i = 0; i < len; i++) {
      b[at + i] = (byte) s.charAt(i);
    }
    return at + len;
  }

  private static int putInt(byte[] b, int at, int v) {
    if (v < 10) {
      b[at] = (byte) ('0' + v);
      return at + 1;
    }
    int digits = 1;
    for (int t = v; t >= 10; t /= 10) {
      digits++;
    }
    int end = at + digits;
    for (int i = end - 1; i >= at; i--) {
      b[i] = (byte) ('0' + v % 10);
      v /= 10;
    }
    return end;
  }

  /** Like the other writeMsg, with a scratch array of its own (cold paths). */
  public static void writeMsg(ByteBuf out, String subject, byte[] sid, String reply, int hdrLen, ByteBuf data) {
    writeMsg(out, subject, sid, reply, hdrLen, data, new byte[controlLineBytes(subject, sid, reply)]);
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
