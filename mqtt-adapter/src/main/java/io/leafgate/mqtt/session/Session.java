package io.leafgate.mqtt.session;

import io.leafgate.leaf.auth.Permissions;
import io.leafgate.leaf.route.FlushBatch;
import io.leafgate.leaf.route.Msg;
import io.leafgate.leaf.route.Subscription;
import io.leafgate.mqtt.Defaults;
import io.leafgate.mqtt.message.AppMessage;
import io.leafgate.mqtt.message.Delivery;
import io.leafgate.mqtt.message.Props;
import io.leafgate.mqtt.store.MqttStore;
import io.leafgate.mqtt.store.SessionRecord;
import io.netty.buffer.Unpooled;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.mqtt.MqttFixedHeader;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageIdVariableHeader;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttProperties;
import io.netty.handler.codec.mqtt.MqttPubReplyMessageVariableHeader;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.handler.codec.mqtt.MqttPublishVariableHeader;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.tinylog.Logger;

/**
 * One MQTT session: its subscriptions, the messages on their way to the client (inflight window,
 * in-memory queue, and for a persistent session the stored queue), the inbound QoS 2 messages held
 * until PUBREL, and the will.
 *
 * <p>Threads: the session's state is owned by one event loop, {@link #loop}: the loop of the
 * connection it is attached to, or any loop while detached. When a new connection takes the
 * session over, the loop changes; {@link #post} follows it. Deliveries ({@link #deliver}) arrive
 * on publishers' threads and only append to {@link #arrivals} under {@link #lock}; the producer's
 * {@link FlushBatch} then drains them once per read batch on the session's loop.
 *
 * <p>Persistent sessions (Session Expiry Interval other than 0, or a v3 clean session of 0) route
 * every QoS 1/2 delivery through the store before sending it, so queued and unacknowledged
 * messages survive disconnects and restarts; the client's PUBACK deletes the stored copy.
 *
 * <p>Backpressure: a connected client's in-memory queue is bounded (messages and bytes). When a
 * QoS 1/2 delivery (or a NATS message to a QoS 1/2 subscription) finds it past its high water
 * mark, the session asks the producer's {@link FlushBatch} to pause with itself as the gate
 * ({@link FlushBatch.Backlogged}): the publisher's connection stops reading after its current read
 * batch, and resumes when the queue is under the low water mark, when the client goes away, or
 * after the stall bound. A session that sends nothing for {@link SessionManager#stallMillis} while
 * holding publishers back stops holding them (its queue fills and drops, counted) until it drains.
 * A publisher is never paused by its own session (it would not read the PUBACKs that drain it).
 */
public final class Session implements FlushBatch.Flushable, FlushBatch.Backlogged {
  /** One QoS 1/2 PUBLISH sent and not yet fully acknowledged (or, with a null delivery, a PUBREL). */
  static final class Inflight {
    final Delivery delivery;
    final int packetId;
    boolean released;
    boolean recordPending;

    Inflight(Delivery delivery, int packetId) {
      this.delivery = delivery;
      this.packetId = packetId;
    }
  }

  final SessionManager mgr;
  final String clientId;
  final String key;
  volatile EventLoop loop;
  volatile Link link;
  volatile Permissions perms = Permissions.ALL;
  /** Session Expiry Interval in seconds: 0 ends with the connection, -1 never expires. */
  volatile long expirySeconds;
  volatile boolean ended;
  /** A record of this session may be in the store (it was persistent at some point). */
  volatile boolean stored;
  int protocolVersion;
  /** Subscriptions by MQTT filter as the client sent it; read by monitoring. */
  final ConcurrentHashMap<String, SessionSub> subs = new ConcurrentHashMap<>();

  // Deliveries from publishers' threads, guarded by lock.
  private final Object lock = new Object();
  private ArrayDeque<Delivery> arrivals = new ArrayDeque<>();
  private long arrivalBytes;
  private boolean drainScheduled;
  private volatile int queuedOnLoop;
  private volatile long queuedBytesOnLoop;
  private final Runnable drainTask = this::drain;
  /** Publishers paused until the queue drains (guarded by lock); each runs once. */
  private ArrayList<Runnable> drainWaiters = new ArrayList<>();
  /** Publishers are being held back: set past the high water mark, cleared under the low one. */
  private volatile boolean gating;
  /** When the current episode of holding publishers back began (guarded by lock). */
  private volatile long gateSince;
  /** The current episode has passed the stall bound without progress (guarded by lock). */
  private boolean stallExpired;
  /** When a PUBLISH last left the queue for the client (written by the loop). */
  private volatile long lastProgress;

