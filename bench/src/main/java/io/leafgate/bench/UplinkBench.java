package io.leafgate.bench;

import io.nats.client.Connection;
import io.nats.client.Dispatcher;
import io.nats.client.JetStreamManagement;
import io.nats.client.api.StreamInfo;
import io.nats.client.support.JsonValue;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * The uplink family: how fast leafgate replays a backlog buffered while its hub was away, compared
 * with how fast the hub ingests the same messages from a client, and what the replay does to live
 * traffic on a subject that is not buffered.
 *
 * <ol>
 *   <li>Start a hub (nats-server with JetStream, domain {@code hub}, a leafnode listener), read its
 *       leaf port from {@code /varz}, create the stream {@value #STREAM} on {@code telemetry.>}.
 *   <li>Hub ingest: a jnats client publishes the backlog's count of 128 B messages into the stream
 *       with {@code publishAsync} (window 1000); the clock stops at the last PubAck; then the stream
 *       is purged. Twice: without message ids, then with a {@code Nats-Msg-Id} on each message, as
 *       leafgate's replay sends them (the target is against this one). Then stop the hub.
 *   <li>Start leafgate with the hub as its remote and {@code uplink { buffer: ["telemetry.>"],
 *       hub_stream: TELEMETRY }}; publish the backlog to it with jnats core publishes while the hub is
 *       down, and wait until {@code /leafz} shows it all buffered.
 *   <li>Start the hub again on the same leaf port; from the moment it answers, time until its stream
 *       holds the whole backlog (stream info polled every {@value #POLL_MILLIS} ms). Meanwhile a hub
 *       subscriber on {@code live.x} receives timestamps that a leafgate client publishes at
 *       {@value #LIVE_RATE} msg/s; after the drain the same goes on for a while on the idle link.
 * </ol>
 *
 * <p>Measured once per bench run (it moves a million messages in the default profile).
 */
final class UplinkBench {
  private static final int SIZE = 128;
  private static final String STREAM = "TELEMETRY";
  private static final int LIVE_RATE = 200;
  private static final long POLL_MILLIS = 50;
  private static final Duration START_TIMEOUT = Duration.ofSeconds(120);
  private static final Duration STALL = Duration.ofSeconds(20);
  private static final Duration MAX_PHASE = Duration.ofMinutes(5);

  private final Context ctx;
  private final List<ServerProcess> started = new ArrayList<>();
  private Report.Table table;

  UplinkBench(Context ctx) {
    this.ctx = ctx;
  }

  void run() throws Exception {
    Report report = ctx.report();
    int n = ctx.options().backlog();
    int window = ctx.options().replayWindow();
    Report.Table t = report.table("Uplink: a buffered backlog replayed to the hub", "hub ingest");
    table = t;
    Report.Row drain = t.row(String.format(Locale.ROOT, "%,d msgs into the hub stream, a Nats-Msg-Id each: "
        + "leafgate replay (replay_window %d) vs a jnats client sending the same", n, window), "128 B",
        Report.Unit.MSGS_PER_S).target(Report.Target.ratioAtLeast(0.5));
    Report.Row drainPlain = t.row(String.format(Locale.ROOT, "%,d msgs into the hub stream: leafgate replay "
        + "(replay_window %d) vs a jnats client sending them without ids", n, window), "128 B",
        Report.Unit.MSGS_PER_S);
    Report.Table lt = report.table("Uplink: live messages on a subject that is not buffered (`live.x`, "
        + LIVE_RATE + " msg/s, leafgate client -> hub subscriber)", "link idle");
    Report.Row p50 = lt.row("edge -> hub latency p50, during the drain", "128 B", Report.Unit.MILLIS_LATENCY);
    Report.Row p99 = lt.row("edge -> hub latency p99, during the drain", "128 B", Report.Unit.MILLIS_LATENCY);
    try {
      measure(n, window, drain, drainPlain, p50, p99);
    } finally {
      started.forEach(ServerProcess::close);
    }
  }

  private void measure(int n, int window, Report.Row drain, Report.Row drainPlain, Report.Row p50, Report.Row p99)
      throws Exception {
    Report report = ctx.report();
    Path hubDir = ctx.tmp().resolve("hub");
    Path leafDir = ctx.tmp().resolve("leafgate");

    // 1 and 2: the hub, its stream, its own ingest rate.
    ServerProcess hub = start(launchHub(hubDir, -1));
    if (hub == null) {
      return;
    }
    long leafPort = Monitor.number(Monitor.get(hub.monitorUrl(), "/varz"), "leaf", "port");
    if (leafPort <= 0) {
      report.problem("uplink scenario skipped: the hub's /varz has no leaf.port");
      return;
    }
    ctx.progress("uplink: hub at %s, leaf port %d (pid %d)", hub.natsUrl(), leafPort, hub.serverPid());
    Measured ingestPlain;
    Measured ingest;
    try (Clients clients = new Clients(hub.natsUrl())) {
      Connection c = clients.connect("bench-hub-ingest");
      JetStreamLoad.createStream(c, STREAM, "telemetry.>");
      ingestPlain = ingest(c, n, null);
      ctx.progress("uplink: hub ingest of %,d msgs without ids: %s", n, Context.show(ingestPlain, "msgs/s"));
      // Ids as long as leafgate's: a generated server name (56 characters), the stream's epoch (8),
      // the sequence; unique to this run.
      ingest = ingest(c, n, "BENCH".repeat(11) + "I:" + String.format(Locale.ROOT, "%08X",
          System.nanoTime() & 0xFFFFFFFFL) + ":");
      ctx.progress("uplink: hub ingest of %,d msgs with ids: %s", n, Context.show(ingest, "msgs/s"));
      if (clients.problem() != null) {
        ingestPlain = Measured.failed(clients.problem());
        ingest = ingestPlain;
      }
    }
    report.add(drain, Report.Side.BASELINE, ingest);
    report.add(drainPlain, Report.Side.BASELINE, ingestPlain);
    hub.close();

    // 3: leafgate, islanded, fills its buffer.
    ServerProcess leaf = start(launchLeafgate(leafDir, leafPort, window));
    if (leaf == null) {
      return;
    }
    ctx.progress("uplink: leafgate at %s (pid %d), hub stopped", leaf.natsUrl(), leaf.serverPid());
    String fill = fill(leaf, n);
    if (fill == null) {
      return;
    }

    // 4: the hub comes back; the drain, with live traffic.
    try (Clients edge = new Clients(leaf.natsUrl())) {
      Connection livePub = edge.connect("bench-live-pub");
      LiveSamples samples = new LiveSamples();
      long launched = System.nanoTime();
      hub = start(launchHub(hubDir, (int) leafPort));
      if (hub == null) {
        return;
      }
      long ready = System.nanoTime();
      try (Clients central = new Clients(hub.natsUrl())) {
        Connection hc = central.connect("bench-hub");
        Dispatcher d = hc.createDispatcher(m -> samples.received(m.getData()));
        d.subscribe("live.x");
        hc.flush(Duration.ofSeconds(10));
        LivePublisher live = new LivePublisher(livePub, samples);
        live.start();
        JetStreamManagement jsm = hc.jetStreamManagement();
        long first = -1;
        long done = -1;
        long last = -1;
        long lastChange = System.nanoTime();
        String failure = null;
        while (true) {
          long held = jsm.getStreamInfo(STREAM).getStreamState().getMsgCount();
          long now = System.nanoTime();
          if (held > 0 && first < 0) {
            first = now;
          }
          if (held >= n) {
            done = now;
            break;
          }
          if (held != last) {
            last = held;
            lastChange = now;
          } else if (now - lastChange > STALL.toNanos()) {
            failure = String.format(Locale.ROOT, "the hub stream held %,d of %,d and grew no more for %d s", held, n,
                STALL.toSeconds());
            break;
          }
          if (now - ready > MAX_PHASE.toNanos()) {
            failure = String.format(Locale.ROOT, "the hub stream held %,d of %,d after %s", held, n,
                Context.span(MAX_PHASE));
            break;
          }
          if (!leaf.isAlive()) {
            failure = "leafgate died during the drain; log:\n" + ServerProcess.tail(leaf.log(), 20);
            break;
          }
          Thread.sleep(POLL_MILLIS);
        }
        samples.drainEnded(done > 0 ? done : System.nanoTime());
        Thread.sleep(ctx.options().liveIdleFor().toMillis());
        live.stop();
        hc.flush(Duration.ofSeconds(10));
        Thread.sleep(200);

        long finalCount = jsm.getStreamInfo(STREAM).getStreamState().getMsgCount();
        Measured rate = failure != null ? Measured.failed(failure) : Measured.of(n / ((done - ready) / 1e9));
        if (rate.ok() && finalCount != n) {
          rate = new Measured(rate.value(), String.format(Locale.ROOT, "the hub stream holds %,d messages, %,d "
              + "expected (duplicates?)", finalCount, n));
        }
        if (rate.ok() && (edge.problem() != null || central.problem() != null)) {
          rate = new Measured(rate.value(), edge.problem() != null ? edge.problem() : central.problem());
        }
        ctx.progress("uplink: drain of %,d msgs: %s (hub ready %.1f s after launch, first message %.1f s after "
            + "ready)", n, Context.show(rate, "msgs/s"), (ready - launched) / 1e9, first < 0 ? Double.NaN
            : (first - ready) / 1e9);
        report.add(drain, Report.Side.LEAFGATE, rate);
        report.add(drainPlain, Report.Side.LEAFGATE, rate);

        LiveSamples.Percentiles during = samples.percentiles(true);
        LiveSamples.Percentiles idle = samples.percentiles(false);
        ctx.progress("uplink: live.x p50/p99 during the drain %s / %s ms (%d samples), idle %s / %s ms (%d samples)",
            ms(during.p50()), ms(during.p99()), during.count(), ms(idle.p50()), ms(idle.p99()), idle.count());
        report.add(p50, Report.Side.LEAFGATE, during.p50());
        report.add(p99, Report.Side.LEAFGATE, during.p99());
        report.add(p50, Report.Side.BASELINE, idle.p50());
        report.add(p99, Report.Side.BASELINE, idle.p99());

        JsonValue up = Monitor.at(Monitor.get(leaf.monitorUrl(), "/leafz"), "uplink");
        report.note(String.format(Locale.ROOT, "Uplink: %,d messages of %d B. Hub: nats-server with `server_name: "
            + "hub`, `jetstream { domain: hub }` (file store), `leafnodes { listen: 127.0.0.1:-1 }`, stream %s on "
            + "`telemetry.>`. Hub ingest: a jnats client publishes them to `telemetry.ingest` with `publishAsync`, "
            + "at most %d PubAcks outstanding, clock from the first publish to the last PubAck, then the stream is "
            + "purged; twice: first without message ids, then with a Nats-Msg-Id header on each message as long "
            + "as leafgate's (server name, stream epoch, sequence), as an exactly-once publisher sends them; then "
            + "the hub is stopped. leafgate: `leafnodes { reconnect: \"200ms\", reconnect_max: \"1s\" }`, "
            + "`uplink { buffer: [\"telemetry.>\"], hub_stream: %s, replay_window: %d }` (replay_rate 0, "
            + "unlimited; sync: always); the backlog was published to it with jnats core publishes while the hub "
            + "was down (%s). Drain: the hub restarted on the same leaf port; clock from the moment it answered "
            + "(%.1f s after its launch) until stream info showed all %,d messages (polled every %d ms); the first "
            + "replayed message was there %.2f s after that moment (reconnect back-off). Measured once per bench "
            + "run. Each replayed message carries a Nats-Msg-Id (leafgate's exactly-once replay needs the hub's "
            + "duplicate check), so the target is set against the ingest of messages with ids: the same load; the "
            + "ratio to the ingest without ids is printed too.", n, SIZE, STREAM, JetStreamLoad.WINDOW, STREAM, window, fill,
            (ready - launched) / 1e9, n, POLL_MILLIS, first < 0 ? Double.NaN : (first - ready) / 1e9));
        report.note(String.format(Locale.ROOT, "Uplink live traffic: a leafgate client publishes %d B messages "
            + "stamped with System.nanoTime() to `live.x` (not buffered, so sent only while the link is up and the "
            + "hub has interest) at %d msg/s from the hub's restart on; a hub subscriber (same JVM, same clock) "
            + "takes the difference. \"During the drain\": messages sent before the hub stream held the whole "
            + "backlog, %s received of %s sent (the ones sent before the link and the hub's interest were back "
            + "are dropped by design); \"link idle\": messages sent from %s after the drain on, %s received of %s "
            + "sent.", SIZE, LIVE_RATE, during.count(), samples.sent(true), Context.span(LiveSamples.SETTLE),
            idle.count(), samples.sent(false)));
        table.footer(String.format(Locale.ROOT, "Drain timeline: the hub answered %.1f s after its launch; the first "
            + "replayed message was in its stream %.2f s later, the last one %.1f s later (%s from the first "
            + "message on).", (ready - launched) / 1e9, first < 0 ? Double.NaN : (first - ready) / 1e9,
            done < 0 ? Double.NaN : (done - ready) / 1e9, first < 0 || done <= first ? "-"
            : String.format(Locale.ROOT, "%,.0f msgs/s", n / ((done - first) / 1e9))));
        table.footer("leafgate's uplink status after the drain (`/leafz` uplink): " + uplinkFields(up) + ".");
        if (Monitor.number(up, "hub_errors") > 0) {
          report.problem("uplink: leafgate reports hub_errors = " + Monitor.number(up, "hub_errors")
              + (Monitor.at(up, "last_hub_error") != null ? " (last: " + Monitor.at(up, "last_hub_error").string + ")"
              : ""));
        }
      }
    }
  }

  /** One acknowledged publish of {@code n} messages into the stream, checked, then a purge. */
  private static Measured ingest(Connection c, int n, String idPrefix) throws Exception {
    JetStreamLoad.Published p = JetStreamLoad.publish(c, "telemetry.ingest", SIZE, MAX_PHASE, n, STALL, idPrefix);
    Measured rate = p.rate();
    long held = c.jetStreamManagement().getStreamInfo(STREAM).getStreamState().getMsgCount();
    if (rate.ok() && p.acked() != n) {
      rate = Measured.failed(String.format(Locale.ROOT, "published %,d of %,d within %s", p.acked(), n,
          Context.span(MAX_PHASE)));
    } else if (rate.ok() && held != n) {
      rate = Measured.failed(String.format(Locale.ROOT, "the stream holds %,d after %,d PubAcks", held, n));
    }
    c.jetStreamManagement().purgeStream(STREAM);
    return rate;
  }

  private static String ms(Measured m) {
    return m.ok() ? String.format(Locale.ROOT, "%.2f", m.value()) : "-";
  }

  private static String uplinkFields(JsonValue up) {
    if (up == null || up.map == null) {
      return "(no uplink section)";
    }
    List<String> parts = new ArrayList<>();
    for (String k : List.of("state", "backlog_msgs", "forwarded", "forwarded_bytes", "already_on_hub", "hub_errors",
        "replay_rate", "inflight", "queued", "last_hub_error")) {
      JsonValue v = up.map.get(k);
      if (v != null) {
        parts.add(k + " = " + (v.string != null ? v.string : v.toString()));
      }
    }
    return String.join(", ", parts);
  }

  /**
   * Publishes the backlog to leafgate with core publishes, as fast as jnats sends them, and waits
   * until {@code /leafz} shows all of it buffered; returns a description for the notes, or null
   * after recording a problem. leafgate pauses the publisher while its store catches up (its
   * ingest queue is bounded), so the fill is unpaced; it is not a measured figure.
   */
  private String fill(ServerProcess leaf, int n) throws Exception {
    Report report = ctx.report();
    byte[] payload = new byte[SIZE];
    long t0 = System.nanoTime();
    long published = -1;
    Backlog backlog = new Backlog(leaf);
    try (Clients clients = new Clients(leaf.natsUrl())) {
      Connection c = clients.connect("bench-fill");
      for (int i = 0; i < n; i++) {
        // leafgate may stop reading for a while as its store catches up; jnats' queue fills meanwhile.
        Throughput.publish(c, "telemetry.edge", payload, (int) STALL.toMillis());
      }
      c.flush(Duration.ofSeconds(60));
      published = System.nanoTime();
      if (clients.problem() != null) {
        report.problem("uplink: filling the backlog: " + clients.problem());
        return null;
      }
    }
    String stalled = backlog.awaitAtLeast(n, t0);
    if (stalled != null) {
      report.problem("uplink scenario stopped after filling the backlog: " + stalled);
      return null;
    }
    String d = String.format(Locale.ROOT, "%,d published unpaced in %.1f s; all buffered %.1f s after the start", n,
        (published - t0) / 1e9, (System.nanoTime() - t0) / 1e9);
    ctx.progress("uplink: backlog filled: %s", d);
    return d;
  }

  /** leafgate's {@code /leafz} uplink backlog_msgs, polled until it reaches a count. */
  private static final class Backlog {
    private final ServerProcess leaf;
    private long seen;
    private long lastChange = System.nanoTime();

    Backlog(ServerProcess leaf) {
      this.leaf = leaf;
    }

    /**
     * Waits until backlog_msgs is at least {@code count}; returns null then, or why it gave up
     * (no growth for {@link #STALL}, the phase's time bound, or leafgate gone). A reading of 0
     * after a higher one is ignored: /leafz reports 0 when its engine does not answer in time.
     */
    String awaitAtLeast(long count, long phaseStart) throws InterruptedException {
      while (seen < count) {
        if (!leaf.isAlive()) {
          return "leafgate exited; log:\n" + ServerProcess.tail(leaf.log(), 5);
        }
        long b;
        try {
          b = Monitor.number(Monitor.get(leaf.monitorUrl(), "/leafz"), "uplink", "backlog_msgs");
        } catch (IOException e) {
          b = -1;
        }
        long now = System.nanoTime();
        if (b > seen) {
          seen = b;
          lastChange = now;
        } else if (now - lastChange > STALL.toNanos() || now - phaseStart > MAX_PHASE.toNanos()) {
          return String.format(Locale.ROOT, "leafgate's /leafz backlog_msgs stays at %,d while %,d are expected; "
              + "log: %s", seen, count, leaf.warningsSince(0, 3));
        }
        if (seen < count) {
          Thread.sleep(50);
        }
      }
      return null;
    }
  }

  /** Waits for a launched server; on failure records a problem and returns null. */
  private ServerProcess start(ServerProcess p) throws InterruptedException {
    started.add(p);
    try {
      return p.awaitReady(START_TIMEOUT);
    } catch (IOException e) {
      ctx.report().problem("uplink scenario stopped: " + e.getMessage());
      return null;
    }
  }

  private ServerProcess launchHub(Path dir, int leafPort) throws IOException {
    Path config = Context.writeConfig(dir, "hub.conf", String.join("\n",
        "# written by the bench (uplink scenario): the hub",
        "server_name: hub",
        "host: 127.0.0.1",
        "port: -1",
        "http_port: -1",
        "ports_file_dir: " + Context.quote(dir),
        "jetstream {",
        "  store_dir: " + Context.quote(dir.resolve("js")),
        "  domain: hub",
        "}",
        "leafnodes {",
        "  listen: \"127.0.0.1:" + leafPort + "\"",
        "}",
        ""));
    return ServerProcess.launch(ServerKind.NATS_SERVER, ctx.programs(),
        ctx.programs().withConfig(ServerKind.NATS_SERVER, config), dir);
  }

  private ServerProcess launchLeafgate(Path dir, long leafPort, int window) throws IOException {
    Path config = Context.writeConfig(dir, "leafgate.conf", String.join("\n",
        "# written by the bench (uplink scenario): the edge",
        "host: 127.0.0.1",
        "port: -1",
        "http_port: -1",
        "mqtt {",
        "  port: -1",
        "}",
        "store_dir: " + Context.quote(dir),
        "leafnodes {",
        "  reconnect: \"200ms\"",
        "  reconnect_max: \"1s\"",
        "  remotes = [ { urls: [\"nats-leaf://127.0.0.1:" + leafPort + "\"] } ]",
        "}",
        "uplink {",
        "  buffer: [\"telemetry.>\"]",
        "  hub_stream: " + STREAM,
        "  replay_window: " + window,
        "}",
        ""));
    return ServerProcess.launch(ServerKind.LEAFGATE, ctx.programs(),
        ctx.programs().withConfig(ServerKind.LEAFGATE, config), dir);
  }

  /** Live latency samples, split at the end of the drain by the time each message was sent. */
  static final class LiveSamples {
    static final Duration SETTLE = Duration.ofMillis(200);
    private final List<long[]> received = new ArrayList<>();
    private final AtomicLong sentDuring = new AtomicLong();
    private final AtomicLong sentIdle = new AtomicLong();
    private volatile long drainEnd = Long.MAX_VALUE;

    /** Called by the publisher for each message it sends at {@code sentAt}. */
    void sent(long sentAt) {
      if (sentAt < drainEnd) {
        sentDuring.incrementAndGet();
      } else if (sentAt >= drainEnd + SETTLE.toNanos()) {
        sentIdle.incrementAndGet();
      }
    }

    long sent(boolean during) {
      return during ? sentDuring.get() : sentIdle.get();
    }

    synchronized void received(byte[] data) {
      long now = System.nanoTime();
      if (data != null && data.length >= 8) {
        received.add(new long[] {ByteBuffer.wrap(data).getLong(0), now});
      }
    }

    void drainEnded(long at) {
      drainEnd = at;
    }

    record Percentiles(Measured p50, Measured p99, int count) {}

    /** p50 and p99 in ms of the messages sent during the drain, or of those sent once the link was idle. */
    synchronized Percentiles percentiles(boolean during) {
      long[] v = new long[received.size()];
      int k = 0;
      for (long[] r : received) {
        boolean inDrain = r[0] < drainEnd;
        boolean inIdle = r[0] >= drainEnd + SETTLE.toNanos();
        if (during ? inDrain : inIdle) {
          v[k++] = r[1] - r[0];
        }
      }
      if (k == 0) {
        Measured f = Measured.failed("no live message received");
        return new Percentiles(f, f, 0);
      }
      double p50 = Stats.percentile(v, k, 50) / 1e6;
      double p99 = Stats.percentile(v, k, 99) / 1e6;
      return new Percentiles(Measured.of(p50), Measured.of(p99), k);
    }
  }

  /** Publishes a timestamp to {@code live.x} every 1/{@value #LIVE_RATE} s on its own thread. */
  private static final class LivePublisher {
    private final Connection c;
    private final LiveSamples samples;
    private final Thread thread;
    private volatile boolean stop;

    LivePublisher(Connection c, LiveSamples samples) {
      this.c = c;
      this.samples = samples;
      this.thread = new Thread(this::loop, "bench-live-pub");
      this.thread.setDaemon(true);
    }

    void start() {
      thread.start();
    }

    private void loop() {
      long period = 1_000_000_000L / LIVE_RATE;
      long next = System.nanoTime();
      byte[] payload = new byte[SIZE];
      while (!stop) {
        long now = System.nanoTime();
        ByteBuffer.wrap(payload).putLong(0, now);
        samples.sent(now);
        c.publish("live.x", payload);
        next += period;
        long wait = next - System.nanoTime();
        if (wait > 0) {
          LockSupport.parkNanos(wait);
        }
      }
    }

    void stop() throws InterruptedException {
      stop = true;
      thread.join(5000);
    }
  }
}
