package io.leafgate.it.uplink;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leafgate.gateway.Gateway;
import io.leafgate.it.harness.Await;
import io.leafgate.it.harness.NatsServerProcess;
import io.nats.client.Connection;
import io.nats.client.JetStreamManagement;
import io.nats.client.JetStreamSubscription;
import io.nats.client.Message;
import io.nats.client.Nats;
import io.nats.client.PullSubscribeOptions;
import io.nats.client.impl.Headers;
import io.nats.client.impl.NatsMessage;
import io.nats.client.api.MessageInfo;
import io.nats.client.api.StreamInfo;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Store and forward to a hub stream: in order, nothing lost, nothing duplicated, across an island period. */
class UplinkBufferTest {
  private static final String CONFIG = "uplink {\n  buffer: [\"telemetry.>\"]\n  hub_stream: TELEMETRY\n}\n";

  @Test
  void bufferedSubjectsReachTheHubStreamExactlyOnceInOrderAcrossAnOutage(@TempDir Path tmp) throws Exception {
    NatsServerProcess hub = UplinkFixture.hub(tmp.resolve("hub"), "");
    try (hub; Gateway edge = UplinkFixture.gateway(tmp.resolve("edge"), UplinkFixture.remote(hub) + CONFIG);
         Connection edgeClient = Nats.connect("nats://127.0.0.1:" + edge.natsPort())) {
      createHubStream(hub);
      UplinkFixture.awaitConnected(edge, hub);
      int n = 200;
      for (int i = 0; i < n; i++) {
        edgeClient.publish("telemetry.s" + (i % 3), ("m" + i).getBytes(StandardCharsets.UTF_8));
      }
      edgeClient.flush(Duration.ofSeconds(2));
      awaitHubCount(hub, n);

      hub.stop();
      UplinkFixture.awaitIslanded(edge);
      int m = 300;
      for (int i = n; i < n + m; i++) {
        edgeClient.publish("telemetry.s" + (i % 3), ("m" + i).getBytes(StandardCharsets.UTF_8));
      }
      edgeClient.flush(Duration.ofSeconds(2));
      Await.until(Duration.ofSeconds(5), () -> {
        Map<String, Object> u = UplinkFixture.uplink(edge);
        return ((Number) u.get("backlog_msgs")).longValue() == m ? null : "backlog is " + u.get("backlog_msgs");
      });
      hub.restart();
      UplinkFixture.awaitConnected(edge, hub);
      awaitHubCount(hub, n + m);
      assertEquals(List.of(), outOfOrder(hub, n + m), "hub stream content");
      Map<String, Object> u = UplinkFixture.uplink(edge);
      assertEquals(0L, ((Number) u.get("backlog_msgs")).longValue(), "backlog after replay: " + u);
    }
  }

  @Test
  void liveBurstsReachTheHubStreamInOrderExactlyOnce(@TempDir Path tmp) throws Exception {
    NatsServerProcess hub = UplinkFixture.hub(tmp.resolve("hub"), "");
    try (hub; Gateway edge = UplinkFixture.gateway(tmp.resolve("edge"), UplinkFixture.remote(hub) + CONFIG);
         Connection edgeClient = Nats.connect("nats://127.0.0.1:" + edge.natsPort())) {
      createHubStream(hub);
      UplinkFixture.awaitConnected(edge, hub);
      // A trickle leaves the forwarder's pull request partly served; once the hub has confirmed it,
      // the forwarder opens a second request beside it; then a burst fills the first request and
      // goes on into the second in one delivery pass.
      int n = 0;
      for (int round = 0; round < 4; round++) {
        for (int i = 0; i < 300; i++, n++) {
          edgeClient.publish("telemetry.s" + (n % 5), ("m" + n).getBytes(StandardCharsets.UTF_8));
        }
        edgeClient.flush(Duration.ofSeconds(2));
        awaitHubCount(hub, n);
        for (int i = 0; i < 1000; i++, n++) {
          edgeClient.publish("telemetry.s" + (n % 5), ("m" + n).getBytes(StandardCharsets.UTF_8));
        }
        edgeClient.flush(Duration.ofSeconds(2));
        awaitHubCount(hub, n);
      }
      assertEquals(List.of(), outOfOrder(hub, n), "hub stream content");
    }
  }

