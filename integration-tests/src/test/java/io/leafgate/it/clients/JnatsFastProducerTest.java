package io.leafgate.it.clients;

import io.leafgate.it.harness.Await;
import static io.leafgate.it.clients.Jnats.WAIT;
import static io.leafgate.it.clients.Jnats.connect;
import static io.leafgate.it.clients.Jnats.roundTrip;
import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.nats.client.Connection;
import io.nats.client.Dispatcher;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A publisher faster than its subscriber's socket: like nats-server, leafgate slows the publisher
 * down while the subscriber catches up instead of cutting off a subscriber that is reading, and
 * still cuts off one that stopped reading.
 */
class JnatsFastProducerTest {

  @Test
  void aBurstLargerThanMaxPendingReachesASubscriberThatKeepsReading(@TempDir Path tmp) throws Exception {
    int size = 64 * 1024;
    int count = 400; // 25 MiB, against 1 MiB of max_pending
    try (TestGateway gw = TestGateway.start(tmp, o -> o.maxPending = 1024 * 1024);
         Connection sub = connect(gw.url());
         Connection pub = connect(gw.url())) {
      AtomicInteger got = new AtomicInteger();
      Dispatcher d = sub.createDispatcher(m -> got.incrementAndGet());
      d.subscribe("burst");
      roundTrip(sub);
      byte[] data = new byte[size];
      for (int i = 0; i < count; i++) {
        pub.publish("burst", data);
      }
      roundTrip(pub);
      Await.until(Duration.ofSeconds(30), () -> {
        if (sub.getStatus() != Connection.Status.CONNECTED) {
          throw new AssertionError("the subscriber was disconnected after " + got.get() + " of " + count
              + " messages (slow consumers on the server: " + gw.gateway().nats().slowConsumers() + ")");
        }
        return got.get() >= count ? null : "received " + got.get() + " of " + count;
      });
      assertEquals(0, gw.gateway().nats().slowConsumers(), "slow consumers cut off");
      assertEquals(count, got.get());
    }
  }

  @Test
  void aSubscriberThatStopsReadingIsStillCutOffAndThePublisherCarriesOn(@TempDir Path tmp) throws Exception {
    try (TestGateway gw = TestGateway.start(tmp, o -> {
      o.maxPending = 256 * 1024;
      o.writeDeadline = Duration.ofSeconds(1);
    });
         Connection pub = connect(gw.url());
         Socket stuck = new Socket()) {
      // A raw client that subscribes and then never reads again; a small receive window (set
      // before connecting) keeps the kernel from absorbing megabytes before the server notices.
      stuck.setReceiveBufferSize(4 * 1024);
      stuck.connect(new InetSocketAddress("127.0.0.1", gw.port()), 5000);
      stuck.getOutputStream().write("CONNECT {\"verbose\":false}\r\nSUB flood 1\r\nPING\r\n".getBytes(US_ASCII));
      readUntilPong(stuck.getInputStream());
      // Large messages fill the kernel's socket buffers (several MiB on loopback) quickly.
      byte[] data = new byte[256 * 1024];
      long end = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (gw.gateway().nats().slowConsumers() == 0) {
        assertTrue(System.nanoTime() < end, "the subscriber that stopped reading was never cut off");
        pub.publish("flood", data);
        if (pub.getStatistics().getOutMsgs() % 8 == 0) {
          roundTrip(pub);
        }
      }
      Await.until(WAIT, () -> gw.gateway().nats().connectionCount() == 1 ? null
          : gw.gateway().nats().connectionCount() + " connections, expected the publisher alone");
      roundTrip(pub);
      assertEquals(Connection.Status.CONNECTED, pub.getStatus());
    }
  }

  private static void readUntilPong(InputStream in) throws Exception {
    StringBuilder seen = new StringBuilder();
    while (!seen.toString().contains("PONG\r\n")) {
      int b = in.read();
      if (b < 0) {
        throw new AssertionError("the server closed the raw connection: " + seen);
      }
      seen.append((char) b);
    }
  }
}
