package io.leafgate.hub;

import com.fasterxml.jackson.jr.ob.JSON;
import io.leafgate.leaf.monitor.GoFormat;
import io.leafgate.leaf.monitor.Metrics;
import io.leafgate.leaf.route.FlushBatch;
import io.leafgate.leaf.route.Msg;
import io.leafgate.leaf.route.Router;
import io.leafgate.leaf.server.ServerIdentity;
import io.leafgate.leaf.server.Transport;
import io.leafgate.leaf.spi.InternalClient;
import io.leafgate.storage.api.StreamState;
import io.leafgate.storage.engine.JetStreamEngine;
import io.leafgate.storage.engine.Stream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.tinylog.Logger;

/**
 * The uplink: the leaf connection to the hub, the store-and-forward of buffered subjects through a
 * local stream, the commands kept for this gateway on the hub, and what monitoring shows of them.
 */
public final class HubBridge implements AutoCloseable {
  /** Consumer ack wait: far longer than any outage, so the forwarder alone decides about resends. */
  private static final long FORWARDER_ACK_WAIT = TimeUnit.DAYS.toNanos(365);

  private final UplinkConfig cfg;
  private final Router router;
  private final JetStreamEngine engine;
  private final ServerIdentity identity;
  private final HubLink link;
  private final InternalClient local;
  private Forwarder forwarder;
  private Commands commands;
  private final long startMillis = System.currentTimeMillis();

  public HubBridge(UplinkConfig cfg, Router router, Transport transport, JetStreamEngine engine,
      ServerIdentity identity, String localDomain, int maxPayload) {
    this.cfg = cfg;
    this.router = router;
    this.engine = engine;
    this.identity = identity;
    this.link = new HubLink(cfg, router, transport, identity.name(), identity.id(), localDomain, maxPayload);
    this.local = new InternalClient(router, "uplink");
  }

  /** Sets up the buffer stream and its forwarder consumer, then starts dialling the hub. */
  public void start() throws IOException {
    if (!cfg.buffer.isEmpty()) {
      if (engine == null) {
        throw new IOException("uplink.buffer needs the local JetStream (jetstream is disabled)");
      }
      ensureStream();
      ensureConsumer(cfg.replayWindow);
      String epoch;
      try {
        epoch = engine.call(e -> e.stream(cfg.stream).epoch(), 5000);
      } catch (Exception e) {
        throw new IOException("cannot read the uplink stream: " + e.getMessage(), e);
      }
      forwarder = new Forwarder(cfg, link, engine, identity.name(), epoch);
      link.addListener(forwarder);
      forwarder.start();
      Logger.info("Uplink buffer: subjects {} are stored in stream {} and forwarded in order{}", cfg.buffer,
          cfg.stream, cfg.hubStream == null ? " (no hub stream: PING/PONG confirmation)"
              : " to hub stream " + cfg.hubStream);
    }
    if (cfg.commands != null) {
      commands = new Commands();
      link.addListener(commands);
    }
    link.start();
    Logger.info("Uplink: dialling hub at {}", cfg.remote.urls());
  }

  private Map<String, Object> api(String subject, Map<String, Object> body) throws IOException {
    try {
      byte[] b = JSON.std.asBytes(body);
      InternalClient.Message m = local.request(subject, null, b, 5000).get(6, TimeUnit.SECONDS);
      return JSON.std.mapFrom(new String(m.data(), StandardCharsets.UTF_8));
    } catch (Exception e) {
      throw new IOException("local JetStream request " + subject + " failed: " + e.getMessage(), e);
    }
  }

  private void ensureStream() throws IOException {
    Map<String, Object> c = new LinkedHashMap<>();
    c.put("name", cfg.stream);
    c.put("subjects", cfg.buffer);
    c.put("retention", "workqueue");
    c.put("max_msgs", cfg.maxMsgs);
    c.put("max_bytes", cfg.maxBytes);
    c.put("max_age", cfg.maxAge.toNanos());
    c.put("discard", cfg.discardNew ? "new" : "old");
    c.put("storage", "file");
    if (cfg.maxAge.toNanos() > 0 && cfg.maxAge.toNanos() < 120_000_000_000L) {
      c.put("duplicate_window", cfg.maxAge.toNanos());
    }
    c.put("description", "leafgate uplink buffer: store and forward to the hub");
    Map<String, Object> info = api("$JS.API.STREAM.INFO." + cfg.stream, Map.of());
    String verb = info.containsKey("error") ? "CREATE" : "UPDATE";
    Map<String, Object> r = api("$JS.API.STREAM." + verb + "." + cfg.stream, c);
    if (r.get("error") instanceof Map<?, ?> e) {
      throw new IOException("cannot " + verb.toLowerCase() + " the uplink stream " + cfg.stream + ": " + e.get("description"));
    }
  }

