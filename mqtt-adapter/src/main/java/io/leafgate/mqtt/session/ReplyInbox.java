package io.leafgate.mqtt.session;

import com.fasterxml.jackson.jr.ob.JSON;
import io.leafgate.leaf.route.Subscription;
import io.leafgate.leaf.spi.InternalClient;
import io.leafgate.mqtt.Defaults;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;

/**
 * Reply subjects for MQTT publishes that need an answer from the NATS side.
 *
 * <ul>
 *   <li>A QoS 1/2 publish on a subject a local stream captures gets a reply subject here; the
 *       stream's PubAck ({@code {"stream":..,"seq":..}} or an error) completes {@link Entry#ack},
 *       and only then does the publisher get its PUBACK or PUBREC.
 *   <li>A v5 publish with a Response Topic is seen by NATS subscribers with a reply subject here;
 *       whatever is published to it (a NATS responder's {@code msg.respond()}) is forwarded to the
 *       Response Topic with the request's Correlation Data, until the message's expiry (or
 *       {@link Defaults#RESPONSE_WINDOW_MILLIS}). MQTT subscribers of the request see the original
 *       Response Topic instead.
 * </ul>
 *
 * Bounded: past {@link Defaults#MAX_PENDING_RESPONSES} entries the oldest is forgotten.
 * Thread-safe; messages arrive on the responder's thread.
 */
final class ReplyInbox {
  /** One reply subject and what it is waiting for. */
  static final class Entry {
    final String token;
    final String subject;
    /** Where responses go (a subject), or null for an acknowledgement only. */
    final String responseSubject;
    final byte[] correlationData;
    final long deadlineMillis;
    /** Completes with a PUBACK reason code once the capturing stream answers; null when not waited for. */
    final CompletableFuture<Integer> ack;

    Entry(String token, String subject, String responseSubject, byte[] correlationData, long deadlineMillis,
        CompletableFuture<Integer> ack) {
      this.token = token;
      this.subject = subject;
      this.responseSubject = responseSubject;
      this.correlationData = correlationData;
      this.deadlineMillis = deadlineMillis;
      this.ack = ack;
    }
  }

  /** Receives responses to forward. */
  interface Forwarder {
    void forward(Entry e, InternalClient.Message m);
  }

  private final InternalClient client;
  private final Forwarder forwarder;
  private final String prefix;
  private final LinkedHashMap<String, Entry> entries = new LinkedHashMap<>();
  private long nextId;
  private Subscription sub;

  ReplyInbox(InternalClient client, Forwarder forwarder) {
    this.client = client;
    this.forwarder = forwarder;
    this.prefix = client.inboxPrefix();
  }

  void start() {
    sub = client.subscribe(prefix + ">", null, this::onMessage);
  }

  void close() {
    if (sub != null) {
      client.unsubscribe(sub);
    }
    List<Entry> all;
    synchronized (this) {
      all = new ArrayList<>(entries.values());
      entries.clear();
    }
    for (Entry e : all) {
      if (e.ack != null) {
        e.ack.completeExceptionally(new IllegalStateException("shutting down"));
      }
    }
  }

  /** Registers a reply subject; {@code responseSubject} null means acknowledgement only. */
  Entry register(String responseSubject, byte[] correlationData, long deadlineMillis, boolean wantAck) {
    Entry evicted = null;
    Entry e;
    synchronized (this) {
      String token = Long.toString(++nextId, 36);
      e = new Entry(token, prefix + token, responseSubject, correlationData, deadlineMillis,
          wantAck ? new CompletableFuture<>() : null);
      entries.put(token, e);
      if (entries.size() > Defaults.MAX_PENDING_RESPONSES) {
        Iterator<Entry> it = entries.values().iterator();
        evicted = it.next();
        it.remove();
      }
    }
    if (evicted != null && evicted.ack != null) {
      evicted.ack.completeExceptionally(new TimeoutException("too many pending acknowledgements"));
    }
    return e;
  }

  void cancel(Entry e) {
    synchronized (this) {
      entries.remove(e.token);
    }
  }

  private void onMessage(InternalClient.Message m) {
    String token = m.subject().substring(prefix.length());
    Entry e;
    synchronized (this) {
      e = entries.get(token);
    }
    if (e == null) {
      return;
    }
    if (e.ack != null && !e.ack.isDone()) {
      Integer rc = pubAckReason(m.data());
      if (rc != null) {
        e.ack.complete(rc);
        if (e.responseSubject == null) {
          cancel(e);
        }
        return;
      }
    }
    if (e.responseSubject != null) {
      forwarder.forward(e, m);
    }
  }

  /**
   * The PUBACK reason code for a JetStream PubAck: 0 for success, 0x97 (quota exceeded) when the
   * stream is full, 0x80 for other errors; null when the message is not a PubAck.
   */
  static Integer pubAckReason(byte[] data) {
    if (data.length < 2 || data[0] != '{') {
      return null;
    }
    Map<String, Object> r;
    try {
      r = JSON.std.mapFrom(new String(data, StandardCharsets.UTF_8));
    } catch (IOException e) {
      return null;
    }
    if (r.get("error") instanceof Map<?, ?> err) {
      int code = err.get("err_code") instanceof Number n ? n.intValue() : 0;
      return code == 10047 || code == 10077 || code == 10023 || code == 10028 ? 0x97 : 0x80;
    }
    return r.containsKey("stream") && r.containsKey("seq") ? 0 : null;
  }

  /** Forgets entries past their deadline; waiting acknowledgements fail. */
  void sweep(long nowMillis) {
    List<Entry> gone = new ArrayList<>();
    synchronized (this) {
      for (Iterator<Entry> it = entries.values().iterator(); it.hasNext(); ) {
        Entry e = it.next();
        if (e.deadlineMillis <= nowMillis) {
          gone.add(e);
          it.remove();
        }
      }
    }
    for (Entry e : gone) {
      if (e.ack != null) {
        e.ack.completeExceptionally(new TimeoutException("no acknowledgement from the stream"));
      }
    }
  }

  synchronized int size() {
    return entries.size();
  }
}
