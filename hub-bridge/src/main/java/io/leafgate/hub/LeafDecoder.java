package io.leafgate.hub;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Decodes what a nats-server hub sends to a leaf: INFO, PING/PONG, +OK/-ERR, LS+/LS-, and
 * LMSG/HMSG with their reply and queue-list forms. Line based (the hub is trusted more than a
 * client, but lines are still bounded), payloads as retained slices.
 */
final class LeafDecoder extends ByteToMessageDecoder {
  /** Hubs do not limit leaf control lines (long queue lists, JS ack subjects); we stop at this. */
  static final int MAX_LINE = 1024 * 1024;
  private final int maxPayload;

  private boolean inPayload;
  private String subject;
  private String reply;
  private List<String> queues;
  private int hdrLen;
  private int size;
  private boolean failed;

  LeafDecoder(int maxPayload) {
    this.maxPayload = maxPayload;
  }

  @Override
  protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    if (failed) {
      in.skipBytes(in.readableBytes());
      return;
    }
    if (inPayload) {
      payload(in, out);
      return;
    }
    int r = in.readerIndex();
    int lf = in.indexOf(r, Math.min(in.writerIndex(), r + MAX_LINE), (byte) '\n');
    if (lf < 0) {
      if (in.readableBytes() > MAX_LINE) {
        fail(in, out, "control line longer than " + MAX_LINE + " bytes");
      }
      return;
    }
    int end = lf > r && in.getByte(lf - 1) == '\r' ? lf - 1 : lf;
    String line = in.toString(r, end - r, StandardCharsets.ISO_8859_1);
    in.readerIndex(lf + 1);
    String trimmed = line.trim();
    if (trimmed.isEmpty()) {
      return;
    }
    int sp = indexOfSpace(trimmed);
    String op = (sp < 0 ? trimmed : trimmed.substring(0, sp)).toUpperCase();
    String args = sp < 0 ? "" : trimmed.substring(sp + 1).trim();
    switch (op) {
      case "PING" -> out.add(LeafOp.PING);
      case "PONG" -> out.add(LeafOp.PONG);
      case "+OK" -> out.add(LeafOp.OK);
      case "INFO" -> out.add(new LeafOp.Info(new String(args.getBytes(StandardCharsets.ISO_8859_1), StandardCharsets.UTF_8)));
      case "-ERR" -> {
        String t = args;
        if (t.length() >= 2 && t.startsWith("'") && t.endsWith("'")) {
          t = t.substring(1, t.length() - 1);
        }
        out.add(new LeafOp.Err(t));
      }
      case "LS+" -> {
        String[] a = split(args);
        if (a.length == 1) {
          out.add(new LeafOp.SubAdd(a[0], null, 0));
        } else if (a.length == 3) {
          int w;
          try {
            w = Integer.parseInt(a[2]);
          } catch (NumberFormatException e) {
            w = 1;
          }
          out.add(new LeafOp.SubAdd(a[0], a[1], Math.max(w, 1)));
        } else {
          fail(in, out, "bad LS+ arguments: " + args);
        }
      }
      case "LS-" -> {
        String[] a = split(args);
        if (a.length == 1 || a.length == 2) {
          out.add(new LeafOp.SubRemove(a[0], a.length == 2 ? a[1] : null));
        } else {
          fail(in, out, "bad LS- arguments: " + args);
        }
      }
      case "LMSG", "HMSG" -> message(op.equals("HMSG"), args, in, out);
      default -> fail(in, out, "unknown operation " + op);
    }
  }

  private void message(boolean headers, String args, ByteBuf in, List<Object> out) {
    String[] a = split(args);
    int sizes = headers ? 2 : 1;
    if (a.length < 1 + sizes) {
      fail(in, out, "bad message arguments: " + args);
      return;
    }
    String subj = a[0];
    String rep = null;
    List<String> qs = List.of();
    int n = a.length - sizes;
    if (n >= 2 && (a[1].equals("+") || a[1].equals("|"))) {
      int qStart;
      if (a[1].equals("+")) {
        if (n < 3) {
          fail(in, out, "bad message arguments: " + args);
          return;
        }
        rep = a[2];
        qStart = 3;
      } else {
        qStart = 2;
      }
      qs = new ArrayList<>();
      for (int i = qStart; i < n; i++) {
        qs.add(a[i]);
      }
    } else if (n == 2) {
      rep = a[1];
    } else if (n != 1) {
      fail(in, out, "bad message arguments: " + args);
      return;
    }
    int h;
    int total;
    try {
      total = Integer.parseInt(a[a.length - 1]);
      h = headers ? Integer.parseInt(a[a.length - 2]) : 0;
    } catch (NumberFormatException e) {
      fail(in, out, "bad message size: " + args);
      return;
    }
    if (total < 0 || h < 0 || h > total || total > maxPayload) {
      fail(in, out, "message size out of range: " + args);
      return;
    }
    subject = subj;
    reply = rep;
    queues = qs;
    hdrLen = h;
    size = total;
    inPayload = true;
    payload(in, out);
  }

  private void payload(ByteBuf in, List<Object> out) {
    if (in.readableBytes() < size + 2) {
      return;
    }
    int end = in.readerIndex() + size;
    if (in.getByte(end) != '\r' || in.getByte(end + 1) != '\n') {
      fail(in, out, "payload longer than its declared size");
      return;
    }
    ByteBuf data = in.readRetainedSlice(size);
    in.skipBytes(2);
    inPayload = false;
    out.add(new LeafOp.Message(subject, reply, queues, hdrLen, data));
  }

  private void fail(ByteBuf in, List<Object> out, String detail) {
    failed = true;
    in.skipBytes(in.readableBytes());
    out.add(new LeafOp.Malformed(detail));
  }

  private static int indexOfSpace(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == ' ' || c == '\t') {
        return i;
      }
    }
    return -1;
  }

  /** Splits on runs of spaces and tabs (by hand: a regex split compiled a Pattern per message). */
  private static String[] split(String s) {
    int n = 0;
    int len = s.length();
    for (int i = 0; i < len; ) {
      while (i < len && isBlank(s.charAt(i))) {
        i++;
      }
      if (i < len) {
        n++;
        while (i < len && !isBlank(s.charAt(i))) {
          i++;
        }
      }
    }
    String[] out = new String[n];
    int k = 0;
    for (int i = 0; i < len; ) {
      while (i < len && isBlank(s.charAt(i))) {
        i++;
      }
      int start = i;
      while (i < len && !isBlank(s.charAt(i))) {
        i++;
      }
      if (i > start) {
        out[k++] = s.substring(start, i);
      }
    }
    return out;
  }

  private static boolean isBlank(char c) {
    return c == ' ' || c == '\t';
  }
}
