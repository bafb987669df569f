package io.leafgate.mqtt.session;

import io.leafgate.leaf.auth.Permissions;
import io.leafgate.leaf.route.FlushBatch;
import io.leafgate.leaf.route.Msg;
import io.leafgate.leaf.route.Origin;
import io.leafgate.leaf.route.Router;
import io.leafgate.leaf.spi.InternalClient;
import io.leafgate.leaf.spi.StreamCapture;
import io.leafgate.mqtt.Defaults;
import io.leafgate.mqtt.message.AppMessage;
import io.leafgate.mqtt.message.NatsHeaders;
import io.leafgate.mqtt.message.Props;
import io.leafgate.mqtt.store.MqttStore;
import io.leafgate.mqtt.store.SessionRecord;
import io.leafgate.mqtt.topic.TopicMapper;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.EventLoopGroup;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.tinylog.Logger;

/**
 * Every MQTT session, by client id: creation, resumption and takeover at CONNECT, restoration after
 * a restart, expiry; and the routing of MQTT messages into the subject space (with retained
 * messages, stream acknowledgements and request/response). Thread-safe.
 */
public final class SessionManager {
  /** What a CONNECT asks for, once validated. */
  public record ConnectInfo(String clientId, int protocolVersion, boolean cleanStart, long expirySeconds,
      Will will, Permissions permissions) {}

  /** The outcome of a CONNECT: the session and whether it existed before (CONNACK Session Present). */
  public record Attached(Session session, boolean present) {}

  /**
   * What routing one message did: how many subscribers it reached, the commits the publisher's
   * acknowledgement must wait for, and the capturing stream's answer (a PUBACK reason code), or
   * null when no local stream captures the subject.
   */
  public record Routed(int delivered, List<CompletableFuture<?>> waits, CompletableFuture<Integer> streamAck,
      CompletableFuture<Void> retained) {
    /** Whether the retained message could not be stored (limits). */
    public boolean retainFailed() {
      return retained != null && retained.isCompletedExceptionally();
    }
  }

  final Router router;
  final MqttStore store;
  final Stats stats;
  final long maxPendingBytes;
  /** How long a session may hold publishers back without sending anything (see {@link Session}). */
  volatile long stallMillis = io.leafgate.mqtt.Defaults.STALL_MILLIS;
  private final StreamCapture capture;
  private final RetainedIndex retained;
  private final InternalClient client;
  private final ReplyInbox replies;
  private final EventLoopGroup group;
  private io.netty.util.concurrent.ScheduledFuture<?> housekeeping;
  private final ConcurrentHashMap<String, Session> sessions = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, String> topics = new ConcurrentHashMap<>();
  /** Session records being written, so that shutdown can wait for them. */
  private final java.util.Set<CompletableFuture<Void>> saving = ConcurrentHashMap.newKeySet();
  private static final int TOPIC_CACHE_MAX = 8192;
  private static final ThreadLocal<Object[]> LAST_NATS = ThreadLocal.withInitial(() -> new Object[2]);

  public SessionManager(Router router, MqttStore store, StreamCapture capture, RetainedIndex retained,
      EventLoopGroup group, Stats stats, long maxPendingBytes) {
    this.router = router;
    this.store = store;
    this.capture = capture;
    this.retained = retained;
    this.group = group;
    this.stats = stats;
    this.maxPendingBytes = maxPendingBytes;
    this.client = new InternalClient(router, "mqtt");
    this.replies = new ReplyInbox(client, this::forwardResponse);
  }

  /** Starts the reply inbox and its sweeper, and restores the stored sessions (blocks). */
  public void start() throws Exception {
    replies.start();
    housekeeping = group.next().scheduleAtFixedRate(this::housekeeping, 1, 1, TimeUnit.SECONDS);
    restore();
  }

  private void housekeeping() {
    long now = System.currentTimeMillis();
    replies.sweep(now);
    for (String subject : retained.expire(now)) {
      store.deleteRetained(subject);
    }
  }

  /** Stops: detached sessions keep their stored state; the reply inbox closes. */
  public void close() {
    if (housekeeping != null) {
      housekeeping.cancel(false);
    }
    replies.close();
    client.close();
  }

  /** Changes the stall bound ({@link io.leafgate.mqtt.Defaults#STALL_MILLIS}); for tests. */
  public void setStallMillis(long millis) {
    stallMillis = millis;
  }

  public Collection<Session> sessions() {
    return sessions.values();
  }

  public RetainedIndex retained() {
    return retained;
  }

  public int pendingResponses() {
    return replies.size();
  }

