package io.leafgate.leaf.proto;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leafgate.leaf.proto.ClientOp.ProtocolError;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

class NatsDecoderTest {
  private static final String FRAMES = "CONNECT {\"verbose\":false,\"headers\":true}\r\n"
      + "PUB foo 5\r\nhello\r\n"
      + "pub foo.bar _INBOX.1 0\r\n\r\n"
      + "HPUB h.x 12 14\r\nNATS/1.0\r\n\r\nhi\r\n"
      + "HPUB h.y rep 12 12\r\nNATS/1.0\r\n\r\n\r\n"
      + "SUB foo.* 1\r\n"
      + "SUB foo.> workers 22\r\n"
      + "UNSUB 1\r\n"
      + "UNSUB 22 5\r\n"
      + "PING\r\n"
      + "PONG\r\n"
      + "ping\r\n"
      + "PUB\tfoo\t\t3\r\nabc\r\n";

  private static EmbeddedChannel channel() {
    NatsDecoder d = new NatsDecoder(4096, 1024 * 1024);
    d.setHeadersEnabled(true);
    return new EmbeddedChannel(d);
  }

  /** Feeds {@code input} in the given pieces and returns the decoded ops, as strings. */
  private static List<String> decode(byte[] input, int[] cuts) {
    EmbeddedChannel ch = channel();
    int from = 0;
    for (int cut : cuts) {
      ch.writeInbound(Unpooled.wrappedBuffer(input, from, cut - from));
      from = cut;
    }
    ch.writeInbound(Unpooled.wrappedBuffer(input, from, input.length - from));
    List<String> ops = new ArrayList<>();
    Object o;
    while ((o = ch.readInbound()) != null) {
      ops.add(render(o));
    }
    assertFalse(ch.finish());
    return ops;
  }

  private static String render(Object o) {
    if (o instanceof ClientOp.Pub p) {
      String s = "PUB " + p.subject() + " " + p.reply() + " h=" + p.headers() + "/" + p.hdrLen() + " ["
          + p.data().toString(StandardCharsets.ISO_8859_1) + "]";
      p.release();
      return s;
    }
    return o.toString();
  }

  @Test
  void decodesEveryFrameWhole() {
    List<String> ops = decode(FRAMES.getBytes(StandardCharsets.ISO_8859_1), new int[0]);
    assertEquals(List.of(
        "Connect[json={\"verbose\":false,\"headers\":true}]",
        "PUB foo null h=false/0 [hello]",
        "PUB foo.bar _INBOX.1 h=false/0 []",
        "PUB h.x null h=true/12 [NATS/1.0\r\n\r\nhi]",
        "PUB h.y rep h=true/12 [NATS/1.0\r\n\r\n]",
        "Sub[subject=foo.*, queue=null, sid=1]",
        "Sub[subject=foo.>, queue=workers, sid=22]",
        "Unsub[sid=1, max=0]",
        "Unsub[sid=22, max=5]",
        "Ping[]",
        "Pong[]",
        "Ping[]",
        "PUB foo null h=false/0 [abc]"), ops);
  }

  @Test
  void decodesByteByByte() {
    byte[] in = FRAMES.getBytes(StandardCharsets.ISO_8859_1);
    int[] cuts = new int[in.length - 1];
    for (int i = 0; i < cuts.length; i++) {
      cuts[i] = i + 1;
    }
    assertEquals(decode(in, new int[0]), decode(in, cuts));
  }

  @Test
  void decodesWhenSplitAtEveryPoint() {
    byte[] in = FRAMES.getBytes(StandardCharsets.ISO_8859_1);
    List<String> whole = decode(in, new int[0]);
    for (int i = 1; i < in.length; i++) {
      assertEquals(whole, decode(in, new int[] {i}), "split at " + i);
    }
  }

  @Test
  void decodesRandomChunks() {
    byte[] in = FRAMES.repeat(4).getBytes(StandardCharsets.ISO_8859_1);
    List<String> whole = decode(in, new int[0]);
    Random r = new Random(42);
    for (int round = 0; round < 60; round++) {
      List<Integer> cuts = new ArrayList<>();
      int at = 0;
      while (true) {
        at += 1 + r.nextInt(40);
        if (at >= in.length) {
          break;
        }
        cuts.add(at);
      }
      assertEquals(whole, decode(in, cuts.stream().mapToInt(Integer::intValue).toArray()), "round " + round);
    }
  }

