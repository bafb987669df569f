package io.leafgate.it.jetstream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * §14 G: {@code integration-tests/js/jetstream.js} run with node (nats.js v2) against an in-JVM
 * leafgate. Skipped when node or the installed {@code nats} package is missing, unless
 * {@code -Dleafgate.it.requireExternal=true}.
 */
class JsNatsJsTest {
  private static final List<String> CHECKS = List.of("manager", "stream-add", "publish", "fetch", "next", "consume",
      "ordered", "kv", "kv-watch");

  @Test
  void natsJsJetStreamChecksPass(@TempDir Path tmp) throws Exception {
    Path node = onPath("node");
    Path js = Path.of(System.getProperty("basedir", "")).toAbsolutePath().resolve("js");
    requireExternal(node != null, "node is not on PATH");
    requireExternal(Files.isDirectory(js.resolve("node_modules/nats")),
        "the nats package is not installed: run `npm ci` in " + js);
    Path log = tmp.resolve("node.log");
    try (JsGateway gw = JsGateway.start(tmp.resolve("store"))) {
      Process p = new ProcessBuilder(node.toString(), "jetstream.js", gw.url()).directory(js.toFile())
          .redirectErrorStream(true).redirectOutput(log.toFile())
          .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
      try {
        if (!p.waitFor(90, TimeUnit.SECONDS)) {
          fail("node jetstream.js still running after 90 s; output:\n" + Files.readString(log));
        }
      } finally {
        if (p.isAlive()) {
          p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
      }
      String out = Files.readString(log, StandardCharsets.UTF_8);
      assertEquals(0, p.exitValue(), "node jetstream.js failed:\n" + out);
      for (String c : CHECKS) {
        assertTrue(out.lines().anyMatch(l -> l.equals("ok " + c)), "check " + c + " did not pass:\n" + out);
      }
      assertTrue(out.contains("jetstream: " + CHECKS.size() + " passed, 0 failed"), out);
    }
  }

  private static void requireExternal(boolean present, String why) {
    if (!present) {
      if (Boolean.getBoolean(NatsServerJs.REQUIRE_EXTERNAL)) {
        fail(why);
      }
      Assumptions.abort(why);
    }
  }

  private static Path onPath(String exe) {
    for (String d : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
      Path p = Path.of(d, exe);
      if (!d.isEmpty() && Files.isExecutable(p)) {
        return p;
      }
    }
    return null;
  }
}
