package io.leafgate.gateway;

import com.fasterxml.jackson.jr.ob.JSON;
import io.leafgate.hub.HubBridge;
import io.leafgate.hub.UplinkConfig;
import io.leafgate.leaf.config.ConfigReader;
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
import io.leafgate.storage.sqlite.SqliteJetStreamStore;
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
  private final UplinkConfig uplinkConfig;
  private HubBridge uplink;
  private Path portsFile;
  private java.nio.channels.FileChannel storeLockChannel;
  private java.nio.channels.FileLock storeLock;
  private volatile boolean closed;

  private Gateway(ServerOptions options, UplinkConfig uplinkConfig) {
    this.options = options;
    this.uplinkConfig = uplinkConfig;
    this.identity = new ServerIdentity(options.serverName);
    this.transport = Transport.create(0);
    this.nats = new NatsServer(options, identity, router, transport);
  }

  /** Starts a gateway; on failure everything already started is stopped again. */
  public static Gateway start(ServerOptions options) throws IOException {
    ConfigReader r = new ConfigReader();
    UplinkConfig up = UplinkConfig.parse(options, r);
    if (!r.errors().isEmpty()) {
      throw new IOException("invalid uplink configuration: " + r.errors());
    }
    return start(options, up);
  }

  /** Starts a gateway with an uplink configured in code (tests). */
  public static Gateway start(ServerOptions options, UplinkConfig uplinkConfig) throws IOException {
    long t0 = System.nanoTime();
    Gateway g = new Gateway(options, uplinkConfig);
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
    long t0 = System.nanoTime();
    Files.createDirectories(options.storeDir);
    lockStoreDir();
    if (options.jetStream) {
      startJetStream();
    }
    long t1 = System.nanoTime();
    nats.start();
    Logger.debug("Start-up: JetStream {} ms, NATS listener {} ms", (t1 - t0) / 1_000_000, (System.nanoTime() - t1) / 1_000_000);
    if (options.mqttPort != 0) {
      mqtt = new MqttServer(options, router, transport, capture, jetStream != null);
      mqtt.start();
    }
    if (uplinkConfig != null && uplinkConfig.enabled()) {
      uplink = new HubBridge(uplinkConfig, router, transport, jetStream, identity, options.jetStreamDomain,
          options.maxPayload);
      uplink.start();
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
      installLeafz(core);
      monitor.start();
    }
    writePortsFile();
  }

  /**
   * Takes an exclusive lock on the store dir for the life of the process: two gateways on one store
   * would corrupt each other's stream state and uplink cursor.
   */
  private void lockStoreDir() throws IOException {
    Path lockFile = options.storeDir.resolve("leafgate.lock");
    storeLockChannel = java.nio.channels.FileChannel.open(lockFile, java.nio.file.StandardOpenOption.CREATE,
        java.nio.file.StandardOpenOption.WRITE);
    try {
      storeLock = storeLockChannel.tryLock();
    } catch (java.nio.channels.OverlappingFileLockException e) {
      storeLock = null;
    }
    if (storeLock == null) {
      storeLockChannel.close();
      storeLockChannel = null;
      throw new IOException("the store dir " + options.storeDir.toAbsolutePath()
          + " is in use by another leafgate; give each gateway its own store_dir");
    }
  }

  private void startJetStream() throws IOException {
    jsStore = openStore();
    jetStream = new JetStreamEngine(router, jsStore, new JetStreamEngine.Options(options.jetStreamDomain,
        options.jetStreamMaxStore, options.jetStreamMaxMemory, identity.name(), options.maxPending));
    try {
      jetStream.start();
    } catch (StoreException e) {
      throw new IOException("JetStream could not start: " + e.getMessage(), e);
    }
    capture.install(jetStream::captures);
  }

  private JetStreamStore openStore() throws IOException {
    SqliteJetStreamStore.Sync sync = options.jetStreamSync == ServerOptions.SyncMode.INTERVAL
        ? SqliteJetStreamStore.Sync.INTERVAL : SqliteJetStreamStore.Sync.ALWAYS;
    try {
      return SqliteJetStreamStore.open(options.storeDir,
          new SqliteJetStreamStore.Options(sync, SqliteJetStreamStore.Options.defaults().syncInterval(),
              options.jetStreamMaxStore));
    } catch (StoreException e) {
      throw new IOException("the JetStream store in " + options.storeDir + " cannot be opened: " + e.getMessage(), e);
    }
  }

  private void installLeafz(CoreMonitor core) {
    monitor.register("/leafz", q -> {
      if (uplink != null) {
        return uplink.leafz("1".equals(q.get("subs")) || "true".equals(q.get("subs")));
      }
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("server_id", identity.id());
      m.put("now", io.leafgate.leaf.monitor.GoFormat.time(System.currentTimeMillis()));
      m.put("leafnodes", 0);
      m.put("leafs", List.of());
      return m;
    });
    if (uplink != null) {
      core.setLeafnodeCount(() -> uplink.leafz(false).get("leafnodes") instanceof Integer i ? i : 0);
      monitor.addMetrics(uplink::metrics);
    }
  }

  /** Writes {@code leafgate_<pid>.ports} in the store dir, as nats-server writes its ports file. */
  private void writePortsFile() throws IOException {
    Map<String, Object> ports = new LinkedHashMap<>();
    // nats-server writes tls:// for a client port that requires TLS.
    ports.put("nats", List.of((nats.tls() ? "tls://" : "nats://") + options.host + ":" + nats.boundPort()));
    if (mqtt != null) {
      ports.put("mqtt", List.of((mqtt.tls() ? "mqtts://" : "mqtt://") + options.mqttHost + ":" + mqtt.boundPort()));
    }
    if (monitor != null) {
      ports.put("monitoring", List.of("http://" + options.httpHost + ":" + monitor.boundPort()));
    }
    portsFile = options.storeDir.resolve("leafgate_" + ProcessHandle.current().pid() + ".ports");
    // Written whole or not at all: whoever polls for it never reads half a file.
    Path tmp = options.storeDir.resolve(portsFile.getFileName() + ".tmp");
    Files.writeString(tmp, JSON.std.asString(ports));
    Files.move(tmp, portsFile, java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
  }

  public int natsPort() {
    return nats.boundPort();
  }

  /** Whether the NATS client port requires TLS (a top-level {@code tls} block). */
  public boolean natsTls() {
    return nats.tls();
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

  /** The uplink, or null when none is configured. */
  public HubBridge uplink() {
    return uplink;
  }

  /**
   * Applies the replay pacing of a reloaded configuration ({@code uplink.replay_rate} and
   * {@code replay_window}) to the running uplink; false when there is none to apply it to.
   */
  public boolean applyUplinkPacing(ServerOptions fresh) {
    if (uplink == null) {
      return false;
    }
    UplinkConfig c = UplinkConfig.parse(fresh, new ConfigReader());
    try {
      uplink.setPacing(c.replayRate, c.replayWindow);
      return true;
    } catch (IOException e) {
      Logger.warn("Uplink: the new replay pacing was not applied: {}", e.getMessage());
      return false;
    }
  }

  /** The local JetStream, or null when it is disabled. */
  public JetStreamEngine jetStream() {
    return jetStream;
  }

  public ServerOptions options() {
    return options;
  }

  // ---- systemd watchdog (issue 6) ------------------------------------------------------------

  /**
   * What {@code /healthz} would answer, checked from inside for the systemd watchdog: null when
   * healthy, otherwise what is wrong. Beyond the health checks' verdict (the JetStream store reports
   * no problem), every I/O event loop and the JetStream thread must run a task within
   * {@code timeoutMillis}, so a wedged loop stops the pings. Called from the watchdog thread, never
   * from an event loop (it waits on them).
   */
  public String healthProblem(long timeoutMillis) {
    if (closed) {
      return "stopping";
    }
    int i = 0;
    for (io.netty.util.concurrent.EventExecutor loop : transport.group()) {
      try {
        loop.submit(() -> { }).get(timeoutMillis, java.util.concurrent.TimeUnit.MILLISECONDS);
      } catch (java.util.concurrent.TimeoutException e) {
        return "I/O event loop " + i + " did not run a task within " + timeoutMillis + " ms";
      } catch (java.util.concurrent.ExecutionException | java.util.concurrent.RejectedExecutionException e) {
        return closed ? "stopping" : "I/O event loop " + i + " refused a task: " + e.getMessage();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return "interrupted";
      }
      i++;
    }
    if (jetStream != null) {
      String p;
      try {
        p = jetStream.call(JetStreamEngine::problem, timeoutMillis);
      } catch (java.util.concurrent.TimeoutException e) {
        return "the JetStream thread did not answer within " + timeoutMillis + " ms";
      } catch (Exception e) {
        return closed ? "stopping" : "the JetStream thread failed a check: " + e;
      }
      if (p != null) {
        return "JetStream: " + p;
      }
    }
    return null;
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
    if (uplink != null) {
      uplink.close();
    }
    nats.close();
    if (jetStream != null) {
      jetStream.close();
    }
    if (jsStore != null) {
      jsStore.close();
    }
    transport.shutdown();
    if (storeLockChannel != null) {
      try {
        storeLockChannel.close(); // releases the lock
      } catch (IOException e) {
        Logger.debug("Closing the store lock: {}", e.getMessage());
      }
    }
    if (portsFile != null) {
      try {
        Files.deleteIfExists(portsFile);
      } catch (IOException e) {
        Logger.warn("Could not remove the ports file {}: {}", portsFile, e.getMessage());
      }
    }
  }
}