  /**
   * Applies new replay pacing while running (a SIGHUP reload): messages per second (0: unlimited)
   * and the window of unconfirmed messages. Any thread. A window that needs more unacknowledged
   * messages than the forwarder's consumer allows updates the consumer first; the forwarder takes
   * the new values on the link's loop and goes on at once.
   */
  public synchronized void setPacing(long rate, int window) throws IOException {
    if (forwarder != null && pendingFor(window) != consumerMaxAckPending) {
      ensureConsumer(window);
    }
    link.loop().execute(() -> {
      cfg.replayRate = rate;
      cfg.replayWindow = window;
      if (forwarder != null) {
        forwarder.paceChanged();
      }
    });
  }

  /** What the forwarder's consumer allows now (set at start and by {@link #setPacing}, under its lock). */
  private int consumerMaxAckPending;

  /** The forwarder consumer's max_ack_pending for a replay window: the window, queued and in flight, with room. */
  private static int pendingFor(int window) {
    return Math.max(1000, window * 4);
  }

  private void ensureConsumer(int window) throws IOException {
    Map<String, Object> c = new LinkedHashMap<>();
    c.put("durable_name", Forwarder.CONSUMER);
    c.put("description", "leafgate uplink forwarder: acknowledged when the hub confirms");
    c.put("deliver_policy", "all");
    c.put("ack_policy", "explicit");
    c.put("ack_wait", FORWARDER_ACK_WAIT);
    c.put("max_deliver", -1);
    c.put("max_ack_pending", pendingFor(window));
    c.put("max_waiting", 16);
    Map<String, Object> req = new LinkedHashMap<>();
    req.put("stream_name", cfg.stream);
    req.put("config", c);
    Map<String, Object> r = api("$JS.API.CONSUMER.CREATE." + cfg.stream + "." + Forwarder.CONSUMER, req);
    if (r.get("error") instanceof Map<?, ?> e) {
      throw new IOException("cannot create the uplink forwarder: " + e.get("description"));
    }
    consumerMaxAckPending = pendingFor(window);
  }

  @Override
  public void close() {
    link.stop();
    if (forwarder != null) {
      forwarder.stop();
    }
    local.close();
  }

  // ---------------------------------------------------------------------------------------------
  // Commands kept on the hub for this gateway

  /**
   * Pulls commands from a durable consumer on the hub and delivers them locally, acknowledging each
   * to the hub after local delivery: while connected and after a reconnect, each exactly once.
   */
  private final class Commands implements HubLink.Listener {
    private final String consumer = cfg.commands.consumer() != null ? cfg.commands.consumer()
        : identity.name().replace('.', '_');
    private boolean live;
    private boolean pulling;
    private String family;
    private long delivered;

    @Override
    public void onLive() {
      live = true;
      String prefix = apiPrefix();
      Map<String, Object> cc = new LinkedHashMap<>();
      cc.put("durable_name", consumer);
      cc.put("deliver_policy", "all");
      cc.put("ack_policy", "explicit");
      cc.put("filter_subject", cfg.commands.subject());
      cc.put("max_deliver", -1);
      Map<String, Object> req = new LinkedHashMap<>();
      req.put("stream_name", cfg.commands.stream());
      req.put("config", cc);
      String reply = link.newReplySubject(m -> {
        String body = m.data().toString(m.hdrLen(), m.data().readableBytes() - m.hdrLen(), StandardCharsets.UTF_8);
        if (body.contains("\"error\"") && !body.contains("10148")) {
          Logger.warn("Uplink commands: hub consumer {} on stream {} could not be set up: {}", consumer,
              cfg.commands.stream(), body);
        }
        pull();
      });
      link.sendMessage(prefix + "CONSUMER.CREATE." + cfg.commands.stream() + "." + consumer + "." + cfg.commands.subject(),
          reply, List.of(), 0, io.netty.buffer.Unpooled.wrappedBuffer(json(req)), null);
    }

    @Override
    public void onDown() {
      live = false;
      pulling = false;
      if (family != null) {
        link.removeReplyHandler(family);
        family = null;
      }
    }

    private void pull() {
      if (!live || pulling) {
        return;
      }
      pulling = true;
      if (family == null) {
        family = link.newReplyFamily(this::onMessage);
      }
      String body = "{\"batch\":64,\"expires\":10000000000,\"idle_heartbeat\":5000000000}";
      link.sendMessage(apiPrefix() + "CONSUMER.MSG.NEXT." + cfg.commands.stream() + "." + consumer,
          family + System.nanoTime(), List.of(), 0,
          io.netty.buffer.Unpooled.wrappedBuffer(body.getBytes(StandardCharsets.UTF_8)), null);
    }

    private int inBatch = 64;

