package io.leafgate.mqtt.store;

import com.fasterxml.jackson.jr.ob.JSON;
import io.leafgate.leaf.route.Router;
import io.leafgate.leaf.spi.InternalClient;
import io.leafgate.mqtt.Defaults;
import io.leafgate.mqtt.message.AppMessage;
import io.leafgate.mqtt.message.Delivery;
import io.leafgate.mqtt.message.Envelope;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.tinylog.Logger;

/**
 * MQTT state in the local JetStream, in five ordinary streams (nats-server keeps its MQTT state the
 * same way, in {@code $MQTT_sess}, {@code $MQTT_msgs}, {@code $MQTT_rmsgs}, {@code $MQTT_qos2in}
 * and {@code $MQTT_out}):
 *
 * <ul>
 *   <li>{@code $MQTT_sess}, subject {@code $MQTT.sess.<key>}: one JSON record per persistent
 *       session (max 1 message per subject).
 *   <li>{@code $MQTT_msgs}, subject {@code $MQTT.msgs.<key>}: each persistent session's queue of
 *       QoS 1/2 deliveries; a message is deleted when the client acknowledges it. Bounded per
 *       session ({@link Defaults#MAX_QUEUED_PER_SESSION}) and in total
 *       ({@link Defaults#MAX_QUEUED_BYTES}); a full queue refuses new messages (discard new).
 *   <li>{@code $MQTT_rmsgs}, subject {@code $MQTT.rmsgs.<hash of the subject>}: one retained
 *       message per subject. The subject itself is in the {@code Mqtt-Subject} header; the key is
 *       hashed because a subject may hold literal {@code *} or {@code >} tokens, which would act as
 *       wildcards in a purge filter.
 *   <li>{@code $MQTT_qos2in}, subject {@code $MQTT.qos2in.<key>.<packet id>}: inbound QoS 2
 *       messages between PUBREC and PUBREL.
 *   <li>{@code $MQTT_out}, subject {@code $MQTT.out.<key>.<packet id>}: outbound QoS 2 packet ids
 *       (the queue id of a PUBLISH sent, or 0 once PUBREL is sent).
 * </ul>
 *
 * Every message is in the {@link Envelope} form. Keys come from {@link SessionKeys}.
 */
public final class JetStreamMqttStore implements MqttStore {
  static final String SESS = "$MQTT_sess";
  static final String MSGS = "$MQTT_msgs";
  static final String RMSGS = "$MQTT_rmsgs";
  static final String QOS2IN = "$MQTT_qos2in";
  static final String OUT = "$MQTT_out";

  private final InternalClient client;
  private final JsClient js;

  /** Connects to the local JetStream through {@code router}; call {@link #open} next. */
  public JetStreamMqttStore(Router router) {
    this.client = new InternalClient(router, "mqtt-store");
    this.js = new JsClient(client, Defaults.STORE_TIMEOUT_MILLIS);
  }

  /** Creates (or updates) the five streams; blocks. */
  public void open() throws Exception {
    js.ensureStream(stream(SESS, "$MQTT.sess.>", 1, -1, false));
    js.ensureStream(stream(MSGS, "$MQTT.msgs.>", Defaults.MAX_QUEUED_PER_SESSION, Defaults.MAX_QUEUED_BYTES, true));
    js.ensureStream(stream(RMSGS, "$MQTT.rmsgs.>", 1, -1, false));
    js.ensureStream(stream(QOS2IN, "$MQTT.qos2in.>", 1, -1, false));
    js.ensureStream(stream(OUT, "$MQTT.out.>", 1, -1, false));
  }

  private static Map<String, Object> stream(String name, String subject, long perSubject, long maxBytes,
      boolean discardNew) {
    Map<String, Object> c = new LinkedHashMap<>();
    c.put("name", name);
    c.put("subjects", List.of(subject));
    c.put("retention", "limits");
    c.put("max_msgs_per_subject", perSubject);
    c.put("max_bytes", maxBytes);
    c.put("storage", "file");
    c.put("discard", discardNew ? "new" : "old");
    if (discardNew) {
      c.put("discard_new_per_subject", true);
    }
    return c;
  }

  @Override
  public String kind() {
    return "jetstream";
  }

  // ---------------------------------------------------------------------------------------------
  // Sessions