  // Outbound state, owned by the loop.
  private final ArrayDeque<Delivery> pending = new ArrayDeque<>();
  private long pendingBytes;
  private final LinkedHashMap<Integer, Inflight> inflight = new LinkedHashMap<>();
  /** Stored deliveries sent on an earlier connection: resent with the same packet id and DUP. */
  private final HashMap<Long, Integer> pidByStoreId = new HashMap<>();
  private final HashSet<Integer> reservedPids = new HashSet<>();
  private int nextPid = 1;
  /** Incremented on every attach and detach, so that late store callbacks are recognised. */
  private long gen;
  private long lastStoreId;
  private boolean backlog;
  private boolean loading;
  /**
   * The highest queue id known to be committed (from append acknowledgements). Reading the queue
   * goes on until it has been seen: the JetStream API does not promise that a read issued right
   * after a PubAck sees the message (the local engine's early versions answered first), so a short
   * read is tried again rather than trusted.
   */
  private long highestKnownId;
  /** The outbound QoS 2 state and held messages of a restored session are not loaded yet. */
  boolean stateToLoad;

  /** Inbound QoS 2 packet ids between PUBLISH and PUBREL. Owned by the loop. */
  public final InboundQos2 qos2 = new InboundQos2();

  Will will;
  private ScheduledFuture<?> willTimer;
  private Will scheduledWill;
  private ScheduledFuture<?> expiryTimer;
  private ScheduledFuture<?> retryTimer;

  Session(SessionManager mgr, String clientId, EventLoop loop) {
    this.mgr = mgr;
    this.clientId = clientId;
    this.key = io.leafgate.mqtt.store.SessionKeys.of(clientId);
    this.loop = loop;
  }

  public String clientId() {
    return clientId;
  }

  public boolean isPersistent() {
    return expirySeconds != 0;
  }

  public boolean isConnected() {
    return link != null;
  }

  /** Runs {@code task} on the session's loop, following it if it moves. */
  void post(Runnable task) {
    EventLoop l = loop;
    l.execute(() -> {
      if (loop != l) {
        post(task);
      } else {
        task.run();
      }
    });
  }

  private String logId() {
    Link l = link;
    return l != null ? l.logId() : "client=" + clientId;
  }

  // ---------------------------------------------------------------------------------------------
  // Delivery from the router (publishers' threads)

  /** A message matched one of this session's subscriptions. Any thread. */
  void deliver(SessionSub s, Msg m, FlushBatch batch) {
    String subject = m.subject();
    if (ended || (s.dollarGuard && subject.startsWith("$"))) {
      return;
    }
    Permissions p = perms;
    if (p.hasSubscribeDeny() && p.deniesDelivery(subject)) {
      return;
    }
    PublishContext ctx = PublishContext.of(m);
    AppMessage app;
    if (ctx != null) {
      if (s.spec.noLocal() && ctx.publisher == this) {
        return;
      }
      app = ctx.app;
    } else {
      app = mgr.fromNats(m);
    }
    long now = System.currentTimeMillis();
    if (app.expired(now)) {
      return;
    }
    int qos = Math.min(app.qos(), s.spec.qos());
    boolean retain = s.spec.retainAsPublished() && app.retain();
    Delivery d = new Delivery(app, qos, retain, s.spec.subscriptionId(), 0);
    if (qos > 0 && isPersistent()) {
      enqueueDurably(d, ctx);
      return;
    }
    // Reliable deliveries hold their publisher back rather than being dropped: MQTT QoS 1/2, and
    // NATS messages (sent as QoS 0, like nats-server) to a subscription that asked for QoS 1/2. Never
    // the session's own connection: a paused connection would not read the PUBACKs that drain it.
    boolean reliable = ctx != null ? qos > 0 && ctx.publisher != this : s.spec.qos() > 0;
    offer(d, reliable ? batch : null, batch);
  }

