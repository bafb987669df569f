package io.leafgate.leaf.monitor;

import io.leafgate.leaf.config.ServerOptions;
import io.leafgate.leaf.config.TlsOptions;
import io.leafgate.leaf.route.Sublist;
import io.leafgate.leaf.route.Subscription;
import io.leafgate.leaf.server.ClientConnection;
import io.leafgate.leaf.server.NatsServer;
import io.leafgate.leaf.server.ServerIdentity;
import io.leafgate.leaf.subject.Subjects;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The core endpoints: {@code /varz}, {@code /connz}, {@code /subsz}, and the core metrics, with
 * nats-server's JSON field names.
 */
public final class CoreMonitor {
  private final NatsServer server;
  private final MonitorServer monitor;
  private final long configLoadMillis = System.currentTimeMillis();
  /** Sections other modules add to {@code /varz} (e.g. "jetstream", "leaf", "mqtt"). */
  private final Map<String, java.util.function.Supplier<Object>> varzSections = new java.util.concurrent.ConcurrentHashMap<>();
  private volatile java.util.function.IntSupplier leafnodeCount = () -> 0;

  public CoreMonitor(NatsServer server, MonitorServer monitor) {
    this.server = server;
    this.monitor = monitor;
  }

  /** Registers the endpoints and metrics with the monitor. */
  public void install() {
    monitor.register("/varz", q -> varz());
    monitor.register("/connz", this::connz);
    monitor.register("/subsz", this::subsz);
    monitor.addMetrics(this::metrics);
  }

  /** Adds a section to {@code /varz} under {@code key}. */
  public void addVarzSection(String key, java.util.function.Supplier<Object> section) {
    varzSections.put(key, section);
  }

  /** How many leaf node connections to report in {@code /varz}. */
  public void setLeafnodeCount(java.util.function.IntSupplier count) {
    leafnodeCount = count;
  }

  Map<String, Object> varz() {
    ServerOptions o = server.options();
    long now = System.currentTimeMillis();
    Map<String, Object> v = new LinkedHashMap<>();
    v.put("server_id", server.identity().id());
    v.put("server_name", server.identity().name());
    v.put("version", ServerIdentity.NATS_COMPAT_VERSION);
    v.put("leafgate_version", ServerIdentity.LEAFGATE_VERSION);
    v.put("proto", 1);
    v.put("go", "leafgate " + ServerIdentity.LEAFGATE_VERSION);
    v.put("host", o.host);
    v.put("port", server.boundPort());
    if (server.authenticator().required()) {
      v.put("auth_required", true);
    }
    if (o.tls != null) {
      v.put("tls_required", true);
      if (o.tls.verify()) {
        v.put("tls_verify", true);
      }
    }
    v.put("max_connections", o.maxConnections);
    v.put("ping_interval", o.pingInterval.toNanos());
    v.put("ping_max", o.pingMax);
    v.put("http_host", monitor.host());
    v.put("http_port", monitor.boundPort());
    v.put("http_base_path", "");
    v.put("https_port", 0);
    v.put("auth_timeout", o.authTimeout.toMillis() / 1000.0);
    v.put("max_control_line", o.maxControlLine);
    v.put("max_payload", o.maxPayload);
    v.put("max_pending", o.maxPending);
    for (String k : List.of("cluster", "gateway", "leaf", "mqtt", "websocket", "jetstream")) {
      java.util.function.Supplier<Object> s = varzSections.get(k);
      v.put(k, s == null ? Map.of() : s.get());
    }
    // A float in nats-server; Go writes a whole number of seconds without a fraction.
    double tlsTimeout = o.tls == null ? TlsOptions.DEFAULT_TIMEOUT.toSeconds() : o.tls.timeoutSeconds();
    v.put("tls_timeout", tlsTimeout == Math.rint(tlsTimeout) ? (Object) (long) tlsTimeout : tlsTimeout);
    v.put("write_deadline", o.writeDeadline.toNanos());
    v.put("start", GoFormat.time(server.startMillis()));
    v.put("now", GoFormat.time(now));
    v.put("uptime", GoFormat.uptime(now - server.startMillis()));
    v.put("mem", residentBytes());
    int cores = Runtime.getRuntime().availableProcessors();
    v.put("cores", cores);
    v.put("gomaxprocs", cores);
    v.put("cpu", cpuPercent());
    v.put("connections", server.connectionCount());
    v.put("total_connections", server.totalConnections());
    v.put("routes", 0);
    v.put("remotes", 0);
    v.put("leafnodes", leafnodeCount.getAsInt());
    v.put("in_msgs", server.router().inMsgs());
    v.put("out_msgs", server.router().outMsgs());
    v.put("in_bytes", server.router().inBytes());
    v.put("out_bytes", server.router().outBytes());
    v.put("slow_consumers", server.slowConsumers());
    v.put("subscriptions", server.router().sublist().count());
    v.put("http_req_stats", monitor.requestStats());
    v.put("config_load_time", GoFormat.time(configLoadMillis));
    return v;
  }

