package io.leafgate.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.leafgate.leaf.config.ConfigException;
import io.leafgate.leaf.config.ConfigLoader;
import io.leafgate.leaf.config.ServerOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which keys a SIGHUP reload reports as changed, read from real files. */
class ConfigReloadTest {
  @TempDir Path dir;

  private ServerOptions load(String text) throws IOException, ConfigException {
    Path f = dir.resolve("leafgate.conf");
    Files.writeString(f, text);
    return ConfigLoader.load(f, name -> null, List.of(io.leafgate.hub.UplinkConfig::check));
  }

  @Test
  void sameFileNothingChanged() throws Exception {
    String conf = "listen: 0.0.0.0:4222\nhttp: 127.0.0.1:8222\nauthorization { user: a, password: b }\n";
    assertEquals(List.of(), ConfigReload.changedKeys(load(conf), load(conf)));
  }

  @Test
  void changedKeysAreNamedAsInTheFile() throws Exception {
    ServerOptions a = load("listen: 0.0.0.0:4222\nauthorization { user: a, password: b }\n"
        + "leafnodes { remotes = [ { urls: [\"nats-leaf://hub:7422\"] } ] }\n"
        + "uplink { export: [\"telemetry.>\"] }\n");
    ServerOptions b = load("listen: 0.0.0.0:4223\nauthorization { user: a, password: c }\n"
        + "leafnodes { remotes = [ { urls: [\"nats-leaf://hub:7422\"] } ] }\n"
        + "uplink { export: [\"telemetry.>\", \"alarms.>\"] }\nmax_payload: 512KB\n");
    assertEquals(List.of("listen", "max_payload", "authorization", "uplink"), ConfigReload.changedKeys(a, b));
  }
}