  private void enqueueDurably(Delivery d, PublishContext ctx) {
    String msgId = ctx != null && ctx.dedupeId != null ? ctx.dedupeId + "." + key : null;
    CompletableFuture<Long> f = mgr.store.enqueue(key, d, msgId);
    if (ctx != null) {
      ctx.await(f);
    }
    f.whenComplete((id, err) -> {
      if (err != null) {
        mgr.stats.queueFull.increment();
        Logger.debug("{} a QoS {} message on {} was not queued: {}", logId(), d.qos(), d.msg().subject(), err.getMessage());
        return;
      }
      post(() -> onEnqueued(id, d));
    });
  }

  /**
   * Queues a delivery in memory for the connected client; dropped (and counted) past the bounds.
   * Past the high water mark, {@code pausable} (the producer's batch, for a reliable delivery, else
   * null) is asked to pause until the queue drains.
   */
  void offer(Delivery d, FlushBatch pausable, FlushBatch batch) {
    boolean first;
    int hold = HOLD_NO;
    long w = d.msg().weight();
    synchronized (lock) {
      if (link == null || ended) {
        return; // QoS 0 is not queued for a disconnected client
      }
      int queued = arrivals.size() + queuedOnLoop;
      long bytes = arrivalBytes + queuedBytesOnLoop + w;
      if (queued >= Defaults.MAX_QUEUED_IN_MEMORY || bytes > mgr.maxPendingBytes) {
        mgr.stats.dropped.increment();
        return;
      }
      arrivals.add(d);
      arrivalBytes += w;
      first = !drainScheduled;
      drainScheduled = true;
      if (pausable != null && (queued + 1 >= Defaults.QUEUED_HIGH_WATER || bytes > mgr.maxPendingBytes / 2)) {
        hold = holdPublishers();
      }
    }
    if (hold == HOLD_YES && !pausable.stallRequested()) {
      mgr.stats.publisherPauses.increment();
      pausable.stall(this);
    } else if (hold == HOLD_EXPIRED) {
      mgr.stats.stallTimeouts.increment();
      Logger.info("{} has taken no message for {} ms with {} queued: its publishers are no longer paused for it,"
          + " and what does not fit its queue is dropped until it catches up", logId(), mgr.stallMillis, queuedOnLoop);
    }
    if (first) {
      if (batch != null) {
        batch.add(this);
      } else {
        flushBatched();
      }
    }
  }

  private static final int HOLD_NO = 0;
  private static final int HOLD_YES = 1;
  /** No: the stall bound has just run out (reported once per episode). */
  private static final int HOLD_EXPIRED = 2;

  /**
   * Whether a publisher should pause now that the queue is past its high water mark: yes, unless
   * this episode has gone on for the stall bound with nothing sent to the client. Under lock.
   */
  private int holdPublishers() {
    long now = System.currentTimeMillis();
    if (!gating) {
      gating = true;
      gateSince = now;
      stallExpired = false;
    }
    if (stallExpired) {
      return HOLD_NO;
    }
    if (now - Math.max(gateSince, lastProgress) >= mgr.stallMillis) {
      stallExpired = true;
      return HOLD_EXPIRED;
    }
    return HOLD_YES;
  }

  /** Runs {@code resume} once the in-memory queue is under the low water mark (or the client is gone). */
  @Override
  public void whenDrained(Runnable resume) {
    synchronized (lock) {
      if (gating && link != null && !ended && !belowLowWater(arrivals.size() + queuedOnLoop,
          arrivalBytes + queuedBytesOnLoop)) {
        drainWaiters.add(resume);
        return;
      }
    }
    resume.run();
  }

  /** The time left before this session stops holding publishers back, at least 1 ms. */
  @Override
  public long stallMillis() {
    long since = Math.max(gateSince, lastProgress);
    long left = mgr.stallMillis - (System.currentTimeMillis() - since);
    return Math.max(1, Math.min(mgr.stallMillis, left));
  }

  private boolean belowLowWater(int queued, long bytes) {
    return queued < Defaults.QUEUED_LOW_WATER && bytes < mgr.maxPendingBytes / 4;
  }

