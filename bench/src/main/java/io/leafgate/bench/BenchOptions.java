package io.leafgate.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;

/**
 * The command line of {@link Bench} and the timings it implies.
 *
 * @param quick the short profile (about 40 s in all)
 * @param runs repetitions per cell; the table shows the median
 * @param only the scenarios to run
 * @param root the repository root (holds the {@code leafgate} launcher)
 * @param natsServer the nats-server binary
 * @param out where the Markdown report goes
 * @param connections the idle connection count of the memory scenarios (NATS and MQTT)
 * @param keep keep the temporary folder (server logs) after the run
 * @param command the command line to print in the report
 * @param mosquitto the mosquitto binary; null when none was found (the mqtt scenario then fails)
 * @param backlog the messages buffered and drained in the uplink scenario
 * @param replayWindow leafgate's {@code uplink { replay_window }} in the uplink scenario
 */
record BenchOptions(boolean quick, int runs, Set<Scenario> only, Path root, Path natsServer, Path out,
    int connections, boolean keep, String command, Path mosquitto, int backlog, int replayWindow) {

  /** The scenarios, by the names {@code --only} takes. */
  enum Scenario {
    PUB("publish-only, 1 publisher, no subscriber"),
    PUBSUB("1 publisher -> 1 subscriber"),
    FANOUT("1 publisher -> 4 subscribers"),
    QUEUE("1 publisher -> queue group of 4"),
    REQREP("request/reply latency, sequential"),
    MEMORY("resident memory, idle and with N idle connections"),
    STARTUP("start-up time to the first INFO"),
    JETSTREAM("JetStream: acknowledged async publish, pull consumption, disk bytes per message"),
    UPLINK("uplink drain of a buffered backlog to a hub, and live latency meanwhile"),
    MQTT("MQTT QoS 0 and QoS 1 rate, and resident memory with N idle MQTT connections");

    final String description;

    Scenario(String description) {
      this.description = description;
    }

    String cliName() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /** The uplink replay window the bench configures unless told otherwise (see bench/README.md). */
  static final int DEFAULT_REPLAY_WINDOW = 256;

  static final String USAGE = """
      usage: bench/run [--quick] [--runs N] [--only LIST] [--root DIR] [--nats-server PATH]
                       [--mosquitto PATH] [--connections N] [--backlog N] [--replay-window N]
                       [--out FILE] [--keep]
        --quick           short profile: 1 run per cell, shorter runs (about 90 s in all)
        --runs N          repetitions per cell, median reported (default 3, quick 1)
        --only LIST       comma-separated scenarios: pub,pubsub,fanout,queue,reqrep,memory,startup,
                          jetstream,uplink,mqtt (default: all)
        --root DIR        leafgate repository root (default: found upwards from the working folder)
        --nats-server P   nats-server binary (default: $NATS_SERVER_PATH, else nats-server on PATH)
        --mosquitto P     mosquitto binary (default: $MOSQUITTO_PATH, else /usr/sbin/mosquitto or PATH)
        --connections N   idle connections in the memory scenarios (default 10000)
        --backlog N       messages buffered and drained in the uplink scenario
                          (default 1000000, quick 100000)
        --replay-window N leafgate's uplink replay_window in the uplink scenario (default %d)
        --out FILE        Markdown report (default: <root>/bench/results/latest.md)
        --keep            keep the temporary folder with the servers' logs
      """.formatted(DEFAULT_REPLAY_WINDOW);


  /** Parses the arguments; throws {@link IllegalArgumentException} with a message on bad input. */
  static BenchOptions parse(String[] args) {
    boolean quick = false;
    Integer runs = null;
    Set<Scenario> only = EnumSet.allOf(Scenario.class);
    Path root = null;
    Path nats = null;
    Path out = null;
    int connections = 10_000;
    boolean keep = false;
    Path mosquitto = null;
    Integer backlog = null;
    int replayWindow = DEFAULT_REPLAY_WINDOW;
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      switch (a) {
        case "--quick" -> quick = true;
        case "--keep" -> keep = true;
        case "--runs" -> runs = positive(a, value(args, ++i, a));
        case "--connections" -> connections = positive(a, value(args, ++i, a));
        case "--only" -> only = scenarios(value(args, ++i, a));
        case "--root" -> root = Path.of(value(args, ++i, a));
        case "--nats-server" -> nats = Path.of(value(args, ++i, a));
        case "--out" -> out = Path.of(value(args, ++i, a));
        case "--mosquitto" -> mosquitto = Path.of(value(args, ++i, a));
        case "--backlog" -> backlog = positive(a, value(args, ++i, a));
        case "--replay-window" -> replayWindow = positive(a, value(args, ++i, a));
        default -> throw new IllegalArgumentException("unknown argument '" + a + "'");
      }
    }
    root = root != null ? root.toAbsolutePath().normalize() : findRoot(Path.of("").toAbsolutePath());
    if (!Files.isExecutable(root.resolve("leafgate"))) {
      throw new IllegalArgumentException("no executable 'leafgate' launcher in " + root);
    }
    nats = nats != null ? nats : findNatsServer();
    out = out != null ? out : root.resolve("bench/results/latest.md");
    String command = System.getProperty("bench.command", "io.leafgate.bench.Bench " + String.join(" ", args));
    mosquitto = mosquitto != null ? mosquitto : findMosquitto();
    return new BenchOptions(quick, runs != null ? runs : quick ? 1 : 3, only, root, nats, out, connections, keep,
        command, mosquitto, backlog != null ? backlog : quick ? 100_000 : 1_000_000, replayWindow);
  }

  boolean wants(Scenario s) {
    return only.contains(s);
  }

  /** How long each throughput run publishes. */
  Duration publishFor() {
    return quick ? Duration.ofMillis(300) : Duration.ofMillis(1500);
  }

  /** An upper bound on the messages of one throughput run (the time usually binds first). */
  long maxMessages(int size) {
    return size <= 64 ? 50_000_000L : 10_000_000L;
  }

  /** Fail a throughput run when no message arrives for this long while some are missing. */
  Duration stallTimeout() {
    return Duration.ofSeconds(3);
  }

  /** The warm-up run per server before the measured runs of each throughput scenario and size. */
  Duration warmUpFor() {
    return quick ? Duration.ofMillis(150) : Duration.ofMillis(2000);
  }

  /** The request/reply warm-up and measurement lengths, and the sample bound. */
  Latency.Limits latencyLimits() {
    return quick ? new Latency.Limits(Duration.ofMillis(200), Duration.ofMillis(600), 200_000)
        : new Latency.Limits(Duration.ofMillis(500), Duration.ofMillis(1500), 500_000);
  }

  /** How long a freshly started server stays idle before its RSS is read. */
  Duration idleSettle() {
    return quick ? Duration.ofMillis(700) : Duration.ofMillis(3000);
  }

  /**
   * How long the idle connections stay open before the RSS is read: long enough for both servers'
   * first PING to every connection (leafgate and nats-server both send it about 2 s after the
   * connection opens; the last connections open after the first ones).
   */
  Duration connectionsSettle() {
    return quick ? Duration.ofMillis(2500) : Duration.ofMillis(3000);
  }

  /**
   * The JetStream scenario's run lengths and bounds. The warm-up is long enough for a JIT-compiled
   * server to reach its steady rate on this path (leafgate takes 8 to 10 s of load on this 2-core
   * machine, its compiler threads sharing the cores with the load; with 6 s the first measured run
   * was still climbing, with 1 s the runs measured its compilers rather than the store): the
   * figures are steady-state rates, and start-up is measured on its own.
   */
  JetStreamLoad.Limits jetStreamLimits() {
    return quick ? new JetStreamLoad.Limits(Duration.ofMillis(600), 400_000, Duration.ofMillis(300), 20_000,
        Duration.ofSeconds(5), Duration.ofSeconds(2), Duration.ofSeconds(15))
        : new JetStreamLoad.Limits(Duration.ofMillis(1500), 1_000_000, Duration.ofMillis(10_000), 50_000,
            Duration.ofSeconds(5), Duration.ofSeconds(2), Duration.ofSeconds(20));
  }

  /**
   * How long the idle MQTT connections stay open before the RSS is read: they owe the broker
   * nothing (keep alive 3600 s), so there is no first PING to wait for.
   */
  Duration mqttConnectionsSettle() {
    return quick ? Duration.ofMillis(1000) : Duration.ofMillis(2000);
  }

  /** How long the live publisher of the uplink scenario runs on an idle link. */
  Duration liveIdleFor() {
    return quick ? Duration.ofMillis(1500) : Duration.ofMillis(3000);
  }

  private static String value(String[] args, int i, String flag) {
    if (i >= args.length) {
      throw new IllegalArgumentException(flag + " needs a value");
    }
    return args[i];
  }

  private static int positive(String flag, String v) {
    try {
      int n = Integer.parseInt(v);
      if (n > 0) {
        return n;
      }
    } catch (NumberFormatException ignored) {
      // reported below
    }
    throw new IllegalArgumentException(flag + " needs a positive integer, not '" + v + "'");
  }

  private static Set<Scenario> scenarios(String list) {
    Set<Scenario> s = EnumSet.noneOf(Scenario.class);
    for (String name : list.split(",")) {
      String n = name.trim().toLowerCase(Locale.ROOT);
      s.add(Arrays.stream(Scenario.values()).filter(x -> x.cliName().equals(n)).findFirst()
          .orElseThrow(() -> new IllegalArgumentException("unknown scenario '" + n + "'; known: "
              + String.join(",", Arrays.stream(Scenario.values()).map(Scenario::cliName).toList()))));
    }
    return s;
  }

  /** The nearest folder upwards from {@code from} that holds the {@code leafgate} launcher and a pom.xml. */
  static Path findRoot(Path from) {
    for (Path p = from; p != null; p = p.getParent()) {
      if (Files.isRegularFile(p.resolve("leafgate")) && Files.isRegularFile(p.resolve("pom.xml"))) {
        return p;
      }
    }
    throw new IllegalArgumentException("cannot find the leafgate repository root above " + from + "; use --root");
  }

  private static Path findMosquitto() {
    String env = System.getenv("MOSQUITTO_PATH");
    if (env != null && !env.isBlank()) {
      return Path.of(env);
    }
    if (Files.isExecutable(Path.of("/usr/sbin/mosquitto"))) {
      return Path.of("/usr/sbin/mosquitto");
    }
    for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(":")) {
      Path p = Path.of(dir, "mosquitto");
      if (Files.isExecutable(p)) {
        return p;
      }
    }
    return null;
  }

  private static Path findNatsServer() {
    String env = System.getenv("NATS_SERVER_PATH");
    if (env != null && !env.isBlank()) {
      return Path.of(env);
    }
    for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(":")) {
      Path p = Path.of(dir, "nats-server");
      if (Files.isExecutable(p)) {
        return p;
      }
    }
    throw new IllegalArgumentException("nats-server not found on PATH; use --nats-server or NATS_SERVER_PATH");
  }
}
