package io.leafgate.mqtt.session;

import io.leafgate.leaf.route.FlushBatch;
import io.leafgate.leaf.route.Msg;
import io.leafgate.leaf.route.Origin;
import io.leafgate.leaf.route.Subscriber;
import io.leafgate.leaf.route.Subscription;
import io.leafgate.mqtt.store.SessionRecord;
import java.util.List;

/**
 * One MQTT subscription of a session and the router subscriptions it needs (two for a filter ending
 * in {@code /#}). It is the {@link Subscriber} of those subscriptions, so a delivery knows its
 * options without a lookup. Immutable.
 */
final class SessionSub implements Subscriber {
  final Session session;
  final SessionRecord.Sub spec;
  /** The share group of a {@code $share/<group>/...} subscription, or null. */
  final String group;
  /** The filter starts with a wildcard: subjects starting with {@code $} do not match (MQTT 4.7.2). */
  final boolean dollarGuard;
  final List<String> subjects;
  List<Subscription> subscriptions = List.of();

  SessionSub(Session session, SessionRecord.Sub spec, String group, String mqttFilter, List<String> subjects) {
    this.session = session;
    this.spec = spec;
    this.group = group;
    this.dollarGuard = mqttFilter.startsWith("+") || mqttFilter.startsWith("#");
    this.subjects = subjects;
  }

  @Override
  public void deliver(Subscription sub, Msg msg, FlushBatch batch) {
    session.deliver(this, msg, batch);
  }

  @Override
  public Origin origin() {
    return Origin.MQTT;
  }
}
