package io.leafgate.it.clients;

import io.leafgate.it.harness.Await;
import static io.leafgate.it.clients.Jnats.WAIT;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.jr.ob.JSON;
import io.nats.client.Connection;
import io.nats.client.Message;
import io.nats.client.Subscription;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code ./leafgate} launcher at the repository root, run as a real process: it starts, serves a
 * NATS client, stops cleanly on SIGTERM, and refuses a bad config with exit code 78.
 */
class LauncherTest {
  /** Starting normally takes a second or two; the launcher may first have to build the distribution. */
  private static final Duration START_LIMIT = Duration.ofSeconds(100);
  private static final Duration STOP_LIMIT = Duration.ofSeconds(20);

  private static Path root;

  @BeforeAll
  static void findLauncher() throws IOException {
    root = ExternalProcess.repoRoot();
    markDistributionBuiltIfCurrent(root);
  }

  @Test
  void runsServesAClientAndStopsCleanlyOnSigterm(@TempDir Path tmp) throws Exception {
    Path store = tmp.resolve("store");
    try (ExternalProcess p = ExternalProcess.start(List.of(root.resolve("leafgate").toString(), "run",
        "-p", "-1", "-m", "-1", "--mqtt_port", "-1", "-sd", store.toString()), root, tmp.resolve("leafgate.log"))) {
      // The launcher execs java, so the ports file carries the launcher's own pid.
      Path portsFile = store.resolve("leafgate_" + p.pid() + ".ports");
      Await.until(START_LIMIT, () -> {
        if (!p.process().isAlive()) {
          throw new AssertionError("leafgate exited with " + p.process().exitValue() + ":\n" + p.output());
        }
        return Files.exists(portsFile) ? null : "no " + portsFile.getFileName() + " yet; output:\n" + p.output();
      });
      Map<String, Object> ports = JSON.std.mapFrom(Files.readString(portsFile));
      String url = ((List<?>) ports.get("nats")).get(0).toString();
      assertTrue(url.matches("nats://127\\.0\\.0\\.1:\\d+"), "nats entry in the ports file: " + url);

      try (Connection nc = Jnats.connect(url)) {
        Subscription s = nc.subscribe("launcher.ping");
        nc.publish("launcher.ping", "pong?".getBytes(UTF_8));
        Message m = s.nextMessage(WAIT);
        assertNotNull(m, "the launched gateway did not route a message");
        assertEquals("pong?", new String(m.getData(), UTF_8));
      }

      p.process().destroy(); // SIGTERM
      int code = p.waitFor(STOP_LIMIT);
      String out = p.output();
      assertEquals(0, code, "exit code after SIGTERM; output:\n" + out);
      assertTrue(out.contains("leafgate stopped"), "no clean stop in the log:\n" + out);
      assertFalse(Files.exists(portsFile), "the ports file was left behind");
    }
  }

  @Test
  void configErrorsAreAllReportedWithFileAndLineAndNothingStarts(@TempDir Path tmp) throws Exception {
    int natsPort = freePort();
    int httpPort = freePort();
    Path store = tmp.resolve("store");
    Path config = tmp.resolve("site.conf");
    Files.writeString(config, String.join("\n",
        "# a site config with two mistakes",
        "listen: 127.0.0.1:" + natsPort,
        "http: 127.0.0.1:" + httpPort,
        "max_paylod: 2MB",
        "store_dir: \"" + store + "\"",
        "ping_intervall: \"30s\"",
        ""));
    try (ExternalProcess p = ExternalProcess.start(List.of(root.resolve("leafgate").toString(), "run",
        "-c", config.toString(), "--mqtt_port", "-1"), root, tmp.resolve("leafgate.log"))) {
      int code = p.waitFor(START_LIMIT);
      String out = p.output();
      assertEquals(78, code, "exit code for a config error; output:\n" + out);
      assertTrue(out.contains(config + ":4: "), "the error on line 4 is missing:\n" + out);
      assertTrue(out.contains("max_paylod"), "the first bad key is not named:\n" + out);
      assertTrue(out.contains(config + ":6: "), "the error on line 6 is missing:\n" + out);
      assertTrue(out.contains("ping_intervall"), "the second bad key is not named:\n" + out);
      assertNotListening(natsPort);
      assertNotListening(httpPort);
      try (Stream<Path> files = Files.exists(store) ? Files.list(store) : Stream.empty()) {
        assertEquals(List.of(), files.filter(f -> f.getFileName().toString().endsWith(".ports")).toList(),
            "a ports file was written");
      }
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private static void assertNotListening(int port) {
    assertThrows(ConnectException.class, () -> {
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress("127.0.0.1", port), 2000);
      }
    }, "something listens on port " + port);
  }

  /**
   * The launcher rebuilds the distribution when its {@code .built} stamp is missing or older than a
   * source, but the reactor's package phase (which built it just before these tests) does not write
   * the stamp, and a nested Maven build in the middle of this one would rewrite jars the test JVM
   * has open. So when every leafgate jar in {@code gateway/target/dist/lib} is at least as new as its
   * module's sources and POMs, the distribution is current and the stamp is set to now. Otherwise
   * nothing is touched and the launcher builds it itself, as it would for a user.
   */
  private static void markDistributionBuiltIfCurrent(Path root) throws IOException {
    Path lib = root.resolve("gateway/target/dist/lib");
    if (!Files.isDirectory(lib)) {
      return;
    }
    boolean sawGateway = false;
    try (Stream<Path> jars = Files.list(lib)) {
      for (Path jar : jars.toList()) {
        String name = jar.getFileName().toString();
        int dash = name.indexOf('-');
        Path module = dash > 0 ? root.resolve(name.substring(0, dash)) : null;
        if (module == null || !Files.isRegularFile(module.resolve("pom.xml"))) {
          continue; // a third-party jar
        }
        sawGateway |= name.startsWith("gateway-");
        FileTime built = Files.getLastModifiedTime(jar);
        if (newerThan(root.resolve("pom.xml"), built) || newerThan(module.resolve("pom.xml"), built)
            || newerThan(module.resolve("src/main"), built)) {
          return;
        }
      }
    }
    if (sawGateway) {
      Path stamp = root.resolve("gateway/target/dist/.built");
      if (!Files.exists(stamp)) {
        Files.createFile(stamp);
      }
      Files.setLastModifiedTime(stamp, FileTime.fromMillis(System.currentTimeMillis()));
    }
  }

  private static boolean newerThan(Path p, FileTime t) throws IOException {
    if (!Files.exists(p)) {
      return false;
    }
    try (Stream<Path> all = Files.walk(p)) {
      return all.filter(Files::isRegularFile).anyMatch(f -> {
        try {
          return Files.getLastModifiedTime(f).compareTo(t) > 0;
        } catch (IOException e) {
          return true;
        }
      });
    }
  }
}
