package io.leafgate.it.uplink;

import io.leafgate.gateway.Gateway;
import io.leafgate.hub.UplinkConfig;
import io.leafgate.it.harness.Await;
import io.leafgate.it.harness.Http;
import io.leafgate.it.harness.NatsServerProcess;
import io.leafgate.leaf.config.ConfigLoader;
import io.leafgate.leaf.config.ServerOptions;
import io.nats.client.Connection;
import io.nats.client.Message;
import io.nats.client.Subscription;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
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

  /**
   * The hub stream TELEMETRY on {@code telemetry.>} that the uplink's {@code hub_stream} names;
   * {@code duplicateWindow} null for the hub's default.
   */
  static void createHubStream(NatsServerProcess hub, Duration duplicateWindow) throws Exception {
    try (Connection hc = io.nats.client.Nats.connect(hub.clientUrl())) {
      io.nats.client.api.StreamConfiguration.Builder b = io.nats.client.api.StreamConfiguration.builder()
          .name("TELEMETRY").subjects("telemetry.>");
      if (duplicateWindow != null) {
        b.duplicateWindow(duplicateWindow);
      }
      hc.jetStreamManagement().addStream(b.build());
    }
  }

  /** Messages in the hub stream TELEMETRY, or -1 when the hub does not answer. */
  static long hubCount(NatsServerProcess hub) {
    try (Connection hc = io.nats.client.Nats.connect(hub.clientUrl())) {
      return hc.jetStreamManagement().getStreamInfo("TELEMETRY").getStreamState().getMsgCount();
    } catch (Exception e) {
      return -1;
    }
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

  /** A jnats connection with a connect timeout that a busy 2-core machine does not run out of. */
  static Connection connect(String url) throws IOException, InterruptedException {
    return io.nats.client.Nats.connect(new io.nats.client.Options.Builder().server(url)
        .connectionTimeout(Duration.ofSeconds(10)).build());
  }

  /**
   * Checks both directions of a connected link: a hub subscriber gets what a local client publishes
   * on {@code up.temp} (exported), and a local subscriber gets what a hub client publishes on
   * {@code down.cmd} (imported). The downward interest is probed with messages, since the hub's
   * /subsz shows only its global account in operator mode.
   */
  static void assertMessagesFlowBothWays(Gateway edge, NatsServerProcess hub, Connection hubClient,
      Connection edgeClient) throws Exception {
    Duration t = Duration.ofSeconds(10);
    Subscription up = hubClient.subscribe("up.temp");
    hubClient.flush(t);
    Await.until(t, () -> edge.router().sublist().match("up.temp").isEmpty()
        ? "hub interest in up.temp not yet at the edge" : null);
    edgeClient.publish("up.temp", "21.5".getBytes(StandardCharsets.UTF_8));
    Message m = up.nextMessage(t);
    if (m == null || !"21.5".equals(new String(m.getData(), StandardCharsets.UTF_8))) {
      throw new AssertionError(hub.withLog("the hub did not get the edge's message: " + m));
    }

    Subscription down = edgeClient.subscribe("down.cmd");
    edgeClient.flush(t);
    Await.until(t, () -> {
      hubClient.publish("down.cmd", "probe".getBytes(StandardCharsets.UTF_8));
      try {
        return down.nextMessage(Duration.ofMillis(200)) != null ? null : "edge interest not yet at the hub";
      } catch (InterruptedException e) {
        throw new IllegalStateException(e);
      }
    });
    while (down.nextMessage(Duration.ofMillis(200)) != null) {
      // drain the probes
    }
    hubClient.publish("down.cmd", "open valve".getBytes(StandardCharsets.UTF_8));
    Message d = down.nextMessage(t);
    if (d == null || !"open valve".equals(new String(d.getData(), StandardCharsets.UTF_8))) {
      throw new AssertionError("the edge did not get the hub's message: " + d);
    }
  }
}
