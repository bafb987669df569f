package io.leafgate.it.uplink;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leafgate.gateway.Gateway;
import io.leafgate.it.harness.Await;
import io.leafgate.it.harness.NatsServerProcess;
import io.nats.client.Connection;
import io.nats.client.Message;
import io.nats.client.NKey;
import io.nats.client.Nats;
import io.nats.client.Subscription;
import io.nats.client.api.StreamConfiguration;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The uplink when things go wrong: no hub, wrong credentials, a silent dead link. */
class UplinkFaultTest {
  @Test
  void anUnreachableHubLeavesLocalServiceAloneAndIsRetriedWithBackoff(@TempDir Path tmp) throws Exception {
    int closedPort;
    try (ServerSocket s = new ServerSocket(0)) {
      closedPort = s.getLocalPort();
    }
    String cfg = "leafnodes {\n  reconnect: \"100ms\"\n  reconnect_max: \"400ms\"\n"
        + "  remotes = [ { urls: [\"nats-leaf://127.0.0.1:" + closedPort + "\"] } ]\n}\n";
    try (Gateway edge = UplinkFixture.gateway(tmp, cfg);
         Connection nc = Nats.connect("nats://127.0.0.1:" + edge.natsPort())) {
      assertLocalPubSubWorks(nc);
      Await.until(Duration.ofSeconds(10), () -> {
        Map<String, Object> u = UplinkFixture.uplink(edge);
        long attempts = ((Number) u.get("reconnect_attempts")).longValue();
        String err = String.valueOf(u.get("last_error"));
        return attempts >= 3 && err.contains("cannot reach") && "islanded".equals(u.get("state")) ? null : "uplink: " + u;
      });
      // Backoff: with a 100 ms base and a 400 ms cap, two seconds hold far fewer than 20 attempts.
      long before = ((Number) UplinkFixture.uplink(edge).get("reconnect_attempts")).longValue();
      long t0 = System.nanoTime();
      Await.until(Duration.ofSeconds(5), () -> System.nanoTime() - t0 > 2_000_000_000L ? null : "waiting");
      long after = ((Number) UplinkFixture.uplink(edge).get("reconnect_attempts")).longValue();
      assertTrue(after - before < 20, "attempts in 2 s: " + (after - before));
      assertTrue(after - before >= 2, "still retrying: " + (after - before));
      assertLocalPubSubWorks(nc);
    }
  }

  @Test
  void wrongCredentialsAreReportedAndRightOnesConnect(@TempDir Path tmp) throws Exception {
    String auth = "leafnodes { authorization { user: leaf, password: s3cret } }\n";
    try (NatsServerProcess hub = NatsServerProcess.builder(tmp.resolve("hub")).extraConfig("server_name: hub\n"
        + "leafnodes {\n  listen: 127.0.0.1:-1\n  authorization { user: leaf, password: s3cret }\n}\n").start()) {
      int leafPort = leafPortOf(hub);
      String bad = "leafnodes {\n  reconnect: \"200ms\"\n  reconnect_max: \"500ms\"\n"
          + "  remotes = [ { urls: [\"nats-leaf://leaf:wrong@127.0.0.1:" + leafPort + "\"] } ]\n}\n";
      try (Gateway edge = UplinkFixture.gateway(tmp.resolve("bad"), bad);
           Connection nc = Nats.connect("nats://127.0.0.1:" + edge.natsPort())) {
        Await.until(Duration.ofSeconds(10), () -> {
          Map<String, Object> u = UplinkFixture.uplink(edge);
          return String.valueOf(u.get("last_error")).contains("Authorization Violation") ? null : "uplink: " + u;
        });
        assertEquals("islanded", UplinkFixture.uplink(edge).get("state"));
        assertLocalPubSubWorks(nc);
      }
      String good = "leafnodes {\n  remotes = [ { urls: [\"nats-leaf://127.0.0.1:" + leafPort + "\"], "
          + "user: leaf, password: s3cret } ]\n}\n";
      try (Gateway edge = UplinkFixture.gateway(tmp.resolve("good"), good)) {
        Await.until(Duration.ofSeconds(10), () ->
            "connected".equals(UplinkFixture.uplink(edge).get("state")) ? null : "uplink: " + UplinkFixture.uplink(edge));
      }
      assertTrue(auth.length() > 0);
    }
  }

