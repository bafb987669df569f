package io.leafgate.it.jetstream;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;

/**
 * A real nats-server with JetStream on, for differential tests: client port chosen by the server
 * ({@code -p -1}), store and ports file in the test's folder, output in {@code nats-server.log}.
 * The binary comes from {@code NATS_SERVER_PATH}, the PATH, or /usr/sbin. When it is missing the
 * test is skipped, unless {@code -Dleafgate.it.requireExternal=true}, where it fails.
 */
final class NatsServerJs implements AutoCloseable {
  static final String REQUIRE_EXTERNAL = "leafgate.it.requireExternal";
  private static final Pattern NATS_URL = Pattern.compile("\"nats\"\\s*:\\s*\\[\\s*\"nats://([^\"]+)\"");

  private final Process process;
  private final Path log;
  private final String url;

  private NatsServerJs(Process process, Path log, String url) {
    this.process = process;
    this.log = log;
    this.url = url;
  }

  /** Starts nats-server in {@code dir} and waits up to 10 s for its ports file. */
  static NatsServerJs start(Path dir) throws IOException, InterruptedException {
    Path exe = binary();
    Files.createDirectories(dir);
    Path store = dir.resolve("js");
    Path log = dir.resolve("nats-server.log");
    List<String> cmd = new ArrayList<>(List.of(exe.toString(), "-js", "-sd", store.toString(), "-a", "127.0.0.1",
        "-p", "-1", "-m", "-1", "--ports_file_dir", dir.toString()));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile())
        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
    Path ports = dir.resolve(exe.getFileName() + "_" + p.pid() + ".ports");
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (true) {
      if (Files.exists(ports)) {
        Matcher m = NATS_URL.matcher(Files.readString(ports, StandardCharsets.UTF_8));
        if (m.find()) {
          return new NatsServerJs(p, log, "nats://" + m.group(1));
        }
      }
      if (!p.isAlive() || System.nanoTime() - deadline > 0) {
        p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        fail("nats-server did not write " + ports + "; output:\n" + Files.readString(log));
      }
      Thread.sleep(20);
    }
  }

  private static Path binary() {
    List<Path> candidates = new ArrayList<>();
    String env = System.getenv("NATS_SERVER_PATH");
    if (env != null && !env.isEmpty()) {
      candidates.add(Path.of(env));
    }
    for (String d : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
      if (!d.isEmpty()) {
        candidates.add(Path.of(d, "nats-server"));
      }
    }
    candidates.add(Path.of("/usr/sbin/nats-server"));
    candidates.add(Path.of("/usr/bin/nats-server"));
    for (Path c : candidates) {
      if (Files.isExecutable(c)) {
        return c;
      }
    }
    boolean required = Boolean.getBoolean(REQUIRE_EXTERNAL);
    if (required) {
      fail("nats-server is not installed (set NATS_SERVER_PATH or install the nats-server package)");
    }
    Assumptions.abort("nats-server is not installed");
    throw new AssertionError("unreachable");
  }

  String url() {
    return url;
  }

  /** What the server printed so far (for failure messages). */
  String output() {
    try {
      return Files.readString(log, StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "(cannot read " + log + ")";
    }
  }

  @Override
  public void close() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(10, TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
    }
  }
}