  Map<String, Object> connz(Map<String, String> q) throws MonitorServer.BadRequest {
    long now = System.currentTimeMillis();
    int offset = intParam(q, "offset", 0);
    int limit = intParam(q, "limit", 1024);
    String subsParam = q.getOrDefault("subs", "");
    boolean subs = subsParam.equals("1") || subsParam.equals("true") || subsParam.equals("detail");
    boolean detail = subsParam.equals("detail");
    String state = q.getOrDefault("state", "open");
    String sort = q.getOrDefault("sort", "cid");
    String cidParam = q.get("cid");
    List<Map<String, Object>> rows = new ArrayList<>();
    List<Object[]> keyed = new ArrayList<>();
    if (!state.equals("open") && !state.equals("closed") && !state.equals("all") && !state.equals("any")) {
      throw new MonitorServer.BadRequest("invalid state: " + state);
    }
    if (state.equals("open") || state.equals("all") || state.equals("any")) {
      for (ClientConnection c : server.connections()) {
        if (cidParam != null && !cidParam.equals(Long.toString(c.cid()))) {
          continue;
        }
        keyed.add(new Object[] {openRow(c, now, subs, detail), sortKey(c, sort, now)});
      }
    }
    if (state.equals("closed") || state.equals("all") || state.equals("any")) {
      for (NatsServer.ClosedConnection c : server.closedConnections()) {
        if (cidParam != null && !cidParam.equals(Long.toString(c.cid()))) {
          continue;
        }
        keyed.add(new Object[] {closedRow(c), closedSortKey(c, sort)});
      }
    }
    Comparator<Object[]> cmp = Comparator.comparingDouble(a -> (Double) a[1]);
    if (!sort.equals("cid") && !sort.equals("start")) {
      cmp = cmp.reversed();
    }
    keyed.sort(cmp);
    for (int i = offset; i < keyed.size() && rows.size() < limit; i++) {
      @SuppressWarnings("unchecked")
      Map<String, Object> row = (Map<String, Object>) keyed.get(i)[0];
      rows.add(row);
    }
    Map<String, Object> c = new LinkedHashMap<>();
    c.put("server_id", server.identity().id());
    c.put("now", GoFormat.time(now));
    c.put("num_connections", rows.size());
    c.put("total", keyed.size());
    c.put("offset", offset);
    c.put("limit", limit);
    c.put("connections", rows);
    return c;
  }

  private static double sortKey(ClientConnection c, String sort, long now) throws MonitorServer.BadRequest {
    return switch (sort) {
      case "cid" -> c.cid();
      case "start" -> c.startMillis();
      case "subs" -> c.subscriptionCount();
      case "pending" -> c.pendingBytes();
      case "msgs_to" -> c.outMsgs();
      case "msgs_from" -> c.inMsgs();
      case "bytes_to" -> c.outBytes();
      case "bytes_from" -> c.inBytes();
      case "last" -> c.lastActivityMillis();
      case "idle" -> now - c.lastActivityMillis();
      case "uptime" -> now - c.startMillis();
      case "stop", "reason" -> c.cid();
      default -> throw new MonitorServer.BadRequest("invalid sorting option: " + sort);
    };
  }

  private static double closedSortKey(NatsServer.ClosedConnection c, String sort) {
    return switch (sort) {
      case "start" -> c.startMillis();
      case "stop" -> c.stopMillis();
      case "msgs_to" -> c.outMsgs();
      case "msgs_from" -> c.inMsgs();
      case "bytes_to" -> c.outBytes();
      case "bytes_from" -> c.inBytes();
      default -> c.cid();
    };
  }