  /**
   * Lets paused publishers go on when the queue is under the low water mark, or with {@code all}
   * (the client went away) whatever the queue. On the session's loop.
   */
  private void releasePublishers(boolean all) {
    if (!gating) {
      return;
    }
    ArrayList<Runnable> go;
    synchronized (lock) {
      if (!gating || !(all || link == null || ended
          || belowLowWater(arrivals.size() + pending.size(), arrivalBytes + pendingBytes))) {
        return;
      }
      gating = false;
      stallExpired = false;
      go = drainWaiters;
      drainWaiters = new ArrayList<>();
    }
    for (Runnable r : go) {
      try {
        r.run();
      } catch (RuntimeException e) {
        Logger.warn(e, "{} resuming a paused publisher failed", logId());
      }
    }
  }

  @Override
  public void flushBatched() {
    EventLoop l = loop;
    if (l.inEventLoop()) {
      drain();
    } else {
      l.execute(drainTask);
    }
  }

  private void drain() {
    if (!loop.inEventLoop()) {
      loop.execute(drainTask);
      return;
    }
    ArrayDeque<Delivery> batch;
    synchronized (lock) {
      batch = arrivals;
      arrivals = new ArrayDeque<>();
      arrivalBytes = 0;
      drainScheduled = false;
    }
    for (Delivery d : batch) {
      pending.add(d);
      pendingBytes += d.msg().weight();
    }
    long depth = pending.size();
    Stats st = mgr.stats;
    for (long peak = st.queuedPeak.get(); depth > peak; peak = st.queuedPeak.get()) {
      if (st.queuedPeak.compareAndSet(peak, depth)) {
        break;
      }
    }
    pump();
  }

  // ---------------------------------------------------------------------------------------------
  // Sending (the session's loop)

  /**
   * Sends what the inflight window and the socket allow, then reads ahead from the store. Called on
   * the session's loop (also when the socket becomes writable again).
   */
  public void pump() {
    Link l = link;
    if (l == null) {
      syncQueued();
      releasePublishers(true);
      return;
    }
    int max = l.maxInflight();
    boolean wrote = false;
    long now = System.currentTimeMillis();
    int before = pending.size();
    while (!pending.isEmpty() && l.isWritable()) {
      Delivery d = pending.peekFirst();
      if (d.qos() > 0 && inflight.size() >= max) {
        break;
      }
      pending.pollFirst();
      pendingBytes -= d.msg().weight();
      if (d.msg().expired(now)) {
        mgr.stats.expired.increment();
        done(d);
        continue;
      }
      if (d.qos() == 0) {
        wrote |= writePublish(l, d, 0, false);
        continue;
      }
      Integer reuse = d.storeId() > 0 ? pidByStoreId.remove(d.storeId()) : null;
      if (reuse != null) {
        reservedPids.remove(reuse);
      }
      int pid = reuse != null ? reuse : allocatePacketId();
      Inflight e = new Inflight(d, pid);
      inflight.put(pid, e);
      if (d.qos() == 2 && d.storeId() > 0 && reuse == null && isPersistent()) {
        // The packet id must be on record before the client can see it (exactly once across a restart).
        e.recordPending = true;
        long g = gen;
        mgr.store.saveOutbound(key, pid, d.storeId()).whenComplete((v, err) -> post(() -> onOutboundRecorded(g, e, err)));
        continue;
      }
      wrote |= writePublish(l, d, pid, reuse != null);
    }
    flushFrames(l);
    syncQueued();
    if (wrote) {
      l.flush();
    }
    if (gating && pending.size() < before) {
      lastProgress = now; // only read while holding publishers back, against gateSince
    }
    releasePublishers(false);
    maybeLoad();
  }

  /** PUBLISH packets without properties written in this pump, not yet handed to the link. */
  private io.netty.buffer.ByteBuf out;

  private void flushFrames(Link l) {
    if (out != null) {
      l.writeBytes(out);
      out = null;
    }
  }

  private void syncQueued() {
    queuedOnLoop = pending.size();
    queuedBytesOnLoop = pendingBytes;
  }