  // ---------------------------------------------------------------------------------------------
  // Restore after a restart

  private void restore() throws Exception {
    long now = System.currentTimeMillis();
    int restored = 0;
    for (SessionRecord r : store.loadSessions()) {
      String key = io.leafgate.mqtt.store.SessionKeys.of(r.clientId());
      long dis = r.disconnectedAtMillis() == 0 ? now : r.disconnectedAtMillis();
      long left = r.expirySeconds() < 0 ? -1 : r.expirySeconds() - (now - dis) / 1000;
      if (r.expirySeconds() >= 0 && left <= 0) {
        Logger.debug("client={} stored session expired while the gateway was down", r.clientId());
        store.deleteSession(key);
        continue;
      }
      Session s = new Session(this, r.clientId(), group.next());
      s.expirySeconds = r.expirySeconds();
      s.protocolVersion = r.protocolVersion();
      s.stateToLoad = true;
      s.stored = true;
      for (SessionRecord.Sub spec : r.subscriptions()) {
        try {
          s.subscribe(newSub(s, spec), spec.filter());
        } catch (TopicMapper.TopicException e) {
          Logger.warn("client={} stored subscription {} is not valid and is dropped: {}", r.clientId(), spec.filter(),
              e.getMessage());
        }
      }
      sessions.put(r.clientId(), s);
      if (r.disconnectedAtMillis() == 0) {
        saveRecord(s, now);
      }
      long expiry = left;
      s.post(() -> s.scheduleExpiry(expiry));
      restored++;
    }
    if (restored > 0) {
      Logger.info("Restored {} persistent MQTT sessions and {} retained messages", restored, retained.size());
    }
  }

  /** Builds a subscription of {@code s} from its spec (filter, options). */
  SessionSub newSub(Session s, SessionRecord.Sub spec) throws TopicMapper.TopicException {
    TopicMapper.SharedFilter shared = TopicMapper.parseShared(spec.filter());
    String filter = shared == null ? spec.filter() : shared.filter();
    List<String> subjects = TopicMapper.toFilterSubjects(filter);
    return new SessionSub(s, spec, shared == null ? null : shared.group(), filter, subjects);
  }

  // ---------------------------------------------------------------------------------------------
  // CONNECT

  /**
   * Finds or creates the session for a CONNECT on {@code link}, taking it over from another
   * connection if need be. Completes on the link's loop (or a store thread for a fresh session).
   */
  public CompletableFuture<Attached> attach(Link link, ConnectInfo ci) {
    CompletableFuture<Attached> f = new CompletableFuture<>();
    attach(link, ci, f);
    return f;
  }

  private void attach(Link link, ConnectInfo ci, CompletableFuture<Attached> f) {
    Session existing = sessions.get(ci.clientId());
    if (existing == null) {
      Session fresh = new Session(this, ci.clientId(), link.loop());
      if (sessions.putIfAbsent(ci.clientId(), fresh) == null) {
        configure(fresh, ci);
        fresh.attach(link, false);
        finish(fresh, link, false, f);
        return;
      }
      existing = sessions.get(ci.clientId());
      if (existing == null) {
        link.loop().execute(() -> attach(link, ci, f));
        return;
      }
    }
    Session old = existing;
    old.post(() -> {
      if (old.ended) {
        link.loop().execute(() -> attach(link, ci, f));
        return;
      }
      Link previous = old.link;
      if (previous != null) {
        Logger.info("{} takes over the session of client={} from the previous connection", link.logId(), ci.clientId());
        old.detach(previous, true);
        previous.closeForTakeover();
      }
      if (ci.cleanStart() || old.ended) {
        old.end();
        link.loop().execute(() -> attach(link, ci, f));
        return;
      }
      old.rebind(link.loop());
      old.post(() -> resume(old, link, ci, f));
    });
  }

  private void configure(Session s, ConnectInfo ci) {
    s.perms = ci.permissions();
    s.protocolVersion = ci.protocolVersion();
    s.expirySeconds = ci.expirySeconds();
    s.will = ci.will();
  }

  private void resume(Session s, Link link, ConnectInfo ci, CompletableFuture<Attached> f) {
    configure(s, ci);
    if (!s.stateToLoad) {
      s.attach(link, true);
      finish(s, link, true, f);
      return;
    }
    s.stateToLoad = false;
    store.loadOutbound(s.key).thenCombine(store.loadQos2(s.key), (out, held) -> {
      s.post(() -> {
        s.restoreOutbound(out);
        s.qos2.restore(held);
        s.attach(link, true);
        finish(s, link, true, f);
      });
      return null;
    }).exceptionally(e -> {
      Logger.warn("{} could not load its stored QoS 2 state: {}", link.logId(), e.getMessage());
      s.post(() -> {
        s.attach(link, true);
        finish(s, link, true, f);
      });
      return null;
    });
  }

