package io.leafgate.gateway;

import com.fasterxml.jackson.jr.ob.JSON;
import io.leafgate.leaf.config.ServerOptions;
import io.leafgate.leaf.monitor.CoreMonitor;
import io.leafgate.leaf.monitor.MonitorServer;
import io.leafgate.leaf.route.Router;
import io.leafgate.leaf.server.NatsServer;
import io.leafgate.leaf.server.ServerIdentity;
import io.leafgate.leaf.server.Transport;
import io.leafgate.leaf.spi.StreamCapture;
import io.leafgate.mqtt.server.MqttServer;
import io.leafgate.storage.api.JetStreamStore;
import io.leafgate.storage.api.StoreException;
import io.leafgate.storage.engine.JetStreamEngine;
import io.leafgate.storage.mem.MemJetStreamStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.tinylog.Logger;

/**
 * The whole gateway, wired by hand: transport, router, NATS listener, monitoring. {@link #start}
 * brings it up; {@link #close} stops it in reverse order.
 */
public final class Gateway implements AutoCloseable {
  private final ServerOptions options;
  private final ServerIdentity identity;
  private final Transport transport;
  private final Router router = new Router();
  private final StreamCapture capture = new StreamCapture();
  private final NatsServer nats;
  private MonitorServer monitor;
  private MqttServer mqtt;
  private JetStreamStore jsStore;
  private JetStreamEngine jetStream;
  private Path portsFile;
  private volatile boolean closed;

  private Gateway(ServerOptions options) {
    this.options = options;
    this.identity = new ServerIdentity(options.serverName);
    this.transport = Transport.create(0);
    this.nats = new NatsServer(options, identity, router, transport);
  }

  /** Starts a gateway; on failure everything already started is stopped again. */
  public static Gateway start(ServerOptions options) throws IOException {
    long t0 = System.nanoTime();
    Gateway g = new Gateway(options);
    try {
      g.startAll();
    } catch (IOException | RuntimeException e) {
      g.close();
      throw e;
    }
    Logger.info("leafgate {} ready in {} ms (server name {}, {} transport)", ServerIdentity.LEAFGATE_VERSION,
        (System.nanoTime() - t0) / 1_000_000, g.identity.name(), g.transport.name());
    return g;
  }

  private void startAll() throws IOException {
    Files.createDirectories(options.storeDir);
    if (options.jetStream) {
      startJetStream();
    }
    nats.start();
    if (options.mqttPort != 0) {
      mqtt = new MqttServer(options, router, transport, capture, jetStream != null);
      mqtt.start();
    }
    if (options.httpPort != 0) {
      monitor = new MonitorServer(options.httpHost, options.httpPort, transport);
      CoreMonitor core = new CoreMonitor(nats, monitor);
      core.install();
      if (jetStream != null) {
        JetStreamMonitor.install(jetStream, monitor, core);
      }
      if (mqtt != null) {
        mqtt.installMonitoring(core, monitor);
      }
      monitor.start();
    }
    writePortsFile();
  }

  private void startJetStream() throws IOException {
    jsStore = openStore();
    jetStream = new JetStreamEngine(router, jsStore, new JetStreamEngine.Options(options.jetStreamDomain,
        options.jetStreamMaxStore, options.jetStreamMaxMemory, identity.name()));
    try {
      jetStream.start();
    } catch (StoreException e) {
      throw new IOException("JetStream could not start: " + e.getMessage(), e);
    }
    capture.install(jetStream::captures);
  }

  private JetStreamStore openStore() throws IOException {
    return new MemJetStreamStore();
  }

  /** Writes {@code leafgate_<pid>.ports} in the store dir, as nats-server writes its ports file. */
  private void writePortsFile() throws IOException {
    Map<String, Object> ports = new LinkedHashMap<>();
    ports.put("nats", List.of("nats://" + options.host + ":" + nats.boundPort()));
    if (mqtt != null) {
      ports.put("mqtt", List.of("mqtt://" + options.mqttHost + ":" + mqtt.boundPort()));
    }
    if (monitor != null) {
      ports.put("monitoring", List.of("http://" + options.httpHost + ":" + monitor.boundPort()));
    }
    portsFile = options.storeDir.resolve("leafgate_" + ProcessHandle.current().pid() + ".ports");
    Files.writeString(portsFile, JSON.std.asString(ports));
  }

  public int natsPort() {
    return nats.boundPort();
  }

  /** The MQTT listener's port, or 0 when MQTT is off. */
  public int mqttPort() {
    return mqtt == null ? 0 : mqtt.boundPort();
  }

  public int httpPort() {
    return monitor == null ? 0 : monitor.boundPort();
  }

  public NatsServer nats() {
    return nats;
  }

  public Router router() {
    return router;
  }

  /** Which subjects local streams capture (for adapters that acknowledge after commit). */
  public StreamCapture streamCapture() {
    return capture;
  }

  /** The local JetStream, or null when it is disabled. */
  public JetStreamEngine jetStream() {
    return jetStream;
  }

  public ServerOptions options() {
    return options;
  }

  /** Stops listening, closes every connection and releases the event loops. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    if (monitor != null) {
      monitor.close();
    }
    if (mqtt != null) {
      mqtt.close();
    }
    nats.close();
    if (jetStream != null) {
      jetStream.close();
    }
    if (jsStore != null) {
      jsStore.close();
    }
    transport.shutdown();
    if (portsFile != null) {
      try {
        Files.deleteIfExists(portsFile);
      } catch (IOException e) {
        Logger.warn("Could not remove the ports file {}: {}", portsFile, e.getMessage());
      }
    }
  }
}
