package io.leafgate.storage.engine;

import io.leafgate.leaf.route.FlushBatch;
import io.leafgate.leaf.route.Msg;
import io.leafgate.leaf.route.Origin;
import io.leafgate.leaf.route.Subscriber;
import io.leafgate.leaf.route.Subscription;
import io.leafgate.leaf.subject.Subjects;
import io.leafgate.storage.api.StoreException;
import io.leafgate.storage.api.StoredMessage;
import io.leafgate.storage.api.StreamState;
import io.leafgate.storage.api.StreamStore;
import io.leafgate.storage.api.SubjectState;
import io.netty.buffer.ByteBufUtil;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.tinylog.Logger;

/**
 * One stream: captures the messages published on its subjects, applies the publish checks
 * (expected headers, dedupe, rollups, discard-new limits), stores, trims to its limits, and feeds
 * its consumers. Engine-thread confined, except {@link Capture#deliver}, which runs on publishers'
 * threads and only copies the message and posts it to the engine.
 */
public final class Stream {
  final JetStreamEngine engine;
  StreamConfig config;
  final StreamStore store;
  final long createdNanos;
  final String epoch;
  final Map<String, Consumer> consumers = new LinkedHashMap<>();
  private final List<Subscription> subscriptions = new ArrayList<>();
  private final Capture capture = new Capture();
  /** Nats-Msg-Id to {seq, age reading}, oldest first; pruned past the duplicate window. */
  private final LinkedHashMap<String, long[]> dedupe = new LinkedHashMap<>();
  private String lastMsgId;
  /** What the limits removed or refused, by reason (the uplink's "drops by reason"). */
  private final long[] drops = new long[4];
  /** Messages up to this sequence are durable and may be delivered. */
  long durableSeq;
  private boolean deleted;
  /** The publish acknowledgement around its sequence number (made at the first one). */
  private byte[] ackHead;
  private byte[] ackTail;

  Stream(JetStreamEngine engine, StreamConfig config, StreamStore store, long createdNanos, String epoch) {
    this.engine = engine;
    this.config = config;
    this.store = store;
    this.createdNanos = createdNanos;
    this.epoch = epoch;
    this.durableSeq = store.state().lastSeq();
  }

  public String name() {
    return config.name;
  }

  public StreamConfig config() {
    return config;
  }

  public StreamStore store() {
    return store;
  }

  /** The random id fixed when the stream was created (part of stable message ids). */
  public String epoch() {
    return epoch;
  }

  /** Subscribes the stream's subjects on the router. */
  void subscribe() {
    for (String s : config.subjects) {
      Subscription sub = new Subscription(capture, s, null, "js-" + config.name + "-" + s);
      subscriptions.add(sub);
      engine.router().subscribe(sub);
    }
  }

  void unsubscribe() {
    for (Subscription s : subscriptions) {
      engine.router().unsubscribe(s);
    }
    subscriptions.clear();
  }

  /** Replaces the configuration (an update); resubscribes when the subjects changed. */
  void update(StreamConfig c) {
    boolean resub = !c.subjects.equals(config.subjects);
    config = c;
    if (resub) {
      unsubscribe();
      subscribe();
    }
    pruneDedupe();
    enforceLimits();
  }

  void markDeleted() {
    deleted = true;
    unsubscribe();
  }

  boolean isDeleted() {
    return deleted;
  }

  /** Rebuilds the dedupe window from the store (at start-up and after a rollback). */
  void rebuildDedupe() throws StoreException {
    dedupe.clear();
    lastMsgId = null;
    long since = engine.ageNow() - config.duplicateWindow;
    long last = store.state().lastSeq();
    for (Map.Entry<String, Long> e : store.msgIdsSince(since).entrySet()) {
      long age = store.ageOf(e.getValue());
      dedupe.put(e.getKey(), new long[] {e.getValue(), age});
      if (e.getValue() == last) {
        lastMsgId = e.getKey();
      }
    }
    durableSeq = Math.max(durableSeq, 0);
    if (durableSeq > last) {
      durableSeq = last;
    }
  }