  private void finish(Session s, Link link, boolean present, CompletableFuture<Attached> f) {
    if (!link.isActive()) {
      // The connection went away while its session was being set up.
      s.detach(link, true);
      f.completeExceptionally(new IllegalStateException("connection closed"));
      return;
    }
    if (s.isPersistent()) {
      saveRecord(s, 0).whenComplete((v, e) -> f.complete(new Attached(s, present)));
    } else {
      if (s.stored) {
        store.deleteSession(s.key);
        s.stored = false;
      }
      f.complete(new Attached(s, present));
    }
  }

  /** Writes the session record (persistent sessions); {@code disconnectedAt} 0 while connected. */
  CompletableFuture<Void> saveRecord(Session s, long disconnectedAt) {
    if (!s.isPersistent() || s.ended) {
      return CompletableFuture.completedFuture(null);
    }
    s.stored = true;
    SessionRecord r = new SessionRecord(s.clientId, s.protocolVersion, s.expirySeconds, disconnectedAt,
        s.subscriptionSpecs());
    CompletableFuture<Void> f = store.saveSession(r).exceptionally(e -> {
      Logger.warn("client={} session record not stored: {}", s.clientId, e.getMessage());
      return null;
    });
    saving.add(f);
    f.whenComplete((v, e) -> saving.remove(f));
    return f;
  }

  void onEnded(Session s) {
    sessions.remove(s.clientId, s);
    if (s.stored) {
      s.stored = false;
      store.deleteSession(s.key);
    }
  }

  /**
   * Records the disconnect time of every persistent session still connected (shutdown) and
   * completes once every session record being written is stored.
   */
  public CompletableFuture<Void> recordShutdown() {
    long now = System.currentTimeMillis();
    List<CompletableFuture<Void>> all = new ArrayList<>(saving);
    for (Session s : sessions.values()) {
      if (s.isPersistent() && s.isConnected()) {
        all.add(saveRecord(s, now));
      }
    }
    return CompletableFuture.allOf(all.toArray(new CompletableFuture<?>[0]));
  }

  // ---------------------------------------------------------------------------------------------
  // Routing

  /**
   * Routes an MQTT message into the subject space on the caller's thread. NATS subscribers see the
   * User Properties as headers and, for a request, a reply subject of ours; MQTT subscribers see the
   * message as published. Retained messages are stored. {@code wantAck}: the caller will acknowledge
   * only after a capturing stream's commit.
   */
  public Routed route(AppMessage app, Session publisher, String dedupeId, boolean wantAck, FlushBatch batch) {
    String subject = app.subject();
    Props props = app.props();
    byte[] hdr = props.user().isEmpty() ? null : NatsHeaders.fromUserProperties(props.user());
    boolean captured = capture.captures(subject);
    if (captured && dedupeId != null) {
      hdr = withHeader(hdr, "Nats-Msg-Id", dedupeId);
    }
    ReplyInbox.Entry entry = null;
    if (props.responseTopic() != null) {
      String rs = null;
      try {
        rs = TopicMapper.toSubject(props.responseTopic());
      } catch (TopicMapper.TopicException e) {
        Logger.debug("Response topic {} cannot be answered from NATS: {}", props.responseTopic(), e.getMessage());
      }
      if (rs != null) {
        long now = System.currentTimeMillis();
        long deadline = Math.max(app.expiresAtMillis() > 0 ? app.expiresAtMillis() : now + Defaults.RESPONSE_WINDOW_MILLIS,
            now + Defaults.STORE_TIMEOUT_MILLIS);
        entry = replies.register(rs, props.correlationData(), deadline, captured && wantAck);
      }
    } else if (captured && wantAck) {
      entry = replies.register(null, null, System.currentTimeMillis() + Defaults.STORE_TIMEOUT_MILLIS, true);
    }
    ByteBuf data = hdr == null ? Unpooled.wrappedBuffer(app.payload()) : Unpooled.wrappedBuffer(hdr, app.payload());
    Msg msg = new Msg(subject, entry == null ? null : entry.subject, hdr == null ? 0 : hdr.length, data);
    PublishContext ctx = PublishContext.enter(msg, app, publisher, dedupeId);
    int n;
    try {
      n = router.publish(msg, null, Origin.MQTT, batch);
    } finally {
      ctx.exit();
    }
    stats.inMsgs.increment();
    stats.inBytes.add(app.payload().length);
    List<CompletableFuture<?>> waits = ctx.waits();
    CompletableFuture<Void> ret = null;
    if (app.retain()) {
      ret = retain(app);
      waits = new ArrayList<>(waits);
      waits.add(ret);
    }
    CompletableFuture<Integer> ack = entry == null ? null : entry.ack;
    if (ack != null && n == 0) {
      replies.cancel(entry);
      ack = null;
    }
    return new Routed(n, waits, ack, ret);
  }

