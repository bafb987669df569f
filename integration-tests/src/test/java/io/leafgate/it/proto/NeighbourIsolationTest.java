package io.leafgate.it.proto;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.leafgate.it.harness.RawClient;
import io.leafgate.it.proto.Differential.Ending;
import io.leafgate.it.proto.Differential.Input;
import io.leafgate.it.proto.Differential.Transcript;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A client's protocol error closes only that client: a subscriber on the same server keeps its
 * subscription and its connection, and nothing the broken client sent after its error is routed.
 * The same script runs against nats-server and leafgate and the subscriber's view must match.
 */
class NeighbourIsolationTest {
  private static final String QUIET = "CONNECT {\"verbose\":false}\r\n";
  private static final Pattern PONG = Pattern.compile("PONG\r\n");

  @Test
  void neighboursSurviveAProtocolError(@TempDir Path tmp) throws IOException {
    try (PeerPair peers = PeerPair.start(tmp)) {
      List<String> nats = script(peers.nats.port());
      List<String> leaf = script(peers.leaf.natsPort());
      assertEquals(List.of(
          "broken: -ERR 'Unknown Protocol Operation' [CLOSED]",
          "bad CONNECT: [CLOSED]",
          "subscriber: MSG foo 1 2 | \"ok\" | PONG"), nats, () -> peers.nats.withLog("nats-server"));
      assertEquals(nats, leaf);
    }
  }

  private static List<String> script(int port) throws IOException {
    List<String> seen = new ArrayList<>();
    try (RawClient sub = RawClient.connect(port)) {
      sub.send(QUIET + "SUB foo 1\r\nPING\r\n");
      sub.readUntil(PONG, Differential.DEADLINE);
      int mark = sub.received().length();
      // A neighbour subscribes too, then sends garbage: closed with -ERR.
      Transcript broken = Differential.run(port, Input.of(QUIET + "SUB foo 2\r\n\u0001\u0002\r\nPUB foo 3\r\nbad\r\n"));
      seen.add("broken: " + tail(broken));
      // Another sends a bad CONNECT and then a PUB in the same write: closed, the PUB is not routed.
      Transcript badConnect = Differential.run(port, Input.of("CONNECT {bad\r\nPUB foo 3\r\nbad\r\n"));
      seen.add("bad CONNECT: " + tail(badConnect));
      // A third publishes normally.
      Transcript pub = Differential.run(port, Input.of(QUIET + "PUB foo 2\r\nok\r\n"));
      assertEquals(Ending.OPEN, pub.ending(), pub.describe());
      sub.send("PING\r\n");
      sub.readUntil(PONG, Differential.DEADLINE);
      List<String> frames = Differential.frames(sub.received().substring(mark));
      seen.add("subscriber: " + String.join(" | ", frames));
    }
    return seen;
  }

  /** The frames after INFO, and the ending. */
  private static String tail(Transcript t) {
    List<String> f = t.frames().subList(1, t.frames().size());
    return (f.isEmpty() ? "" : String.join(" | ", f) + " ") + "[" + t.ending() + "]";
  }
}
