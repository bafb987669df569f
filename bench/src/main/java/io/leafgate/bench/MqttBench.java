package io.leafgate.bench;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The MQTT family: leafgate's MQTT listener against a mosquitto broker, both started here with a
 * config file. QoS 0 and QoS 1 message rates with raw-socket clients ({@link MqttLoad}), then the
 * resident memory of a fresh server of each with N idle MQTT connections
 * ({@link IdleConnections}, MQTT dialect).
 *
 * <p>mosquitto gets the limits that leafgate has built in (its MQTT block has no keys for them): at
 * most {@value #INFLIGHT} QoS 1 messages in flight to a client, and {@value #QUEUED} more queued in
 * memory before it drops. The publisher allows {@value #PUBLISH_WINDOW} unacknowledged QoS 1
 * PUBLISHes on both.
 */
final class MqttBench {
  private static final int SIZE = 16;
  static final int INFLIGHT = 1024;
  static final int QUEUED = 100_000;
  static final int PUBLISH_WINDOW = 100;
  private static final Duration START_TIMEOUT = Duration.ofSeconds(120);
  private static final List<ServerKind> PAIR = List.of(ServerKind.MOSQUITTO, ServerKind.LEAFGATE);
  private static final List<ServerKind> PAIR_REVERSED = List.of(ServerKind.LEAFGATE, ServerKind.MOSQUITTO);

  private final Context ctx;
  private int order;

  MqttBench(Context ctx) {
    this.ctx = ctx;
  }

  void run() throws Exception {
    Report report = ctx.report();
    if (ctx.programs().mosquitto() == null) {
      report.problem("mqtt scenarios skipped: no mosquitto binary (install Debian's mosquitto, or use --mosquitto)");
      return;
    }
    Report.Table t = report.table("MQTT 3.1.1: raw-socket clients", "mosquitto");
    throughput(t);
    memory(t);
  }

  private void throughput(Report.Table t) throws Exception {
    Report report = ctx.report();
    Report.Row q0 = t.row("QoS 0, 1 pub -> 1 sub, received", SIZE + " B", Report.Unit.MSGS_PER_S)
        .target(Report.Target.ratioAtLeast(1.0));
    Report.Row q1 = t.row("QoS 1 (" + PUBLISH_WINDOW + " unacked per publisher), 1 pub -> 1 sub, received",
        SIZE + " B", Report.Unit.MSGS_PER_S).target(Report.Target.ratioAtLeast(1.0));
    Map<ServerKind, ServerProcess> servers = new EnumMap<>(ServerKind.class);
    try {
      for (ServerKind kind : PAIR) {
        ServerProcess p = launch(kind, ctx.tmp().resolve("load-" + kind.label()));
        servers.put(kind, p);
        try {
          p.awaitReady(START_TIMEOUT);
        } catch (IOException e) {
          report.problem("mqtt load scenarios skipped: " + e.getMessage());
          return;
        }
        ctx.progress("mqtt: %s at mqtt://%s:%d (pid %d)", kind.label(), p.mqttAddress().getHostString(),
            p.mqttAddress().getPort(), p.serverPid());
      }
      BenchOptions o = ctx.options();
      long pauses = -1;
      long droppedQos1 = -1;
      for (int qos = 0; qos <= 1; qos++) {
        Report.Row row = qos == 0 ? q0 : q1;
        MqttLoad.Settings warm = new MqttLoad.Settings(qos, SIZE, PUBLISH_WINDOW, o.warmUpFor(), Long.MAX_VALUE,
            o.stallTimeout());
        MqttLoad.Settings settings = new MqttLoad.Settings(qos, SIZE, PUBLISH_WINDOW, o.publishFor(),
            o.maxMessages(SIZE), o.stallTimeout());
        for (ServerKind kind : PAIR) {
          Measured m = once(servers.get(kind), warm);
          if (!m.ok()) {
            report.problem("warm-up of MQTT QoS " + qos + " on " + kind.label() + ": " + m.problem());
          }
        }
        if (qos == 1) {
          pauses = leafgateMqttCounter(servers.get(ServerKind.LEAFGATE), "publisher_pauses");
          droppedQos1 = droppedByLeafgate(servers.get(ServerKind.LEAFGATE));
        }
        for (int rep = 0; rep < o.runs(); rep++) {
          for (ServerKind kind : order++ % 2 == 0 ? PAIR : PAIR_REVERSED) {
            Measured m = once(servers.get(kind), settings);
            ctx.progress("mqtt qos %d %d B: %s %s", qos, SIZE, kind.label(), Context.show(m, "msgs/s"));
            report.add(row, kind == ServerKind.LEAFGATE ? Report.Side.LEAFGATE : Report.Side.BASELINE, m);
          }
        }
      }
      long pausesAfter = leafgateMqttCounter(servers.get(ServerKind.LEAFGATE), "publisher_pauses");
      long droppedAfter = droppedByLeafgate(servers.get(ServerKind.LEAFGATE));
      if (pauses >= 0 && pausesAfter >= 0 && droppedQos1 >= 0 && droppedAfter >= 0) {
        report.note(String.format(Locale.ROOT, "MQTT QoS 1 backpressure: over the measured QoS 1 runs, leafgate's "
            + "publisher pauses (the subscriber's in-memory queue past half of its bound; `/varz` "
            + "mqtt.publisher_pauses) grew by %,d and its queue-full drops (mqtt.dropped.queue_full) by %,d.",
            pausesAfter - pauses, droppedAfter - droppedQos1));
      }
      for (ServerProcess p : servers.values()) {
        if (!p.isAlive()) {
          report.problem(p.kind().label() + " died during the MQTT load scenarios; log:\n"
              + ServerProcess.tail(p.log(), 20));
        }
      }
      report.note(String.format(Locale.ROOT, "MQTT rate: raw-socket MQTT 3.1.1 clients written in the bench (no "
          + "client library: Paho would be the bottleneck), one publisher and one subscriber on two connections, "
          + "clean sessions, topic `bench/mqtt/qN/<run>`. The publisher writes pre-encoded PUBLISH frames in "
          + "batches of 256 for %s (at most %,d msgs), then a PINGREQ; at QoS 1 it keeps at most %d PUBLISHes "
          + "without PUBACK, and the subscriber (QoS 1 subscription) answers each PUBLISH with a PUBACK, one "
          + "write per read. Figure: messages received / time from the first publish to the last message "
          + "received. At QoS 0 a loss is a warning (the rate counts what arrived), at QoS 1 a failure. One %s "
          + "warm-up run per broker and QoS first. mosquitto %s runs with `persistence false`, "
          + "`max_inflight_messages %d` and `max_queued_messages %d`, leafgate's built-in MQTT limits "
          + "(not configurable in leafgate), so both send the subscriber at most %d unacknowledged QoS 1 messages "
          + "and queue at most %,d more in memory.", Context.span(o.publishFor()), o.maxMessages(SIZE),
          PUBLISH_WINDOW, Context.span(o.warmUpFor()), mosquittoVersion(), INFLIGHT, QUEUED, INFLIGHT, QUEUED));
    } finally {
      servers.values().forEach(ServerProcess::close);
    }
  }

  private Measured once(ServerProcess server, MqttLoad.Settings s) {
    long mark = server.logMark();
    long dropped = droppedByLeafgate(server);
    Measured m;
    try {
      m = MqttLoad.run(server.mqttAddress(), s);
    } catch (Exception e) {
      m = Measured.failed(e.toString());
    }
    if (m.problem() != null) {
      String w = server.warningsSince(mark, 2);
      if (!w.isEmpty()) {
        m = new Measured(m.value(), m.problem() + "; " + server.kind().label() + " log: " + w);
      }
      long more = droppedByLeafgate(server) - dropped;
      if (dropped >= 0 && more > 0) {
        m = new Measured(m.value(), String.format(Locale.ROOT, "%s; leafgate's /varz mqtt.dropped.queue_full grew "
            + "by %,d (a connected client's in-memory queue was full)", m.problem(), more));
      }
    }
    return m;
  }

  /** leafgate's count of deliveries dropped on a full client queue ({@code /varz} mqtt.dropped.queue_full); -1 if none. */
  private static long droppedByLeafgate(ServerProcess server) {
    return leafgateMqttCounter(server, "dropped", "queue_full");
  }

  /** A counter of leafgate's {@code /varz} mqtt section (path below {@code mqtt}); -1 if none. */
  private static long leafgateMqttCounter(ServerProcess server, String... path) {
    if (server == null || server.kind() != ServerKind.LEAFGATE) {
      return -1;
    }
    String[] full = new String[path.length + 1];
    full[0] = "mqtt";
    System.arraycopy(path, 0, full, 1, path.length);
    try {
      return Monitor.number(Monitor.get(server.monitorUrl(), "/varz"), full);
    } catch (IOException e) {
      return -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }

  private void memory(Report.Table t) throws Exception {
    Report report = ctx.report();
    BenchOptions o = ctx.options();
    int n = o.connections();
    Report.Row idle = t.row("RSS idle after start-up", "-", Report.Unit.MIB);
    Report.Row conns = t.row(String.format(Locale.ROOT, "RSS with %,d idle MQTT connections", n), "-",
        Report.Unit.MIB).target(Report.Target.leafgateAtMost(256));
    Report.Row per = t.row("RSS per idle MQTT connection", "-", Report.Unit.KIB);
    Resources res = new Resources(ctx.programs(), ctx.progress());
    for (ServerKind kind : PAIR) {
      Resources.Memory m;
      try {
        m = res.memory(launch(kind, ctx.tmp().resolve("memory-" + kind.label())), IdleConnections.Dialect.MQTT, n,
            o.idleSettle(), o.mqttConnectionsSettle());
      } catch (IOException e) {
        Measured f = Measured.failed(e.getMessage());
        m = new Resources.Memory(f, f, f);
      }
      Report.Side side = kind == ServerKind.LEAFGATE ? Report.Side.LEAFGATE : Report.Side.BASELINE;
      report.add(idle, side, kib2mib(m.idleKiB()));
      report.add(conns, side, kib2mib(m.withConnectionsKiB()));
      report.add(per, side, m.perConnectionKiB().ok() ? m.perConnectionKiB() : new Measured(Double.NaN, null));
    }
    report.note(String.format(Locale.ROOT, "MQTT memory: VmRSS of a fresh broker process, %s after start-up, then "
        + "%s after %,d raw TCP clients had each sent CONNECT (3.1.1, clean session, keep alive 3600 s) and read "
        + "a CONNACK that accepts it; they answer nothing after that. One measurement per broker; leafgate with "
        + "the launcher's default JVM flags, its MQTT listener from its config file.",
        Context.span(o.idleSettle()), Context.span(o.mqttConnectionsSettle()), n));
  }

  private static Measured kib2mib(Measured m) {
    return m.ok() ? new Measured(m.value() / 1024, m.problem()) : m;
  }

  /** Launches leafgate (its MQTT listener on a free port) or mosquitto (on a port reserved here). */
  private ServerProcess launch(ServerKind kind, Path dir) throws IOException {
    ServerProcess.Programs programs = ctx.programs();
    if (kind == ServerKind.LEAFGATE) {
      Path config = Context.writeConfig(dir, "leafgate.conf", String.join("\n",
          "# written by the bench (MQTT scenarios)",
          "host: 127.0.0.1",
          "port: -1",
          "http_port: -1",
          "mqtt {",
          "  host: 127.0.0.1",
          "  port: -1",
          "}",
          "store_dir: " + Context.quote(dir),
          ""));
      return ServerProcess.launch(kind, programs, programs.withConfig(kind, config), dir);
    }
    int port = Resources.freePort();
    Path config = Context.writeConfig(dir, "mosquitto.conf", String.join("\n",
        "# written by the bench (MQTT scenarios)",
        "listener " + port + " 127.0.0.1",
        "allow_anonymous true",
        "persistence false",
        "max_inflight_messages " + INFLIGHT,
        "max_queued_messages " + QUEUED,
        "log_dest stderr",
        "log_type error",
        "log_type warning",
        ""));
    return ServerProcess.launch(kind, programs, programs.withConfig(kind, config), dir).withMqttPort(port);
  }

  private String mosquittoVersion() {
    try {
      Process p = new ProcessBuilder(ctx.programs().mosquitto().toString(), "-h").redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
      p.waitFor();
      java.util.regex.Matcher m = java.util.regex.Pattern.compile("version (\\S+)").matcher(out);
      return m.find() ? m.group(1) : "?";
    } catch (IOException e) {
      return "?";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "?";
    }
  }
}
