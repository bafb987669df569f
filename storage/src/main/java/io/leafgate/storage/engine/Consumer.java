package io.leafgate.storage.engine;

import io.leafgate.leaf.subject.Subjects;
import io.leafgate.storage.api.ConsumerState;
import io.leafgate.storage.api.StoreException;
import io.leafgate.storage.api.StoredMessage;
import io.leafgate.storage.api.StreamState;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import org.tinylog.Logger;

/**
 * A consumer of a stream: where it is, what it has delivered and not yet had acknowledged, and its
 * waiting pull requests or its push target. Engine-thread confined.
 *
 * <p>Delivery only ever hands out messages up to the stream's durable watermark, so a consumer can
 * never have seen (or acknowledged) a message that a power cut then takes away.
 */
public final class Consumer {
  private static final int PREFETCH = 256;

  final Stream stream;
  final String name;
  ConsumerConfig config;
  final long createdNanos;

  /** Next stream sequence to look at for new messages. */
  private long nextSeq;
  /** Last consumer sequence handed out. */
  private long dseq;
  /** Last stream sequence handed out. */
  private long deliveredSseq;
  private long ackFloorD;
  private long ackFloorS;
  private long numRedelivered;
  private long lastDeliveredWall;
  private long lastAckWall;

  /** Delivered and not yet acknowledged, by stream sequence. */
  private final TreeMap<Long, Pending> pending = new TreeMap<>();
  /** The consumer sequences of {@link #pending}'s deliveries: the ack floor's lowest one in O(log n). */
  private final TreeSet<Long> pendingDseqs = new TreeSet<>();
  /** Stream sequences to deliver again, in order. */
  private final TreeSet<Long> redeliver = new TreeSet<>();
  /** Acknowledged above the floor (out-of-order acks): persisted, skipped after a restart. */
  private final TreeSet<Long> ackedAbove = new TreeSet<>();
  /** The stream sequences of {@link #pending}'s deliveries that are redeliveries: their counts are persisted. */
  private final TreeSet<Long> redeliveredSeqs = new TreeSet<>();
  /**
   * After a restart, the last stream sequence delivered before it: unacknowledged messages up to it
   * come again (from {@link #initial}, then from {@link #nextSeq}) as redeliveries, counting on from
   * {@link #restoredCounts}.
   */
  private long restoredSseq;
  /** Deliveries before the restart of messages delivered more than once and not yet sent again. */
  private final TreeMap<Long, Integer> restoredCounts = new TreeMap<>();
  /**
   * Deliver policy last_per_subject: the stream's last sequence when the consumer was created. Up to
   * it the consumer delivers only the last message of each subject ({@link #initial}), and
   * {@link #nextSeq} starts above it. Persisted, so that a restart owes only what that phase
   * delivered and rebuilds what it had still to deliver; 0 when there is no such phase, or once the
   * ack floor has passed it.
   */
  private long initialEnd;
  /**
   * The first phase's sequences still to deliver, ascending, from {@link #initialAt}: last-per-subject
   * ones, and after a restart also those delivered before it and still owed.
   */
  private long[] initial = NONE;
  private int initialAt;
  private final ArrayDeque<StoredMessage> prefetch = new ArrayDeque<>();
  /** Whether the last message {@link #nextNew} returned came from {@link #initial}. */
  private boolean lastNewFromInitial;
  /** Undelivered matching messages; -1 when it must be counted again. */
  private long numPending = -1;

  private final ArrayDeque<PullRequest> waiting = new ArrayDeque<>();
  private EngineLoop.Timer ackTimer;
  private long ackTimerDeadline;
  private EngineLoop.Timer heartbeatTimer;
  private EngineLoop.Timer inactiveTimer;
  private long lastActivityNanos = System.nanoTime();
  private long lastPushDeliveryNanos = System.nanoTime();
  /** The byte window of a push consumer with flow_control, else null (an update cannot change either). */
  private final FlowControl flow;
  private boolean kickQueued;
  private boolean stateDirty;
  private boolean deleted;
  /** Ack floor of the last committed state: what info reports for durables. */
  private long committedFloorD;
  private long committedFloorS;

  /** One message delivered and awaiting its ack. */
  private static final class Pending {
    long dseq;
    int deliveries;
    long deadline;
    long deliveredWall;

    Pending(long dseq, int deliveries, long deadline, long deliveredWall) {
      this.dseq = dseq;
      this.deliveries = deliveries;
      this.deadline = deadline;
      this.deliveredWall = deliveredWall;
    }
  }

  Consumer(Stream stream, String name, ConsumerConfig config, long createdNanos) {
    this.stream = stream;
    this.name = name;
    this.config = config;
    this.createdNanos = createdNanos;
    this.flow = flowControlFor(config);
  }

  private FlowControl flowControlFor(ConsumerConfig c) {
    return c.flowControl && !c.isPull()
        ? new FlowControl(stream.name(), name, FlowControl.limitFor(stream.engine.options().maxPending())) : null;
  }

