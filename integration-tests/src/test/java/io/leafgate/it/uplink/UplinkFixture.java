package io.leafgate.it.uplink;

import io.leafgate.gateway.Gateway;
import io.leafgate.hub.UplinkConfig;
import io.leafgate.it.harness.Await;
import io.leafgate.it.harness.Http;
import io.leafgate.it.harness.NatsServerProcess;
import io.leafgate.leaf.config.ConfigLoader;
import io.leafgate.leaf.config.ServerOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/** Starts hubs (real nats-server) and gateways with an uplink, for the uplink tests. */
final class UplinkFixture {
  private UplinkFixture() {}

  /** A hub with JetStream in domain "hub" and a leafnode listener. */
  static NatsServerProcess hub(Path dir, String extra) throws IOException {
    return NatsServerProcess.builder(dir)
        .leafListener()
        .extraConfig("server_name: hub\njetstream {\n  store_dir: \"" + dir.resolve("js").toAbsolutePath()
            + "\"\n  domain: hub\n}\n" + extra)
        .start();
  }

  /** Starts a gateway from config text (the uplink blocks included), on free ports. */
  static Gateway gateway(Path dir, String config) throws Exception {
    Files.createDirectories(dir);
    Path file = dir.resolve("leafgate.conf");
    Files.writeString(file, "server_name: edge1\nport: -1\nhttp_port: -1\nmqtt { port: -1 }\nstore_dir: \"" + dir.resolve("data").toAbsolutePath()
        + "\"\n" + config);
    ServerOptions o = ConfigLoader.load(file, System::getenv, List.of(UplinkConfig::check));
    return Gateway.start(o);
  }

  static String remote(NatsServerProcess hub) {
    return "leafnodes {\n  reconnect: \"200ms\"\n  reconnect_max: \"1s\"\n  ping_interval: \"1s\"\n"
        + "  remotes = [ { urls: [\"nats-leaf://127.0.0.1:" + hub.leafPort() + "\"] } ]\n}\n";
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> uplink(Gateway g) {
    try {
      Map<String, Object> leafz = Http.getJson(g.httpPort(), "/leafz");
      return (Map<String, Object>) leafz.get("uplink");
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  static void awaitConnected(Gateway g, NatsServerProcess hub) {
    Await.until(Duration.ofSeconds(15), () -> {
      Map<String, Object> u = uplink(g);
      return "connected".equals(u.get("state")) ? null : "uplink not connected: " + u;
    });
    // The hub side sees the leaf too.
    Await.until(Duration.ofSeconds(5), () -> {
      try {
        Map<String, Object> lz = Http.getJson(hub.monitorPort(), "/leafz");
        return ((Number) lz.get("leafnodes")).intValue() == 1 ? null : "hub has no leaf yet";
      } catch (IOException e) {
        return e.getMessage();
      }
    });
  }

  static void awaitIslanded(Gateway g) {
    Await.until(Duration.ofSeconds(15), () -> {
      Map<String, Object> u = uplink(g);
      return "islanded".equals(u.get("state")) ? null : "uplink not islanded: " + u;
    });
  }
}
