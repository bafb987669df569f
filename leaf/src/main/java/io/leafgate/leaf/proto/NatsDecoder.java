package io.leafgate.leaf.proto;

import io.leafgate.leaf.proto.ClientOp.ProtocolError;
import io.leafgate.leaf.proto.ClientOp.ProtocolError.Kind;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Decodes the NATS client protocol into {@link ClientOp}s. An explicit state machine over the
 * cumulated {@link ByteBuf}: the operation name is checked as its bytes arrive (so garbage is
 * refused at once, as nats-server does), a control line is bounded by {@code max_control_line}
 * before its end arrives, and payloads are taken as retained slices without copying.
 *
 * <p>After a protocol error the decoder emits one {@link ProtocolError} and discards all further
 * input; the handler sends the error and closes the connection.
 */
public final class NatsDecoder extends ByteToMessageDecoder {
  private enum State {
    /** Waiting for an operation name. */
    OP,
    /** Name read; skipping the blanks before the argument, then waiting for the end of its line. */
    ARG,
    /** An operation that ignores the rest of its line (PING, PONG, +OK): skipping to LF. */
    SKIP_LINE,
    /** Waiting for a PUB/HPUB payload and its trailing CRLF. */
    PAYLOAD,
    /** After an error: everything is dropped. */
    DISCARD
  }

  /** The operations a client may send, upper case. Index is the op code below. */
  private static final byte[][] OPS = {
    ascii("PUB"), ascii("HPUB"), ascii("SUB"), ascii("UNSUB"), ascii("PING"), ascii("PONG"),
    ascii("CONNECT"), ascii("INFO"), ascii("+OK"), ascii("-ERR")
  };

  private static final int PUB = 0;
  private static final int HPUB = 1;
  private static final int SUB = 2;
  private static final int UNSUB = 3;
  private static final int PING = 4;
  private static final int PONG = 5;
  private static final int CONNECT = 6;
  private static final int INFO = 7;
  private static final int PLUS_OK = 8;
  private static final int MINUS_ERR = 9;

  /** Most arguments any operation takes (HPUB: subject, reply, header size, total size). */
  private static final int MAX_ARGS = 4;

  private static final String UNKNOWN_OP_TEXT = "Unknown Protocol Operation";

  /** "PUB ", "SUB " and "HPUB" as big-endian ints, for the fast path. */
  private static final int PUB_SP = ('P' << 24) | ('U' << 16) | ('B' << 8) | ' ';
  private static final int SUB_SP = ('S' << 24) | ('U' << 16) | ('B' << 8) | ' ';
  private static final int HPUB_ = ('H' << 24) | ('P' << 16) | ('U' << 8) | 'B';

  /** Scratch for control lines, one per I/O thread: 10,000 idle connections cost nothing. */
  private static final ThreadLocal<byte[]> SCRATCH = ThreadLocal.withInitial(() -> new byte[4096]);
  private byte[] line;
  /** The last subject decoded: repeated subjects reuse the String (and its cached hash). */
  private String lastSubject = "";

  private final int maxControlLine;
  private final int maxPayload;
  private volatile boolean headersEnabled;
  private volatile boolean connectRequired;

  private State state = State.OP;
  private int skipOp;
  /** The operation whose argument is being read in state ARG. */
  private int argOp;
  private final int[] argStart = new int[MAX_ARGS + 1];
  private final int[] argEnd = new int[MAX_ARGS + 1];

  private String pubSubject;
  private String pubReply;
  private boolean pubHeaders;
  private int pubHdrLen;
  private int pubSize;

  public NatsDecoder(int maxControlLine, int maxPayload) {
    this.maxControlLine = maxControlLine;
    this.maxPayload = maxPayload;
  }

  /** Allows HPUB; set once the client's CONNECT said {@code headers: true}. */
  public void setHeadersEnabled(boolean enabled) {
    this.headersEnabled = enabled;
  }

  /**
   * While set, an operation that does not start with C (for CONNECT) is refused with {@link
   * Kind#AUTHORIZATION_VIOLATION} at its first byte, as nats-server does while a client that must
   * authenticate has not sent CONNECT yet. Set by the handler, which runs each decoded op before
   * the next one is decoded.
   */
  public void setConnectRequired(boolean required) {
    this.connectRequired = required;
  }

