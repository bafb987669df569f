package io.leafgate.leaf.route;

/**
 * The subscriptions that match one subject: plain ones, and for each queue group its members. Arrays
 * rather than collections because they iterate fastest; immutable once built.
 */
public final class SublistResult {
  public static final SublistResult EMPTY = new SublistResult(new Subscription[0], new Subscription[0][]);

  public final Subscription[] psubs;
  public final Subscription[][] qsubs;

  SublistResult(Subscription[] psubs, Subscription[][] qsubs) {
    this.psubs = psubs;
    this.qsubs = qsubs;
  }

  public boolean isEmpty() {
    return psubs.length == 0 && qsubs.length == 0;
  }

  /** Number of subscriptions in the result, counting every queue member. */
  public int size() {
    int n = psubs.length;
    for (Subscription[] q : qsubs) {
      n += q.length;
    }
    return n;
  }
}
