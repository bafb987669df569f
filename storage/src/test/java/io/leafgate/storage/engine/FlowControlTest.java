package io.leafgate.storage.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The flow control window on its own: nats-server's thresholds, answers, and our cap. */
class FlowControlTest {
  private static final long KB = 1024;

  @Test
  void requestPastHalfTheWindowStallPastAllOfItAnswerReleasesAndDoubles() {
    FlowControl fc = new FlowControl("S", "C", FlowControl.LIMIT);
    long sent = 0;
    while (!fc.onDelivered(KB)) {
      sent += KB;
      assertTrue(sent <= FlowControl.START / 2, "no request by half the window");
    }
    assertEquals(FlowControl.START / 2 + KB, fc.outstanding(), "the request follows the message that passed half");
    String reply = fc.request();
    assertTrue(reply.matches("\\$JS\\.FC\\.S\\.C\\.[0-9A-Za-z]{4}"), reply);
    assertEquals(reply, fc.pendingReply());
    while (!fc.stalled()) {
      assertFalse(fc.onDelivered(KB), "one request at a time");
    }
    assertEquals(FlowControl.START + KB, fc.outstanding(), "stalled once past the window");

    assertFalse(fc.onAnswer(reply + "x"), "another reply subject releases nothing");
    assertTrue(fc.onAnswer(reply));
    assertNull(fc.pendingReply());
    assertFalse(fc.stalled());
    assertEquals(2 * FlowControl.START, fc.window());
    assertEquals(FlowControl.START / 2, fc.outstanding(), "what was sent after the request stays counted");
    assertFalse(fc.onAnswer(reply), "an answer counts once");
  }

  @Test
  void eachRequestHasItsOwnReplyAndOnlyTheLatestCounts() {
    FlowControl fc = new FlowControl("S", "C", FlowControl.LIMIT);
    fc.onDelivered(FlowControl.START);
    String first = fc.request();
    assertTrue(fc.onAnswer(first));
    fc.onDelivered(FlowControl.START * 2);
    String second = fc.request();
    assertNotEquals(first, second);
    assertFalse(fc.onAnswer(first), "a late answer to an old request");
    assertTrue(fc.onAnswer(second));
  }

  @Test
  void theWindowGrowsToTheLimitAndTheLimitFollowsMaxPending() {
    assertEquals(FlowControl.LIMIT, FlowControl.limitFor(64L << 20), "nats-server's 64 MB max_pending");
    assertEquals(4L << 20, FlowControl.limitFor(8L << 20), "leafgate's default 8 MiB max_pending");
    assertEquals(FlowControl.START, FlowControl.limitFor(1L << 20), "never below the first window");
    FlowControl fc = new FlowControl("S", "C", 4L << 20);
    for (int i = 0; i < 5; i++) {
      fc.onDelivered(fc.window());
      assertTrue(fc.onAnswer(fc.request()));
    }
    assertEquals(4L << 20, fc.window());
  }
}