  /** Positions a new consumer by its deliver policy. */
  void startFresh() throws StoreException {
    StreamState st = stream.store.state();
    long start;
    switch (config.deliverPolicy) {
      case NEW -> start = st.lastSeq() + 1;
      case LAST -> {
        StoredMessage last = null;
        for (String f : filtersOrAll()) {
          StoredMessage m = stream.store.loadLast(f);
          if (m != null && (last == null || m.seq() > last.seq())) {
            last = m;
          }
        }
        start = last == null ? st.lastSeq() + 1 : last.seq();
      }
      case BY_START_SEQUENCE -> start = Math.max(config.optStartSeq, 1);
      case BY_START_TIME -> start = stream.store.seqAtOrAfterTime(config.optStartTimeNanos);
      case LAST_PER_SUBJECT -> {
        setInitial(lastPerSubject(Long.MAX_VALUE));
        initialEnd = initialLeft() > 0 ? st.lastSeq() : 0;
        start = st.lastSeq() + 1;
      }
      default -> start = Math.max(st.firstSeq(), 1);
    }
    nextSeq = start;
    if (initialLeft() > 0) {
      deliveredSseq = initial[initialAt] - 1;
    } else {
      deliveredSseq = start - 1;
    }
    ackFloorS = deliveredSseq;
    committedFloorS = ackFloorS;
    stateDirty = true;
  }

  /**
   * The last sequence of each subject the consumer's filters match, among those up to {@code maxSeq},
   * ascending and without repeats.
   */
  private long[] lastPerSubject(long maxSeq) throws StoreException {
    List<String> filters = filtersOrAll();
    if (filters.size() == 1) {
      return stream.store.lastSeqPerSubject(filters.get(0), maxSeq);
    }
    TreeSet<Long> all = new TreeSet<>();
    for (String f : filters) {
      for (long s : stream.store.lastSeqPerSubject(f, maxSeq)) {
        all.add(s);
      }
    }
    long[] out = new long[all.size()];
    int i = 0;
    for (long s : all) {
      out[i++] = s;
    }
    return out;
  }

  private void setInitial(long[] seqs) {
    initial = seqs.length == 0 ? NONE : seqs;
    initialAt = 0;
  }

  private int initialLeft() {
    return initial.length - initialAt;
  }

  /** Whether {@code seq} is among the first phase's sequences still to deliver. */
  private boolean initialHas(long seq) {
    return initialAt < initial.length && seq >= initial[initialAt]
        && Arrays.binarySearch(initial, initialAt, initial.length, seq) >= 0;
  }

  /** Forgets the first phase's end once the ack floor has passed it: from there on it is all messages. */
  private void checkInitialEnd() {
    if (initialEnd > 0 && ackFloorS >= initialEnd) {
      initialEnd = 0;
    }
  }

  /**
   * Restores a durable consumer from its committed state; unacknowledged messages go out again.
   *
   * <p>Within a last-per-subject first phase that the ack floor has not passed, only the last message
   * of each subject up to its end was (or was still to be) delivered: those above the floor that are
   * not acknowledged go out in order, the ones delivered before the restart as redeliveries, the rest
   * as the phase would have sent them; then everything after the phase's end. The messages the phase
   * skipped are not owed.
   */
  void restore(ConsumerState s) throws StoreException {
    dseq = s.deliveredConsumerSeq();
    deliveredSseq = s.deliveredStreamSeq();
    ackFloorD = s.ackFloorConsumerSeq();
    ackFloorS = s.ackFloorStreamSeq();
    committedFloorD = ackFloorD;
    committedFloorS = ackFloorS;
    for (long a : s.ackedAbove()) {
      ackedAbove.add(a);
    }
    long[] r = s.redelivered();
    for (int i = 0; i + 1 < r.length; i += 2) {
      if (r[i] > ackFloorS) {
        restoredCounts.put(r[i], (int) Math.min(Integer.MAX_VALUE, r[i + 1]));
      }
    }
    initialEnd = config.deliverPolicy == ConsumerConfig.DeliverPolicy.LAST_PER_SUBJECT ? s.initialEnd() : 0;
    checkInitialEnd();
    if (initialEnd > 0) {
      long[] lps = lastPerSubject(initialEnd);
      long[] owed = new long[lps.length];
      int n = 0;
      for (long seq : lps) {
        // Above the floor and not acknowledged (with ack policy none the floor is the last delivery).
        if (seq > ackFloorS && !ackedAbove.contains(seq)) {
          owed[n++] = seq;
        }
      }
      setInitial(Arrays.copyOf(owed, n));
    }
    if (config.ackPolicy == ConsumerConfig.AckPolicy.NONE) {
      nextSeq = Math.max(deliveredSseq, initialEnd) + 1;
    } else {
      nextSeq = Math.max(ackFloorS, initialEnd) + 1;
      restoredSseq = deliveredSseq;
    }
  }

  ConsumerState state() {
    long[] above = new long[ackedAbove.size()];
    int i = 0;
    for (long a : ackedAbove) {
      above[i++] = a;
    }
    return new ConsumerState(dseq, deliveredSseq, ackFloorD, ackFloorS, above, redeliveredPairs(), initialEnd);
  }

  private static final long[] NONE = new long[0];

