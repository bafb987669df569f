package io.leafgate.storage.sqlite;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leafgate.storage.api.ConsumerState;
import io.leafgate.storage.api.StoredMessage;
import io.leafgate.storage.api.StreamState;
import io.leafgate.storage.api.StreamStore;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kill -9 in the middle of writing, several rounds on the same store: everything a child process
 * reported durable is back with the right content, sequences are gapless, and consumer progress
 * never goes backwards. (The lead's integration test runs the long version.)
 */
class SqliteDurabilityTest {
  private static final int ROUNDS = 5;

  @TempDir Path dir;

  @Test
  void killedWritersLoseNothingTheyAcknowledged() throws Exception {
    rounds(false);
  }

  /**
   * The same with each group removing the messages below the consumer's floor in order, which
   * leaves their rows in the table below a floor of the stream's own: after each kill the stream
   * starts right above the consumer's floor, with nothing removed showing and nothing else missing.
   */
  @Test
  void killedDrainersKeepTheirFloorAndTheirMessages() throws Exception {
    rounds(true);
  }

  private void rounds(boolean drain) throws Exception {
    long seed = System.nanoTime();
    Random rnd = new Random(seed);
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    long floorSeen = 0;
    long ackedSeen = 0;
    for (int round = 0; round < ROUNDS; round++) {
      Path err = dir.resolve("child-" + round + ".err");
      Process p = new ProcessBuilder(java, "-Xmx64m", "-XX:TieredStopAtLevel=1", "-cp", cp,
          DurabilityChild.class.getName(), dir.resolve("store").toString(), String.valueOf(seed + round),
          drain ? "drain" : "keep")
          .redirectError(err.toFile())
          .start();
      List<String> lines = new CopyOnWriteArrayList<>();
      Thread reader = new Thread(() -> {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), UTF_8))) {
          for (String line = r.readLine(); line != null; line = r.readLine()) {
            if (line.startsWith("ACK ")) {
              lines.add(line.substring(4));
            }
          }
        } catch (java.io.IOException ignored) {
          // the child was killed
        }
      });
      reader.start();
      int killAfter = 1 + rnd.nextInt(60);
      try {
        Await.until(Duration.ofSeconds(60), () -> lines.size() >= killAfter ? null
            : !p.isAlive() ? "child died: " + read(err) : "child reported " + lines.size() + " groups");
      } finally {
        p.destroyForcibly();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        reader.join(10_000);
      }
      long acked = 0;
      long floor = 0;
      for (String line : lines) {
        String[] f = line.split(" ");
        acked = Math.max(acked, Long.parseLong(f[0]));
        floor = Math.max(floor, Long.parseLong(f[1]));
      }
      String ctx = "round " + round + " (seed " + seed + ", " + lines.size() + " groups reported)";
      try (SqliteJetStreamStore js = SqliteJetStreamStore.open(dir.resolve("store"),
          SqliteJetStreamStore.Options.defaults())) {
        StreamStore s = js.openStream(js.streams().get(0));
        StreamState st = s.state();
        ConsumerState cs = js.consumers("D").get(0).state();
        long first = drain ? cs.ackFloorStreamSeq() + 1 : 1;
        assertTrue(st.lastSeq() >= acked, ctx + ": acknowledged " + acked + " but the store ends at " + st.lastSeq());
        assertEquals(first, st.firstSeq(), ctx + ": the stream starts right above what was removed");
        assertEquals(st.lastSeq() - first + 1, st.msgs(), ctx + ": gapless from " + first);
        assertEquals(0, st.numDeleted(), ctx);
        List<StoredMessage> all = s.loadBatch(null, 1, Integer.MAX_VALUE, 0);
        assertEquals(st.msgs(), all.size(), ctx);
        for (StoredMessage m : all) {
          assertEquals(DurabilityChild.subject(m.seq()), m.subject(), ctx);
          assertArrayEquals(DurabilityChild.payload(m.seq()), m.data(), ctx + ": content of " + m.seq());
        }
        assertEquals(st.msgs(), s.msgIdsSince(Long.MIN_VALUE).size(), ctx + ": every msg id of the stream is back");
        assertEquals(st.msgs(), s.countMatching("d.>", 0), ctx);
        assertTrue(cs.ackFloorStreamSeq() >= floor, ctx + ": consumer floor " + cs.ackFloorStreamSeq()
            + " behind the acknowledged " + floor);
        assertTrue(cs.ackFloorStreamSeq() >= floorSeen, ctx + ": consumer went backwards");
        assertTrue(cs.deliveredStreamSeq() <= st.lastSeq(), ctx);
        assertTrue(st.lastSeq() >= ackedSeen, ctx + ": the stream went backwards");
        floorSeen = cs.ackFloorStreamSeq();
        ackedSeen = st.lastSeq();
      }
    }
    assertTrue(ackedSeen > 0);
  }

  private static String read(Path p) {
    try {
      return Files.readString(p);
    } catch (java.io.IOException e) {
      return "(no stderr)";
    }
  }
}
