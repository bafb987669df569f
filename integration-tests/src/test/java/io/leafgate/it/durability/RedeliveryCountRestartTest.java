package io.leafgate.it.durability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leafgate.it.uplink.EdgeProcess;
import io.nats.client.Connection;
import io.nats.client.JetStream;
import io.nats.client.JetStreamSubscription;
import io.nats.client.Message;
import io.nats.client.Nats;
import io.nats.client.Options;
import io.nats.client.PullSubscribeOptions;
import io.nats.client.api.AckPolicy;
import io.nats.client.api.DeliverPolicy;
import io.nats.client.api.ConsumerConfiguration;
import io.nats.client.api.StreamConfiguration;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A durable consumer's delivery counts survive a restart of the gateway process: with max_deliver 3
 * and a message delivered twice without an ack, the delivery after the restart says 3 and is the
 * last one. Once with a clean stop (SIGTERM), once with kill -9 right after the second delivery.
 */
@Timeout(180)
class RedeliveryCountRestartTest {
  private static final Duration ACK_WAIT = Duration.ofSeconds(1);

  @Test
  void countsGoOnAfterACleanStop(@TempDir Path tmp) throws Exception {
    EdgeProcess edge = new EdgeProcess(tmp, "jetstream { sync: always }\n");
    try {
      edge.start();
      deliverTwice(edge);
      edge.close();
      edge.start();
      List<Long> after = deliveriesUntilQuiet(edge);
      assertEquals(List.of(3L), after, "deliveries of message 1 after the restart\n" + edge.log());
    } finally {
      edge.close();
    }
  }

  @Test
  void countsGoOnAfterKillNine(@TempDir Path tmp) throws Exception {
    EdgeProcess edge = new EdgeProcess(tmp, "jetstream { sync: always }\n");
    try {
      edge.start();
      deliverTwice(edge);
      edge.kill();
      edge.start();
      List<Long> after = deliveriesUntilQuiet(edge);
      // A delivery goes out after the commit that records it, so the count the store has is at
      // least the one the client saw; the first one was committed an ack wait earlier anyway.
      assertTrue(!after.isEmpty() && after.get(0) >= 2 && after.get(0) <= 3,
          "first delivery after kill -9: " + after + "\n" + edge.log());
      assertTrue(2 + after.size() <= 3, "more than max_deliver deliveries in all: 2 before, then " + after);
      assertEquals(List.of(3L), after);
    } finally {
      edge.close();
    }
  }

  /**
   * After a restart the unacknowledged messages are owed again, in order. Acknowledging the first
   * of them must not move the ack floor past the others (which would lose them at the next restart).
   */
  @Test
  void anAckAfterARestartLeavesTheOthersOwed(@TempDir Path tmp) throws Exception {
    EdgeProcess edge = new EdgeProcess(tmp, "jetstream { sync: always }\n");
    try {
      edge.start();
      try (Connection nc = connect(edge)) {
        nc.jetStreamManagement().addStream(StreamConfiguration.builder().name("O").subjects("o.>").build());
        nc.jetStreamManagement().addOrUpdateConsumer("O", ConsumerConfiguration.builder().durable("D")
            .ackPolicy(AckPolicy.Explicit).ackWait(Duration.ofSeconds(60)).build());
        for (int i = 1; i <= 3; i++) {
          nc.jetStream().publish("o.a", ("m" + i).getBytes(StandardCharsets.UTF_8));
        }
        JetStreamSubscription sub = nc.jetStream().subscribe(null, PullSubscribeOptions.bind("O", "D"));
        assertEquals(3, sub.fetch(3, Duration.ofSeconds(5)).size());
      }
      edge.close();
      edge.start();
      try (Connection nc = connect(edge)) {
        JetStreamSubscription sub = nc.jetStream().subscribe(null, PullSubscribeOptions.bind("O", "D"));
        List<Message> one = sub.fetch(1, Duration.ofSeconds(5));
        assertEquals(1, one.size());
        assertEquals(1, one.get(0).metaData().streamSequence());
        assertEquals(2, one.get(0).metaData().deliveredCount());
        one.get(0).ackSync(Duration.ofSeconds(5));
        assertEquals(1, nc.jetStreamManagement().getConsumerInfo("O", "D").getAckFloor().getStreamSequence());
      }
      edge.close();
      edge.start();
      try (Connection nc = connect(edge)) {
        JetStreamSubscription sub = nc.jetStream().subscribe(null, PullSubscribeOptions.bind("O", "D"));
        List<Message> rest = sub.fetch(2, Duration.ofSeconds(5));
        assertEquals(List.of(2L, 3L), rest.stream().map(m -> m.metaData().streamSequence()).toList());
        assertEquals(List.of(2L, 2L), rest.stream().map(m -> m.metaData().deliveredCount()).toList());
      }
    } finally {
      edge.close();
    }
  }

