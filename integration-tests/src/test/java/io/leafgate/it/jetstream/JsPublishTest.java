package io.leafgate.it.jetstream;

import static io.leafgate.it.jetstream.Clients.bytes;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.nats.client.Connection;
import io.nats.client.JetStream;
import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamManagement;
import io.nats.client.PublishOptions;
import io.nats.client.api.DiscardPolicy;
import io.nats.client.api.PublishAck;
import io.nats.client.api.StreamConfiguration;
import io.nats.client.impl.Headers;
import io.nats.client.impl.NatsMessage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** §14 B: JetStream publishing with jnats: acks, dedupe, expectations, rollups, limits, async. */
class JsPublishTest {
  @TempDir static Path tmp;
  static JsGateway gw;
  static Connection nc;
  static JetStreamManagement jsm;
  static JetStream js;

  @BeforeAll
  static void start() throws Exception {
    gw = JsGateway.start(tmp.resolve("store"));
    nc = Clients.connect(gw.url());
    jsm = nc.jetStreamManagement();
    js = nc.jetStream();
  }

  @AfterAll
  static void stop() throws Exception {
    if (nc != null) {
      nc.close();
    }
    if (gw != null) {
      gw.close();
    }
  }

  private static PublishAck publish(String subject, String data, Headers h) throws Exception {
    return js.publish(NatsMessage.builder().subject(subject).headers(h).data(bytes(data)).build());
  }

  @Test
  void sequencesIncrementAndNoStreamIs503Fast() throws Exception {
    jsm.addStream(StreamConfiguration.builder().name("PUB_SEQ").subjects("seq.>").build());
    for (int i = 1; i <= 5; i++) {
      PublishAck a = js.publish("seq.a", bytes("m" + i));
      assertEquals("PUB_SEQ", a.getStream());
      assertEquals(i, a.getSeqno());
      assertFalse(a.isDuplicate());
    }
    long t0 = System.nanoTime();
    IOException e = assertThrows(IOException.class, () -> js.publish("nostream.x", bytes("x")));
    long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
    assertTrue(e.getMessage().contains("503"), e.getMessage());
    assertTrue(ms < 1500, "no-responders took " + ms + " ms; it must not wait for the request timeout");
  }

  @Test
  void messageIdDeduplicates() throws Exception {
    jsm.addStream(StreamConfiguration.builder().name("PUB_DEDUPE").subjects("dd.>").build());
    PublishAck a = js.publish("dd.a", bytes("1"), PublishOptions.builder().messageId("m1").build());
    PublishAck b = js.publish("dd.a", bytes("1"), PublishOptions.builder().messageId("m1").build());
    assertFalse(a.isDuplicate());
    assertTrue(b.isDuplicate());
    assertEquals(a.getSeqno(), b.getSeqno());
    PublishAck c = js.publish("dd.a", bytes("2"), PublishOptions.builder().messageId("m2").build());
    assertEquals(a.getSeqno() + 1, c.getSeqno());
    assertEquals(2, jsm.getStreamInfo("PUB_DEDUPE").getStreamState().getMsgCount());
  }

  @Test
  void expectations() throws Exception {
    jsm.addStream(StreamConfiguration.builder().name("PUB_EXP").subjects("ex.>").build());
    js.publish("ex.a", bytes("1"), PublishOptions.builder().messageId("id1").build());
    js.publish("ex.b", bytes("2"));

    JetStreamApiException stream = assertThrows(JetStreamApiException.class,
        () -> js.publish("ex.a", bytes("x"), PublishOptions.builder().expectedStream("OTHER").build()));
    assertEquals(10060, stream.getApiErrorCode());
    assertEquals(3, js.publish("ex.a", bytes("x"), PublishOptions.builder().expectedStream("PUB_EXP").build())
        .getSeqno());

    JetStreamApiException last = assertThrows(JetStreamApiException.class,
        () -> js.publish("ex.a", bytes("x"), PublishOptions.builder().expectedLastSequence(1).build()));
    assertEquals(10071, last.getApiErrorCode());
    assertTrue(last.getMessage().contains("wrong last sequence: 3"), last.getMessage());
    assertEquals(4, js.publish("ex.a", bytes("x"), PublishOptions.builder().expectedLastSequence(3).build())
        .getSeqno());

    JetStreamApiException subj = assertThrows(JetStreamApiException.class,
        () -> js.publish("ex.b", bytes("x"), PublishOptions.builder().expectedLastSubjectSequence(1).build()));
    assertEquals(10071, subj.getApiErrorCode());
    assertEquals(5, js.publish("ex.b", bytes("x"), PublishOptions.builder().expectedLastSubjectSequence(2).build())
        .getSeqno());
    assertEquals(6, js.publish("ex.new", bytes("x"), PublishOptions.builder().expectedLastSubjectSequence(0).build())
        .getSeqno());
    JetStreamApiException notNew = assertThrows(JetStreamApiException.class,
        () -> js.publish("ex.new", bytes("x"), PublishOptions.builder().expectedLastSubjectSequence(0).build()));
    assertEquals(10071, notNew.getApiErrorCode());

    js.publish("ex.c", bytes("x"), PublishOptions.builder().messageId("id7").build());
    JetStreamApiException msgId = assertThrows(JetStreamApiException.class,
        () -> js.publish("ex.a", bytes("x"), PublishOptions.builder().expectedLastMsgId("id1").build()));
    assertEquals(10070, msgId.getApiErrorCode());
    assertEquals(8, js.publish("ex.a", bytes("x"), PublishOptions.builder().expectedLastMsgId("id7").build())
        .getSeqno());
    assertEquals(8, jsm.getStreamInfo("PUB_EXP").getStreamState().getMsgCount());
  }

