package io.leafgate.it.jetstream;

import static io.leafgate.it.jetstream.Clients.bytes;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.nats.client.Connection;
import io.nats.client.JetStream;
import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamManagement;
import io.nats.client.api.AccountStatistics;
import io.nats.client.api.DiscardPolicy;
import io.nats.client.api.MessageInfo;
import io.nats.client.PurgeOptions;
import io.nats.client.api.PurgeResponse;
import io.nats.client.api.RetentionPolicy;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import io.nats.client.api.StreamInfo;
import io.nats.client.api.StreamState;
import io.nats.client.impl.Headers;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** §14 A: stream management with jnats against leafgate's local JetStream. */
class JsManagementTest {
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

  private static StreamInfo add(String name, String... subjects) throws Exception {
    return jsm.addStream(StreamConfiguration.builder().name(name).subjects(subjects).build());
  }

  private static int apiError(JetStreamApiException e) {
    return e.getApiErrorCode();
  }

  @Test
  void accountInfoAnswers() throws Exception {
    add("MGMT_ACC", "acc.>");
    AccountStatistics a = jsm.getAccountStatistics();
    assertTrue(a.getStreams() >= 1, "streams " + a.getStreams());
    assertEquals(-1, a.getLimits().getMaxStreams());
    assertNotNull(a.getApi());
    assertTrue(a.getApi().getTotalApiRequests() > 0);
  }

  @Test
  void addIsIdempotentAndDifferentConfigIs10058() throws Exception {
    StreamInfo si = add("MGMT_ADD", "add.>");
    StreamConfiguration c = si.getConfiguration();
    assertEquals("MGMT_ADD", c.getName());
    assertEquals(List.of("add.>"), c.getSubjects());
    assertEquals(-1, c.getMaxMsgs());
    assertEquals(-1, c.getMaxBytes());
    assertEquals(-1, c.getMaximumMessageSize());
    assertEquals(-1, c.getMaxMsgsPerSubject());
    assertEquals(-1, c.getMaxConsumers());
    assertEquals(Duration.ZERO, c.getMaxAge());
    assertEquals(Duration.ofMinutes(2), c.getDuplicateWindow());
    assertEquals(StorageType.File, c.getStorageType());
    assertEquals(RetentionPolicy.Limits, c.getRetentionPolicy());
    assertEquals(DiscardPolicy.Old, c.getDiscardPolicy());
    assertEquals(1, c.getReplicas());
    assertEquals(0, si.getStreamState().getMsgCount());
    assertEquals(0, si.getStreamState().getFirstSequence()); // nothing stored yet: 0, as nats-server
    assertEquals(0, si.getStreamState().getLastSequence());
    assertNotNull(si.getCreateTime());

    StreamInfo again = add("MGMT_ADD", "add.>");
    assertEquals(si.getCreateTime(), again.getCreateTime());

    JetStreamApiException e = assertThrows(JetStreamApiException.class, () -> add("MGMT_ADD", "other.>"));
    assertEquals(10058, apiError(e));
    assertEquals(400, e.getErrorCode());

    JetStreamApiException overlap = assertThrows(JetStreamApiException.class, () -> add("MGMT_ADD2", "add.x"));
    assertEquals(10065, apiError(overlap));
  }

  @Test
  void updateAddsSubjectAndMissingStreamIs10059() throws Exception {
    add("MGMT_UPD", "upd.a");
    StreamInfo si = jsm.updateStream(StreamConfiguration.builder().name("MGMT_UPD").subjects("upd.a", "upd.b")
        .maxMessages(100).build());
    assertEquals(List.of("upd.a", "upd.b"), si.getConfiguration().getSubjects());
    assertEquals(100, si.getConfiguration().getMaxMsgs());
    assertEquals(2, js.publish("upd.b", bytes("x")).getSeqno() + 1);

    JetStreamApiException e = assertThrows(JetStreamApiException.class,
        () -> jsm.updateStream(StreamConfiguration.builder().name("MGMT_NOPE").subjects("nope.x").build()));
    assertEquals(10059, apiError(e));
    JetStreamApiException info = assertThrows(JetStreamApiException.class, () -> jsm.getStreamInfo("MGMT_NOPE"));
    assertEquals(10059, apiError(info));
    assertEquals(404, info.getErrorCode());

    JetStreamApiException storage = assertThrows(JetStreamApiException.class,
        () -> jsm.updateStream(StreamConfiguration.builder().name("MGMT_UPD").subjects("upd.a")
            .storageType(StorageType.Memory).build()));
    assertEquals(10052, apiError(storage));
  }