  private static ProtocolError expectError(String input, Consumer<EmbeddedChannel> before) {
    EmbeddedChannel ch = channel();
    before.accept(ch);
    ch.writeInbound(Unpooled.copiedBuffer(input, StandardCharsets.ISO_8859_1));
    Object o;
    ProtocolError err = null;
    while ((o = ch.readInbound()) != null) {
      if (o instanceof ProtocolError e) {
        err = e;
      } else if (o instanceof ClientOp.Pub p) {
        p.release();
      }
    }
    // Nothing after an error is decoded.
    ch.writeInbound(Unpooled.copiedBuffer("PING\r\n", StandardCharsets.ISO_8859_1));
    assertNull(ch.readInbound());
    assertFalse(ch.finish());
    assertTrue(err != null, "expected a protocol error for " + input);
    return err;
  }

  private static ProtocolError expectError(String input) {
    return expectError(input, ch -> {});
  }

  @Test
  void refusesUnknownOperationsAtOnce() {
    ProtocolError e = expectError("XYZ");
    assertEquals(ProtocolError.Kind.UNKNOWN_OPERATION, e.kind());
    assertEquals("Unknown Protocol Operation", e.clientText());
    assertEquals(ProtocolError.Kind.UNKNOWN_OPERATION, expectError("PUBX foo 1\r\n").kind());
    assertEquals(ProtocolError.Kind.UNKNOWN_OPERATION, expectError("PUB\r\n").kind());
    assertEquals(ProtocolError.Kind.UNKNOWN_OPERATION, expectError("\r\n").kind());
  }

  @Test
  void refusesPayloadLongerThanDeclared() {
    ProtocolError e = expectError("PUB foo 3\r\nhello\r\n");
    assertEquals(ProtocolError.Kind.UNKNOWN_OPERATION, e.kind());
  }

  @Test
  void refusesOversizePayloadBeforeReadingIt() {
    ProtocolError e = expectError("PUB foo 1048577\r\n");
    assertEquals(ProtocolError.Kind.MAX_PAYLOAD, e.kind());
    assertEquals("Maximum Payload Violation", e.clientText());
  }

  @Test
  void boundsTheControlLineBeforeItEnds() {
    ProtocolError e = expectError("SUB " + "a".repeat(5000));
    assertEquals(ProtocolError.Kind.MAX_CONTROL_LINE, e.kind());
    assertEquals("maximum control line exceeded", e.clientText());
    assertEquals(ProtocolError.Kind.MAX_CONTROL_LINE, expectError("SUB " + "a".repeat(4100) + " 1\r\n").kind());
  }

  @Test
  void refusesBadArguments() {
    assertNull(expectError("PUB foo\r\n").clientText());
    assertEquals(ProtocolError.Kind.BAD_ARGUMENTS, expectError("PUB foo x\r\n").kind());
    assertEquals(ProtocolError.Kind.BAD_ARGUMENTS, expectError("SUB foo\r\n").kind());
    assertEquals(ProtocolError.Kind.BAD_ARGUMENTS, expectError("SUB a b c d\r\n").kind());
    assertEquals(ProtocolError.Kind.BAD_ARGUMENTS, expectError("HPUB foo 5 3\r\n").kind());
    assertEquals(ProtocolError.Kind.BAD_ARGUMENTS, expectError("UNSUB\t\r\n").kind());
  }

  @Test
  void refusesHeadersUntilTheClientAskedForThem() {
    EmbeddedChannel ch = new EmbeddedChannel(new NatsDecoder(4096, 1024));
    ch.writeInbound(Unpooled.copiedBuffer("HPUB a 12 12\r\nNATS/1.0\r\n\r\n\r\n", StandardCharsets.US_ASCII));
    Object o = ch.readInbound();
    assertInstanceOf(ProtocolError.class, o);
    assertFalse(ch.finish());
  }

  @Test
  void payloadIsASliceOfTheReadBuffer() {
    EmbeddedChannel ch = channel();
    ByteBuf in = Unpooled.directBuffer().writeBytes("PUB a 3\r\nxyz\r\n".getBytes(StandardCharsets.US_ASCII));
    ch.writeInbound(in);
    ClientOp.Pub p = ch.readInbound();
    assertEquals("xyz", p.data().toString(StandardCharsets.US_ASCII));
    assertTrue(p.data().refCnt() >= 1);
    p.release();
    assertFalse(ch.finish());
  }
}