  /** Delivery counts above 1 of unacknowledged messages, as {@link ConsumerState#redelivered()} pairs. */
  private long[] redeliveredPairs() {
    if (redeliveredSeqs.isEmpty() && restoredCounts.isEmpty()) {
      return NONE;
    }
    TreeMap<Long, Integer> all = new TreeMap<>(restoredCounts);
    for (long seq : redeliveredSeqs) {
      all.put(seq, pending.get(seq).deliveries);
    }
    long[] pairs = new long[all.size() * 2];
    int i = 0;
    for (Map.Entry<Long, Integer> e : all.entrySet()) {
      pairs[i++] = e.getKey();
      pairs[i++] = e.getValue();
    }
    return pairs;
  }

  /** How often a message owed again after the restart was delivered before it (at least once). */
  private int deliveriesBeforeRestart(long seq) {
    return restoredCounts.getOrDefault(seq, 1);
  }

  boolean takeStateDirty() {
    boolean d = stateDirty;
    stateDirty = false;
    return d;
  }

  /** After a commit became durable: the floor that info may now report. */
  void onCommitted(ConsumerState s) {
    committedFloorD = s.ackFloorConsumerSeq();
    committedFloorS = s.ackFloorStreamSeq();
  }

  private List<String> filtersOrAll() {
    List<String> f = config.filters();
    return f.isEmpty() ? java.util.Collections.singletonList(null) : f;
  }

  boolean matches(String subject) {
    List<String> f = config.filters();
    if (f.isEmpty()) {
      return true;
    }
    for (String x : f) {
      if (Subjects.matches(x, subject)) {
        return true;
      }
    }
    return false;
  }

  /** Whether {@code seq} counts as acknowledged by this consumer (interest retention). */
  boolean hasAcked(long seq) {
    if (seq <= ackFloorS || ackedAbove.contains(seq)) {
      return true;
    }
    // Below nextSeq: after a restart, what is still to be delivered again is not acknowledged.
    return seq <= deliveredSseq && seq < nextSeq && !pending.containsKey(seq) && !redeliver.contains(seq)
        && !initialHas(seq);
  }

  // ---------------------------------------------------------------------------------------------
  // Stream events

  void onAppended(long seq, String subject) {
    if (numPending >= 0 && seq >= nextSeq && matches(subject)) {
      numPending++;
    }
  }

  void onRemoved() {
    numPending = -1;
    prefetch.clear();
  }

  void onRemovedSeq(long seq) {
    if (!prefetch.isEmpty() && seq >= prefetch.peekFirst().seq() && seq <= prefetch.peekLast().seq()) {
      prefetch.removeIf(m -> m.seq() == seq);
    }
    if (seq >= nextSeq) {
      numPending = -1;
    }
  }

  long numPending() {
    if (numPending < 0) {
      try {
        long n = initialLeft();
        long from = nextSeq;
        n += stream.pendingFor(config.filters(), from);
        for (long a : ackedAbove) {
          if (a >= from) {
            n--;
          }
        }
        numPending = Math.max(0, n);
      } catch (StoreException e) {
        stream.engine.onStoreError(e);
        return 0;
      }
    }
    return numPending;
  }

  // ---------------------------------------------------------------------------------------------
  // Delivery

  /** Asks for a delivery pass at the end of the current engine batch. */
  void kick() {
    if (!kickQueued && !deleted) {
      kickQueued = true;
      stream.engine.kickLater(this);
    }
  }

  /** Delivers as much as targets, limits and the durable watermark allow. */
  void deliverAvailable() {
    try {
      deliverPass();
    } finally {
      DirectPull d = directTouched;
      if (d != null) {
        directTouched = null;
        d.onBatchEnd();
      }
    }
  }

  /** The in-process puller given messages in the current pass, told at its end. */
  private DirectPull directTouched;

  private void deliverPass() {
    kickQueued = false;
    if (deleted || stream.isDeleted()) {
      return;
    }
    int guard = 0;
    while (guard++ < 100_000) {
      String target;
      PullRequest req = null;
      if (config.isPull()) {
        req = nextRequest();
        if (req == null) {
          return;
        }
        target = req.reply;
      } else {
        if (!stream.engine.hasInterest(config.deliverSubject)) {
          return;
        }
        if (flow != null && flow.stalled()) {
          return; // until the client answers the flow control request
        }
        target = config.deliverSubject;
      }
      if (config.ackPolicy != ConsumerConfig.AckPolicy.NONE && config.maxAckPending > 0
          && redeliver.isEmpty() && pending.size() >= config.maxAckPending) {
        return;
      }
      StoredMessage m;
      boolean redelivery;
      try {
        Long r = nextRedelivery();
        if (r != null) {
          m = stream.store.load(r);
          redelivery = true;
          if (m == null) {
            dropPending(r);
            continue;
          }
        } else {
          m = nextNew();
          redelivery = false;
          if (m == null) {
            finishNoWait();
            return;
          }
        }
      } catch (StoreException e) {
        stream.engine.onStoreError(e);
        return;
      }
      long size = deliverySize(m);
      if (req != null && req.maxBytes > 0 && size > req.bytesLeft) {
        if (!redelivery) {
          putBack(m);
        } else {
          redeliver.add(m.seq());
        }
        req.sendStatus(stream.engine, "409 Message Size Exceeds MaxBytes", true);
        waiting.remove(req);
        req.cancelTimers();
        continue;
      }
      if (req != null && req.direct != null) {
        deliverDirect(m, req.direct, redelivery);
      } else {
        deliver(m, target, redelivery);
      }
      if (req != null) {
        req.onDelivered(size);
        if (req.batchLeft <= 0) {
          waiting.remove(req);
          req.cancelTimers();
          if (req.maxBytes > 0 && req.bytesLeft > 0) {
            req.sendStatus(stream.engine, "409 Batch Completed", true);
          }
        } else if (req.maxBytes > 0 && req.bytesLeft <= 0) {
          waiting.remove(req);
          req.cancelTimers();
        }
      }
    }
  }

