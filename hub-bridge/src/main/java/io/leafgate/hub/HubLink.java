package io.leafgate.hub;

import com.fasterxml.jackson.jr.ob.JSON;
import io.leafgate.leaf.config.Pem;
import io.leafgate.leaf.proto.Wire;
import io.leafgate.leaf.route.FlushBatch;
import io.leafgate.leaf.route.GroupedSubscriber;
import io.leafgate.leaf.route.Msg;
import io.leafgate.leaf.route.Origin;
import io.leafgate.leaf.route.Router;
import io.leafgate.leaf.route.Subscription;
import io.leafgate.leaf.server.Transport;
import io.leafgate.leaf.subject.Subjects;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import org.tinylog.Logger;

/**
 * The leaf connection to the hub: dials (with exponential backoff and full jitter across the
 * configured and discovered URLs), authenticates, exchanges interest, forwards local messages the
 * hub wants, routes hub messages locally, and keeps the link alive with pings. All state is owned by
 * one event loop; producers on other threads only append to the outbound buffer.
 */
final class HubLink implements GroupedSubscriber, FlushBatch.Flushable {
  /** Where the link is. */
  enum State {
    STOPPED, WAITING, CONNECTING, HANDSHAKE, LIVE
  }

  /** Told when the link comes up and goes down (on the link's loop). */
  interface Listener {
    void onLive();

    void onDown();
  }

  /** Counters for monitoring; any thread reads them. */
  static final class Stats {
    final AtomicLong inMsgs = new AtomicLong();
    final AtomicLong inBytes = new AtomicLong();
    final AtomicLong outMsgs = new AtomicLong();
    final AtomicLong outBytes = new AtomicLong();
    final AtomicLong droppedNotConnected = new AtomicLong();
    final AtomicLong droppedCongested = new AtomicLong();
    final AtomicLong droppedTooLarge = new AtomicLong();
    final AtomicLong reconnectAttempts = new AtomicLong();
    final AtomicLong connects = new AtomicLong();
  }

  private static final long FIRST_INFO_TIMEOUT_MS = 5000;
  private static final long CONNECT_INFO_TIMEOUT_MS = 5000;
  private static final long CONNECT_TIMEOUT_MS = 5000;
  private static final long LONG_BACKOFF_MS = 30_000;
  /** Live messages queued for a congested link past this are dropped (buffered subjects are safe). */
  private static final long MAX_PENDING_BYTES = 8L * 1024 * 1024;
  private static final SecureRandom RANDOM = new SecureRandom();

  final Stats stats = new Stats();
  private final UplinkConfig cfg;
  private final Router router;
  private final Transport transport;
  private final EventLoop loop;
  private final String serverName;
  private final String serverId;
  private final String localDomain;
  private final int localMaxPayload;
  private final InterestMap interest;
  private final String lds = "$LDS." + randomToken(22);
  /** Prefix of the link's own reply subjects (publish acks, hub API replies), handled here. */
  final String replyPrefix = "_LGACK." + randomToken(12) + ".";
  private final AtomicLong replyIds = new AtomicLong();
  private final Map<String, Consumer<LeafOp.Message>> replyHandlers = new ConcurrentHashMap<>();
  private final List<Listener> listeners = new ArrayList<>();
  private final FlushBatch inboundBatch = new FlushBatch();
  /** Reading from the hub is paused for a local subscriber that is behind (loop-owned). */
  private boolean stalled;
  private final Runnable flushTask = this::flushPending;

  // Loop-owned state.
  private volatile State state = State.STOPPED;
  private Channel channel;
  private final List<URI> discovered = new ArrayList<>();
  private int urlIndex;
  private int attempt;
  private long nextBackoffOverride;
  private String lastError;
  private ScheduledFuture<?> timer;
  private ScheduledFuture<?> pingTimer;
  private int pingsOut;
  private long pingSentNanos;
  private volatile long rttNanos;
  private final ArrayDeque<Runnable> pongWaiters = new ArrayDeque<>();
  private final Map<String, Subscription> hubSubs = new ConcurrentHashMap<>();
  private Map<String, Object> hubInfo = Map.of();
  private volatile String hubName = "";
  private volatile URI currentUrl;
  private volatile int hubMaxPayload = Integer.MAX_VALUE;
  private volatile long liveSinceMillis;
  private volatile long downSinceMillis = System.currentTimeMillis();

  // Outbound, guarded by this.
  private ByteBuf pending;
  private boolean flushScheduled;