  private void onOutboundRecorded(long g, Inflight e, Throwable err) {
    Link l = link;
    if (g != gen || l == null || inflight.get(e.packetId) != e) {
      return;
    }
    e.recordPending = false;
    if (err != null) {
      Logger.debug("{} QoS 2 packet id {} not recorded, sending anyway: {}", logId(), e.packetId, err.getMessage());
    }
    if (writePublish(l, e.delivery, e.packetId, false)) {
      flushFrames(l);
      l.flush();
    }
  }

  private int allocatePacketId() {
    for (int i = 0; i < 65535; i++) {
      int p = nextPid;
      nextPid = nextPid == 65535 ? 1 : nextPid + 1;
      if (!inflight.containsKey(p) && !reservedPids.contains(p)) {
        return p;
      }
    }
    throw new IllegalStateException("no free packet identifier");
  }

  /** Writes one PUBLISH; false when it was dropped (too large for the client, or already expired). */
  private boolean writePublish(Link l, Delivery d, int pid, boolean dup) {
    AppMessage m = d.msg();
    String topic = mgr.topicOf(m.subject());
    MqttProperties props = l.protocolVersion() == 5 ? PublishFrames.properties(d) : MqttProperties.NO_PROPERTIES;
    long size = PublishFrames.estimateSize(topic, m, props);
    if (size > l.maxPacketSize()) {
      mgr.stats.tooLarge.increment();
      Logger.debug("{} a {} byte message on {} exceeds the client's maximum packet size and is dropped",
          l.logId(), size, topic);
      if (pid > 0) {
        inflight.remove(pid);
      }
      done(d);
      return false;
    }
    if (props == MqttProperties.NO_PROPERTIES) {
      if (out == null) {
        out = l.alloc().ioBuffer(Math.max(256, PublishFrames.maxSize(topic, m.payload().length)));
      } else if (out.readableBytes() > 64 * 1024) {
        flushFrames(l);
        out = l.alloc().ioBuffer(Math.max(256, PublishFrames.maxSize(topic, m.payload().length)));
      }
      PublishFrames.write(out, topic, d.qos(), dup, d.retain(), pid, l.protocolVersion() == 5, m.payload());
    } else {
      flushFrames(l);
      MqttFixedHeader fh = new MqttFixedHeader(MqttMessageType.PUBLISH, dup, MqttQoS.valueOf(d.qos()), d.retain(), 0);
      l.write(new MqttPublishMessage(fh, new MqttPublishVariableHeader(topic, pid, props),
          Unpooled.wrappedBuffer(m.payload())));
    }
    mgr.stats.outMsgs.increment();
    mgr.stats.outBytes.add(m.payload().length);
    return true;
  }

  /** A delivery is finished (acknowledged, expired or dropped): its stored copy goes. */
  private void done(Delivery d) {
    if (d.storeId() > 0) {
      mgr.store.dequeue(key, d.storeId());
    }
  }

  // ---------------------------------------------------------------------------------------------
  // The stored queue of a persistent session

  private void onEnqueued(long id, Delivery d) {
    if (id > highestKnownId) {
      highestKnownId = id;
    }
    if (ended || link == null) {
      return; // stays in the store until the client is back
    }
    if (loading || backlog || id <= lastStoreId) {
      return; // read from the store in order
    }
    if (pending.size() >= Defaults.READ_AHEAD) {
      backlog = true;
      return;
    }
    pending.add(d.withStoreId(id));
    pendingBytes += d.msg().weight();
    lastStoreId = id;
    pump();
  }

  private void maybeLoad() {
    if (backlog && !loading && link != null && pending.size() < Defaults.READ_AHEAD / 2 && !ended) {
      loading = true;
      long g = gen;
      mgr.store.loadQueue(key, lastStoreId, Defaults.READ_AHEAD)
          .whenComplete((list, err) -> post(() -> onLoaded(g, list, err)));
    }
  }

  private void onLoaded(long g, List<MqttStore.Queued> list, Throwable err) {
    if (g != gen) {
      return;
    }
    loading = false;
    if (err != null) {
      Logger.warn("{} could not read its queued messages, retrying in 1 s: {}", logId(), err.getMessage());
      retryTimer = loop.schedule(this::pump, 1, TimeUnit.SECONDS);
      return;
    }
    for (MqttStore.Queued q : list) {
      if (q.id() > lastStoreId) {
        Delivery d = q.delivery().withStoreId(q.id());
        pending.add(d);
        pendingBytes += d.msg().weight();
        lastStoreId = q.id();
      }
    }
    if (list.size() < Defaults.READ_AHEAD) {
      if (lastStoreId >= highestKnownId) {
        backlog = false;
      } else if (list.isEmpty()) {
        // Acknowledged but not readable yet: look again shortly.
        retryTimer = loop.schedule(this::pump, 5, TimeUnit.MILLISECONDS);
        return;
      }
    }
    pump();
  }

