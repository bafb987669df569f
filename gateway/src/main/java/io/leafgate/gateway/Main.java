package io.leafgate.gateway;

import io.leafgate.leaf.config.ConfigException;
import io.leafgate.leaf.config.ConfigLoader;
import io.leafgate.leaf.config.ServerOptions;
import io.leafgate.leaf.server.ServerIdentity;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import org.tinylog.Logger;
import org.tinylog.configuration.Configuration;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The {@code leafgate} command line. */
@Command(name = "leafgate", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
    description = "Edge leaf-node gateway: a small NATS broker with local JetStream, MQTT and a store-and-forward uplink.",
    subcommands = {Main.Run.class, Main.Check.class, Main.StatusCmd.class})
public final class Main implements Callable<Integer> {
  /** Exit code for a configuration error (EX_CONFIG from sysexits.h). */
  public static final int EXIT_CONFIG = 78;

  public static void main(String[] args) {
    // Netty's JFR allocation events make it initialise the flight recorder's event machinery at
    // start-up: about a hundred classes and 2 to 3 MB of resident memory, for a recording nobody
    // has started. -Dio.netty.jfr.enabled=true brings them back for profiling.
    if (System.getProperty("io.netty.jfr.enabled") == null) {
      System.setProperty("io.netty.jfr.enabled", "false");
    }
    if (args.length > 0 && "run".equals(args[0])) {
      // The native transport and the buffer pool load on another core while the command line and the
      // configuration are read. Netty logs as it loads, so the log level is settled first.
      Configuration.set("level", logLevel(args));
      background("leafgate-warmup-netty", io.leafgate.leaf.server.Transport::warmUp);
    }
    int code = new CommandLine(new Main()).setCaseInsensitiveEnumValuesAllowed(true).execute(args);
    System.exit(code);
  }

  /** The level {@code run}'s -D/--debug and -V/--trace flags ask for (short flags may be clustered). */
  static String logLevel(String[] args) {
    boolean debug = false;
    boolean trace = false;
    for (String a : args) {
      if (a.equals("--trace")) {
        trace = true;
      } else if (a.equals("--debug")) {
        debug = true;
      } else if (a.matches("-[A-Za-z]+") && !a.equals("-sd")) {
        trace |= a.indexOf('V') > 0;
        debug |= a.indexOf('D') > 0;
      }
    }
    return trace ? "trace" : debug ? "debug" : "info";
  }

  private static void background(String name, Runnable task) {
    Thread t = new Thread(task, name);
    t.setDaemon(true);
    t.start();
  }

  @Override
  public Integer call() {
    CommandLine.usage(this, System.out);
    return 0;
  }

  /** Prints the version. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {"leafgate " + ServerIdentity.LEAFGATE_VERSION
          + " (NATS protocol compatible with nats-server " + ServerIdentity.NATS_COMPAT_VERSION + ")"};
    }
  }

  /** Options shared by the commands that read a configuration. */
  static class ConfigOptions {
    @Option(names = {"-c", "--config"}, paramLabel = "FILE", description = "Configuration file (nats-server syntax).")
    Path config;

    @Option(names = {"-a", "--addr", "--net"}, paramLabel = "HOST", description = "Client listener host (default 127.0.0.1).")
    String host;

    @Option(names = {"-p", "--port"}, paramLabel = "N", description = "Client listener port; -1 picks a free port (default 4222).")
    Integer port;

    @Option(names = {"-m", "--http_port"}, paramLabel = "N", description = "Monitoring port; -1 picks a free port, 0 turns it off (default 8222).")
    Integer httpPort;

    @Option(names = {"--mqtt_port"}, paramLabel = "N", description = "MQTT listener port; -1 picks a free port, 0 turns it off (default 1883).")
    Integer mqttPort;

    @Option(names = {"-n", "--name", "--server_name"}, paramLabel = "NAME", description = "Server name.")
    String name;

    @Option(names = {"-sd", "--store_dir"}, paramLabel = "DIR", description = "Store directory (default ./data).")
    Path storeDir;

    /** Loads the file (if any, else /etc/leafgate/leafgate.conf is not assumed) and applies the flags on top. */
    ServerOptions load() throws ConfigException {
      ServerOptions o = config == null ? new ServerOptions()
          : ConfigLoader.load(config, System::getenv, java.util.List.of(io.leafgate.hub.UplinkConfig::check));
      if (host != null) {
        o.host = host;
        o.httpHost = host;
        o.mqttHost = host;
      }
      if (port != null) {
        o.port = port;
      }
      if (httpPort != null) {
        o.httpPort = httpPort;
      }
      if (mqttPort != null) {
        o.mqttPort = mqttPort;
      }
      if (name != null) {
        o.serverName = name;
      }
      if (storeDir != null) {
        o.storeDir = storeDir;
      }
      return o;
    }
  }

