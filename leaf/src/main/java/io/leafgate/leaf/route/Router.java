package io.leafgate.leaf.route;

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
    inMsgs.increment();
    inBytes.add(msg.size());
    int delivered = 0;
    Subscription[] psubs = result.psubs;
    for (Subscription sub : psubs) {
      if (sub.subscriber == noEcho || (origin == Origin.HUB && sub.subscriber.origin() == Origin.HUB)) {
        continue;
      }
      if (deliver(sub, msg, batch)) {
        delivered++;
      }
    }
    Subscription[][] qsubs = result.qsubs;
    for (Subscription[] group : qsubs) {
      if (deliverToOne(group, msg, noEcho, origin, batch)) {
        delivered++;
      }
    }
    if (delivered > 0) {
      outMsgs.add(delivered);
      outBytes.add((long) delivered * msg.size());
    }
    return delivered;
  }

  /** Publishes without a cached match. */
  public int publish(Msg msg, Subscriber noEcho, Origin origin, FlushBatch batch) {
    return publish(sublist.match(msg.subject()), msg, noEcho, origin, batch);
  }

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
   * Picks a random member of the group, preferring local members over the hub link, and skipping
   * the publisher when it asked for no echo.
   */
  private boolean deliverToOne(Subscription[] group, Msg msg, Subscriber noEcho, Origin origin, FlushBatch batch) {
    int n = group.length;
    int start = n == 1 ? 0 : ThreadLocalRandom.current().nextInt(n);
    Subscription remote = null;
    for (int i = 0; i < n; i++) {
      Subscription sub = group[(start + i) % n];
      if (sub.subscriber == noEcho) {
        continue;
      }
      if (sub.subscriber.origin() == Origin.HUB) {
        if (origin != Origin.HUB && remote == null) {
          remote = sub;
        }
        continue;
      }
      if (deliver(sub, msg, batch)) {
        return true;
      }
    }
    return remote != null && deliver(remote, msg, batch);
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
