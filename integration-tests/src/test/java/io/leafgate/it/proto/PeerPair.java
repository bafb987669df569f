package io.leafgate.it.proto;

import io.leafgate.it.harness.GatewayUnderTest;
import io.leafgate.it.harness.NatsServerProcess;
import io.leafgate.leaf.config.ServerOptions;
import java.io.IOException;
import java.nio.file.Path;
import java.util.function.Consumer;

/**
 * A nats-server and a leafgate configured alike, for differential tests: the same config text goes
 * to nats-server, and a hook sets the same values on leafgate's {@link ServerOptions}.
 */
final class PeerPair implements AutoCloseable {
  final NatsServerProcess nats;
  final GatewayUnderTest leaf;

  private PeerPair(NatsServerProcess nats, GatewayUnderTest leaf) {
    this.nats = nats;
    this.leaf = leaf;
  }

  /** Both servers on their defaults. */
  static PeerPair start(Path dir) throws IOException {
    return start(dir, "", o -> { });
  }

  /**
   * Starts nats-server with {@code natsConfig} appended to its config, and leafgate with {@code
   * leafOptions} applied; the two must describe the same settings.
   */
  static PeerPair start(Path dir, String natsConfig, Consumer<ServerOptions> leafOptions) throws IOException {
    NatsServerProcess nats = NatsServerProcess.builder(dir.resolve("nats")).extraConfig(natsConfig).start();
    try {
      // nats-server runs without JetStream here, so leafgate does too (no $JS.API interest).
      return new PeerPair(nats, GatewayUnderTest.start(dir.resolve("leaf"), o -> {
        o.jetStream = false;
        leafOptions.accept(o);
      }));
    } catch (IOException | RuntimeException | Error e) {
      nats.close();
      throw e;
    }
  }

  @Override
  public void close() {
    try {
      leaf.close();
    } finally {
      nats.close();
    }
  }
}