  /** {@code leafgate run}: starts the gateway and runs until SIGTERM or SIGINT. */
  @Command(name = "run", mixinStandardHelpOptions = true, description = "Run the gateway.")
  static final class Run extends ConfigOptions implements Callable<Integer> {
    @Option(names = {"-D", "--debug"}, description = "Log at debug level.")
    boolean debug;

    @Option(names = {"-V", "--trace"}, description = "Log at trace level.")
    boolean trace;

    /** Starts and stops: the launcher records the class-data archive with it. */
    @Option(names = {"--exit-after-start"}, hidden = true)
    boolean exitAfterStart;

    @Override
    public Integer call() {
      if (!Configuration.isFrozen()) {
        Configuration.set("level", trace ? "trace" : debug ? "debug" : "info");
      }
      ServerOptions o;
      try {
        o = load();
      } catch (ConfigException e) {
        e.errors().forEach(err -> System.err.println(err));
        System.err.println("leafgate: " + e.errors().size() + " configuration error(s); nothing was started");
        return EXIT_CONFIG;
      }
      if (o.jetStream) {
        Path storeDir = o.storeDir;
        background("leafgate-warmup-sqlite", () -> io.leafgate.storage.sqlite.SqliteJetStreamStore.preloadNativeLibrary(storeDir));
      }
      CountDownLatch stop = new CountDownLatch(1);
      Signals.onTerminate(stop::countDown);
      // systemd (issue 6): SIGHUP reloads once started (and never exits the JVM before);
      // readiness, watchdog and stopping notifications when started with Type=notify.
      SystemdNotify systemd = SystemdNotify.fromEnvironment();
      AtomicReference<ConfigReload> reload = new AtomicReference<>();
      Signals.onReload(() -> {
        ConfigReload r = reload.get();
        if (r == null) {
          Logger.warn("SIGHUP during start-up ignored");
        } else {
          r.reload();
        }
      });
      Gateway g;
      try {
        g = Gateway.start(o);
      } catch (Exception e) {
        Logger.error("leafgate could not start: {}", e.getMessage());
        systemd.close();
        return 1;
      }
      ConfigReload configReload = new ConfigReload(this::load, o, systemd, java.util.Map.of(
          "uplink.replay_rate", g::applyUplinkPacing,
          "uplink.replay_window", g::applyUplinkPacing));
      if (exitAfterStart) {
        // The launcher's class-data-sharing training run: it records the classes of a start-up
        // only. Those of a first client load from the jars when one comes; archiving them too
        // cost 2 MB of resident memory on every idle gateway and saved nothing measurable.
        g.close();
        systemd.close();
        return 0;
      }
      reload.set(configReload);
      systemd.ready("Ready: NATS on port " + g.natsPort()
          + (g.httpPort() > 0 ? ", monitoring on port " + g.httpPort() : ""));
      long checkTimeout = Math.max(systemd.watchdogMicros() / 3000, 1000);
      systemd.startWatchdog(() -> g.healthProblem(checkTimeout));
      try {
        stop.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      Logger.info("Stopping on signal");
      systemd.stopping();
      g.close();
      systemd.close();
      Logger.info("leafgate stopped");
      return 0;
    }
  }

  /** {@code leafgate status}: a person's view of a running gateway. */
  @Command(name = "status", mixinStandardHelpOptions = true,
      description = "Show whether the gateway is up, whether the site is islanded, and the replay backlog. "
          + "Exit 0 connected (or no uplink), 3 islanded, 1 unreachable.")
  static final class StatusCmd extends ConfigOptions implements Callable<Integer> {
    @Option(names = {"--url"}, paramLabel = "URL", description = "Monitoring URL, e.g. http://127.0.0.1:8222.")
    String url;

    @Override
    public Integer call() {
      ServerOptions o;
      try {
        o = load();
      } catch (ConfigException e) {
        e.errors().forEach(err -> System.err.println(err));
        return EXIT_CONFIG;
      }
      return Status.print(o, url, System.out);
    }
  }

  /** {@code leafgate check}: validates a configuration file and exits. */
  @Command(name = "check", mixinStandardHelpOptions = true, description = "Check a configuration file and exit (78 on errors).")
  static final class Check extends ConfigOptions implements Callable<Integer> {
    @Override
    public Integer call() {
      try {
        load();
      } catch (ConfigException e) {
        e.errors().forEach(err -> System.err.println(err));
        System.err.println("leafgate: " + e.errors().size() + " configuration error(s)");
        return EXIT_CONFIG;
      }
      System.out.println("configuration is valid");
      return 0;
    }
  }
}
