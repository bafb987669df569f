package io.leafgate.it.harness;

import com.fasterxml.jackson.jr.ob.JSON;
import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Assumptions;

/**
 * A real nats-server started from its binary for one test, on ephemeral ports in the test's own
 * folder. The config says {@code listen: 127.0.0.1:-1}, {@code http: 127.0.0.1:-1} and
 * {@code ports_file_dir}; the chosen client and monitoring ports come from the ports file
 * ({@code nats-server_<pid>.ports}) and the leafnode port from {@code GET /varz}. stdout and
 * stderr go to {@code <dir>/nats-server.log}, which {@link #withLog} appends to failure messages.
 *
 * <p>The binary is {@code $NATS_SERVER_PATH} or {@code nats-server} on the {@code PATH}. When it is
 * missing the test is skipped, unless the system property {@code leafgate.it.requireExternal} is
 * true (CI), in which case it fails.
 */
public final class NatsServerProcess implements AutoCloseable {
  /** System property that turns a missing external binary from a skip into a failure. */
  public static final String REQUIRE_EXTERNAL = "leafgate.it.requireExternal";

  private static final Duration START_TIMEOUT = Duration.ofSeconds(15);
  private static final Duration STOP_TIMEOUT = Duration.ofSeconds(10);

  private final Path dir;
  private final Path binary;
  private final boolean jetStream;
  private final boolean leafListener;
  private final String extraConfig;
  private final String leafSettings;
  private final Path configFile;
  private final Path logFile;
  private Process process;
  private int port = -1;
  private int monitorPort = -1;
  private int leafPort = -1;

  private NatsServerProcess(Builder b, Path binary) {
    this.dir = b.dir;
    this.binary = binary;
    this.jetStream = b.jetStream;
    this.leafListener = b.leafListener;
    this.extraConfig = b.extraConfig;
    this.leafSettings = b.leafSettings;
    this.configFile = dir.resolve("nats-server.conf");
    this.logFile = dir.resolve("nats-server.log");
  }

  /** A builder for a server whose config, store and log live under {@code dir}. */
  public static Builder builder(Path dir) {
    return new Builder(dir);
  }

  /**
   * The nats-server binary: {@code $NATS_SERVER_PATH}, else {@code nats-server} on the PATH. Skips
   * the calling test when there is none, or fails it when {@value #REQUIRE_EXTERNAL} is true.
   */
  public static Path binaryOrSkip() {
    String env = System.getenv("NATS_SERVER_PATH");
    Path found = null;
    if (env != null && !env.isBlank()) {
      Path p = Path.of(env);
      if (Files.isExecutable(p)) {
        found = p;
      }
    } else {
      String path = System.getenv().getOrDefault("PATH", "");
      for (String d : (path + File.pathSeparator + "/usr/sbin" + File.pathSeparator + "/usr/local/sbin")
          .split(File.pathSeparator)) {
        if (d.isEmpty()) {
          continue;
        }
        Path p = Path.of(d, "nats-server");
        if (Files.isExecutable(p)) {
          found = p;
          break;
        }
      }
    }
    if (found == null) {
      String why = env != null && !env.isBlank()
          ? "NATS_SERVER_PATH=" + env + " is not an executable file"
          : "nats-server is not on the PATH (set NATS_SERVER_PATH)";
      if (Boolean.getBoolean(REQUIRE_EXTERNAL)) {
        throw new AssertionError(why + ", and -D" + REQUIRE_EXTERNAL + "=true");
      }
      Assumptions.assumeTrue(false, why + "; skipping");
    }
    return found;
  }

  /** Builds a {@link NatsServerProcess}. */
  public static final class Builder {
    private final Path dir;
    private boolean jetStream;
    private boolean leafListener;
    private String extraConfig = "";
    private String leafSettings = "";

    private Builder(Path dir) {
      this.dir = dir;
    }

    /** Turns JetStream on, with its store in {@code <dir>/jetstream}. */
    public Builder jetStream() {
      this.jetStream = true;
      return this;
    }

    /** Turns JetStream on or off. */
    public Builder jetStream(boolean on) {
      this.jetStream = on;
      return this;
    }

    /** Opens a leafnode listener on an ephemeral port. */
    public Builder leafListener() {
      this.leafListener = true;
      return this;
    }

    /**
     * Opens a leafnode listener on an ephemeral port with {@code settings} (such as a
     * {@code tls { ... }} block) inside its {@code leafnodes} block.
     */
    public Builder leafListener(String settings) {
      this.leafListener = true;
      this.leafSettings = settings == null ? "" : settings;
      return this;
    }

    /** Opens a leafnode listener or not. */
    public Builder leafListener(boolean on) {
      this.leafListener = on;
      return this;
    }

