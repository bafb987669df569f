package io.leafgate.it.durability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leafgate.gateway.Gateway;
import io.leafgate.it.harness.Await;
import io.leafgate.leaf.config.ServerOptions;
import io.nats.client.Connection;
import io.nats.client.JetStreamManagement;
import io.nats.client.Nats;
import io.nats.client.Options;
import io.nats.client.api.StreamConfiguration;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A publisher that sends into a local stream faster than the store writes is paused, not buffered:
 * the engine's queue of copied messages stops near its high-water mark (8 MB) however much is sent,
 * and every message is still stored once the store catches up. The store is made to stall (its
 * engine thread held, like an SD card that stops answering) while the publisher sends 200 MB over a
 * raw socket. Before the pause existed an unpaced million messages ran the 128 MB heap out.
 */
class PublisherOutrunsStoreTest {
  /** The engine's high-water mark plus a read batch or two already decoded. */
  private static final long BOUND = 10L * 1024 * 1024;
  private static final long HIGH = 8L * 1024 * 1024;
  private static final int N = 200_000;
  private static final int SIZE = 1024;

  private static ServerOptions options(Path store, boolean mqtt) {
    ServerOptions o = new ServerOptions();
    o.port = -1;
    o.httpPort = -1;
    o.mqttPort = mqtt ? -1 : 0;
    o.storeDir = store;
    return o;
  }

  @Test
  void aNatsPublisherIsPausedWhileTheStoreStallsAndLosesNothing(@TempDir Path tmp) throws Exception {
    byte[] one = ("PUB b.x " + SIZE + "\r\n" + "x".repeat(SIZE) + "\r\n").getBytes(StandardCharsets.US_ASCII);
    try (Gateway g = Gateway.start(options(tmp.resolve("store"), false))) {
      runScenario(g, g.natsPort(), one, (in, out) -> {
        readLine(in); // INFO
        out.write("CONNECT {\"verbose\":false,\"pedantic\":false}\r\n".getBytes(StandardCharsets.US_ASCII));
      }, (in, out) -> {
        out.write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
        out.flush();
        String line;
        do {
          line = readLine(in);
        } while (!line.equals("PONG") && !line.isEmpty());
        assertEquals("PONG", line, "the server answers the PING sent after the publishes");
      });
    }
  }

  @Test
  void anMqttQos0PublisherIsPausedWhileTheStoreStallsAndLosesNothing(@TempDir Path tmp) throws Exception {
    // MQTT 3.1.1 QoS 0 PUBLISH of topic b/x: 0x30, remaining length (two bytes), topic, payload.
    int remaining = 2 + 3 + SIZE;
    byte[] one = new byte[3 + remaining];
    one[0] = 0x30;
    one[1] = (byte) (0x80 | (remaining & 0x7f));
    one[2] = (byte) (remaining >> 7);
    one[3] = 0;
    one[4] = 3;
    System.arraycopy("b/x".getBytes(StandardCharsets.US_ASCII), 0, one, 5, 3);
    byte[] connect = {0x10, 21, 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 60, 0, 9, 'o', 'u', 't', 'r', 'u', 'n', 'n', 'e', 'r'};
    try (Gateway g = Gateway.start(options(tmp.resolve("store"), true))) {
      runScenario(g, g.mqttPort(), one, (in, out) -> {
        out.write(connect);
        out.flush();
        byte[] connack = in.readNBytes(4);
        assertEquals(0x20, connack[0] & 0xff, "CONNACK");
        assertEquals(0, connack[3], "CONNACK return code");
      }, (in, out) -> {
        out.write(new byte[] {(byte) 0xC0, 0}); // PINGREQ
        out.flush();
        byte[] pingresp = in.readNBytes(2);
        assertEquals(0xD0, pingresp[0] & 0xff, "PINGRESP after the publishes");
      });
    }
  }

  @FunctionalInterface
  private interface Step {
    void run(InputStream in, OutputStream out) throws IOException;
  }

