package io.leafgate.mqtt.server;

import io.leafgate.leaf.auth.Authenticator;
import io.leafgate.leaf.config.ServerOptions;
import io.leafgate.leaf.config.TlsOptions;
import io.leafgate.leaf.monitor.CoreMonitor;
import io.leafgate.leaf.monitor.MonitorServer;
import io.leafgate.leaf.route.Router;
import io.leafgate.leaf.server.ServerTls;
import io.leafgate.leaf.server.Transport;
import io.leafgate.leaf.spi.StreamCapture;
import io.leafgate.mqtt.Defaults;
import io.leafgate.mqtt.message.AppMessage;
import io.leafgate.mqtt.session.RetainedIndex;
import io.leafgate.mqtt.session.Session;
import io.leafgate.mqtt.session.SessionManager;
import io.leafgate.mqtt.session.Stats;
import io.leafgate.mqtt.store.JetStreamMqttStore;
import io.leafgate.mqtt.store.MemMqttStore;
import io.leafgate.mqtt.store.MqttStore;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.mqtt.MqttDecoder;
import io.netty.handler.codec.mqtt.MqttEncoder;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.tinylog.Logger;

/**
 * The MQTT listener: binds, accepts MQTT 3.1, 3.1.1 and 5 clients on Netty's MQTT codec, and owns
 * the sessions and the store behind them. The users, passwords and permissions are the NATS ones
 * ({@link Authenticator} from the same {@link ServerOptions}); permissions apply to subjects.
 *
 * <p>With the local JetStream running, sessions, queued and retained messages live in streams
 * ({@link JetStreamMqttStore}); without it (or when those streams cannot be created) they are kept
 * in memory and do not survive a restart.
 */
public final class MqttServer implements AutoCloseable {
  static final String HANDLER_TLS = "tls";
  static final String HANDLER_DECODER = "mqtt-decoder";
  static final String HANDLER_ENCODER = "mqtt-encoder";
  static final String HANDLER_KEEP_ALIVE = "mqtt-keepalive";
  static final String HANDLER_MQTT = "mqtt";

  private final ServerOptions options;
  private final Router router;
  private final Transport transport;
  private final StreamCapture capture;
  private final boolean useJetStream;
  private final Authenticator authenticator;
  private final Stats stats = new Stats();
  private final Map<Long, MqttConnection> connections = new ConcurrentHashMap<>();
  private final AtomicLong nextCid = new AtomicLong();
  private final int maxPacketSize;
  /** Null: plain TCP. Otherwise every connection is TLS (nats-server: MQTT with tls is TLS only). */
  private SslContext sslContext;
  private MqttStore store;
  private SessionManager sessions;
  private Channel serverChannel;
  private int boundPort;

  /**
   * {@code useJetStream}: keep MQTT state in the local JetStream (which must be running on
   * {@code router}).
   */
  public MqttServer(ServerOptions options, Router router, Transport transport, StreamCapture capture,
      boolean useJetStream) {
    this.options = options;
    this.router = router;
    this.transport = transport;
    this.capture = capture;
    this.useJetStream = useJetStream;
    this.authenticator = new Authenticator(options);
    this.maxPacketSize = (int) Math.min(268_435_455L, (long) options.maxPayload + Defaults.PACKET_OVERHEAD);
  }

  /**
   * The server side of {@code mqtt { tls }}: the certificate chain and key from PEM, and with
   * {@code verify} a client certificate required, checked against {@code ca_file}. The files were
   * checked when the configuration was loaded; a failure here (a file changed since) is reported
   * as a start-up error.
   */
  static SslContext serverContext(TlsOptions tls) throws IOException {
    return ServerTls.context(tls, "MQTT clients");
  }

