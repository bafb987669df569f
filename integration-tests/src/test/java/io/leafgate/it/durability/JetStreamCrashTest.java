package io.leafgate.it.durability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leafgate.it.uplink.EdgeProcess;
import io.nats.client.Connection;
import io.nats.client.JetStream;
import io.nats.client.JetStreamManagement;
import io.nats.client.JetStreamSubscription;
import io.nats.client.Message;
import io.nats.client.Nats;
import io.nats.client.Options;
import io.nats.client.PullSubscribeOptions;
import io.nats.client.api.AckPolicy;
import io.nats.client.api.ConsumerConfiguration;
import io.nats.client.api.ConsumerInfo;
import io.nats.client.api.PublishAck;
import io.nats.client.api.StreamConfiguration;
import io.nats.client.api.StreamState;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Power-cut safety of the local JetStream: publish with acks at full rate while a durable consumer
 * acknowledges, kill -9 the gateway at random moments, 20 times. After every restart, every
 * acknowledged message is there, the sequences are gapless, and the consumer's acknowledged floor
 * has not gone backwards.
 */
@Timeout(600)
class JetStreamCrashTest {
  private static final int ROUNDS = 20;

  @Test
  void acknowledgedMessagesAndConsumerFloorsSurviveKillNine(@TempDir Path tmp) throws Exception {
    Random rnd = new Random(2026);
    Set<Integer> acked = new HashSet<>();
    AtomicLong floorSeen = new AtomicLong();
    int next = 0;
    EdgeProcess edge = new EdgeProcess(tmp, "jetstream { sync: always }\n");
    try {
      edge.start();
      try (Connection nc = Nats.connect(patient(edge))) {
        JetStreamManagement jsm = nc.jetStreamManagement();
        jsm.addStream(StreamConfiguration.builder().name("S").subjects("s.>").build());
        jsm.addOrUpdateConsumer("S", ConsumerConfiguration.builder().durable("D").ackPolicy(AckPolicy.Explicit).build());
      }
      for (int round = 0; round < ROUNDS; round++) {
        if (round > 0) {
          edge.start();
        }
        verify(edge, acked, floorSeen, round, false);
        next = runUntilKilled(edge, next, acked, floorSeen, 1200 + rnd.nextInt(1500));
      }
      edge.start();
      verify(edge, acked, floorSeen, ROUNDS, true);
      assertTrue(acked.size() > ROUNDS * 5, "too few acknowledged publishes to mean anything: " + acked.size());
    } finally {
      edge.close();
    }
  }

  /**
   * Checks gapless sequences and the consumer floor; with {@code contents}, also that every
   * acknowledged message is stored (messages are never removed here, so a loss in any round shows
   * at the end).
   */
  private static void verify(EdgeProcess edge, Set<Integer> acked, AtomicLong floorSeen, int round, boolean contents)
      throws Exception {
    Connection conn;
    try {
      conn = Nats.connect(patient(edge));
    } catch (java.io.IOException e) {
      throw new AssertionError("round " + round + ": cannot connect to the restarted gateway\n" + edge.log(), e);
    }
    try (Connection nc = conn) {
      JetStreamManagement jsm = nc.jetStreamManagement();
      StreamState st = jsm.getStreamInfo("S").getStreamState();
      long first = st.getFirstSequence();
      long last = st.getLastSequence();
      assertEquals(st.getMsgCount(), st.getMsgCount() == 0 ? 0 : last - first + 1,
          "round " + round + ": sequences are not gapless: " + st + "\n" + edge.log());
      if (contents) {
        Set<Integer> present = new HashSet<>();
        JetStreamSubscription all = nc.jetStream().subscribe(null, PullSubscribeOptions.builder().stream("S")
            .configuration(ConsumerConfiguration.builder().ackPolicy(AckPolicy.None).build()).build());
        while (present.size() < st.getMsgCount()) {
          List<Message> batch = all.fetch(1000, Duration.ofSeconds(5));
          if (batch.isEmpty()) {
            break;
          }
          for (Message m : batch) {
            present.add(Integer.parseInt(new String(m.getData(), StandardCharsets.UTF_8)));
          }
        }
        Set<Integer> missing = new HashSet<>(acked);
        missing.removeAll(present);
        assertEquals(Set.of(), missing, "acknowledged messages lost\n" + edge.log());
      }
      ConsumerInfo ci = jsm.getConsumerInfo("S", "D");
      long floor = ci.getAckFloor().getStreamSequence();
      assertTrue(floor >= floorSeen.get(), "round " + round + ": consumer floor went back from " + floorSeen.get()
          + " to " + floor);
      floorSeen.set(floor);
    }
  }

  /** Publishes and consumes at full rate until the gateway is killed after {@code millis}. */
  private static int runUntilKilled(EdgeProcess edge, int from, Set<Integer> acked, AtomicLong floorSeen, int millis)
      throws Exception {
    int[] next = {from};
    AtomicBoolean dead = new AtomicBoolean();
    // The kill moment is random by design: a delay, not a wait for a condition.
    CompletableFuture<Void> killer = CompletableFuture.runAsync(() -> {
      try {
        edge.kill();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      dead.set(true);
    }, CompletableFuture.delayedExecutor(millis, TimeUnit.MILLISECONDS));
    Options opts = new Options.Builder().server(edge.url()).maxReconnects(0)
        .connectionTimeout(Duration.ofSeconds(10)).build();
    try (Connection pub = Nats.connect(opts); Connection sub = Nats.connect(opts)) {
      JetStream js = pub.jetStream();
      JetStreamSubscription ps = sub.jetStream().subscribe(null, PullSubscribeOptions.bind("S", "D"));
      JetStreamManagement jsm = sub.jetStreamManagement();
      CompletableFuture<Void> consumer = CompletableFuture.runAsync(() -> {
        try {
          while (!dead.get()) {
            for (Message m : ps.fetch(50, Duration.ofMillis(100))) {
              m.ackSync(Duration.ofSeconds(1));
            }
            long f = jsm.getConsumerInfo("S", "D").getAckFloor().getStreamSequence();
            floorSeen.accumulateAndGet(f, Math::max);
          }
        } catch (Exception e) {
          // the gateway died under us
        }
      });
      List<CompletableFuture<PublishAck>> window = new ArrayList<>();
      List<Integer> ids = new ArrayList<>();
      while (!dead.get()) {
        try {
          int id = next[0]++;
          window.add(js.publishAsync("s.a", Integer.toString(id).getBytes(StandardCharsets.UTF_8)));
          ids.add(id);
        } catch (Exception e) {
          break;
        }
        if (window.size() >= 64) {
          collect(window, ids, acked);
        }
      }
      collect(window, ids, acked);
      consumer.get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      // connections die with the process
    }
    killer.join();
    return next[0];
  }

  /** A just-started JVM on a busy machine can take a while to answer its first CONNECT. */
  private static Options patient(EdgeProcess edge) {
    return new Options.Builder().server(edge.url()).connectionTimeout(Duration.ofSeconds(10)).build();
  }

  private static void collect(List<CompletableFuture<PublishAck>> window, List<Integer> ids, Set<Integer> acked) {
    for (int i = 0; i < window.size(); i++) {
      try {
        window.get(i).get(2, TimeUnit.SECONDS);
        acked.add(ids.get(i));
      } catch (Exception e) {
        // not acknowledged: it may or may not be stored
      }
    }
    window.clear();
    ids.clear();
  }
}
