package io.leafgate.mqtt.server;

import io.leafgate.leaf.auth.Permissions;
import io.leafgate.leaf.route.FlushBatch;
import io.leafgate.mqtt.Defaults;
import io.leafgate.mqtt.message.AppMessage;
import io.leafgate.mqtt.message.Props;
import io.leafgate.mqtt.session.Link;
import io.leafgate.mqtt.session.Session;
import io.leafgate.mqtt.session.SessionManager;
import io.leafgate.mqtt.session.Will;
import io.leafgate.mqtt.store.SessionRecord;
import io.leafgate.mqtt.topic.TopicMapper;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.mqtt.MqttConnAckMessage;
import io.netty.handler.codec.mqtt.MqttConnAckVariableHeader;
import io.netty.handler.codec.mqtt.MqttConnectMessage;
import io.netty.handler.codec.mqtt.MqttConnectPayload;
import io.netty.handler.codec.mqtt.MqttConnectReturnCode;
import io.netty.handler.codec.mqtt.MqttConnectVariableHeader;
import io.netty.handler.codec.mqtt.MqttFixedHeader;
import io.netty.handler.codec.mqtt.MqttIdentifierRejectedException;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageIdAndPropertiesVariableHeader;
import io.netty.handler.codec.mqtt.MqttMessageIdVariableHeader;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttProperties;
import io.netty.handler.codec.mqtt.MqttPubReplyMessageVariableHeader;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.netty.handler.codec.mqtt.MqttReasonCodeAndPropertiesVariableHeader;
import io.netty.handler.codec.mqtt.MqttSubAckMessage;
import io.netty.handler.codec.mqtt.MqttSubAckPayload;
import io.netty.handler.codec.mqtt.MqttSubscribeMessage;
import io.netty.handler.codec.mqtt.MqttTopicSubscription;
import io.netty.handler.codec.mqtt.MqttUnacceptableProtocolVersionException;
import io.netty.handler.codec.mqtt.MqttUnsubAckMessage;
import io.netty.handler.codec.mqtt.MqttUnsubAckPayload;
import io.netty.handler.codec.mqtt.MqttUnsubscribeMessage;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.handler.timeout.IdleState;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.tinylog.Logger;

/**
 * One MQTT network connection: CONNECT and CONNACK, the packets of the session it is attached to,
 * keep alive, and why it closed. Every method runs on the channel's event loop; the session's
 * state lives on the same loop while attached (see {@link Session}).
 *
 * <p>Publisher acknowledgements (PUBACK, PUBREC, PUBCOMP) are sent in the order the packets came,
 * each once what it waits for is committed: the capturing stream's PubAck, the stored queues of
 * persistent subscribers, the retained store. QoS 2 is delivered on PUBLISH (the spec's "method
 * A"); the packet id is remembered (and, for a persistent session, stored) until PUBREL, so a
 * repeated PUBLISH is acknowledged again without being routed again.
 */
final class MqttConnection extends ChannelInboundHandlerAdapter implements Link {
  private enum State { AWAIT_CONNECT, CONNECTING, CONNECTED, CLOSED }

  private static final int CACHE_MAX = 256;

  private final MqttServer server;
  private final SessionManager mgr;
  private final long cid;
  private final FlushBatch batch = new FlushBatch();
  private Channel channel;
  private String remote = "";
  private State state = State.AWAIT_CONNECT;
  private int version = 4;
  private String clientId = "";
  private Session session;
  private Permissions perms = Permissions.ALL;
  private int clientReceiveMax = 65535;
  private long clientMaxPacket = Long.MAX_VALUE;
  private long expiryAtConnect;
  private String[] aliases;
  private final ArrayDeque<MqttMessage> early = new ArrayDeque<>();
  private final ArrayList<Object> deferred = new ArrayList<>();
  private final AckQueue acks = new AckQueue(this);
  private final HashMap<String, String> subjects = new HashMap<>();
  private final HashMap<String, Boolean> pubAllowed = new HashMap<>();
  /** Inside a read batch: writes are flushed once at its end (channelReadComplete). */
  private boolean reading;
  /** Reading is paused because a subscriber (a local stream, a slow client) asked the publisher to wait. */
  private boolean stalled;
  private long stallGen;
  private ScheduledFuture<?> stallTimer;
  private CloseReason closeReason;
  private boolean publishWillOnClose = true;
  private ScheduledFuture<?> connectTimer;

  MqttConnection(MqttServer server, long cid) {
    this.server = server;
    this.mgr = server.sessions();
    this.cid = cid;
  }

  // ---------------------------------------------------------------------------------------------
  // Link

  @Override
  public EventLoop loop() {
    return channel.eventLoop();
  }

  @Override
  public int protocolVersion() {
    return version;
  }

  @Override
  public int maxInflight() {
    return Math.min(clientReceiveMax, Defaults.MAX_INFLIGHT_OUT);
  }

