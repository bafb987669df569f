package io.leafgate.it.proto;

import static io.leafgate.it.proto.Differential.Input.of;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leafgate.it.proto.Differential.Ending;
import io.leafgate.it.proto.Differential.Input;
import io.leafgate.it.proto.Differential.Transcript;
import java.io.IOException;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The happy paths of the client protocol, byte for byte against nats-server: PING/PONG, PUB, HPUB,
 * SUB and UNSUB, queue groups, wildcards, auto-unsubscribe, no-responders and reply ordering.
 *
 * <p>When several subscriptions on one trie node match, nats-server delivers them in Go map order,
 * which is random; the exact comparisons therefore use at most one subscription per node, and
 * {@link #sameSubjectSubscriptionsAllGetACopy} compares counts. (One more ordering case, where the
 * two servers differ, is in {@link KnownDifferencesTest}.)
 */
class ProtocolDifferentialTest extends DefaultPeersTest {
  private static final String QUIET = "CONNECT {\"verbose\":false}\r\n";
  private static final String HDRS = "CONNECT {\"verbose\":false,\"headers\":true}\r\n";


  static Stream<Arguments> cases() {
    return Stream.of(
        arg("PING", of(QUIET + "PING\r\n")),
        arg("ping in lower and mixed case", of(QUIET + "ping\r\npInG\r\n")),
        arg("PING with trailing text", of(QUIET + "PING foo\r\nPINGX\r\n")),
        arg("PING with LF only", of(QUIET + "PING\n")),
        arg("PING split across writes", of(QUIET + "PI", "NG\r", "\n")),
        arg("PING before CONNECT", of("PING\r\n")),
        arg("unsolicited PONG, +OK and INFO are ignored", of(QUIET + "PONG\r\n+OK\r\nINFO {}\r\n")),
        arg("-ERR from a client closes silently", of(QUIET + "-ERR 'oops'\r\n")),
        arg("PUB with nobody listening", of(QUIET + "PUB foo 2\r\nhi\r\n")),
        arg("SUB then PUB", of(QUIET + "SUB foo 1\r\nPUB foo 5\r\nhello\r\n")),
        arg("PUB with a reply subject", of(QUIET + "SUB foo 1\r\nPUB foo bar 5\r\nhello\r\n")),
        arg("empty payload", of(QUIET + "SUB foo 1\r\nPUB foo 0\r\n\r\n")),
        arg("payload holding CRLF", of(QUIET + "SUB foo 1\r\nPUB foo 4\r\na\r\nb\r\n")),
        arg("payload with every byte value", of(QUIET + "SUB foo 1\r\nPUB foo 256\r\n" + allBytes() + "\r\n")),
        arg("payload split across writes", of(QUIET + "SUB foo 1\r\nPUB foo 10\r\n01234", "56789\r", "\n")),
        arg("control line split across writes", of(QUIET + "SU", "B foo 1\r\nPU", "B foo 1\r\nx\r\n")),
        arg("tabs and repeated spaces between arguments", of(QUIET + "SUB \t foo\t\t1\r\nPUB  foo \t 2 \r\nhi\r\n")),
        arg("lower-case ops", of(QUIET + "sub foo 1\r\npub foo 1\r\nx\r\nunsub 1\r\npub foo 1\r\ny\r\n")),
        arg("verbose acks every op", of("CONNECT {\"verbose\":true}\r\nSUB foo 1\r\nPUB foo 1\r\nx\r\nUNSUB 1\r\n")),
        arg("MSG comes before the PONG that follows it", of(QUIET + "SUB foo 1\r\nPUB foo 1\r\na\r\nPING\r\nPUB foo 1\r\nb\r\n")),
        arg("messages keep publish order", of(QUIET + "SUB foo 1\r\nPUB foo 1\r\n1\r\nPUB foo 1\r\n2\r\nPUB foo 1\r\n3\r\n")),
        arg("non-ASCII subject bytes pass through", of(QUIET + "SUB f\u00f6o 1\r\nPUB f\u00f6o 1\r\nx\r\n")),
        // Wildcards (one subscription per trie node, so that the order is fixed).
        arg("* matches one token", of(QUIET + "SUB foo.* 1\r\nPUB foo.bar 1\r\nx\r\nPUB foo.bar.baz 1\r\ny\r\nPUB foo 1\r\nz\r\n")),
        arg("> matches one or more tokens", of(QUIET + "SUB foo.> 1\r\nPUB foo.bar 1\r\nx\r\nPUB foo.bar.baz 1\r\ny\r\nPUB foo 1\r\nz\r\n")),
        arg("full wildcard", of(QUIET + "SUB > 1\r\nPUB a 1\r\nx\r\nPUB a.b.c 1\r\ny\r\n")),
        arg("overlapping wildcards each get a copy",
            of(QUIET + "SUB foo.> 1\r\nSUB *.bar 2\r\nSUB foo.bar 3\r\nPUB foo.bar 1\r\nx\r\n")),
        arg("wildcard in the middle", of(QUIET + "SUB a.*.c 1\r\nPUB a.b.c 1\r\nx\r\nPUB a.b.d 1\r\ny\r\n")),
        // Queue groups.
        // nats-server walks queue groups in Go map order, so their order is random.
        arg("one member per group: each group gets one copy",
            of(QUIET + "SUB foo q1 1\r\nSUB foo q2 2\r\nSUB foo 3\r\nPUB foo 1\r\nx\r\n").unordered()),
        arg("queue group on a wildcard", of(QUIET + "SUB foo.* q 1\r\nPUB foo.a 1\r\nx\r\nPUB foo.b 1\r\ny\r\n")),
        arg("queue names may hold dots and wildcards", of("CONNECT {\"verbose\":true}\r\nSUB a q.* 1\r\nSUB a > 2\r\nPUB a 1\r\nx\r\n").unordered()),
        // SUB and UNSUB bookkeeping.
        arg("a second SUB with the same sid is ignored", of(QUIET + "SUB foo 1\r\nSUB foo 1\r\nPUB foo 1\r\na\r\n")),
        arg("a reused sid keeps the first subject", of(QUIET + "SUB a 1\r\nSUB b 1\r\nPUB b 1\r\nx\r\nPUB a 1\r\ny\r\n")),
        arg("UNSUB stops delivery", of(QUIET + "SUB foo 1\r\nUNSUB 1\r\nPUB foo 1\r\nx\r\n")),
        arg("UNSUB of an unknown sid is acknowledged", of("CONNECT {\"verbose\":true}\r\nUNSUB 99\r\n")),
        arg("UNSUB with max: auto-unsubscribe after N",
            of(QUIET + "SUB foo 1\r\nUNSUB 1 2\r\nPUB foo 1\r\na\r\nPUB foo 1\r\nb\r\nPUB foo 1\r\nc\r\n")),
        arg("UNSUB max at or below what was delivered removes at once",
            of(QUIET + "SUB foo 1\r\nPUB foo 1\r\na\r\nPUB foo 1\r\nb\r\nUNSUB 1 2\r\nPUB foo 1\r\nc\r\n")),
        arg("UNSUB max above what was delivered allows the rest",
            of(QUIET + "SUB foo 1\r\nPUB foo 1\r\na\r\nUNSUB 1 2\r\nPUB foo 1\r\nb\r\nPUB foo 1\r\nc\r\n")),
        arg("UNSUB max of 0, a negative or a bad number removes at once",
            of(QUIET + "SUB a 1\r\nUNSUB 1 0\r\nSUB b 2\r\nUNSUB 2 -5\r\nSUB c 3\r\nUNSUB 3 x\r\n"
                + "PUB a 1\r\nx\r\nPUB b 1\r\nx\r\nPUB c 1\r\nx\r\n")),
        arg("auto-unsubscribe on a queue subscription",
            of(QUIET + "SUB foo q 1\r\nUNSUB 1 1\r\nPUB foo 1\r\na\r\nPUB foo 1\r\nb\r\n")),
        // Headers.
        arg("HPUB to HMSG", of(HDRS + "SUB foo 1\r\nHPUB foo 22 24\r\nNATS/1.0\r\nA: b\r\n\r\n\r\nhi\r\n")),
        arg("HPUB with a reply", of(HDRS + "SUB foo 1\r\nHPUB foo r 12 14\r\nNATS/1.0\r\n\r\nhi\r\n")),
        arg("HPUB with headers only", of(HDRS + "SUB foo 1\r\nHPUB foo 12 12\r\nNATS/1.0\r\n\r\n\r\n")),
        arg("HPUB with a zero header size", of(HDRS + "SUB foo 1\r\nHPUB foo 0 2\r\nhi\r\n")),
        arg("PUB reaches a headers subscriber as MSG", of(HDRS + "SUB foo 1\r\nPUB foo 2\r\nhi\r\n")),
        arg("HPUB with sizes 0 0 arrives as an empty MSG", of(HDRS + "SUB foo 1\r\nHPUB foo 0 0\r\n\r\n")),
        arg("HPUB header bytes are not checked", of(HDRS + "SUB foo 1\r\nHPUB foo 5 7\r\nabcde12\r\n")),
        arg("sids and queue names are opaque bytes",
            of(QUIET + "SUB bar s\u00c3\u00bc-\u0001 \r\nSUB bar q\u0001 2\r\nPUB bar 1\r\nx\r\nSUB \u007f 3\r\nPUB \u007f 1\r\ny\r\n")),
        arg("blank arguments around a reply", of(QUIET + "SUB foo 1\r\nPUB foo  r  1\r\nx\r\nPUB foo 0 \r\n\r\n")),
        // No responders.
        arg("request to no one: 503 on the requester's reply subscription",
            of("CONNECT {\"verbose\":false,\"headers\":true,\"no_responders\":true}\r\n"
                + "SUB _INBOX.r1 1\r\nPUB svc _INBOX.r1 2\r\nhi\r\n")),
        arg("request to no one without a reply subscription: nothing",
            of("CONNECT {\"verbose\":false,\"headers\":true,\"no_responders\":true}\r\nPUB svc _INBOX.r1 2\r\nhi\r\n")),
        arg("request with a responder: no 503",
            of("CONNECT {\"verbose\":false,\"headers\":true,\"no_responders\":true}\r\n"
                + "SUB svc 1\r\nSUB _INBOX.r1 2\r\nPUB svc _INBOX.r1 2\r\nhi\r\n")),
        arg("request to no one without no_responders: nothing",
            of(HDRS + "SUB _INBOX.r1 1\r\nPUB svc _INBOX.r1 2\r\nhi\r\n")),
        arg("echo off, own queue subscription only: a 503",
            of("CONNECT {\"verbose\":true,\"headers\":true,\"no_responders\":true,\"echo\":false}\r\n"
                + "SUB svc q 1\r\nSUB _I.x 2\r\nPUB svc _I.x 1\r\nx\r\n")),
        arg("request to no one with echo off",
            of("CONNECT {\"verbose\":false,\"headers\":true,\"no_responders\":true,\"echo\":false}\r\n"
                + "SUB _INBOX.r1 1\r\nPUB svc _INBOX.r1 2\r\nhi\r\n")),
        arg("echo off, own subscription only: still counts as no responder",
            of("CONNECT {\"verbose\":false,\"headers\":true,\"no_responders\":true,\"echo\":false}\r\n"
                + "SUB svc 2\r\nSUB _INBOX.r1 1\r\nPUB svc _INBOX.r1 2\r\nhi\r\n")),
        arg("reserved reply prefix _R_.", of(QUIET + "SUB a 1\r\nPUB a _R_.x 1\r\nx\r\n")),
        arg("reserved reply prefix _GR_.", of(QUIET + "SUB a 1\r\nPUB a _GR_.x.y 1\r\nx\r\n")),
        arg("reserved reply prefix $JS.ACK.", of(QUIET + "SUB a 1\r\nPUB a $JS.ACK.s.c.1 1\r\nx\r\n")),
        arg("bare reserved prefixes", of(QUIET + "SUB a 1\r\nPUB a _GR_. 1\r\nx\r\nPUB a $JS.ACK. 1\r\ny\r\nPUB a _R_ 1\r\nz\r\n")),
        arg("publishing to _GR_. subjects", of("CONNECT {\"verbose\":true,\"pedantic\":false}\r\nSUB > 1\r\nPUB _GR_.x 1\r\nx\r\n"
            + "PUB _GR_ 1\r\ny\r\n")),
        arg("reserved prefixes are checked case-sensitively", of(QUIET + "SUB a 1\r\nPUB a _r_.x 1\r\nx\r\nPUB a $js.ack.x 1\r\ny\r\n")),
        arg("a quote in a refused reply is escaped", of(QUIET + "SUB a 1\r\nPUB a _R_.\"q\\ 1\r\nx\r\n")),
        arg("no 503 for a reserved reply", of("CONNECT {\"verbose\":false,\"headers\":true,\"no_responders\":true}\r\n"
            + "SUB _R_.> 1\r\nPUB svc _R_.x 1\r\nx\r\n")));
  }

