package io.leafgate.it.jetstream;

import io.leafgate.gateway.Gateway;
import io.leafgate.leaf.config.ServerOptions;
import java.io.IOException;
import java.nio.file.Path;

/**
 * A leafgate with its local JetStream, started in this JVM on free ports with its store in the
 * test's temporary folder. Closing it stops the gateway.
 */
final class JsGateway implements AutoCloseable {
  private final Gateway gateway;

  private JsGateway(Gateway gateway) {
    this.gateway = gateway;
  }

  static JsGateway start(Path storeDir) throws IOException {
    ServerOptions o = new ServerOptions();
    o.port = -1;
    o.httpPort = -1;
    o.mqttPort = 0;
    o.storeDir = storeDir;
    o.jetStream = true;
    return new JsGateway(Gateway.start(o));
  }

  String url() {
    return "nats://127.0.0.1:" + gateway.natsPort();
  }

  Gateway gateway() {
    return gateway;
  }

  @Override
  public void close() {
    gateway.close();
  }
}