    private void onMessage(LeafOp.Message m) {
      String status = m.hdrLen() >= 12 ? m.data().toString(0, 12, StandardCharsets.ISO_8859_1) : "";
      if (status.startsWith("NATS/1.0 ") && m.data().readableBytes() == m.hdrLen()) {
        if (!status.startsWith("NATS/1.0 100")) {
          pulling = false;
          inBatch = 64;
          link.loop().schedule(this::pull, status.contains("408") ? 0 : 1000, TimeUnit.MILLISECONDS);
        }
        return;
      }
      String reply = m.reply();
      String subject = m.subject();
      if (reply != null && reply.indexOf('@') > 0) {
        subject = reply.substring(reply.indexOf('@') + 1);
        reply = reply.substring(0, reply.indexOf('@'));
      }
      FlushBatch b = new FlushBatch();
      router.publishFromHub(subject, new Msg(subject, null, m.hdrLen(), m.data()), List.of(), b);
      b.flushAll();
      delivered++;
      if (reply != null) {
        link.sendMessage(reply, null, List.of(), 0,
            io.netty.buffer.Unpooled.wrappedBuffer("+ACK".getBytes(StandardCharsets.US_ASCII)), null);
      }
      if (--inBatch <= 0) {
        pulling = false;
        inBatch = 64;
        pull();
      }
    }
  }

  private String apiPrefix() {
    String d = cfg.hubDomain != null ? cfg.hubDomain : link.hubDomain();
    return d == null ? "$JS.API." : "$JS." + d + ".API.";
  }