  HubLink(UplinkConfig cfg, Router router, Transport transport, String serverName, String serverId,
      String localDomain, int localMaxPayload) {
    this.cfg = cfg;
    this.router = router;
    this.transport = transport;
    this.loop = transport.group().next();
    this.serverName = serverName;
    this.serverId = serverId;
    this.localDomain = localDomain;
    this.localMaxPayload = localMaxPayload;
    List<String> notImported = new ArrayList<>(cfg.buffer);
    if (cfg.commands != null) {
      notImported.add(cfg.commands.subject());
    }
    this.interest = new InterestMap(cfg.imports, cfg.remote.denyImports(), notImported);
  }

  void addListener(Listener l) {
    listeners.add(l);
  }

  EventLoop loop() {
    return loop;
  }

  State state() {
    return state;
  }

  boolean isLive() {
    return state == State.LIVE;
  }

  /** Starts tracking local interest and dialling the hub. */
  void start() {
    interest.setSink(c -> loop.execute(() -> {
      if (state == State.LIVE) {
        writeProto(c.line());
      }
    }));
    router.addInterestListener(interest);
    for (Subscription s : router.sublist().all()) {
      interest.onSubscribe(s);
    }
    loop.execute(() -> {
      state = State.WAITING;
      connect();
    });
  }

  /** Closes the link and stops reconnecting. */
  void stop() {
    router.removeInterestListener(interest);
    io.netty.util.concurrent.Future<?> f = loop.submit(() -> {
      state = State.STOPPED;
      cancelTimers();
      if (channel != null) {
        channel.close();
      }
      dropHubInterest();
    });
    f.awaitUninterruptibly(5000);
  }

  // ---------------------------------------------------------------------------------------------
  // Dialling

  private List<URI> urls() {
    List<URI> all = new ArrayList<>(cfg.remote.urls());
    for (URI d : discovered) {
      if (!all.contains(d)) {
        all.add(d);
      }
    }
    return all;
  }