  // ---------------------------------------------------------------------------------------------
  // Acknowledgements from the client (the session's loop)

  public void onPubAck(int pid) {
    Inflight e = inflight.get(pid);
    if (e == null || e.delivery == null || e.delivery.qos() != 1) {
      return;
    }
    inflight.remove(pid);
    done(e.delivery);
    pump();
  }

  /** PUBREC: answers with PUBREL (or ends the exchange when the client reports an error). */
  public void onPubRec(int pid, int reason) {
    Link l = link;
    Inflight e = inflight.get(pid);
    if (e == null) {
      writePubRel(l, pid, 0x92);
      return;
    }
    if (e.delivery == null || e.released) {
      writePubRel(l, pid, 0);
      return;
    }
    if (reason >= 0x80) {
      inflight.remove(pid);
      done(e.delivery);
      pump();
      return;
    }
    e.released = true;
    Delivery d = e.delivery;
    if (d.storeId() > 0 && isPersistent()) {
      mgr.store.saveOutbound(key, pid, 0).whenComplete((v, err) -> done(d));
    } else {
      done(d);
    }
    writePubRel(l, pid, 0);
  }

  private void writePubRel(Link l, int pid, int reason) {
    if (l == null) {
      return;
    }
    flushFrames(l);
    MqttFixedHeader fh = new MqttFixedHeader(MqttMessageType.PUBREL, false, MqttQoS.AT_LEAST_ONCE, false, 0);
    Object vh = l.protocolVersion() == 5 && reason != 0
        ? new MqttPubReplyMessageVariableHeader(pid, (byte) reason, MqttProperties.NO_PROPERTIES)
        : MqttMessageIdVariableHeader.from(pid);
    l.write(new MqttMessage(fh, vh));
    l.flush();
  }

  public void onPubComp(int pid) {
    Inflight e = inflight.get(pid);
    if (e == null || !(e.released || e.delivery == null)) {
      return;
    }
    inflight.remove(pid);
    if (isPersistent()) {
      mgr.store.clearOutbound(key, pid);
    }
    pump();
  }

  // ---------------------------------------------------------------------------------------------
  // Attach and detach (the session's loop)

  /**
   * Attaches a connection: resends what was unacknowledged (PUBREL, then PUBLISH with DUP), then
   * what is queued. {@code resumed} is false for a new session.
   */
  void attach(Link l, boolean resumed) {
    cancelTimers();
    link = l;
    gen++;
    loading = false;
    if (!resumed) {
      return;
    }
    if (scheduledWill != null) {
      scheduledWill = null; // the session is back before the Will Delay Interval ran out
    }
    List<Inflight> again = new ArrayList<>(inflight.values());
    boolean wrote = false;
    for (Inflight e : again) {
      if (e.delivery == null || e.released) {
        writePubRel(l, e.packetId, 0);
      } else if (!e.recordPending) {
        wrote |= writePublish(l, e.delivery, e.packetId, true);
      }
    }
    flushFrames(l);
    if (isPersistent()) {
      lastStoreId = 0;
      backlog = true;
    }
    if (wrote) {
      l.flush();
    }
    pump();
  }

