package io.leafgate.storage.engine;

import io.leafgate.leaf.route.FlushBatch;
import io.leafgate.leaf.route.InterestListener;
import io.leafgate.leaf.route.Msg;
import io.leafgate.leaf.route.Origin;
import io.leafgate.leaf.route.Router;
import io.leafgate.leaf.route.Subscriber;
import io.leafgate.leaf.route.SublistResult;
import io.leafgate.leaf.route.Subscription;
import io.leafgate.leaf.subject.Subjects;
import io.leafgate.storage.api.ConsumerRecord;
import io.leafgate.storage.api.ConsumerState;
import io.leafgate.storage.api.JetStreamStore;
import io.leafgate.storage.api.StoreException;
import io.leafgate.storage.api.StreamRecord;
import io.leafgate.storage.api.StreamStore;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import org.tinylog.Logger;

/**
 * The local JetStream: streams, consumers, and the {@code $JS.API} that unmodified NATS clients
 * talk to. All state lives on one engine thread ({@link EngineLoop}); publishers' threads only copy
 * messages and post them. At the end of every batch of work the engine commits its group of writes
 * to the {@link JetStreamStore}; publish acks and ack-sync replies go out only once that group is
 * durable.
 */
public final class JetStreamEngine implements AutoCloseable {
  /**
   * Settings the engine needs from the configuration.
   *
   * @param maxPending a client connection's {@code max_pending}: push flow control windows stay
   *     within half of it, so a client that reads is never cut off by its own consumer's window
   */
  public record Options(String domain, long maxFileStore, long maxMemoryStore, String serverName, long maxPending) {
    public Options(String domain, long maxFileStore, long maxMemoryStore, String serverName) {
      this(domain, maxFileStore, maxMemoryStore, serverName, io.leafgate.leaf.config.Defaults.MAX_PENDING);
    }
  }

  /** A reply that waits for durability; on a failed commit publish acks become errors. */
  record Reply(String subject, byte[] body, String failStream) {
    Reply(String subject, byte[] body) {
      this(subject, body, null);
    }
  }

  /** Counters shown by {@code /jsz} and account info. */
  static final class Stats {
    long apiTotal;
    long apiErrors;
    long storedMsgs;
    long limitDrops;
    long fullRefusals;
  }

  private static final long HOUSEKEEPING_NANOS = 1_000_000_000L;
  /**
   * Past this many bytes of copied publishes waiting for the engine thread, each publisher that adds
   * one more stops reading until the backlog is under {@link #BACKLOG_LOW}: the engine's queue, not
   * the heap, sets the pace (nats-server gets the same from processing stream ingest in the
   * publisher's read loop).
   */
  private static final long BACKLOG_HIGH = 8L * 1024 * 1024;
  private static final long BACKLOG_LOW = 2L * 1024 * 1024;
  /** Longest a stalled publisher waits before it may send one more read batch anyway. */
  private static final long STALL_MILLIS = 30_000;
  /** Per-message cost beyond the copied bytes: the task, the record, the arrays and the strings. */
  private static final int INBOUND_OVERHEAD = 200;

  private final Router router;
  private final JetStreamStore store;
  private final Options options;
  private final EngineLoop loop;
  private final FlushBatch batch = new FlushBatch();
  /** A group waits for the store's running sync (see commitGroup); set on the engine thread. */
  private final AtomicBoolean commitDeferred = new AtomicBoolean();
  /** Set by close(): the last group commits whatever the store is doing. */
  private boolean closing;
  final Stats stats = new Stats();
  private final Map<String, Stream> streams = new TreeMap<>();
  private final Set<Object> toKick = new LinkedHashSet<>();
  private List<Reply> group = new ArrayList<>();
  private final List<Subscription> apiSubs = new ArrayList<>();
  private final Set<String> pushSubjects = ConcurrentHashMap.newKeySet();
  private final AtomicLong queuedBytes = new AtomicLong();
  /** Times a publisher was asked to pause because the engine's queue was past its high-water mark. */
  private final AtomicLong publisherPauses = new AtomicLong();
  /** Publishers waiting for the backlog to drain; each runs once. */
  private final ConcurrentLinkedQueue<Runnable> drainWaiters = new ConcurrentLinkedQueue<>();
  private final FlushBatch.Backlogged drainGate = new FlushBatch.Backlogged() {
    @Override
    public void whenDrained(Runnable resume) {
      drainWaiters.add(resume);
      if (queuedBytes.get() < BACKLOG_LOW) {
        releaseWaiters();
      }
    }

    @Override
    public long stallMillis() {
      return STALL_MILLIS;
    }
  };
  /** Every stream subject, for {@link #captures}; replaced whole on any change. */
  private volatile List<String> capturedSubjects = List.of();
  private final JsApi api;
  private boolean needRollback;
  private volatile String storeProblem;
  /** When the store began refusing writes for want of room (0: it has room), and how often since. */
  private long fullSinceNanos;
  private long fullRefusals;
  private volatile String fullReason;
  private long lastHousekeeping = System.nanoTime();
  private long usedBytesCache = -1;
  private long usedBytesAt;
  private final InterestListener interest = new InterestListener() {
    @Override
    public void onSubscribe(Subscription sub) {
      if (pushSubjects.isEmpty() || sub.subscriber instanceof ApiSubscriber) {
        return;
      }
      if (pushSubjects.contains(sub.subject) || Subjects.hasWildcard(sub.subject)) {
        String s = sub.subject;
        loop.execute(() -> kickPushConsumers(s));
      }
    }

    @Override
    public void onUnsubscribe(Subscription sub) {
      if (pushSubjects.isEmpty() || sub.subscriber instanceof ApiSubscriber) {
        return;
      }
      if (pushSubjects.contains(sub.subject) || Subjects.hasWildcard(sub.subject)) {
        String s = sub.subject;
        loop.execute(() -> pushInterestMaybeLost(s));
      }
    }
  };

