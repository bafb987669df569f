package io.leafgate.it.proto;

import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;

/**
 * A test class whose cases all run against one pair of peers on default settings (nats-server and
 * leafgate, see {@link PeerPair}), started before the first case and stopped after the last.
 */
abstract class DefaultPeersTest {
  @TempDir static Path tmp;
  static PeerPair peers;

  @BeforeAll
  static void startPeers() throws IOException {
    peers = PeerPair.start(tmp);
  }

  @AfterAll
  static void stopPeers() {
    if (peers != null) {
      peers.close();
      peers = null;
    }
  }
}