  private static Arguments arg(String name, Input input) {
    return Arguments.of(name, input);
  }

  private static String allBytes() {
    StringBuilder b = new StringBuilder(256);
    for (int i = 0; i < 256; i++) {
      b.append((char) i);
    }
    return b.toString();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void answersLikeNatsServer(String name, Input input) throws IOException {
    Differential.assertSame(peers, input);
  }

  @Test
  void sameSubjectSubscriptionsAllGetACopy() throws IOException {
    Input in = of(QUIET + "SUB foo 1\r\nSUB foo 2\r\nSUB foo 3\r\nPUB foo 1\r\nx\r\nPUB foo 1\r\ny\r\n");
    List<String> nats = sorted(Differential.run(peers.nats.port(), in));
    List<String> leaf = sorted(Differential.run(peers.leaf.natsPort(), in));
    assertEquals(9, nats.size(), () -> "nats-server: " + nats);
    assertEquals(nats, leaf);
  }

  @Test
  void queueGroupDeliversEachMessageToOneMember() throws IOException {
    StringBuilder b = new StringBuilder(QUIET + "SUB foo q 1\r\nSUB foo q 2\r\nSUB foo 3\r\n");
    for (int i = 0; i < 20; i++) {
      b.append("PUB foo 1\r\n").append((char) ('a' + i)).append("\r\n");
    }
    for (PeerCheck p : List.of(new PeerCheck("nats-server", peers.nats.port()),
        new PeerCheck("leafgate", peers.leaf.natsPort()))) {
      Transcript t = Differential.run(p.port(), of(b.toString()));
      assertEquals(Ending.OPEN, t.ending(), p.name());
      long plain = t.frames().stream().filter(f -> f.startsWith("MSG foo 3 ")).count();
      long queued = t.frames().stream().filter(f -> f.startsWith("MSG foo 1 ") || f.startsWith("MSG foo 2 ")).count();
      assertEquals(20, plain, p.name() + ": plain subscriber " + t.frames());
      assertEquals(20, queued, p.name() + ": queue group, exactly one copy each " + t.frames());
      assertTrue(t.frames().get(t.frames().size() - 1).equals("PONG"), p.name());
    }
  }

  private record PeerCheck(String name, int port) {}

  private static List<String> sorted(Transcript t) {
    return Stream.concat(t.frames().stream(), Stream.of("[" + t.ending() + "]")).sorted().toList();
  }
}