  public JetStreamEngine(Router router, JetStreamStore store, Options options) {
    this.router = router;
    this.store = store;
    this.options = options;
    this.loop = new EngineLoop("leafgate-js", this::endOfBatch);
    this.api = new JsApi(this);
  }

  /** Loads the streams and consumers, subscribes the API, and starts the engine thread. */
  public void start() throws StoreException {
    for (StreamRecord r : store.streams()) {
      try {
        StreamConfig cfg = StreamConfig.fromStored(r.configJson());
        StreamStore ss = store.openStream(r);
        Stream s = new Stream(this, cfg, ss, r.createdNanos(), r.epoch());
        s.rebuildDedupe();
        streams.put(cfg.name, s);
        for (ConsumerRecord cr : store.consumers(cfg.name)) {
          ConsumerConfig cc = ConsumerConfig.fromStored(cr.configJson());
          Consumer c = new Consumer(s, cr.name(), cc, cr.createdNanos());
          if (Math.max(cr.state().deliveredStreamSeq(), cr.state().initialEnd()) > ss.state().lastSeq()) {
            c.startFresh(); // a memory stream lost its messages with the restart
          } else {
            c.restore(cr.state());
          }
          s.consumers.put(cr.name(), c);
          if (!cc.isPull()) {
            pushSubjects.add(cc.deliverSubject);
          }
        }
        Logger.info("Stream {} loaded: {} messages, {} consumers", cfg.name, ss.state().msgs(), s.consumers.size());
      } catch (ApiError | Json.BadJson e) {
        Logger.error("Stream {} has an unreadable configuration and is not loaded: {}", r.name(), e.getMessage());
      }
    }
    for (Stream s : streams.values()) {
      s.subscribe();
      for (Consumer c : s.consumers.values()) {
        c.startTimers();
        c.kick();
      }
    }
    refreshCaptured();
    router.addInterestListener(interest);
    ApiSubscriber apiSub = new ApiSubscriber();
    subscribeInternal("$JS.API.>", apiSub);
    if (options.domain() != null) {
      subscribeInternal("$JS." + options.domain() + ".API.>", apiSub);
    }
    subscribeInternal("$JS.ACK.>", new AckSubscriber());
    subscribeInternal("$JS.FC.>", new FlowControlSubscriber());
    store.onSyncDone(() -> {
      if (commitDeferred.getAndSet(false)) {
        loop.execute(NO_OP);
      }
    });
    loop.start();
  }

  private void subscribeInternal(String subject, Subscriber s) {
    Subscription sub = new Subscription(s, subject, null, "js-" + subject);
    apiSubs.add(sub);
    router.subscribe(sub);
  }

  /** Stops the engine: no more API or publishes; commits what is pending. */
  @Override
  public void close() {
    for (Subscription s : apiSubs) {
      router.unsubscribe(s);
    }
    router.removeInterestListener(interest);
    CompletableFuture<Void> done = new CompletableFuture<>();
    loop.execute(() -> {
      for (Stream s : streams.values()) {
        s.unsubscribe();
      }
      closing = true;
      endOfBatch();
      done.complete(null);
    });
    try {
      done.get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      Logger.warn("JetStream did not stop cleanly: {}", e.getMessage());
    }
    loop.stop(5000);
  }

  // ---------------------------------------------------------------------------------------------
  // Accessors for streams, consumers and the API

  Router router() {
    return router;
  }

  EngineLoop loop() {
    return loop;
  }

  JetStreamStore store() {
    return store;
  }

  String domain() {
    return options.domain();
  }

  Options options() {
    return options;
  }

  Map<String, Stream> streams() {
    return streams;
  }

  long ageNow() {
    return store.ageClock().now();
  }

  long wallNanos() {
    java.time.Instant now = java.time.Instant.now();
    return now.getEpochSecond() * 1_000_000_000L + now.getNano();
  }

  /** Runs {@code f} on the engine thread and waits for its result (monitoring, the hub bridge). */
  public <T> T call(Function<JetStreamEngine, T> f, long timeoutMillis) throws Exception {
    if (loop.inLoop()) {
      return f.apply(this);
    }
    CompletableFuture<T> r = new CompletableFuture<>();
    loop.execute(() -> {
      try {
        r.complete(f.apply(this));
      } catch (Throwable t) {
        r.completeExceptionally(t);
      }
    });
    return r.get(timeoutMillis, TimeUnit.MILLISECONDS);
  }

  /** Posts a task to the engine thread. */
  public void execute(Runnable task) {
    loop.execute(task);
  }

