package io.leafgate.it.proto;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leafgate.it.harness.Await;
import io.leafgate.it.harness.GatewayUnderTest;
import io.leafgate.it.harness.Http;
import io.leafgate.it.harness.RawClient;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufAllocatorMetricProvider;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A subscriber that stops reading while a publisher floods its subject must be cut off as a slow
 * consumer once its pending bytes pass {@code max_pending} (1 MiB here), without the broker's
 * memory growing with the flood, and without disturbing a normal subscriber of the same subject.
 * The limit leaves the normal subscriber's reader thread room for a scheduling hiccup of the test
 * JVM (with 256 KiB it was once cut off too, in a full run on a 2-core machine).
 * leafgate only: nats-server's slow-consumer limit (64 MiB, plus a write deadline) is not what is
 * tested.
 */
class SlowConsumerTest {
  private static final long MAX_PENDING = 1024 * 1024;
  /** What the broker may keep beyond the baseline, heap and pooled direct memory each. */
  private static final long MEMORY_BOUND = 64L * 1024 * 1024;
  /** The flood stops here if no cut-off has come (the test then fails). */
  private static final long FLOOD_CAP_BYTES = 512L * 1024 * 1024;
  private static final String END_MARKER = "the-end-of-the-flood";

  @Test
  void stalledSubscriberIsCutOffAndTheOthersCarryOn(@TempDir Path tmp) throws Exception {
    try (GatewayUnderTest gw = GatewayUnderTest.start(tmp, o -> o.maxPending = MAX_PENDING)) {
      int port = gw.natsPort();
      MemoryMXBean mem = ManagementFactory.getMemoryMXBean();
      long heapBaseline = heapAfterGc(mem);
      long directBaseline = pooledDirect();

      try (RawClient slow = RawClient.connect(port, 4096);
          RawClient publisher = RawClient.connect(port);
          Drain normal = new Drain(port)) {
        slow.send("CONNECT {\"verbose\":false}\r\nSUB flood 1\r\nPING\r\n");
        slow.readUntil(Pattern.compile("PONG\r\n"), Duration.ofSeconds(5));
        normal.awaitSubscribed();
        publisher.send("CONNECT {\"verbose\":false}\r\n");

        // Flood 1 KB messages until the stalled subscriber is cut off. A PING after every 256
        // messages keeps the publisher from running megabytes ahead of the broker in socket
        // buffers (it would only make the broker chew longer after the cut), as a client's flush
        // would; the broker's stall gate may hold the PONG while it pauses this publisher.
        byte[] batch = floodBatch(256, 1024);
        long sent = 0;
        long heapPeak = 0;
        while (gw.gateway().nats().slowConsumers() == 0) {
          assertTrue(sent < FLOOD_CAP_BYTES, "no slow consumer after " + sent + " bytes");
          publisher.send(batch);
          publisher.send("PING\r\n");
          publisher.readUntil(Pattern.compile("PONG\r\n"), Duration.ofSeconds(10));
          sent += batch.length;
          heapPeak = Math.max(heapPeak, mem.getHeapMemoryUsage().getUsed() - heapBaseline);
        }
        long receivedAtCut = normal.bytes();
        long heapAtCut = heapAfterGc(mem) - heapBaseline;
        long directAtCut = pooledDirect() - directBaseline;

        // The normal subscriber keeps receiving: more flood, then a marker, all arrive.
        publisher.send(batch);
        publisher.send("PUB flood " + END_MARKER.length() + "\r\n" + END_MARKER + "\r\nPING\r\n");
        publisher.readUntil(Pattern.compile("PONG\r\n"), Duration.ofSeconds(10));
        Await.until(Duration.ofSeconds(20), () -> normal.markerSeen() ? null : "end marker not received; "
            + normal.bytes() + " bytes so far; closed connections: " + closedReasons(gw.httpPort()));
        assertTrue(normal.bytes() > receivedAtCut, "normal subscriber got nothing after the cut");

        // Monitoring tells what happened.
        Await.until(Duration.ofSeconds(5), () -> {
          String reason = closedReason(gw.httpPort());
          return reason != null && reason.startsWith("Slow Consumer") ? null : "closed connections: " + reason;
        });
        Map<String, Object> varz = Http.getJson(gw.httpPort(), "/varz");
        assertEquals(1, ((Number) varz.get("slow_consumers")).intValue(), "/varz slow_consumers");
        slow.expectClosed(Duration.ofSeconds(5));

        long heapAfter = heapAfterGc(mem) - heapBaseline;
        String report = String.format("flood %d MB; heap over baseline: peak %d MB (no GC), at cut %d MB, after %d MB;"
            + " pooled direct at cut %d MB", sent >> 20, heapPeak >> 20, heapAtCut >> 20, heapAfter >> 20,
            directAtCut >> 20);
        assertTrue(heapAtCut < MEMORY_BOUND && heapAfter < MEMORY_BOUND, report);
        assertTrue(directAtCut < MEMORY_BOUND, report);
      }
    }
  }