  @Test
  void rollups() throws Exception {
    jsm.addStream(StreamConfiguration.builder().name("PUB_ROLL").subjects("ro.>").allowRollup(true).build());
    for (int i = 0; i < 3; i++) {
      js.publish("ro.a", bytes("a" + i));
      js.publish("ro.b", bytes("b" + i));
    }
    PublishAck sub = publish("ro.a", "a-rollup", new Headers().add("Nats-Rollup", "sub"));
    assertEquals(7, sub.getSeqno());
    assertEquals(4, jsm.getStreamInfo("PUB_ROLL").getStreamState().getMsgCount()); // 3 x b + rollup
    assertEquals("a-rollup", new String(jsm.getLastMessage("PUB_ROLL", "ro.a").getData()));
    assertEquals(7, jsm.getFirstMessage("PUB_ROLL", "ro.a").getSeq());

    PublishAck all = publish("ro.c", "everything", new Headers().add("Nats-Rollup", "all"));
    assertEquals(1, jsm.getStreamInfo("PUB_ROLL").getStreamState().getMsgCount());
    assertEquals(all.getSeqno(), jsm.getStreamInfo("PUB_ROLL").getStreamState().getFirstSequence());

    jsm.addStream(StreamConfiguration.builder().name("PUB_NOROLL").subjects("nr.>").build());
    JetStreamApiException e = assertThrows(JetStreamApiException.class,
        () -> publish("nr.a", "x", new Headers().add("Nats-Rollup", "sub")));
    assertEquals(10111, e.getApiErrorCode());
    assertEquals(0, jsm.getStreamInfo("PUB_NOROLL").getStreamState().getMsgCount());
  }

  @Test
  void sizeAndDiscardNewLimits() throws Exception {
    jsm.addStream(StreamConfiguration.builder().name("PUB_SIZE").subjects("sz.>").maximumMessageSize(10).build());
    assertEquals(1, js.publish("sz.a", bytes("0123456789")).getSeqno());
    JetStreamApiException big = assertThrows(JetStreamApiException.class,
        () -> js.publish("sz.a", bytes("0123456789X")));
    assertEquals(10054, big.getApiErrorCode());

    jsm.addStream(StreamConfiguration.builder().name("PUB_NEW").subjects("dn.>").discardPolicy(DiscardPolicy.New)
        .maxMessages(2).build());
    js.publish("dn.a", bytes("1"));
    js.publish("dn.a", bytes("2"));
    JetStreamApiException full = assertThrows(JetStreamApiException.class, () -> js.publish("dn.a", bytes("3")));
    assertEquals(10077, full.getApiErrorCode());
    assertEquals(503, full.getErrorCode());
    assertEquals(2, jsm.getStreamInfo("PUB_NEW").getStreamState().getMsgCount());

    jsm.addStream(StreamConfiguration.builder().name("PUB_OLD").subjects("do.>").maxMessages(2).build());
    for (int i = 0; i < 5; i++) {
      js.publish("do.a", bytes("m" + i));
    }
    assertEquals(2, jsm.getStreamInfo("PUB_OLD").getStreamState().getMsgCount());
    assertEquals(4, jsm.getStreamInfo("PUB_OLD").getStreamState().getFirstSequence());
  }

  @Test
  void publishAsyncThousandIsGapless() throws Exception {
    jsm.addStream(StreamConfiguration.builder().name("PUB_ASYNC").subjects("as.>").build());
    List<CompletableFuture<PublishAck>> futures = new ArrayList<>();
    for (int i = 0; i < 1000; i++) {
      futures.add(js.publishAsync("as." + (i % 7), bytes("m" + i)));
    }
    boolean[] seen = new boolean[1001];
    for (CompletableFuture<PublishAck> f : futures) {
      PublishAck a = f.get(10, TimeUnit.SECONDS);
      assertEquals("PUB_ASYNC", a.getStream());
      assertFalse(seen[(int) a.getSeqno()], "sequence " + a.getSeqno() + " acked twice");
      seen[(int) a.getSeqno()] = true;
    }
    for (int s = 1; s <= 1000; s++) {
      assertTrue(seen[s], "sequence " + s + " missing");
    }
    assertEquals(1000, jsm.getStreamInfo("PUB_ASYNC").getStreamState().getLastSequence());
    // The stream holds them in publish order.
    assertEquals("m999", new String(jsm.getMessage("PUB_ASYNC", 1000).getData()));
  }
}