  @Test
  void replayedMessagesCarryAStableMessageIdAndKeepThePublishersOwn(@TempDir Path tmp) throws Exception {
    NatsServerProcess hub = UplinkFixture.hub(tmp.resolve("hub"), "");
    try (hub; Gateway edge = UplinkFixture.gateway(tmp.resolve("edge"), UplinkFixture.remote(hub) + CONFIG);
         Connection edgeClient = Nats.connect("nats://127.0.0.1:" + edge.natsPort())) {
      createHubStream(hub);
      UplinkFixture.awaitConnected(edge, hub);
      edgeClient.publish("telemetry.a", "m0".getBytes(StandardCharsets.UTF_8));
      Headers own = new Headers().add("Nats-Msg-Id", "sensor-7:42");
      edgeClient.publish(NatsMessage.builder().subject("telemetry.b").headers(own)
          .data("m1".getBytes(StandardCharsets.UTF_8)).build());
      edgeClient.flush(Duration.ofSeconds(2));
      awaitHubCount(hub, 2);
      try (Connection hc = Nats.connect(hub.clientUrl())) {
        JetStreamManagement jsm = hc.jetStreamManagement();
        MessageInfo first = jsm.getMessage("TELEMETRY", 1);
        MessageInfo second = jsm.getMessage("TELEMETRY", 2);
        String id = first.getHeaders().getFirst("Nats-Msg-Id");
        assertTrue(id != null && id.matches("[^:]+:[^:]+:1"), "the first message's Nats-Msg-Id: " + id);
        assertNull(first.getHeaders().get("Leafgate-Id"), "no second copy of the id when Nats-Msg-Id is ours");
        assertEquals("sensor-7:42", second.getHeaders().getFirst("Nats-Msg-Id"), "the publisher's id is kept");
        String ours = second.getHeaders().getFirst("Leafgate-Id");
        assertEquals(id.substring(0, id.length() - 1) + "2", ours, "ours goes in Leafgate-Id then");
      }
    }
  }

  /**
   * The gateway's record of what the hub confirmed can trail the hub by more than a replay window
   * (after kill -9, confirmations whose local acknowledgement was not yet committed). Here it trails
   * by the whole backlog: the store is put back to how it was before the replay. Every message is
   * then found on the hub and none is sent again, though the hub's duplicate window is long past.
   */
  @Test
  void aStoreThatTrailsTheHubByManyWindowsSendsNothingTwice(@TempDir Path tmp) throws Exception {
    NatsServerProcess hub = UplinkFixture.hub(tmp.resolve("hub"), "");
    String cfg = UplinkFixture.remote(hub) + "uplink {\n  buffer: [\"telemetry.>\"]\n  hub_stream: TELEMETRY\n"
        + "  replay_window: 8\n}\n";
    Path edgeDir = tmp.resolve("edge");
    Path snapshot = tmp.resolve("snapshot");
    int n = 100;
    try (hub) {
      UplinkFixture.createHubStream(hub, Duration.ofSeconds(1));
      hub.stop();
      try (Gateway edge = UplinkFixture.gateway(edgeDir, cfg);
           Connection edgeClient = Nats.connect("nats://127.0.0.1:" + edge.natsPort())) {
        UplinkFixture.awaitIslanded(edge);
        for (int i = 0; i < n; i++) {
          edgeClient.publish("telemetry.s" + (i % 3), ("m" + i).getBytes(StandardCharsets.UTF_8));
        }
        edgeClient.flush(Duration.ofSeconds(2));
        Await.until(Duration.ofSeconds(5), () -> {
          Object b = UplinkFixture.uplink(edge).get("backlog_msgs");
          return ((Number) b).longValue() == n ? null : "backlog is " + b;
        });
      }
      copyTree(edgeDir.resolve("data"), snapshot);
      hub.restart();
      try (Gateway edge = UplinkFixture.gateway(edgeDir, cfg)) {
        UplinkFixture.awaitConnected(edge, hub);
        awaitHubCount(hub, n);
      }
      long t0 = System.nanoTime();
      Await.until(Duration.ofSeconds(5), () -> System.nanoTime() - t0 > 1_500_000_000L ? null : "outlasting the window");
      deleteTree(edgeDir.resolve("data"));
      copyTree(snapshot, edgeDir.resolve("data"));
      try (Gateway edge = UplinkFixture.gateway(edgeDir, cfg);
           Connection edgeClient = Nats.connect("nats://127.0.0.1:" + edge.natsPort())) {
        UplinkFixture.awaitConnected(edge, hub);
        Await.until(Duration.ofSeconds(15), () -> {
          Map<String, Object> u = UplinkFixture.uplink(edge);
          return ((Number) u.get("already_on_hub")).longValue() == n ? null : "checking the backlog: " + u;
        });
        edgeClient.publish("telemetry.s0", ("m" + n).getBytes(StandardCharsets.UTF_8));
        edgeClient.flush(Duration.ofSeconds(2));
        awaitHubCount(hub, n + 1);
        Await.until(Duration.ofSeconds(5), () -> {
          Map<String, Object> u = UplinkFixture.uplink(edge);
          return ((Number) u.get("backlog_msgs")).longValue() == 0 ? null : "draining: " + u;
        });
        assertEquals(n, ((Number) UplinkFixture.uplink(edge).get("already_on_hub")).longValue());
      }
      assertEquals(List.of(), outOfOrder(hub, n + 1), "hub stream content");
    }
  }