  /**
   * A durable last-per-subject consumer owes only what it delivered and did not acknowledge: after
   * a restart the messages it skipped (older ones of the same subjects) must not come. Message 2 was
   * never delivered (not the last of its subject); only message 1 is owed, as with nats-server, which
   * keeps its pending set. leafgate keeps where the first phase ended and owes, between the ack floor
   * and the last delivery, only the last message of each subject up to there.
   */
  @Test
  void aLastPerSubjectConsumerOwesOnlyWhatItDelivered(@TempDir Path tmp) throws Exception {
    EdgeProcess edge = new EdgeProcess(tmp, "jetstream { sync: always }\n");
    try {
      edge.start();
      try (Connection nc = connect(edge)) {
        nc.jetStreamManagement().addStream(StreamConfiguration.builder().name("L").subjects("l.>").build());
        JetStream js = nc.jetStream();
        for (String subj : List.of("l.b", "l.a", "l.c", "l.a")) {
          js.publish(subj, subj.getBytes(StandardCharsets.UTF_8)); // sequences 1 to 4; 2 is not a last
        }
        nc.jetStreamManagement().addOrUpdateConsumer("L", ConsumerConfiguration.builder().durable("D")
            .deliverPolicy(DeliverPolicy.LastPerSubject).ackPolicy(AckPolicy.Explicit)
            .ackWait(Duration.ofSeconds(60)).build());
        JetStreamSubscription sub = js.subscribe(null, PullSubscribeOptions.bind("L", "D"));
        List<Message> got = sub.fetch(3, Duration.ofSeconds(5));
        assertEquals(List.of(1L, 3L, 4L), got.stream().map(m -> m.metaData().streamSequence()).toList());
        got.get(1).ackSync(Duration.ofSeconds(5));
        got.get(2).ackSync(Duration.ofSeconds(5));
      }
      edge.close();
      edge.start();
      try (Connection nc = connect(edge)) {
        JetStreamSubscription sub = nc.jetStream().subscribe(null, PullSubscribeOptions.bind("L", "D"));
        List<Message> after = sub.fetch(5, Duration.ofSeconds(3));
        assertEquals(List.of(1L), after.stream().map(m -> m.metaData().streamSequence()).toList(),
            "owed after the restart\n" + edge.log());
      }
    } finally {
      edge.close();
    }
  }

  @Test
  void aLastPerSubjectPhaseGoesOnAfterACleanStop(@TempDir Path tmp) throws Exception {
    lastPerSubjectPhaseAcrossARestart(tmp, false);
  }

  @Test
  void aLastPerSubjectPhaseGoesOnAfterKillNine(@TempDir Path tmp) throws Exception {
    lastPerSubjectPhaseAcrossARestart(tmp, true);
  }