  /**
   * Detaches {@code l} (ignored when it is no longer this session's connection). With
   * {@code publishWill} the will is published now or after its delay. A session that does not
   * outlive its connection ends here.
   */
  public void detach(Link l, boolean publishWill) {
    if (link != l || l == null) {
      return;
    }
    synchronized (lock) {
      link = null;
      arrivals.clear();
      arrivalBytes = 0;
    }
    releasePublishers(true);
    gen++;
    loading = false;
    Will w = will;
    will = null;
    if (w != null && publishWill) {
      if (w.delaySeconds() <= 0 || expirySeconds == 0) {
        mgr.publishWill(this, w);
      } else {
        long delay = expirySeconds < 0 ? w.delaySeconds() : Math.min(w.delaySeconds(), expirySeconds);
        scheduledWill = w;
        willTimer = loop.schedule(this::onWillTimer, delay, TimeUnit.SECONDS);
      }
    }
    if (expirySeconds == 0) {
      end();
      return;
    }
    // Stored deliveries are read again from the store on the next attach; remember their packet ids.
    for (Iterator<Inflight> it = inflight.values().iterator(); it.hasNext(); ) {
      Inflight e = it.next();
      if (e.delivery != null && !e.released && e.delivery.storeId() > 0) {
        if (!e.recordPending) {
          pidByStoreId.put(e.delivery.storeId(), e.packetId);
          reservedPids.add(e.packetId);
        }
        it.remove();
      }
    }
    pending.removeIf(d -> d.qos() == 0 || d.storeId() > 0);
    pendingBytes = 0;
    for (Delivery d : pending) {
      pendingBytes += d.msg().weight();
    }
    syncQueued();
    mgr.saveRecord(this, System.currentTimeMillis());
    scheduleExpiry(expirySeconds);
  }

  void scheduleExpiry(long seconds) {
    if (seconds > 0 && link == null && !ended) {
      expiryTimer = loop.schedule(() -> {
        if (link == null && !ended) {
          Logger.debug("client={} session expired after {} s", clientId, seconds);
          end();
        }
      }, seconds, TimeUnit.SECONDS);
    }
  }

  private void onWillTimer() {
    Will w = scheduledWill;
    scheduledWill = null;
    if (w != null && !ended) {
      mgr.publishWill(this, w);
    }
  }

  /** Moves the session to another loop (a takeover from a connection on another loop). */
  void rebind(EventLoop l) {
    cancelTimers();
    loop = l;
  }

  private void cancelTimers() {
    if (expiryTimer != null) {
      expiryTimer.cancel(false);
      expiryTimer = null;
    }
    if (retryTimer != null) {
      retryTimer.cancel(false);
      retryTimer = null;
    }
    if (willTimer != null) {
      willTimer.cancel(false);
      willTimer = null;
    }
  }

  /** Ends the session: publishes a pending will, drops the subscriptions and the stored state. */
  void end() {
    if (ended) {
      return;
    }
    ended = true;
    Will w = scheduledWill;
    scheduledWill = null;
    if (willTimer != null) {
      willTimer.cancel(false);
      willTimer = null;
    }
    if (expiryTimer != null) {
      expiryTimer.cancel(false);
    }
    if (retryTimer != null) {
      retryTimer.cancel(false);
    }
    if (w != null) {
      mgr.publishWill(this, w);
    }
    List<Subscription> all = new ArrayList<>();
    for (SessionSub s : subs.values()) {
      all.addAll(s.subscriptions);
    }
    subs.clear();
    if (!all.isEmpty()) {
      mgr.router.unsubscribeAll(all);
    }
    synchronized (lock) {
      link = null;
      arrivals.clear();
    }
    releasePublishers(true);
    pending.clear();
    inflight.clear();
    qos2.clear();
    mgr.onEnded(this);
  }

  // ---------------------------------------------------------------------------------------------
  // Subscriptions (the session's loop)

  /** How a SUBSCRIBE entry ended. */
  public enum SubscribeOutcome {
    OK,
    /** The filter is not valid (SUBACK 0x8F / 0x80). */
    INVALID,
    /** The permissions, or the reserved {@code $MQTT} namespace, refuse it (0x87 / 0x80). */
    NOT_AUTHORIZED,
    /** No Local on a shared subscription: the connection must be closed. */
    PROTOCOL_ERROR
  }

  /** The outcome, and the retained messages to send after the SUBACK (null when none). */
  public record SubscribeResult(SubscribeOutcome outcome, Runnable retained) {}