  /** Ends the no-wait requests that can get no more messages now (408 after messages, else 404). */
  private void finishNoWait() {
    for (Iterator<PullRequest> it = waiting.iterator(); it.hasNext(); ) {
      PullRequest r = it.next();
      if (r.noWait && (r.expiresNanos == 0 || r.delivered > 0)) {
        it.remove();
        r.cancelTimers();
        if (r.delivered > 0) {
          // nats-server 2.9/2.10 end a no-wait pull that got messages with 408 and the pending count.
          r.sendStatus(stream.engine, "408 Request Timeout", true);
        } else {
          r.sendStatus(stream.engine, "404 No Messages", false);
        }
      }
    }
  }

  /** The first waiting request whose requester still listens; drops the others. */
  private PullRequest nextRequest() {
    while (!waiting.isEmpty()) {
      PullRequest r = waiting.peekFirst();
      if (r.live(stream.engine)) {
        return r;
      }
      waiting.pollFirst();
      r.cancelTimers();
    }
    return null;
  }

  private Long nextRedelivery() {
    while (!redeliver.isEmpty()) {
      Long s = redeliver.pollFirst();
      if (pending.containsKey(s)) {
        return s;
      }
    }
    return null;
  }

  /**
   * Returns a message taken by {@link #nextNew} but not delivered (it did not fit the request's
   * max_bytes): it is the next one to go out again, to a later request.
   */
  private void putBack(StoredMessage m) {
    if (lastNewFromInitial) {
      initialAt--; // the sequence just taken, still in the array
    } else {
      prefetch.addFirst(m);
      nextSeq = m.seq();
    }
    if (numPending >= 0) {
      numPending++;
    }
  }

  private StoredMessage nextNew() throws StoreException {
    while (true) {
      if (initialAt < initial.length) {
        if (initial[initialAt] > stream.durableSeq) {
          return null; // not durable yet: as for new messages below, it waits for its commit
        }
        long s = initial[initialAt++];
        if (s <= ackFloorS || ackedAbove.contains(s)) {
          numPendingDecrement();
          continue;
        }
        if (s <= restoredSseq && config.maxDeliver > 0 && deliveriesBeforeRestart(s) >= config.maxDeliver) {
          // Owed from before the restart but out of deliveries: never sent again, as below.
          numPendingDecrement();
          restoredCounts.remove(s);
          ackedAbove.add(s);
          updateFloor();
          continue;
        }
        StoredMessage m = stream.store.load(s);
        if (m != null) {
          numPendingDecrement();
          lastNewFromInitial = true;
          return m;
        }
        continue;
      }
      if (initial.length > 0) {
        setInitial(NONE); // the phase is delivered: its array can go
      }
      lastNewFromInitial = false;
      if (prefetch.isEmpty()) {
        long limit = stream.durableSeq;
        if (nextSeq > limit) {
          return null;
        }
        fillPrefetch(limit);
        if (prefetch.isEmpty()) {
          return null;
        }
      }
      StoredMessage m = prefetch.pollFirst();
      if (m.seq() < nextSeq) {
        continue;
      }
      nextSeq = m.seq() + 1;
      if (m.seq() <= ackFloorS || ackedAbove.contains(m.seq())) {
        numPendingDecrement();
        continue;
      }
      if (m.seq() <= restoredSseq && config.maxDeliver > 0 && deliveriesBeforeRestart(m.seq()) >= config.maxDeliver) {
        // It ran out of deliveries before the restart: never sent again, as in onAckTimer.
        numPendingDecrement();
        restoredCounts.remove(m.seq());
        ackedAbove.add(m.seq());
        updateFloor();
        continue;
      }
      numPendingDecrement();
      return m;
    }
  }

  private void numPendingDecrement() {
    if (numPending > 0) {
      numPending--;
    }
  }

  private void fillPrefetch(long limit) throws StoreException {
    List<String> filters = config.filters();
    List<StoredMessage> batch;
    if (filters.size() <= 1 || stream.coversAll(filters)) {
      String f = filters.isEmpty() || stream.coversAll(filters) ? null : filters.get(0);
      batch = stream.store.loadBatch(f, nextSeq, PREFETCH, 0);
    } else {
      TreeMap<Long, StoredMessage> merged = new TreeMap<>();
      for (String f : filters) {
        for (StoredMessage m : stream.store.loadBatch(f, nextSeq, PREFETCH, 0)) {
          merged.put(m.seq(), m);
        }
      }
      batch = new ArrayList<>(merged.values());
      if (batch.size() > PREFETCH) {
        batch = batch.subList(0, PREFETCH);
      }
    }
    for (StoredMessage m : batch) {
      if (m.seq() > limit) {
        break;
      }
      prefetch.addLast(m);
    }
  }

