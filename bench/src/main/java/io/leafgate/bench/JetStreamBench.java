package io.leafgate.bench;

import io.nats.client.Connection;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The JetStream family: acknowledged async publishing and pull consumption at 128 B (see
 * {@link JetStreamLoad}) against three servers running side by side, one loaded at a time:
 * leafgate with {@code jetstream { sync: always }} (the default: every commit fsynced before its
 * ack), leafgate with {@code sync: interval}, and nats-server with its file store. Also the bytes
 * each server wrote to storage per acknowledged message during a publish run, from
 * {@code /proc/PID/io} {@code write_bytes} read before the run and again once the server has
 * written nothing for {@code idleQuiet} (so that a later checkpoint counts).
 */
final class JetStreamBench {
  private static final int SIZE = 128;
  private static final Duration START_TIMEOUT = Duration.ofSeconds(120);

  /** The three servers. */
  enum Variant {
    NATS("nats-server", ServerKind.NATS_SERVER, null),
    ALWAYS("leafgate sync: always", ServerKind.LEAFGATE, "always"),
    INTERVAL("leafgate sync: interval", ServerKind.LEAFGATE, "interval");

    final String label;
    final ServerKind kind;
    final String sync;

    Variant(String label, ServerKind kind, String sync) {
      this.label = label;
      this.kind = kind;
      this.sync = sync;
    }
  }

  private final Context ctx;
  private final Map<Variant, ServerProcess> servers = new EnumMap<>(Variant.class);

  JetStreamBench(Context ctx) {
    this.ctx = ctx;
  }

