package io.leafgate.leaf.route;

import java.util.List;

/**
 * A subscriber that wants all of one message's deliveries at once: the hub link sends a message once,
 * naming every hub queue group it is for, however many of its subscriptions matched (a second,
 * plain copy would reach the hub's plain subscribers twice).
 */
public interface GroupedSubscriber extends Subscriber {
  /**
   * Called once per message instead of {@link #deliver}. {@code plain} is whether a plain (non-queue)
   * subscription matched; {@code queues} names the queue groups this subscriber was picked for.
   */
  void deliverGrouped(Msg msg, boolean plain, List<String> queues, FlushBatch batch);

  @Override
  default void deliver(Subscription sub, Msg msg, FlushBatch batch) {
    deliverGrouped(msg, sub.queue == null, sub.queue == null ? List.of() : List.of(sub.queue), batch);
  }
}
