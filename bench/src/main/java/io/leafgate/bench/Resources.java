package io.leafgate.bench;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.function.Consumer;

/**
 * The resource scenarios: start-up time and resident memory. Each measurement launches its own
 * fresh server process, so no load scenario has grown its heap first.
 */
final class Resources {
  private static final Duration START_TIMEOUT = Duration.ofSeconds(60);
  /** File descriptors the bench JVM and the servers need besides the idle connections. */
  private static final int FD_HEADROOM = 256;

  private final ServerProcess.Programs programs;
  private final Consumer<String> progress;

  Resources(ServerProcess.Programs programs, Consumer<String> progress) {
    this.programs = programs;
    this.progress = progress;
  }

  /**
   * Launches a server on a free port (chosen here, so that it can be polled before it writes a
   * ports file) and returns the milliseconds from the launch to the first INFO read on a TCP
   * connection to it. The port is polled every millisecond. For leafgate the time includes the
   * launcher script (its staleness check) and JVM start-up, as a user would see it.
   */
  Measured startupMillis(ServerKind kind, Path workDir) throws IOException, InterruptedException {
    int port = freePort();
    InetSocketAddress address = new InetSocketAddress("127.0.0.1", port);
    String badGreeting = null;
    long t0 = System.nanoTime();
    try (ServerProcess p = ServerProcess.launch(kind, programs, port, workDir)) {
      long deadline = t0 + START_TIMEOUT.toNanos();
      while (true) {
        try {
          ServerProcess.readInfo(address, Duration.ofSeconds(2));
          double ms = (System.nanoTime() - t0) / 1e6;
          return badGreeting == null ? Measured.of(ms) : new Measured(ms, "while starting, "
              + kind.label() + " answered a connection with an invalid greeting (polling went on): " + badGreeting);
        } catch (ServerProcess.BadGreeting e) {
          if (badGreeting == null) {
            badGreeting = e.getMessage();
          }
        } catch (ConnectException notYet) {
          // not listening yet
        } catch (IOException notReady) {
          // accepted but closed or silent: not ready yet either
        }
        if (!p.isAlive()) {
          return Measured.failed(kind.label() + " exited during start-up; log:\n" + ServerProcess.tail(p.log(), 10));
        }
        if (System.nanoTime() > deadline) {
          return Measured.failed("no INFO on port " + port + " within " + START_TIMEOUT.toSeconds() + " s");
        }
        Thread.sleep(1);
      }
    }
  }

  /** RSS figures of one server, in KiB. */
  record Memory(Measured idleKiB, Measured withConnectionsKiB, Measured perConnectionKiB) {}

  /**
   * Starts a fresh server, reads its RSS after {@code idleSettle}, opens {@code count} idle
   * connections, waits {@code connectionsSettle}, and reads the RSS again. Then kills the server
   * (its clean stop is not measured here) before closing the connections (see
   * {@link IdleConnections#close()}).
   */
  Memory memory(ServerKind kind, Path workDir, int count, Duration idleSettle, Duration connectionsSettle)
      throws IOException, InterruptedException {
    return memory(ServerProcess.launch(kind, programs, -1, workDir), IdleConnections.Dialect.NATS, count,
        idleSettle, connectionsSettle);
  }

  /**
   * The same with a server already launched (by a config file, say), and connections of
   * {@code dialect}: NATS connections go to the server's NATS port, MQTT ones to its MQTT port.
   */
  Memory memory(ServerProcess launched, IdleConnections.Dialect dialect, int count, Duration idleSettle,
      Duration connectionsSettle) throws IOException, InterruptedException {
    IdleConnections idle = null;
    ServerKind kind = launched.kind();
    try (ServerProcess p = launched) {
      p.awaitReady(START_TIMEOUT);
      Thread.sleep(idleSettle.toMillis());
      Measured idleRss = Measured.of(p.rssKiB());
      progress.accept(String.format("memory: %s idle RSS %.1f MiB (pid %d)", kind.label(), idleRss.value() / 1024,
          p.serverPid()));

      String fdProblem = fdProblem(p, count);
      if (fdProblem != null) {
        Measured f = Measured.failed(fdProblem);
        return new Memory(idleRss, f, f);
      }
      long t0 = System.nanoTime();
      InetSocketAddress target = dialect == IdleConnections.Dialect.NATS ? p.natsAddress() : p.mqttAddress();
      idle = IdleConnections.open(target, dialect, count);
      try {
        idle.awaitEstablished(Duration.ofSeconds(90));
      } catch (IOException e) {
        Measured f = Measured.failed(e.getMessage() + logWarnings(p));
        return new Memory(idleRss, f, f);
      }
      progress.accept(String.format("memory: %s accepted %,d %s connections in %.1f s", kind.label(), count,
          dialect, (System.nanoTime() - t0) / 1e9));
      Thread.sleep(connectionsSettle.toMillis());
      if (idle.firstError() != null || idle.openCount() != count) {
        Measured f = Measured.failed(idle.openCount() + " of " + count + " connections open: " + idle.firstError()
            + logWarnings(p));
        return new Memory(idleRss, f, f);
      }
      long rss = p.rssKiB();
      progress.accept(String.format("memory: %s RSS with %,d %s connections %.1f MiB%s", kind.label(), count,
          dialect, rss / 1024.0, dialect == IdleConnections.Dialect.NATS
          ? " (" + idle.pingsAnswered() + " server PINGs answered)" : ""));
      p.kill();
      return new Memory(idleRss, Measured.of(rss), Measured.of((rss - idleRss.value()) / count));
    } finally {
      if (idle != null) {
        idle.close();
      }
    }
  }

  private static String logWarnings(ServerProcess p) {
    String w = p.warningsSince(0, 2);
    return w.isEmpty() ? "" : "; " + p.kind().label() + " log: " + w;
  }

  /** Why the open-files limits are too low for {@code count} connections, or null when they suffice. */
  private static String fdProblem(ServerProcess p, int count) throws IOException {
    long need = (long) count + FD_HEADROOM;
    long mine = ProcInfo.openFilesLimit("self");
    long server = p.openFilesLimit();
    if (mine < need || server < need) {
      return "open-files limit too low for " + count + " connections: bench JVM " + mine + ", "
          + p.kind().label() + " " + server + ", need " + need + " each (bench/run raises it with ulimit -n; "
          + "or use --connections)";
    }
    return null;
  }

  /** A port that is free now (the server binds it a moment later; loopback only, so a clash is unlikely). */
  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      s.setReuseAddress(true);
      return s.getLocalPort();
    }
  }
}