  @Override
  protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    switch (state) {
      case OP:
        decodeOp(in, out);
        break;
      case ARG:
        decodeArg(in, out);
        break;
      case SKIP_LINE:
        skipLine(in, out);
        break;
      case PAYLOAD:
        decodePayload(in, out);
        break;
      default:
        in.skipBytes(in.readableBytes());
        break;
    }
  }

  private void decodeOp(ByteBuf in, List<Object> out) {
    int r = in.readerIndex();
    int w = in.writerIndex();
    if (connectRequired && r < w && upper(in.getByte(r)) != 'C') {
      fail(in, out, Kind.AUTHORIZATION_VIOLATION, "Authorization Violation", "first operation is not CONNECT");
      return;
    }
    // Fast path: the usual spellings of the hot operations, four bytes at a time.
    if (w - r >= 5) {
      int head = in.getInt(r);
      int fast = head == PUB_SP ? PUB : head == SUB_SP ? SUB : head == HPUB_ ? HPUB : -1;
      if (fast >= 0) {
        int nameEnd = fast == HPUB ? r + 4 : r + 3;
        byte sep = in.getByte(nameEnd);
        if (sep == ' ' || sep == '\t') {
          argOp = fast;
          state = State.ARG;
          in.readerIndex(nameEnd);
          decodeArg(in, out);
          return;
        }
      }
    }
    // Identify the operation name, case-insensitively, as far as the bytes go.
    int candidates = (1 << OPS.length) - 1;
    int op = -1;
    int i = r;
    for (; i < w; i++) {
      int c = upper(in.getByte(i));
      int pos = i - r;
      int next = 0;
      for (int k = 0; k < OPS.length; k++) {
        if ((candidates & (1 << k)) == 0) {
          continue;
        }
        byte[] name = OPS[k];
        if (pos == name.length) {
          op = k; // the name is complete; c is the byte after it
        } else if (name[pos] == c) {
          next |= 1 << k;
        }
      }
      if (op >= 0) {
        break;
      }
      if (next == 0) {
        fail(in, out, Kind.UNKNOWN_OPERATION, UNKNOWN_OP_TEXT, "unknown operation at byte " + pos);
        return;
      }
      candidates = next;
    }
    if (op < 0) {
      return; // the name is not complete yet
    }
    int nameEnd = i;
    if (op == PING || op == PONG || op == PLUS_OK) {
      // nats-server ignores whatever follows these names up to the end of the line.
      skipOp = op;
      state = State.SKIP_LINE;
      in.readerIndex(nameEnd);
      skipLine(in, out);
      return;
    }
    byte sep = in.getByte(nameEnd);
    // nats-server wants a separator after PUB, HPUB, SUB, UNSUB and -ERR, but not after CONNECT
    // and INFO: there the argument starts at the first byte that is not a blank, so "CONNECT{}"
    // is valid and "CONNECT\r\n" or "CONNECTX {}" hand a bad JSON body to the handler.
    if (sep != ' ' && sep != '\t' && op != CONNECT && op != INFO) {
      fail(in, out, Kind.UNKNOWN_OPERATION, UNKNOWN_OP_TEXT, "no space after the operation name");
      return;
    }
    argOp = op;
    state = State.ARG;
    in.readerIndex(nameEnd);
    decodeArg(in, out);
  }

  /**
   * Reads an operation's argument up to the end of its line. Blanks before it are dropped as they
   * arrive and do not count; the argument itself (without CRLF) may not be longer than
   * {@code max_control_line}, which is checked before the line is complete, as nats-server does.
   */
  private void decodeArg(ByteBuf in, List<Object> out) {
    int r = in.readerIndex();
    int w = in.writerIndex();
    while (r < w && isSpace(in.getByte(r))) {
      r++;
    }
    in.readerIndex(r);
    if (r == w) {
      return;
    }
    int lf = in.indexOf(r, Math.min(w, r + maxControlLine + 2), (byte) '\n');
    if (lf < 0) {
      int have = w - r - (in.getByte(w - 1) == '\r' ? 1 : 0);
      if (have > maxControlLine) {
        failControlLine(in, out, have);
      }
      return;
    }
    int lineEnd = lf > r && in.getByte(lf - 1) == '\r' ? lf - 1 : lf;
    if (lineEnd - r > maxControlLine) {
      failControlLine(in, out, lineEnd - r);
      return;
    }
    state = State.OP;
    in.readerIndex(lf + 1);
    switch (argOp) {
      case PUB:
      case HPUB:
        parsePub(in, r, lineEnd, argOp == HPUB, out);
        break;
      case SUB:
        parseSub(in, r, lineEnd, out);
        break;
      case UNSUB:
        parseUnsub(in, r, lineEnd, out);
        break;
      case CONNECT:
        out.add(new ClientOp.Connect(in.toString(r, lineEnd - r, StandardCharsets.UTF_8)));
        break;
      case INFO:
        out.add(new ClientOp.Info(in.toString(r, lineEnd - r, StandardCharsets.UTF_8)));
        break;
      case MINUS_ERR:
        out.add(new ClientOp.Err(in.toString(r, lineEnd - r, StandardCharsets.UTF_8)));
        break;
      default:
        throw new IllegalStateException("op " + argOp);
    }
  }

  private void skipLine(ByteBuf in, List<Object> out) {
    int lf = in.indexOf(in.readerIndex(), in.writerIndex(), (byte) '\n');
    if (lf < 0) {
      in.skipBytes(in.readableBytes());
      return;
    }
    in.readerIndex(lf + 1);
    state = State.OP;
    out.add(skipOp == PING ? ClientOp.PING : skipOp == PONG ? ClientOp.PONG : ClientOp.OK);
  }

  private void parsePub(ByteBuf in, int from, int to, boolean headers, List<Object> out) {
    String name = headers ? "processHeaderPub" : "processPub";
    if (headers && !headersEnabled) {
      fail(in, out, Kind.BAD_ARGUMENTS, null, "message headers not supported by this connection");
      return;
    }
    int n = split(in, from, to, false);
    int hdr = 0;
    int size;
    String subject;
    String reply = null;
    if (!headers && (n == 2 || n == 3)) {
      subject = subjectArg(0);
      if (n == 3) {
        reply = arg(in, 1);
      }
      size = parseSize(in, n - 1);
      if (size < 0) {
        fail(in, out, Kind.BAD_ARGUMENTS, null, name + " Bad or Missing Size: " + line(in, from, to));
        return;
      }
    } else if (headers && (n == 3 || n == 4)) {
      subject = subjectArg(0);
      if (n == 4) {
        reply = arg(in, 1);
      }
      hdr = parseSize(in, n - 2);
      size = parseSize(in, n - 1);
      if (hdr < 0) {
        fail(in, out, Kind.BAD_ARGUMENTS, null, name + " Bad or Missing Header Size: " + line(in, from, to));
        return;
      }
      if (size < 0) {
        fail(in, out, Kind.BAD_ARGUMENTS, null, name + " Bad or Missing Total Size: " + line(in, from, to));
        return;
      }
      if (hdr > size) {
        fail(in, out, Kind.BAD_ARGUMENTS, null, name + " Header Size larger then TotalSize: " + line(in, from, to));
        return;
      }
    } else {
      fail(in, out, Kind.BAD_ARGUMENTS, null, name + " Parse Error: " + line(in, from, to));
      return;
    }
    if (size > maxPayload) {
      fail(in, out, Kind.MAX_PAYLOAD, "Maximum Payload Violation",
          "maximum payload exceeded: " + size + " > " + maxPayload);
      return;
    }
    pubSubject = subject;
    pubReply = reply;
    pubHeaders = headers;
    pubHdrLen = hdr;
    pubSize = size;
    state = State.PAYLOAD;
    decodePayload(in, out);
  }

  private void decodePayload(ByteBuf in, List<Object> out) {
    if (in.readableBytes() < pubSize + 2) {
      return;
    }
    int end = in.readerIndex() + pubSize;
    if (in.getByte(end) != '\r' || in.getByte(end + 1) != '\n') {
      in.readerIndex(end);
      fail(in, out, Kind.UNKNOWN_OPERATION, UNKNOWN_OP_TEXT, "payload longer than its declared size");
      return;
    }
    ByteBuf data = in.readRetainedSlice(pubSize);
    in.skipBytes(2);
    state = State.OP;
    out.add(new ClientOp.Pub(pubSubject, pubReply, pubHeaders, pubHdrLen, data));
    pubSubject = null;
    pubReply = null;
  }

  private void parseSub(ByteBuf in, int from, int to, List<Object> out) {
    int n = split(in, from, to, true);
    if (n == 2) {
      out.add(new ClientOp.Sub(arg(in, 0), null, arg(in, 1)));
    } else if (n == 3) {
      out.add(new ClientOp.Sub(arg(in, 0), arg(in, 1), arg(in, 2)));
    } else {
      fail(in, out, Kind.BAD_ARGUMENTS, null, "processSub Parse Error: " + line(in, from, to));
    }
  }

  private void parseUnsub(ByteBuf in, int from, int to, List<Object> out) {
    int n = split(in, from, to, true);
    if (n == 1) {
      out.add(new ClientOp.Unsub(arg(in, 0), 0));
    } else if (n == 2) {
      // nats-server treats an unparsable maximum as "unsubscribe now".
      out.add(new ClientOp.Unsub(arg(in, 0), Math.max(parseSize(in, 1), 0)));
    } else {
      fail(in, out, Kind.BAD_ARGUMENTS, null, "processUnsub Parse Error: " + line(in, from, to));
    }
  }

  /**
   * Copies the control line into the thread's scratch array and splits its arguments into
   * {@link #argStart}/{@link #argEnd} (offsets into it); returns their count, or MAX_ARGS+1 for too
   * many.
   */
  private int split(ByteBuf in, int from, int to, boolean crlfIsSpace) {
    int len = to - from;
    // A channel stays on one I/O thread, so the thread's scratch array can be kept after the first use.
    byte[] b = line;
    if (b == null) {
      b = SCRATCH.get();
    }
    if (b.length < len) {
      b = new byte[Math.max(len, b.length * 2)];
      SCRATCH.set(b);
    }
    in.getBytes(from, b, 0, len);
    line = b;
    int n = 0;
    int start = -1;
    for (int i = 0; i < len; i++) {
      byte c = b[i];
      boolean space = c == ' ' || c == '\t' || (crlfIsSpace && (c == '\r' || c == '\n'));
      if (space) {
        if (start >= 0) {
          if (n == MAX_ARGS) {
            return MAX_ARGS + 1;
          }
          argStart[n] = start;
          argEnd[n++] = i;
          start = -1;
        }
      } else if (start < 0) {
        start = i;
      }
    }
    if (start >= 0) {
      if (n == MAX_ARGS) {
        return MAX_ARGS + 1;
      }
      argStart[n] = start;
      argEnd[n++] = len;
    }
    return n;
  }

  private String arg(ByteBuf in, int k) {
    return new String(line, argStart[k], argEnd[k] - argStart[k], StandardCharsets.ISO_8859_1);
  }

  /** The subject argument; the same subject as last time is the same String. */
  private String subjectArg(int k) {
    int from = argStart[k];
    int len = argEnd[k] - from;
    String last = lastSubject;
    if (last.length() == len) {
      byte[] b = line;
      int i = 0;
      while (i < len && b[from + i] == (byte) last.charAt(i)) {
        i++;
      }
      if (i == len) {
        return last;
      }
    }
    String s = new String(line, from, len, StandardCharsets.ISO_8859_1);
    lastSubject = s;
    return s;
  }

  /** Parses a non-negative decimal; -1 when it is not one or overflows (nats-server parseSize). */
  private int parseSize(ByteBuf in, int k) {
    int from = argStart[k];
    int to = argEnd[k];
    if (to - from > 9 || to == from) {
      return -1;
    }
    byte[] b = line;
    int v = 0;
    for (int i = from; i < to; i++) {
      byte c = b[i];
      if (c < '0' || c > '9') {
        return -1;
      }
      v = v * 10 + (c - '0');
    }
    return v;
  }

  private static String line(ByteBuf in, int from, int to) {
    return '"' + in.toString(from, Math.min(to - from, 64), StandardCharsets.ISO_8859_1) + '"';
  }

  private void failControlLine(ByteBuf in, List<Object> out, int length) {
    fail(in, out, Kind.MAX_CONTROL_LINE, "maximum control line exceeded",
        "control line of " + length + "+ bytes exceeds max_control_line " + maxControlLine);
  }

  private void fail(ByteBuf in, List<Object> out, Kind kind, String clientText, String detail) {
    int at = in.readerIndex();
    String snippet = in.toString(at, Math.min(in.writerIndex() - at, 32), StandardCharsets.ISO_8859_1);
    in.skipBytes(in.readableBytes());
    state = State.DISCARD;
    out.add(new ProtocolError(kind, clientText, detail + " (near \"" + escape(snippet) + "\")"));
  }

  private static String escape(String s) {
    StringBuilder b = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '\r') {
        b.append("\\r");
      } else if (c == '\n') {
        b.append("\\n");
      } else if (c < 0x20 || c >= 0x7f) {
        b.append(String.format("\\x%02x", (int) c));
      } else {
        b.append(c);
      }
    }
    return b.toString();
  }

  private static boolean isSpace(byte b) {
    return b == ' ' || b == '\t';
  }

  private static int upper(byte b) {
    return b >= 'a' && b <= 'z' ? b - 32 : b;
  }

  private static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.US_ASCII);
  }
}
