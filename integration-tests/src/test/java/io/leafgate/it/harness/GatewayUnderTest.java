package io.leafgate.it.harness;

import io.leafgate.gateway.Gateway;
import io.leafgate.leaf.config.ServerOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;

/**
 * leafgate started in this JVM with {@link Gateway#start} for one test: ephemeral NATS and
 * monitoring ports, MQTT off, its store in {@code <dir>/store}. A hook may adjust the options
 * before the start.
 */
public final class GatewayUnderTest implements AutoCloseable {
  private final Path dir;
  private final Gateway gateway;

  private GatewayUnderTest(Path dir, Gateway gateway) {
    this.dir = dir;
    this.gateway = gateway;
  }

  /** Starts a gateway with the test defaults. */
  public static GatewayUnderTest start(Path dir) throws IOException {
    return start(dir, o -> { });
  }

  /** Starts a gateway with the test defaults changed by {@code tweak}. */
  public static GatewayUnderTest start(Path dir, Consumer<ServerOptions> tweak) throws IOException {
    Files.createDirectories(dir);
    ServerOptions o = new ServerOptions();
    o.host = "127.0.0.1";
    o.port = -1;
    o.httpHost = "127.0.0.1";
    o.httpPort = -1;
    o.mqttPort = 0;
    o.storeDir = dir.resolve("store");
    tweak.accept(o);
    return new GatewayUnderTest(dir, Gateway.start(o));
  }

  /** The NATS client port. */
  public int natsPort() {
    return gateway.natsPort();
  }

  /** The monitoring port. */
  public int httpPort() {
    return gateway.httpPort();
  }

  /** {@code nats://127.0.0.1:<port>}. */
  public String clientUrl() {
    return "nats://127.0.0.1:" + natsPort();
  }

  /** The running gateway. */
  public Gateway gateway() {
    return gateway;
  }

  /** The folder that holds the store. */
  public Path dir() {
    return dir;
  }

  @Override
  public void close() {
    gateway.close();
  }
}