  private Map<String, Object> openRow(ClientConnection c, long now, boolean subs, boolean detail) {
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("cid", c.cid());
    r.put("kind", "Client");
    r.put("type", "nats");
    r.put("ip", c.remoteIp());
    r.put("port", c.remotePort());
    r.put("start", GoFormat.time(c.startMillis()));
    r.put("last_activity", GoFormat.time(c.lastActivityMillis()));
    if (c.rttNanos() > 0) {
      r.put("rtt", GoFormat.duration(c.rttNanos()));
    }
    r.put("uptime", GoFormat.uptime(now - c.startMillis()));
    r.put("idle", GoFormat.uptime(now - c.lastActivityMillis()));
    r.put("pending_bytes", c.pendingBytes());
    r.put("in_msgs", c.inMsgs());
    r.put("out_msgs", c.outMsgs());
    r.put("in_bytes", c.inBytes());
    r.put("out_bytes", c.outBytes());
    r.put("subscriptions", c.subscriptionCount());
    putIfNotEmpty(r, "name", c.name());
    putIfNotEmpty(r, "lang", c.lang());
    putIfNotEmpty(r, "version", c.version());
    putIfNotEmpty(r, "tls_version", c.tlsVersion());
    putIfNotEmpty(r, "tls_cipher_suite", c.tlsCipherSuite());
    putIfNotEmpty(r, "authorized_user", c.authorizedUser());
    if (subs) {
      List<Subscription> list = c.subscriptions();
      if (detail) {
        List<Map<String, Object>> d = new ArrayList<>();
        for (Subscription s : list) {
          d.add(subDetail(s, c.cid()));
        }
        r.put("subscriptions_list_detail", d);
      } else {
        List<String> names = new ArrayList<>();
        for (Subscription s : list) {
          names.add(s.subject);
        }
        r.put("subscriptions_list", names);
      }
    }
    return r;
  }

  private static Map<String, Object> closedRow(NatsServer.ClosedConnection c) {
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("cid", c.cid());
    r.put("kind", "Client");
    r.put("type", "nats");
    r.put("ip", c.ip());
    r.put("port", c.port());
    r.put("start", GoFormat.time(c.startMillis()));
    r.put("last_activity", GoFormat.time(c.stopMillis()));
    r.put("stop", GoFormat.time(c.stopMillis()));
    r.put("reason", c.reason());
    r.put("uptime", GoFormat.uptime(c.stopMillis() - c.startMillis()));
    r.put("idle", "0s");
    r.put("pending_bytes", 0);
    r.put("in_msgs", c.inMsgs());
    r.put("out_msgs", c.outMsgs());
    r.put("in_bytes", c.inBytes());
    r.put("out_bytes", c.outBytes());
    r.put("subscriptions", 0);
    putIfNotEmpty(r, "name", c.name());
    putIfNotEmpty(r, "lang", c.lang());
    putIfNotEmpty(r, "version", c.version());
    putIfNotEmpty(r, "tls_version", c.tlsVersion());
    putIfNotEmpty(r, "tls_cipher_suite", c.tlsCipherSuite());
    putIfNotEmpty(r, "authorized_user", c.user());
    return r;
  }

  private static Map<String, Object> subDetail(Subscription s, long cid) {
    Map<String, Object> d = new LinkedHashMap<>();
    d.put("account", "$G");
    d.put("subject", s.subject);
    if (s.queue != null) {
      d.put("qgroup", s.queue);
    }
    d.put("sid", s.sid);
    d.put("msgs", s.delivered());
    if (s.max() > 0) {
      d.put("max", s.max());
    }
    d.put("cid", cid);
    return d;
  }

