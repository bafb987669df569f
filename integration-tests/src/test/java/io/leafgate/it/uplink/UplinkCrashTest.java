package io.leafgate.it.uplink;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leafgate.it.harness.Await;
import io.leafgate.it.harness.NatsServerProcess;
import io.nats.client.Connection;
import io.nats.client.JetStream;
import io.nats.client.JetStreamSubscription;
import io.nats.client.Message;
import io.nats.client.Nats;
import io.nats.client.Options;
import io.nats.client.PullSubscribeOptions;
import io.nats.client.api.PublishAck;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * kill -9 of the gateway while it ingests during an outage and while it replays: the hub ends with
 * every acknowledged message exactly once, in order.
 */
@org.junit.jupiter.api.Timeout(300)
class UplinkCrashTest {
  @Test
  void killedDuringIslandIngestAndDuringReplayTheHubGetsEveryAckedMessageOnceInOrder(@TempDir Path tmp) throws Exception {
    NatsServerProcess hub = UplinkFixture.hub(tmp.resolve("hub"), "");
    try (hub) {
      // A one-second duplicate window: dedupe at the hub cannot hide a duplicate from this test.
      UplinkFixture.createHubStream(hub, Duration.ofSeconds(1));
      String cfg = UplinkFixture.remote(hub) + "uplink {\n  buffer: [\"telemetry.>\"]\n  hub_stream: TELEMETRY\n"
          + "  replay_window: 64\n  replay_rate: 2000\n}\n";
      hub.stop();
      Random rnd = new Random(11);
      TreeSet<Integer> acked = new TreeSet<>();
      int next = 0;
      EdgeProcess edge = new EdgeProcess(tmp.resolve("edge"), cfg);
      try {
        // Island ingest, killed at random moments.
        for (int round = 0; round < 3; round++) {
          edge.start();
          next = publishUntilKilled(edge, next, acked, 100 + rnd.nextInt(400));
        }
        edge.start();
        next = publishAcked(edge, next, acked, 200);
        // Replay, killed in the middle.
        hub.restart();
        long total = acked.size();
        Await.until(Duration.ofSeconds(30), () -> UplinkFixture.hubCount(hub) > 50 ? null : "replay has not started: " + edge.uplink());
        edge.kill();
        long t0 = System.nanoTime();
        Await.until(Duration.ofSeconds(5), () -> System.nanoTime() - t0 > 1_500_000_000L ? null : "outlasting the window");
        edge.start();
        Await.until(Duration.ofSeconds(60), () -> {
          Map<String, Object> u = edge.uplink();
          return "connected".equals(u.get("state")) && ((Number) u.get("backlog_msgs")).longValue() == 0
              ? null : "draining: " + u + "\n" + edge.log();
        });
        List<Integer> onHub = hubContents(hub);
        for (int i = 1; i < onHub.size(); i++) {
          assertTrue(onHub.get(i) > onHub.get(i - 1), "order or duplicate at " + i + ": " + onHub.get(i - 1) + " then "
              + onHub.get(i) + "\n" + edge.log());
        }
        TreeSet<Integer> missing = new TreeSet<>(acked);
        missing.removeAll(onHub);
        assertEquals(new TreeSet<Integer>(), missing, "acknowledged messages missing on the hub");
        assertTrue(onHub.size() >= total, "hub holds " + onHub.size());
      } finally {
        edge.close();
      }
    }
  }

  /** Publishes with acks as fast as acks come, kills the gateway after {@code millis}; returns the next counter. */
  private static int publishUntilKilled(EdgeProcess edge, int from, TreeSet<Integer> acked, int millis) throws Exception {
    int[] next = {from};
    try (Connection nc = Nats.connect(new Options.Builder().server(edge.url()).maxReconnects(0).build())) {
      JetStream js = nc.jetStream();
      // The crash moment is random by design: a delay, not a wait for a condition.
      CompletableFuture<Void> killer = CompletableFuture.runAsync(() -> {
        try {
          edge.kill();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }, CompletableFuture.delayedExecutor(millis, java.util.concurrent.TimeUnit.MILLISECONDS));
      List<CompletableFuture<PublishAck>> window = new ArrayList<>();
      List<Integer> ids = new ArrayList<>();
      while (!killer.isDone()) {
        int id = next[0]++;
        try {
          window.add(js.publishAsync("telemetry.a", Integer.toString(id).getBytes(StandardCharsets.UTF_8)));
          ids.add(id);
        } catch (Exception e) {
          break;
        }
        if (window.size() >= 32) {
          drain(window, ids, acked);
        }
      }
      drain(window, ids, acked);
      killer.join();
    } catch (Exception e) {
      // the connection dies with the process
    }
    return next[0];
  }

  private static void drain(List<CompletableFuture<PublishAck>> window, List<Integer> ids, TreeSet<Integer> acked) {
    for (int i = 0; i < window.size(); i++) {
      try {
        window.get(i).get(3, java.util.concurrent.TimeUnit.SECONDS);
        acked.add(ids.get(i));
      } catch (Exception e) {
        // not acknowledged: may or may not be stored, never duplicated
      }
    }
    window.clear();
    ids.clear();
  }

  private static int publishAcked(EdgeProcess edge, int from, TreeSet<Integer> acked, int n) throws Exception {
    try (Connection nc = Nats.connect(edge.url())) {
      JetStream js = nc.jetStream();
      for (int i = 0; i < n; i++) {
        js.publish("telemetry.a", Integer.toString(from + i).getBytes(StandardCharsets.UTF_8));
        acked.add(from + i);
      }
    }
    return from + n;
  }

  private static List<Integer> hubContents(NatsServerProcess hub) throws Exception {
    List<Integer> out = new ArrayList<>();
    try (Connection hc = Nats.connect(hub.clientUrl())) {
      long total = hc.jetStreamManagement().getStreamInfo("TELEMETRY").getStreamState().getMsgCount();
      JetStreamSubscription sub = hc.jetStream().subscribe("telemetry.>", PullSubscribeOptions.builder().build());
      while (out.size() < total) {
        List<Message> batch = sub.fetch(256, Duration.ofSeconds(3));
        if (batch.isEmpty()) {
          break;
        }
        for (Message m : batch) {
          out.add(Integer.parseInt(new String(m.getData(), StandardCharsets.UTF_8)));
          m.ack();
        }
      }
    }
    return out;
  }
}
