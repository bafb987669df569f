package io.leafgate.it.mqtt;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * A peer server started for a test (mosquitto, nats-server): its files and log in the test's
 * folder, on ports reserved just before it starts (neither has a "pick a free port" option for
 * every listener), started again on a bind race, stopped with the test.
 */
abstract class ExternalProcess implements AutoCloseable {
  private static final int ATTEMPTS = 3;

  protected final Path dir;
  protected final String name;
  private Process process;
  private Path log;

  ExternalProcess(Path dir, String name) {
    this.dir = dir;
    this.name = name;
  }

  /** The binary: {@code env} if set, else the first of {@code candidates} that exists, else skip. */
  static String binary(String env, String... candidates) {
    String p = System.getenv(env);
    if (p != null && !p.isEmpty()) {
      return p;
    }
    for (String c : candidates) {
      if (Files.isExecutable(Path.of(c))) {
        return c;
      }
    }
    String msg = "none of " + List.of(candidates) + " is installed (set " + env + ")";
    if (Boolean.getBoolean("leafgate.it.requireExternal")) {
      throw new IllegalStateException(msg);
    }
    Assumptions.abort(msg);
    return null;
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      s.setReuseAddress(true);
      return s.getLocalPort();
    }
  }

  /** Writes the configuration for the given ports and returns the command line. */
  protected abstract List<String> prepare(int[] ports) throws IOException;

  /** How many ports to reserve. */
  protected abstract int portCount();

  /** The port to wait for. */
  protected abstract int readyPort(int[] ports);

  protected void start() throws IOException {
    Files.createDirectories(dir);
    log = dir.resolve(name + ".log");
    String last = "";
    for (int attempt = 1; attempt <= ATTEMPTS; attempt++) {
      int[] ports = new int[portCount()];
      for (int i = 0; i < ports.length; i++) {
        ports[i] = freePort();
      }
      onPorts(ports);
      List<String> cmd = new ArrayList<>(prepare(ports));
      process = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true)
          .redirectOutput(log.toFile()).start();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (System.nanoTime() < deadline && process.isAlive()) {
        if (accepts(readyPort(ports))) {
          return;
        }
        try {
          Thread.sleep(20);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IOException(e);
        }
      }
      last = Files.exists(log) ? Files.readString(log) : "";
      process.destroyForcibly();
    }
    throw new IOException(name + " did not start after " + ATTEMPTS + " attempts; log:\n" + last);
  }

  /** Called with the reserved ports before the configuration is written. */
  protected void onPorts(int[] ports) {}

  private static boolean accepts(int port) {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 200);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /** The log so far, for failure messages. */
  String log() {
    try {
      return Files.readString(log);
    } catch (IOException e) {
      return "(no log: " + e.getMessage() + ")";
    }
  }

  @Override
  public void close() {
    if (process != null) {
      process.destroy();
      try {
        if (!process.waitFor(5, TimeUnit.SECONDS)) {
          process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  static Duration seconds(long s) {
    return Duration.ofSeconds(s);
  }
}
