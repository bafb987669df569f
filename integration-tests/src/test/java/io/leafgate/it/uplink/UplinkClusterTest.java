package io.leafgate.it.uplink;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import io.leafgate.gateway.Gateway;
import io.leafgate.it.harness.Await;
import io.leafgate.it.harness.Http;
import io.leafgate.it.harness.NatsServerProcess;
import io.nats.client.Connection;
import io.nats.client.Message;
import io.nats.client.Nats;
import io.nats.client.Options;
import io.nats.client.Subscription;
import io.nats.client.api.StreamConfiguration;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A three-node hub cluster: interest, replay to a replicated stream, and failover when the leaf's node dies. */
class UplinkClusterTest {
  @Test
  void failsOverToAnotherNodeAndKeepsReplayingInOrder(@TempDir Path tmp) throws Exception {
    int[] routePorts = freePorts(3);
    List<NatsServerProcess> nodes = new ArrayList<>();
    try {
      for (int i = 0; i < 3; i++) {
        StringBuilder routes = new StringBuilder();
        for (int j = 0; j < 3; j++) {
          if (j != i) {
            routes.append(routes.length() == 0 ? "" : ", ").append("\"nats-route://127.0.0.1:").append(routePorts[j]).append('"');
          }
        }
        Path dir = tmp.resolve("n" + i);
        nodes.add(NatsServerProcess.builder(dir).leafListener().extraConfig(
            "server_name: n" + i + "\n"
                + "jetstream {\n  store_dir: \"" + dir.resolve("js").toAbsolutePath() + "\"\n  domain: hub\n}\n"
                + "cluster {\n  name: hubc\n  listen: 127.0.0.1:" + routePorts[i] + "\n  routes: [" + routes + "]\n}\n")
            .start());
      }
      String urls = nodes.get(0).clientUrl() + "," + nodes.get(1).clientUrl() + "," + nodes.get(2).clientUrl();
      Await.until(Duration.ofSeconds(30), () -> {
        try (Connection hc = Nats.connect(new Options.Builder().servers(urls.split(",")).build())) {
          hc.jetStreamManagement().addStream(StreamConfiguration.builder().name("TELEMETRY").subjects("telemetry.>")
              .replicas(3).build());
          return null;
        } catch (Exception e) {
          return "cluster JetStream not ready: " + e.getMessage();
        }
      });
      // The gateway only knows node 0; it learns the others from the hub's leafnode_urls.
      String cfg = "leafnodes {\n  reconnect: \"200ms\"\n  reconnect_max: \"1s\"\n  ping_interval: \"500ms\"\n"
          + "  remotes = [ { urls: [\"nats-leaf://127.0.0.1:" + nodes.get(0).leafPort() + "\"] } ]\n}\n"
          + "uplink {\n  buffer: [\"telemetry.>\"]\n  hub_stream: TELEMETRY\n}\n";
      try (Gateway edge = UplinkFixture.gateway(tmp.resolve("edge"), cfg);
           Connection nc = Nats.connect("nats://127.0.0.1:" + edge.natsPort());
           Connection hc = Nats.connect(new Options.Builder().servers(urls.split(",")).build())) {
        Await.until(Duration.ofSeconds(15), () ->
            "connected".equals(UplinkFixture.uplink(edge).get("state")) ? null : "not connected: " + UplinkFixture.uplink(edge));
        for (int i = 0; i < 100; i++) {
          nc.publish("telemetry.a", ("m" + i).getBytes(StandardCharsets.UTF_8));
        }
        nc.flush(Duration.ofSeconds(2));
        awaitCount(hc, 100);

        int leafNode = nodeWithLeaf(nodes);
        nodes.get(leafNode).stop();
        for (int i = 100; i < 300; i++) {
          nc.publish("telemetry.a", ("m" + i).getBytes(StandardCharsets.UTF_8));
        }
        nc.flush(Duration.ofSeconds(2));
        Await.until(Duration.ofSeconds(30), () -> {
          Map<String, Object> u = UplinkFixture.uplink(edge);
          return "connected".equals(u.get("state")) && ((Number) u.get("backlog_msgs")).longValue() == 0
              ? null : "failing over: " + u;
        });
        awaitCount(hc, 300);
        assertEquals(List.of(), contents(hc, 300));

        // Interest still crosses: a hub client on a surviving node hears the edge.
        Subscription s = hc.subscribe("after.failover");
        hc.flush(Duration.ofSeconds(2));
        Await.until(Duration.ofSeconds(10), () ->
            edge.router().sublist().match("after.failover").isEmpty() ? "no hub interest yet" : null);
        nc.publish("after.failover", "x".getBytes(StandardCharsets.UTF_8));
        Message m = s.nextMessage(Duration.ofSeconds(5));
        assertNotNull(m);
      }
    } finally {
      for (NatsServerProcess n : nodes) {
        n.close();
      }
    }
  }

  private static int nodeWithLeaf(List<NatsServerProcess> nodes) {
    int[] found = {-1};
    Await.until(Duration.ofSeconds(10), () -> {
      for (int i = 0; i < nodes.size(); i++) {
        try {
          Map<String, Object> lz = Http.getJson(nodes.get(i).monitorPort(), "/leafz");
          if (((Number) lz.get("leafnodes")).intValue() > 0) {
            found[0] = i;
            return null;
          }
        } catch (IOException e) {
          // not up
        }
      }
      return "no node has the leaf";
    });
    return found[0];
  }

  private static void awaitCount(Connection hc, long n) {
    Await.until(Duration.ofSeconds(30), () -> {
      try {
        long c = hc.jetStreamManagement().getStreamInfo("TELEMETRY").getStreamState().getMsgCount();
        if (c > n) {
          throw new AssertionError("hub holds " + c + " > " + n);
        }
        return c == n ? null : "hub holds " + c + " of " + n;
      } catch (AssertionError e) {
        throw e;
      } catch (Exception e) {
        return e.getMessage();
      }
    });
  }

  private static List<String> contents(Connection hc, int n) throws Exception {
    List<String> problems = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      long seq = i + 1;
      String[] body = new String[1];
      // The client may still be failing over from the stopped node: a get can time out once.
      Await.until(Duration.ofSeconds(20), () -> {
        try {
          body[0] = new String(hc.jetStreamManagement().getMessage("TELEMETRY", seq).getData(), StandardCharsets.UTF_8);
          return null;
        } catch (Exception e) {
          return "get " + seq + ": " + e.getMessage();
        }
      });
      if (!body[0].equals("m" + i)) {
        problems.add("seq " + seq + " holds " + body[0]);
      }
    }
    return problems;
  }

  private static int[] freePorts(int n) throws IOException {
    int[] p = new int[n];
    List<ServerSocket> open = new ArrayList<>();
    try {
      for (int i = 0; i < n; i++) {
        ServerSocket s = new ServerSocket(0);
        open.add(s);
        p[i] = s.getLocalPort();
      }
    } finally {
      for (ServerSocket s : open) {
        s.close();
      }
    }
    return p;
  }
}