  private long deliverySize(StoredMessage m) {
    return config.headersOnly ? (m.headers() == null ? 0 : m.headers().length) + 32 : m.size();
  }

  /** Delivers to an in-process puller: the same bookkeeping as {@link #deliver}, no subjects. */
  private void deliverDirect(StoredMessage m, DirectPull to, boolean redelivery) {
    int deliveries = record(m, System.nanoTime());
    if (directTouched != to) {
      DirectPull before = directTouched;
      directTouched = to;
      if (before != null) {
        before.onBatchEnd(); // a request completed in this pass: hand its messages on first
      }
    }
    to.onMessage(m, deliveries);
  }

  private void deliver(StoredMessage m, String target, boolean redelivery) {
    long now = System.nanoTime();
    int deliveries = record(m, now);
    long remaining = numPending();
    String reply = "$JS.ACK." + stream.name() + "." + name + "." + deliveries + "." + m.seq() + "." + dseq + "."
        + m.timestampNanos() + "." + remaining;
    byte[] hdr = m.headers();
    byte[] data = m.data();
    if (config.headersOnly) {
      hdr = Headers.append(hdr, "Nats-Msg-Size", Integer.toString(data.length));
      data = new byte[0];
    }
    stream.engine.deliver(target, m.subject(), reply, hdr, data);
    if (flow != null && flow.onDelivered(target.length() + reply.length() + (hdr == null ? 0 : hdr.length)
        + data.length)) {
      stream.engine.deliverStatus(target, flow.request(), FlowControl.REQUEST);
    }
  }

  /** Counts a delivery of {@code m}: sequences, the pending entry and its ack deadline. Returns its delivery count. */
  private int record(StoredMessage m, long now) {
    long wall = stream.engine.wallNanos();
    int deliveries = 1;
    Pending p = pending.get(m.seq());
    if (p != null) {
      deliveries = p.deliveries + 1;
      numRedelivered += p.deliveries == 1 ? 1 : 0;
    } else if (m.seq() <= restoredSseq) {
      // Delivered before the restart and not acknowledged: this is a redelivery.
      deliveries = deliveriesBeforeRestart(m.seq()) + 1;
      restoredCounts.remove(m.seq());
      numRedelivered++;
    }
    dseq++;
    if (m.seq() > deliveredSseq) {
      deliveredSseq = m.seq();
    }
    lastDeliveredWall = wall;
    lastActivityNanos = now;
    lastPushDeliveryNanos = now;
    if (config.ackPolicy == ConsumerConfig.AckPolicy.NONE) {
      ackFloorD = dseq;
      ackFloorS = deliveredSseq;
      checkInitialEnd();
    } else {
      long deadline = now + ackWaitFor(deliveries);
      if (deliveries > 1) {
        redeliveredSeqs.add(m.seq());
      }
      if (p == null) {
        pending.put(m.seq(), new Pending(dseq, deliveries, deadline, wall));
        pendingDseqs.add(dseq);
      } else {
        pendingDseqs.remove(p.dseq);
        pendingDseqs.add(dseq);
        p.dseq = dseq;
        p.deliveries = deliveries;
        p.deadline = deadline;
        p.deliveredWall = wall;
      }
      armAckTimer(deadline);
    }
    stateDirty = true;
    return deliveries;
  }

  /** A message on {@code $JS.FC.<stream>.<consumer>.*}: the client's answer to a flow control request. */
  void onFlowControlAnswer(String subject) {
    lastActivityNanos = System.nanoTime();
    if (flow != null && flow.onAnswer(subject)) {
      kick();
    }
  }

  private long ackWaitFor(int deliveries) {
    if (!config.backoff.isEmpty()) {
      int i = Math.min(deliveries - 1, config.backoff.size() - 1);
      return config.backoff.get(Math.max(i, 0));
    }
    return config.ackWait > 0 ? config.ackWait : ConsumerConfig.DEFAULT_ACK_WAIT;
  }

  private void armAckTimer(long deadline) {
    if (ackTimer != null && !ackTimer.cancelled && ackTimerDeadline <= deadline) {
      return;
    }
    if (ackTimer != null) {
      ackTimer.cancel();
    }
    ackTimerDeadline = deadline;
    ackTimer = stream.engine.loop().schedule(deadline - System.nanoTime(), this::onAckTimer);
  }

  private void onAckTimer() {
    ackTimer = null;
    if (deleted) {
      return;
    }
    long now = System.nanoTime();
    long next = Long.MAX_VALUE;
    List<Long> exhausted = new ArrayList<>();
    for (Map.Entry<Long, Pending> e : pending.entrySet()) {
      Pending p = e.getValue();
      if (redeliver.contains(e.getKey())) {
        continue;
      }
      if (p.deadline - now <= 0) {
        if (config.maxDeliver > 0 && p.deliveries >= config.maxDeliver) {
          exhausted.add(e.getKey());
        } else {
          redeliver.add(e.getKey());
        }
      } else {
        next = Math.min(next, p.deadline);
      }
    }
    for (long s : exhausted) {
      // Out of deliveries: it stays unacknowledged but is never sent again; the floor may pass it.
      unpend(s);
      ackedAbove.add(s);
      updateFloor();
    }
    if (next != Long.MAX_VALUE) {
      armAckTimer(next);
    }
    if (!redeliver.isEmpty()) {
      kick();
    }
  }