  void run() throws Exception {
    Report report = ctx.report();
    Report.Table t = report.table("JetStream: 128 B messages, file storage", "nats-server");
    String win = "window " + JetStreamLoad.WINDOW;
    Report.Row pubAlways = t.row("async publish, acked (" + win + "), leafgate sync: always", "128 B",
        Report.Unit.MSGS_PER_S).target(Report.Target.ratioAtLeast(0.8));
    Report.Row pubInterval = t.row("async publish, acked (" + win + "), leafgate sync: interval", "128 B",
        Report.Unit.MSGS_PER_S);
    Report.Row pullAlways = t.row("durable pull consume + ack, leafgate sync: always", "128 B",
        Report.Unit.MSGS_PER_S);
    Report.Row pullInterval = t.row("durable pull consume + ack, leafgate sync: interval", "128 B",
        Report.Unit.MSGS_PER_S);
    Report.Row diskAlways = t.row("bytes written to storage per acked msg, sync: always", "128 B",
        Report.Unit.BYTES).target(Report.Target.ratioBelow(1.0));
    Report.Row diskInterval = t.row("bytes written to storage per acked msg, sync: interval", "128 B",
        Report.Unit.BYTES).target(Report.Target.ratioBelow(1.0));
    try {
      for (Variant v : Variant.values()) {
        ServerProcess p = launch(v);
        servers.put(v, p);
        try {
          p.awaitReady(START_TIMEOUT);
        } catch (IOException e) {
          report.problem("jetstream scenarios skipped: " + e.getMessage());
          return;
        }
        ctx.progress("jetstream: %s at %s (pid %d)", v.label, p.natsUrl(), p.serverPid());
      }
      JetStreamLoad.Limits limits = ctx.options().jetStreamLimits();
      for (Variant v : Variant.values()) {
        try {
          Result r = measure(v, "BENCH_WARM", limits.warmUpFor(), limits.consumeMax() / 5, limits, false);
          // A second, shorter pass on a new stream, as the measured runs will do: its connection and
          // API calls take paths the first pass's compiled code never saw, and leafgate's JIT then
          // recompiles the publish path (about 1.5 s of lower rate), which must not fall in run 1.
          if (r.publish.ok() && r.consume.ok()) {
            r = measure(v, "BENCH_WARM2", limits.warmUpFor().dividedBy(3), limits.consumeMax() / 10, limits, false);
          }
          if (!r.publish.ok() || !r.consume.ok()) {
            report.problem("jetstream warm-up on " + v.label + ": "
                + (r.publish.ok() ? r.consume.problem() : r.publish.problem()));
          }
        } catch (Exception e) {
          report.problem("jetstream warm-up on " + v.label + ": " + e);
        }
      }
      for (int rep = 0; rep < ctx.options().runs(); rep++) {
        for (Variant v : order(rep)) {
          Result r;
          try {
            r = measure(v, "BENCH_" + rep, limits.publishFor(), limits.consumeMax(), limits, true);
          } catch (Exception e) {
            Measured f = Measured.failed(e.toString());
            r = new Result(f, f, f);
          }
          ServerProcess server = servers.get(v);
          ctx.progress("jetstream run %d %s: publish %s, consume %s, %s written per msg", rep + 1, v.label,
              Context.show(r.publish, "msgs/s"), Context.show(r.consume, "msgs/s"), Context.show(r.diskPerMsg, "B"));
          switch (v) {
            case NATS -> {
              report.add(pubAlways, Report.Side.BASELINE, r.publish);
              report.add(pullAlways, Report.Side.BASELINE, r.consume);
              report.add(diskAlways, Report.Side.BASELINE, r.diskPerMsg);
              // The same figures again, their problems (if any) listed once above.
              report.add(pubInterval, Report.Side.BASELINE, quiet(r.publish));
              report.add(pullInterval, Report.Side.BASELINE, quiet(r.consume));
              report.add(diskInterval, Report.Side.BASELINE, quiet(r.diskPerMsg));
            }
            case ALWAYS -> {
              report.add(pubAlways, Report.Side.LEAFGATE, r.publish);
              report.add(pullAlways, Report.Side.LEAFGATE, r.consume);
              report.add(diskAlways, Report.Side.LEAFGATE, r.diskPerMsg);
            }
            case INTERVAL -> {
              report.add(pubInterval, Report.Side.LEAFGATE, r.publish);
              report.add(pullInterval, Report.Side.LEAFGATE, r.consume);
              report.add(diskInterval, Report.Side.LEAFGATE, r.diskPerMsg);
            }
          }
          if (!server.isAlive()) {
            report.problem(v.label + " died during the jetstream scenarios; log:\n"
                + ServerProcess.tail(server.log(), 20));
            return;
          }
        }
      }
      ctx.report().note(String.format(Locale.ROOT, "JetStream: three servers side by side, one loaded at a time "
          + "(the order rotates per repetition): leafgate `./leafgate run -c FILE` with `jetstream { sync: always }` "
          + "(the default: each group commit is fsynced before its PubAcks go out) or `sync: interval`, and "
          + "`nats-server -js -sd DIR` (file store, its default sync every 2 min). Each run creates a fresh "
          + "file-storage stream, publishes %d B messages with jnats `publishAsync` for %s (at most %,d msgs) "
          + "with at most %d PubAcks outstanding, the clock stopping at the last PubAck; then a durable pull "
          + "consumer (explicit ack, max_ack_pending %d) reads the first %,d messages (or all, if fewer) with "
          + "`consume()` in batches of %d and acks each; its clock stops when the consumer's ack floor reaches "
          + "the last one. Per server first, a %s warm-up publish (and a pull of a fifth as many), then a third "
          + "as long on a second new stream (the first run on a new stream after a long one otherwise catches "
          + "leafgate's JIT recompiling its publish path).",
          SIZE, Context.span(limits.publishFor()), limits.maxMessages(), JetStreamLoad.WINDOW,
          JetStreamLoad.MAX_ACK_PENDING, limits.consumeMax(), JetStreamLoad.PULL_BATCH,
          Context.span(limits.warmUpFor())));
      ctx.report().note(String.format(Locale.ROOT, "JetStream disk figure: `write_bytes` of `/proc/PID/io` of the "
          + "server process, read just before the publish run and again after the server has written nothing "
          + "for %s (at most %s), so writes that follow the run (SQLite WAL checkpoints, nats-server's block "
          + "flushes) count; divided by the acknowledged messages. The kernel counts a page once each time it "
          + "is dirtied, so a page rewritten before write-back counts once and a page made clean by an fsync "
          + "and written again counts again: this is what reaches the storage layer, the flash wear that "
          + "matters on a Pi. Store on %s.", Context.span(limits.idleQuiet()), Context.span(limits.idleMax()),
          ProcInfo.fileSystem(ctx.tmp())));
    } finally {
      servers.values().forEach(ServerProcess::close);
    }
  }

