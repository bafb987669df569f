package io.leafgate.leaf.route;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.LongAdder;

/**
 * Routes published messages to the subscriptions that match them: every plain subscriber, and one
 * member of each queue group. Stateless apart from the {@link Sublist} and counters; safe to call
 * from any thread.
 */
public final class Router {
  private final Sublist sublist = new Sublist();
  private final LongAdder inMsgs = new LongAdder();
  private final LongAdder inBytes = new LongAdder();
  private final LongAdder outMsgs = new LongAdder();
  private final LongAdder outBytes = new LongAdder();
  private final java.util.concurrent.CopyOnWriteArrayList<InterestListener> listeners =
      new java.util.concurrent.CopyOnWriteArrayList<>();

  public Sublist sublist() {
    return sublist;
  }

  /**
   * Adds a listener told about every subscription change (the hub link's interest map, JetStream's
   * push consumers). Listeners are called on the thread that made the change and must be quick.
   */
  public void addInterestListener(InterestListener listener) {
    listeners.add(listener);
  }

  public void removeInterestListener(InterestListener listener) {
    listeners.remove(listener);
  }

  /** Adds a subscription and tells the interest listeners. */
  public void subscribe(Subscription sub) {
    sublist.insert(sub);
    for (InterestListener l : listeners) {
      l.onSubscribe(sub);
    }
  }

  /** Removes a subscription; returns whether it was present. */
  public boolean unsubscribe(Subscription sub) {
    boolean removed = sublist.remove(sub);
    if (removed) {
      for (InterestListener l : listeners) {
        l.onUnsubscribe(sub);
      }
    }
    return removed;
  }

  /** Removes a connection's subscriptions at once. */
  public void unsubscribeAll(Iterable<Subscription> subs) {
    sublist.removeAll(subs);
    for (InterestListener l : listeners) {
      for (Subscription s : subs) {
        l.onUnsubscribe(s);
      }
    }
  }

  /**
   * Publishes {@code msg} with {@code result} (the publisher's cached match for the subject).
   * {@code publisher} is the subscriber to skip when it asked for no echo, or null.
   *
   * @return the number of deliveries
   */
  public int publish(SublistResult result, Msg msg, Subscriber noEcho, Origin origin, FlushBatch batch) {
    return route(result, msg, noEcho, origin, null, batch);
  }

  /** Publishes without a cached match. */
  public int publish(Msg msg, Subscriber noEcho, Origin origin, FlushBatch batch) {
    return route(sublist.match(msg.subject()), msg, noEcho, origin, null, batch);
  }

  /**
   * Routes a message that came from the hub: to every local plain subscriber, and to one local
   * member of each queue group named in {@code queues} only (a hub message without a queue list
   * must not reach local queue members).
   */
  public int publishFromHub(Msg msg, List<String> queues, FlushBatch batch) {
    return route(sublist.match(msg.subject()), msg, null, Origin.HUB, queues, batch);
  }

  /**
   * Like {@link #publishFromHub(Msg, List, FlushBatch)}, matched on {@code routeSubject} while the
   * frames carry {@code msg.subject()} (a hub JetStream delivery to a deliver subject).
   */
  public int publishFromHub(String routeSubject, Msg msg, List<String> queues, FlushBatch batch) {
    return route(sublist.match(routeSubject), msg, null, Origin.HUB, queues, batch);
  }

  private int route(SublistResult result, Msg msg, Subscriber noEcho, Origin origin, List<String> queueFilter,
      FlushBatch batch) {
    inMsgs.increment();
    inBytes.add(msg.size());
    int delivered = 0;
    GroupedSubscriber grouped = null;
    boolean groupedPlain = false;
    List<String> groupedQueues = null;
    boolean fromHub = origin == Origin.HUB;
    for (Subscription sub : result.psubs) {
      Subscriber s = sub.subscriber;
      if (s == noEcho || (fromHub && s.origin() == Origin.HUB)) {
        continue;
      }
      if (s instanceof GroupedSubscriber g) {
        grouped = g;
        groupedPlain = true;
        continue;
      }
      if (deliver(sub, msg, batch)) {
        delivered++;
      }
    }
    for (Subscription[] group : result.qsubs) {
      if (queueFilter != null && !queueFilter.contains(group[0].queue)) {
        continue;
      }
      Subscription remote = pickAndDeliver(group, msg, noEcho, fromHub, batch);
      if (remote == DELIVERED) {
        delivered++;
      } else if (remote != null) {
        if (remote.subscriber instanceof GroupedSubscriber g) {
          grouped = g;
          if (groupedQueues == null) {
            groupedQueues = new ArrayList<>(2);
          }
          groupedQueues.add(remote.queue);
        } else if (deliver(remote, msg, batch)) {
          delivered++;
        }
      }
    }
    if (grouped != null) {
      grouped.deliverGrouped(msg, groupedPlain, groupedQueues == null ? List.of() : groupedQueues, batch);
      delivered++;
    }
    if (delivered > 0) {
      outMsgs.add(delivered);
      outBytes.add((long) delivered * msg.size());
    }
    return delivered;
  }

  /** Marker returned by {@link #pickAndDeliver} when a local member took the message. */
  private static final Subscription DELIVERED = new Subscription((a, b, c) -> {}, "_", null, "_");

  private boolean deliver(Subscription sub, Msg msg, FlushBatch batch) {
    switch (sub.claim()) {
      case DELIVER:
        sub.subscriber.deliver(sub, msg, batch);
        return true;
      case LAST:
        sub.subscriber.deliver(sub, msg, batch);
        if (unsubscribe(sub)) {
          sub.subscriber.onAutoUnsubscribed(sub);
        }
        return true;
      default:
        return false;
    }
  }

  /**
   * Delivers to a random local member of the group, skipping the publisher when it asked for no
   * echo. Returns {@link #DELIVERED}, or the hub member to use when no local member could take it
   * (local members first, as nats-server does), or null.
   */
  private Subscription pickAndDeliver(Subscription[] group, Msg msg, Subscriber noEcho, boolean fromHub, FlushBatch batch) {
    int n = group.length;
    int start = n == 1 ? 0 : ThreadLocalRandom.current().nextInt(n);
    Subscription remote = null;
    for (int i = 0; i < n; i++) {
      Subscription sub = group[(start + i) % n];
      if (sub.subscriber == noEcho) {
        continue;
      }
      if (sub.subscriber.origin() == Origin.HUB) {
        if (!fromHub && remote == null) {
          remote = sub;
        }
        continue;
      }
      if (deliver(sub, msg, batch)) {
        return DELIVERED;
      }
    }
    return remote;
  }

  public long inMsgs() {
    return inMsgs.sum();
  }

  public long inBytes() {
    return inBytes.sum();
  }

  public long outMsgs() {
    return outMsgs.sum();
  }

  public long outBytes() {
    return outBytes.sum();
  }
}
