package io.leafgate.bench;

import io.leafgate.bench.BenchOptions.Scenario;
import io.nats.client.Nats;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The comparative benchmark: the same jnats load against leafgate and against a nats-server that
 * it starts itself, both as separate processes on loopback, in one run. Prints one table of load
 * figures and one of resource figures, each with the ratio leafgate/nats-server, and writes them
 * to a Markdown file. Progress goes to stderr, the report to stdout.
 *
 * <p>Each cell is measured {@code --runs} times and the median is shown. Repetitions alternate
 * which server goes first. Started by {@code bench/run}; see {@link BenchOptions#USAGE}.
 */
public final class Bench {
  private static final int[] SIZES = {16, 1024};
  private static final Duration START_TIMEOUT = Duration.ofSeconds(120);

  private final BenchOptions options;
  private final ServerProcess.Programs programs;
  private final Report report = new Report();
  private final PrintStream err = System.err;
  private final List<ServerProcess> running = new ArrayList<>();
  private Path tmp;
  private int order;

  private Bench(BenchOptions options) {
    this.options = options;
    this.programs = new ServerProcess.Programs(options.root(), options.natsServer(), options.mosquitto());
  }

  /** Runs the benchmark; exit code 0 when it ran (whatever the figures), 2 on bad arguments, 1 on failure. */
  public static void main(String[] args) {
    if (List.of(args).contains("--help") || List.of(args).contains("-h")) {
      System.out.print(BenchOptions.USAGE);
      return;
    }
    BenchOptions options;
    try {
      options = BenchOptions.parse(args);
    } catch (IllegalArgumentException e) {
      System.err.println("bench: " + e.getMessage());
      System.err.print(BenchOptions.USAGE);
      System.exit(2);
      return;
    }
    int code;
    try {
      code = new Bench(options).run();
    } catch (Exception e) {
      System.err.println("bench: stopped by " + e);
      for (StackTraceElement f : e.getStackTrace()) {
        if (f.getClassName().startsWith("io.leafgate.bench.")) {
          System.err.println("  at " + f);
        }
      }
      code = 1;
    }
    System.exit(code);
  }

  private int run() throws Exception {
    tmp = Files.createTempDirectory("leafgate-bench-");
    Thread cleanup = new Thread(this::stopAll, "bench-cleanup");
    Runtime.getRuntime().addShutdownHook(cleanup);
    List<String> header = header();
    String loadAtStart = ProcInfo.loadAverage();
    long t0;
    long buildNanos;
    try {
      long b0 = System.nanoTime();
      prepareLeafgate();
      t0 = System.nanoTime();
      buildNanos = t0 - b0;
      if (options.wants(Scenario.STARTUP)) {
        timed("start-up", this::startup);
      }
      if (options.wants(Scenario.MEMORY)) {
        timed("memory", this::memory);
      }
      if (Stream.of(Scenario.PUB, Scenario.PUBSUB, Scenario.FANOUT, Scenario.QUEUE, Scenario.REQREP)
          .anyMatch(options::wants)) {
        timed("load", this::load);
      }
      if (options.wants(Scenario.JETSTREAM)) {
        family("jetstream", () -> new JetStreamBench(context("jetstream")).run());
      }
      if (options.wants(Scenario.UPLINK)) {
        family("uplink", () -> new UplinkBench(context("uplink")).run());
      }
      if (options.wants(Scenario.MQTT)) {
        family("mqtt", () -> new MqttBench(context("mqtt")).run());
      }
    } catch (Exception e) {
      stopAll();
      System.err.println("bench: server logs kept in " + tmp);
      throw e;
    } finally {
      stopAll();
    }
    header.add(String.format(Locale.ROOT, "Wall time: %.0f s (plus %.1f s for ./leafgate --version, which builds the "
        + "distribution if it is stale). Load average (1/5/15 min) at the start: %s, at the end: %s; "
        + "figures from a busy machine are noise.", (System.nanoTime() - t0) / 1e9, buildNanos / 1e9, loadAtStart,
        ProcInfo.loadAverage()));
    String text = report.render(header);
    System.out.print(text);
    Files.createDirectories(options.out().toAbsolutePath().getParent());
    Files.writeString(options.out(), text, StandardCharsets.UTF_8);
    System.out.println("\n(written to " + options.out() + ")");
    if (options.keep()) {
      System.out.println("(server logs kept in " + tmp + ")");
    } else {
      deleteTree(tmp);
    }
    return 0;
  }

  private List<String> header() throws IOException, InterruptedException {
    List<String> h = new ArrayList<>();
    h.add(options.wants(Scenario.MQTT) ? "# leafgate vs nats-server and mosquitto" : "# leafgate vs nats-server");
    h.add("");
    h.add("Command: `" + options.command() + "`  ");
    h.add("Date: " + ZonedDateTime.now(ZoneOffset.UTC).format(DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm 'UTC'"))
        + ", profile: " + (options.quick() ? "quick" : "default") + ", runs per cell: " + options.runs()
        + " (median shown, order of the servers alternates).  ");
    h.add("Machine: " + Runtime.getRuntime().availableProcessors() + " cores, " + System.getProperty("os.name") + " "
        + System.getProperty("os.version") + ", Java " + System.getProperty("java.version") + "; "
        + firstLine(List.of(options.natsServer().toString(), "--version")) + "; jnats " + jnatsVersion()
        + (options.wants(Scenario.MQTT) && options.mosquitto() != null
        ? "; " + firstLine(List.of(options.mosquitto().toString(), "-h")) : "")
        + "; leafgate at " + firstLine(List.of("git", "-C", options.root().toString(), "describe", "--always",
        "--dirty")) + ".  ");
    h.add("All servers and clients on loopback; every NATS client is jnats with default options (publisher, "
        + "subscribers with a Dispatcher, requester); each subscriber on its own connection"
        + (options.wants(Scenario.MQTT) ? "; MQTT clients are raw sockets (see the MQTT notes)." : ".")
        + " Store folders are on " + ProcInfo.fileSystem(Path.of(System.getProperty("java.io.tmpdir"))) + ".");
    return h;
  }

  /** The context of a section that keeps its servers' folders under {@code tmp/<name>}. */
  private Context context(String name) {
    return new Context(options, programs, report, tmp.resolve(name), this::progress);
  }

  /** A section of the benchmark. */
  private interface Section {
    void run() throws Exception;
  }

  private void timed(String name, Section section) throws Exception {
    long t = System.nanoTime();
    section.run();
    progress(String.format(Locale.ROOT, "%s section took %.1f s", name, (System.nanoTime() - t) / 1e9));
  }

  /**
   * Runs a family of scenarios that starts servers of its own; when it stops on an exception (a
   * server died, say), that goes under "Problems" with where it happened, its servers are stopped
   * (by the family itself, or at the latest by the final clean-up) and the next family runs.
   */
  private void family(String name, Section section) throws InterruptedException {
    try {
      timed(name, section);
    } catch (InterruptedException e) {
      throw e;
    } catch (Exception e) {
      StringBuilder where = new StringBuilder();
      for (StackTraceElement f : e.getStackTrace()) {
        if (f.getClassName().startsWith("io.leafgate.bench.") && where.length() < 300) {
          where.append(where.length() == 0 ? " at " : " < ").append(f.getFileName()).append(':')
              .append(f.getLineNumber());
        }
      }
      progress(name + " section stopped by " + e + where);
      report.problem(name + " scenarios stopped by " + e + where + " (figures measured before are kept)");
    }
  }

  /** Runs the launcher once so the distribution is built before anything is timed. */
  private void prepareLeafgate() throws IOException, InterruptedException {
    err.println("bench: checking the leafgate distribution (./leafgate --version builds it if stale)");
    Process p = new ProcessBuilder(options.root().resolve("leafgate").toString(), "--version")
        .directory(options.root().toFile()).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.INHERIT).start();
    if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0) {
      throw new IOException("./leafgate --version failed; the distribution does not build");
    }
  }

  // Start-up and memory

  private void startup() throws IOException, InterruptedException {
    Resources res = new Resources(programs, this::progress);
    Report.Row row = report.resourceRow("start-up to first INFO", "-", Report.Unit.MILLIS);
    for (int rep = 0; rep < options.runs(); rep++) {
      for (ServerKind kind : nextOrder()) {
        Measured m = res.startupMillis(kind, tmp.resolve("startup-" + kind.label() + "-" + rep));
        progress(String.format(Locale.ROOT, "startup: %s %s", kind.label(), show(m, "ms")));
        report.add(row, kind, m);
      }
    }
    report.note("Start-up: from the process launch to an INFO read on the NATS port (polled every 1 ms), "
        + options.runs() + " launch(es) per server; leafgate through ./leafgate run (script + JVM, dist already "
        + "built), nats-server from its binary; both with -p <free port> -m -1.");
  }

  private void memory() throws IOException, InterruptedException {
    Resources res = new Resources(programs, this::progress);
    int n = options.connections();
    Report.Row idle = report.resourceRow("RSS idle after start-up", "-", Report.Unit.MIB);
    Report.Row conns = report.resourceRow(String.format(Locale.ROOT, "RSS with %,d idle connections", n), "-",
        Report.Unit.MIB);
    Report.Row per = report.resourceRow("RSS per idle connection", "-", Report.Unit.KIB);
    for (ServerKind kind : ServerKind.NATS_PAIR) {
      Resources.Memory m;
      try {
        m = res.memory(kind, tmp.resolve("memory-" + kind.label()), n, options.idleSettle(),
            options.connectionsSettle());
      } catch (IOException e) {
        Measured f = Measured.failed(e.getMessage());
        m = new Resources.Memory(f, f, f);
      }
      report.add(idle, kind, kib2mib(m.idleKiB()));
      report.add(conns, kind, kib2mib(m.withConnectionsKiB()));
      // A failure is listed once, under the 10k row.
      report.add(per, kind, m.perConnectionKiB().ok() ? m.perConnectionKiB() : new Measured(Double.NaN, null));
    }
    report.note(String.format(Locale.ROOT, "Memory: VmRSS of a fresh server process, %s after start-up, then "
        + "%s after %,d raw TCP clients (CONNECT, PING, answer PINGs) were all established; one "
        + "measurement per server. leafgate runs with the launcher's default JVM flags (LEAFGATE_JAVA_OPTS "
        + "is removed from its environment). Open-files limit of the bench JVM: %s (bench/run raises it with "
        + "ulimit -n; the servers inherit it).", span(options.idleSettle()),
        span(options.connectionsSettle()), n, openFilesLimit()));
  }

  private static Measured kib2mib(Measured m) {
    return m.ok() ? new Measured(m.value() / 1024, m.problem()) : m;
  }

  private static String openFilesLimit() {
    try {
      return Long.toString(ProcInfo.openFilesLimit("self"));
    } catch (IOException e) {
      return "unknown";
    }
  }

  // Load

  private void load() throws Exception {
    Map<ServerKind, ServerProcess> servers = new EnumMap<>(ServerKind.class);
    for (ServerKind kind : ServerKind.NATS_PAIR) {
      ServerProcess p = ServerProcess.launch(kind, programs, -1, tmp.resolve("load-" + kind.label()));
      running.add(p);
      try {
        servers.put(kind, p.awaitReady(START_TIMEOUT));
      } catch (IOException e) {
        report.problem("load scenarios skipped: " + e.getMessage());
        return;
      }
      progress("load: " + kind.label() + " at " + p.natsUrl() + " (pid " + p.serverPid() + ")");
    }
    servers.get(ServerKind.LEAFGATE).jvmOptions()
        .ifPresent(o -> report.note("leafgate JVM options (from the launcher): `" + o + "`."));

    throughput(servers, Scenario.PUB, "publish-only", Throughput.Shape.PUBLISH_ONLY);
    throughput(servers, Scenario.PUBSUB, "1 pub -> 1 sub, received", Throughput.Shape.ONE_TO_ONE);
    throughput(servers, Scenario.FANOUT, "fan-out 1 -> 4 subs, received in total", Throughput.Shape.FAN_OUT);
    throughput(servers, Scenario.QUEUE, "queue group of 4, received in total", Throughput.Shape.QUEUE_GROUP);
    if (options.wants(Scenario.REQREP)) {
      latency(servers);
    }
    if (Stream.of(Scenario.PUB, Scenario.PUBSUB, Scenario.FANOUT, Scenario.QUEUE).anyMatch(options::wants)) {
      report.note(String.format(Locale.ROOT, "Throughput: each run publishes for %s (at most %,d / %,d msgs "
          + "of 16 B / 1 KB), flushes, and waits until every subscriber has every message; the clock stops at the "
          + "last message received (publish-only: at the flush's PONG). Before the measured runs of each scenario "
          + "and size, one %s warm-up run per server (the JIT of leafgate needs it).",
          span(options.publishFor()), options.maxMessages(16), options.maxMessages(1024),
          span(options.warmUpFor())));
    }

    for (ServerKind kind : ServerKind.NATS_PAIR) {
      ServerProcess p = servers.get(kind);
      if (!p.isAlive()) {
        report.problem(kind.label() + " died during the load scenarios; log:\n" + ServerProcess.tail(p.log(), 20));
      }
    }
  }

  private void throughput(Map<ServerKind, ServerProcess> servers, Scenario s, String label, Throughput.Shape shape) {
    if (!options.wants(s)) {
      return;
    }
    for (int size : SIZES) {
      Report.Row row = report.loadRow(label, sizeLabel(size), Report.Unit.MSGS_PER_S);
      Throughput.Limits limits = new Throughput.Limits(options.publishFor(), options.maxMessages(size),
          options.stallTimeout());
      Throughput.Limits warm = new Throughput.Limits(options.warmUpFor(), Long.MAX_VALUE, options.stallTimeout());
      for (ServerKind kind : ServerKind.NATS_PAIR) {
        ServerProcess server = servers.get(kind);
        long mark = server.logMark();
        try {
          Measured m = withServerWarnings(Throughput.run(server.natsUrl(), shape, size, warm), server, mark);
          if (!m.ok()) {
            report.problem("warm-up of " + s.cliName() + " " + sizeLabel(size) + " on " + kind.label() + ": "
                + m.problem());
          }
        } catch (Exception e) {
          report.problem("warm-up of " + s.cliName() + " " + sizeLabel(size) + " on " + kind.label() + ": " + e);
        }
      }
      for (int rep = 0; rep < options.runs(); rep++) {
        for (ServerKind kind : nextOrder()) {
          ServerProcess server = servers.get(kind);
          long mark = server.logMark();
          Measured m;
          try {
            m = Throughput.run(server.natsUrl(), shape, size, limits);
          } catch (Exception e) {
            m = Measured.failed(e.toString());
          }
          m = withServerWarnings(m, server, mark);
          progress(String.format(Locale.ROOT, "%s %s: %s %s", s.cliName(), sizeLabel(size), kind.label(),
              show(m, "msgs/s")));
          report.add(row, kind, m);
        }
      }
    }
  }

  private void latency(Map<ServerKind, ServerProcess> servers) {
    for (int size : SIZES) {
      Report.Row p50 = report.loadRow("request/reply p50", sizeLabel(size), Report.Unit.MICROS);
      Report.Row p99 = report.loadRow("request/reply p99", sizeLabel(size), Report.Unit.MICROS);
      for (int rep = 0; rep < options.runs(); rep++) {
        for (ServerKind kind : nextOrder()) {
          ServerProcess server = servers.get(kind);
          long mark = server.logMark();
          Latency.Result r;
          try {
            r = Latency.run(server.natsUrl(), size, options.latencyLimits());
          } catch (Exception e) {
            r = Latency.Result.failed(e.toString());
          }
          r = new Latency.Result(withServerWarnings(r.p50(), server, mark), r.p99());
          progress(String.format(Locale.ROOT, "reqrep %s: %s p50 %s, p99 %s", sizeLabel(size), kind.label(),
              show(r.p50(), "µs"), show(r.p99(), "µs")));
          report.add(p50, kind, r.p50());
          // The same problem, if any, is already listed once under p50.
          report.add(p99, kind, new Measured(r.p99().value(), null));
        }
      }
    }
    Latency.Limits l = options.latencyLimits();
    report.note(String.format(Locale.ROOT, "Request/reply: one requester, one responder (Dispatcher) on two "
        + "connections; sequential requests, %s warm-up then %s measured per run; reply size = request "
        + "size.", span(l.warmFor()), span(l.measureFor())));
  }

  /** Adds what the server logged as warnings during a failed run to the run's problem. */
  private static Measured withServerWarnings(Measured m, ServerProcess server, long mark) {
    if (m.problem() == null) {
      return m;
    }
    String w = server.warningsSince(mark, 2);
    return w.isEmpty() ? m : new Measured(m.value(), m.problem() + "; " + server.kind().label() + " log: " + w);
  }

  /** The server order of the next repetition: it alternates on every call. */
  private List<ServerKind> nextOrder() {
    return order++ % 2 == 0 ? List.of(ServerKind.NATS_SERVER, ServerKind.LEAFGATE)
        : List.of(ServerKind.LEAFGATE, ServerKind.NATS_SERVER);
  }

  // Helpers

  /** A duration for the notes: "300 ms", "2.5 s". */
  private static String span(Duration d) {
    return d.toMillis() < 1000 ? d.toMillis() + " ms" : String.format(Locale.ROOT, "%.1f s", d.toMillis() / 1e3);
  }

  private static String sizeLabel(int size) {
    return size >= 1024 ? size / 1024 + " KB" : size + " B";
  }

  private static String show(Measured m, String unit) {
    return m.ok() ? String.format(Locale.ROOT, "%,.1f %s", m.value(), unit) : "FAILED (" + m.problem() + ")";
  }

  private void progress(String line) {
    err.println("bench: " + line);
  }

  private synchronized void stopAll() {
    for (ServerProcess p : running) {
      p.close();
    }
    running.clear();
    ServerProcess.closeAll();
  }

  /** jnats's version, from its jar's name (its CLIENT_VERSION constant is not filled in every build). */
  private static String jnatsVersion() {
    try {
      String jar = Path.of(Nats.class.getProtectionDomain().getCodeSource().getLocation().toURI()).getFileName()
          .toString();
      return jar.startsWith("jnats-") && jar.endsWith(".jar") ? jar.substring(6, jar.length() - 4) : Nats.CLIENT_VERSION;
    } catch (Exception e) {
      return Nats.CLIENT_VERSION;
    }
  }

  private static String firstLine(List<String> command) {
    try {
      Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
      p.waitFor(10, TimeUnit.SECONDS);
      return out.isEmpty() ? "?" : out.lines().findFirst().orElse("?");
    } catch (IOException e) {
      return "?";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "?";
    }
  }

  private static void deleteTree(Path dir) {
    try (Stream<Path> s = Files.walk(dir)) {
      s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException ignored) {
      // a leftover temporary folder is harmless
    }
  }
}
