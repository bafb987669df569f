package io.leafgate.it.uplink;

import com.fasterxml.jackson.jr.ob.JSON;
import io.leafgate.it.harness.Await;
import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * leafgate as a real process (the built distribution), so that tests can kill it with SIGKILL and
 * start it again on the same store.
 */
public final class EdgeProcess implements AutoCloseable {
  private final Path dir;
  private final Path config;
  private Process process;
  private int natsPort;
  private int httpPort;

  public EdgeProcess(Path dir, String configBody) throws IOException {
    this.dir = dir;
    Files.createDirectories(dir);
    this.config = dir.resolve("leafgate.conf");
    rewriteConfig(configBody);
  }

  static Path repoRoot() {
    Path p = Path.of("").toAbsolutePath();
    while (p != null && !Files.exists(p.resolve("leafgate"))) {
      p = p.getParent();
    }
    if (p == null) {
      throw new IllegalStateException("cannot find the repository root (the leafgate script)");
    }
    return p;
  }

  public EdgeProcess start() throws IOException {
    Path lib = repoRoot().resolve("gateway/target/dist/lib");
    if (!Files.isDirectory(lib)) {
      throw new IllegalStateException("the distribution is not built: " + lib);
    }
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    ProcessBuilder pb = new ProcessBuilder(java, "-Xmx128m", "-XX:+UseSerialGC", "-cp", lib + File.separator + "*",
        "io.leafgate.gateway.Main", "run", "-c", config.toString())
        .redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("leafgate.log").toFile()));
    process = pb.start();
    Path ports = dir.resolve("data").resolve("leafgate_" + process.pid() + ".ports");
    Await.until(Duration.ofSeconds(30), () -> {
      if (!process.isAlive()) {
        throw new AssertionError("leafgate exited with " + process.exitValue() + ": " + log());
      }
      return Files.exists(ports) ? null : "no ports file yet";
    });
    Map<String, Object> p = JSON.std.mapFrom(Files.readString(ports));
    natsPort = URI.create(String.valueOf(((List<?>) p.get("nats")).get(0))).getPort();
    httpPort = URI.create(String.valueOf(((List<?>) p.get("monitoring")).get(0))).getPort();
    return this;
  }

  /** Writes the configuration file: its head (name, free ports, store) and {@code configBody}; again for a reload. */
  public void rewriteConfig(String configBody) throws IOException {
    Files.writeString(config, "server_name: edge1\nport: -1\nhttp_port: -1\nmqtt { port: -1 }\nstore_dir: \""
        + dir.resolve("data").toAbsolutePath() + "\"\n" + configBody);
  }

  /** SIGHUP, as {@code systemctl reload leafgate} sends. */
  public void reload() throws IOException, InterruptedException {
    Process kill = new ProcessBuilder("kill", "-HUP", Long.toString(process.pid())).inheritIO().start();
    if (!kill.waitFor(10, TimeUnit.SECONDS) || kill.exitValue() != 0) {
      throw new AssertionError("kill -HUP " + process.pid() + " failed");
    }
  }

  /** SIGKILL: no shutdown hook, no flush, like a power cut for the process. */
  public void kill() throws InterruptedException {
    process.destroyForcibly();
    if (!process.waitFor(60, TimeUnit.SECONDS)) {
      throw new AssertionError("leafgate pid " + process.pid() + " survived kill -9 for 60 s");
    }
    // Its ports file is left behind, as after a power cut; the next start writes its own.
    try (var s = Files.newDirectoryStream(dir.resolve("data"), "leafgate_*.ports")) {
      for (Path f : s) {
        Files.deleteIfExists(f);
      }
    } catch (IOException ignored) {
      // nothing to clean
    }
  }

  public String url() {
    return "nats://127.0.0.1:" + natsPort;
  }

  public int httpPort() {
    return httpPort;
  }

  public String log() {
    try {
      return Files.readString(dir.resolve("leafgate.log"));
    } catch (IOException e) {
      return "(no log)";
    }
  }

  @SuppressWarnings("unchecked")
  Map<String, Object> uplink() {
    try {
      return (Map<String, Object>) io.leafgate.it.harness.Http.getJson(httpPort, "/leafz").get("uplink");
    } catch (IOException e) {
      return Map.of("state", "unreachable: " + e.getMessage());
    }
  }

  @Override
  public void close() throws InterruptedException {
    if (process != null && process.isAlive()) {
      process.destroy();
      try {
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
          process.destroyForcibly();
        }
      } finally {
        // Even when the test was interrupted (a timeout), no gateway outlives it.
        if (process.isAlive()) {
          process.destroyForcibly();
        }
      }
    }
  }
}
