package io.leafgate.it.harness;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The harness itself: ephemeral ports from the ports file and /varz, and a restart that keeps them. */
class NatsServerProcessTest {
  @Test
  void startsOnEphemeralPortsAndRestartsOnTheSamePortsAndStore(@TempDir Path tmp) throws Exception {
    try (NatsServerProcess ns = NatsServerProcess.builder(tmp).jetStream().leafListener().start()) {
      int port = ns.port();
      int monitor = ns.monitorPort();
      int leaf = ns.leafPort();
      assertTrue(port > 0 && monitor > 0 && leaf > 0, "ports " + port + "/" + monitor + "/" + leaf);
      Map<String, Object> varz = Http.getJson(monitor, "/varz");
      assertEquals(port, ((Number) varz.get("port")).intValue(), ns.withLog("/varz port"));

      // Create a stream so that the restart can show the store was kept.
      try (RawClient c = RawClient.connect(port)) {
        String req = "{\"name\":\"S\",\"subjects\":[\"s.>\"],\"storage\":\"file\"}";
        c.send("CONNECT {\"verbose\":false}\r\nSUB _INBOX.h 1\r\nPUB $JS.API.STREAM.CREATE.S _INBOX.h "
            + req.length() + "\r\n" + req + "\r\n");
        String reply = c.readUntil(Pattern.compile("MSG _INBOX.h 1 \\d+\r\n[^\r]*\r\n"), Duration.ofSeconds(10));
        assertTrue(reply.contains("\"config\""), ns.withLog("stream create answered " + reply));
      }

      ns.restart();
      assertEquals(port, ns.port());
      assertEquals(monitor, ns.monitorPort());
      assertEquals(leaf, ns.leafPort());
      assertTrue(ns.isRunning());
      Await.until(Duration.ofSeconds(10), () -> {
        try {
          Object streams = Http.getJson(monitor, "/jsz").get("streams");
          return streams instanceof Number n && n.intValue() == 1 ? null : "streams: " + streams;
        } catch (Exception e) {
          return e.toString();
        }
      });
      try (RawClient c = RawClient.connect(port)) {
        c.send("CONNECT {\"verbose\":false}\r\nPING\r\n");
        c.readUntil(Pattern.compile("PONG\r\n"), Duration.ofSeconds(5));
      }
      assertTrue(ns.log().contains("Server is ready"), ns.withLog("no ready line in the log"));
    }
  }
}
