package io.leafgate.it.clients;

import io.leafgate.it.harness.Await;
import static io.leafgate.it.clients.Jnats.WAIT;
import static io.leafgate.it.clients.Jnats.connect;
import static io.leafgate.it.clients.Jnats.roundTrip;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.nats.client.Connection;
import io.nats.client.ConnectionListener;
import io.nats.client.Dispatcher;
import io.nats.client.Message;
import io.nats.client.Nats;
import io.nats.client.Subscription;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** jnats reconnects to a gateway restarted on the same port and its subscriptions resume. */
class JnatsReconnectTest {

  @Test
  void subscriptionsResumeAfterTheGatewayRestartsOnTheSamePort(@TempDir Path tmp) throws Exception {
    TestGateway first = TestGateway.start(tmp.resolve("first"));
    int port = first.port();
    CountDownLatch disconnected = new CountDownLatch(1);
    CountDownLatch reconnected = new CountDownLatch(1);
    CountDownLatch resubscribed = new CountDownLatch(1);
    ConnectionListener events = (conn, type) -> {
      switch (type) {
        case DISCONNECTED -> disconnected.countDown();
        case RECONNECTED -> reconnected.countDown();
        // jnats resends its subscriptions after RECONNECTED, then reports RESUBSCRIBED.
        case RESUBSCRIBED -> resubscribed.countDown();
        default -> { }
      }
    };
    TestGateway second = null;
    try (Connection nc = Nats.connect(Jnats.options(first.url())
        .maxReconnects(-1)
        .reconnectWait(Duration.ofMillis(50))
        // Not zero: jnats 2.25 draws the jitter with nextLong(jitter), which throws for 0 and
        // silently ends its reconnect loop.
        .reconnectJitter(Duration.ofMillis(10))
        .connectionListener(events)
        .build())) {
      Subscription sync = nc.subscribe("plant.>");
      List<String> viaDispatcher = new CopyOnWriteArrayList<>();
      Dispatcher d = nc.createDispatcher(m -> viaDispatcher.add(new String(m.getData(), UTF_8)));
      d.subscribe("plant.line1", "loggers");
      roundTrip(nc);
      nc.publish("plant.line1", "before".getBytes(UTF_8));
      assertEquals("before", text(sync.nextMessage(WAIT)));

      first.close();
      assertTrue(disconnected.await(WAIT.toMillis(), TimeUnit.MILLISECONDS), "jnats did not notice the server stop");
      second = TestGateway.start(tmp.resolve("second"), o -> o.port = port);
      assertEquals(port, second.port());
      assertTrue(reconnected.await(WAIT.toMillis(), TimeUnit.MILLISECONDS), "jnats did not reconnect to the new gateway");
      assertTrue(resubscribed.await(WAIT.toMillis(), TimeUnit.MILLISECONDS), "jnats did not resend its subscriptions");
      assertEquals(Connection.Status.CONNECTED, nc.getStatus());
      // The subscriptions were replayed on reconnect, ahead of this PING: the new server knows them.
      roundTrip(nc);
      assertEquals(2, second.gateway().nats().connections().stream().mapToInt(c -> c.subscriptionCount()).sum(), "subscriptions on the restarted gateway");

      try (Connection other = connect(second.url())) {
        other.publish("plant.line1", "after".getBytes(UTF_8));
        // A second subject from another client: what matters is that nc's resent subscriptions
        // work. (nc publishing right after its reconnect is left out: jnats 2.25 can hold such a
        // publish, and even a PING behind it, in its buffer for seconds; the server sees nothing.
        // Reproduced against nats-server 2.9.10 as well.)
        other.publish("plant.line2", "own after".getBytes(UTF_8));
        roundTrip(other);
      }
      Message m1 = sync.nextMessage(WAIT);
      Message m2 = sync.nextMessage(WAIT);
      assertEquals(List.of("after", "own after"), List.of(text(m1), text(m2)));
      Await.until(WAIT, () -> viaDispatcher.contains("after") ? null : "the dispatcher got " + viaDispatcher);
      assertEquals(List.of("before", "after"), viaDispatcher);
    } finally {
      first.close();
      if (second != null) {
        second.close();
      }
    }
  }

  private static String text(Message m) {
    assertNotNull(m, "a message did not arrive");
    return new String(m.getData(), UTF_8);
  }
}