  private static byte[] json(Object o) {
    try {
      return JSON.std.asBytes(o);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Visibility

  /** Backlog numbers of the buffer stream: {msgs, bytes, firstTsNanos}, or zeros. */
  private long[] backlog() {
    if (forwarder == null || engine == null) {
      return new long[3];
    }
    try {
      return engine.call(e -> {
        Stream s = e.stream(cfg.stream);
        if (s == null) {
          return new long[3];
        }
        StreamState st = s.store().state();
        return new long[] {st.msgs(), st.bytes(), st.msgs() == 0 ? 0 : st.firstTsNanos()};
      }, 2000);
    } catch (Exception ex) {
      return new long[3];
    }
  }

  private Stream.Drops drops() {
    if (forwarder == null || engine == null) {
      return new Stream.Drops(0, 0, 0, 0);
    }
    try {
      return engine.call(e -> {
        Stream s = e.stream(cfg.stream);
        return s == null ? new Stream.Drops(0, 0, 0, 0) : s.drops();
      }, 2000);
    } catch (Exception ex) {
      return new Stream.Drops(0, 0, 0, 0);
    }
  }

  /** The uplink's state for people and dashboards ({@code /leafz} "uplink", {@code leafgate status}). */
  public Map<String, Object> status() {
    long now = System.currentTimeMillis();
    Map<String, Object> m = new LinkedHashMap<>();
    boolean live = link.isLive();
    m.put("state", live ? "connected" : link.state() == HubLink.State.STOPPED ? "stopped" : "islanded");
    m.put("hub", link.hubName());
    m.put("hub_url", link.currentUrl() == null ? null : redact(link.currentUrl().toString()));
    if (live) {
      m.put("connected_since", GoFormat.time(link.liveSinceMillis()));
    } else {
      long since = link.stats.connects.get() == 0 ? startMillis : link.downSinceMillis();
      m.put("islanded_since", GoFormat.time(since));
      m.put("islanded_for", GoFormat.uptime(now - since));
    }
    if (link.lastError() != null) {
      m.put("last_error", link.lastError());
    }
    m.put("reconnect_attempts", link.stats.reconnectAttempts.get());
    if (forwarder != null) {
      long[] b = backlog();
      m.put("buffer_stream", cfg.stream);
      m.put("hub_stream", cfg.hubStream);
      m.put("backlog_msgs", b[0]);
      m.put("backlog_bytes", b[1]);
      long oldestAgeMs = b[2] == 0 ? 0 : Math.max(0, now - b[2] / 1_000_000);
      m.put("oldest_buffered_age", GoFormat.uptime(oldestAgeMs));
      m.put("oldest_buffered_age_seconds", oldestAgeMs / 1000);
      Forwarder.Stats fs = forwarder.stats;
      double rate = fs.ratePerSec;
      m.put("replay_rate", Math.round(rate * 10) / 10.0);
      m.put("replay_eta", live && rate > 0 ? GoFormat.uptime((long) (b[0] / rate * 1000)) : (b[0] == 0 ? "0s" : "unknown"));
      m.put("inflight", fs.inflight);
      m.put("queued", fs.queued);
      m.put("forwarded", fs.confirmed.get());
      m.put("forwarded_bytes", fs.confirmedBytes.get());
      m.put("already_on_hub", fs.alreadyOnHub.get());
      m.put("hub_errors", fs.hubErrors.get());
      if (fs.lastHubError != null) {
        m.put("last_hub_error", fs.lastHubError);
      }
      forwarder.maybeLogProgress(b[0], b[1]);
    }
    Stream.Drops d = drops();
    Map<String, Object> dr = new LinkedHashMap<>();
    dr.put("max_msgs", d.maxMsgs());
    dr.put("max_bytes", d.maxBytes());
    dr.put("max_age", d.maxAge());
    dr.put("discard_new", d.discardNew());
    dr.put("not_connected", link.stats.droppedNotConnected.get());
    dr.put("uplink_congested", link.stats.droppedCongested.get());
    dr.put("too_large_for_hub", link.stats.droppedTooLarge.get());
    m.put("drops", dr);
    if (commands != null) {
      m.put("commands_delivered", commands.delivered);
    }
    return m;
  }

  private static String redact(String url) {
    return url.replaceAll("//[^@/]*@", "//***@");
  }

  /** The {@code /leafz} body: nats-server's fields for the link, plus leafgate's "uplink" section. */
  public Map<String, Object> leafz(boolean subs) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("server_id", identity.id());
    m.put("now", GoFormat.time(System.currentTimeMillis()));
    boolean live = link.isLive();
    m.put("leafnodes", live ? 1 : 0);
    java.util.List<Object> leafs = new java.util.ArrayList<>();
    if (live) {
      Map<String, Object> l = new LinkedHashMap<>();
      l.put("name", link.hubName());
      l.put("is_spoke", true);
      l.put("account", "$G");
      InetSocketAddress a = link.remoteAddress();
      l.put("ip", a == null ? "" : a.getHostString());
      l.put("port", a == null ? 0 : a.getPort());
      l.put("rtt", GoFormat.duration(link.rttNanos()));
      l.put("in_msgs", link.stats.inMsgs.get());
      l.put("out_msgs", link.stats.outMsgs.get());
      l.put("in_bytes", link.stats.inBytes.get());
      l.put("out_bytes", link.stats.outBytes.get());
      l.put("subscriptions", link.hubInterestCount());
      if (subs) {
        l.put("subscriptions_list", link.hubInterest());
      }
      leafs.add(l);
    }
    m.put("leafs", leafs);
    m.put("uplink", status());
    return m;
  }

  /** Prometheus metrics of the uplink. */
  public void metrics(Metrics m) {
    Map<String, Object> s = status();
    m.gauge("leafgate_uplink_connected", "1 when the uplink to the hub is connected, 0 when islanded.",
        link.isLive() ? 1 : 0);
    m.counter("leafgate_uplink_reconnect_attempts_total", "Attempts to dial the hub.", link.stats.reconnectAttempts.get());
    m.counter("leafgate_uplink_in_msgs_total", "Messages received from the hub.", link.stats.inMsgs.get());
    m.counter("leafgate_uplink_out_msgs_total", "Live messages sent to the hub.", link.stats.outMsgs.get());
    if (!link.isLive()) {
      m.gauge("leafgate_uplink_islanded_seconds", "Seconds since the uplink was lost.",
          (System.currentTimeMillis() - (link.stats.connects.get() == 0 ? startMillis : link.downSinceMillis())) / 1000.0);
    } else {
      m.gauge("leafgate_uplink_islanded_seconds", "Seconds since the uplink was lost.", 0);
    }
    if (forwarder != null) {
      m.gauge("leafgate_uplink_backlog_messages", "Buffered messages not yet confirmed by the hub.", toD(s.get("backlog_msgs")));
      m.gauge("leafgate_uplink_backlog_bytes", "Bytes of buffered messages not yet confirmed by the hub.", toD(s.get("backlog_bytes")));
      m.gauge("leafgate_uplink_oldest_buffered_seconds", "Age of the oldest buffered message.",
          toD(s.get("oldest_buffered_age_seconds")));
      m.gauge("leafgate_uplink_replay_rate", "Messages per second confirmed by the hub (recent average).",
          toD(s.get("replay_rate")));
      m.counter("leafgate_uplink_forwarded_total", "Buffered messages confirmed by the hub.", forwarder.stats.confirmed.get());
    }
    @SuppressWarnings("unchecked")
    Map<String, Object> drops = (Map<String, Object>) s.get("drops");
    for (Map.Entry<String, Object> e : drops.entrySet()) {
      m.counter("leafgate_uplink_dropped_total", "Messages dropped, by reason.", toD(e.getValue()), "reason", e.getKey());
    }
  }

  private static double toD(Object o) {
    return o instanceof Number n ? n.doubleValue() : 0;
  }
}
