package io.leafgate.hub;

import com.fasterxml.jackson.jr.ob.JSON;
import io.leafgate.storage.api.StoredMessage;
import io.leafgate.storage.engine.DirectPull;
import io.leafgate.storage.engine.Headers;
import io.leafgate.storage.engine.JetStreamEngine;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.tinylog.Logger;

/**
 * Store and forward: replays the local uplink stream to the hub strictly in order, through a durable
 * pull consumer whose acknowledgement is the hub's confirmation (a hub stream's publish ack, or a
 * PING/PONG barrier when there is no hub stream). The backlog, the cursor and the limits are
 * therefore the stream's and the consumer's own. The forwarder pulls and acknowledges in process
 * ({@link DirectPull}): messages come as stored, in batches, and acks go back as sequences.
 *
 * <p>Every message carries a stable id ({@code <server>:<epoch>:<seq>}) as {@code Nats-Msg-Id}
 * (as {@code Leafgate-Id} when the publisher set its own {@code Nats-Msg-Id}). After a reconnect or
 * a restart, messages that may already have reached the hub are checked against what the hub stream
 * holds before they are sent again, so no message is duplicated even when the outage outlasts the
 * hub's duplicate window.
 *
 * <p>All state is owned by the hub link's event loop.
 */
final class Forwarder implements HubLink.Listener {
  static final String CONSUMER = "leafgate-uplink";
  private static final long ACK_TIMEOUT_NANOS = 10_000_000_000L;
  private static final long PULL_EXPIRES_NANOS = 5_000_000_000L;
  private static final long PROGRESS_LOG_NANOS = 10_000_000_000L;

  /** One buffered message on its way to the hub. */
  private static final class Item {
    final long seq;
    final String subject;
    final byte[] headers;
    final byte[] data;
    boolean inDoubt;
    long sentNanos;

    Item(StoredMessage m) {
      this.seq = m.seq();
      this.subject = m.subject();
      this.headers = m.headers();
      this.data = m.data();
    }
  }

  /**
   * One pull request to the local consumer. The engine calls it on its own thread; what it delivers
   * reaches the link's loop once per delivery pass.
   */
  private final class Pull implements DirectPull {
    /** Messages still expected (the link's loop). */
    long left;
    /** Messages of the current delivery pass (the engine's thread). */
    private ArrayList<StoredMessage> arriving = new ArrayList<>();

    Pull(long batch) {
      this.left = batch;
    }

    @Override
    public void onMessage(StoredMessage m, int deliveries) {
      arriving.add(m);
    }

    @Override
    public void onBatchEnd() {
      if (arriving.isEmpty()) {
        return;
      }
      List<StoredMessage> batch = arriving;
      arriving = new ArrayList<>();
      link.loop().execute(() -> onLocalBatch(this, batch));
    }

    @Override
    public void onEnd(String status, long undelivered) {
      onBatchEnd();
      link.loop().execute(() -> onPullEnd(this, status));
    }

    @Override
    public boolean live() {
      return !stopped;
    }
  }

  /** Numbers for status and metrics; any thread reads them. */
  static final class Stats {
    final AtomicLong confirmed = new AtomicLong();
    final AtomicLong confirmedBytes = new AtomicLong();
    final AtomicLong alreadyOnHub = new AtomicLong();
    final AtomicLong resent = new AtomicLong();
    final AtomicLong hubErrors = new AtomicLong();
    volatile double ratePerSec;
    volatile int inflight;
    volatile int queued;
    volatile String lastHubError;
  }

  final Stats stats = new Stats();
  private final UplinkConfig cfg;
  private final HubLink link;
  private final JetStreamEngine engine;
  private boolean pumpScheduled;
  /** {@code <server>:<epoch>:}, what every message id of this stream starts with. */
  private final String idPrefix;
  private final ArrayDeque<Item> queue = new ArrayDeque<>();
  /** Sent and not yet confirmed, by stream sequence, in the order sent. */
  private final LinkedHashMap<Long, Item> inflight = new LinkedHashMap<>();
  /** Sequences held (queued or in flight): a redelivery of one of them is ignored. */
  private final java.util.HashSet<Long> held = new java.util.HashSet<>();
  /** Open pull requests to the local consumer, oldest first. */
  private final ArrayDeque<Pull> pulls = new ArrayDeque<>();
  private long pullOutstanding;
  private volatile boolean stopped;
  /** Sequences confirmed by the hub and not yet acknowledged to the local consumer. */
  private long[] acks = new long[64];
  private int ackCount;
  /** The reply subjects of publish acks: this prefix and the stream sequence. */
  private String ackFamily;
  /**
   * After a restart, every redelivered message is checked against the hub until the first one the
   * hub does not hold: the local consumer's recorded floor can trail the hub by more than a window
   * (the window in flight, plus confirmations whose local acknowledgement had not been committed).
   * Messages published after the restart were never sent, so the first of them ends the check.
   */
  private boolean doubtOpen;
  private boolean resolving;
  private boolean paused;
  private long backoffMs = 500;
  private double tokens;
  private long lastRefillNanos = System.nanoTime();
  private long lastProgressLog;
  private long rateWindowStart = System.nanoTime();
  private long rateWindowCount;
  private boolean wakeScheduled;
  /** Messages sent in one pump go out in one write, flushed at its end (on the link's loop). */
  private final io.leafgate.leaf.route.FlushBatch sendBatch = new io.leafgate.leaf.route.FlushBatch();