  private void dropPending(long seq) {
    unpend(seq);
    redeliver.remove(seq);
    updateFloor();
  }

  // ---------------------------------------------------------------------------------------------
  // Acks

  /** A plain {@code +ACK} of stream sequence {@code sseq} from an in-process puller. */
  void ackDirect(long sseq) {
    lastActivityNanos = System.nanoTime();
    Pending p = pending.get(sseq);
    ack(sseq, p != null ? p.dseq : 0);
    kick();
  }

  /** Handles a message published to this consumer's ack subject. */
  void onAck(long sseq, long ackDseq, byte[] body, String reply) {
    lastActivityNanos = System.nanoTime();
    String b = body == null ? "" : new String(body, StandardCharsets.ISO_8859_1).trim();
    boolean ackSyncReply = reply != null;
    if (b.isEmpty() || b.startsWith("+ACK") || b.equals("+OK")) {
      ack(sseq, ackDseq);
    } else if (b.startsWith("-NAK")) {
      nak(sseq, parseDelay(b.substring(4).trim()));
    } else if (b.startsWith("+WPI")) {
      Pending p = pending.get(sseq);
      if (p != null && !redeliver.contains(sseq)) {
        p.deadline = System.nanoTime() + ackWaitFor(p.deliveries);
        armAckTimer(p.deadline);
      }
    } else if (b.startsWith("+TERM")) {
      if (unpend(sseq) != null) {
        redeliver.remove(sseq);
        markAcked(sseq);
        updateFloor();
        stream.onAcked(sseq, null);
      }
    } else if (b.startsWith("+NXT")) {
      ack(sseq, ackDseq);
      if (reply != null && config.isPull()) {
        byte[] rest = b.length() > 4 ? b.substring(4).trim().getBytes(StandardCharsets.ISO_8859_1) : new byte[0];
        pullRequest(reply, rest);
      }
      ackSyncReply = false;
    } else {
      ack(sseq, ackDseq);
    }
    if (ackSyncReply) {
      stream.engine.afterDurable(new JetStreamEngine.Reply(reply, new byte[0]));
    }
    kick();
  }

  private static long parseDelay(String arg) {
    if (arg.isEmpty()) {
      return 0;
    }
    try {
      if (arg.startsWith("{")) {
        Map<String, Object> m = Json.object(arg.getBytes(StandardCharsets.UTF_8));
        return Math.max(0, Json.longOf(m, "delay", 0));
      }
      return io.leafgate.leaf.config.Units.parseDuration(arg).toNanos();
    } catch (Exception e) {
      return 0;
    }
  }

  private void ack(long sseq, long ackDseq) {
    switch (config.ackPolicy) {
      case NONE -> {
        return;
      }
      case ALL -> {
        List<Long> done = new ArrayList<>();
        for (Map.Entry<Long, Pending> e : pending.entrySet()) {
          if (e.getValue().dseq <= ackDseq) {
            done.add(e.getKey());
          }
        }
        for (long s : done) {
          unpend(s);
          redeliver.remove(s);
          stream.onAcked(s, null);
        }
        if (ackDseq > ackFloorD) {
          ackFloorD = Math.min(ackDseq, dseq);
          ackFloorS = Math.max(ackFloorS, Math.min(sseq, deliveredSseq));
        }
        updateFloor();
      }
      default -> {
        if (unpend(sseq) == null) {
          return;
        }
        redeliver.remove(sseq);
        markAcked(sseq);
        updateFloor();
        stream.onAcked(sseq, null);
      }
    }
    lastAckWall = stream.engine.wallNanos();
    stateDirty = true;
  }

  private void markAcked(long sseq) {
    if (sseq > ackFloorS) {
      ackedAbove.add(sseq);
    }
  }

  private void nak(long sseq, long delayNanos) {
    Pending p = pending.get(sseq);
    if (p == null) {
      return;
    }
    if (delayNanos <= 0) {
      redeliver.add(sseq);
    } else {
      p.deadline = System.nanoTime() + delayNanos;
      redeliver.remove(sseq);
      armAckTimer(p.deadline);
    }
  }

  /** Forgets a pending delivery; returns it, or null if there was none. */
  private Pending unpend(long sseq) {
    Pending p = pending.remove(sseq);
    if (p != null) {
      pendingDseqs.remove(p.dseq);
      if (p.deliveries > 1) {
        redeliveredSeqs.remove(sseq);
      }
    }
    return p;
  }

  /** Moves the ack floor up to just below the oldest unacknowledged delivery. */
  private void updateFloor() {
    while (initialAt < initial.length && initial[initialAt] <= ackFloorS) {
      initialAt++; // acknowledged with ack policy all before it was sent again
      numPending = -1;
    }
    if (pending.isEmpty()) {
      ackFloorD = dseq;
      // After a restart, not past what is still to be delivered again (from the first phase's
      // sequences, then from nextSeq).
      long cap = Math.min(deliveredSseq, nextSeq - 1);
      if (initialAt < initial.length) {
        cap = Math.min(cap, initial[initialAt] - 1);
      }
      ackFloorS = Math.max(ackFloorS, cap);
    } else {
      Map.Entry<Long, Pending> first = pending.firstEntry();
      long s = first.getKey() - 1;
      if (s > ackFloorS) {
        ackFloorS = s;
        ackFloorD = Math.max(ackFloorD, pendingDseqs.first() - 1);
      }
    }
    ackedAbove.headSet(ackFloorS, true).clear();
    restoredCounts.headMap(ackFloorS, true).clear();
    checkInitialEnd();
    stateDirty = true;
  }

