package io.leafgate.leaf.server;

import io.leafgate.leaf.auth.Permissions;
import io.leafgate.leaf.proto.ClientOp;
import io.leafgate.leaf.proto.ConnectOptions;
import io.leafgate.leaf.proto.NatsDecoder;
import io.leafgate.leaf.proto.Wire;
import io.leafgate.leaf.route.FlushBatch;
import io.leafgate.leaf.route.Msg;
import io.leafgate.leaf.route.Origin;
import io.leafgate.leaf.route.Router;
import io.leafgate.leaf.route.Subscriber;
import io.leafgate.leaf.route.SublistResult;
import io.leafgate.leaf.route.Subscription;
import io.leafgate.leaf.subject.Subjects;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.tinylog.Logger;

/**
 * One NATS client connection: processes the ops its decoder emits, owns its subscriptions, and is a
 * {@link Subscriber} that any producer thread can deliver to.
 *
 * <p>Threads: ops are processed on the channel's event loop. Deliveries arrive from any thread and
 * append to {@link #pending} under the connection's monitor; the producer flushes each touched
 * connection once at the end of its read batch, and the flush itself runs on this channel's loop.
 * Protocol replies (PONG, +OK, -ERR) go through the same buffer so that order is kept.
 *
 * <p>Flow control (nats-server's stall gate): when a delivery takes a subscriber's backlog past half
 * of {@code max_pending}, the publishing connection stops reading until that subscriber's socket
 * has drained or {@link #stallMillis} has passed. A subscriber that reads, only slower than a
 * burst, is then not cut off; one that stops reading still reaches {@code max_pending} or the
 * write deadline and is.
 */
