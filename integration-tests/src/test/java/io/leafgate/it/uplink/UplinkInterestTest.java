package io.leafgate.it.uplink;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import io.leafgate.gateway.Gateway;
import io.leafgate.it.harness.Await;
import io.leafgate.it.harness.NatsServerProcess;
import io.nats.client.Connection;
import io.nats.client.Message;
import io.nats.client.Nats;
import io.nats.client.Subscription;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Interest, messages, requests and queue groups across the leaf link to a real hub. */
class UplinkInterestTest {
  @Test
  void messagesAndRequestsFlowBothWays(@TempDir Path tmp) throws Exception {
    try (NatsServerProcess hub = UplinkFixture.hub(tmp.resolve("hub"), "");
         Gateway edge = UplinkFixture.gateway(tmp.resolve("edge"), UplinkFixture.remote(hub));
         Connection hubClient = Nats.connect(hub.clientUrl());
         Connection edgeClient = Nats.connect("nats://127.0.0.1:" + edge.natsPort())) {
      UplinkFixture.awaitConnected(edge, hub);

      // Hub subscriber, edge publisher.
      Subscription up = hubClient.subscribe("up.x");
      hubClient.flush(Duration.ofSeconds(2));
      awaitHubInterest(edge, edgeClient, "up.x");
      edgeClient.publish("up.x", "hello".getBytes(StandardCharsets.UTF_8));
      Message m = up.nextMessage(Duration.ofSeconds(5));
      assertNotNull(m, hub.withLog("the hub did not get an edge message"));
      assertEquals("hello", new String(m.getData(), StandardCharsets.UTF_8));

      // Edge subscriber, hub publisher.
      Subscription down = edgeClient.subscribe("down.y");
      edgeClient.flush(Duration.ofSeconds(2));
      Await.until(Duration.ofSeconds(5), () -> {
        hubClient.publish("down.y", "probe".getBytes(StandardCharsets.UTF_8));
        try {
          return down.nextMessage(Duration.ofMillis(200)) != null ? null : "edge interest not yet at the hub";
        } catch (InterruptedException e) {
          throw new IllegalStateException(e);
        }
      });
      while (down.nextMessage(Duration.ofMillis(200)) != null) {
        // drain probes
      }
      hubClient.publish("down.y", "world".getBytes(StandardCharsets.UTF_8));
      Message d = down.nextMessage(Duration.ofSeconds(5));
      assertNotNull(d);
      assertEquals("world", new String(d.getData(), StandardCharsets.UTF_8));

      // Request from the hub to an edge responder.
      edgeClient.createDispatcher(msg -> edgeClient.publish(msg.getReplyTo(), ("edge:" + new String(msg.getData())).getBytes()))
          .subscribe("svc.edge");
      edgeClient.flush(Duration.ofSeconds(2));
      Message r = awaitReply(hubClient, "svc.edge", "ping");
      assertEquals("edge:ping", new String(r.getData()));

      // Request from the edge to a hub responder.
      hubClient.createDispatcher(msg -> hubClient.publish(msg.getReplyTo(), ("hub:" + new String(msg.getData())).getBytes()))
          .subscribe("svc.hub");
      hubClient.flush(Duration.ofSeconds(2));
      Message r2 = awaitReply(edgeClient, "svc.hub", "pong");
      assertEquals("hub:pong", new String(r2.getData()));
    }
  }

  @Test
  void queueGroupsPreferLocalMembersAndReachTheHubWhenThereAreNone(@TempDir Path tmp) throws Exception {
    try (NatsServerProcess hub = UplinkFixture.hub(tmp.resolve("hub"), "");
         Gateway edge = UplinkFixture.gateway(tmp.resolve("edge"), UplinkFixture.remote(hub));
         Connection hubClient = Nats.connect(hub.clientUrl());
         Connection edgeClient = Nats.connect("nats://127.0.0.1:" + edge.natsPort())) {
      UplinkFixture.awaitConnected(edge, hub);
      AtomicInteger hubGot = new AtomicInteger();
      AtomicInteger edgeGot = new AtomicInteger();
      hubClient.createDispatcher(msg -> hubGot.incrementAndGet()).subscribe("work.q", "workers");
      hubClient.flush(Duration.ofSeconds(2));
      awaitHubInterest(edge, edgeClient, "work.q");
      // Only hub members: edge publishes reach exactly one of them each.
      for (int i = 0; i < 50; i++) {
        edgeClient.publish("work.q", new byte[] {1});
      }
      edgeClient.flush(Duration.ofSeconds(2));
      Await.until(Duration.ofSeconds(5), () -> hubGot.get() == 50 ? null : "hub members got " + hubGot.get());
      // With a local member, the local member takes everything.
      edgeClient.createDispatcher(msg -> edgeGot.incrementAndGet()).subscribe("work.q", "workers");
      edgeClient.flush(Duration.ofSeconds(2));
      for (int i = 0; i < 50; i++) {
        edgeClient.publish("work.q", new byte[] {2});
      }
      edgeClient.flush(Duration.ofSeconds(2));
      Await.until(Duration.ofSeconds(5), () -> edgeGot.get() == 50 ? null : "local member got " + edgeGot.get());
      assertEquals(50, hubGot.get(), "no extra copies at the hub");
    }
  }

  private static void awaitHubInterest(Gateway edge, Connection edgeClient, String subject) {
    Await.until(Duration.ofSeconds(5), () ->
        edge.router().sublist().match(subject).isEmpty() ? "hub interest in " + subject + " not yet at the edge" : null);
  }

  private static Message awaitReply(Connection nc, String subject, String body) throws Exception {
    Message[] got = new Message[1];
    Await.until(Duration.ofSeconds(10), () -> {
      try {
        got[0] = nc.request(subject, body.getBytes(), Duration.ofMillis(500));
        return got[0] != null ? null : "no reply yet";
      } catch (Exception e) {
        return "request failed: " + e.getMessage();
      }
    });
    return got[0];
  }
}