  /**
   * Whether a local stream stores messages published on {@code subject}. Callable from any thread
   * (protocol adapters ask before acknowledging a publisher).
   */
  public boolean captures(String subject) {
    for (String f : capturedSubjects) {
      if (Subjects.matches(f, subject)) {
        return true;
      }
    }
    return false;
  }

  private void refreshCaptured() {
    List<String> all = new ArrayList<>();
    for (Stream s : streams.values()) {
      all.addAll(s.config.subjects);
    }
    capturedSubjects = List.copyOf(all);
  }

  /** Whether anyone subscribes to {@code subject}. */
  boolean hasInterest(String subject) {
    return !router.sublist().match(subject).isEmpty();
  }

  // ---------------------------------------------------------------------------------------------
  // Inbound paths

  /**
   * Queues a copied publish for the engine thread. Past the high-water mark the publisher is asked,
   * through its read batch, to pause until the backlog drains.
   */
  void submitPublish(Stream s, Stream.Inbound in, FlushBatch batch) {
    long size = in.data().length + (in.headers() == null ? 0 : in.headers().length) + in.subject().length()
        + (in.reply() == null ? 0 : in.reply().length()) + INBOUND_OVERHEAD;
    long now = queuedBytes.addAndGet(size);
    loop.execute(() -> {
      long left = queuedBytes.addAndGet(-size);
      s.processPublish(in);
      if (left < BACKLOG_LOW && !drainWaiters.isEmpty()) {
        releaseWaiters();
      }
    });
    if (now > BACKLOG_HIGH && batch != null && !batch.stallRequested()) {
      publisherPauses.incrementAndGet();
      batch.stall(drainGate);
    }
  }

  private void releaseWaiters() {
    Runnable r;
    while ((r = drainWaiters.poll()) != null) {
      try {
        r.run();
      } catch (RuntimeException e) {
        Logger.warn(e, "JetStream: resuming a paused publisher failed");
      }
    }
  }

  /** Bytes of copied publishes waiting for the engine thread. */
  public long backlogBytes() {
    return queuedBytes.get();
  }

  /** Times a publisher was paused because the engine's queue of copied publishes was full. */
  public long publisherPauses() {
    return publisherPauses.get();
  }

  private final class ApiSubscriber implements Subscriber {
    @Override
    public void deliver(Subscription sub, Msg msg, FlushBatch b) {
      String subject = msg.subject();
      String reply = msg.reply();
      byte[] hdr = msg.hdrLen() > 0 ? ByteBufUtil.getBytes(msg.data(), msg.data().readerIndex(), msg.hdrLen()) : null;
      byte[] body = ByteBufUtil.getBytes(msg.data(), msg.data().readerIndex() + msg.hdrLen(), msg.payloadSize());
      loop.execute(() -> api.handle(subject, reply, hdr, body));
    }
  }

  private final class AckSubscriber implements Subscriber {
    @Override
    public void deliver(Subscription sub, Msg msg, FlushBatch b) {
      String subject = msg.subject();
      String reply = msg.reply();
      byte[] body = ByteBufUtil.getBytes(msg.data(), msg.data().readerIndex() + msg.hdrLen(), msg.payloadSize());
      loop.execute(() -> processAck(subject, body, reply));
    }
  }

  /** Answers to push consumers' flow control requests, {@code $JS.FC.<stream>.<consumer>.<id>}. */
  private final class FlowControlSubscriber implements Subscriber {
    @Override
    public void deliver(Subscription sub, Msg msg, FlushBatch b) {
      String subject = msg.subject();
      loop.execute(() -> processFlowControl(subject));
    }
  }

  private void processFlowControl(String subject) {
    List<String> t = Subjects.tokens(subject);
    if (t.size() != 5) {
      return;
    }
    Stream s = streams.get(t.get(2));
    Consumer c = s == null ? null : s.consumers.get(t.get(3));
    if (c != null) {
      c.onFlowControlAnswer(subject);
    }
  }

  /**
   * Asks a pull consumer for {@code batch} messages on behalf of an in-process puller, for at most
   * {@code expiresNanos} (0: until they are all delivered). Any thread; the puller hears on the
   * engine's thread, and a missing stream or consumer ends the request with a 404 status.
   */
  public void pullDirect(String stream, String consumer, long batch, long expiresNanos, DirectPull p) {
    loop.execute(() -> {
      Consumer c = consumerOf(stream, consumer);
      if (c == null) {
        p.onEnd("404 Consumer Not Found", batch);
        return;
      }
      c.pullDirect(p, batch, expiresNanos);
    });
  }

  /**
   * Acknowledges ({@code +ACK}) the first {@code count} stream sequences of {@code seqs} on a
   * consumer, as acks published to its ack subjects would, without building or routing those
   * subjects. Any thread; the array is copied.
   */
  public void ackDirect(String stream, String consumer, long[] seqs, int count) {
    long[] copy = Arrays.copyOf(seqs, count);
    loop.execute(() -> {
      Consumer c = consumerOf(stream, consumer);
      if (c == null) {
        return;
      }
      for (long seq : copy) {
        c.ackDirect(seq);
      }
    });
  }

  /** A consumer by stream and name, or null; on the loop. */
  private Consumer consumerOf(String stream, String consumer) {
    Stream s = streams.get(stream);
    return s == null ? null : s.consumers.get(consumer);
  }

