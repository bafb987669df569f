package io.leafgate.it.proto;

import static io.leafgate.it.proto.Differential.Input.of;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leafgate.it.harness.Await;
import io.leafgate.it.harness.RawClient;
import io.leafgate.it.proto.Differential.Ending;
import io.leafgate.it.proto.Differential.Input;
import io.leafgate.it.proto.Differential.Transcript;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Configured limits against nats-server: {@code max_payload: 16} and {@code max_control_line: 64}
 * in both servers, and {@code max_connections: 1}. nats-server measures a control line from the
 * first non-blank byte after the operation name to the end of the line (without CRLF).
 */
class LimitsDifferentialTest {
  private static final String QUIET = "CONNECT {\"verbose\":false}\r\n";
  private static final String HDRS = "CONNECT {\"verbose\":false,\"headers\":true}\r\n";

  @TempDir static Path tmp;
  static PeerPair peers;

  @BeforeAll
  static void startPeers() throws IOException {
    peers = PeerPair.start(tmp.resolve("small"), "max_payload: 16\nmax_control_line: 64", o -> {
      o.maxPayload = 16;
      o.maxControlLine = 64;
    });
  }

  @AfterAll
  static void stopPeers() {
    if (peers != null) {
      peers.close();
    }
  }

  static Stream<Arguments> cases() {
    return Stream.of(
        arg("payload at max_payload", of(QUIET + "SUB foo 1\r\nPUB foo 16\r\n0123456789abcdef\r\n")),
        arg("payload over max_payload", of(QUIET + "PUB foo 17\r\n")),
        arg("payload over max_payload with its bytes", of(QUIET + "PUB foo 17\r\n0123456789abcdefg\r\n")),
        arg("HPUB total at max_payload", of(HDRS + "SUB foo 1\r\nHPUB foo 12 16\r\nNATS/1.0\r\n\r\nabcd\r\n")),
        arg("HPUB total over max_payload", of(HDRS + "HPUB foo 12 17\r\n")),
        arg("control line at the limit", of(QUIET + "SUB " + "a".repeat(62) + " 1\r\n")),
        arg("control line one over the limit", of(QUIET + "SUB " + "a".repeat(63) + " 1\r\n")),
        arg("trailing blanks count", of(QUIET + "SUB abc 1" + " ".repeat(60) + "\r\n")),
        arg("blanks after the name do not count", of(QUIET + "SUB" + " ".repeat(100) + "abc 1\r\nPUB abc 1\r\nx\r\n")),
        arg("long PUB line", of(QUIET + "PUB " + "a".repeat(70) + " 1\r\nx\r\n")),
        arg("long line without its end yet", of(QUIET + "PUB " + "a".repeat(100)).noBarrier()),
        arg("long line split across writes", of(QUIET + "SUB " + "a".repeat(40), "b".repeat(40) + " 1\r\n")),
        arg("long CONNECT", of("CONNECT {\"verbose\":false,\"name\":\"" + "x".repeat(80) + "\"}\r\n")),
        arg("long UNSUB", of(QUIET + "UNSUB " + "9".repeat(70) + "\r\n")),
        arg("a PING line is not limited", of(QUIET + "PING " + "x".repeat(200) + "\r\n")));
  }

  private static Arguments arg(String name, Input input) {
    return Arguments.of(name, input);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void answersLikeNatsServer(String name, Input input) throws IOException {
    Differential.assertSame(peers, input);
  }

  /**
   * With {@code max_connections: 1} the second client gets INFO, then -ERR 'maximum connections
   * exceeded' and a close, and the first one keeps working.
   */
  @Test
  void maxConnections() throws IOException {
    try (PeerPair one = PeerPair.start(tmp.resolve("one"), "max_connections: 1", o -> o.maxConnections = 1)) {
      Transcript nats = secondClient(one.nats.port());
      Transcript leaf = secondClient(one.leaf.natsPort());
      assertEquals(Ending.CLOSED, nats.ending(), one.nats.withLog(nats.raw()));
      assertTrue(nats.frames().contains("-ERR 'maximum connections exceeded'"), nats.describe());
      assertEquals(nats.describe(), leaf.describe());
      // Once the first client has gone, a new one is let in.
      awaitAccepted(one.nats.port());
      awaitAccepted(one.leaf.natsPort());
    }
  }

  /** Connects a first client, checks that a second is refused, checks the first still works. */
  private static Transcript secondClient(int port) throws IOException {
    try (RawClient first = RawClient.connect(port)) {
      first.send(QUIET + "PING\r\n");
      first.readUntil(Pattern.compile("PONG\r\n"), Differential.DEADLINE);
      Transcript second = Differential.run(port, Input.of().noBarrier());
      first.send("PING\r\n");
      first.readUntil(Pattern.compile("PONG\r\n"), Differential.DEADLINE);
      return second;
    }
  }

  /** Waits until a fresh client is accepted (the refused and the closed ones are gone). */
  private static void awaitAccepted(int port) {
    Await.until(Duration.ofSeconds(5), () -> {
      try {
        Transcript t = Differential.run(port, Input.of(QUIET));
        return t.ending() == Ending.OPEN ? null : "refused: " + t.describe();
      } catch (IOException e) {
        return e.toString();
      }
    });
  }
}