    /** Config text appended as is (nats-server syntax), e.g. {@code "max_payload: 16"}. */
    public Builder extraConfig(String text) {
      this.extraConfig = text == null ? "" : text;
      return this;
    }

    /** Writes the config, starts the server and waits until its ports are known. */
    public NatsServerProcess start() throws IOException {
      Path bin = binaryOrSkip();
      Files.createDirectories(dir);
      NatsServerProcess p = new NatsServerProcess(this, bin);
      try {
        p.launch();
      } catch (IOException | RuntimeException | Error e) {
        p.stop();
        throw e;
      }
      return p;
    }
  }

  private String config() {
    StringBuilder c = new StringBuilder();
    c.append("listen: 127.0.0.1:").append(port).append('\n');
    c.append("http: 127.0.0.1:").append(monitorPort).append('\n');
    c.append("ports_file_dir: \"").append(dir.toAbsolutePath()).append("\"\n");
    if (jetStream) {
      c.append("jetstream {\n  store_dir: \"").append(dir.resolve("jetstream").toAbsolutePath()).append("\"\n}\n");
    }
    if (leafListener) {
      c.append("leafnodes {\n  listen: 127.0.0.1:").append(leafPort).append("\n").append(leafSettings).append("\n}\n");
    }
    c.append(extraConfig).append('\n');
    return c.toString();
  }

  private void launch() throws IOException {
    Files.writeString(configFile, config());
    ProcessBuilder pb = new ProcessBuilder(binary.toString(), "-c", configFile.toString())
        .directory(dir.toFile())
        .redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()));
    process = pb.start();
    Path portsFile = dir.resolve("nats-server_" + process.pid() + ".ports");
    AtomicReference<Map<String, Object>> ports = new AtomicReference<>();
    Await.until(START_TIMEOUT, () -> {
      if (!process.isAlive()) {
        throw new AssertionError(withLog("nats-server exited with " + process.exitValue() + " while starting"));
      }
      if (!Files.exists(portsFile)) {
        return "no ports file " + portsFile.getFileName() + " yet";
      }
      try {
        ports.set(JSON.std.mapFrom(Files.readString(portsFile)));
        return null;
      } catch (IOException e) {
        return "ports file not readable yet: " + e.getMessage(); // still being written
      }
    });
    port = URI.create(first(ports.get(), "nats")).getPort();
    monitorPort = URI.create(first(ports.get(), "monitoring")).getPort();
    if (leafListener) {
      Map<String, Object> varz = Http.getJson(monitorPort, "/varz");
      Object leaf = varz.get("leaf");
      if (!(leaf instanceof Map<?, ?> m) || !(m.get("port") instanceof Number n)) {
        throw new AssertionError(withLog("no leaf.port in /varz: " + varz.get("leaf")));
      }
      leafPort = n.intValue();
    }
  }

  private String first(Map<String, Object> ports, String key) {
    if (ports.get(key) instanceof List<?> l && !l.isEmpty()) {
      return String.valueOf(l.get(0));
    }
    throw new AssertionError(withLog("no " + key + " entry in the ports file: " + ports));
  }

  /** Stops the server and starts it again on the same ports, config and store. */
  public void restart() throws IOException {
    stop();
    launch();
  }

  /** Stops the server (SIGTERM, then SIGKILL after 10 s); its ports and store are kept. */
  public void stop() {
    Process p = process;
    if (p == null) {
      return;
    }
    process = null;
    p.destroy();
    try {
      if (!p.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
        p.destroyForcibly().waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
      }
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }

  /** The client port. */
  public int port() {
    return port;
  }

  /** The monitoring (HTTP) port. */
  public int monitorPort() {
    return monitorPort;
  }

  /** The leafnode listener port; -1 without a leaf listener. */
  public int leafPort() {
    return leafPort;
  }

  /** {@code nats://127.0.0.1:<port>}. */
  public String clientUrl() {
    return "nats://127.0.0.1:" + port;
  }

  /** {@code nats-leaf://127.0.0.1:<leaf port>}. */
  public String leafUrl() {
    return "nats-leaf://127.0.0.1:" + leafPort;
  }

  /** The folder holding config, store, ports file and log. */
  public Path dir() {
    return dir;
  }

  /** Whether the process is running. */
  public boolean isRunning() {
    return process != null && process.isAlive();
  }

  /** The server's output so far. */
  public String log() {
    try {
      return Files.exists(logFile) ? Files.readString(logFile, StandardCharsets.UTF_8) : "";
    } catch (IOException e) {
      return "(cannot read " + logFile + ": " + e.getMessage() + ")";
    }
  }

  /** {@code message} followed by the server's log, for assertion messages. */
  public String withLog(String message) {
    return message + "\n--- " + logFile + " ---\n" + log();
  }

  @Override
  public void close() {
    stop();
  }
}