  @Override
  public long maxPacketSize() {
    return clientMaxPacket;
  }

  @Override
  public boolean isWritable() {
    return channel.isWritable();
  }

  @Override
  public boolean isActive() {
    return channel.isActive() && state != State.CLOSED && closeReason == null;
  }

  @Override
  public void write(MqttMessage m) {
    if (state == State.CONNECTING) {
      deferred.add(m); // session resends wait for the CONNACK
      return;
    }
    channel.write(m, channel.voidPromise());
  }

  @Override
  public void writeBytes(io.netty.buffer.ByteBuf packets) {
    if (state == State.CONNECTING) {
      deferred.add(packets);
      return;
    }
    channel.write(packets, channel.voidPromise());
  }

  @Override
  public io.netty.buffer.ByteBufAllocator alloc() {
    return channel.alloc();
  }

  @Override
  public void flush() {
    if (state != State.CONNECTING) {
      channel.flush();
    }
  }

  @Override
  public String logId() {
    return "cid=" + cid + " client=" + clientId;
  }

  @Override
  public void closeForTakeover() {
    disconnect(Reason.SESSION_TAKEN_OVER, CloseReason.TAKEN_OVER);
  }

  // ---------------------------------------------------------------------------------------------
  // Lifecycle

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    channel = ctx.channel();
    if (channel.remoteAddress() instanceof InetSocketAddress a) {
      remote = (a.getAddress() == null ? a.getHostString() : a.getAddress().getHostAddress()) + ":" + a.getPort();
    }
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    server.register(this);
    Logger.debug("cid={} mqtt connection from {} created", cid, remote);
    long t = Math.max(1, server.connectTimeoutMillis());
    connectTimer = channel.eventLoop().schedule(() -> {
      if (state == State.AWAIT_CONNECT) {
        Logger.info("cid={} mqtt client {} sent no CONNECT within {} ms", cid, remote, t);
        close(CloseReason.CONNECT_TIMEOUT);
      }
    }, t, TimeUnit.MILLISECONDS);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    State was = state;
    state = State.CLOSED;
    if (connectTimer != null) {
      connectTimer.cancel(false);
    }
    if (stalled) {
      stalled = false;
      server.stats().pausedPublishers.decrementAndGet();
      if (stallTimer != null) {
        stallTimer.cancel(false);
        stallTimer = null;
      }
    }
    CloseReason reason = closeReason == null ? CloseReason.CLIENT_CLOSED : closeReason;
    closeReason = reason;
    for (MqttMessage m : early) {
      ReferenceCountUtil.release(m);
    }
    early.clear();
    for (Object m : deferred) {
      ReferenceCountUtil.release(m);
    }
    deferred.clear();
    if (session != null) {
      session.detach(this, publishWillOnClose);
    }
    server.unregister(this, was == State.CONNECTED);
    if (reason == CloseReason.CLIENT_DISCONNECT || reason == CloseReason.CLIENT_CLOSED
        || reason == CloseReason.SERVER_SHUTDOWN || reason == CloseReason.TAKEN_OVER
        || reason == CloseReason.TLS_HANDSHAKE) { // a failed handshake was logged when it failed
      Logger.debug("{} mqtt connection closed: {}", logId(), reason.text());
    } else {
      Logger.info("{} mqtt connection from {} closed: {}", logId(), remote, reason.text());
    }
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    if (closeReason == CloseReason.TLS_HANDSHAKE || io.leafgate.leaf.server.ServerTls.problem(cause) != null) {
      // The handshake's failure is logged once, by userEventTriggered; what follows is its echo.
      Logger.debug("cid={} mqtt TLS error: {}", cid, cause.getMessage());
      close(CloseReason.TLS_HANDSHAKE);
    } else if (cause instanceof IOException) {
      Logger.debug("cid={} mqtt read error: {}", cid, cause.getMessage());
      close(CloseReason.READ_ERROR);
    } else {
      Logger.error(cause, "cid={} unexpected error, closing the mqtt connection", cid);
      close(CloseReason.PROTOCOL_ERROR);
    }
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    if (evt instanceof IdleStateEvent e && e.state() == IdleState.READER_IDLE) {
      if (stalled) {
        return; // not reading on purpose (a paused publisher): the client's PINGREQs wait in the socket
      }
      disconnect(Reason.KEEP_ALIVE_TIMEOUT, CloseReason.KEEP_ALIVE_TIMEOUT);
      return;
    }
    if (evt instanceof SslHandshakeCompletionEvent hs) {
      if (hs.isSuccess()) {
        Logger.debug("cid={} mqtt client {} completed the TLS handshake", cid, remote);
      } else if (closeReason == null) {
        server.stats().tlsHandshakeFailures.increment();
        Logger.info("cid={} mqtt client {} closed: TLS handshake failed: {}", cid, remote, io.leafgate.leaf.server.ServerTls.describeFailure(hs.cause(), "a plain MQTT client"));
        close(CloseReason.TLS_HANDSHAKE);
      }
      return;
    }
    ctx.fireUserEventTriggered(evt);
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    if (channel.isWritable() && session != null && state == State.CONNECTED) {
      session.pump();
    }
    ctx.fireChannelWritabilityChanged();
  }

  /** Closes without a DISCONNECT. */
  void close(CloseReason reason) {
    if (closeReason == null) {
      closeReason = reason;
    }
    channel.config().setAutoRead(false);
    channel.close();
  }

  /** Sends a v5 DISCONNECT with {@code v5reason} (v3: nothing), then closes. */
  void disconnect(int v5reason, CloseReason reason) {
    if (closeReason != null || !channel.isActive()) {
      return;
    }
    closeReason = reason;
    channel.config().setAutoRead(false);
    if (version == 5 && state == State.CONNECTED) {
      MqttFixedHeader fh = new MqttFixedHeader(MqttMessageType.DISCONNECT, false, MqttQoS.AT_MOST_ONCE, false, 0);
      ChannelFutureListener then = reason == CloseReason.SERVER_SHUTDOWN ? ChannelFutureListener.CLOSE
          : f -> closeAfterReasonIsRead();
      channel.writeAndFlush(new MqttMessage(fh, new MqttReasonCodeAndPropertiesVariableHeader((byte) v5reason,
          MqttProperties.NO_PROPERTIES))).addListener(then);
    } else {
      channel.close();
    }
  }

  /** Bytes a client may still send after a protocol-error DISCONNECT before it is cut off at once. */
  private static final int LINGER_BYTES = 1 << 20;
  private static final long LINGER_MILLIS = 1000;

  /**
   * Closes a connection that was just told why (a v5 DISCONNECT after a protocol error) so that the
   * client can read the reason: closing a socket with unread input makes the kernel send a reset,
   * which can destroy the DISCONNECT before the client reads it (a client still writing an
   * oversized packet, say). So the output is shut after the DISCONNECT and what the client still
   * sends is read and thrown away, up to {@link #LINGER_BYTES} or {@link #LINGER_MILLIS}, until it
   * closes its side.
   */
  private void closeAfterReasonIsRead() {
    if (!channel.isActive() || !(channel instanceof io.netty.channel.socket.DuplexChannel duplex)) {
      channel.close();
      return;
    }
    channel.pipeline().addFirst("linger", new ChannelInboundHandlerAdapter() {
      private long discarded;

      @Override
      public void channelRead(ChannelHandlerContext ctx, Object msg) {
        discarded += msg instanceof io.netty.buffer.ByteBuf b ? b.readableBytes() : 0;
        io.netty.util.ReferenceCountUtil.release(msg);
        if (discarded > LINGER_BYTES) {
          ctx.close();
        }
      }
    });
    duplex.shutdownOutput().addListener(f -> {
      channel.config().setAutoRead(true);
      channel.read();
    });
    channel.eventLoop().schedule(() -> {
      channel.close();
    }, LINGER_MILLIS, java.util.concurrent.TimeUnit.MILLISECONDS);
  }

  /** Server shutdown: v5 clients get DISCONNECT 0x8B; no will is published. */
  void shutdown() {
    publishWillOnClose = false;
    disconnect(Reason.SERVER_SHUTTING_DOWN, CloseReason.SERVER_SHUTDOWN);
  }

  // ---------------------------------------------------------------------------------------------
  // Inbound

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    MqttMessage m = (MqttMessage) msg;
    if (closeReason != null) {
      ReferenceCountUtil.release(m);
      return;
    }
    if (m.decoderResult().isFailure()) {
      ReferenceCountUtil.release(m);
      onDecodeFailure(m.decoderResult().cause());
      return;
    }
    if (state == State.CONNECTING) {
      early.add(m); // processed once the CONNACK is out
      return;
    }
    reading = true;
    try {
      dispatch(m);
    } finally {
      ReferenceCountUtil.release(m);
    }
    if (!stalled && batch.stallRequested() && state == State.CONNECTED && closeReason == null
        && channel.config().isAutoRead()) {
      // Stop reading now, so that the rest of this read loop does not pile more on the subscriber
      // that asked for a pause; what is already decoded is still processed.
      channel.config().setAutoRead(false);
    }
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    reading = false;
    batch.flushAll();
    if (state != State.CONNECTING) {
      channel.flush();
    }
    FlushBatch.Backlogged b = batch.takeStall();
    if (b != null && !stalled && state == State.CONNECTED && closeReason == null) {
      // A subscriber of what this client publishes is behind (the local JetStream's queue, a slow
      // NATS client, an MQTT session's queue): stop reading until it catches up or its stall time
      // passes.
      stalled = true;
      server.stats().pausedPublishers.incrementAndGet();
      long gen = ++stallGen;
      channel.config().setAutoRead(false);
      stallTimer = channel.eventLoop().schedule(() -> resumeReading(gen), b.stallMillis(), TimeUnit.MILLISECONDS);
      b.whenDrained(() -> {
        try {
          channel.eventLoop().execute(() -> resumeReading(gen));
        } catch (java.util.concurrent.RejectedExecutionException e) {
          // The event loop is shutting down, and this connection with it.
        }
      });
    }
  }

  /** Ends the publisher pause {@code gen}, if it is still the current one. On the event loop. */
  private void resumeReading(long gen) {
    if (gen != stallGen || !stalled) {
      return;
    }
    stalled = false;
    server.stats().pausedPublishers.decrementAndGet();
    if (stallTimer != null) {
      stallTimer.cancel(false);
      stallTimer = null;
    }
    if (closeReason == null && state == State.CONNECTED) {
      channel.config().setAutoRead(true);
    }
  }

  private void onDecodeFailure(Throwable cause) {
    String what = cause == null ? "unknown" : cause.getMessage();
    if (state == State.AWAIT_CONNECT) {
      if (cause instanceof MqttUnacceptableProtocolVersionException) {
        Logger.info("cid={} mqtt client {} refused: unsupported protocol version ({})", cid, remote, what);
        refuse(Reason.V3_UNACCEPTABLE_PROTOCOL_VERSION, Reason.UNSUPPORTED_PROTOCOL_VERSION);
      } else if (cause instanceof MqttIdentifierRejectedException) {
        Logger.info("cid={} mqtt client {} refused: {}", cid, remote, what);
        refuse(Reason.V3_IDENTIFIER_REJECTED, Reason.CLIENT_ID_NOT_VALID);
      } else {
        Logger.info("cid={} mqtt client {} sent a malformed CONNECT: {}", cid, remote, what);
        close(cause instanceof TooLongFrameException ? CloseReason.PACKET_TOO_LARGE : CloseReason.MALFORMED_PACKET);
      }
      return;
    }
    Logger.info("{} sent a malformed packet: {}", logId(), what);
    if (cause instanceof TooLongFrameException) {
      disconnect(Reason.PACKET_TOO_LARGE, CloseReason.PACKET_TOO_LARGE);
    } else if (what.startsWith("invalid publish topic name")) {
      disconnect(Reason.TOPIC_NAME_INVALID, CloseReason.TOPIC_INVALID);
    } else if (cause instanceof DecoderException && what.contains("Illegal")) {
      disconnect(Reason.MALFORMED_PACKET, CloseReason.MALFORMED_PACKET);
    } else {
      disconnect(Reason.MALFORMED_PACKET, CloseReason.MALFORMED_PACKET);
    }
  }

  private void dispatch(MqttMessage m) {
    MqttMessageType type = m.fixedHeader().messageType();
    if (type == MqttMessageType.CONNECT) {
      if (state == State.AWAIT_CONNECT) {
        processConnect((MqttConnectMessage) m);
      } else {
        Logger.info("{} sent a second CONNECT", logId());
        disconnect(Reason.PROTOCOL_ERROR, CloseReason.PROTOCOL_ERROR);
      }
      return;
    }
    if (state != State.CONNECTED) {
      Logger.info("cid={} mqtt client {} sent {} before CONNECT", cid, remote, type);
      close(CloseReason.PROTOCOL_ERROR);
      return;
    }
    switch (type) {
      case PUBLISH -> processPublish((MqttPublishMessage) m);
      case PUBACK -> session.onPubAck(packetId(m));
      case PUBREC -> session.onPubRec(packetId(m), pubReplyReason(m));
      case PUBREL -> processPubRel(packetId(m));
      case PUBCOMP -> session.onPubComp(packetId(m));
      case SUBSCRIBE -> processSubscribe((MqttSubscribeMessage) m);
      case UNSUBSCRIBE -> processUnsubscribe((MqttUnsubscribeMessage) m);
      case PINGREQ -> channel.write(new MqttMessage(
          new MqttFixedHeader(MqttMessageType.PINGRESP, false, MqttQoS.AT_MOST_ONCE, false, 0)), channel.voidPromise());
      case DISCONNECT -> processDisconnect(m);
      default -> {
        Logger.info("{} sent an unexpected {}", logId(), type);
        disconnect(Reason.PROTOCOL_ERROR, CloseReason.PROTOCOL_ERROR);
      }
    }
  }

  private static int packetId(MqttMessage m) {
    return ((MqttMessageIdVariableHeader) m.variableHeader()).messageId();
  }

  private static int pubReplyReason(MqttMessage m) {
    return m.variableHeader() instanceof MqttPubReplyMessageVariableHeader v ? v.reasonCode() & 0xff : 0;
  }

  // ---------------------------------------------------------------------------------------------
  // CONNECT

  private void processConnect(MqttConnectMessage c) {
    if (connectTimer != null) {
      connectTimer.cancel(false);
    }
    ConnectRequest r = ConnectRequest.parse(c, server.authenticator(), server.connectionAllowed());
    version = r.version;
    if (r.clientId != null) {
      clientId = r.clientId;
    }
    if (r.refusal != null) {
      Logger.info("{} mqtt client {} refused: {}", logId(), remote, r.refusal.why());
      refuse(r.refusal.v3(), r.refusal.v5());
      return;
    }
    clientReceiveMax = r.receiveMaximum;
    clientMaxPacket = r.maximumPacketSize;
    expiryAtConnect = r.expiry;
    perms = r.permissions;
    if (version == 5) {
      aliases = new String[Defaults.TOPIC_ALIAS_MAXIMUM + 1];
    }
    state = State.CONNECTING;
    channel.config().setAutoRead(false);
    SessionManager.ConnectInfo ci = new SessionManager.ConnectInfo(r.clientId, version, r.cleanStart, r.expiry, r.will,
        perms);
    mgr.attach(this, ci).whenComplete((att, err) ->
        channel.eventLoop().execute(() -> onAttached(att, err, r.assignedId, r.keepAlive, r.serverKeepAlive)));
  }

  private void onAttached(SessionManager.Attached att, Throwable err, boolean assigned, int keepAlive,
      int serverKeepAlive) {
    if (err != null) {
      return; // the connection closed while its session was set up (already detached)
    }
    if (state != State.CONNECTING) {
      att.session().detach(this, publishWillOnClose); // closed just now: give the session back
      return;
    }
    session = att.session();
    state = State.CONNECTED;
    server.onConnected();
    MqttProperties props = MqttProperties.NO_PROPERTIES;
    if (version == 5) {
      props = new MqttProperties();
      props.add(new MqttProperties.IntegerProperty(MqttProperties.RECEIVE_MAXIMUM, Defaults.RECEIVE_MAXIMUM));
      props.add(new MqttProperties.IntegerProperty(MqttProperties.MAXIMUM_PACKET_SIZE, server.maxPacketSize()));
      props.add(new MqttProperties.IntegerProperty(MqttProperties.TOPIC_ALIAS_MAXIMUM, Defaults.TOPIC_ALIAS_MAXIMUM));
      if (assigned) {
        props.add(new MqttProperties.StringProperty(MqttProperties.ASSIGNED_CLIENT_IDENTIFIER, clientId));
      }
      if (serverKeepAlive >= 0) {
        props.add(new MqttProperties.IntegerProperty(MqttProperties.SERVER_KEEP_ALIVE, serverKeepAlive));
      }
    }
    MqttFixedHeader fh = new MqttFixedHeader(MqttMessageType.CONNACK, false, MqttQoS.AT_MOST_ONCE, false, 0);
    channel.write(new MqttConnAckMessage(fh, new MqttConnAckVariableHeader(
        MqttConnectReturnCode.CONNECTION_ACCEPTED, att.present(), props)), channel.voidPromise());
    for (Object m : deferred) {
      channel.write(m, channel.voidPromise());
    }
    deferred.clear();
    channel.flush();
    if (keepAlive > 0) {
      long idle = keepAlive * 1500L;
      channel.pipeline().addBefore(MqttServer.HANDLER_MQTT, MqttServer.HANDLER_KEEP_ALIVE,
          new IdleStateHandler(idle, 0, 0, TimeUnit.MILLISECONDS));
    }
    Logger.debug("{} mqtt v{} connected from {} (session {}, keep alive {} s)", logId(), version, remote,
        att.present() ? "resumed" : "new", keepAlive);
    session.pump();
    while (!early.isEmpty() && closeReason == null) {
      MqttMessage m = early.poll();
      try {
        dispatch(m);
      } finally {
        ReferenceCountUtil.release(m);
      }
    }
    batch.flushAll();
    channel.flush();
    if (closeReason == null) {
      channel.config().setAutoRead(true);
    }
  }

  /** Sends a refusing CONNACK (v3 code or v5 reason code) and closes. A v3 code of 0 just closes. */
  private void refuse(int v3code, int v5reason) {
    server.stats().refused.increment();
    closeReason = CloseReason.REFUSED;
    channel.config().setAutoRead(false);
    int code = version == 5 ? v5reason : v3code;
    if (code == 0) {
      channel.close();
      return;
    }
    MqttFixedHeader fh = new MqttFixedHeader(MqttMessageType.CONNACK, false, MqttQoS.AT_MOST_ONCE, false, 0);
    channel.writeAndFlush(new MqttConnAckMessage(fh, new MqttConnAckVariableHeader(
        MqttConnectReturnCode.valueOf((byte) code), false, MqttProperties.NO_PROPERTIES)))
        .addListener(ChannelFutureListener.CLOSE);
  }

  // ---------------------------------------------------------------------------------------------
  // PUBLISH

  private void processPublish(MqttPublishMessage pm) {
    int qos = pm.fixedHeader().qosLevel().value();
    int pid = pm.variableHeader().packetId();
    String topic = pm.variableHeader().topicName();
    MqttProperties props = pm.variableHeader().properties();
    if (version == 5) {
      Integer alias = MqttProps.intProp(props, MqttProperties.TOPIC_ALIAS, null);
      if (alias != null) {
        if (alias <= 0 || alias > Defaults.TOPIC_ALIAS_MAXIMUM) {
          Logger.info("{} sent topic alias {} (maximum {})", logId(), alias, Defaults.TOPIC_ALIAS_MAXIMUM);
          disconnect(Reason.TOPIC_ALIAS_INVALID, CloseReason.PROTOCOL_ERROR);
          return;
        }
        if (topic == null || topic.isEmpty()) {
          topic = aliases[alias];
          if (topic == null) {
            Logger.info("{} used topic alias {} before setting it", logId(), alias);
            disconnect(Reason.PROTOCOL_ERROR, CloseReason.PROTOCOL_ERROR);
            return;
          }
        } else {
          aliases[alias] = topic;
        }
      }
    }
    String subject = subjects.get(topic);
    boolean reserved = false;
    if (subject == null) {
      try {
        subject = TopicMapper.toSubject(topic == null ? "" : topic);
        if (subjects.size() >= CACHE_MAX) {
          subjects.clear();
        }
        subjects.put(topic, subject);
      } catch (TopicMapper.TopicException e) {
        if (e.problem() != TopicMapper.Problem.RESERVED) {
          Logger.info("{} published to an invalid topic: {}", logId(), e.getMessage());
          if (version == 5) {
            disconnect(Reason.TOPIC_NAME_INVALID, CloseReason.TOPIC_INVALID);
          } else {
            close(CloseReason.TOPIC_INVALID);
          }
          return;
        }
        reserved = true;
      }
    }
    if (qos > 0 && version == 5 && session.qos2.status(pid) != io.leafgate.mqtt.session.InboundQos2.Status.ROUTED
        && acks.size() + session.qos2.count() >= Defaults.RECEIVE_MAXIMUM) {
      Logger.info("{} exceeded the Receive Maximum of {}", logId(), Defaults.RECEIVE_MAXIMUM);
      disconnect(Reason.RECEIVE_MAXIMUM_EXCEEDED, CloseReason.RECEIVE_MAXIMUM_EXCEEDED);
      return;
    }
    if (reserved || !canPublish(subject)) {
      Logger.debug("{} may not publish to {}", logId(), topic);
      int rc = version == 5 ? Reason.NOT_AUTHORIZED : Reason.SUCCESS;
      if (qos == 1) {
        acks.ready(acks.add(MqttMessageType.PUBACK, pid), rc);
      } else if (qos == 2) {
        acks.ready(acks.add(MqttMessageType.PUBREC, pid), rc);
      }
      return;
    }
    long expiry = version == 5 ? MqttProps.unsigned(MqttProps.intProp(props, MqttProperties.PUBLICATION_EXPIRY_INTERVAL, -1)) : -1;
    long deadline = expiry >= 0 ? System.currentTimeMillis() + expiry * 1000 : 0;
    byte[] payload = ByteBufUtil.getBytes(pm.payload());
    AppMessage app = new AppMessage(subject, payload, qos, pm.fixedHeader().isRetain(),
        version == 5 ? MqttProps.toProps(props) : Props.NONE, deadline);
    switch (qos) {
      case 0 -> mgr.route(app, session, null, false, batch);
      case 1 -> {
        AckQueue.Ack a = acks.add(MqttMessageType.PUBACK, pid);
        settle(a, mgr.route(app, session, null, true, batch), null);
      }
      default -> publishQos2(app, pid);
    }
  }

  private boolean canPublish(String subject) {
    if (perms == Permissions.ALL) {
      return true;
    }
    Boolean ok = pubAllowed.get(subject);
    if (ok == null) {
      ok = perms.canPublish(subject);
      if (pubAllowed.size() >= CACHE_MAX) {
        pubAllowed.clear();
      }
      pubAllowed.put(subject, ok);
    }
    return ok;
  }

  /** QoS 2, delivered on PUBLISH; the packet id is held until PUBREL. */
  private void publishQos2(AppMessage app, int pid) {
    io.leafgate.mqtt.session.InboundQos2.Status st = session.qos2.status(pid);
    AckQueue.Ack a = acks.add(MqttMessageType.PUBREC, pid);
    if (st == io.leafgate.mqtt.session.InboundQos2.Status.ROUTED) {
      acks.ready(a, Reason.SUCCESS); // a repeated PUBLISH: acknowledged again, not routed again
      return;
    }
    if (!session.isPersistent()) {
      session.qos2.markRouted(pid);
      settle(a, mgr.route(app, session, null, true, batch), pid);
      return;
    }
    // Persistent: the packet id is stored before routing; after a restart a repeated PUBLISH is
    // routed again with the same message id, which streams and stored queues drop as duplicates.
    session.qos2.markRouted(pid);
    long known = st == io.leafgate.mqtt.session.InboundQos2.Status.STORED ? session.qos2.holdId(pid) : 0;
    CompletableFuture<Long> hold = known > 0 ? CompletableFuture.completedFuture(known)
        : server.store().holdQos2(session.storeKey(), pid, app);
    Session s = session;
    hold.whenComplete((holdId, err) -> channel.eventLoop().execute(() -> {
      if (s != session || state != State.CONNECTED) {
        return;
      }
      if (err != null) {
        Logger.debug("{} QoS 2 packet id {} could not be stored: {}", logId(), pid, err.getMessage());
        session.qos2.release(pid);
        acks.ready(a, Reason.UNSPECIFIED);
        return;
      }
      session.qos2.held(pid, app, holdId);
      FlushBatch b = new FlushBatch();
      SessionManager.Routed r = mgr.route(app, session, "mqtt-q2-" + session.storeKey() + "-" + holdId, true, b);
      b.flushAll();
      FlushBatch.Backlogged behind = b.takeStall();
      if (behind != null) {
        batch.stall(behind); // taken at the end of the next read batch
      }
      settle(a, r, pid);
    }));
  }

  private void processPubRel(int pid) {
    boolean had = session.qos2.release(pid);
    AckQueue.Ack a = acks.add(MqttMessageType.PUBCOMP, pid);
    if (had && session.isPersistent()) {
      Session s = session;
      server.store().releaseQos2(session.storeKey(), pid).whenComplete((v, e) -> channel.eventLoop().execute(() -> {
        if (s == session) {
          acks.ready(a, Reason.SUCCESS);
        }
      }));
    } else {
      acks.ready(a, Reason.SUCCESS);
    }
  }

  /**
   * Sets {@code a}'s reason once the routed message's commits are done. For QoS 2
   * ({@code qos2Pid} not null) an error ends the exchange (the packet id is released).
   */
  private void settle(AckQueue.Ack a, SessionManager.Routed r, Integer qos2Pid) {
    int base = r.delivered() == 0 ? Reason.NO_MATCHING_SUBSCRIBERS : Reason.SUCCESS;
    List<CompletableFuture<?>> waits = r.waits();
    CompletableFuture<Integer> stream = r.streamAck();
    boolean allDone = stream == null || stream.isDone();
    for (CompletableFuture<?> w : waits) {
      allDone &= w.isDone();
    }
    if (allDone) {
      finishSettle(a, base, r, qos2Pid);
      return;
    }
    List<CompletableFuture<?>> all = new ArrayList<>(waits.size() + 1);
    for (CompletableFuture<?> w : waits) {
      all.add(w.handle((x, e) -> null));
    }
    if (stream != null) {
      all.add(stream.handle((x, e) -> null));
    }
    Session s = session;
    CompletableFuture.allOf(all.toArray(new CompletableFuture<?>[0])).thenRun(() ->
        channel.eventLoop().execute(() -> {
          if (s == session) {
            finishSettle(a, base, r, qos2Pid);
          }
        }));
  }

  private void finishSettle(AckQueue.Ack a, int base, SessionManager.Routed r, Integer qos2Pid) {
    int rc = base;
    CompletableFuture<Integer> stream = r.streamAck();
    if (stream != null) {
      Integer code = stream.isCompletedExceptionally() ? Integer.valueOf(Reason.UNSPECIFIED) : stream.getNow(Reason.UNSPECIFIED);
      if (code != 0) {
        rc = code;
      }
    }
    if (rc < 0x80 && r.retainFailed()) {
      rc = Reason.QUOTA_EXCEEDED;
    }
    if (rc >= 0x80) {
      server.stats().storeErrors.increment();
      if (qos2Pid != null) {
        session.qos2.release(qos2Pid);
        if (session.isPersistent()) {
          server.store().releaseQos2(session.storeKey(), qos2Pid);
        }
      }
    }
    acks.ready(a, rc);
  }

  // ---------------------------------------------------------------------------------------------
  // SUBSCRIBE, UNSUBSCRIBE, DISCONNECT

  private void processSubscribe(MqttSubscribeMessage m) {
    int pid = m.variableHeader().messageId();
    MqttProperties props = m.idAndPropertiesVariableHeader().properties();
    int subId = 0;
    if (version == 5) {
      Integer id = MqttProps.intProp(props, MqttProperties.SUBSCRIPTION_IDENTIFIER, null);
      if (id != null) {
        if (id == 0) {
          disconnect(Reason.PROTOCOL_ERROR, CloseReason.PROTOCOL_ERROR);
          return;
        }
        subId = id;
      }
    }
    List<Integer> codes = new ArrayList<>();
    List<Runnable> after = new ArrayList<>();
    for (MqttTopicSubscription t : m.payload().topicSubscriptions()) {
      var o = t.option();
      int qos = o.qos().value();
      if (qos > 2) {
        disconnect(Reason.MALFORMED_PACKET, CloseReason.MALFORMED_PACKET);
        return;
      }
      boolean v5 = version == 5;
      SessionRecord.Sub spec = new SessionRecord.Sub(t.topicName(), qos, v5 && o.isNoLocal(),
          v5 && o.isRetainAsPublished(), v5 ? o.retainHandling().value() : 0, subId);
      Session.SubscribeResult r = session.subscribe(spec, perms);
      switch (r.outcome()) {
        case OK -> {
          codes.add(qos);
          if (r.retained() != null) {
            after.add(r.retained());
          }
        }
        case INVALID -> codes.add(v5 ? Reason.TOPIC_FILTER_INVALID : Reason.V3_SUBACK_FAILURE);
        case NOT_AUTHORIZED -> codes.add(v5 ? Reason.NOT_AUTHORIZED : Reason.V3_SUBACK_FAILURE);
        case PROTOCOL_ERROR -> {
          disconnect(Reason.PROTOCOL_ERROR, CloseReason.PROTOCOL_ERROR);
          return;
        }
        default -> throw new IllegalStateException();
      }
    }
    Runnable sendAck = () -> {
      MqttFixedHeader fh = new MqttFixedHeader(MqttMessageType.SUBACK, false, MqttQoS.AT_MOST_ONCE, false, 0);
      channel.write(new MqttSubAckMessage(fh, new MqttMessageIdAndPropertiesVariableHeader(pid, MqttProperties.NO_PROPERTIES),
          new MqttSubAckPayload(codes)), channel.voidPromise());
      for (Runnable r : after) {
        r.run();
      }
      channel.flush();
    };
    completeAfterPersist(sendAck);
  }

  private void processUnsubscribe(MqttUnsubscribeMessage m) {
    int pid = m.variableHeader().messageId();
    List<Short> codes = new ArrayList<>();
    for (String filter : m.payload().topics()) {
      codes.add((short) (session.unsubscribe(filter) ? Reason.SUCCESS : Reason.NO_SUBSCRIPTION_EXISTED));
    }
    completeAfterPersist(() -> {
      MqttFixedHeader fh = new MqttFixedHeader(MqttMessageType.UNSUBACK, false, MqttQoS.AT_MOST_ONCE, false, 0);
      MqttUnsubAckMessage ack = version == 5
          ? new MqttUnsubAckMessage(fh, new MqttMessageIdAndPropertiesVariableHeader(pid, MqttProperties.NO_PROPERTIES),
              new MqttUnsubAckPayload(codes))
          : new MqttUnsubAckMessage(fh, MqttMessageIdVariableHeader.from(pid));
      channel.writeAndFlush(ack, channel.voidPromise());
    });
  }

  /** Runs {@code r} once the session record is stored (at once for a session that is not persistent). */
  private void completeAfterPersist(Runnable r) {
    if (!session.isPersistent()) {
      r.run();
      return;
    }
    Session s = session;
    session.persist().whenComplete((v, e) -> channel.eventLoop().execute(() -> {
      if (s == session && state == State.CONNECTED) {
        r.run();
      }
    }));
  }

  private void processDisconnect(MqttMessage m) {
    int reason = 0;
    if (version == 5 && m.variableHeader() instanceof MqttReasonCodeAndPropertiesVariableHeader vh) {
      reason = vh.reasonCode() & 0xff;
      Integer exp = MqttProps.intProp(vh.properties(), MqttProperties.SESSION_EXPIRY_INTERVAL, null);
      if (exp != null) {
        long e = MqttProps.unsigned(exp);
        if (expiryAtConnect == 0 && e != 0) {
          Logger.info("{} set a Session Expiry Interval at DISCONNECT after connecting with 0", logId());
          disconnect(Reason.PROTOCOL_ERROR, CloseReason.PROTOCOL_ERROR);
          return;
        }
        session.setExpiry(e);
      }
    }
    publishWillOnClose = reason == Reason.DISCONNECT_WITH_WILL;
    closeReason = CloseReason.CLIENT_DISCONNECT;
    channel.config().setAutoRead(false);
    channel.close();
  }

  long cid() {
    return cid;
  }

  Channel channel() {
    return channel;
  }

  /** Whether a read batch is being processed (its writes are flushed at its end). */
  boolean inReadBatch() {
    return reading;
  }

  io.netty.channel.ChannelFuture closeFuture() {
    return channel.closeFuture();
  }

  String remote() {
    return remote;
  }

  String clientId() {
    return clientId;
  }

  Session session() {
    return session;
  }

  int version() {
    return version;
  }
}