  Forwarder(UplinkConfig cfg, HubLink link, JetStreamEngine engine, String serverName, String epoch) {
    this.cfg = cfg;
    this.link = link;
    this.engine = engine;
    this.idPrefix = serverName + ":" + epoch + ":";
    this.doubtOpen = cfg.hubStream != null;
  }

  void start() {
    if (cfg.hubStream != null) {
      ackFamily = link.newReplyFamily(this::onPubAck);
    }
    link.loop().scheduleAtFixedRate(this::tick, 1, 1, TimeUnit.SECONDS);
    link.loop().execute(this::pump);
  }

  void stop() {
    stopped = true;
    if (ackFamily != null) {
      link.removeReplyHandler(ackFamily);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Link events

  @Override
  public void onLive() {
    paused = false;
    backoffMs = 500;
    pump();
  }

  @Override
  public void onDown() {
    // Whatever was sent and not confirmed may or may not be on the hub: check it after reconnecting.
    requeueInflight(cfg.hubStream != null);
  }

  private void requeueInflight(boolean inDoubt) {
    if (inflight.isEmpty()) {
      return;
    }
    List<Item> back = new ArrayList<>(inflight.values());
    inflight.clear();
    for (int i = back.size() - 1; i >= 0; i--) {
      Item it = back.get(i);
      it.inDoubt = inDoubt;
      queue.addFirst(it);
    }
    stats.resent.addAndGet(back.size());
    publishStats();
  }

  // ---------------------------------------------------------------------------------------------
  // Pulling from the local stream

  private void pullMore() {
    long want = cfg.replayWindow * 2L - queue.size() - inflight.size() - pullOutstanding;
    if (stopped || want < Math.max(1, cfg.replayWindow / 4) || pulls.size() >= 2) {
      return;
    }
    Pull p = new Pull(want);
    pulls.addLast(p);
    pullOutstanding += want;
    engine.pullDirect(cfg.stream, CONSUMER, want, PULL_EXPIRES_NANOS, p);
  }

  /** Messages the local consumer delivered to one of our requests, in stream order. */
  private void onLocalBatch(Pull p, List<StoredMessage> batch) {
    for (StoredMessage m : batch) {
      p.left--;
      pullOutstanding--;
      if (!held.add(m.seq())) {
        continue; // a redelivery of one we hold
      }
      Item it = new Item(m);
      it.inDoubt = doubtOpen;
      queue.addLast(it);
    }
    if (p.left <= 0 && pulls.remove(p)) {
      pullOutstanding -= p.left;
    }
    pumpSoon();
  }

  /** A request ended before it got all it asked for (it expired, or the consumer is gone). */
  private void onPullEnd(Pull p, String status) {
    if (pulls.remove(p)) {
      pullOutstanding -= Math.max(0, p.left);
    }
    if (!status.startsWith("408")) {
      Logger.debug("Uplink forwarder: the local consumer ended a pull with {}", status);
    }
    pump();
  }

  /**
   * Pumps once after the work already queued on the link's loop (the rest of a read batch of hub
   * PubAcks, or of locally delivered messages), so that one pump sends and flushes for all of them
   * instead of one write per PubAck.
   */
  private void pumpSoon() {
    if (!pumpScheduled) {
      pumpScheduled = true;
      link.loop().execute(() -> {
        pumpScheduled = false;
        pump();
      });
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Sending

  /** Moves messages along as far as the link, the window and the pace allow. */
  private void pump() {
    flushAcks();
    pullMore();
    if (!link.isLive() || paused || resolving) {
      publishStats();
      return;
    }
    refill();
    while (!queue.isEmpty() && inflight.size() < cfg.replayWindow) {
      Item it = queue.peekFirst();
      if (it.inDoubt) {
        resolveInDoubt();
        break;
      }
      if (cfg.replayRate > 0 && tokens < 1) {
        scheduleWake();
        break;
      }
      queue.pollFirst();
      if (!send(it)) {
        queue.addFirst(it);
        scheduleWake();
        break;
      }
      tokens -= 1;
    }
    sendBatch.flushAll();
    if (cfg.hubStream == null && !inflight.isEmpty() && barrierDue()) {
      barrier();
    }
    publishStats();
    flushAcks();
    pullMore();
  }

  /** The replay rate or window changed (a reload, on the link's loop): go on with the new pace. */
  void paceChanged() {
    lastRefillNanos = System.nanoTime();
    tokens = Math.min(tokens, Math.max(cfg.replayRate / 10.0, 1));
    pump();
  }

  private void refill() {
    if (cfg.replayRate <= 0) {
      return;
    }
    long now = System.nanoTime();
    tokens = Math.min(Math.max(cfg.replayRate / 10.0, 1), tokens + (now - lastRefillNanos) / 1e9 * cfg.replayRate);
    lastRefillNanos = now;
  }

  private void scheduleWake() {
    if (!wakeScheduled) {
      wakeScheduled = true;
      link.loop().schedule(() -> {
        wakeScheduled = false;
        pump();
      }, 10, TimeUnit.MILLISECONDS);
    }
  }

  private boolean send(Item it) {
    String id = idPrefix + it.seq;
    byte[] hdr = it.headers;
    // The id goes in Nats-Msg-Id for the hub's duplicate check; a publisher's own Nats-Msg-Id is
    // kept, and ours then goes in Leafgate-Id, which the in-doubt check reads first.
    hdr = Headers.append(hdr, Headers.get(hdr, Headers.MSG_ID) == null ? Headers.MSG_ID : LEAFGATE_ID, id);
    String reply = ackFamily != null ? ackFamily + it.seq : null;
    if (!link.sendMessage(it.subject, reply, hdr, it.data, sendBatch)) {
      return false;
    }
    it.sentNanos = System.nanoTime();
    inflight.put(it.seq, it);
    return true;
  }

  static final String LEAFGATE_ID = "Leafgate-Id";

  private boolean barrierPending;

  private boolean barrierDue() {
    return !barrierPending && (queue.isEmpty() || inflight.size() >= cfg.replayWindow);
  }

  /** Without a hub stream: a PING after a batch; its PONG proves the hub processed the batch. */
  private void barrier() {
    List<Item> batch = new ArrayList<>(inflight.values());
    barrierPending = true;
    link.ping(() -> {
      barrierPending = false;
      for (Item it : batch) {
        if (inflight.remove(it.seq) != null) {
          confirm(it);
        }
      }
      pump();
    });
  }

  /**
   * A publish ack, its reply subject naming the message's stream sequence. A late ack of an earlier
   * send of a message that went out again confirms it as well: the hub holds it either way.
   */
  private void onPubAck(LeafOp.Message m) {
    long seq;
    try {
      seq = Long.parseLong(m.subject().substring(ackFamily.length()));
    } catch (RuntimeException e) {
      return;
    }
    Item it = inflight.remove(seq);
    if (it == null) {
      return;
    }
    String body = m.data().toString(m.hdrLen(), m.data().readableBytes() - m.hdrLen(), StandardCharsets.UTF_8);
    if (m.hdrLen() == 0 && isPlainPubAck(body)) {
      confirm(it);
      pumpSoon();
      return;
    }
    Map<String, Object> ack;
    try {
      ack = JSON.std.mapFrom(body);
    } catch (Exception e) {
      ack = Map.of("error", Map.of("description", "unreadable publish ack: " + body));
    }
    if (m.hdrLen() > 0 && body.isEmpty()) {
      ack = Map.of("error", Map.of("description", "no stream answered (status " + statusOf(m) + ")"));
    }
    Object err = ack.get("error");
    if (err == null) {
      confirm(it);
      pump();
      return;
    }
    String desc = err instanceof Map<?, ?> e ? String.valueOf(e.get("description")) : String.valueOf(err);
    onHubFailure(it, desc);
  }

  /**
   * Whether a publish ack body is a plain success ({@code {"stream":...,"seq":...}}, possibly with
   * {@code "duplicate":true}): checked without a JSON parse, which was the largest cost of the
   * link's thread per replayed message. Anything else goes through the full parse.
   */
  static boolean isPlainPubAck(String body) {
    return body.startsWith("{\"stream\":") && body.endsWith("}") && body.indexOf("\"error\"") < 0
        && body.indexOf("\"seq\":") > 0;
  }

  private static String statusOf(LeafOp.Message m) {
    String h = m.data().toString(0, Math.min(m.hdrLen(), 16), StandardCharsets.ISO_8859_1);
    return h.length() > 9 ? h.substring(9).trim() : h;
  }

  /** The hub refused or did not answer: everything unconfirmed goes back in order, after a pause. */
  private void onHubFailure(Item failed, String why) {
    stats.hubErrors.incrementAndGet();
    stats.lastHubError = why;
    if (!why.equals(lastLoggedError)) {
      Logger.warn("Uplink: hub stream {} did not accept message {} ({}); retrying in order after {} ms",
          cfg.hubStream, failed.seq, why, backoffMs);
      lastLoggedError = why;
    }
    failed.inDoubt = false;
    queue.addFirst(failed);
    requeueInflight(true);
    pause();
  }

  private String lastLoggedError;

  private void pause() {
    paused = true;
    long d = backoffMs;
    backoffMs = Math.min(backoffMs * 2, 30_000);
    link.loop().schedule(() -> {
      paused = false;
      pump();
    }, d, TimeUnit.MILLISECONDS);
  }

  private void confirm(Item it) {
    held.remove(it.seq);
    if (ackCount == acks.length) {
      acks = java.util.Arrays.copyOf(acks, acks.length * 2);
    }
    acks[ackCount++] = it.seq;
    stats.confirmed.incrementAndGet();
    stats.confirmedBytes.addAndGet(it.data.length);
    rateWindowCount++;
    backoffMs = 500;
    lastLoggedError = null;
  }

  /** Acknowledges what the hub confirmed to the local consumer, in one engine task. */
  private void flushAcks() {
    if (ackCount > 0) {
      engine.ackDirect(cfg.stream, CONSUMER, acks, ackCount);
      ackCount = 0;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Resolving messages that may already be on the hub

  private void resolveInDoubt() {
    resolving = true;
    List<Item> doubt = new ArrayList<>();
    for (Item it : queue) {
      if (!it.inDoubt) {
        break;
      }
      doubt.add(it);
    }
    Map<String, Long> lastOurSeqBySubject = new HashMap<>();
    List<String> subjects = new ArrayList<>();
    for (Item it : doubt) {
      if (!lastOurSeqBySubject.containsKey(it.subject)) {
        lastOurSeqBySubject.put(it.subject, null);
        subjects.add(it.subject);
      }
    }
    String domain = cfg.hubDomain != null ? cfg.hubDomain : link.hubDomain();
    String api = (domain == null ? "$JS.API." : "$JS." + domain + ".API.") + "STREAM.MSG.GET." + cfg.hubStream;
    int[] waiting = {subjects.size()};
    boolean[] unknown = {false};
    List<String> handlers = new ArrayList<>();
    Runnable finish = () -> {
      handlers.forEach(link::removeReplyHandler);
      finishResolution(doubt, lastOurSeqBySubject, unknown[0]);
    };
    io.netty.util.concurrent.ScheduledFuture<?> timeout = link.loop().schedule(() -> {
      if (waiting[0] > 0) {
        waiting[0] = -1;
        unknown[0] = true;
        finish.run();
      }
    }, 5, TimeUnit.SECONDS);
    List<String> replies = new ArrayList<>();
    for (String subject : subjects) {
      String r2 = link.newReplySubject(m -> {
        if (waiting[0] <= 0) {
          return;
        }
        Long seq = ourSeqIn(m);
        if (seq == null) {
          unknown[0] |= !isNotFound(m);
        } else {
          lastOurSeqBySubject.put(subject, seq);
        }
        if (--waiting[0] == 0) {
          timeout.cancel(false);
          finish.run();
        }
      });
      replies.add(r2);
      byte[] body = ("{\"last_by_subj\":" + quote(subject) + "}").getBytes(StandardCharsets.UTF_8);
      if (!link.sendMessage(api, r2, List.of(), 0, io.netty.buffer.Unpooled.wrappedBuffer(body), null)) {
        waiting[0] = -1;
        timeout.cancel(false);
        resolving = false;
        return;
      }
    }
    handlers.addAll(replies);
    if (subjects.isEmpty()) {
      timeout.cancel(false);
      finishResolution(doubt, lastOurSeqBySubject, false);
    }
  }

  private void finishResolution(List<Item> doubt, Map<String, Long> lastOurSeq, boolean unknown) {
    if (!resolving) {
      return;
    }
    int skipped = 0;
    boolean resendRest = false;
    for (Item it : doubt) {
      if (queue.peekFirst() != it) {
        break;
      }
      Long ours = lastOurSeq.get(it.subject);
      if (!resendRest && ours != null && ours >= it.seq) {
        queue.pollFirst();
        confirm(it);
        stats.alreadyOnHub.incrementAndGet();
        skipped++;
      } else {
        resendRest = true;
        it.inDoubt = false;
      }
    }
    if (resendRest) {
      // This one is not on the hub, so neither is anything after it: the rest goes out unchecked.
      doubtOpen = false;
      for (Item it : queue) {
        it.inDoubt = false;
      }
    }
    if (unknown && resendRest) {
      Logger.warn("Uplink: could not ask hub stream {} what it holds; resending in-doubt messages, "
          + "relying on its duplicate window to drop copies", cfg.hubStream);
    }
    if (skipped > 0) {
      Logger.info("Uplink: {} message(s) were already on the hub and are not sent again", skipped);
    }
    resolving = false;
    pump();
  }

  /** The local sequence in the Leafgate-Id of a hub message-get reply, when it is one of ours. */
  private Long ourSeqIn(LeafOp.Message m) {
    try {
      String body = m.data().toString(m.hdrLen(), m.data().readableBytes() - m.hdrLen(), StandardCharsets.UTF_8);
      Map<String, Object> r = JSON.std.mapFrom(body);
      if (!(r.get("message") instanceof Map<?, ?> msg)) {
        return null;
      }
      Object hdrs = msg.get("hdrs");
      if (!(hdrs instanceof String h)) {
        return null;
      }
      byte[] block = Base64.getDecoder().decode(h);
      String id = Headers.get(block, LEAFGATE_ID);
      if (id == null) {
        id = Headers.get(block, Headers.MSG_ID);
      }
      if (id == null) {
        return null;
      }
      if (!id.startsWith(idPrefix)) {
        return -1L;
      }
      return Long.parseLong(id.substring(idPrefix.length()));
    } catch (Exception e) {
      return null;
    }
  }

  private static boolean isNotFound(LeafOp.Message m) {
    String body = m.data().toString(m.hdrLen(), m.data().readableBytes() - m.hdrLen(), StandardCharsets.UTF_8);
    return body.contains("10037");
  }

  private static String quote(String s) {
    try {
      return JSON.std.asString(s);
    } catch (java.io.IOException e) {
      throw new IllegalStateException(e);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Housekeeping

  private void tick() {
    long now = System.nanoTime();
    if (cfg.hubStream != null && !inflight.isEmpty()) {
      Item oldest = inflight.values().iterator().next();
      if (now - oldest.sentNanos > ACK_TIMEOUT_NANOS) {
        inflight.remove(oldest.seq);
        onHubFailure(oldest, "no publish ack within " + ACK_TIMEOUT_NANOS / 1_000_000_000L + "s");
      }
    }
    double secs = (now - rateWindowStart) / 1e9;
    if (secs >= 1) {
      stats.ratePerSec = stats.ratePerSec == 0 ? rateWindowCount / secs : 0.7 * stats.ratePerSec + 0.3 * rateWindowCount / secs;
      rateWindowStart = now;
      rateWindowCount = 0;
    }
    if (pulls.isEmpty()) {
      pullOutstanding = 0;
    }
    pump();
  }

  /** Logs replay progress now and then (the bridge supplies the backlog numbers). */
  void maybeLogProgress(long backlogMsgs, long backlogBytes) {
    long now = System.nanoTime();
    if (backlogMsgs > cfg.replayWindow && link.isLive() && now - lastProgressLog > PROGRESS_LOG_NANOS) {
      lastProgressLog = now;
      double rate = stats.ratePerSec;
      String eta = rate > 0 ? io.leafgate.leaf.monitor.GoFormat.uptime((long) (backlogMsgs / rate * 1000)) : "unknown";
      Logger.info("Uplink replay: {} messages ({} bytes) left, {} msg/s, ETA {}", backlogMsgs, backlogBytes,
          Math.round(rate), eta);
    }
  }

  private void publishStats() {
    stats.inflight = inflight.size();
    stats.queued = queue.size();
  }
}