  // ---------------------------------------------------------------------------------------------
  // Pull requests

  /** A pull request of an in-process puller (see {@link DirectPull}); refused as a client's would be. */
  void pullDirect(DirectPull p, long batch, long expiresNanos) {
    lastActivityNanos = System.nanoTime();
    if (!config.isPull()) {
      p.onEnd("409 Consumer is push based", batch);
      return;
    }
    if (waiting.size() >= config.maxWaiting) {
      p.onEnd("409 Exceeded MaxWaiting", batch);
      return;
    }
    if (config.maxBatch > 0 && batch > config.maxBatch) {
      batch = config.maxBatch;
    }
    enqueue(PullRequest.direct(p, batch, expiresNanos));
  }

  /** Handles {@code CONSUMER.MSG.NEXT}: queues the request or answers with a status. */
  void pullRequest(String reply, byte[] body) {
    lastActivityNanos = System.nanoTime();
    JetStreamEngine e = stream.engine;
    if (!config.isPull()) {
      PullRequest.status(e, reply, "409 Consumer is push based", 0, 0, false);
      return;
    }
    PullRequest r;
    try {
      r = PullRequest.parse(reply, body);
    } catch (ApiError err) {
      PullRequest.status(e, reply, "400 Bad Request", 0, 0, false);
      return;
    }
    if (r.heartbeatNanos > 0 && r.expiresNanos > 0 && r.heartbeatNanos > r.expiresNanos / 2) {
      PullRequest.status(e, reply, "400 Bad Request - heartbeat value too large", 0, 0, false);
      return;
    }
    if (config.maxBatch > 0 && r.batch > config.maxBatch) {
      PullRequest.status(e, reply, "409 Exceeded MaxRequestBatch of " + config.maxBatch, 0, 0, false);
      return;
    }
    if (config.maxExpires > 0 && r.expiresNanos > config.maxExpires) {
      PullRequest.status(e, reply, "409 Exceeded MaxRequestExpires of "
          + io.leafgate.leaf.monitor.GoFormat.duration(config.maxExpires), 0, 0, false);
      return;
    }
    if (config.maxBytes > 0 && r.maxBytes > config.maxBytes) {
      PullRequest.status(e, reply, "409 Exceeded MaxRequestMaxBytes of " + config.maxBytes, 0, 0, false);
      return;
    }
    if (waiting.size() >= config.maxWaiting) {
      if (r.heartbeatNanos == 0) {
        PullRequest.status(e, reply, "409 Exceeded MaxWaiting", 0, 0, false);
      }
      return;
    }
    if (r.noWait && available() == 0) {
      PullRequest.status(e, reply, "404 No Messages", 0, 0, false);
      return;
    }
    enqueue(r);
  }

  /** Queues an accepted pull request with its timers, and serves what is there. */
  private void enqueue(PullRequest r) {
    waiting.addLast(r);
    EngineLoop loop = stream.engine.loop();
    if (r.expiresNanos > 0) {
      r.expiryTimer = loop.schedule(r.expiresNanos, () -> expire(r));
    }
    if (r.heartbeatNanos > 0) {
      r.heartbeatTimer = loop.schedule(r.heartbeatNanos, () -> pullHeartbeat(r));
    }
    deliverAvailable();
  }

  /** Messages ready for delivery right now (new ones up to the durable watermark, plus redeliveries). */
  private long available() {
    long n = redeliver.size() + initialLeft() + prefetch.size();
    if (n > 0) {
      return n;
    }
    if (nextSeq > stream.durableSeq) {
      return 0;
    }
    return numPending();
  }

  private void expire(PullRequest r) {
    if (waiting.remove(r)) {
      r.cancelTimers();
      r.sendStatus(stream.engine, "408 Request Timeout", true);
    }
  }

  private void pullHeartbeat(PullRequest r) {
    if (!waiting.contains(r)) {
      return;
    }
    if (System.nanoTime() - r.lastDeliveryNanos >= r.heartbeatNanos - 1_000_000) {
      stream.engine.deliverStatus(r.reply, Headers.block("100 Idle Heartbeat",
          "Nats-Last-Consumer", Long.toString(dseq), "Nats-Last-Stream", Long.toString(deliveredSseq)));
    }
    r.heartbeatTimer = stream.engine.loop().schedule(r.heartbeatNanos, () -> pullHeartbeat(r));
  }

  // ---------------------------------------------------------------------------------------------
  // Push heartbeats and inactivity

  /** Starts the timers a consumer needs (push heartbeats, the inactive threshold). */
  void startTimers() {
    if (!config.isPull() && config.idleHeartbeat > 0) {
      heartbeatTimer = stream.engine.loop().schedule(config.idleHeartbeat, this::pushHeartbeat);
    }
    if (config.inactiveThreshold > 0) {
      inactiveTimer = stream.engine.loop().schedule(config.inactiveThreshold, this::checkInactive);
    }
  }