  /** Opens the store, restores sessions and retained messages, then binds ({@code -1} picks a port). */
  public void start() throws IOException {
    if (options.mqttTls != null) {
      sslContext = serverContext(options.mqttTls);
    }
    store = openStore();
    RetainedIndex retained = new RetainedIndex();
    try {
      for (AppMessage m : store.loadRetained()) {
        retained.put(m);
      }
      sessions = new SessionManager(router, store, capture, retained, transport.group(), stats, options.maxPending);
      sessions.start();
    } catch (Exception e) {
      throw new IOException("MQTT state could not be loaded: " + e.getMessage(), e);
    }
    ServerBootstrap b = new ServerBootstrap()
        .group(transport.group())
        .channel(transport.serverChannel())
        .option(ChannelOption.SO_BACKLOG, 1024)
        .option(ChannelOption.SO_REUSEADDR, true)
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childOption(ChannelOption.SO_KEEPALIVE, true)
        .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(64 * 1024, 256 * 1024))
        .childOption(ChannelOption.RCVBUF_ALLOCATOR, new AdaptiveRecvByteBufAllocator(64, 512, 65536))
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            long cid = nextCid.incrementAndGet();
            if (sslContext != null) {
              SslHandler tls = sslContext.newHandler(ch.alloc());
              tls.setHandshakeTimeoutMillis(Math.max(1, options.mqttTls.timeout().toMillis()));
              ch.pipeline().addLast(HANDLER_TLS, tls);
            }
            ch.pipeline()
                .addLast(HANDLER_DECODER, new MqttDecoder(maxPacketSize, Defaults.MAX_CLIENT_ID_LENGTH))
                .addLast(HANDLER_ENCODER, MqttEncoder.INSTANCE)
                .addLast(HANDLER_MQTT, new MqttConnection(MqttServer.this, cid));
          }
        });
    int port = options.mqttPort < 0 ? 0 : options.mqttPort;
    try {
      serverChannel = b.bind(options.mqttHost, port).syncUninterruptibly().channel();
    } catch (Exception e) {
      throw new IOException("cannot listen for MQTT clients on " + options.mqttHost + ":" + port + ": " + e.getMessage(), e);
    }
    boundPort = ((InetSocketAddress) serverChannel.localAddress()).getPort();
    Logger.info("Listening for MQTT clients on {}:{}{} (sessions and retained messages in {})", options.mqttHost,
        boundPort, tlsDescription(), store.kind());
  }

  private MqttStore openStore() {
    if (!useJetStream) {
      Logger.info("JetStream is disabled: MQTT sessions and retained messages are kept in memory only");
      return new MemMqttStore();
    }
    JetStreamMqttStore js = new JetStreamMqttStore(router);
    try {
      js.open();
      return js;
    } catch (Exception e) {
      js.close();
      Throwable c = e.getCause() != null ? e.getCause() : e;
      Logger.error("The MQTT streams could not be created ({}); MQTT sessions and retained messages are kept in"
          + " memory only and will not survive a restart", c.getMessage());
      return new MemMqttStore();
    }
  }

  private String tlsDescription() {
    TlsOptions t = options.mqttTls;
    if (t == null) {
      return "";
    }
    return ", TLS only" + (t.verify() ? " with client certificates" : "") + ", handshake timeout "
        + t.timeout().toMillis() + " ms";
  }

  public int boundPort() {
    return boundPort;
  }

  /** Whether the listener is TLS only. */
  public boolean tls() {
    return sslContext != null;
  }

  SessionManager sessions() {
    return sessions;
  }

  MqttStore store() {
    return store;
  }

  Stats stats() {
    return stats;
  }

  Authenticator authenticator() {
    return authenticator;
  }

  int maxPacketSize() {
    return maxPacketSize;
  }

  long connectTimeoutMillis() {
    return options.authTimeout.toMillis();
  }

  int maxConnections() {
    return options.maxConnections;
  }

  boolean connectionAllowed() {
    return stats.connections.get() < options.maxConnections;
  }

  void register(MqttConnection c) {
    connections.put(c.cid(), c);
  }

  void unregister(MqttConnection c, boolean counted) {
    connections.remove(c.cid());
    if (counted) {
      stats.connections.decrementAndGet();
    }
  }

  /** Counts a connection once its CONNECT is accepted. */
  void onConnected() {
    stats.connections.incrementAndGet();
    stats.totalConnections.increment();
  }

  /** Open MQTT connections (CONNECT accepted). */
  public int connectionCount() {
    return stats.connections.get();
  }

  // ---------------------------------------------------------------------------------------------
  // Monitoring

  /** Adds the {@code mqtt} section of {@code /varz} and the MQTT metrics. */
  public void installMonitoring(CoreMonitor core, MonitorServer monitor) {
    core.addVarzSection("mqtt", this::varz);
    monitor.addMetrics(m -> {
      int[] counts = sessionCounts();
      m.gauge("leafgate_mqtt_connections", "Open MQTT client connections.", stats.connections.get());
      m.counter("leafgate_mqtt_connections_total", "MQTT client connections accepted since start.",
          stats.totalConnections.sum());
      m.counter("leafgate_mqtt_connections_refused_total", "MQTT CONNECTs refused.", stats.refused.sum());
      m.counter("leafgate_mqtt_tls_handshake_failures_total", "MQTT connections closed because their TLS"
          + " handshake failed or timed out.", stats.tlsHandshakeFailures.sum());
      m.gauge("leafgate_mqtt_sessions", "MQTT sessions.", counts[0], "persistent", "false");
      m.gauge("leafgate_mqtt_sessions", "MQTT sessions.", counts[1], "persistent", "true");
      m.gauge("leafgate_mqtt_retained_messages", "Retained MQTT messages.", sessions.retained().size());
      m.counter("leafgate_mqtt_in_msgs_total", "Messages received from MQTT publishers.", stats.inMsgs.sum());
      m.counter("leafgate_mqtt_out_msgs_total", "Messages sent to MQTT subscribers.", stats.outMsgs.sum());
      m.counter("leafgate_mqtt_dropped_msgs_total", "Messages not delivered to an MQTT client.", stats.dropped.sum(),
          "reason", "queue_full");
      m.counter("leafgate_mqtt_dropped_msgs_total", "Messages not delivered to an MQTT client.", stats.queueFull.sum(),
          "reason", "stored_queue_full");
      m.counter("leafgate_mqtt_dropped_msgs_total", "Messages not delivered to an MQTT client.", stats.tooLarge.sum(),
          "reason", "too_large");
      m.counter("leafgate_mqtt_dropped_msgs_total", "Messages not delivered to an MQTT client.", stats.expired.sum(),
          "reason", "expired");
      m.counter("leafgate_mqtt_publisher_pauses_total", "Times a publisher was paused because an MQTT"
          + " subscriber's in-memory queue was past its high water mark.", stats.publisherPauses.sum());
      m.gauge("leafgate_mqtt_paused_publishers", "MQTT publishers not being read right now because a subscriber"
          + " or the local JetStream is behind.", stats.pausedPublishers.get());
      m.counter("leafgate_mqtt_stall_timeouts_total", "Times an MQTT subscriber held publishers back for the"
          + " stall bound without taking a message (then its overflow is dropped).", stats.stallTimeouts.sum());
      m.gauge("leafgate_mqtt_queued_peak_msgs", "The most messages a connected MQTT session has had queued in"
          + " memory at once.", stats.queuedPeak.get());
      m.counter("leafgate_mqtt_store_errors_total", "MQTT publishes the store did not commit.", stats.storeErrors.sum());
    });
  }

  /** {sessions, persistent sessions} */
  private int[] sessionCounts() {
    int all = 0;
    int persistent = 0;
    for (Session s : sessions.sessions()) {
      all++;
      if (s.isPersistent()) {
        persistent++;
      }
    }
    return new int[] {all - persistent, persistent};
  }

  /** The {@code mqtt} section of {@code /varz}: nats-server's fields, then leafgate's. */
  public Map<String, Object> varz() {
    Map<String, Object> v = new LinkedHashMap<>();
    v.put("host", options.mqttHost);
    v.put("port", boundPort);
    TlsOptions tls = options.mqttTls;
    v.put("tls_timeout", tls == null ? 0 : tls.timeoutSeconds());
    v.put("ack_wait", 0);
    v.put("max_ack_pending", Defaults.MAX_INFLIGHT_OUT);
    v.put("tls_required", tls != null);
    v.put("tls_verify", tls != null && tls.verify());
    v.put("tls_handshake_failures", stats.tlsHandshakeFailures.sum());
    int[] counts = sessionCounts();
    v.put("connections", stats.connections.get());
    v.put("total_connections", stats.totalConnections.sum());
    v.put("sessions", counts[0] + counts[1]);
    v.put("persistent_sessions", counts[1]);
    v.put("retained_messages", sessions.retained().size());
    v.put("retained_bytes", sessions.retained().bytes());
    v.put("store", store.kind());
    v.put("in_msgs", stats.inMsgs.sum());
    v.put("in_bytes", stats.inBytes.sum());
    v.put("out_msgs", stats.outMsgs.sum());
    v.put("out_bytes", stats.outBytes.sum());
    Map<String, Object> dropped = new LinkedHashMap<>();
    dropped.put("queue_full", stats.dropped.sum());
    dropped.put("stored_queue_full", stats.queueFull.sum());
    dropped.put("too_large", stats.tooLarge.sum());
    dropped.put("expired", stats.expired.sum());
    v.put("dropped", dropped);
    v.put("publisher_pauses", stats.publisherPauses.sum());
    v.put("paused_publishers", stats.pausedPublishers.get());
    v.put("stall_timeouts", stats.stallTimeouts.sum());
    v.put("queued_peak", stats.queuedPeak.get());
    v.put("store_errors", stats.storeErrors.sum());
    v.put("pending_responses", sessions.pendingResponses());
    return v;
  }

  // ---------------------------------------------------------------------------------------------
  // Shutdown

  /**
   * Stops accepting, disconnects every client (v5: DISCONNECT 0x8B; no will is published) and
   * records when persistent sessions went away. Call before the JetStream stops.
   */
  @Override
  public void close() {
    if (serverChannel != null) {
      serverChannel.close().syncUninterruptibly();
    }
    List<io.netty.channel.ChannelFuture> closing = new ArrayList<>();
    for (MqttConnection c : connections.values()) {
      closing.add(c.closeFuture());
      c.loop().execute(c::shutdown);
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
    for (io.netty.channel.ChannelFuture f : closing) {
      long left = deadline - System.nanoTime();
      if (left <= 0 || !f.awaitUninterruptibly(TimeUnit.NANOSECONDS.toMillis(left) + 1)) {
        Logger.warn("MQTT connections did not all close within 2 s");
        break;
      }
    }
    // Let every loop run what the closes queued (session detaches, which write session records).
    for (io.netty.util.concurrent.EventExecutor loop : transport.group()) {
      loop.submit(() -> { }).awaitUninterruptibly(1000);
    }
    if (sessions != null) {
      try {
        sessions.recordShutdown().get(2, TimeUnit.SECONDS);
      } catch (Exception e) {
        Logger.warn("MQTT session records were not all stored at shutdown: {}", e.getMessage());
      }
      sessions.close();
    }
    if (store != null) {
      store.close();
    }
  }
}
