package io.leafgate.storage.sqlite;

import static java.nio.charset.StandardCharsets.ISO_8859_1;

import io.leafgate.storage.api.ConsumerRecord;
import io.leafgate.storage.api.ConsumerState;
import io.leafgate.storage.api.JetStreamStore;
import io.leafgate.storage.api.StreamRecord;
import io.leafgate.storage.api.StreamStore;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

/**
 * The process {@link SqliteDurabilityTest} kills: appends to stream "D" in random-sized groups, moves
 * consumer "c" forward, and prints {@code ACK <lastSeq> <ackFloor>} once each group's onDurable ran.
 * Arguments: store dir, random seed, and optionally {@code drain}: then each group also removes the
 * messages up to the new floor as acknowledged (a work-queue drain, in order).
 */
public final class DurabilityChild {
  private DurabilityChild() {}

  /** The payload of message {@code seq}: derived from the sequence so any reader can check it. */
  static byte[] payload(long seq) {
    StringBuilder sb = new StringBuilder("payload-").append(seq).append(':');
    int len = 20 + (int) (seq % 300);
    while (sb.length() < len) {
      sb.append((char) ('a' + (seq * 31 + sb.length()) % 26));
    }
    return sb.toString().getBytes(ISO_8859_1);
  }

  static String subject(long seq) {
    return "d." + (seq % 7);
  }

  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[0]);
    Random rnd = new Random(Long.parseLong(args[1]));
    boolean drain = args.length > 2 && args[2].equals("drain");
    PrintStream out = System.out;
    JetStreamStore js = SqliteJetStreamStore.open(dir, SqliteJetStreamStore.Options.defaults());
    StreamRecord rec = js.streams().stream().filter(r -> r.name().equals("D")).findFirst().orElse(null);
    StreamStore s = rec == null ? js.createStream(new StreamRecord("D", "{}", 1, "e", false)) : js.openStream(rec);
    List<ConsumerRecord> cs = js.consumers("D");
    long floor = 0;
    if (cs.isEmpty()) {
      js.saveConsumer(new ConsumerRecord("D", "c", "{}", 1, ConsumerState.INITIAL));
    } else {
      floor = cs.get(0).state().ackFloorStreamSeq();
    }
    long removed = floor;
    while (true) {
      int n = 1 + rnd.nextInt(25);
      long last = 0;
      for (int i = 0; i < n; i++) {
        long seq = s.state().lastSeq() + 1;
        last = s.append(subject(seq), null, payload(seq), seq, seq, "id-" + seq);
      }
      floor = Math.max(floor, last - rnd.nextInt(5));
      js.saveConsumerState("D", "c", new ConsumerState(last, last, floor, floor, new long[] {last}));
      for (; drain && removed < floor; removed++) {
        s.removeAcked(removed + 1);
      }
      long l = last;
      long f = floor;
      js.commit(() -> {
        synchronized (out) {
          out.println("ACK " + l + " " + f);
          out.flush();
        }
      });
    }
  }
}