  private void connect() {
    if (state == State.STOPPED) {
      return;
    }
    List<URI> all = urls();
    URI url = all.get(urlIndex++ % all.size());
    currentUrl = url;
    state = State.CONNECTING;
    stats.reconnectAttempts.incrementAndGet();
    int port = url.getPort() > 0 ? url.getPort() : 7422;
    Logger.debug("Dialling hub {}:{}", url.getHost(), port);
    Bootstrap b = new Bootstrap()
        .group(loop)
        .channel(transport.clientChannel())
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) CONNECT_TIMEOUT_MS)
        .option(ChannelOption.TCP_NODELAY, true)
        .option(ChannelOption.SO_KEEPALIVE, true)
        .handler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            ch.pipeline().addLast("decoder", new LeafDecoder(64 * 1024 * 1024)).addLast("link", new Handler(url));
          }
        });
    ChannelFuture f = b.connect(url.getHost(), port);
    f.addListener(done -> {
      if (!done.isSuccess()) {
        noteFailure("cannot reach " + url.getHost() + ":" + port + ": " + rootMessage(done.cause()));
        scheduleReconnect();
      }
    });
  }

  private void scheduleReconnect() {
    if (state == State.STOPPED) {
      return;
    }
    state = State.WAITING;
    long delay;
    if (nextBackoffOverride > 0) {
      delay = nextBackoffOverride;
      nextBackoffOverride = 0;
    } else {
      long base = Math.max(1, cfg.reconnectDelay.toMillis());
      long cap = Math.max(base, cfg.reconnectMax.toMillis());
      long ceiling = Math.min(cap, base << Math.min(attempt, 20));
      // Full jitter: a fleet that lost its hub at once does not come back at once.
      delay = Math.max(50, ThreadLocalRandom.current().nextLong(ceiling + 1));
    }
    attempt++;
    Logger.debug("Reconnecting to the hub in {} ms (attempt {})", delay, attempt);
    cancel(timer);
    timer = loop.schedule(this::connect, delay, TimeUnit.MILLISECONDS);
  }

  private void noteFailure(String why) {
    if (!why.equals(lastError)) {
      Logger.warn("Uplink: {}; retrying with backoff (local service is unaffected)", why);
    } else {
      Logger.debug("Uplink: {}", why);
    }
    lastError = why;
  }

  /** The last problem the link had, for status output. */
  String lastError() {
    return lastError;
  }

  private static String rootMessage(Throwable t) {
    while (t.getCause() != null) {
      t = t.getCause();
    }
    return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
  }

  // ---------------------------------------------------------------------------------------------
  // The connection

  private final class Handler extends ChannelInboundHandlerAdapter {
    private final URI url;
    private boolean gotInfo;
    private boolean connectSent;

    Handler(URI url) {
      this.url = url;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
      channel = ctx.channel();
      state = State.HANDSHAKE;
      cancel(timer);
      timer = loop.schedule(() -> {
        if (!gotInfo) {
          noteFailure("hub " + url.getHost() + " sent no INFO (is this its leafnode port?)");
          ctx.close();
        }
      }, FIRST_INFO_TIMEOUT_MS, TimeUnit.MILLISECONDS);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      LeafOp op = (LeafOp) msg;
      if (op instanceof LeafOp.Message m) {
        try {
          onMessage(m);
        } finally {
          m.data().release();
        }
      } else if (op instanceof LeafOp.Info i) {
        onInfo(ctx, i);
      } else if (op instanceof LeafOp.Ping) {
        writeProto("PONG\r\n");
      } else if (op instanceof LeafOp.Pong) {
        onPong();
      } else if (op instanceof LeafOp.SubAdd a) {
        onSubAdd(a);
      } else if (op instanceof LeafOp.SubRemove r) {
        onSubRemove(r);
      } else if (op instanceof LeafOp.Err e) {
        onErr(e.text());
      } else if (op instanceof LeafOp.Malformed m) {
        noteFailure("hub sent something unparsable (" + m.detail() + ")");
        ctx.close();
      }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
      inboundBatch.flushAll();
      FlushBatch.Backlogged b = inboundBatch.takeStall();
      if (b != null && !stalled && ctx.channel().isActive()) {
        // A local subscriber of hub traffic (a capturing stream, a slow client) is behind: stop
        // reading from the hub until it catches up or its stall time passes.
        Channel ch = ctx.channel();
        stalled = true;
        ch.config().setAutoRead(false);
        ScheduledFuture<?> t = loop.schedule(() -> resume(ch), b.stallMillis(), TimeUnit.MILLISECONDS);
        b.whenDrained(() -> {
          t.cancel(false);
          try {
            loop.execute(() -> resume(ch));
          } catch (java.util.concurrent.RejectedExecutionException e) {
            // The loop is shutting down, and the link with it.
          }
        });
      }
    }

    private void resume(Channel ch) {
      if (stalled) {
        stalled = false;
        ch.config().setAutoRead(true);
      }
    }

    private void onInfo(ChannelHandlerContext ctx, LeafOp.Info i) {
      Map<String, Object> info;
      try {
        info = JSON.std.mapFrom(i.json());
      } catch (Exception e) {
        noteFailure("hub sent an unreadable INFO: " + e.getMessage());
        ctx.close();
        return;
      }
      updateDiscovered(info);
      if (!gotInfo) {
        gotInfo = true;
        if (!(info.get("client_id") instanceof Number) || !info.containsKey("leafnode_urls")) {
          noteFailure(url.getHost() + ":" + url.getPort() + " is not a leafnode port (its INFO lacks client_id or leafnode_urls)");
          ctx.close();
          return;
        }
        hubInfo = info;
        Object mp = info.get("max_payload");
        hubMaxPayload = mp instanceof Number n ? n.intValue() : Integer.MAX_VALUE;
        boolean tls = Boolean.TRUE.equals(info.get("tls_required")) || "tls".equals(url.getScheme())
            || cfg.remote.tls() != null;
        if (tls) {
          startTls(ctx, info);
        } else {
          sendConnect(ctx, info);
        }
        return;
      }
      if (Boolean.TRUE.equals(info.get("connect_info")) && state == State.HANDSHAKE) {
        goLive(info);
      }
    }

    private void startTls(ChannelHandlerContext ctx, Map<String, Object> info) {
      try {
        SslContextBuilder b = SslContextBuilder.forClient();
        UplinkConfig.Tls t = cfg.remote.tls();
        if (t != null && t.insecure()) {
          b.trustManager(InsecureTrustManagerFactory.INSTANCE);
        } else if (t != null && t.caFile() != null) {
          b.trustManager(Pem.certificates(t.caFile()).toArray(new X509Certificate[0]));
        }
        if (t != null && t.certFile() != null) {
          // Pem reads PKCS#1 and SEC 1 keys too, which Netty's own PEM reader does not.
          b.keyManager(Pem.privateKey(t.keyFile()), Pem.certificates(t.certFile()).toArray(new X509Certificate[0]));
        }
        SslContext ctxSsl = b.build();
        String host = tlsName(t);
        SSLEngine engine = ctxSsl.newEngine(ctx.alloc(), host, url.getPort() > 0 ? url.getPort() : 7422);
        if (t == null || !t.insecure()) {
          SSLParameters p = engine.getSSLParameters();
          p.setEndpointIdentificationAlgorithm("HTTPS");
          engine.setSSLParameters(p);
        }
        SslHandler ssl = new SslHandler(engine);
        ctx.pipeline().addFirst("tls", ssl);
        ssl.handshakeFuture().addListener(f -> {
          if (f.isSuccess()) {
            sendConnect(ctx, info);
          } else {
            noteFailure(tlsFailure(f.cause()));
            ctx.close();
          }
        });
      } catch (Exception e) {
        noteFailure("cannot set up TLS to the hub: " + rootMessage(e));
        ctx.close();
      }
    }

    /**
     * The name the hub's certificate must hold: {@code server_name} if set, else the host of the
     * URL being dialled. A URL the hub announced (its cluster peers, often bare IPs) is checked
     * against the first configured URL's host instead, as nats-server does for implicit URLs.
     */
    private String tlsName(UplinkConfig.Tls t) {
      if (t != null && t.serverName() != null) {
        return t.serverName();
      }
      return cfg.remote.urls().contains(url) ? url.getHost() : cfg.remote.urls().get(0).getHost();
    }

    /** A sentence saying why the TLS handshake with the hub failed and what to check. */
    private String tlsFailure(Throwable cause) {
      UplinkConfig.Tls t = cfg.remote.tls();
      String root = rootMessage(cause);
      String lower = root.toLowerCase(java.util.Locale.ROOT);
      String hint;
      if (lower.contains("bad_certificate") || lower.contains("certificate_required")
          || lower.contains("unknown_ca") || lower.contains("certificate_unknown")) {
        hint = t == null || t.certFile() == null
            ? "the hub requires a client certificate: set cert_file and key_file in the remote's tls block"
            : "the hub did not accept our client certificate (" + t.certFile() + "): is it signed by a CA in the"
                + " hub's ca_file, and still valid?";
      } else if (lower.contains("certification path") || lower.contains("pkix")) {
        hint = t == null || t.caFile() == null
            ? "the hub's certificate is not signed by a CA this JVM trusts: set ca_file in the remote's tls block"
            : "the hub's certificate is not signed by a CA in ca_file (" + t.caFile() + ")";
      } else if (lower.contains("no subject alternative") || lower.contains("no name matching")) {
        hint = "the hub's certificate does not name " + tlsName(t) + ": dial a name it holds or set server_name";
      } else if (lower.contains("expired") || lower.contains("not yet valid")) {
        hint = "a certificate is outside its validity period (check the clock and the certificates)";
      } else if (lower.contains("closedchannel") || lower.contains("connection reset")) {
        // A hub that refuses the client certificate may close before its alert is read.
        hint = t == null || t.certFile() == null
            ? "the hub closed the connection during the TLS handshake: if it requires a client certificate,"
                + " set cert_file and key_file in the remote's tls block"
            : "the hub closed the connection during the TLS handshake: does it accept our client certificate ("
                + t.certFile() + ")?";
      } else {
        hint = null;
      }
      return "TLS handshake with hub " + url.getHost() + ":" + (url.getPort() > 0 ? url.getPort() : 7422)
          + " failed: " + (hint == null ? root : hint + " (" + root + ")");
    }

    private void sendConnect(ChannelHandlerContext ctx, Map<String, Object> info) {
      Map<String, Object> c = new LinkedHashMap<>();
      c.put("version", io.leafgate.leaf.server.ServerIdentity.NATS_COMPAT_VERSION);
      c.put("name", serverName);
      c.put("server_id", serverId);
      c.put("headers", true);
      c.put("remote_account", "$G");
      try {
        addCredentials(c, info);
      } catch (Exception e) {
        noteFailure("cannot authenticate to the hub: " + rootMessage(e));
        nextBackoffOverride = LONG_BACKOFF_MS;
        ctx.close();
        return;
      }
      if (localDomain != null) {
        c.put("domain", localDomain);
        c.put("jetstream", true);
      }
      if (!cfg.remote.denyImports().isEmpty()) {
        c.put("deny_pub", cfg.remote.denyImports());
      }
      try {
        writeProto("CONNECT " + JSON.std.asString(c) + "\r\n");
      } catch (java.io.IOException e) {
        throw new IllegalStateException(e);
      }
      connectSent = true;
      cancel(timer);
      boolean infoOnConnect = Boolean.TRUE.equals(info.get("info_on_connect"));
      if (!infoOnConnect) {
        goLive(info);
        return;
      }
      timer = loop.schedule(() -> {
        if (state == State.HANDSHAKE) {
          noteFailure("hub did not confirm the leaf connection (Stale Leaf Node Connection)");
          ctx.close();
        }
      }, CONNECT_INFO_TIMEOUT_MS, TimeUnit.MILLISECONDS);
    }

    private void addCredentials(Map<String, Object> c, Map<String, Object> info) throws Exception {
      String user = cfg.remote.user();
      String pass = cfg.remote.password();
      String ui = url.getRawUserInfo();
      if (ui != null) {
        int colon = ui.indexOf(':');
        user = java.net.URLDecoder.decode(colon < 0 ? ui : ui.substring(0, colon), StandardCharsets.UTF_8);
        pass = colon < 0 ? null : java.net.URLDecoder.decode(ui.substring(colon + 1), StandardCharsets.UTF_8);
      }
      if (user != null) {
        c.put("user", user);
        if (pass != null) {
          c.put("pass", pass);
        }
      }
      String nonce = info.get("nonce") instanceof String s ? s : null;
      if (cfg.remote.credentials() != null) {
        NKeys.Creds creds = NKeys.readCreds(cfg.remote.credentials());
        NKeys.UserKey key = NKeys.fromSeed(creds.seed());
        c.put("jwt", creds.jwt());
        if (nonce != null) {
          c.put("sig", key.sign(nonce));
        }
      } else if (cfg.remote.nkeySeed() != null) {
        NKeys.UserKey key = NKeys.fromSeed(cfg.remote.nkeySeed());
        c.put("nkey", key.publicKey());
        if (nonce != null) {
          c.put("sig", key.sign(nonce));
        }
      }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      boolean wasLive = state == State.LIVE;
      cancelTimers();
      channel = null;
      releasePending();
      dropHubInterest();
      failReplyWaiters();
      if (wasLive) {
        downSinceMillis = System.currentTimeMillis();
        Logger.warn("Uplink to hub {} ({}) lost{}; island mode: local service continues, buffered subjects are kept",
            hubName, url.getHost(), lastError == null ? "" : " (" + lastError + ")");
        for (Listener l : listeners) {
          l.onDown();
        }
      } else if (!connectSent) {
        Logger.debug("Hub connection closed before the handshake finished");
      }
      scheduleReconnect();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      // A TLS failure reaches both the handshake listener and here: one message for both, so it
      // is logged once per change, not twice per attempt.
      noteFailure(isTls(cause) ? tlsFailure(cause) : "hub connection error: " + rootMessage(cause));
      ctx.close();
    }

    private boolean isTls(Throwable cause) {
      for (Throwable c = cause; c != null; c = c.getCause()) {
        if (c instanceof javax.net.ssl.SSLException) {
          return true;
        }
      }
      return false;
    }
  }

  private void updateDiscovered(Map<String, Object> info) {
    Object urls = info.get("leafnode_urls");
    if (!(urls instanceof List<?> l)) {
      return;
    }
    discovered.clear();
    String scheme = cfg.remote.urls().get(0).getScheme();
    String userInfo = cfg.remote.urls().get(0).getRawUserInfo();
    for (Object o : l) {
      if (o instanceof String hp && !hp.isEmpty()) {
        try {
          discovered.add(new URI(scheme + "://" + (userInfo == null ? "" : userInfo + "@") + hp));
        } catch (java.net.URISyntaxException e) {
          Logger.debug("Ignoring discovered hub url {}", hp);
        }
      }
    }
  }

  private void goLive(Map<String, Object> info) {
    cancel(timer);
    state = State.LIVE;
    attempt = 0;
    lastError = null;
    liveSinceMillis = System.currentTimeMillis();
    hubName = hubInfo.get("server_name") instanceof String s ? s : String.valueOf(hubInfo.get("server_id"));
    stats.connects.incrementAndGet();
    StringBuilder b = new StringBuilder();
    b.append("LS+ ").append(lds).append("\r\n");
    b.append("LS+ ").append(replyPrefix).append(">\r\n");
    for (InterestMap.Change c : interest.snapshot()) {
      b.append(c.line());
    }
    writeProto(b.toString());
    schedulePing();
    InetSocketAddress a = channel.remoteAddress() instanceof InetSocketAddress x ? x : null;
    Logger.info("Uplink live: connected to hub {} at {} ({} interests advertised)", hubName,
        a == null ? currentUrl : a.getHostString() + ":" + a.getPort(), interest.size());
    for (Listener l : listeners) {
      l.onLive();
    }
  }

  private void onErr(String text) {
    lastError = "hub says: " + text;
    Logger.warn("Uplink: hub reported an error: {}", text);
    String t = text.toLowerCase();
    if (t.startsWith("loop detected") || t.startsWith("permissions violation") || t.contains("same cluster name")) {
      nextBackoffOverride = LONG_BACKOFF_MS;
    } else if (t.contains("minimum version")) {
      nextBackoffOverride = 5000;
    } else if (t.contains("authorization violation")) {
      // Wrong credentials do not fix themselves quickly; back off harder than for a network error.
      attempt = Math.max(attempt, 3);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Keepalive

  private void schedulePing() {
    cancel(pingTimer);
    long every = Math.max(100, cfg.pingInterval.toMillis());
    pingTimer = loop.schedule(this::onPingTimer, every, TimeUnit.MILLISECONDS);
  }

  private void onPingTimer() {
    if (state != State.LIVE || channel == null) {
      return;
    }
    if (pingsOut >= cfg.pingMax) {
      noteFailure("hub did not answer " + pingsOut + " pings (stale or half-open connection)");
      channel.close();
      return;
    }
    ping(null);
    schedulePing();
  }

  /** Sends a PING; {@code onPong} (may be null) runs when its PONG arrives. On the loop. */
  void ping(Runnable onPong) {
    if (onPong == null) {
      pingsOut++;
    }
    if (pingSentNanos == 0) {
      pingSentNanos = System.nanoTime();
    }
    pongWaiters.add(onPong == null ? () -> {} : onPong);
    writeProto("PING\r\n");
  }

  private void onPong() {
    if (pingSentNanos != 0) {
      rttNanos = System.nanoTime() - pingSentNanos;
      pingSentNanos = 0;
    }
    pingsOut = 0;
    Runnable r = pongWaiters.poll();
    if (r != null) {
      r.run();
    }
  }

  long rttNanos() {
    return rttNanos;
  }

  // ---------------------------------------------------------------------------------------------
  // Interest from the hub

  private void onSubAdd(LeafOp.SubAdd a) {
    if (!exportable(a.subject())) {
      return;
    }
    String key = a.queue() == null ? a.subject() : a.subject() + " " + a.queue();
    if (hubSubs.containsKey(key)) {
      return;
    }
    Subscription s = new Subscription(this, a.subject(), a.queue(), "hub-" + replyIds.incrementAndGet());
    hubSubs.put(key, s);
    router.subscribe(s);
  }

  private void onSubRemove(LeafOp.SubRemove r) {
    String key = r.queue() == null ? r.subject() : r.subject() + " " + r.queue();
    Subscription s = hubSubs.remove(key);
    if (s != null) {
      router.unsubscribe(s);
    }
  }

  private void dropHubInterest() {
    if (!hubSubs.isEmpty()) {
      router.unsubscribeAll(new ArrayList<>(hubSubs.values()));
      hubSubs.clear();
    }
  }

  int hubInterestCount() {
    return hubSubs.size();
  }

  /** Whether hub interest in {@code filter} can ever be served by an exported local subject. */
  private boolean exportable(String filter) {
    if (filter.startsWith("$LDS.") || filter.startsWith("$JS.API.") || filter.startsWith("$KV.")
        || filter.startsWith("$OBJ.") || filter.startsWith("$SYS.") || filter.startsWith("$LG.")
        || filter.startsWith("$MQTT.")) {
      return false;
    }
    for (String e : cfg.export) {
      if (Subjects.collide(e, filter)) {
        return true;
      }
    }
    return false;
  }

  /** Whether a local message on {@code subject} may go up as a live message. */
  boolean mayForwardLive(String subject) {
    if (subject.startsWith("$LG.") || subject.startsWith("$JS.API.") || subject.startsWith("$SYS.")
        || subject.startsWith("$MQTT.")) {
      return false;
    }
    boolean exported = false;
    for (String e : cfg.export) {
      if (Subjects.matches(e, subject)) {
        exported = true;
        break;
      }
    }
    if (!exported) {
      return false;
    }
    for (String d : cfg.remote.denyExports()) {
      if (Subjects.matches(d, subject)) {
        return false;
      }
    }
    // Buffered subjects travel through the local stream and the forwarder, in order, exactly once.
    for (String b : cfg.buffer) {
      if (Subjects.matches(b, subject)) {
        return false;
      }
    }
    return true;
  }

  // ---------------------------------------------------------------------------------------------
  // Messages to the hub

  @Override
  public Origin origin() {
    return Origin.HUB;
  }

  @Override
  public void deliverGrouped(Msg msg, boolean plain, List<String> queues, FlushBatch batch) {
    if (!mayForwardLive(msg.subject())) {
      return;
    }
    if (state != State.LIVE) {
      stats.droppedNotConnected.incrementAndGet();
      return;
    }
    if (msg.size() > hubMaxPayload) {
      stats.droppedTooLarge.incrementAndGet();
      return;
    }
    if (sendMessage(msg.subject(), msg.reply(), queues, msg.hdrLen(), msg.data(), batch)) {
      stats.outMsgs.incrementAndGet();
      stats.outBytes.addAndGet(msg.size());
    }
  }

  /**
   * Queues one LMSG/HMSG for the hub; false when the link is congested or down. {@code data} holds
   * the header block ({@code hdrLen} bytes) and the payload. Callable from any thread; flushed with
   * {@code batch} (or at once when it is null).
   */
  boolean sendMessage(String subject, String reply, List<String> queues, int hdrLen, ByteBuf data, FlushBatch batch) {
    return send(subject, reply, queues, hdrLen, data, null, null, batch);
  }

  /** {@link #sendMessage} for a message held as a header block (may be null) and a payload. */
  boolean sendMessage(String subject, String reply, byte[] hdr, byte[] data, FlushBatch batch) {
    return send(subject, reply, List.of(), hdr == null ? 0 : hdr.length, null, hdr, data, batch);
  }

  /** Encodes one message: from {@code buf}, or else from {@code hdr} and {@code payload}. */
  private boolean send(String subject, String reply, List<String> queues, int hdrLen, ByteBuf buf, byte[] hdr,
      byte[] payload, FlushBatch batch) {
    boolean first;
    synchronized (this) {
      if (state != State.LIVE || channel == null) {
        return false;
      }
      long queued = pending == null ? 0 : pending.readableBytes();
      if (queued > MAX_PENDING_BYTES || !channel.isWritable() && queued > MAX_PENDING_BYTES / 4) {
        stats.droppedCongested.incrementAndGet();
        return false;
      }
      if (pending == null) {
        pending = channel.alloc().ioBuffer(Math.max(512, (buf != null ? buf.readableBytes() : hdrLen + payload.length) + 128));
      }
      ByteBuf out = pending;
      int size = buf != null ? buf.readableBytes() : hdrLen + payload.length;
      out.writeBytes(hdrLen > 0 ? HMSG : LMSG);
      Wire.writeLatin1(out, subject);
      out.writeByte(' ');
      if (!queues.isEmpty()) {
        if (reply != null) {
          out.writeByte('+').writeByte(' ');
          Wire.writeLatin1(out, reply);
          out.writeByte(' ');
        } else {
          out.writeByte('|').writeByte(' ');
        }
        for (String q : queues) {
          Wire.writeLatin1(out, q);
          out.writeByte(' ');
        }
      } else if (reply != null) {
        Wire.writeLatin1(out, reply);
        out.writeByte(' ');
      }
      if (hdrLen > 0) {
        Wire.writeInt(out, hdrLen);
        out.writeByte(' ');
      }
      Wire.writeInt(out, size);
      out.writeBytes(Wire.CRLF);
      if (buf != null) {
        out.writeBytes(buf, buf.readerIndex(), size);
      } else {
        if (hdrLen > 0) {
          out.writeBytes(hdr);
        }
        out.writeBytes(payload);
      }
      out.writeBytes(Wire.CRLF);
      first = !flushScheduled;
      flushScheduled = true;
    }
    if (first) {
      if (batch != null) {
        batch.add(this);
      } else {
        flushBatched();
      }
    }
    return true;
  }

  private static final byte[] LMSG = Wire.ascii("LMSG ");
  private static final byte[] HMSG = Wire.ascii("HMSG ");

  /** Queues a protocol line and flushes it. On the loop. */
  private void writeProto(String line) {
    synchronized (this) {
      if (channel == null) {
        return;
      }
      if (pending == null) {
        pending = channel.alloc().ioBuffer(Math.max(256, line.length()));
      }
      pending.writeCharSequence(line, StandardCharsets.ISO_8859_1);
      flushScheduled = true;
    }
    flushPending();
  }

  @Override
  public void flushBatched() {
    if (loop.inEventLoop()) {
      flushPending();
    } else {
      loop.execute(flushTask);
    }
  }

  private void flushPending() {
    ByteBuf out;
    Channel ch;
    synchronized (this) {
      out = pending;
      pending = null;
      flushScheduled = false;
      ch = channel;
    }
    if (out == null) {
      return;
    }
    if (ch == null) {
      out.release();
      return;
    }
    ch.writeAndFlush(out, ch.voidPromise());
  }

  private synchronized void releasePending() {
    if (pending != null) {
      pending.release();
      pending = null;
    }
    flushScheduled = false;
  }

  /** Bytes waiting to go to the hub. */
  synchronized long pendingBytes() {
    return pending == null ? 0 : pending.readableBytes();
  }

  // ---------------------------------------------------------------------------------------------
  // Messages from the hub

  private void onMessage(LeafOp.Message m) {
    stats.inMsgs.incrementAndGet();
    stats.inBytes.addAndGet(m.data().readableBytes());
    if (m.subject().startsWith(replyPrefix)) {
      Consumer<LeafOp.Message> h = replyHandlers.get(m.subject());
      if (h == null) {
        int dot = m.subject().indexOf('.', replyPrefix.length());
        if (dot > 0) {
          h = replyHandlers.get(m.subject().substring(0, dot + 1) + "*");
        }
      }
      if (h != null) {
        h.accept(m);
      }
      return;
    }
    String subject = m.subject();
    String reply = m.reply();
    String routeSubject = subject;
    if (reply != null) {
      int at = reply.indexOf('@');
      if (at > 0 && reply.startsWith("$JS.ACK.")) {
        // A hub JetStream delivery: the reply carries the stream subject after '@'.
        subject = reply.substring(at + 1);
        reply = reply.substring(0, at);
      }
    }
    if (!importable(routeSubject)) {
      return;
    }
    router.publishFromHub(routeSubject, new Msg(subject, reply, m.hdrLen(), m.data()), m.queues(), inboundBatch);
  }

  private boolean importable(String subject) {
    for (String d : cfg.remote.denyImports()) {
      if (Subjects.matches(d, subject)) {
        return false;
      }
    }
    for (String i : cfg.imports) {
      if (Subjects.matches(i, subject)) {
        return true;
      }
    }
    // Replies to local requesters use their inboxes, which import may not list.
    return subject.startsWith("_INBOX.") || subject.startsWith("$JS.");
  }

  /** A new reply subject under the link's own prefix; {@code h} gets what arrives on it (on the loop). */
  String newReplySubject(Consumer<LeafOp.Message> h) {
    String s = replyPrefix + replyIds.incrementAndGet();
    replyHandlers.put(s, h);
    return s;
  }

  /** Registers a handler for a whole reply family {@code <prefix><token>.*}. */
  String newReplyFamily(Consumer<LeafOp.Message> h) {
    String base = replyPrefix + replyIds.incrementAndGet() + ".";
    replyHandlers.put(base + "*", h);
    return base;
  }

  void removeReplyHandler(String subjectOrFamily) {
    replyHandlers.remove(subjectOrFamily);
    replyHandlers.remove(subjectOrFamily + "*");
  }

  private void failReplyWaiters() {
    pongWaiters.clear();
    pingsOut = 0;
    pingSentNanos = 0;
  }

  // ---------------------------------------------------------------------------------------------
  // Status

  String hubName() {
    return hubName;
  }

  URI currentUrl() {
    return currentUrl;
  }

  Map<String, Object> hubInfo() {
    return hubInfo;
  }

  long liveSinceMillis() {
    return liveSinceMillis;
  }

  long downSinceMillis() {
    return downSinceMillis;
  }

  String hubDomain() {
    return hubInfo.get("domain") instanceof String d && !d.isEmpty() ? d : null;
  }

  InetSocketAddress remoteAddress() {
    Channel ch = channel;
    return ch != null && ch.remoteAddress() instanceof InetSocketAddress a ? a : null;
  }

  List<String> hubInterest() {
    return new ArrayList<>(hubSubs.keySet());
  }

  private void cancelTimers() {
    cancel(timer);
    cancel(pingTimer);
  }

  private static void cancel(ScheduledFuture<?> f) {
    if (f != null) {
      f.cancel(false);
    }
  }

  private static String randomToken(int n) {
    final char[] chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".toCharArray();
    StringBuilder b = new StringBuilder(n);
    for (int i = 0; i < n; i++) {
      b.append(chars[RANDOM.nextInt(chars.length)]);
    }
    return b.toString();
  }

  static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
