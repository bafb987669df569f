package io.leafgate.leaf.server;

import com.fasterxml.jackson.jr.ob.JSON;
import io.leafgate.leaf.auth.Authenticator;
import io.leafgate.leaf.config.ServerOptions;
import io.leafgate.leaf.config.TlsOptions;
import io.leafgate.leaf.proto.NatsDecoder;
import io.leafgate.leaf.route.Router;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.tinylog.Logger;

/**
 * The NATS client listener: binds, accepts, and keeps the set of live connections that monitoring
 * shows.
 */
public final class NatsServer implements AutoCloseable {
  /** Closed connections kept for {@code /connz?state=closed}. */
  private static final int CLOSED_KEEP = 1000;
  static final String HANDLER_TLS = "tls";

  private final ServerOptions options;
  private final ServerIdentity identity;
  private final Router router;
  private final Authenticator authenticator;
  private final Transport transport;
  private final ConcurrentHashMap<Long, ClientConnection> connections = new ConcurrentHashMap<>();
  private final AtomicInteger liveCount = new AtomicInteger();
  private final AtomicLong nextCid = new AtomicLong();
  private final AtomicLong totalConnections = new AtomicLong();
  private final AtomicLong slowConsumers = new AtomicLong();
  private final AtomicLong tlsHandshakeFailures = new AtomicLong();
  private final ArrayList<ClosedConnection> closed = new ArrayList<>();
  private final long startMillis = System.currentTimeMillis();
  private Channel serverChannel;
  private volatile int boundPort;
  private volatile String infoPrefix;
  /** Null: plain TCP. Otherwise every client does TLS right after the INFO (nats-server's tls block). */
  private SslContext sslContext;

  public NatsServer(ServerOptions options, ServerIdentity identity, Router router, Transport transport) {
    this.options = options;
    this.identity = identity;
    this.router = router;
    this.transport = transport;
    this.authenticator = new Authenticator(options);
  }

