package io.leafgate.it.durability;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leafgate.gateway.Gateway;
import io.leafgate.it.harness.Await;
import io.leafgate.it.harness.Http;
import io.leafgate.leaf.config.ServerOptions;
import io.nats.client.Connection;
import io.nats.client.JetStream;
import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamManagement;
import io.nats.client.Nats;
import io.nats.client.Options;
import io.nats.client.api.StreamConfiguration;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A full disk and a damaged store file, with the whole gateway and a real client. */
class StoreFaultTest {
  private static ServerOptions options(Path store) {
    ServerOptions o = new ServerOptions();
    o.port = -1;
    o.httpPort = -1;
    o.mqttPort = 0;
    o.storeDir = store;
    return o;
  }

  @Test
  void aFullDiskRefusesPublishesWithInsufficientResourcesLosesNothingAndRecovers(@TempDir Path tmp) throws Exception {
    Path mnt = tmp.resolve("small");
    Files.createDirectories(mnt);
    Assumptions.assumeTrue(run("mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", mnt.toString()) == 0,
        "needs root to mount a tmpfs");
    try {
      Path store = mnt.resolve("store");
      try (Gateway g = Gateway.start(options(store));
           Connection nc = Nats.connect(new Options.Builder().server("nats://127.0.0.1:" + g.natsPort())
               .connectionTimeout(Duration.ofSeconds(5)).build())) {
        JetStreamManagement jsm = nc.jetStreamManagement();
        jsm.addStream(StreamConfiguration.builder().name("S").subjects("s.>").build());
        JetStream js = nc.jetStream();
        // Leave the store about a megabyte.
        Path filler = mnt.resolve("filler");
        long free = Files.getFileStore(mnt).getUsableSpace();
        Files.write(filler, new byte[(int) Math.max(0, free - 1_200_000)]);
        byte[] payload = new byte[2048];
        long acked = 0;
        JetStreamApiException refusal = null;
        for (int i = 0; i < 5000 && refusal == null; i++) {
          try {
            js.publish("s.a", payload);
            acked++;
          } catch (JetStreamApiException e) {
            refusal = e;
          }
        }
        assertTrue(refusal != null, "the disk never filled up");
        assertEquals(10023, refusal.getApiErrorCode(), "nats-server's insufficient resources: " + refusal);
        long ackedBefore = acked;
        long stored = jsm.getStreamInfo("S").getStreamState().getMsgCount();
        assertTrue(stored >= ackedBefore, "acknowledged " + ackedBefore + " but the stream holds " + stored);
        // A full store is a state the monitoring shows, not a health failure (the systemd watchdog
        // would restart the gateway, which makes no room).
        assertEquals("ok", Http.getJson(g.httpPort(), "/healthz").get("status"));
        Object full = Http.getJson(g.httpPort(), "/jsz").get("store_full");
        assertTrue(full instanceof String, "/jsz names why the store is full: " + full);
        String metrics = Http.get(g.httpPort(), "/metrics");
        assertTrue(metrics.contains("\nleafgate_jetstream_store_full 1\n"), metrics);
        assertTrue(!metrics.contains("\nleafgate_jetstream_store_full_refusals_total 0\n"), metrics);
        // Space comes back: publishing works again without a restart.
        Files.delete(filler);
        Await.until(Duration.ofSeconds(15), () -> {
          try {
            js.publish("s.a", payload);
            return null;
          } catch (Exception e) {
            return "still refused: " + e.getMessage();
          }
        });
        assertTrue(jsm.getStreamInfo("S").getStreamState().getMsgCount() > stored);
        assertEquals(null, Http.getJson(g.httpPort(), "/jsz").get("store_full"), "no longer full");
        assertTrue(Http.get(g.httpPort(), "/metrics").contains("\nleafgate_jetstream_store_full 0\n"));
      }
    } finally {
      run("umount", "-l", mnt.toString());
    }
  }

  @Test
  void aDamagedStoreFileIsReportedAndLeftAlone(@TempDir Path tmp) throws Exception {
    Path store = tmp.resolve("store");
    try (Gateway g = Gateway.start(options(store))) {
      try (Connection nc = Nats.connect("nats://127.0.0.1:" + g.natsPort())) {
        nc.jetStreamManagement().addStream(StreamConfiguration.builder().name("S").subjects("s.>").build());
        nc.jetStream().publish("s.a", "x".getBytes());
      }
    }
    Path db = store.resolve("jetstream").resolve("leafgate.db");
    byte[] garbage = new byte[8192];
    for (int i = 0; i < garbage.length; i++) {
      garbage[i] = (byte) (i * 31 + 7);
    }
    Files.write(db, garbage);
    Files.deleteIfExists(store.resolve("jetstream").resolve("leafgate.db-wal"));
    IOException e = assertThrows(IOException.class, () -> Gateway.start(options(store)).close());
    assertTrue(e.getMessage().contains("leafgate.db"), "the message names the file: " + e.getMessage());
    assertArrayEquals(garbage, Files.readAllBytes(db), "the damaged file is kept as it was");
  }

  private static int run(String... cmd) {
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      p.getInputStream().readAllBytes();
      return p.waitFor(20, TimeUnit.SECONDS) ? p.exitValue() : -1;
    } catch (IOException | InterruptedException e) {
      return -1;
    }
  }
}