  @Test
  void namesAndListPageBeyondOnePage() throws Exception {
    for (int i = 0; i < 300; i++) {
      add(String.format("PG_%03d", i), String.format("pg.%03d", i));
    }
    List<String> names = jsm.getStreamNames();
    Set<String> pg = new HashSet<>();
    for (String n : names) {
      if (n.startsWith("PG_")) {
        pg.add(n);
      }
    }
    assertEquals(300, pg.size());
    assertEquals(List.of("PG_123"), jsm.getStreamNames("pg.123"));
    assertEquals(300, jsm.getStreamNames("pg.*").size());
    List<StreamInfo> infos = jsm.getStreams();
    Set<String> listed = new HashSet<>();
    for (StreamInfo si : infos) {
      listed.add(si.getConfiguration().getName());
    }
    assertEquals(infos.size(), listed.size(), "a stream was listed twice");
    assertTrue(listed.containsAll(pg), "LIST did not page through all 300 streams");
    assertEquals(300, jsm.getStreams("pg.>").size());
    assertEquals(1, jsm.getStreams("pg.007").size());
  }

  @Test
  void infoShowsState() throws Exception {
    add("MGMT_STATE", "st.>");
    for (int i = 0; i < 10; i++) {
      js.publish("st." + (i % 3), bytes("m" + i));
    }
    StreamState st = jsm.getStreamInfo("MGMT_STATE").getStreamState();
    assertEquals(10, st.getMsgCount());
    assertEquals(1, st.getFirstSequence());
    assertEquals(10, st.getLastSequence());
    assertEquals(3, st.getSubjectCount());
    assertTrue(st.getByteCount() > 0);
    assertNotNull(st.getFirstTime());
    assertNotNull(st.getLastTime());
  }

  @Test
  void purgeByFilterKeepSeqAndFull() throws Exception {
    add("MGMT_PURGE", "pu.>");
    for (int i = 1; i <= 10; i++) {
      js.publish(i % 2 == 0 ? "pu.a" : "pu.b", bytes("m" + i)); // a: 2,4,6,8,10 b: 1,3,5,7,9
    }
    PurgeResponse r = jsm.purgeStream("MGMT_PURGE", PurgeOptions.subject("pu.a"));
    assertTrue(r.isSuccess());
    assertEquals(5, r.getPurged());
    assertEquals(5, jsm.getStreamInfo("MGMT_PURGE").getStreamState().getMsgCount());

    r = jsm.purgeStream("MGMT_PURGE", PurgeOptions.builder().subject("pu.b").keep(2).build());
    assertEquals(3, r.getPurged());
    StreamState st = jsm.getStreamInfo("MGMT_PURGE").getStreamState();
    assertEquals(2, st.getMsgCount());
    assertEquals(7, st.getFirstSequence());

    for (int i = 0; i < 4; i++) {
      js.publish("pu.c", bytes("c")); // 11..14
    }
    r = jsm.purgeStream("MGMT_PURGE", PurgeOptions.builder().sequence(12).build());
    assertEquals(3, r.getPurged()); // 7, 9, 11
    st = jsm.getStreamInfo("MGMT_PURGE").getStreamState();
    assertEquals(3, st.getMsgCount());
    assertEquals(12, st.getFirstSequence());

    r = jsm.purgeStream("MGMT_PURGE");
    assertEquals(3, r.getPurged());
    st = jsm.getStreamInfo("MGMT_PURGE").getStreamState();
    assertEquals(0, st.getMsgCount());
    assertEquals(14, st.getLastSequence());
    assertEquals(15, st.getFirstSequence());
    assertEquals(15, js.publish("pu.a", bytes("after")).getSeqno());
  }

  @Test
  void getMessagesWithMsgGet() throws Exception {
    checkGets("MGMT_GET_MSG", "gm", false);
  }

  @Test
  void getMessagesWithDirectGet() throws Exception {
    checkGets("MGMT_GET_DIRECT", "gd", true);
  }