public final class ClientConnection extends ChannelInboundHandlerAdapter
    implements Subscriber, FlushBatch.Flushable, FlushBatch.Backlogged {
  private static final int L1_CACHE_MAX = 256;
  private static final long FIRST_PING_MAX_MILLIS = 2000;
  /** Shortest and longest pause of a producer for a backlogged subscriber (nats-server's). */
  private static final long STALL_MIN_MILLIS = 100;
  private static final long STALL_MAX_MILLIS = 1000;

  private final NatsServer server;
  private final Router router;
  private final long cid;
  private final long startMillis = System.currentTimeMillis();
  private final FlushBatch batch = new FlushBatch();
  private final Runnable flushTask = this::flushPending;
  private Channel channel;
  private NatsDecoder decoder;
  private String remoteIp = "";
  private int remotePort;

  // State owned by the event loop.
  private final ConnectOptions opts = new ConnectOptions();
  private boolean connectReceived;
  private Permissions perms = Permissions.ALL;
  private String authorizedUser;
  private final Map<String, SublistResult> l1 = new HashMap<>();
  private long l1Gen = -1;
  private final Map<String, Boolean> pubPermCache = new HashMap<>();
  private ScheduledFuture<?> authTimer;
  private ScheduledFuture<?> pingTimer;
  private ScheduledFuture<?> deadlineTimer;
  private int pingsOut;
  private long pingSentNanos;
  private long rttNanos;
  private long writtenAtDeadlineCheck = -1;
  /** As a producer: reading is paused until a backlogged subscriber drains or the stall times out. */
  private boolean readPaused;
  private long stallGen;
  private ScheduledFuture<?> stallTimer;
  /** As a subscriber: producers paused until this connection's backlog drains. */
  private final List<Runnable> drainWaiters = new ArrayList<>();

  /** Subscriptions by sid; read by monitoring threads. */
  private final ConcurrentHashMap<String, Subscription> subs = new ConcurrentHashMap<>();

  // Output state, guarded by this.
  private ByteBuf pending;
  private boolean flushScheduled;
  private boolean closed;
  private long queuedBytesTotal;

  // Counters. Written by one thread each, read racily by monitoring.
  private volatile long lastActivityMillis = startMillis;
  private long inMsgs;
  private long inBytes;
  private long outMsgs;
  private long outBytes;
  private volatile CloseReason closeReason;
  /** Set once the TLS handshake completed, for /connz; null for a plain connection. */
  private volatile String tlsVersion;
  private volatile String tlsCipherSuite;

  ClientConnection(NatsServer server, long cid) {
    this.server = server;
    this.router = server.router();
    this.cid = cid;
  }

  // ---------------------------------------------------------------------------------------------
  // Lifecycle

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    channel = ctx.channel();
    decoder = ctx.pipeline().get(NatsDecoder.class);
    if (channel.remoteAddress() instanceof InetSocketAddress a) {
      remoteIp = a.getAddress() == null ? a.getHostString() : a.getAddress().getHostAddress();
      remotePort = a.getPort();
    }
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    queueProto(server.infoFor(this, channel.localAddress() instanceof InetSocketAddress la ? la.getPort() : 0).getBytes(StandardCharsets.UTF_8));
    if (!server.register(this)) {
      sendErrAndClose("maximum connections exceeded", CloseReason.MAX_CONNECTIONS_EXCEEDED);
      return;
    }
    Logger.debug("cid={} client connection from {}:{} created", cid, remoteIp, remotePort);
    if (server.authenticator().required()) {
      decoder.setConnectRequired(true);
    }
    SslHandler tls = server.newTlsHandler(channel);
    if (tls != null) {
      // As nats-server: the INFO goes out in plain text, then the client starts the handshake. The
      // INFO is written before the TLS handler joins the pipeline, so it does not go through it.
      flushPending();
      ctx.pipeline().addFirst(NatsServer.HANDLER_TLS, tls);
      // The auth and ping timers start once the handshake is done (userEventTriggered), as
      // nats-server schedules them after its handshake.
      return;
    }
    startTimers();
    flushPending();
  }

  /** The auth timeout and the first PING, once the client can speak NATS. */
  private void startTimers() {
    if (server.authenticator().required()) {
      long t = Math.max(1, server.options().authTimeout.toMillis());
      authTimer = channel.eventLoop().schedule(this::onAuthTimeout, t, TimeUnit.MILLISECONDS);
    }
    long firstPing = Math.min(server.options().pingInterval.toMillis(), FIRST_PING_MAX_MILLIS);
    schedulePing(firstPing);
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    if (!(evt instanceof SslHandshakeCompletionEvent hs)) {
      ctx.fireUserEventTriggered(evt);
      return;
    }
    if (hs.isSuccess()) {
      SslHandler h = ctx.pipeline().get(SslHandler.class);
      if (h != null) {
        javax.net.ssl.SSLSession session = h.engine().getSession();
        tlsVersion = ServerTls.version(session.getProtocol());
        tlsCipherSuite = session.getCipherSuite();
      }
      Logger.debug("cid={} client {}:{} completed the TLS handshake ({} {})", cid, remoteIp, remotePort,
          tlsVersion, tlsCipherSuite);
      if (closeReason == null) {
        startTimers();
      }
    } else {
      tlsHandshakeFailed(hs.cause());
    }
  }

  /** Whether a TLS handshake is still under way: its failures are handshake failures, whatever they are. */
  private boolean inTlsHandshake() {
    SslHandler h = channel.pipeline().get(SslHandler.class);
    return h != null && !h.handshakeFuture().isSuccess();
  }

  /** Counts, logs once at INFO (a sentence, no stack trace) and closes. */
  private void tlsHandshakeFailed(Throwable cause) {
    if (closeReason != null) {
      return;
    }
    server.onTlsHandshakeFailure();
    Logger.info("cid={} client {}:{} closed: TLS handshake failed: {}", cid, remoteIp, remotePort,
        ServerTls.describeFailure(cause, "a plain NATS client"));
    close(CloseReason.TLS_HANDSHAKE);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    CloseReason reason;
    synchronized (this) {
      closed = true;
      reason = closeReason == null ? CloseReason.CLIENT_CLOSED : closeReason;
      closeReason = reason;
      if (pending != null) {
        pending.release();
        pending = null;
      }
    }
    cancel(authTimer);
    cancel(pingTimer);
    cancel(deadlineTimer);
    cancel(stallTimer);
    releaseDrainWaiters();
    if (!subs.isEmpty()) {
      List<Subscription> all = new ArrayList<>(subs.values());
      subs.clear();
      router.unsubscribeAll(all);
    }
    server.unregister(this);
    if (reason == CloseReason.CLIENT_CLOSED || reason == CloseReason.SERVER_SHUTDOWN
        || reason == CloseReason.TLS_HANDSHAKE) { // a failed handshake was logged when it failed
      Logger.debug("cid={} client connection closed: {}", cid, reason.text());
    } else {
      Logger.info("cid={} client {}:{} closed: {}", cid, remoteIp, remotePort, reason.text());
    }
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    if (closeReason == null && inTlsHandshake()) {
      // E.g. a reset by a client that read tls_required and gave up: nats-server counts that as a
      // failed handshake too.
      tlsHandshakeFailed(cause);
    } else if (closeReason == CloseReason.TLS_HANDSHAKE || ServerTls.problem(cause) != null) {
      // A failed handshake is logged once, when it failed; this is its echo.
      Logger.debug("cid={} TLS error: {}", cid, cause.getMessage());
      close(CloseReason.TLS_HANDSHAKE);
    } else if (cause instanceof IOException) {
      Logger.debug("cid={} read error: {}", cid, cause.getMessage());
      close(CloseReason.READ_ERROR);
    } else {
      Logger.error(cause, "cid={} unexpected error, closing the connection", cid);
      close(CloseReason.PROTOCOL_VIOLATION);
    }
  }

  private static void cancel(ScheduledFuture<?> f) {
    if (f != null) {
      f.cancel(false);
    }
  }

  /**
   * Closes the connection with a reason, after writing what is already queued for it (replies to
   * earlier ops, as nats-server flushes before closing); callable from any thread.
   */
  public void close(CloseReason reason) {
    closeAfter(null, reason);
  }

  /** Sends {@code -ERR} after what is queued and then closes, once it has been written. */
  private void sendErrAndClose(String text, CloseReason reason) {
    closeAfter(Wire.err(text), reason);
  }

  /**
   * The one way a connection is closed by the server: records the reason (the first one wins),
   * stops reading, writes what is queued plus {@code lastWords} (may be null), then closes. A peer
   * that does not take those bytes within the write deadline is closed anyway.
   */
  private void closeAfter(byte[] lastWords, CloseReason reason) {
    if (!channel.eventLoop().inEventLoop()) {
      channel.eventLoop().execute(() -> closeAfter(lastWords, reason));
      return;
    }
    ByteBuf out;
    synchronized (this) {
      if (closeReason != null) {
        return;
      }
      closeReason = reason;
      if (lastWords != null) {
        appendLocked(lastWords);
      }
      out = pending;
      pending = null;
      closed = true;
    }
    channel.config().setAutoRead(false);
    if (out == null) {
      channel.close();
      return;
    }
    channel.writeAndFlush(out).addListener(ChannelFutureListener.CLOSE);
    channel.eventLoop().schedule(() -> {
      channel.close();
    }, server.options().writeDeadline.toMillis(), TimeUnit.MILLISECONDS);
  }

  // ---------------------------------------------------------------------------------------------
  // Inbound

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    ClientOp op = (ClientOp) msg;
    if (closeReason != null) {
      // Closing: like nats-server, which stops parsing at the error, nothing more is processed.
      if (op instanceof ClientOp.Pub p) {
        p.release();
      }
      return;
    }
    // The decoder refuses anything but CONNECT first when authentication is required; this guards
    // the same rule for whatever gets past it.
    if (!connectReceived && server.authenticator().required()
        && !(op instanceof ClientOp.Connect) && !(op instanceof ClientOp.ProtocolError)) {
      if (op instanceof ClientOp.Pub p) {
        p.release();
      }
      authViolation();
      return;
    }
    if (op instanceof ClientOp.Pub p) {
      try {
        processPub(p);
      } finally {
        p.release();
      }
      if (!readPaused && batch.stallRequested()) {
        // Stop reading now, so that the rest of this read loop does not pile more on the subscriber.
        readPaused = true;
        channel.config().setAutoRead(false);
      }
      return;
    }
    if (op instanceof ClientOp.Sub s) {
      processSub(s);
    } else if (op instanceof ClientOp.Ping) {
      queueProto(Wire.PONG);
    } else if (op instanceof ClientOp.Pong) {
      processPong();
    } else if (op instanceof ClientOp.Unsub u) {
      processUnsub(u);
    } else if (op instanceof ClientOp.Connect c) {
      processConnect(c);
    } else if (op instanceof ClientOp.ProtocolError e) {
      processProtocolError(e);
    } else if (op instanceof ClientOp.Err e) {
      Logger.info("cid={} client sent an error: {}", cid, e.text());
      close(CloseReason.PARSE_ERROR);
    } else if (op instanceof ClientOp.Info i) {
      processInfo(i);
    }
    // +OK from a client is accepted and ignored.
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    lastActivityMillis = System.currentTimeMillis();
    batch.flushAll();
    FlushBatch.Backlogged b = batch.takeStall();
    if (b != null && readPaused && stallTimer == null) {
      long gen = ++stallGen;
      stallTimer = channel.eventLoop().schedule(() -> resumeReading(gen), b.stallMillis(), TimeUnit.MILLISECONDS);
      b.whenDrained(() -> {
        try {
          channel.eventLoop().execute(() -> resumeReading(gen));
        } catch (RejectedExecutionException e) {
          // The loop is shutting down, and this connection with it.
        }
      });
    }
  }

  /** Ends the producer pause {@code gen}, if it is still the current one. On the event loop. */
  private void resumeReading(long gen) {
    if (gen != stallGen || !readPaused) {
      return;
    }
    readPaused = false;
    cancel(stallTimer);
    stallTimer = null;
    if (closeReason == null) {
      channel.config().setAutoRead(true);
    }
  }

  private void processConnect(ClientOp.Connect c) {
    if (closeReason != null) {
      return;
    }
    cancel(authTimer);
    authTimer = null;
    try {
      opts.apply(c.json());
    } catch (IOException | RuntimeException e) {
      Logger.info("cid={} CONNECT is not valid JSON: {}", cid, e.getMessage());
      close(CloseReason.PARSE_ERROR);
      return;
    }
    connectReceived = true;
    decoder.setHeadersEnabled(opts.headers);
    Permissions p = server.authenticator().authenticate(opts.user, opts.pass, opts.authToken);
    // nats-server no longer lets a client pick its account in CONNECT: either field is refused.
    if (p == null || !opts.account.isEmpty() || opts.newAccount) {
      authViolation();
      return;
    }
    perms = p;
    authorizedUser = opts.user;
    decoder.setConnectRequired(false);
    if (opts.protocol < 0 || opts.protocol > 1) {
      sendErrAndClose("invalid client protocol", CloseReason.BAD_CLIENT_PROTOCOL_VERSION);
      return;
    }
    if (opts.noResponders && !opts.headers) {
      sendErrAndClose("no responders requires headers support", CloseReason.NO_RESPONDERS_REQUIRES_HEADERS);
      return;
    }
    if (opts.verbose) {
      queueProto(Wire.OK);
    }
  }

  /**
   * nats-server decodes a client's INFO into its Info struct and closes the connection, without
   * -ERR, when that fails; otherwise a client's INFO is ignored. leafgate checks the JSON syntax and
   * that the body is an object or null, not the type of each Info field.
   */
  private void processInfo(ClientOp.Info info) {
    try {
      ConnectOptions.requireObjectOrNull(info.json());
    } catch (IOException e) {
      Logger.info("cid={} INFO from the client is not a JSON object: {}", cid, e.getMessage());
      close(CloseReason.PROTOCOL_VIOLATION);
    }
  }

  private void authViolation() {
    Logger.info("cid={} client {}:{} failed authorization (user \"{}\")", cid, remoteIp, remotePort,
        opts.user == null ? "" : opts.user);
    sendErrAndClose("Authorization Violation", CloseReason.AUTHENTICATION_VIOLATION);
  }

  private void onAuthTimeout() {
    if (!connectReceived) {
      sendErrAndClose("Authentication Timeout", CloseReason.AUTHENTICATION_TIMEOUT);
    }
  }

  private void processProtocolError(ClientOp.ProtocolError e) {
    if (e.kind() == ClientOp.ProtocolError.Kind.AUTHORIZATION_VIOLATION) {
      authViolation();
      return;
    }
    CloseReason reason = switch (e.kind()) {
      case MAX_PAYLOAD -> CloseReason.MAX_PAYLOAD_EXCEEDED;
      case MAX_CONTROL_LINE -> CloseReason.MAX_CONTROL_LINE_EXCEEDED;
      case UNKNOWN_OPERATION -> CloseReason.PARSE_ERROR;
      case BAD_ARGUMENTS -> CloseReason.PROTOCOL_VIOLATION;
      case AUTHORIZATION_VIOLATION -> CloseReason.AUTHENTICATION_VIOLATION;
    };
    Logger.info("cid={} client protocol error: {}", cid, e.detail());
    closeAfter(e.clientText() == null ? null : Wire.err(e.clientText()), reason);
  }

  private void processPub(ClientOp.Pub p) {
    String subject = p.subject();
    int size = p.data().readableBytes();
    inMsgs++;
    inBytes += size;
    if (opts.pedantic && !Subjects.isValidLiteral(subject)) {
      queueProto(Wire.err("Invalid Publish Subject"));
    }
    // Subjects under _GR_. are nats-server's gateway-routed replies; a client may not publish there.
    if (hasPrefix(subject, GATEWAY_REPLY_PREFIX) || (perms != Permissions.ALL && !canPublish(subject))) {
      queueProto(Wire.err("Permissions Violation for Publish to " + goQuote(subject)));
      return;
    }
    String reply = p.reply();
    if (reply != null && isReservedReply(reply)) {
      queueProto(Wire.err("Permissions Violation for Publish with Reply of " + goQuote(reply)));
      return;
    }
    if (opts.verbose) {
      queueProto(Wire.OK);
    }
    // nats-server's sublist matches nothing for a subject with an empty token ("a..b", ".a",
    // "a."), even a full wildcard; with pedantic on the client was warned above.
    SublistResult r = lookup(subject);
    Msg m = new Msg(subject, reply, p.hdrLen(), p.data());
    int delivered = router.publish(r, m, opts.echo ? null : this, Origin.CLIENT, batch);
    if (delivered == 0 && reply != null && opts.noResponders) {
      sendNoResponders(reply);
    }
  }

  /** nats-server's service-import reply prefix; any reply starting with it is reserved. */
  private static final String SERVICE_REPLY_PREFIX = "_R_.";
  /** nats-server's gateway-routed reply prefix; reserved when something follows it. */
  private static final String GATEWAY_REPLY_PREFIX = "_GR_.";
  /** JetStream ack subjects: only the server may use them as a reply. */
  private static final String JS_ACK_PREFIX = "$JS.ACK.";

  /** Whether a client may not use {@code reply} as a reply subject (nats-server isReservedReply). */
  private static boolean isReservedReply(String reply) {
    return reply.startsWith(SERVICE_REPLY_PREFIX) || hasPrefix(reply, JS_ACK_PREFIX)
        || hasPrefix(reply, GATEWAY_REPLY_PREFIX);
  }

  /** Whether {@code s} starts with {@code prefix} and has more after it. */
  private static boolean hasPrefix(String s, String prefix) {
    return s.length() > prefix.length() && s.startsWith(prefix);
  }

  /**
   * Quotes a subject the way Go's {@code %q} does for the ASCII range, so that error texts match
   * nats-server's byte for byte. Bytes above 0x7f are left as they are.
   */
  static String goQuote(String s) {
    StringBuilder b = new StringBuilder(s.length() + 2).append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        case '\u0007' -> b.append("\\a");
        case '\b' -> b.append("\\b");
        case '\f' -> b.append("\\f");
        case '\n' -> b.append("\\n");
        case '\r' -> b.append("\\r");
        case '\t' -> b.append("\\t");
        case '\u000b' -> b.append("\\v");
        default -> {
          if (c < 0x20 || c == 0x7f) {
            b.append(String.format("\\x%02x", (int) c));
          } else {
            b.append(c);
          }
        }
      }
    }
    return b.append('"').toString();
  }

  private boolean canPublish(String subject) {
    Boolean ok = pubPermCache.get(subject);
    if (ok == null) {
      ok = perms.canPublish(subject);
      if (pubPermCache.size() >= L1_CACHE_MAX) {
        pubPermCache.clear();
      }
      pubPermCache.put(subject, ok);
    }
    return ok;
  }

  /**
   * The L1 cache: valid while the sublist's generation is unchanged. A subject that could never
   * match (an empty token) is cached as matching nothing, so it is checked once, not per message.
   */
  private SublistResult lookup(String subject) {
    long gen = router.sublist().genId();
    if (gen != l1Gen) {
      l1.clear();
      l1Gen = gen;
    }
    SublistResult r = l1.get(subject);
    if (r == null) {
      r = Subjects.isValidPublish(subject) ? router.sublist().match(subject) : SublistResult.EMPTY;
      if (l1.size() >= L1_CACHE_MAX) {
        l1.clear();
      }
      l1.put(subject, r);
    }
    return r;
  }

  /** Tells a requester that nobody is listening, with an HMSG 503 to its own reply subscription. */
  private void sendNoResponders(String reply) {
    if (!Subjects.isValidPublish(reply)) {
      return; // matches no subscription in nats-server either
    }
    SublistResult r = router.sublist().match(reply);
    for (Subscription s : r.psubs) {
      if (s.subscriber == this) {
        ByteBuf hdr = Unpooled.wrappedBuffer(Wire.NO_RESPONDERS_HDR);
        deliver(s, new Msg(reply, null, hdr.readableBytes(), hdr), batch);
        return;
      }
    }
  }

  private void processSub(ClientOp.Sub s) {
    String subject = s.subject();
    if (!Subjects.isValidFilter(subject) || (s.queue() != null && !isValidQueue(s.queue()))) {
      queueProto(Wire.err("Invalid Subject"));
      return;
    }
    if (perms != Permissions.ALL && !perms.canSubscribe(subject, s.queue())) {
      String text = s.queue() == null
          ? "Permissions Violation for Subscription to \"" + subject + "\""
          : "Permissions Violation for Subscription to \"" + subject + "\" using queue \"" + s.queue() + "\"";
      Logger.info("cid={} {}", cid, text);
      queueProto(Wire.err(text));
      return;
    }
    if (!subs.containsKey(s.sid())) {
      Subscription sub = new Subscription(this, subject, s.queue(), s.sid());
      subs.put(s.sid(), sub);
      router.subscribe(sub);
    }
    if (opts.verbose) {
      queueProto(Wire.OK);
    }
  }

  private static boolean isValidQueue(String q) {
    for (int i = 0; i < q.length(); i++) {
      char c = q.charAt(i);
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
        return false;
      }
    }
    return !q.isEmpty();
  }

  private void processUnsub(ClientOp.Unsub u) {
    Subscription sub = subs.get(u.sid());
    if (sub != null) {
      if (u.max() > 0 && u.max() > sub.delivered()) {
        if (sub.setMax(u.max())) {
          removeSub(sub);
        }
      } else {
        removeSub(sub);
      }
    }
    if (opts.verbose) {
      queueProto(Wire.OK);
    }
  }

  private void removeSub(Subscription sub) {
    subs.remove(sub.sid, sub);
    router.unsubscribe(sub);
  }

  @Override
  public void onAutoUnsubscribed(Subscription sub) {
    subs.remove(sub.sid, sub);
  }

  // ---------------------------------------------------------------------------------------------
  // Liveness

  private void schedulePing(long delayMillis) {
    pingTimer = channel.eventLoop().schedule(this::onPingTimer, Math.max(1, delayMillis), TimeUnit.MILLISECONDS);
  }

  private void onPingTimer() {
    if (closeReason != null) {
      return;
    }
    if (pingsOut + 1 > server.options().pingMax) {
      Logger.info("cid={} client {}:{} did not answer {} pings", cid, remoteIp, remotePort, pingsOut);
      sendErrAndClose("Stale Connection", CloseReason.STALE_CONNECTION);
      return;
    }
    pingsOut++;
    pingSentNanos = System.nanoTime();
    queueProto(Wire.PING);
    flushPending();
    schedulePing(server.options().pingInterval.toMillis());
  }

  private void processPong() {
    if (pingsOut > 0 && pingSentNanos != 0) {
      rttNanos = System.nanoTime() - pingSentNanos;
      pingSentNanos = 0;
    }
    pingsOut = 0;
  }

  // ---------------------------------------------------------------------------------------------
  // Outbound

  @Override
  public Origin origin() {
    return Origin.CLIENT;
  }

  @Override
  public void deliver(Subscription sub, Msg m, FlushBatch producerBatch) {
    if (perms.hasSubscribeDeny() && perms.deniesDelivery(m.subject())) {
      return;
    }
    boolean first;
    long queued;
    byte[] scratch = producerBatch.scratch(Wire.controlLineBytes(m.subject(), sub.sidBytes, m.reply()));
    synchronized (this) {
      if (closed) {
        return;
      }
      if (pending == null) {
        pending = channel.alloc().ioBuffer(Math.max(256, m.size() + 64));
      }
      Wire.writeMsg(pending, m.subject(), sub.sidBytes, m.reply(), m.hdrLen(), m.data(), scratch);
      outMsgs++;
      outBytes += m.size();
      first = !flushScheduled;
      flushScheduled = true;
      queued = pending.readableBytes();
    }
    // The socket's own queue only matters once it is over its high water mark (set from
    // max_pending), which isWritable() tells without walking it.
    long backlog = channel.isWritable() ? queued : queued + channelPendingBytes();
    long max = server.options().maxPending;
    if (backlog > max) {
      slowConsumer(CloseReason.SLOW_CONSUMER_PENDING_BYTES);
      return;
    }
    if (first) {
      producerBatch.add(this);
    }
    if (backlog > max / 2) {
      producerBatch.stall(this);
    }
  }

  /**
   * Runs {@code resume} once this connection's socket has taken its backlog (Netty reports the
   * channel writable again, below the low water mark), or at once when it already has or the
   * connection is closed. What is queued is flushed first, so the check sees the real backlog.
   */
  @Override
  public void whenDrained(Runnable resume) {
    try {
      channel.eventLoop().execute(() -> {
        flushPending();
        if (!channel.isActive() || channel.isWritable()) {
          resume.run();
        } else {
          drainWaiters.add(resume);
        }
      });
    } catch (RejectedExecutionException e) {
      resume.run();
    }
  }

  /** nats-server's stall time: 100 ms at half of max_pending, growing to 1 s at max_pending. */
  @Override
  public long stallMillis() {
    long max = server.options().maxPending;
    long half = max / 2;
    long backlog = pendingBytes();
    if (backlog >= max) {
      return STALL_MAX_MILLIS;
    }
    long steps = Math.max(0, backlog - half) / Math.max(1, half / 10);
    return Math.min(STALL_MAX_MILLIS, STALL_MIN_MILLIS + STALL_MIN_MILLIS * steps);
  }

  /** Lets paused producers go on. On the event loop. */
  private void releaseDrainWaiters() {
    if (drainWaiters.isEmpty()) {
      return;
    }
    List<Runnable> waiting = new ArrayList<>(drainWaiters);
    drainWaiters.clear();
    waiting.forEach(Runnable::run);
  }

  /** Queues protocol bytes in order with messages; flushed at the end of the current batch. */
  private void queueProto(byte[] bytes) {
    boolean first;
    synchronized (this) {
      if (closed) {
        return;
      }
      appendLocked(bytes);
      first = !flushScheduled;
      flushScheduled = true;
    }
    if (first) {
      batch.add(this);
    }
  }

  private void appendLocked(byte[] bytes) {
    if (pending == null) {
      pending = channel.alloc().ioBuffer(Math.max(256, bytes.length));
    }
    pending.writeBytes(bytes);
  }

  @Override
  public void flushBatched() {
    if (channel.eventLoop().inEventLoop()) {
      flushPending();
    } else {
      channel.eventLoop().execute(flushTask);
    }
  }

  /** Writes what is queued to the socket. On the event loop. */
  private void flushPending() {
    ByteBuf out;
    synchronized (this) {
      out = pending;
      pending = null;
      flushScheduled = false;
      if (out == null || closed) {
        if (out != null) {
          out.release();
        }
        return;
      }
      queuedBytesTotal += out.readableBytes();
    }
    channel.writeAndFlush(out, channel.voidPromise());
  }

  private long channelPendingBytes() {
    ChannelOutboundBuffer ob = channel.unsafe().outboundBuffer();
    return ob == null ? 0 : ob.totalPendingWriteBytes();
  }

  /** Bytes queued for this client that the socket has not yet taken. */
  public long pendingBytes() {
    long p;
    synchronized (this) {
      p = pending == null ? 0 : pending.readableBytes();
    }
    return p + channelPendingBytes();
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    if (!channel.isWritable() && deadlineTimer == null) {
      writtenAtDeadlineCheck = bytesWritten();
      long d = server.options().writeDeadline.toMillis();
      deadlineTimer = channel.eventLoop().scheduleAtFixedRate(this::checkWriteDeadline, d, d, TimeUnit.MILLISECONDS);
    } else if (channel.isWritable() && deadlineTimer != null) {
      deadlineTimer.cancel(false);
      deadlineTimer = null;
    }
    if (channel.isWritable()) {
      releaseDrainWaiters();
    }
    ctx.fireChannelWritabilityChanged();
  }

  private long bytesWritten() {
    synchronized (this) {
      return queuedBytesTotal - channelPendingBytes();
    }
  }

  /** Cuts a client whose socket took nothing for a whole write deadline. */
  private void checkWriteDeadline() {
    if (channel.isWritable()) {
      return;
    }
    long now = bytesWritten();
    if (now == writtenAtDeadlineCheck) {
      slowConsumer(CloseReason.SLOW_CONSUMER_WRITE_DEADLINE);
    }
    writtenAtDeadlineCheck = now;
  }

  private void slowConsumer(CloseReason reason) {
    boolean first;
    synchronized (this) {
      first = !closed;
      closed = true;
      if (pending != null) {
        pending.release();
        pending = null;
      }
    }
    if (first) {
      server.onSlowConsumer();
      Logger.warn("cid={} slow consumer {}:{} cut off: {} (max_pending {} bytes, write_deadline {})",
          cid, remoteIp, remotePort, reason.text(), server.options().maxPending, server.options().writeDeadline);
      close(reason);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Monitoring

  public long cid() {
    return cid;
  }

  public String remoteIp() {
    return remoteIp;
  }

  public int remotePort() {
    return remotePort;
  }

  public long startMillis() {
    return startMillis;
  }

  public long lastActivityMillis() {
    return lastActivityMillis;
  }

  public long rttNanos() {
    return rttNanos;
  }

  public long inMsgs() {
    return inMsgs;
  }

  public long inBytes() {
    return inBytes;
  }

  public synchronized long outMsgs() {
    return outMsgs;
  }

  public synchronized long outBytes() {
    return outBytes;
  }

  public String name() {
    return opts.name;
  }

  public String lang() {
    return opts.lang;
  }

  public String version() {
    return opts.version;
  }

  public String authorizedUser() {
    return authorizedUser;
  }

  public CloseReason closeReason() {
    return closeReason;
  }

  /** The TLS version as nats-server's /connz shows it ({@code 1.3}), or null for a plain connection. */
  public String tlsVersion() {
    return tlsVersion;
  }

  /** The TLS cipher suite's IANA name, or null for a plain connection. */
  public String tlsCipherSuite() {
    return tlsCipherSuite;
  }

  /** A snapshot of the subscriptions. */
  public List<Subscription> subscriptions() {
    return new ArrayList<>(subs.values());
  }

  public int subscriptionCount() {
    return subs.size();
  }

  @Override
  public String toString() {
    return "cid=" + cid + " " + remoteIp + ":" + remotePort;
  }
}
