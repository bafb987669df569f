package io.leafgate.gateway;

import io.leafgate.leaf.monitor.CoreMonitor;
import io.leafgate.leaf.monitor.MonitorServer;
import io.leafgate.storage.engine.JetStreamEngine;
import java.util.LinkedHashMap;
import java.util.Map;

/** Puts the local JetStream into monitoring: {@code /jsz}, its {@code /varz} section, health and metrics. */
final class JetStreamMonitor {
  private JetStreamMonitor() {}

  private static final long TIMEOUT_MS = 5000;

  static void install(JetStreamEngine js, MonitorServer monitor, CoreMonitor core) {
    monitor.register("/jsz", q -> {
      boolean accounts = truthy(q.get("accounts")) || truthy(q.get("streams")) || truthy(q.get("consumers"));
      return call(js, e -> e.jsz(accounts, truthy(q.get("consumers"))));
    });
    core.addVarzSection("jetstream", () -> {
      Map<String, Object> m = new LinkedHashMap<>();
      Map<String, Object> jsz = call(js, e -> e.jsz(false, false));
      m.put("config", jsz.get("config"));
      Map<String, Object> stats = new LinkedHashMap<>();
      stats.put("memory", jsz.get("memory"));
      stats.put("storage", jsz.get("storage"));
      stats.put("accounts", 1);
      stats.put("api", jsz.get("api"));
      m.put("stats", stats);
      return m;
    });
    monitor.addHealthCheck(() -> {
      String p = js.problem();
      return p == null ? null : "JetStream: " + p;
    });
    monitor.addMetrics(m -> {
      Map<String, Long> v = call(js, JetStreamEngine::metrics);
      m.gauge("leafgate_jetstream_streams", "Streams in the local JetStream.", v.get("streams"));
      m.gauge("leafgate_jetstream_consumers", "Consumers in the local JetStream.", v.get("consumers"));
      m.gauge("leafgate_jetstream_messages", "Messages stored in the local JetStream.", v.get("messages"));
      m.gauge("leafgate_jetstream_bytes", "Bytes stored in the local JetStream (message accounting).", v.get("bytes"));
      m.gauge("leafgate_jetstream_store_disk_bytes", "Bytes the JetStream store occupies on disk.", v.get("store_disk_bytes"));
      m.counter("leafgate_jetstream_api_requests_total", "JetStream API requests served.", v.get("api_total"));
      m.counter("leafgate_jetstream_api_errors_total", "JetStream API requests answered with an error.", v.get("api_errors"));
      m.counter("leafgate_jetstream_limit_drops_total", "Messages removed by stream limits (count, bytes, age).", v.get("limit_drops"));
      m.gauge("leafgate_jetstream_ingest_backlog_bytes", "Bytes of published messages waiting for the JetStream engine.",
          v.get("ingest_backlog_bytes"));
      m.gauge("leafgate_jetstream_store_full", "1 while the store refuses writes for want of room (max_file_store, or the disk's floor).",
          v.get("store_full"));
      m.counter("leafgate_jetstream_store_full_refusals_total", "Writes refused for want of room (answered with insufficient resources).",
          v.get("store_full_refusals"));
      m.counter("leafgate_jetstream_publisher_pauses_total",
          "Times a publisher stopped being read because the JetStream engine's queue was full.", v.get("publisher_pauses"));
    });
  }

  private static boolean truthy(String v) {
    return v != null && (v.equals("1") || v.equals("true"));
  }

  private static <T> T call(JetStreamEngine js, java.util.function.Function<JetStreamEngine, T> f) {
    try {
      return js.call(f, TIMEOUT_MS);
    } catch (Exception e) {
      throw new IllegalStateException("JetStream did not answer: " + e.getMessage(), e);
    }
  }
}
