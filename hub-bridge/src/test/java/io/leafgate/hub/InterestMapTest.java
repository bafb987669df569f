package io.leafgate.hub;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.leafgate.leaf.route.Origin;
import io.leafgate.leaf.route.Subscriber;
import io.leafgate.leaf.route.Subscription;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class InterestMapTest {
  private static final Subscriber LOCAL = (s, m, b) -> {};
  private static final Subscriber HUB = new Subscriber() {
    @Override
    public void deliver(Subscription sub, io.leafgate.leaf.route.Msg msg, io.leafgate.leaf.route.FlushBatch batch) {}

    @Override
    public Origin origin() {
      return Origin.HUB;
    }
  };

  @Test
  void refCountsSubjectsWeighsQueuesAndNeverEchoesHubInterest() {
    InterestMap m = new InterestMap(List.of(">"), List.of(), List.of("telemetry.>"));
    List<String> lines = new ArrayList<>();
    m.setSink(c -> lines.add(c.line().trim()));
    Subscription a = new Subscription(LOCAL, "foo", null, "1");
    Subscription b = new Subscription(LOCAL, "foo", null, "2");
    Subscription q1 = new Subscription(LOCAL, "work", "w", "3");
    Subscription q2 = new Subscription(LOCAL, "work", "w", "4");
    m.onSubscribe(a);
    m.onSubscribe(b);
    m.onSubscribe(q1);
    m.onSubscribe(q2);
    m.onSubscribe(new Subscription(HUB, "from.hub", null, "5"));
    m.onSubscribe(new Subscription(LOCAL, "$JS.API.>", null, "6"));
    m.onSubscribe(new Subscription(LOCAL, "telemetry.x", null, "7"));
    m.onUnsubscribe(a);
    m.onUnsubscribe(b);
    m.onUnsubscribe(q1);
    assertEquals(List.of("LS+ foo", "LS+ work w 1", "LS+ work w 2", "LS- foo", "LS+ work w 1"), lines);
    assertEquals(1, m.snapshot().size());
  }

  @Test
  void aBroadLocalSubscriptionIsAdvertisedAsTheImportsItCovers() {
    InterestMap m = new InterestMap(List.of("cmd.>", "_INBOX.>"), List.of("cmd.secret.>"), List.of());
    assertEquals(List.of("cmd.>", "_INBOX.>"), m.advertised(">"));
    assertEquals(List.of("cmd.a"), m.advertised("cmd.a"));
    assertEquals(List.of(), m.advertised("other.x"));
    assertEquals(List.of(), m.advertised("cmd.secret.x"));
    assertEquals(List.of("$JS.site.API.>"), m.advertised("$JS.site.API.>"));
  }
}
