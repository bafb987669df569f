package io.leafgate.it.harness;

import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import com.fasterxml.jackson.jr.ob.JSON;

/**
 * The built distribution ({@code gateway/target/dist/lib}) run as a process on a config file, the
 * way the launcher runs it, for tests of what only a process shows: exit codes, the log, the ports
 * file.
 */
public final class GatewayCommand {
  private GatewayCommand() {}

  /** The distribution's jars; fails the test when the gateway module has not been packaged. */
  public static Path distributionLib() {
    Path p = Path.of("").toAbsolutePath();
    while (p != null && !Files.exists(p.resolve("leafgate"))) {
      p = p.getParent();
    }
    if (p == null || !Files.isDirectory(p.resolve("gateway/target/dist/lib"))) {
      throw new IllegalStateException("the distribution is not built (gateway/target/dist/lib)");
    }
    return p.resolve("gateway/target/dist/lib");
  }

  /** Starts {@code leafgate <command...> -c config}, its output in {@code log}. */
  public static Process start(Path config, Path log, String... command) throws IOException {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> cmd = new ArrayList<>(List.of(java, "-Xmx128m", "-XX:+UseSerialGC", "-cp",
        distributionLib() + File.separator + "*", "io.leafgate.gateway.Main"));
    cmd.addAll(List.of(command));
    cmd.addAll(List.of("-c", config.toString()));
    return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
  }

  /** The file's text, empty when it does not exist yet. */
  public static String read(Path f) {
    try {
      return Files.exists(f) ? Files.readString(f, StandardCharsets.UTF_8) : "";
    } catch (IOException e) {
      return "(" + e + ")";
    }
  }

  /**
   * Waits for the gateway's ports file in {@code storeDir} and returns the first URL it gives for
   * {@code key} ("nats", "mqtt", "monitoring"); fails with the log if the process exits first.
   */
  public static URI awaitPort(Process p, Path storeDir, Path log, String key) throws IOException {
    Path ports = storeDir.resolve("leafgate_" + p.pid() + ".ports");
    Await.until(Duration.ofSeconds(60), () -> {
      if (!p.isAlive()) {
        throw new AssertionError("leafgate exited with " + p.exitValue() + ": " + read(log));
      }
      return Files.exists(ports) ? null : "no ports file yet";
    });
    Map<String, Object> urls = JSON.std.mapFrom(Files.readString(ports));
    return URI.create(String.valueOf(((List<?>) urls.get(key)).get(0)));
  }
}