  private static Measured quiet(Measured m) {
    return new Measured(m.value(), null);
  }

  /** The rotation of the three servers for repetition {@code rep}. */
  private static List<Variant> order(int rep) {
    List<Variant> all = new ArrayList<>(List.of(Variant.values()));
    java.util.Collections.rotate(all, -rep);
    return all;
  }

  private ServerProcess launch(Variant v) throws IOException {
    Path dir = ctx.tmp().resolve("jetstream-" + v.name().toLowerCase(Locale.ROOT));
    ServerProcess.Programs programs = ctx.programs();
    if (v.kind == ServerKind.NATS_SERVER) {
      List<String> cmd = new ArrayList<>(programs.command(ServerKind.NATS_SERVER, -1, dir));
      cmd.addAll(List.of("-js", "-sd", dir.resolve("store").toString()));
      return ServerProcess.launch(v.kind, programs, cmd, dir);
    }
    Path config = Context.writeConfig(dir, "leafgate.conf", String.join("\n",
        "# written by the bench (JetStream scenarios)",
        "host: 127.0.0.1",
        "port: -1",
        "http_port: -1",
        "mqtt { port: -1 }",
        "store_dir: " + Context.quote(dir),
        "jetstream { sync: " + v.sync + " }",
        ""));
    return ServerProcess.launch(v.kind, programs, programs.withConfig(v.kind, config), dir);
  }

  private record Result(Measured publish, Measured consume, Measured diskPerMsg) {}

  /** One publish run into a fresh stream {@code stream}, the disk figure, then one pull run. */
  private Result measure(Variant v, String stream, Duration publishFor, long consumeMax, JetStreamLoad.Limits limits,
      boolean disk) throws Exception {
    ServerProcess server = servers.get(v);
    String subject = "js." + stream.toLowerCase(Locale.ROOT);
    long mark = server.logMark();
    try (Clients clients = new Clients(server.natsUrl())) {
      Connection c = clients.connect("bench-js");
      JetStreamLoad.createStream(c, stream, subject + ".>");
      long before = disk ? server.writeBytes() : 0;
      JetStreamLoad.Published pub = JetStreamLoad.publish(c, subject + ".x", SIZE, publishFor,
          limits.maxMessages(), limits.stallTimeout());
      Measured diskPerMsg = Measured.failed("no figure");
      if (disk && pub.acked() > 0) {
        long after = awaitQuiet(server, limits.idleQuiet(), limits.idleMax());
        diskPerMsg = Measured.of((after - before) / (double) pub.acked());
      }
      Measured publish = withProblems(pub.rate(), clients, server, mark);
      Measured consume;
      if (pub.acked() == 0) {
        consume = Measured.failed("nothing to consume");
      } else {
        mark = server.logMark();
        consume = withProblems(JetStreamLoad.consume(c, stream, Math.min(pub.acked(), consumeMax),
            limits.stallTimeout()), clients, server, mark);
      }
      return new Result(publish, consume, diskPerMsg);
    }
  }

  private static Measured withProblems(Measured m, Clients clients, ServerProcess server, long mark) {
    String p = clients.problem();
    if (m.ok() && p == null) {
      return m;
    }
    String w = server.warningsSince(mark, 2);
    String why = (m.problem() != null ? m.problem() : p) + (w.isEmpty() ? "" : "; log: " + w);
    return Measured.failed(why);
  }

  /**
   * Waits until the server's {@code write_bytes} has not moved for {@code quiet} (or {@code max}
   * has passed) and returns the last reading.
   */
  static long awaitQuiet(ServerProcess server, Duration quiet, Duration max) throws IOException, InterruptedException {
    long start = System.nanoTime();
    long last = server.writeBytes();
    long since = start;
    while (true) {
      Thread.sleep(100);
      long now = System.nanoTime();
      long w = server.writeBytes();
      if (w != last) {
        last = w;
        since = now;
      } else if (now - since >= quiet.toNanos() || now - start >= max.toNanos()) {
        return w;
      }
    }
  }
}