  @Test
  void anNkeyUserAuthenticatesBySigningTheNonce(@TempDir Path tmp) throws Exception {
    NKey user = NKey.createUser(new SecureRandom());
    String pub = new String(user.getPublicKey());
    String seed = new String(user.getSeed());
    try (NatsServerProcess hub = NatsServerProcess.builder(tmp.resolve("hub")).extraConfig("server_name: hub\n"
        + "leafnodes { listen: 127.0.0.1:-1 }\nauthorization { users = [ { nkey: " + pub + " } ] }\n").start()) {
      String cfg = "leafnodes {\n  remotes = [ { urls: [\"nats-leaf://127.0.0.1:" + leafPortOf(hub) + "\"], nkey: \""
          + seed + "\" } ]\n}\n";
      try (Gateway edge = UplinkFixture.gateway(tmp.resolve("edge"), cfg)) {
        Await.until(Duration.ofSeconds(10), () ->
            "connected".equals(UplinkFixture.uplink(edge).get("state")) ? null : "uplink: " + UplinkFixture.uplink(edge));
      }
    }
  }

  @Test
  void aSilentlyDeadLinkIsDetectedByPingsAndTheBacklogReplaysExactlyOnce(@TempDir Path tmp) throws Exception {
    NatsServerProcess hub = UplinkFixture.hub(tmp.resolve("hub"), "");
    try (hub; ChaosProxy proxy = new ChaosProxy(hub.leafPort())) {
      String cfg = "leafnodes {\n  reconnect: \"200ms\"\n  reconnect_max: \"1s\"\n  ping_interval: \"500ms\"\n  ping_max: 2\n"
          + "  remotes = [ { urls: [\"nats-leaf://127.0.0.1:" + proxy.port() + "\"] } ]\n}\n"
          + "uplink {\n  buffer: [\"telemetry.>\"]\n  hub_stream: TELEMETRY\n}\n";
      try (Connection hc = Nats.connect(hub.clientUrl())) {
        hc.jetStreamManagement().addStream(StreamConfiguration.builder().name("TELEMETRY").subjects("telemetry.>")
            .duplicateWindow(Duration.ofSeconds(1)).build());
      }
      try (Gateway edge = UplinkFixture.gateway(tmp.resolve("edge"), cfg);
           Connection nc = Nats.connect("nats://127.0.0.1:" + edge.natsPort())) {
        UplinkFixture.awaitConnected(edge, hub);
        for (int i = 0; i < 100; i++) {
          nc.publish("telemetry.a", ("m" + i).getBytes(StandardCharsets.UTF_8));
        }
        nc.flush(Duration.ofSeconds(2));
        UplinkBufferTest.awaitHubCount(hub, 100);
        proxy.blackhole();
        for (int i = 100; i < 400; i++) {
          nc.publish("telemetry.a", ("m" + i).getBytes(StandardCharsets.UTF_8));
        }
        nc.flush(Duration.ofSeconds(2));
        UplinkFixture.awaitIslanded(edge);
        // Longer than the hub's duplicate window: only leafgate's own check prevents duplicates now.
        long t0 = System.nanoTime();
        Await.until(Duration.ofSeconds(5), () -> System.nanoTime() - t0 > 1_500_000_000L ? null : "waiting out the window");
        proxy.restore();
        UplinkFixture.awaitConnected(edge, hub);
        UplinkBufferTest.awaitHubCount(hub, 400);
        assertEquals(List.of(), UplinkBufferTest.outOfOrder(hub, 400));
      }
    }
  }

  private static int leafPortOf(NatsServerProcess hub) throws Exception {
    Map<String, Object> varz = io.leafgate.it.harness.Http.getJson(hub.monitorPort(), "/varz");
    return ((Number) ((Map<?, ?>) varz.get("leaf")).get("port")).intValue();
  }

  private static void assertLocalPubSubWorks(Connection nc) throws Exception {
    Subscription s = nc.subscribe("local.check");
    nc.flush(Duration.ofSeconds(2));
    nc.publish("local.check", "ok".getBytes(StandardCharsets.UTF_8));
    Message m = s.nextMessage(Duration.ofSeconds(2));
    assertNotNull(m, "local pub/sub must work while the uplink is down");
    s.unsubscribe();
  }
}
