package io.leafgate.it.clients;

import io.leafgate.it.harness.Await;
import static io.leafgate.it.clients.Jnats.WAIT;
import static io.leafgate.it.clients.Jnats.connect;
import static io.leafgate.it.clients.Jnats.roundTrip;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leafgate.leaf.server.ClientConnection;
import io.nats.client.Connection;
import io.nats.client.Dispatcher;
import io.nats.client.Message;
import io.nats.client.Subscription;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** How subscriptions end with jnats: auto-unsubscribe after n messages, and drain. */
class JnatsSubscriptionLifecycleTest {
  private TestGateway gw;

  @BeforeEach
  void start(@TempDir Path tmp) throws Exception {
    gw = TestGateway.start(tmp);
  }

  @AfterEach
  void stop() {
    gw.close();
  }

  /** The server's side of the client connection that sent {@code name} in its CONNECT. */
  private ClientConnection serverSide(String name) {
    return gw.gateway().nats().connections().stream().filter(c -> name.equals(c.name())).findFirst()
        .orElseThrow(() -> new AssertionError("the server has no connection named " + name));
  }

  @Test
  void autoUnsubscribeDeliversExactlyN() throws Exception {
    try (Connection nc = connect(Jnats.options(gw.url()).connectionName("max-5"))) {
      Subscription limited = nc.subscribe("ticks");
      limited.unsubscribe(5);
      Subscription barrier = nc.subscribe("ticks.done");
      roundTrip(nc);
      for (int i = 0; i < 12; i++) {
        nc.publish("ticks", Integer.toString(i).getBytes(UTF_8));
      }
      // One publisher's messages reach a connection in order: once the barrier is here, every
      // "ticks" message the server sent is here too.
      nc.publish("ticks.done", new byte[0]);
      assertNotNull(barrier.nextMessage(WAIT), "the barrier message did not arrive");
      ClientConnection server = serverSide("max-5");
      assertEquals(5 + 1, server.outMsgs(), "messages the server sent: 5 on the limited subscription plus the barrier");
      assertEquals(1, server.subscriptionCount(), "only the barrier subscription is left on the server");
      for (int i = 0; i < 5; i++) {
        Message m = limited.nextMessage(WAIT);
        assertNotNull(m, "message " + i + " of 5 did not arrive");
        assertEquals(Integer.toString(i), new String(m.getData(), UTF_8));
      }
      assertFalse(limited.isActive(), "the subscription is still active after its 5 messages");
    }
  }

  @Test
  void autoUnsubscribeAfterSomeDeliveriesCountsThem() throws Exception {
    try (Connection nc = connect(Jnats.options(gw.url()).connectionName("max-later"))) {
      Dispatcher d = nc.createDispatcher();
      List<String> got = new CopyOnWriteArrayList<>();
      Subscription s = d.subscribe("count", m -> got.add(new String(m.getData(), UTF_8)));
      roundTrip(nc);
      nc.publish("count", "a".getBytes(UTF_8));
      nc.publish("count", "b".getBytes(UTF_8));
      roundTrip(nc);
      Await.until(WAIT, () -> got.size() == 2 ? null : "received " + got);
      // A limit of 3 counts the 2 already delivered: one more message, then the subscription ends.
      d.unsubscribe(s, 3);
      roundTrip(nc);
      for (String p : List.of("c", "d", "e")) {
        nc.publish("count", p.getBytes(UTF_8));
      }
      roundTrip(nc);
      Await.until(WAIT, () -> serverSide("max-later").subscriptionCount() == 0 ? null
          : "the server still holds the subscription after its limit");
      assertEquals(3, serverSide("max-later").outMsgs(), "messages the server sent");
      Await.until(WAIT, () -> got.size() >= 3 ? null : "received " + got);
      assertEquals(List.of("a", "b", "c"), got);
    }
  }

  @Test
  void connectionDrainDeliversWhatIsInFlightThenCloses() throws Exception {
    int total = 1000;
    try (Connection consumer = connect(gw.url()); Connection producer = connect(gw.url())) {
      CountDownLatch gate = new CountDownLatch(1);
      List<String> got = new CopyOnWriteArrayList<>();
      Dispatcher d = consumer.createDispatcher(m -> {
        try {
          // Hold the handler until drain has started, so the messages are still in flight.
          if (!gate.await(WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
            throw new IllegalStateException("the gate never opened");
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        got.add(new String(m.getData(), UTF_8));
      });
      d.subscribe("work");
      roundTrip(consumer);
      for (int i = 0; i < total; i++) {
        producer.publish("work", Integer.toString(i).getBytes(UTF_8));
      }
      roundTrip(producer);
      CompletableFuture<Boolean> drained = consumer.drain(WAIT);
      gate.countDown();
      assertTrue(drained.get(WAIT.toMillis() * 2, TimeUnit.MILLISECONDS), "drain did not complete in time");
      assertEquals(total, got.size(), "messages handled before the connection closed");
      for (int i = 0; i < total; i++) {
        assertEquals(Integer.toString(i), got.get(i));
      }
      assertEquals(Connection.Status.CLOSED, consumer.getStatus());
      Await.until(WAIT, () -> gw.gateway().nats().connectionCount() == 1 ? null
          : gw.gateway().nats().connectionCount() + " connections on the server, expected only the producer");
      assertEquals(0, gw.gateway().nats().connections().stream().mapToInt(c -> c.subscriptionCount()).sum(), "subscriptions left on the server");
    }
  }

  @Test
  void subscriptionDrainDeliversPendingMessagesAndKeepsTheConnection() throws Exception {
    try (Connection consumer = connect(Jnats.options(gw.url()).connectionName("drainer"));
         Connection producer = connect(gw.url())) {
      Subscription s = consumer.subscribe("batch");
      Subscription other = consumer.subscribe("other");
      roundTrip(consumer);
      for (int i = 0; i < 300; i++) {
        producer.publish("batch", Integer.toString(i).getBytes(UTF_8));
      }
      roundTrip(producer);
      CompletableFuture<Boolean> drained = s.drain(WAIT);
      for (int i = 0; i < 300; i++) {
        Message m = s.nextMessage(WAIT);
        assertNotNull(m, "message " + i + " was lost by drain");
        assertEquals(Integer.toString(i), new String(m.getData(), UTF_8));
      }
      assertTrue(drained.get(WAIT.toMillis(), TimeUnit.MILLISECONDS), "the subscription did not drain");
      assertFalse(s.isActive());
      assertEquals(1, serverSide("drainer").subscriptionCount(), "subscriptions the server keeps for the connection");
      producer.publish("other", "still here".getBytes(UTF_8));
      Message m = other.nextMessage(WAIT);
      assertNotNull(m, "the connection stopped working after one subscription drained");
      assertEquals(Connection.Status.CONNECTED, consumer.getStatus());
    }
  }
}
