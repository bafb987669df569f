package io.leafgate.it.clients;

import io.leafgate.gateway.Gateway;
import io.leafgate.leaf.config.ServerOptions;
import java.io.IOException;
import java.nio.file.Path;
import java.util.function.Consumer;

/**
 * A leafgate started in this JVM for one test: NATS and monitoring on free ports, MQTT off, the
 * store in the test's temporary folder. Closing it stops the gateway.
 */
final class TestGateway implements AutoCloseable {
  private final Gateway gateway;

  private TestGateway(Gateway gateway) {
    this.gateway = gateway;
  }

  /** Starts a gateway with default settings on free ports. */
  static TestGateway start(Path storeDir) throws IOException {
    return start(storeDir, o -> {});
  }

  /**
   * Starts a gateway on free ports after {@code settings} has adjusted the options (it may set a
   * fixed {@code port}, as a restart on the same port does).
   */
  static TestGateway start(Path storeDir, Consumer<ServerOptions> settings) throws IOException {
    ServerOptions o = new ServerOptions();
    o.port = -1;
    o.httpPort = -1;
    o.mqttPort = 0;
    o.storeDir = storeDir;
    settings.accept(o);
    return new TestGateway(Gateway.start(o));
  }

  /** The client URL, {@code nats://127.0.0.1:<port>}. */
  String url() {
    return "nats://" + gateway.options().host + ":" + port();
  }

  int port() {
    return gateway.natsPort();
  }

  Gateway gateway() {
    return gateway;
  }

  @Override
  public void close() {
    gateway.close();
  }
}