  private static byte[] withHeader(byte[] hdr, String name, String value) {
    String line = name + ": " + value + "\r\n";
    if (hdr == null) {
      return ("NATS/1.0\r\n" + line + "\r\n").getBytes(StandardCharsets.ISO_8859_1);
    }
    byte[] add = line.getBytes(StandardCharsets.ISO_8859_1);
    byte[] out = new byte[hdr.length + add.length];
    System.arraycopy(hdr, 0, out, 0, hdr.length - 2);
    System.arraycopy(add, 0, out, hdr.length - 2, add.length);
    out[out.length - 2] = '\r';
    out[out.length - 1] = '\n';
    return out;
  }

  /** Sets or (empty payload) deletes the retained message of the subject; completes when stored. */
  CompletableFuture<Void> retain(AppMessage app) {
    if (app.payload().length == 0) {
      retained.remove(app.subject());
      return store.deleteRetained(app.subject());
    }
    if (!retained.put(app)) {
      stats.retainedRefused.increment();
      return CompletableFuture.failedFuture(new IllegalStateException("retained message limits reached"));
    }
    return store.putRetained(app);
  }

  /** Publishes a will on behalf of its (gone) client, if its permissions allow. Any thread. */
  void publishWill(Session s, Will w) {
    AppMessage m = w.message();
    if (w.messageExpirySeconds() >= 0) {
      m = new AppMessage(m.subject(), m.payload(), m.qos(), m.retain(), m.props(),
          System.currentTimeMillis() + w.messageExpirySeconds() * 1000);
    }
    if (!s.perms.canPublish(m.subject())) {
      Logger.info("client={} will on {} not published: publish permission denied", s.clientId, m.subject());
      return;
    }
    Logger.debug("client={} will published on {}", s.clientId, m.subject());
    FlushBatch batch = new FlushBatch();
    route(m, s, null, false, batch);
    batch.flushAll();
  }

  private void forwardResponse(ReplyInbox.Entry e, InternalClient.Message m) {
    List<Props.UserProperty> user = m.headers() == null ? List.of()
        : NatsHeaders.toUserProperties(m.headers(), 0, m.headers().length);
    Props p = new Props(null, null, null, e.correlationData, user);
    AppMessage app = new AppMessage(e.responseSubject, m.data(), 0, false, p, 0);
    FlushBatch batch = new FlushBatch();
    route(app, null, null, false, batch);
    batch.flushAll();
  }

  /** The retained messages a new subscription receives. */
  List<AppMessage> retainedFor(SessionSub s) {
    return retained.match(s.subjects, s.dollarGuard, System.currentTimeMillis());
  }

  // ---------------------------------------------------------------------------------------------
  // Conversions

  /** A NATS message as MQTT sees it: QoS 0, headers as User Properties, reply as Response Topic. */
  AppMessage fromNats(Msg m) {
    Object[] last = LAST_NATS.get();
    if (last[0] == m) {
      return (AppMessage) last[1];
    }
    ByteBuf d = m.data();
    int at = d.readerIndex();
    byte[] payload = ByteBufUtil.getBytes(d, at + m.hdrLen(), m.payloadSize());
    List<Props.UserProperty> user = List.of();
    if (m.hdrLen() > 0) {
      byte[] h = ByteBufUtil.getBytes(d, at, m.hdrLen());
      user = NatsHeaders.toUserProperties(h, 0, h.length);
    }
    String rt = m.reply() == null ? null : topicOf(m.reply());
    Props props = rt == null && user.isEmpty() ? Props.NONE : new Props(null, null, rt, null, user);
    AppMessage a = new AppMessage(m.subject(), payload, 0, false, props, 0);
    last[0] = m;
    last[1] = a;
    return a;
  }

  /** The topic for a subject, cached. */
  String topicOf(String subject) {
    String t = topics.get(subject);
    if (t == null) {
      t = TopicMapper.toTopic(subject);
      if (topics.size() >= TOPIC_CACHE_MAX) {
        topics.clear();
      }
      topics.put(subject, t);
    }
    return t;
  }
}