  @Override
  public CompletableFuture<Void> saveSession(SessionRecord r) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("id", r.clientId());
    m.put("v", r.protocolVersion());
    m.put("exp", r.expirySeconds());
    m.put("dis", r.disconnectedAtMillis());
    List<Map<String, Object>> subs = new ArrayList<>();
    for (SessionRecord.Sub s : r.subscriptions()) {
      Map<String, Object> sm = new LinkedHashMap<>();
      sm.put("f", s.filter());
      sm.put("q", s.qos());
      sm.put("nl", s.noLocal());
      sm.put("rap", s.retainAsPublished());
      sm.put("rh", s.retainHandling());
      sm.put("sid", s.subscriptionId());
      subs.add(sm);
    }
    m.put("subs", subs);
    byte[] body;
    try {
      body = JSON.std.asBytes(m);
    } catch (IOException e) {
      return CompletableFuture.failedFuture(e);
    }
    return js.publish("$MQTT.sess." + SessionKeys.of(r.clientId()), null, body).thenApply(seq -> null);
  }

  @Override
  public CompletableFuture<Void> deleteSession(String key) {
    return CompletableFuture.allOf(
        js.purge(SESS, "$MQTT.sess." + key),
        js.purge(MSGS, "$MQTT.msgs." + key),
        js.purge(QOS2IN, "$MQTT.qos2in." + key + ".*"),
        js.purge(OUT, "$MQTT.out." + key + ".*"));
  }

  @Override
  public List<SessionRecord> loadSessions() throws Exception {
    List<SessionRecord> out = new ArrayList<>();
    for (JsClient.RawMsg m : readAll(SESS, "$MQTT.sess.>")) {
      try {
        out.add(parseSession(m.data()));
      } catch (IOException | RuntimeException e) {
        Logger.warn("MQTT session record {} is unreadable and is skipped: {}", m.subject(), e.getMessage());
      }
    }
    return out;
  }

  private static SessionRecord parseSession(byte[] data) throws IOException {
    Map<String, Object> m = JSON.std.mapFrom(new String(data, StandardCharsets.UTF_8));
    List<SessionRecord.Sub> subs = new ArrayList<>();
    if (m.get("subs") instanceof List<?> l) {
      for (Object o : l) {
        @SuppressWarnings("unchecked")
        Map<String, Object> s = (Map<String, Object>) o;
        subs.add(new SessionRecord.Sub((String) s.get("f"), num(s.get("q")), Boolean.TRUE.equals(s.get("nl")),
            Boolean.TRUE.equals(s.get("rap")), num(s.get("rh")), num(s.get("sid"))));
      }
    }
    return new SessionRecord((String) m.get("id"), num(m.get("v")), ((Number) m.get("exp")).longValue(),
        ((Number) m.get("dis")).longValue(), List.copyOf(subs));
  }

  private static int num(Object o) {
    return o instanceof Number n ? n.intValue() : 0;
  }

  /** Every message of {@code filter}, oldest first; blocks (start-up only). */
  private List<JsClient.RawMsg> readAll(String stream, String filter) throws Exception {
    List<JsClient.RawMsg> out = new ArrayList<>();
    long seq = 1;
    while (true) {
      JsClient.RawMsg m = js.getNext(stream, filter, seq).get(Defaults.STORE_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
      if (m == null) {
        return out;
      }
      out.add(m);
      seq = m.seq() + 1;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Queues

  @Override
  public CompletableFuture<Long> enqueue(String key, Delivery d, String msgId) {
    return js.publish("$MQTT.msgs." + key, Envelope.headers(d, msgId), d.msg().payload());
  }

  @Override
  public CompletableFuture<List<Queued>> loadQueue(String key, long afterId, int max) {
    List<Queued> out = new ArrayList<>();
    return loadFrom(key, afterId + 1, max, out);
  }

  private CompletableFuture<List<Queued>> loadFrom(String key, long seq, int max, List<Queued> out) {
    if (out.size() >= max) {
      return CompletableFuture.completedFuture(out);
    }
    return js.getNext(MSGS, "$MQTT.msgs." + key, seq).thenCompose(m -> {
      if (m == null) {
        return CompletableFuture.completedFuture(out);
      }
      try {
        out.add(new Queued(m.seq(), Envelope.read(m.headers(), m.data(), m.seq())));
      } catch (Envelope.BadEnvelope e) {
        Logger.warn("Queued MQTT message {} of {} is unreadable and is dropped: {}", m.seq(), key, e.getMessage());
        dequeue(key, m.seq());
      }
      return loadFrom(key, m.seq() + 1, max, out);
    });
  }

  @Override
  public void dequeue(String key, long id) {
    js.deleteMsg(MSGS, id).exceptionally(e -> {
      Logger.debug("Could not delete queued MQTT message {} of {}: {}", id, key, e.getMessage());
      return null;
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Inbound QoS 2

  @Override
  public CompletableFuture<Long> holdQos2(String key, int packetId, AppMessage m) {
    Delivery d = new Delivery(m, m.qos(), m.retain(), 0, 0);
    return js.publish("$MQTT.qos2in." + key + "." + packetId, Envelope.headers(d, null), m.payload());
  }

  @Override
  public CompletableFuture<Void> releaseQos2(String key, int packetId) {
    return js.purge(QOS2IN, "$MQTT.qos2in." + key + "." + packetId);
  }

  @Override
  public CompletableFuture<Map<Integer, Held>> loadQos2(String key) {
    return collect(QOS2IN, "$MQTT.qos2in." + key + ".*", 1, new LinkedHashMap<>(), (out, m) -> {
      try {
        Delivery d = Envelope.read(m.headers(), m.data(), 0);
        out.put(lastTokenAsInt(m.subject()), new Held(d.msg(), m.seq()));
      } catch (Envelope.BadEnvelope | NumberFormatException e) {
        Logger.warn("Held QoS 2 message {} is unreadable and is dropped: {}", m.subject(), e.getMessage());
      }
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Outbound QoS 2

  @Override
  public CompletableFuture<Void> saveOutbound(String key, int packetId, long queueId) {
    byte[] body = ("{\"q\":" + queueId + "}").getBytes(StandardCharsets.UTF_8);
    return js.publish("$MQTT.out." + key + "." + packetId, null, body).thenApply(s -> null);
  }

  @Override
  public CompletableFuture<Void> clearOutbound(String key, int packetId) {
    return js.purge(OUT, "$MQTT.out." + key + "." + packetId);
  }

  @Override
  public CompletableFuture<Map<Integer, Long>> loadOutbound(String key) {
    return collect(OUT, "$MQTT.out." + key + ".*", 1, new LinkedHashMap<>(), (out, m) -> {
      try {
        Map<String, Object> r = JSON.std.mapFrom(new String(m.data(), StandardCharsets.UTF_8));
        out.put(lastTokenAsInt(m.subject()), ((Number) r.get("q")).longValue());
      } catch (IOException | RuntimeException e) {
        Logger.warn("Outbound QoS 2 record {} is unreadable and is dropped: {}", m.subject(), e.getMessage());
      }
    });
  }

  private static int lastTokenAsInt(String subject) {
    return Integer.parseInt(subject.substring(subject.lastIndexOf('.') + 1));
  }

  private <T> CompletableFuture<T> collect(String stream, String filter, long seq, T acc,
      java.util.function.BiConsumer<T, JsClient.RawMsg> add) {
    return js.getNext(stream, filter, seq).thenCompose(m -> {
      if (m == null) {
        return CompletableFuture.completedFuture(acc);
      }
      add.accept(acc, m);
      return collect(stream, filter, m.seq() + 1, acc, add);
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Retained

  @Override
  public CompletableFuture<Void> putRetained(AppMessage m) {
    Delivery d = new Delivery(m, m.qos(), true, 0, 0);
    return js.publish("$MQTT.rmsgs." + SessionKeys.hash(m.subject()), Envelope.headers(d, null), m.payload())
        .thenApply(s -> null);
  }

  @Override
  public CompletableFuture<Void> deleteRetained(String subject) {
    return js.purge(RMSGS, "$MQTT.rmsgs." + SessionKeys.hash(subject));
  }

  @Override
  public List<AppMessage> loadRetained() throws Exception {
    List<AppMessage> out = new ArrayList<>();
    for (JsClient.RawMsg m : readAll(RMSGS, "$MQTT.rmsgs.>")) {
      try {
        out.add(Envelope.read(m.headers(), m.data(), 0).msg());
      } catch (Envelope.BadEnvelope e) {
        Logger.warn("Retained message {} is unreadable and is skipped: {}", m.subject(), e.getMessage());
      }
    }
    return out;
  }

  @Override
  public void close() {
    client.close();
  }
}
