package io.leafgate.mqtt.server;

import io.leafgate.leaf.config.ServerOptions;
import io.leafgate.leaf.route.Router;
import io.leafgate.leaf.server.Transport;
import io.leafgate.leaf.spi.StreamCapture;
import io.leafgate.storage.engine.JetStreamEngine;
import io.leafgate.storage.mem.MemJetStreamStore;
import java.util.function.Consumer;

/**
 * A router with the local JetStream (in-memory store) and the MQTT listener on a free port: the
 * adapter without the rest of the gateway. A restart keeps the JetStream store, so that what the
 * MQTT store keeps can be checked across a restart of the MQTT server and the engine.
 */
final class TestBroker implements AutoCloseable {
  final Router router = new Router();
  final Transport transport = Transport.create(2);
  final StreamCapture capture = new StreamCapture();
  final MemJetStreamStore jsStore;
  final JetStreamEngine engine;
  final MqttServer mqtt;
  final ServerOptions options;

  private TestBroker(MemJetStreamStore jsStore, Consumer<ServerOptions> settings) throws Exception {
    this.jsStore = jsStore;
    options = new ServerOptions();
    options.mqttPort = -1;
    if (settings != null) {
      settings.accept(options);
    }
    engine = new JetStreamEngine(router, jsStore, new JetStreamEngine.Options(null, -1, -1, "test"));
    engine.start();
    capture.install(engine::captures);
    mqtt = new MqttServer(options, router, transport, capture, true);
    mqtt.start();
  }

  static TestBroker start() throws Exception {
    return new TestBroker(new MemJetStreamStore(), null);
  }

  static TestBroker start(Consumer<ServerOptions> settings) throws Exception {
    return new TestBroker(new MemJetStreamStore(), settings);
  }

  /** Stops this broker and starts another on the same JetStream store and port. */
  TestBroker restart() throws Exception {
    int port = mqtt.boundPort();
    Consumer<ServerOptions> same = o -> o.mqttPort = port;
    mqtt.close();
    engine.close();
    transport.shutdown();
    return new TestBroker(jsStore, same);
  }

  int port() {
    return mqtt.boundPort();
  }

  @Override
  public void close() {
    mqtt.close();
    engine.close();
    transport.shutdown();
  }
}
