package io.leafgate.it.proto;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leafgate.it.harness.Bytes;
import io.leafgate.it.harness.RawClient;
import io.leafgate.it.proto.Differential.Ending;
import io.leafgate.it.proto.Differential.Input;
import io.leafgate.it.proto.Differential.Transcript;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The server's own PINGs, with {@code ping_interval: 200ms} and {@code ping_max: 2} in both
 * servers. When they come is timing (nats-server adds up to 20% and skips a PING after recent
 * client activity), so what is compared is the outcome: a silent client gets two PINGs and then
 * -ERR 'Stale Connection' and a close; a client that answers its PINGs stays.
 */
class KeepAliveDifferentialTest {
  private static final Pattern PING = Pattern.compile("(?m)^PING\r\n");

  @TempDir static Path tmp;
  static PeerPair peers;

  @BeforeAll
  static void startPeers() throws IOException {
    peers = PeerPair.start(tmp, "ping_interval: \"200ms\"\nping_max: 2", o -> {
      o.pingInterval = Duration.ofMillis(200);
      o.pingMax = 2;
    });
  }

  @AfterAll
  static void stopPeers() {
    if (peers != null) {
      peers.close();
    }
  }

  @Test
  void silentClientIsClosedAsStale() throws IOException {
    Input in = Input.of("CONNECT {\"verbose\":false}\r\n").noBarrier();
    Differential.Both both = Differential.assertSame(peers, in);
    assertEquals(Ending.CLOSED, both.nats().ending());
    assertTrue(both.nats().frames().contains("-ERR 'Stale Connection'"), both.nats().describe());
    for (Transcript t : new Transcript[] {both.nats(), both.leaf()}) {
      String raw = t.raw();
      String beforeError = raw.substring(0, Math.max(0, raw.indexOf("-ERR")));
      assertEquals(2, PING.matcher(beforeError).results().count(), "two PINGs before the error: " + Bytes.show(raw));
    }
  }

  @Test
  void clientThatAnswersStays() throws IOException {
    for (int port : new int[] {peers.nats.port(), peers.leaf.natsPort()}) {
      try (RawClient c = RawClient.connect(port)) {
        c.send("CONNECT {\"verbose\":false}\r\n");
        for (int i = 0; i < 3; i++) {
          c.readUntil(PING, Duration.ofSeconds(5));
          c.send("PONG\r\n");
        }
        c.send("PING\r\n");
        String rest = c.readUntil(Pattern.compile("(?m)^PONG\r\n"), Duration.ofSeconds(5));
        assertTrue(!rest.contains("-ERR"), (port == peers.nats.port() ? "nats-server: " : "leafgate: ") + Bytes.show(rest));
      }
    }
  }
}