  Map<String, Object> subsz(Map<String, String> q) throws MonitorServer.BadRequest {
    Sublist sl = server.router().sublist();
    Sublist.Stats st = sl.stats();
    int offset = intParam(q, "offset", 0);
    int limit = intParam(q, "limit", 1024);
    String test = q.get("test");
    if (test != null && !Subjects.isValidLiteral(test)) {
      throw new MonitorServer.BadRequest("invalid test subject, must be valid publish subject: " + test);
    }
    boolean subs = "1".equals(q.get("subs")) || "true".equals(q.get("subs")) || "detail".equals(q.get("subs"));
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("server_id", server.identity().id());
    r.put("now", GoFormat.time(System.currentTimeMillis()));
    r.put("num_subscriptions", st.numSubscriptions());
    r.put("num_cache", st.numCache());
    r.put("num_inserts", st.numInserts());
    r.put("num_removes", st.numRemoves());
    r.put("num_matches", st.numMatches());
    r.put("cache_hit_rate", st.cacheHitRate());
    r.put("max_fanout", st.maxFanout());
    r.put("avg_fanout", st.avgFanout());
    List<Subscription> all = sl.all();
    if (test != null) {
      all.removeIf(s -> !Subjects.matches(s.subject, test));
    }
    r.put("total", all.size());
    r.put("offset", offset);
    r.put("limit", limit);
    if (subs) {
      List<Map<String, Object>> list = new ArrayList<>();
      for (int i = offset; i < all.size() && list.size() < limit; i++) {
        Subscription s = all.get(i);
        long cid = s.subscriber instanceof ClientConnection cc ? cc.cid() : 0;
        list.add(subDetail(s, cid));
      }
      r.put("subscriptions_list", list);
    }
    return r;
  }

  private void metrics(Metrics m) {
    long now = System.currentTimeMillis();
    m.gauge("leafgate_info", "Build and identity of this gateway.", 1,
        "version", ServerIdentity.LEAFGATE_VERSION, "server_name", server.identity().name());
    m.gauge("leafgate_uptime_seconds", "Seconds since the gateway started.", (now - server.startMillis()) / 1000.0);
    m.gauge("leafgate_resident_memory_bytes", "Resident memory of the gateway process.", residentBytes());
    m.gauge("leafgate_connections", "Open NATS client connections.", server.connectionCount());
    m.counter("leafgate_connections_total", "NATS client connections accepted since start.", server.totalConnections());
    m.counter("leafgate_tls_handshake_failures_total", "NATS client connections closed because their TLS handshake"
        + " failed or timed out.", server.tlsHandshakeFailures());
    m.gauge("leafgate_subscriptions", "Subscriptions in the routing table.", server.router().sublist().count());
    m.counter("leafgate_in_msgs_total", "Messages received from publishers.", server.router().inMsgs());
    m.counter("leafgate_out_msgs_total", "Messages delivered to subscribers.", server.router().outMsgs());
    m.counter("leafgate_in_bytes_total", "Bytes received from publishers.", server.router().inBytes());
    m.counter("leafgate_out_bytes_total", "Bytes delivered to subscribers.", server.router().outBytes());
    m.counter("leafgate_slow_consumers_total", "Connections cut off as slow consumers.", server.slowConsumers());
  }

  private static void putIfNotEmpty(Map<String, Object> m, String k, String v) {
    if (v != null && !v.isEmpty()) {
      m.put(k, v);
    }
  }

  private static int intParam(Map<String, String> q, String k, int dflt) throws MonitorServer.BadRequest {
    String v = q.get(k);
    if (v == null || v.isEmpty()) {
      return dflt;
    }
    try {
      int n = Integer.parseInt(v);
      if (n < 0) {
        throw new NumberFormatException();
      }
      return n;
    } catch (NumberFormatException e) {
      throw new MonitorServer.BadRequest("invalid " + k + ": " + v);
    }
  }

  /** Resident set size of this process, from /proc; 0 where /proc is missing. */
  public static long residentBytes() {
    try {
      String[] f = Files.readString(Path.of("/proc/self/statm")).trim().split("\\s+");
      return Long.parseLong(f[1]) * 4096L;
    } catch (Exception e) {
      return 0;
    }
  }

  private static double cpuPercent() {
    java.lang.management.OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
    if (os instanceof com.sun.management.OperatingSystemMXBean sun) {
      double load = sun.getProcessCpuLoad();
      if (load >= 0) {
        return Math.round(load * Runtime.getRuntime().availableProcessors() * 1000) / 10.0;
      }
    }
    return 0;
  }
}
