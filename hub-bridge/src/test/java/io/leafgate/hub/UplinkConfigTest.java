package io.leafgate.hub;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leafgate.leaf.config.ConfigException;
import io.leafgate.leaf.config.ConfigLoader;
import io.leafgate.leaf.config.ServerOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class UplinkConfigTest {
  private static ServerOptions load(Path f) throws ConfigException {
    return ConfigLoader.load(f, System::getenv, List.of(UplinkConfig::check));
  }

  @Test
  void readsRemotesAndTheUplinkBlock(@TempDir Path tmp) throws Exception {
    Path f = tmp.resolve("c.conf");
    Files.writeString(f, """
        leafnodes {
          reconnect: "2s"
          remotes = [ { urls: ["nats-leaf://u:p@hub:7422", "tls://hub2:7422"], deny_exports: ["local.>"] } ]
        }
        uplink {
          buffer: ["telemetry.>"]
          max_bytes: 1GB
          max_age: 7d
          discard: new
          hub_stream: TELEMETRY
          replay_rate: 500
          replay_window: 64
          commands { stream: CMDS, subject: "cmd.site.>" }
        }
        """);
    UplinkConfig c = UplinkConfig.parse(load(f), new io.leafgate.leaf.config.ConfigReader());
    assertTrue(c.enabled());
    assertEquals(2, c.remote.urls().size());
    assertEquals(Duration.ofSeconds(2), c.reconnectDelay);
    assertEquals(List.of("local.>"), c.remote.denyExports());
    assertEquals(List.of("telemetry.>"), c.buffer);
    assertEquals(1024L * 1024 * 1024, c.maxBytes);
    assertEquals(Duration.ofDays(7), c.maxAge);
    assertTrue(c.discardNew);
    assertEquals("TELEMETRY", c.hubStream);
    assertEquals(500, c.replayRate);
    assertEquals(64, c.replayWindow);
    assertEquals("cmd.site.>", c.commands.subject());
  }

  @Test
  void everyProblemIsReportedWithItsLine(@TempDir Path tmp) throws Exception {
    Path f = tmp.resolve("bad.conf");
    Files.writeString(f, """
        leafnodes {
          remotes = [ { urls: ["ftp://hub:21"], nkey: "NOTASEED" } ]
        }
        uplink {
          buffer: ["bad..subject"]
          discard: sometimes
          replay_window: 0
          colour: blue
        }
        """);
    ConfigException e = org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class, () -> load(f));
    String all = e.errors().toString();
    assertTrue(e.errors().size() >= 6, all);
    assertTrue(all.contains("bad.conf:2:"), all);
    assertTrue(all.contains("unsupported url scheme"), all);
    assertTrue(all.contains("SU"), all);
    assertTrue(all.contains("bad.conf:5:") && all.contains("invalid subject"), all);
    assertTrue(all.contains("bad.conf:6:") && all.contains("discard"), all);
    assertTrue(all.contains("bad.conf:7:"), all);
    assertTrue(all.contains("bad.conf:8:") && all.contains("colour"), all);
  }

  @Test
  void remoteTlsFilesAreReadAtLoad(@TempDir Path tmp) throws Exception {
    Path f = tmp.resolve("tls.conf");
    Path notPem = tmp.resolve("notes.txt");
    Files.writeString(notPem, "hello\n");
    Files.writeString(f, "leafnodes {\n  remotes = [ { urls: [\"tls://hub:7422\"]\n    tls {\n"
        + "      ca_file: \"" + tmp.resolve("missing-ca.pem") + "\"\n"
        + "      cert_file: \"" + notPem + "\"\n"
        + "      key_file: \"" + notPem + "\"\n    }\n  } ]\n}\n");
    ConfigException e = org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class, () -> load(f));
    assertEquals(List.of(
        f + ":4: leafnodes remote tls ca_file \"" + tmp.resolve("missing-ca.pem") + "\": no such file",
        f + ":5: leafnodes remote tls cert_file \"" + notPem + "\": holds no PEM certificate (BEGIN CERTIFICATE)",
        f + ":6: leafnodes remote tls key_file \"" + notPem + "\": holds no PEM private key (BEGIN PRIVATE KEY)"),
        e.errors().stream().map(Object::toString).toList());
  }
}
