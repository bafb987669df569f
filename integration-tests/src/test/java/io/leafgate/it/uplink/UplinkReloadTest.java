package io.leafgate.it.uplink;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leafgate.it.harness.Await;
import io.leafgate.it.harness.NatsServerProcess;
import io.nats.client.Connection;
import io.nats.client.Nats;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A reload (SIGHUP) changes the replay pace of a running drain without a restart. */
@org.junit.jupiter.api.Timeout(120)
class UplinkReloadTest {
  @Test
  void aSighupChangesThePaceOfARunningDrain(@TempDir Path tmp) throws Exception {
    NatsServerProcess hub = UplinkFixture.hub(tmp.resolve("hub"), "");
    try (hub) {
      UplinkFixture.createHubStream(hub, null);
      String head = UplinkFixture.remote(hub) + "uplink {\n  buffer: [\"telemetry.>\"]\n  hub_stream: TELEMETRY\n";
      hub.stop();
      EdgeProcess edge = new EdgeProcess(tmp.resolve("edge"), head + "  replay_rate: 20\n}\n");
      try {
        edge.start();
        int n = 400;
        try (Connection nc = Nats.connect(edge.url())) {
          for (int i = 0; i < n; i++) {
            nc.publish("telemetry.s" + (i % 3), ("m" + i).getBytes(StandardCharsets.UTF_8));
          }
          nc.flush(Duration.ofSeconds(5));
        }
        Await.until(Duration.ofSeconds(10), () -> {
          Object b = edge.uplink().get("backlog_msgs");
          return b instanceof Number x && x.longValue() == n ? null : "backlog is " + b;
        });
        hub.restart();
        Await.until(Duration.ofSeconds(30), () -> UplinkFixture.hubCount(hub) > 0 ? null : "the drain has not started: " + edge.uplink());
        // At 20 messages a second the drain needs 20 s; unlimited, well under a second.
        // A larger window too: the forwarder's consumer must then allow more unacknowledged messages.
        edge.rewriteConfig(head + "  replay_rate: 0\n  replay_window: 512\n}\n");
        edge.reload();
        Await.until(Duration.ofSeconds(10), () -> UplinkFixture.hubCount(hub) == n ? null
            : "hub holds " + UplinkFixture.hubCount(hub) + " of " + n + " after the reload\n" + edge.log());
        assertTrue(edge.log().contains("uplink.replay_rate changed: applied (20 -> 0)"), edge.log());
        assertTrue(edge.log().contains("uplink.replay_window changed: applied (256 -> 512)"), edge.log());
        assertTrue(!edge.log().contains("restart needed"), edge.log());
        try (Connection nc = Nats.connect(edge.url())) {
          assertEquals(2048, nc.jetStreamManagement().getConsumerInfo("UPLINK", "leafgate-uplink")
              .getConsumerConfiguration().getMaxAckPending(), "the forwarder's consumer follows the window");
        }
        Map<String, Object> u = edge.uplink();
        assertEquals(0L, ((Number) u.get("backlog_msgs")).longValue(), "backlog after the drain: " + u);
        assertEquals(List.of(), UplinkBufferTest.outOfOrder(hub, n), "hub stream content");
      } finally {
        edge.close();
      }
    }
  }
}