  /**
   * Adds (or replaces) a subscription after checking the filter and {@code p}. Called on the
   * session's loop.
   */
  public SubscribeResult subscribe(SessionRecord.Sub spec, Permissions p) {
    SessionSub s;
    try {
      s = mgr.newSub(this, spec);
    } catch (io.leafgate.mqtt.topic.TopicMapper.TopicException e) {
      return new SubscribeResult(e.problem() == io.leafgate.mqtt.topic.TopicMapper.Problem.RESERVED
          ? SubscribeOutcome.NOT_AUTHORIZED : SubscribeOutcome.INVALID, null);
    }
    if (s.group != null && spec.noLocal()) {
      return new SubscribeResult(SubscribeOutcome.PROTOCOL_ERROR, null);
    }
    for (String subject : s.subjects) {
      if (!p.canSubscribe(subject, s.group)) {
        Logger.debug("{} may not subscribe to {}", logId(), spec.filter());
        return new SubscribeResult(SubscribeOutcome.NOT_AUTHORIZED, null);
      }
    }
    boolean existed = hasSubscription(spec.filter());
    subscribe(s, spec.filter());
    Runnable retained = null;
    if (s.group == null && (spec.retainHandling() == 0 || (spec.retainHandling() == 1 && !existed))) {
      List<AppMessage> msgs = mgr.retainedFor(s);
      if (!msgs.isEmpty()) {
        retained = () -> sendRetained(s, msgs);
      }
    }
    return new SubscribeResult(SubscribeOutcome.OK, retained);
  }

  /** Stores the session record now (after a subscription change); completes when durable. */
  public CompletableFuture<Void> persist() {
    return mgr.saveRecord(this, 0);
  }

  /** A new Session Expiry Interval (v5 DISCONNECT); -1 for never. */
  public void setExpiry(long seconds) {
    expirySeconds = seconds;
  }

  /** The session's key in the store's subjects. */
  public String storeKey() {
    return key;
  }

  /** Whether a subscription to exactly this filter exists. */
  boolean hasSubscription(String filter) {
    return subs.containsKey(filter);
  }

  /** Adds or replaces a subscription. */
  void subscribe(SessionSub s, String filter) {
    List<Subscription> created = new ArrayList<>(s.subjects.size());
    for (String subject : s.subjects) {
      created.add(new Subscription(s, subject, s.group, "mqtt-" + key + "-" + filter + "-" + subject));
    }
    s.subscriptions = created;
    SessionSub old = subs.put(filter, s);
    for (Subscription sub : created) {
      mgr.router.subscribe(sub);
    }
    if (old != null) {
      mgr.router.unsubscribeAll(old.subscriptions);
    }
  }

  /** Removes a subscription; false when there was none. Called on the session's loop. */
  public boolean unsubscribe(String filter) {
    SessionSub old = subs.remove(filter);
    if (old == null) {
      return false;
    }
    mgr.router.unsubscribeAll(old.subscriptions);
    return true;
  }

  /** The subscriptions as stored. */
  List<SessionRecord.Sub> subscriptionSpecs() {
    List<SessionRecord.Sub> out = new ArrayList<>(subs.size());
    for (SessionSub s : subs.values()) {
      out.add(s.spec);
    }
    return out;
  }

  /** Queues retained messages for a new subscription (they go out after the SUBACK). */
  void sendRetained(SessionSub s, List<AppMessage> msgs) {
    for (AppMessage m : msgs) {
      int qos = Math.min(m.qos(), s.spec.qos());
      Delivery d = new Delivery(m, qos, true, s.spec.subscriptionId(), 0);
      pending.add(d);
      pendingBytes += m.weight();
    }
    pump();
  }

  // ---------------------------------------------------------------------------------------------
  // State loaded for a session restored after a restart

  /** Installs outbound QoS 2 state loaded from the store (packet id to queue id, 0 = released). */
  void restoreOutbound(Map<Integer, Long> out) {
    for (Map.Entry<Integer, Long> e : out.entrySet()) {
      int pid = e.getKey();
      long qid = e.getValue();
      if (qid == 0) {
        Inflight f = new Inflight(null, pid);
        f.released = true;
        inflight.put(pid, f);
      } else {
        pidByStoreId.put(qid, pid);
        reservedPids.add(pid);
      }
    }
  }

  /** Monitoring: messages queued in memory and unacknowledged, racy. */
  public int inflightCount() {
    return inflight.size();
  }

  @Override
  public String toString() {
    return "client=" + clientId;
  }
}