  private static void checkGets(String stream, String p, boolean direct) throws Exception {
    StreamInfo si = jsm.addStream(StreamConfiguration.builder().name(stream).subjects(p + ".>")
        .allowDirect(direct).build());
    assertEquals(direct, si.getConfiguration().getAllowDirect());
    for (int i = 1; i <= 6; i++) {
      Headers h = new Headers().add("X-Seq", "h" + i).add("X-Multi", "a", "b");
      js.publish(io.nats.client.impl.NatsMessage.builder().subject(i % 2 == 0 ? p + ".b" : p + ".a")
          .headers(h).data(bytes("m" + i)).build());
    }
    MessageInfo m3 = jsm.getMessage(stream, 3);
    assertEquals(3, m3.getSeq());
    assertEquals(p + ".a", m3.getSubject());
    assertArrayEquals(bytes("m3"), m3.getData());
    assertEquals("h3", m3.getHeaders().getFirst("X-Seq"));
    assertEquals(List.of("a", "b"), m3.getHeaders().get("X-Multi"));
    assertNotNull(m3.getTime());
    assertEquals(stream, m3.getStream());

    MessageInfo last = jsm.getLastMessage(stream, p + ".b");
    assertEquals(6, last.getSeq());
    assertArrayEquals(bytes("m6"), last.getData());
    MessageInfo first = jsm.getFirstMessage(stream, p + ".b");
    assertEquals(2, first.getSeq());
    MessageInfo next = jsm.getNextMessage(stream, 5, p + ".b");
    assertEquals(6, next.getSeq());
    MessageInfo wild = jsm.getLastMessage(stream, p + ".*");
    assertEquals(6, wild.getSeq());

    JetStreamApiException missing = assertThrows(JetStreamApiException.class, () -> jsm.getMessage(stream, 99));
    assertEquals(10037, apiError(missing));
    JetStreamApiException none = assertThrows(JetStreamApiException.class,
        () -> jsm.getLastMessage(stream, p + ".zzz"));
    assertEquals(10037, apiError(none));
  }

  @Test
  void messageWithoutHeadersRoundTrips() throws Exception {
    jsm.addStream(StreamConfiguration.builder().name("MGMT_NOHDR").subjects("nh.>").allowDirect(true).build());
    js.publish("nh.x", bytes("plain"));
    js.publish("nh.x", new byte[0]);
    MessageInfo m = jsm.getMessage("MGMT_NOHDR", 1);
    assertArrayEquals(bytes("plain"), m.getData());
    assertTrue(m.getHeaders() == null || m.getHeaders().isEmpty(), "unexpected headers " + m.getHeaders());
    MessageInfo empty = jsm.getLastMessage("MGMT_NOHDR", "nh.x");
    assertEquals(2, empty.getSeq());
    assertTrue(empty.getData() == null || empty.getData().length == 0);
  }

  @Test
  void deleteMessagesAndDenyDelete() throws Exception {
    add("MGMT_DEL", "del.>");
    for (int i = 0; i < 6; i++) {
      js.publish("del.x", bytes("m" + i));
    }
    assertTrue(jsm.deleteMessage("MGMT_DEL", 4));
    assertTrue(jsm.deleteMessage("MGMT_DEL", 5, false));
    StreamState st = jsm.getStreamInfo("MGMT_DEL").getStreamState();
    assertEquals(4, st.getMsgCount());
    assertEquals(2, st.getDeletedCount());
    JetStreamApiException again = assertThrows(JetStreamApiException.class, () -> jsm.deleteMessage("MGMT_DEL", 4));
    assertEquals(10043, apiError(again));
    JetStreamApiException gone = assertThrows(JetStreamApiException.class, () -> jsm.getMessage("MGMT_DEL", 4));
    assertEquals(10037, apiError(gone));

    jsm.addStream(StreamConfiguration.builder().name("MGMT_DENY").subjects("deny.>").denyDelete(true).build());
    js.publish("deny.x", bytes("keep"));
    JetStreamApiException denied = assertThrows(JetStreamApiException.class,
        () -> jsm.deleteMessage("MGMT_DENY", 1));
    assertEquals(10057, apiError(denied));
    assertEquals(1, jsm.getStreamInfo("MGMT_DENY").getStreamState().getMsgCount());
  }

  @Test
  void deleteStream() throws Exception {
    add("MGMT_GONE", "gone.>");
    js.publish("gone.x", bytes("x"));
    assertTrue(jsm.deleteStream("MGMT_GONE"));
    JetStreamApiException e = assertThrows(JetStreamApiException.class, () -> jsm.deleteStream("MGMT_GONE"));
    assertEquals(10059, apiError(e));
    assertFalse(jsm.getStreamNames().contains("MGMT_GONE"));
    java.io.IOException noStream = assertThrows(java.io.IOException.class, () -> js.publish("gone.x", bytes("x")));
    assertTrue(noStream.getMessage().contains("503"), noStream.getMessage());
  }
}