  void pruneDedupe() {
    long cutoff = engine.ageNow() - config.duplicateWindow;
    for (Iterator<long[]> it = dedupe.values().iterator(); it.hasNext(); ) {
      if (it.next()[1] >= cutoff) {
        break;
      }
      it.remove();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Publishing

  /** A message copied off a publisher's thread, waiting for the engine. */
  record Inbound(String subject, String reply, byte[] headers, byte[] data) {}

  /** The stream's router subscriber: copies each message and hands it to the engine thread. */
  private final class Capture implements Subscriber {
    @Override
    public void deliver(Subscription sub, Msg msg, FlushBatch batch) {
      byte[] hdr = null;
      int idx = msg.data().readerIndex();
      if (msg.hdrLen() > 0) {
        hdr = ByteBufUtil.getBytes(msg.data(), idx, msg.hdrLen());
      }
      byte[] data = ByteBufUtil.getBytes(msg.data(), idx + msg.hdrLen(), msg.payloadSize());
      Inbound in = new Inbound(msg.subject(), msg.reply(), hdr, data);
      engine.submitPublish(Stream.this, in, batch);
    }

    @Override
    public Origin origin() {
      return Origin.INTERNAL;
    }
  }

  /** Stores one published message, or answers why not. On the engine thread. */
  void processPublish(Inbound in) {
    if (deleted) {
      return;
    }
    long seq;
    try {
      seq = store(in);
    } catch (ApiError e) {
      engine.stats.apiErrors++;
      if (in.reply() != null) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("error", e.toMap());
        m.put("stream", config.name);
        m.put("seq", 0);
        engine.reply(in.reply(), m);
      }
      return;
    }
    if (seq < 0) {
      return; // a duplicate; already answered
    }
    if (in.reply() != null && !config.noAck) {
      byte[] ack = pubAck(seq, false);
      if (config.memory) {
        engine.replyRaw(in.reply(), ack);
      } else {
        engine.afterDurable(new JetStreamEngine.Reply(in.reply(), ack));
      }
    }
  }

  private byte[] pubAck(long seq, boolean duplicate) {
    if (duplicate) {
      StringBuilder b = new StringBuilder(64).append("{\"stream\":\"").append(config.name).append("\",\"seq\":").append(seq);
      if (engine.domain() != null) {
        b.append(",\"domain\":\"").append(engine.domain()).append('"');
      }
      return b.append(",\"duplicate\":true}").toString().getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }
    // One array per acknowledgement (this is per publish): the parts around the number are made once.
    if (ackHead == null) {
      ackHead = ("{\"stream\":\"" + config.name + "\",\"seq\":").getBytes(java.nio.charset.StandardCharsets.UTF_8);
      ackTail = (engine.domain() != null ? ",\"domain\":\"" + engine.domain() + "\"}" : "}")
          .getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }
    int digits = 1;
    for (long v = seq; v >= 10; v /= 10) {
      digits++;
    }
    byte[] out = new byte[ackHead.length + digits + ackTail.length];
    System.arraycopy(ackHead, 0, out, 0, ackHead.length);
    long v = seq;
    for (int i = ackHead.length + digits - 1; i >= ackHead.length; i--) {
      out[i] = (byte) ('0' + v % 10);
      v /= 10;
    }
    System.arraycopy(ackTail, 0, out, ackHead.length + digits, ackTail.length);
    return out;
  }

  /** Applies the publish checks and stores; returns the sequence, or -1 for an answered duplicate. */
  private long store(Inbound in) throws ApiError {
    if (config.sealed) {
      throw ApiError.sealed();
    }
    byte[] hdr = in.headers();
    String subject = in.subject();
    String msgId = null;
    String rollup = null;
    if (hdr != null) {
      String expStream = Headers.get(hdr, Headers.EXPECTED_STREAM);
      if (expStream != null && !expStream.equals(config.name)) {
        throw ApiError.expectedStream();
      }
      String expSubjSeq = Headers.get(hdr, Headers.EXPECTED_LAST_SUBJ_SEQ);
      if (expSubjSeq != null) {
        String onSubject = Headers.get(hdr, Headers.EXPECTED_LAST_SUBJ_SEQ_SUBJ);
        long want = parseSeq(expSubjSeq);
        long have = lastSeqOn(onSubject != null && !onSubject.isEmpty() ? onSubject : subject);
        if (want != have) {
          throw ApiError.wrongLastSequence(have);
        }
      }
      String expSeq = Headers.get(hdr, Headers.EXPECTED_LAST_SEQ);
      if (expSeq != null) {
        long want = parseSeq(expSeq);
        long have = store.state().lastSeq();
        if (want != have) {
          throw ApiError.wrongLastSequence(have);
        }
      }
      msgId = Headers.get(hdr, Headers.MSG_ID);
      if (msgId != null && !msgId.isEmpty()) {
        long[] seen = dedupe.get(msgId);
        if (seen != null && seen[1] >= engine.ageNow() - config.duplicateWindow) {
          if (in.reply() != null) {
            byte[] ack = pubAck(seen[0], true);
            if (config.memory || seen[0] <= durableSeq) {
              engine.replyRaw(in.reply(), ack);
            } else {
              engine.afterDurable(new JetStreamEngine.Reply(in.reply(), ack));
            }
          }
          return -1;
        }
      } else {
        msgId = null;
      }
      String expLastId = Headers.get(hdr, Headers.EXPECTED_LAST_MSG_ID);
      if (expLastId != null) {
        String last = lastMsgId == null ? "" : lastMsgId;
        if (!expLastId.equals(last)) {
          throw ApiError.wrongLastMsgId(last);
        }
      }
      rollup = Headers.get(hdr, Headers.ROLLUP);
      if (rollup != null) {
        if (!config.allowRollup || config.denyPurge) {
          throw ApiError.rollupNotPermitted();
        }
        if (!rollup.equals("sub") && !rollup.equals("all")) {
          throw ApiError.rollupInvalid(rollup);
        }
      }
      if (Headers.get(hdr, Headers.TTL) != null) {
        throw ApiError.messageTtlDisabled();
      }
      if (hdr.length > 65536) {
        throw ApiError.headersTooBig();
      }
    }
    long size = StoredMessage.sizeOf(subject, hdr, in.data());
    if (config.maxMsgSize > 0 && (hdr == null ? 0 : hdr.length) + in.data().length > config.maxMsgSize) {
      throw ApiError.messageTooBig();
    }
    StreamState st = store.state();
    if (config.discardNew) {
      if (config.maxMsgs > 0 && st.msgs() >= config.maxMsgs) {
        drops[3]++;
        throw ApiError.storeFailed("maximum messages exceeded");
      }
      if (config.maxBytes > 0 && st.bytes() + size > config.maxBytes) {
        drops[3]++;
        throw ApiError.storeFailed("maximum bytes exceeded");
      }
      if (config.discardNewPerSubject && rollup == null && config.maxMsgsPerSubject > 0) {
        try {
          if (store.subjectState(subject).count() >= config.maxMsgsPerSubject) {
            throw ApiError.storeFailed("maximum messages per subject exceeded");
          }
        } catch (StoreException e) {
          throw storeError(e);
        }
      }
    }
    if (!config.memory) {
      engine.checkFileStoreRoom(size);
    } else {
      engine.checkMemoryRoom(size);
    }
    long seq;
    try {
      seq = store.append(subject, hdr, in.data(), engine.wallNanos(), engine.ageNow(), msgId);
    } catch (StoreException e) {
      throw storeError(e);
    }
    if (msgId != null) {
      dedupe.put(msgId, new long[] {seq, engine.ageNow()});
    }
    lastMsgId = msgId;
    engine.stats.storedMsgs++;
    if (!config.memory) {
      engine.onStoredToFile();
    }
    try {
      if (rollup != null) {
        if (rollup.equals("all")) {
          long n = store.purge(null, seq, 0);
          if (n > 0) {
            onRemoved();
          }
        } else {
          long n = store.purge(subject, seq, 0);
          if (n > 0) {
            onRemoved();
          }
        }
      }
      for (Consumer c : consumers.values()) {
        c.onAppended(seq, subject);
      }
      if (config.retention == StreamConfig.Retention.INTEREST && !hasInterest(subject)) {
        store.remove(seq);
      }
      if (config.maxMsgsPerSubject > 0 && rollup == null) {
        if (store.trimSubject(subject, config.maxMsgsPerSubject) > 0) {
          onRemoved();
        }
      }
      enforceLimits();
    } catch (StoreException e) {
      throw storeError(e);
    }
    if (config.memory) {
      durableSeq = seq;
      engine.kickLater(this);
    }
    return seq;
  }

  private ApiError storeError(StoreException e) {
    engine.onStoreError(e);
    if (JetStreamEngine.isFull(e)) {
      return ApiError.insufficientResources();
    }
    return ApiError.storageFailure(e.getMessage());
  }

  private static long parseSeq(String v) throws ApiError {
    try {
      return Long.parseLong(v.trim());
    } catch (NumberFormatException e) {
      throw ApiError.badRequest();
    }
  }

  private long lastSeqOn(String subject) throws ApiError {
    try {
      if (Subjects.hasWildcard(subject)) {
        StoredMessage m = store.loadLast(subject);
        return m == null ? 0 : m.seq();
      }
      return store.subjectState(subject).lastSeq();
    } catch (StoreException e) {
      throw storeError(e);
    }
  }

  /** Whether any consumer would receive a message on this subject (interest retention). */
  private boolean hasInterest(String subject) {
    for (Consumer c : consumers.values()) {
      if (c.matches(subject)) {
        return true;
      }
    }
    return false;
  }

  /** Counts of messages dropped by limits: max_msgs, max_bytes, max_age, and refused by discard new. */
  public record Drops(long maxMsgs, long maxBytes, long maxAge, long discardNew) {}

  public Drops drops() {
    return new Drops(drops[0], drops[1], drops[2], drops[3]);
  }

  /** Removes what the limits no longer allow: age, count and bytes (discard old). */
  void enforceLimits() {
    long minAge = config.maxAge > 0 ? engine.ageNow() - config.maxAge : Long.MIN_VALUE;
    long maxMsgs = config.discardNew ? -1 : config.maxMsgs;
    long maxBytes = config.discardNew ? -1 : config.maxBytes;
    if (maxMsgs < 0 && maxBytes < 0 && minAge == Long.MIN_VALUE) {
      return;
    }
    try {
      long n = 0;
      long k;
      if (minAge != Long.MIN_VALUE && (k = store.trim(-1, -1, minAge)) > 0) {
        drops[2] += k;
        n += k;
      }
      if (maxMsgs >= 0 && (k = store.trim(maxMsgs, -1, Long.MIN_VALUE)) > 0) {
        drops[0] += k;
        n += k;
      }
      if (maxBytes >= 0 && (k = store.trim(-1, maxBytes, Long.MIN_VALUE)) > 0) {
        drops[1] += k;
        n += k;
      }
      if (n > 0) {
        engine.stats.limitDrops += n;
        onRemoved();
      }
    } catch (StoreException e) {
      engine.onStoreError(e);
      Logger.warn("Stream {} could not apply its limits: {}", config.name, e.getMessage());
    }
  }

  /** Tells consumers that messages went away, so their counts and prefetch are refreshed. */
  void onRemoved() {
    for (Consumer c : consumers.values()) {
      c.onRemoved();
    }
  }

  /**
   * How many messages with {@code seq >= fromSeq} match the filters (none = all), cheaply where the
   * numbers allow it.
   */
  long pendingFor(List<String> filters, long fromSeq) throws StoreException {
    StreamState st = store.state();
    if (fromSeq > st.lastSeq()) {
      return 0;
    }
    if (coversAll(filters)) {
      if (fromSeq <= st.firstSeq()) {
        return st.msgs();
      }
      if (st.numDeleted() == 0) {
        return st.lastSeq() - fromSeq + 1;
      }
      return store.countMatching(null, fromSeq);
    }
    long total = 0;
    for (String f : filters) {
      if (!Subjects.hasWildcard(f)) {
        SubjectState ss = store.subjectState(f);
        if (ss.count() == 0 || fromSeq > ss.lastSeq()) {
          continue;
        }
        if (fromSeq <= ss.firstSeq()) {
          total += ss.count();
          continue;
        }
      }
      total += store.countMatching(f, fromSeq);
    }
    return total;
  }

  /** Whether the filters select every message of the stream. */
  boolean coversAll(List<String> filters) {
    if (filters.isEmpty()) {
      return true;
    }
    for (String s : config.subjects) {
      boolean covered = false;
      for (String f : filters) {
        if (Subjects.isSubset(s, f) || f.equals(s)) {
          covered = true;
          break;
        }
      }
      if (!covered) {
        return false;
      }
    }
    return true;
  }

  /** Called when the durable watermark moves. */
  void onDurable(long seq) {
    if (seq > durableSeq) {
      durableSeq = Math.min(seq, store.state().lastSeq());
      for (Consumer c : consumers.values()) {
        c.kick();
      }
    }
  }

  /** Deletes and purges (API calls). */
  boolean removeMessage(long seq) throws StoreException {
    boolean ok = store.remove(seq);
    if (ok) {
      onRemoved();
    }
    return ok;
  }

  long purge(String filter, long beforeSeq, long keep) throws StoreException {
    long n = store.purge(filter, beforeSeq, keep);
    if (n > 0) {
      onRemoved();
    }
    return n;
  }

  /** Removes a message acknowledged by every interested consumer (interest and workqueue retention). */
  void onAcked(long seq, String subject) {
    if (config.retention == StreamConfig.Retention.LIMITS) {
      return;
    }
    if (config.retention == StreamConfig.Retention.INTEREST) {
      for (Consumer c : consumers.values()) {
        if ((subject == null || c.matches(subject)) && !c.hasAcked(seq)) {
          return;
        }
      }
    }
    try {
      if (store.removeAcked(seq)) {
        for (Consumer c : consumers.values()) {
          c.onRemovedSeq(seq);
        }
      }
    } catch (StoreException e) {
      engine.onStoreError(e);
    }
  }
}
