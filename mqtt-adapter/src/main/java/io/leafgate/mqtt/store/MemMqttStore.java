package io.leafgate.mqtt.store;

import io.leafgate.mqtt.Defaults;
import io.leafgate.mqtt.message.AppMessage;
import io.leafgate.mqtt.message.Delivery;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;

/**
 * MQTT state in memory, for a gateway whose JetStream is disabled: sessions survive disconnects but
 * not a restart. Same limits as the JetStream store. Every method holds the store's monitor;
 * futures are already complete when returned.
 */
public final class MemMqttStore implements MqttStore {
  private final Map<String, SessionRecord> sessions = new LinkedHashMap<>();
  private final Map<String, TreeMap<Long, Delivery>> queues = new HashMap<>();
  private final Map<String, Long> seenMsgIds = new LinkedHashMap<>(16, 0.75f, false) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Long> e) {
      return size() > 100_000;
    }
  };
  private final Map<String, Map<Integer, Held>> qos2 = new HashMap<>();
  private final Map<String, Map<Integer, Long>> outbound = new HashMap<>();
  private final Map<String, AppMessage> retained = new LinkedHashMap<>();
  private long nextId;
  private long queuedBytes;

  @Override
  public String kind() {
    return "memory";
  }

  @Override
  public synchronized CompletableFuture<Void> saveSession(SessionRecord r) {
    sessions.put(SessionKeys.of(r.clientId()), r);
    return CompletableFuture.completedFuture(null);
  }

  @Override
  public synchronized CompletableFuture<Void> deleteSession(String key) {
    sessions.remove(key);
    TreeMap<Long, Delivery> q = queues.remove(key);
    if (q != null) {
      for (Delivery d : q.values()) {
        queuedBytes -= d.msg().weight();
      }
    }
    qos2.remove(key);
    outbound.remove(key);
    return CompletableFuture.completedFuture(null);
  }

  @Override
  public synchronized List<SessionRecord> loadSessions() {
    return new ArrayList<>(sessions.values());
  }

  @Override
  public synchronized CompletableFuture<Long> enqueue(String key, Delivery d, String msgId) {
    if (msgId != null) {
      Long seen = seenMsgIds.get(msgId);
      if (seen != null) {
        return CompletableFuture.completedFuture(seen);
      }
    }
    TreeMap<Long, Delivery> q = queues.computeIfAbsent(key, k -> new TreeMap<>());
    if (q.size() >= Defaults.MAX_QUEUED_PER_SESSION || queuedBytes + d.msg().weight() > Defaults.MAX_QUEUED_BYTES) {
      return CompletableFuture.failedFuture(new IllegalStateException("maximum messages per subject exceeded"));
    }
    long id = ++nextId;
    q.put(id, d.withStoreId(id));
    queuedBytes += d.msg().weight();
    if (msgId != null) {
      seenMsgIds.put(msgId, id);
    }
    return CompletableFuture.completedFuture(id);
  }

  @Override
  public synchronized CompletableFuture<List<Queued>> loadQueue(String key, long afterId, int max) {
    List<Queued> out = new ArrayList<>();
    TreeMap<Long, Delivery> q = queues.get(key);
    if (q != null) {
      for (Map.Entry<Long, Delivery> e : q.tailMap(afterId, false).entrySet()) {
        if (out.size() >= max) {
          break;
        }
        out.add(new Queued(e.getKey(), e.getValue()));
      }
    }
    return CompletableFuture.completedFuture(out);
  }

  @Override
  public synchronized void dequeue(String key, long id) {
    TreeMap<Long, Delivery> q = queues.get(key);
    if (q != null) {
      Delivery d = q.remove(id);
      if (d != null) {
        queuedBytes -= d.msg().weight();
      }
    }
  }

  @Override
  public synchronized CompletableFuture<Long> holdQos2(String key, int packetId, AppMessage m) {
    long id = ++nextId;
    qos2.computeIfAbsent(key, k -> new HashMap<>()).put(packetId, new Held(m, id));
    return CompletableFuture.completedFuture(id);
  }

  @Override
  public synchronized CompletableFuture<Void> releaseQos2(String key, int packetId) {
    Map<Integer, Held> m = qos2.get(key);
    if (m != null) {
      m.remove(packetId);
    }
    return CompletableFuture.completedFuture(null);
  }

  @Override
  public synchronized CompletableFuture<Map<Integer, Held>> loadQos2(String key) {
    return CompletableFuture.completedFuture(new HashMap<>(qos2.getOrDefault(key, Map.of())));
  }

  @Override
  public synchronized CompletableFuture<Void> saveOutbound(String key, int packetId, long queueId) {
    outbound.computeIfAbsent(key, k -> new HashMap<>()).put(packetId, queueId);
    return CompletableFuture.completedFuture(null);
  }

  @Override
  public synchronized CompletableFuture<Void> clearOutbound(String key, int packetId) {
    Map<Integer, Long> m = outbound.get(key);
    if (m != null) {
      m.remove(packetId);
    }
    return CompletableFuture.completedFuture(null);
  }

  @Override
  public synchronized CompletableFuture<Map<Integer, Long>> loadOutbound(String key) {
    return CompletableFuture.completedFuture(new HashMap<>(outbound.getOrDefault(key, Map.of())));
  }

  @Override
  public synchronized CompletableFuture<Void> putRetained(AppMessage m) {
    retained.put(m.subject(), m.retain() ? m
        : new AppMessage(m.subject(), m.payload(), m.qos(), true, m.props(), m.expiresAtMillis()));
    return CompletableFuture.completedFuture(null);
  }

  @Override
  public synchronized CompletableFuture<Void> deleteRetained(String subject) {
    retained.remove(subject);
    return CompletableFuture.completedFuture(null);
  }

  @Override
  public synchronized List<AppMessage> loadRetained() {
    return new ArrayList<>(retained.values());
  }

  @Override
  public void close() {}
}