  private static void runScenario(Gateway g, int port, byte[] one, Step hello, Step barrier) throws Exception {
    try (Connection nc = Nats.connect(new Options.Builder().server("nats://127.0.0.1:" + g.natsPort())
        .connectionTimeout(Duration.ofSeconds(5)).build())) {
      JetStreamManagement jsm = nc.jetStreamManagement();
      jsm.addStream(StreamConfiguration.builder().name("B").subjects("b.>").build());
      byte[] chunk = new byte[one.length * 100];
      for (int i = 0; i < 100; i++) {
        System.arraycopy(one, 0, chunk, i * one.length, one.length);
      }
      CountDownLatch storeStalled = new CountDownLatch(1);
      CountDownLatch releaseStore = new CountDownLatch(1);
      g.jetStream().execute(() -> {
        storeStalled.countDown();
        try {
          releaseStore.await(60, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      });
      assertTrue(storeStalled.await(10, TimeUnit.SECONDS), "the engine never took the stalling task");
      AtomicLong max = new AtomicLong();
      AtomicBoolean sent = new AtomicBoolean();
      AtomicReference<Throwable> failed = new AtomicReference<>();
      try (Socket s = new Socket("127.0.0.1", port)) {
        s.setSoTimeout(90_000);
        InputStream in = s.getInputStream();
        OutputStream out = s.getOutputStream();
        hello.run(in, out);
        Thread writer = new Thread(() -> {
          try {
            for (int i = 0; i < N / 100; i++) {
              out.write(chunk);
            }
            out.flush();
            sent.set(true);
          } catch (IOException e) {
            failed.set(e);
          }
        }, "outrunning-publisher");
        writer.setDaemon(true);
        writer.start();
        try {
          // While the store stalls, the queue fills to the mark and the publisher is paused there.
          Await.until(Duration.ofSeconds(30), () -> {
            max.accumulateAndGet(g.jetStream().backlogBytes(), Math::max);
            if (failed.get() != null) {
              return "the publisher failed: " + failed.get();
            }
            return g.jetStream().publisherPauses() > 0 && g.jetStream().backlogBytes() >= HIGH ? null
                : "no pause yet; the engine has " + g.jetStream().backlogBytes() + " bytes queued, "
                    + g.jetStream().publisherPauses() + " pauses";
          });
          long queued = g.jetStream().backlogBytes();
          assertTrue(queued < BOUND, "the engine queued " + queued + " bytes while its store stalled (bound " + BOUND + ")");
          assertFalse(sent.get(), "all " + (long) N * SIZE + " bytes went in while the store stalled");
        } finally {
          releaseStore.countDown();
        }
        // The store catches up; the publisher is resumed as the queue drains, and nothing is lost.
        Await.until(Duration.ofSeconds(90), () -> {
          max.accumulateAndGet(g.jetStream().backlogBytes(), Math::max);
          if (failed.get() != null) {
            return "the publisher failed: " + failed.get();
          }
          return sent.get() ? null : "the publisher is still sending";
        });
        writer.join(10_000);
        barrier.run(in, out);
        Await.until(Duration.ofSeconds(60), () -> {
          long stored = count(jsm, "B");
          return stored == N ? null : "the stream holds " + stored + " of " + N;
        });
        assertTrue(max.get() < BOUND, "the engine queued up to " + max.get() + " bytes (bound " + BOUND + ")");
        assertTrue(g.jetStream().publisherPauses() >= 1);
      }
    }
  }

  private static long count(JetStreamManagement jsm, String stream) {
    try {
      return jsm.getStreamInfo(stream).getStreamState().getMsgCount();
    } catch (Exception e) {
      return -1;
    }
  }

  private static String readLine(InputStream in) throws IOException {
    StringBuilder sb = new StringBuilder();
    int c;
    while ((c = in.read()) != -1) {
      if (c == '\n') {
        break;
      }
      if (c != '\r') {
        sb.append((char) c);
      }
    }
    return sb.toString();
  }
}