  /** Every closed connection in /connz, with its reason (for a failure's message). */
  private static String closedReasons(int httpPort) {
    try {
      return String.valueOf(Http.getJson(httpPort, "/connz?state=closed").get("connections"));
    } catch (IOException e) {
      return e.toString();
    }
  }

  /** The reason of the first closed connection in /connz, or null when there is none. */
  private static String closedReason(int httpPort) {
    try {
      Object conns = Http.getJson(httpPort, "/connz?state=closed").get("connections");
      if (conns instanceof List<?> l && !l.isEmpty() && l.get(0) instanceof Map<?, ?> c) {
        return String.valueOf(c.get("reason"));
      }
      return null;
    } catch (IOException e) {
      return e.toString();
    }
  }

  private static long heapAfterGc(MemoryMXBean mem) {
    System.gc();
    return mem.getHeapMemoryUsage().getUsed();
  }

  /** Direct memory held by Netty's default allocator (what leafgate's buffers come from). */
  private static long pooledDirect() {
    return ByteBufAllocator.DEFAULT instanceof ByteBufAllocatorMetricProvider p ? p.metric().usedDirectMemory() : 0;
  }

  private static byte[] floodBatch(int messages, int size) {
    String payload = "x".repeat(size);
    return ("PUB flood " + size + "\r\n" + payload + "\r\n").repeat(messages).getBytes(StandardCharsets.US_ASCII);
  }

  /**
   * A subscriber to {@code flood} that reads everything on its own thread, counts the bytes and
   * throws them away (keeping them would weigh on the heap being measured), and notes when the
   * end marker has come.
   */
  private static final class Drain implements AutoCloseable {
    private final Socket socket = new Socket();
    private final AtomicLong bytes = new AtomicLong();
    private final AtomicBoolean subscribed = new AtomicBoolean();
    private final AtomicBoolean marker = new AtomicBoolean();
    private final Thread thread;

    Drain(int port) throws IOException {
      socket.connect(new InetSocketAddress("127.0.0.1", port), 5000);
      OutputStream out = socket.getOutputStream();
      out.write("CONNECT {\"verbose\":false}\r\nSUB flood 7\r\nPING\r\n".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      thread = new Thread(this::run, "drain-subscriber");
      thread.setDaemon(true);
      thread.start();
    }

    private void run() {
      byte[] buf = new byte[64 * 1024];
      String carry = "";
      try (InputStream in = socket.getInputStream()) {
        int n;
        while ((n = in.read(buf)) > 0) {
          bytes.addAndGet(n);
          // Look for PONG and the marker across read boundaries without keeping the stream.
          String s = carry + new String(buf, 0, n, StandardCharsets.ISO_8859_1);
          if (s.contains("PONG\r\n")) {
            subscribed.set(true);
          }
          if (s.contains(END_MARKER)) {
            marker.set(true);
          }
          carry = s.substring(Math.max(0, s.length() - 32));
        }
      } catch (IOException e) {
        // closed by the test
      }
    }

    long bytes() {
      return bytes.get();
    }

    void awaitSubscribed() {
      Await.until(Duration.ofSeconds(5), () -> subscribed.get() ? null : "no PONG for the normal subscriber");
    }

    boolean markerSeen() {
      return marker.get();
    }

    @Override
    public void close() throws IOException {
      socket.close();
    }
  }
}
