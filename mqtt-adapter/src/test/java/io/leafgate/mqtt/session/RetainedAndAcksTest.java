package io.leafgate.mqtt.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leafgate.mqtt.message.AppMessage;
import io.leafgate.mqtt.message.Props;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The retained-message index and its bounds; reading JetStream PubAcks as PUBACK reason codes. */
class RetainedAndAcksTest {
  static AppMessage msg(String subject, String payload, long expiresAt) {
    return new AppMessage(subject, payload.getBytes(StandardCharsets.UTF_8), 1, true, Props.NONE, expiresAt);
  }

  @Test
  void retainedIndexMatchesFiltersAndKeepsTheDollarRule() {
    RetainedIndex r = new RetainedIndex();
    assertTrue(r.put(msg("a.b", "1", 0)));
    assertTrue(r.put(msg("a", "2", 0)));
    assertTrue(r.put(msg("$SYS.x", "3", 0)));
    assertTrue(r.put(msg("a.c", "old", 10)));
    assertEquals(2, r.match(List.of("a", "a.>"), false, 5).size() - 1);
    assertEquals(List.of("$SYS.x"), r.match(List.of("$SYS.>"), false, 0).stream().map(AppMessage::subject).toList());
    assertTrue(r.match(List.of(">"), true, 20).stream().noneMatch(m -> m.subject().startsWith("$")));
    assertEquals(List.of("a.c"), r.expire(20));
    assertEquals(3, r.size());
    assertTrue(r.remove("a"));
    assertFalse(r.remove("a"));
  }

  @Test
  void retainedIndexRefusesNewSubjectsPastItsBounds() {
    RetainedIndex r = new RetainedIndex(2, 10_000);
    assertTrue(r.put(msg("a", "1", 0)));
    assertTrue(r.put(msg("b", "1", 0)));
    assertFalse(r.put(msg("c", "1", 0)), "count bound");
    assertTrue(r.put(msg("a", "replaced", 0)), "replacing is not growing");
    RetainedIndex small = new RetainedIndex(100, 200);
    assertFalse(small.put(msg("big", "x".repeat(300), 0)), "byte bound");
    assertEquals(0, small.bytes());
  }

  @Test
  void pubAckReasonCodes() {
    assertEquals(0, ReplyInbox.pubAckReason("{\"stream\":\"S\",\"seq\":3}".getBytes(StandardCharsets.UTF_8)));
    assertEquals(0x97, ReplyInbox.pubAckReason(("{\"error\":{\"code\":503,\"err_code\":10077,"
        + "\"description\":\"maximum messages exceeded\"},\"stream\":\"S\",\"seq\":0}").getBytes(StandardCharsets.UTF_8)));
    assertEquals(0x80, ReplyInbox.pubAckReason(("{\"error\":{\"code\":400,\"err_code\":10060,"
        + "\"description\":\"expected stream does not match\"}}").getBytes(StandardCharsets.UTF_8)));
    assertNull(ReplyInbox.pubAckReason("pong".getBytes(StandardCharsets.UTF_8)), "a responder's answer");
    assertNull(ReplyInbox.pubAckReason("{\"other\":1}".getBytes(StandardCharsets.UTF_8)));
  }
}
