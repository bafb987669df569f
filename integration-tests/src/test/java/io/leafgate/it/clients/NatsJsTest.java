package io.leafgate.it.clients;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs the nats.js (v2) checks in {@code integration-tests/js} with node against an in-JVM
 * leafgate. Needs node and {@code npm ci} in that folder ({@code ./test.sh} does it).
 */
class NatsJsTest {
  private static final List<String> CHECKS = List.of("pubsub", "wildcards", "queue", "request-reply", "headers",
      "no-responders", "auto-unsubscribe", "drain");

  @Test
  void natsJsCoreChecksPass(@TempDir Path tmp) throws Exception {
    Optional<Path> node = ExternalProcess.onPath("node");
    ExternalProcess.assumeAvailable(node.isPresent(), "node is not on PATH");
    Path js = ExternalProcess.moduleDir().resolve("js");
    ExternalProcess.assumeAvailable(Files.isDirectory(js.resolve("node_modules/nats")),
        "the nats package is not installed: run `npm ci` in " + js);

    try (TestGateway gw = TestGateway.start(tmp.resolve("store"));
         ExternalProcess p = ExternalProcess.start(List.of(node.get().toString(), "core.js", gw.url()), js,
             tmp.resolve("node.log"))) {
      int code = p.waitFor(Duration.ofSeconds(60));
      String out = p.output();
      assertEquals(0, code, "node core.js exited with " + code + "; output:\n" + out);
      for (String check : CHECKS) {
        assertTrue(out.lines().anyMatch(l -> l.startsWith("ok " + check + " ")), "check " + check + " did not pass:\n" + out);
      }
      assertTrue(out.contains("nats.js: " + CHECKS.size() + " passed, 0 failed"), out);
    }
  }
}