  private void processAck(String subject, byte[] body, String reply) {
    List<String> t = Subjects.tokens(subject);
    int base;
    if (t.size() == 9 || t.size() == 8) {
      base = 2;
    } else if (t.size() >= 11) {
      base = 4;
    } else {
      return;
    }
    Stream s = streams.get(t.get(base));
    if (s == null) {
      return;
    }
    Consumer c = s.consumers.get(t.get(base + 1));
    if (c == null) {
      return;
    }
    try {
      long sseq = Long.parseLong(t.get(base + 3));
      long dseq = Long.parseLong(t.get(base + 4));
      c.onAck(sseq, dseq, body, reply);
    } catch (NumberFormatException e) {
      Logger.debug("Ignoring a malformed ack subject {}", subject);
    }
  }

  /** A subscription that may have been a push consumer's last one went away. */
  private void pushInterestMaybeLost(String unsubscribed) {
    for (Stream s : streams.values()) {
      for (Consumer c : new ArrayList<>(s.consumers.values())) {
        if (!c.config.isPull() && Subjects.matches(unsubscribed, c.config.deliverSubject)) {
          c.onInterestMaybeLost();
        }
      }
    }
  }

  private void kickPushConsumers(String subscribed) {
    for (Stream s : streams.values()) {
      for (Consumer c : s.consumers.values()) {
        if (!c.config.isPull() && Subjects.matches(subscribed, c.config.deliverSubject)) {
          c.kick();
        }
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Output (engine thread)

  /** Publishes a JSON reply. */
  void reply(String subject, Map<String, Object> body) {
    replyRaw(subject, Json.bytes(body));
  }

  /** Publishes raw bytes to {@code subject}. */
  void replyRaw(String subject, byte[] body) {
    if (subject == null) {
      return;
    }
    ByteBuf buf = Unpooled.wrappedBuffer(body);
    router.publish(new Msg(subject, null, 0, buf), null, Origin.INTERNAL, batch);
  }

  /**
   * Delivers a stream message to the subscribers of {@code target}; the frame carries the message's
   * own subject, as nats-server does.
   */
  void deliver(String target, String subject, String reply, byte[] hdr, byte[] data) {
    SublistResult r = router.sublist().match(target);
    ByteBuf buf;
    int hdrLen = hdr == null ? 0 : hdr.length;
    if (hdrLen == 0) {
      buf = Unpooled.wrappedBuffer(data);
    } else {
      buf = Unpooled.wrappedBuffer(hdr, data);
    }
    router.publish(r, new Msg(subject, reply, hdrLen, buf), null, Origin.INTERNAL, batch);
  }

  /** A header-only status message to {@code target} (pull statuses, heartbeats). */
  void deliverStatus(String target, byte[] hdr) {
    deliverStatus(target, null, hdr);
  }

  /** A header-only status message with a reply subject (flow control requests). */
  void deliverStatus(String target, String reply, byte[] hdr) {
    ByteBuf buf = Unpooled.wrappedBuffer(hdr);
    router.publish(new Msg(target, reply, hdr.length, buf), null, Origin.INTERNAL, batch);
  }

  /** Sends {@code r} once the current group of writes is durable. */
  void afterDurable(Reply r) {
    if (r.subject() == null) {
      return;
    }
    group.add(r);
  }

  /** Runs a delivery pass for a consumer (or all of a stream's) at the end of the batch. */
  void kickLater(Object consumerOrStream) {
    toKick.add(consumerOrStream);
  }

  // ---------------------------------------------------------------------------------------------
  // End of batch: deliveries, consumer state, commit, flush

  private void endOfBatch() {
    long now = System.nanoTime();
    if (now - lastHousekeeping >= HOUSEKEEPING_NANOS) {
      lastHousekeeping = now;
      for (Stream s : streams.values()) {
        s.pruneDedupe();
        s.enforceLimits();
      }
    }
    int rounds = 0;
    while (!toKick.isEmpty() && rounds++ < 4) {
      List<Object> kicks = new ArrayList<>(toKick);
      toKick.clear();
      for (Object o : kicks) {
        if (o instanceof Consumer c) {
          c.deliverAvailable();
        } else if (o instanceof Stream s) {
          for (Consumer c : s.consumers.values()) {
            c.deliverAvailable();
          }
        }
      }
    }
    commitGroup();
    batch.flushAll();
    if (!toKick.isEmpty()) {
      // A commit that completed on this thread moved watermarks: deliver in the next batch.
      loop.execute(NO_OP);
    }
  }

  private static final Runnable NO_OP = () -> {};

  private void commitGroup() {
    if (!needRollback && !closing && batch.isEmpty()) {
      // The previous group's fsync is running, and this group's acknowledgements could only go out
      // after one more fsync anyway: keep adding to the open transaction and commit it when the
      // sync is done (the store's sync listener wakes this loop). Fewer, larger commits rewrite
      // the WAL's tail pages less often, which is most of a small commit's cost. The flag is set
      // before the question, so a sync that ends in between still finds it and wakes the loop.
      // Never when this batch has output waiting (deliveries): it goes out right after this
      // method, and only once the commit that records it is written.
      commitDeferred.set(true);
      if (store.syncInFlight()) {
        return;
      }
    }
    commitDeferred.set(false);
    Map<Consumer, ConsumerState> saved = new LinkedHashMap<>();
    if (!needRollback) {
      for (Stream s : streams.values()) {
        for (Consumer c : s.consumers.values()) {
          if (c.takeStateDirty() && c.config.isDurable() && !c.isDeleted()) {
            ConsumerState st = c.state();
            try {
              store.saveConsumerState(s.name(), c.name, st);
              saved.put(c, st);
            } catch (StoreException e) {
              onStoreError(e);
            }
          }
        }
      }
    }
    if (needRollback) {
      rollback();
      return;
    }
    if (group.isEmpty() && saved.isEmpty() && !anyDirty()) {
      return;
    }
    List<Reply> replies = group;
    group = new ArrayList<>();
    Map<Stream, Long> watermarks = new LinkedHashMap<>();
    for (Stream s : streams.values()) {
      if (!s.config.memory && s.durableSeq < s.store.state().lastSeq()) {
        watermarks.put(s, s.store.state().lastSeq());
      }
    }
    try {
      store.commit(() -> onGroupDurable(replies, watermarks, saved));
      storeProblem = null;
    } catch (StoreException e) {
      onStoreError(e);
      failReplies(replies);
      rollback();
    }
  }

  private boolean anyDirty() {
    for (Stream s : streams.values()) {
      if (!s.config.memory && s.durableSeq < s.store.state().lastSeq()) {
        return true;
      }
    }
    return false;
  }

  /**
   * Runs once a group is durable (on the store's sync thread, or on the engine thread when the
   * store commits synchronously). The engine learns the new watermark before any reply goes out: a
   * client that pulls right after its publish ack must find the message, as with nats-server.
   */
  private void onGroupDurable(List<Reply> replies, Map<Stream, Long> watermarks, Map<Consumer, ConsumerState> saved) {
    if (loop.inLoop()) {
      applyDurable(replies, watermarks, saved);
    } else {
      loop.execute(() -> applyDurable(replies, watermarks, saved));
    }
  }

  private void applyDurable(List<Reply> replies, Map<Stream, Long> watermarks, Map<Consumer, ConsumerState> saved) {
    watermarks.forEach(Stream::onDurable);
    saved.forEach(Consumer::onCommitted);
    FlushBatch b = new FlushBatch();
    for (Reply r : replies) {
      // Each reply subject is used once: matched without filling the router's cache with them.
      router.publish(router.sublist().matchOnce(r.subject()), new Msg(r.subject(), null, 0,
          Unpooled.wrappedBuffer(r.body())), null, Origin.INTERNAL, b);
    }
    b.flushAll();
  }

  private void failReplies(List<Reply> replies) {
    for (Reply r : replies) {
      if (r.body().length > 0 && r.body()[0] == '{') {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("error", ApiError.insufficientResources().toMap());
        m.put("stream", streamOfAck(r.body()));
        m.put("seq", 0);
        reply(r.subject(), m);
      }
    }
  }

  private static String streamOfAck(byte[] ack) {
    try {
      Object s = Json.object(ack).get("stream");
      return s == null ? "" : s.toString();
    } catch (Json.BadJson e) {
      return "";
    }
  }

  /** Reverts to the last committed state after a failed write or commit (e.g. a full disk). */
  private void rollback() {
    needRollback = false;
    List<Reply> replies = group;
    group = new ArrayList<>();
    failReplies(replies);
    store.rollback();
    for (Stream s : streams.values()) {
      try {
        s.rebuildDedupe();
      } catch (StoreException e) {
        Logger.warn("Stream {}: dedupe window not rebuilt after a rollback: {}", s.name(), e.getMessage());
      }
      s.onRemoved();
    }
    Logger.warn("JetStream rolled back its uncommitted writes: {}", storeProblem != null ? storeProblem
        : fullReason != null ? "storage full: " + fullReason : "a failed write");
  }

  /** Notes a storage failure; the group is rolled back at the end of the batch. */
  void onStoreError(StoreException e) {
    if (e.kind() == StoreException.Kind.NO_SPACE || e.kind() == StoreException.Kind.IO) {
      needRollback = true;
    }
    if (isFull(e)) {
      // One warning when the store fills, one line when it has room again: not one per refusal
      // (the reason's free-space figure changes from one to the next).
      fullRefusals++;
      stats.fullRefusals++;
      fullReason = e.getMessage();
      if (fullSinceNanos == 0) {
        fullSinceNanos = System.nanoTime();
        Logger.warn("JetStream storage is full ({}): publishes to file streams are refused with "
            + "insufficient resources until there is room again", e.getMessage());
      }
      return;
    }
    String p = e.getMessage();
    if (!p.equals(storeProblem)) {
      Logger.warn("JetStream storage problem: {}", p);
    }
    storeProblem = p;
  }

  /** A file-stream append succeeded: ends the full state, if the store was full. */
  void onStoredToFile() {
    if (fullSinceNanos != 0) {
      Logger.info("JetStream storage has room again: {} write(s) were refused over {} s", fullRefusals,
          Math.max(1, (System.nanoTime() - fullSinceNanos) / 1_000_000_000L));
      fullSinceNanos = 0;
      fullRefusals = 0;
      fullReason = null;
    }
  }

  /** Whether a failure means no room for more (answered as nats-server's insufficient resources). */
  static boolean isFull(StoreException e) {
    return e.kind() == StoreException.Kind.NO_SPACE || e.kind() == StoreException.Kind.NO_ROOM;
  }

  /** A storage problem to show in health checks, or null. */
  public String problem() {
    String p = store.problem();
    return p != null ? p : storeProblem;
  }

  /**
   * Why the store refuses writes for want of room, or null when it has room. Not a health problem:
   * the gateway answers those publishes with insufficient resources and resumes by itself when room
   * returns, and a watchdog restart would not make room.
   */
  public String fullReason() {
    return fullReason;
  }

  /** Refuses a file-stream publish that would pass {@code max_file_store}. */
  void checkFileStoreRoom(long size) throws ApiError {
    if (options.maxFileStore() <= 0) {
      return;
    }
    long now = System.nanoTime();
    if (usedBytesCache < 0 || now - usedBytesAt > 500_000_000L) {
      usedBytesCache = store.usedBytes();
      usedBytesAt = now;
    }
    usedBytesCache += size;
    if (usedBytesCache > options.maxFileStore()) {
      throw ApiError.storageExceeded();
    }
  }

  /** Refuses a memory-stream publish that would pass {@code max_memory_store}. */
  void checkMemoryRoom(long size) throws ApiError {
    if (options.maxMemoryStore() <= 0) {
      return;
    }
    long used = 0;
    for (Stream s : streams.values()) {
      if (s.config.memory) {
        used += s.store.state().bytes();
      }
    }
    if (used + size > options.maxMemoryStore()) {
      throw new ApiError(500, 10028, "insufficient memory resources available");
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Stream and consumer lifecycle (engine thread; used by the API and the hub bridge)

  /** Creates a stream, or returns the existing one when the configuration is identical. */
  Stream createStream(StreamConfig cfg) throws ApiError {
    Stream existing = streams.get(cfg.name);
    if (existing != null) {
      if (existing.config.equals(cfg)) {
        return existing;
      }
      throw ApiError.streamNameInUse();
    }
    if (cfg.sealed) {
      throw ApiError.streamInvalidConfig("stream configuration for create can not be sealed");
    }
    checkOverlap(cfg, null);
    long created = wallNanos();
    String epoch = newEpoch();
    StreamStore ss;
    try {
      ss = store.createStream(new StreamRecord(cfg.name, cfg.toJson(), created, epoch, cfg.memory));
      commitNow();
    } catch (StoreException e) {
      onStoreError(e);
      throw isFull(e) ? ApiError.insufficientResources()
          : ApiError.streamCreate(e.getMessage());
    }
    Stream s = new Stream(this, cfg, ss, created, epoch);
    streams.put(cfg.name, s);
    s.subscribe();
    refreshCaptured();
    Logger.info("Stream {} created on {} ({} storage)", cfg.name, cfg.subjects, cfg.memory ? "memory" : "file");
    return s;
  }

  Stream updateStream(StreamConfig cfg) throws ApiError {
    Stream s = streams.get(cfg.name);
    if (s == null) {
      throw ApiError.streamNotFound();
    }
    cfg.checkUpdateFrom(s.config);
    checkOverlap(cfg, s);
    try {
      store.updateStreamConfig(cfg.name, cfg.toJson());
      commitNow();
    } catch (StoreException e) {
      onStoreError(e);
      throw ApiError.streamUpdate(e.getMessage());
    }
    s.update(cfg);
    refreshCaptured();
    return s;
  }

  private void checkOverlap(StreamConfig cfg, Stream self) throws ApiError {
    for (Stream o : streams.values()) {
      if (o == self) {
        continue;
      }
      for (String a : o.config.subjects) {
        for (String b : cfg.subjects) {
          if (Subjects.collide(a, b)) {
            throw ApiError.subjectsOverlap();
          }
        }
      }
    }
  }

  void deleteStream(Stream s) throws ApiError {
    try {
      store.deleteStream(s.name());
      commitNow();
    } catch (StoreException e) {
      onStoreError(e);
      throw ApiError.storageFailure(e.getMessage());
    }
    s.markDeleted();
    for (Consumer c : s.consumers.values()) {
      c.onDeleted();
    }
    s.consumers.clear();
    streams.remove(s.name());
    refreshCaptured();
    rebuildPushSubjects();
    Logger.info("Stream {} deleted", s.name());
  }

  /** Creates or updates a consumer ({@code action}: "create", "update", or "" for either). */
  Consumer createConsumer(Stream s, ConsumerConfig cfg, String action) throws ApiError {
    // A legacy durable has no name in its configuration (nats-server echoes none): its durable name
    // names it. A legacy ephemeral without a name gets a generated one, echoed in the configuration.
    String name = cfg.name != null ? cfg.name : cfg.durableName != null ? cfg.durableName : newConsumerName();
    Consumer existing = s.consumers.get(name);
    if (existing != null) {
      if (existing.config.equals(cfg)) {
        return existing;
      }
      if (action.equals("create")) {
        throw ApiError.consumerExists();
      }
      cfg.checkUpdateFrom(existing.config);
      try {
        if (cfg.isDurable()) {
          store.saveConsumer(new ConsumerRecord(s.name(), name, cfg.toJson(), existing.createdNanos, existing.state()));
          commitNow();
        }
      } catch (StoreException e) {
        onStoreError(e);
        throw ApiError.consumerCreate(e.getMessage());
      }
      existing.updateConfig(cfg);
      rebuildPushSubjects();
      return existing;
    }
    if (action.equals("update")) {
      throw ApiError.consumerDoesNotExist();
    }
    if (s.config.maxConsumers > 0 && s.consumers.size() >= s.config.maxConsumers) {
      throw ApiError.maxConsumers();
    }
    checkFilters(s, cfg);
    checkWorkQueue(s, cfg);
    if (cfg.name == null && cfg.durableName == null) {
      cfg = withName(cfg, name);
    }
    Consumer c = new Consumer(s, name, cfg, wallNanos());
    try {
      c.startFresh();
      if (cfg.isDurable()) {
        store.saveConsumer(new ConsumerRecord(s.name(), name, cfg.toJson(), c.createdNanos, c.state()));
        commitNow();
      }
    } catch (StoreException e) {
      onStoreError(e);
      throw ApiError.consumerCreate(e.getMessage());
    }
    s.consumers.put(name, c);
    if (!cfg.isPull()) {
      pushSubjects.add(cfg.deliverSubject);
    }
    c.startTimers();
    c.kick();
    Logger.debug("Consumer {} > {} created", s.name(), name);
    return c;
  }

  private static ConsumerConfig withName(ConsumerConfig cfg, String name) throws ApiError {
    if (name.equals(cfg.name)) {
      return cfg;
    }
    Map<String, Object> m = cfg.toMap();
    m.put("name", name);
    try {
      return ConsumerConfig.fromStored(Json.string(m));
    } catch (Json.BadJson e) {
      throw ApiError.consumerCreate(e.getMessage());
    }
  }

  private static void checkFilters(Stream s, ConsumerConfig cfg) throws ApiError {
    for (String f : cfg.filters()) {
      boolean ok = false;
      for (String subj : s.config.subjects) {
        if (Subjects.collide(f, subj)) {
          ok = true;
          break;
        }
      }
      if (!ok) {
        throw ApiError.consumerBadRequest(10093, "consumer filter subject is not a valid subset of the interest subjects");
      }
    }
  }

  private static void checkWorkQueue(Stream s, ConsumerConfig cfg) throws ApiError {
    if (s.config.retention != StreamConfig.Retention.WORKQUEUE) {
      return;
    }
    if (cfg.ackPolicy != ConsumerConfig.AckPolicy.EXPLICIT) {
      throw ApiError.consumerBadRequest(10098, "workqueue stream requires explicit ack");
    }
    if (cfg.deliverPolicy != ConsumerConfig.DeliverPolicy.ALL) {
      throw ApiError.consumerBadRequest(10101, "consumer must be deliver all on workqueue stream");
    }
    for (Consumer o : s.consumers.values()) {
      List<String> a = o.config.filters();
      List<String> b = cfg.filters();
      if (a.isEmpty() || b.isEmpty()) {
        throw ApiError.consumerBadRequest(a.isEmpty() && b.isEmpty() ? 10099 : 10100,
            a.isEmpty() && b.isEmpty() ? "multiple non-filtered consumers not allowed on workqueue stream"
                : "filtered consumer not unique on workqueue stream");
      }
      for (String x : a) {
        for (String y : b) {
          if (Subjects.collide(x, y)) {
            throw ApiError.consumerBadRequest(10100, "filtered consumer not unique on workqueue stream");
          }
        }
      }
    }
  }

  void deleteConsumer(Consumer c) {
    Stream s = c.stream;
    if (s.consumers.remove(c.name) == null) {
      return;
    }
    c.onDeleted();
    if (c.config.isDurable()) {
      try {
        store.deleteConsumer(s.name(), c.name);
      } catch (StoreException e) {
        onStoreError(e);
      }
    }
    rebuildPushSubjects();
    Logger.debug("Consumer {} > {} deleted", s.name(), c.name);
  }

  private void rebuildPushSubjects() {
    Set<String> now = new java.util.HashSet<>();
    for (Stream s : streams.values()) {
      for (Consumer c : s.consumers.values()) {
        if (!c.config.isPull()) {
          now.add(c.config.deliverSubject);
        }
      }
    }
    pushSubjects.retainAll(now);
    pushSubjects.addAll(now);
  }

  /** Commits at once (definitions: the API answers only after they are stored). */
  private void commitNow() throws StoreException {
    List<Reply> replies = group;
    group = new ArrayList<>();
    store.commit(() -> onGroupDurable(replies, Map.of(), Map.of()));
  }

  private static final SecureRandom RANDOM = new SecureRandom();
  private static final char[] NAME_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".toCharArray();

  static String newConsumerName() {
    StringBuilder b = new StringBuilder(22);
    for (int i = 0; i < 22; i++) {
      b.append(NAME_CHARS[RANDOM.nextInt(NAME_CHARS.length)]);
    }
    return b.toString();
  }

  private static String newEpoch() {
    StringBuilder b = new StringBuilder(8);
    for (int i = 0; i < 8; i++) {
      b.append(NAME_CHARS[RANDOM.nextInt(NAME_CHARS.length)]);
    }
    return b.toString();
  }

  // ---------------------------------------------------------------------------------------------
  // Monitoring

  /** Account-level numbers for {@code $JS.API.INFO} and {@code /jsz}. */
  Map<String, Object> accountInfo() {
    long mem = 0;
    long file = 0;
    long consumers = 0;
    for (Stream s : streams.values()) {
      if (s.config.memory) {
        mem += s.store.state().bytes();
      } else {
        file += s.store.state().bytes();
      }
      consumers += s.consumers.size();
    }
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("memory", mem);
    m.put("storage", file);
    m.put("reserved_memory", 0);
    m.put("reserved_storage", 0);
    m.put("streams", streams.size());
    m.put("consumers", consumers);
    Map<String, Object> limits = new LinkedHashMap<>();
    limits.put("max_memory", options.maxMemoryStore() > 0 ? options.maxMemoryStore() : -1);
    limits.put("max_storage", options.maxFileStore() > 0 ? options.maxFileStore() : -1);
    limits.put("max_streams", -1);
    limits.put("max_consumers", -1);
    limits.put("max_ack_pending", -1);
    limits.put("memory_max_stream_bytes", -1);
    limits.put("storage_max_stream_bytes", -1);
    limits.put("max_bytes_required", false);
    m.put("limits", limits);
    if (options.domain() != null) {
      m.put("domain", options.domain());
    }
    Map<String, Object> apiStats = new LinkedHashMap<>();
    apiStats.put("total", stats.apiTotal);
    apiStats.put("errors", stats.apiErrors);
    m.put("api", apiStats);
    return m;
  }

  /** The {@code /jsz} body; call on the engine thread (see {@link #call}). */
  public Map<String, Object> jsz(boolean withStreams, boolean withConsumers) {
    Map<String, Object> acc = accountInfo();
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("server_id", options.serverName());
    m.put("now", Json.time(wallNanos()));
    Map<String, Object> cfg = new LinkedHashMap<>();
    cfg.put("max_memory", options.maxMemoryStore() > 0 ? options.maxMemoryStore() : -1);
    cfg.put("max_storage", options.maxFileStore() > 0 ? options.maxFileStore() : -1);
    if (options.domain() != null) {
      cfg.put("domain", options.domain());
    }
    m.put("config", cfg);
    m.put("memory", acc.get("memory"));
    m.put("storage", acc.get("storage"));
    m.put("reserved_memory", 0);
    m.put("reserved_storage", 0);
    m.put("accounts", 1);
    m.put("ha_assets", 0);
    m.put("api", acc.get("api"));
    m.put("streams", streams.size());
    m.put("consumers", acc.get("consumers"));
    long msgs = 0;
    long bytes = 0;
    for (Stream s : streams.values()) {
      msgs += s.store.state().msgs();
      bytes += s.store.state().bytes();
    }
    m.put("messages", msgs);
    m.put("bytes", bytes);
    m.put("store_disk_bytes", store.usedBytes());
    if (withStreams) {
      List<Map<String, Object>> list = new ArrayList<>();
      for (Stream s : streams.values()) {
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("name", s.name());
        d.put("created", Json.time(s.createdNanos));
        d.put("config", s.config.toMap());
        d.put("state", JsApi.stateMap(s, false));
        if (withConsumers) {
          List<Map<String, Object>> cs = new ArrayList<>();
          for (Consumer c : s.consumers.values()) {
            cs.add(c.info());
          }
          d.put("consumer_detail", cs);
        }
        list.add(d);
      }
      Map<String, Object> accountDetail = new LinkedHashMap<>();
      accountDetail.put("name", "$G");
      accountDetail.put("id", "$G");
      accountDetail.put("stream_detail", list);
      m.put("account_details", List.of(accountDetail));
    }
    String p = problem();
    if (p != null) {
      m.put("store_problem", p);
    }
    String full = fullReason;
    if (full != null) {
      m.put("store_full", full);
    }
    return m;
  }

  /** Totals for Prometheus metrics; call on the engine thread. */
  public Map<String, Long> metrics() {
    Map<String, Long> m = new LinkedHashMap<>();
    long msgs = 0;
    long bytes = 0;
    long consumers = 0;
    for (Stream s : streams.values()) {
      msgs += s.store.state().msgs();
      bytes += s.store.state().bytes();
      consumers += s.consumers.size();
    }
    m.put("streams", (long) streams.size());
    m.put("consumers", consumers);
    m.put("messages", msgs);
    m.put("bytes", bytes);
    m.put("api_total", stats.apiTotal);
    m.put("api_errors", stats.apiErrors);
    m.put("limit_drops", stats.limitDrops);
    m.put("store_disk_bytes", store.usedBytes());
    m.put("ingest_backlog_bytes", queuedBytes.get());
    m.put("publisher_pauses", publisherPauses.get());
    m.put("store_full", fullReason != null ? 1L : 0L);
    m.put("store_full_refusals", stats.fullRefusals);
    return m;
  }

  /** Looks a stream up; for the hub bridge and tests (engine thread). */
  public Stream stream(String name) {
    return streams.get(name);
  }

  static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
