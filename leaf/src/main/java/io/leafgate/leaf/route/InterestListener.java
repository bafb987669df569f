package io.leafgate.leaf.route;

/** Told of every subscription added to or removed from the router (e.g. the hub link). */
public interface InterestListener {
  InterestListener NONE = new InterestListener() {
    @Override
    public void onSubscribe(Subscription sub) {}

    @Override
    public void onUnsubscribe(Subscription sub) {}
  };

  void onSubscribe(Subscription sub);

  void onUnsubscribe(Subscription sub);
}