  /**
   * A restart in the middle of a last-per-subject consumer's first phase. The stream holds
   * {@code b a c a d c d e d} (sequences 1 to 9): the phase delivers 1, 4, 6, 8, 9 (the last of each
   * subject) and skips 2, 3, 5, 7. The client takes 1, 4, 6 and acknowledges 4 only; then the gateway
   * stops (cleanly, or with kill -9 right after the acknowledgement was confirmed).
   *
   * <p>After the restart 1 and 6 are owed (redeliveries, count 2), as with nats-server, which keeps
   * its pending set (it sends them once their ack wait has passed; leafgate at once). The rest of the
   * phase, 8 and 9, goes on as it would have without the restart, then every new message. nats-server
   * (2.9) does not keep the phase across a restart: it goes on with every message after the last one
   * delivered, so it would also send 7, which the phase skipped; leafgate does not.
   */
  private static void lastPerSubjectPhaseAcrossARestart(Path tmp, boolean kill) throws Exception {
    EdgeProcess edge = new EdgeProcess(tmp, "jetstream { sync: always }\n");
    try {
      edge.start();
      try (Connection nc = connect(edge)) {
        JetStreamSubscription sub = phaseStream(nc, "P", AckPolicy.Explicit);
        List<Message> got = sub.fetch(3, Duration.ofSeconds(5));
        assertEquals(List.of(1L, 4L, 6L), seqs(got));
        got.get(1).ackSync(Duration.ofSeconds(5));
      }
      if (kill) {
        edge.kill();
      } else {
        edge.close();
      }
      edge.start();
      try (Connection nc = connect(edge)) {
        JetStreamSubscription sub = nc.jetStream().subscribe(null, PullSubscribeOptions.bind("P", "D"));
        // The fetch waits out its whole time when fewer come: nothing else may come meanwhile.
        List<Message> after = sub.fetch(10, Duration.ofSeconds(3));
        assertEquals(List.of(1L, 6L, 8L, 9L), seqs(after), "delivered after the restart\n" + edge.log());
        assertEquals(List.of(2L, 2L, 1L, 1L), after.stream().map(m -> m.metaData().deliveredCount()).toList());
        for (Message m : after) {
          m.ackSync(Duration.ofSeconds(5));
        }
        nc.jetStream().publish("p.a", "p.a".getBytes(StandardCharsets.UTF_8));
        List<Message> next = sub.fetch(10, Duration.ofSeconds(3));
        assertEquals(List.of(10L), seqs(next), "after the first phase every new message comes");
        next.get(0).ackSync(Duration.ofSeconds(5));
        assertEquals(10, nc.jetStreamManagement().getConsumerInfo("P", "D").getAckFloor().getStreamSequence());
      }
      if (kill) {
        edge.kill();
      } else {
        edge.close();
      }
      edge.start();
      try (Connection nc = connect(edge)) {
        JetStreamSubscription sub = nc.jetStream().subscribe(null, PullSubscribeOptions.bind("P", "D"));
        assertEquals(List.of(), seqs(sub.fetch(10, Duration.ofSeconds(2))), "all acknowledged: nothing owed");
        nc.jetStream().publish("p.b", "p.b".getBytes(StandardCharsets.UTF_8));
        assertEquals(List.of(11L), seqs(sub.fetch(10, Duration.ofSeconds(3))));
      }
    } finally {
      edge.close();
    }
  }

  /**
   * The same first phase with ack policy none, and a kill -9 once the client has 1, 4 and 6: nothing
   * is owed (each delivery counts as acknowledged), and the phase goes on where it was: 8 and 9 (7
   * skipped), each delivered once, then every new message.
   */
  @Test
  void aLastPerSubjectPhaseWithoutAcksGoesOnAfterKillNine(@TempDir Path tmp) throws Exception {
    EdgeProcess edge = new EdgeProcess(tmp, "jetstream { sync: always }\n");
    try {
      edge.start();
      try (Connection nc = connect(edge)) {
        JetStreamSubscription sub = phaseStream(nc, "N", AckPolicy.None);
        assertEquals(List.of(1L, 4L, 6L), seqs(sub.fetch(3, Duration.ofSeconds(5))));
      }
      edge.kill();
      edge.start();
      try (Connection nc = connect(edge)) {
        JetStreamSubscription sub = nc.jetStream().subscribe(null, PullSubscribeOptions.bind("N", "D"));
        // The fetch waits out its whole time when fewer come: nothing else may come meanwhile.
        List<Message> after = sub.fetch(10, Duration.ofSeconds(3));
        assertEquals(List.of(8L, 9L), seqs(after), "delivered after the restart\n" + edge.log());
        assertEquals(List.of(1L, 1L), after.stream().map(m -> m.metaData().deliveredCount()).toList());
        nc.jetStream().publish("n.a", "n.a".getBytes(StandardCharsets.UTF_8));
        assertEquals(List.of(10L), seqs(sub.fetch(10, Duration.ofSeconds(3))), "after the first phase every new message comes");
        assertEquals(10, nc.jetStreamManagement().getConsumerInfo("N", "D").getAckFloor().getStreamSequence());
      }
    } finally {
      edge.close();
    }
  }