  private static void copyTree(Path from, Path to) throws IOException {
    try (var files = Files.walk(from)) {
      for (Path f : (Iterable<Path>) files::iterator) {
        Files.copy(f, to.resolve(from.relativize(f).toString()),
            StandardCopyOption.REPLACE_EXISTING);
      }
    }
  }

  private static void deleteTree(Path dir) throws IOException {
    try (var files = Files.walk(dir)) {
      for (Path f : (Iterable<Path>) files.sorted(Comparator.reverseOrder())::iterator) {
        Files.delete(f);
      }
    }
  }

  /** The hub stream the uplink's {@code hub_stream} names. */
  static void createHubStream(NatsServerProcess hub) throws Exception {
    UplinkFixture.createHubStream(hub, null);
  }

  static void awaitHubCount(NatsServerProcess hub, long expected) {
    Await.until(Duration.ofSeconds(30), () -> {
      try (Connection hc = Nats.connect(hub.clientUrl())) {
        StreamInfo si = hc.jetStreamManagement().getStreamInfo("TELEMETRY");
        long c = si.getStreamState().getMsgCount();
        if (c > expected) {
          throw new AssertionError("hub stream holds " + c + " messages, more than the " + expected + " published");
        }
        return c == expected ? null : "hub stream holds " + c + " of " + expected;
      } catch (AssertionError e) {
        throw e;
      } catch (Exception e) {
        return "hub not reachable: " + e.getMessage();
      }
    });
  }

  /** Reads the hub stream and returns what is not m0..m(n-1) in order (empty when all is well). */
  static List<String> outOfOrder(NatsServerProcess hub, int n) throws Exception {
    List<String> problems = new ArrayList<>();
    try (Connection hc = Nats.connect(hub.clientUrl())) {
      JetStreamSubscription sub = hc.jetStream().subscribe("telemetry.>", PullSubscribeOptions.builder().build());
      int expect = 0;
      while (expect < n) {
        List<Message> batch = sub.fetch(Math.min(256, n - expect), Duration.ofSeconds(3));
        if (batch.isEmpty()) {
          problems.add("stream ended at " + expect);
          break;
        }
        for (Message msg : batch) {
          String body = new String(msg.getData(), StandardCharsets.UTF_8);
          if (!body.equals("m" + expect)) {
            problems.add("position " + expect + " holds " + body);
          }
          expect++;
          msg.ack();
        }
      }
    }
    return problems;
  }
}
