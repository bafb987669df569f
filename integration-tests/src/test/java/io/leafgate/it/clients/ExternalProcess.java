package io.leafgate.it.clients;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * Runs programs outside the JVM (node, the {@code leafgate} launcher) with their output in a file
 * and a deadline, and finds the folders they live in.
 */
final class ExternalProcess implements AutoCloseable {
  /** When "true" (CI), a missing external program fails the test instead of skipping it. */
  static final String REQUIRE_EXTERNAL = "leafgate.it.requireExternal";

  private final Process process;
  private final Path log;

  private ExternalProcess(Process process, Path log) {
    this.process = process;
    this.log = log;
  }

  /** Starts {@code command} in {@code dir}, stdout and stderr both going to {@code log}. */
  static ExternalProcess start(List<String> command, Path dir, Path log) throws IOException {
    ProcessBuilder b = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
        .redirectOutput(log.toFile()).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
    return new ExternalProcess(b.start(), log);
  }

  Process process() {
    return process;
  }

  long pid() {
    return process.pid();
  }

  /** Waits for the exit and returns its code; kills the process and fails past {@code limit}. */
  int waitFor(Duration limit) throws InterruptedException {
    if (!process.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS)) {
      process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
      fail("still running after " + limit.toSeconds() + " s; output:\n" + output());
    }
    return process.exitValue();
  }

  /** What the process printed so far. */
  String output() {
    try {
      return Files.readString(log, StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "(cannot read " + log + ": " + e.getMessage() + ")";
    }
  }

  /** Kills the process if it is still running. */
  @Override
  public void close() throws InterruptedException {
    if (process.isAlive()) {
      process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
  }

  /** The integration-tests module folder (Maven's basedir, which is also surefire's working dir). */
  static Path moduleDir() {
    return Path.of(System.getProperty("basedir", "")).toAbsolutePath();
  }

  /** The repository root: the nearest folder above the module that holds the {@code leafgate} launcher. */
  static Path repoRoot() {
    for (Path p = moduleDir(); p != null; p = p.getParent()) {
      if (Files.isRegularFile(p.resolve("leafgate")) && Files.isRegularFile(p.resolve("pom.xml"))) {
        return p;
      }
    }
    throw new AssertionError("no folder above " + moduleDir() + " holds the leafgate launcher");
  }

  /** The program's path on PATH, if any. */
  static Optional<Path> onPath(String program) {
    String path = System.getenv("PATH");
    if (path == null) {
      return Optional.empty();
    }
    for (String dir : path.split(File.pathSeparator)) {
      Path p = Path.of(dir.isEmpty() ? "." : dir, program);
      if (Files.isRegularFile(p) && Files.isExecutable(p)) {
        return Optional.of(p);
      }
    }
    return Optional.empty();
  }

  /**
   * Skips the test when something external is missing, unless {@value #REQUIRE_EXTERNAL} is
   * "true", in which case it fails with {@code what}.
   */
  static void assumeAvailable(boolean available, String what) {
    if (available) {
      return;
    }
    if (Boolean.getBoolean(REQUIRE_EXTERNAL)) {
      fail(what + " (required because -D" + REQUIRE_EXTERNAL + "=true)");
    }
    Assumptions.abort(what);
  }
}