  /** Binds the listener; {@code port -1} (or 0) picks a free port. */
  public void start() throws IOException {
    if (options.tls != null) {
      sslContext = ServerTls.context(options.tls, "NATS clients");
    }
    ServerBootstrap b = new ServerBootstrap()
        .group(transport.group())
        .channel(transport.serverChannel())
        .option(ChannelOption.SO_BACKLOG, 1024)
        .option(ChannelOption.SO_REUSEADDR, true)
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childOption(ChannelOption.SO_KEEPALIVE, true)
        .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, waterMark(options.maxPending))
        .childOption(ChannelOption.RCVBUF_ALLOCATOR, new AdaptiveRecvByteBufAllocator(64, 512, 65536))
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            long cid = nextCid.incrementAndGet();
            ch.pipeline()
                .addLast("decoder", new NatsDecoder(options.maxControlLine, options.maxPayload))
                .addLast("client", new ClientConnection(NatsServer.this, cid));
          }
        });
    int port = options.port < 0 ? 0 : options.port;
    try {
      serverChannel = b.bind(options.host, port).syncUninterruptibly().channel();
    } catch (Exception e) {
      throw new IOException("cannot listen for NATS clients on " + options.host + ":" + port + ": " + e.getMessage(), e);
    }
    boundPort = ((InetSocketAddress) serverChannel.localAddress()).getPort();
    infoPrefix = buildInfoPrefix();
    Logger.info("Listening for NATS clients on {}:{}{}", options.host, boundPort, tlsDescription());
  }

  private String tlsDescription() {
    TlsOptions t = options.tls;
    if (t == null) {
      return "";
    }
    return ", TLS required" + (t.verify() ? " with client certificates" : "") + ", handshake timeout "
        + t.timeout().toMillis() + " ms";
  }

  /** Whether clients must do TLS. */
  public boolean tls() {
    return options.tls != null;
  }

  /**
   * A TLS handler for a new client, its handshake bounded by the tls timeout; null without TLS. The
   * connection puts it in front of its decoder once the plain-text INFO is written.
   */
  SslHandler newTlsHandler(Channel ch) {
    if (sslContext == null) {
      return null;
    }
    SslHandler h = sslContext.newHandler(ch.alloc());
    h.setHandshakeTimeoutMillis(Math.max(1, options.tls.timeout().toMillis()));
    return h;
  }

  void onTlsHandshakeFailure() {
    tlsHandshakeFailures.incrementAndGet();
  }

  /** Client connections closed because their TLS handshake failed or timed out. */
  public long tlsHandshakeFailures() {
    return tlsHandshakeFailures.get();
  }

  private String buildInfoPrefix() {
    Map<String, Object> info = new LinkedHashMap<>();
    info.put("server_id", identity.id());
    info.put("server_name", identity.name());
    info.put("version", ServerIdentity.NATS_COMPAT_VERSION);
    info.put("proto", 1);
    info.put("go", "leafgate " + ServerIdentity.LEAFGATE_VERSION);
    info.put("host", options.host);
    info.put("port", boundPort);
    info.put("headers", true);
    if (authenticator.required()) {
      info.put("auth_required", true);
    }
    if (options.tls != null) {
      info.put("tls_required", true);
      if (options.tls.verify()) {
        info.put("tls_verify", true);
      }
    }
    info.put("max_payload", options.maxPayload);
    try {
      String json = JSON.std.asString(info);
      return "INFO " + json.substring(0, json.length() - 1);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * The socket queue's water marks: at most 256 KiB, and well below max_pending, so that a client
   * whose socket backs up is noticed (unwritable) before its backlog matters.
   */
  static WriteBufferWaterMark waterMark(long maxPending) {
    int high = (int) Math.max(4096, Math.min(256 * 1024, maxPending / 4));
    return new WriteBufferWaterMark(high / 2, high);
  }

  /** The INFO line for one client, with its id and address. */
  String infoFor(ClientConnection c, int localPort) {
    String prefix = infoPrefix;
    if (prefix == null) {
      // A client accepted in the instant between bind and the end of start().
      if (boundPort == 0) {
        boundPort = localPort;
      }
      prefix = buildInfoPrefix();
    }
    return prefix + ",\"client_id\":" + c.cid() + ",\"client_ip\":\"" + c.remoteIp() + "\"}\r\n";
  }

  /** Registers a new connection; false when max_connections is reached. */
  boolean register(ClientConnection c) {
    if (liveCount.incrementAndGet() > options.maxConnections) {
      liveCount.decrementAndGet();
      Logger.warn("cid={} refused: maximum connections ({}) exceeded", c.cid(), options.maxConnections);
      return false;
    }
    connections.put(c.cid(), c);
    totalConnections.incrementAndGet();
    return true;
  }

  void unregister(ClientConnection c) {
    if (connections.remove(c.cid()) != null) {
      liveCount.decrementAndGet();
      synchronized (closed) {
        if (closed.size() >= CLOSED_KEEP) {
          closed.remove(0);
        }
        closed.add(ClosedConnection.of(c));
      }
    }
  }

  void onSlowConsumer() {
    slowConsumers.incrementAndGet();
  }

  public ServerOptions options() {
    return options;
  }

  public ServerIdentity identity() {
    return identity;
  }

  public Router router() {
    return router;
  }

  public Authenticator authenticator() {
    return authenticator;
  }

  public int boundPort() {
    return boundPort;
  }

  public long startMillis() {
    return startMillis;
  }

  public Collection<ClientConnection> connections() {
    return connections.values();
  }

  public int connectionCount() {
    return liveCount.get();
  }

  public long totalConnections() {
    return totalConnections.get();
  }

  public long slowConsumers() {
    return slowConsumers.get();
  }

  /** The most recently closed connections, oldest first. */
  public List<ClosedConnection> closedConnections() {
    synchronized (closed) {
      return new ArrayList<>(closed);
    }
  }

  /** Stops accepting and closes every client connection. */
  @Override
  public void close() {
    if (serverChannel != null) {
      serverChannel.close().syncUninterruptibly();
    }
    for (ClientConnection c : connections.values()) {
      c.close(CloseReason.SERVER_SHUTDOWN);
    }
  }

  /** What monitoring keeps of a closed connection. */
  public record ClosedConnection(long cid, String ip, int port, long startMillis, long stopMillis,
      long inMsgs, long outMsgs, long inBytes, long outBytes, String name, String lang,
      String version, String reason, String user, String tlsVersion, String tlsCipherSuite) {
    static ClosedConnection of(ClientConnection c) {
      CloseReason r = c.closeReason();
      return new ClosedConnection(c.cid(), c.remoteIp(), c.remotePort(), c.startMillis(),
          System.currentTimeMillis(), c.inMsgs(), c.outMsgs(), c.inBytes(), c.outBytes(), c.name(),
          c.lang(), c.version(), r == null ? "" : r.text(), c.authorizedUser(), c.tlsVersion(), c.tlsCipherSuite());
    }
  }
}