  private void pushHeartbeat() {
    if (deleted) {
      return;
    }
    long now = System.nanoTime();
    if (now - lastPushDeliveryNanos >= config.idleHeartbeat - 1_000_000
        && stream.engine.hasInterest(config.deliverSubject)) {
      String stalledOn = flow == null ? null : flow.pendingReply();
      byte[] hb = stalledOn == null
          ? Headers.block("100 Idle Heartbeat", "Nats-Last-Consumer", Long.toString(dseq),
              "Nats-Last-Stream", Long.toString(deliveredSseq))
          // A client that lost the request (or a new subscriber of a durable) answers this one.
          : Headers.block("100 Idle Heartbeat", "Nats-Last-Consumer", Long.toString(dseq),
              "Nats-Last-Stream", Long.toString(deliveredSseq), "Nats-Consumer-Stalled", stalledOn);
      stream.engine.deliverStatus(config.deliverSubject, hb);
      lastPushDeliveryNanos = now;
    }
    heartbeatTimer = stream.engine.loop().schedule(config.idleHeartbeat, this::pushHeartbeat);
  }

  /**
   * The deliver subject may have lost its last subscriber: the inactive threshold counts from now,
   * as nats-server starts its delete timer when interest goes away (not from the last periodic check).
   */
  void onInterestMaybeLost() {
    if (deleted || config.isPull() || config.inactiveThreshold <= 0
        || stream.engine.hasInterest(config.deliverSubject)) {
      return;
    }
    lastActivityNanos = System.nanoTime();
    if (inactiveTimer != null) {
      inactiveTimer.cancel();
    }
    inactiveTimer = stream.engine.loop().schedule(config.inactiveThreshold, this::checkInactive);
  }

  private void checkInactive() {
    if (deleted) {
      return;
    }
    long now = System.nanoTime();
    boolean active = config.isPull() ? !waiting.isEmpty() : stream.engine.hasInterest(config.deliverSubject);
    if (active) {
      lastActivityNanos = now;
    } else if (now - lastActivityNanos >= config.inactiveThreshold) {
      Logger.debug("Consumer {} > {} was inactive for {} and is deleted", stream.name(), name,
          io.leafgate.leaf.monitor.GoFormat.duration(config.inactiveThreshold));
      stream.engine.deleteConsumer(this);
      return;
    }
    long wait = Math.max(config.inactiveThreshold - (now - lastActivityNanos), 50_000_000L);
    inactiveTimer = stream.engine.loop().schedule(wait, this::checkInactive);
  }

  /** Stops timers and tells waiting pull requests that the consumer is gone. */
  void onDeleted() {
    deleted = true;
    for (EngineLoop.Timer t : new EngineLoop.Timer[] {ackTimer, heartbeatTimer, inactiveTimer}) {
      if (t != null) {
        t.cancel();
      }
    }
    for (PullRequest r : waiting) {
      r.cancelTimers();
      r.sendStatus(stream.engine, "409 Consumer Deleted", false);
    }
    waiting.clear();
  }

  void updateConfig(ConsumerConfig c) {
    this.config = c;
    stateDirty = true;
    kick();
  }

  boolean isDeleted() {
    return deleted;
  }

  public String name() {
    return name;
  }

  public ConsumerConfig config() {
    return config;
  }

  // ---------------------------------------------------------------------------------------------
  // Info

  /** ConsumerInfo as nats-server words it. */
  Map<String, Object> info() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("stream_name", stream.name());
    m.put("name", name);
    m.put("created", Json.time(createdNanos));
    m.put("config", config.toMap());
    Map<String, Object> delivered = new LinkedHashMap<>();
    delivered.put("consumer_seq", dseq);
    delivered.put("stream_seq", deliveredSseq);
    if (lastDeliveredWall > 0) {
      delivered.put("last_active", Json.time(lastDeliveredWall));
    }
    m.put("delivered", delivered);
    Map<String, Object> floor = new LinkedHashMap<>();
    boolean durable = config.isDurable() && !stream.config.memory && !config.memStorage;
    long floorD = durable ? Math.min(committedFloorD, ackFloorD) : ackFloorD;
    long floorS = durable ? Math.min(committedFloorS, ackFloorS) : ackFloorS;
    // Until something is acknowledged nats-server reports a zero floor (its stored state starts
    // empty), even when the consumer starts past the first message.
    floor.put("consumer_seq", floorD);
    floor.put("stream_seq", floorD == 0 ? 0 : floorS);
    if (lastAckWall > 0) {
      floor.put("last_active", Json.time(lastAckWall));
    }
    m.put("ack_floor", floor);
    m.put("num_ack_pending", (long) pending.size());
    m.put("num_redelivered", numRedelivered);
    m.put("num_waiting", (long) waiting.size());
    m.put("num_pending", numPending());
    if (!config.isPull()) {
      m.put("push_bound", stream.engine.hasInterest(config.deliverSubject));
    }
    m.put("ts", Json.time(stream.engine.wallNanos()));
    return m;
  }

  int waitingCount() {
    return waiting.size();
  }

  int ackPendingCount() {
    return pending.size();
  }
}