  /**
   * Stream {@code name} on subjects {@code <name lower case>.>} holding {@code b a c a d c d e d}
   * (sequences 1 to 9), a durable last-per-subject consumer D on it with {@code ack} (ack wait 60 s),
   * and a pull subscription bound to D.
   */
  private static JetStreamSubscription phaseStream(Connection nc, String name, AckPolicy ack) throws Exception {
    String prefix = name.toLowerCase(java.util.Locale.ROOT) + ".";
    nc.jetStreamManagement().addStream(StreamConfiguration.builder().name(name).subjects(prefix + ">").build());
    JetStream js = nc.jetStream();
    for (String last : List.of("b", "a", "c", "a", "d", "c", "d", "e", "d")) {
      js.publish(prefix + last, (prefix + last).getBytes(StandardCharsets.UTF_8));
    }
    nc.jetStreamManagement().addOrUpdateConsumer(name, ConsumerConfiguration.builder().durable("D")
        .deliverPolicy(DeliverPolicy.LastPerSubject).ackPolicy(ack).ackWait(Duration.ofSeconds(60)).build());
    return js.subscribe(null, PullSubscribeOptions.bind(name, "D"));
  }

  private static List<Long> seqs(List<Message> msgs) {
    return msgs.stream().map(m -> m.metaData().streamSequence()).toList();
  }

  private static Connection connect(EdgeProcess edge) throws Exception {
    // A just-started JVM on a busy machine can take a while to answer its first CONNECT.
    return Nats.connect(new Options.Builder().server(edge.url()).connectionTimeout(Duration.ofSeconds(10))
        .maxReconnects(0).build());
  }

  /**
   * Stream R with two messages and durable pull consumer D (explicit acks, ack wait 1 s, max_deliver
   * 3); message 2 is acknowledged, message 1 is delivered twice and never acknowledged.
   */
  private static void deliverTwice(EdgeProcess edge) throws Exception {
    try (Connection nc = connect(edge)) {
      nc.jetStreamManagement().addStream(StreamConfiguration.builder().name("R").subjects("r.>").build());
      nc.jetStreamManagement().addOrUpdateConsumer("R", ConsumerConfiguration.builder().durable("D")
          .ackPolicy(AckPolicy.Explicit).ackWait(ACK_WAIT).maxDeliver(3).build());
      JetStream js = nc.jetStream();
      js.publish("r.a", "one".getBytes(StandardCharsets.UTF_8));
      js.publish("r.a", "two".getBytes(StandardCharsets.UTF_8));
      JetStreamSubscription sub = js.subscribe(null, PullSubscribeOptions.bind("R", "D"));
      List<Message> first = sub.fetch(2, Duration.ofSeconds(5));
      assertEquals(2, first.size());
      assertEquals(1, first.get(0).metaData().deliveredCount());
      first.get(1).ackSync(Duration.ofSeconds(5));
      // The redelivery comes once the ack wait has passed; the fetch waits for it.
      List<Message> second = sub.fetch(1, Duration.ofSeconds(5));
      assertEquals(1, second.size(), "no redelivery within 5 s");
      assertEquals(1, second.get(0).metaData().streamSequence());
      assertEquals(2, second.get(0).metaData().deliveredCount());
    }
  }

  /**
   * The delivery counts of everything delivered after the restart, until nothing more comes for
   * three ack waits (a redelivery would have come after one). Only message 1 may come.
   */
  private static List<Long> deliveriesUntilQuiet(EdgeProcess edge) throws Exception {
    List<Long> counts = new ArrayList<>();
    try (Connection nc = connect(edge)) {
      JetStreamSubscription sub = nc.jetStream().subscribe(null, PullSubscribeOptions.bind("R", "D"));
      while (true) {
        List<Message> got = sub.fetch(1, ACK_WAIT.multipliedBy(3));
        if (got.isEmpty()) {
          return counts;
        }
        Message m = got.get(0);
        assertEquals(1, m.metaData().streamSequence(), "the acknowledged message came again");
        counts.add(m.metaData().deliveredCount());
        assertTrue(counts.size() <= 3, "deliveries go on: " + counts);
      }
    }
  }
}
