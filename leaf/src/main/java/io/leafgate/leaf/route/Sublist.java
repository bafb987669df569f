package io.leafgate.leaf.route;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * The subscription trie: one level per subject token, with separate children for {@code *} and
 * {@code >}. Matches are cached per subject (the shared L2 cache, bounded); every change bumps a
 * generation number so that per-connection L1 caches can check their validity without a lock.
 *
 * <p>Thread safety: inserts and removals take the write lock; a match takes no lock on a cache hit
 * and the read lock otherwise, and fills the cache while holding it, so that a concurrent change
 * can never leave a stale entry behind.
 */
public final class Sublist {
  /** Past this many cached subjects the cache is swept down to {@link #CACHE_SWEEP_TO}. */
  static final int CACHE_MAX = 1024;

  static final int CACHE_SWEEP_TO = 768;

  private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
  private final Level root = new Level();
  private final ConcurrentHashMap<String, SublistResult> cache = new ConcurrentHashMap<>();
  private final AtomicLong genId = new AtomicLong();
  private final LongAdder matches = new LongAdder();
  private final LongAdder cacheHits = new LongAdder();
  private long inserts;
  private long removes;
  private int count;

  /** The generation: changes whenever a subscription is added or removed. */
  public long genId() {
    return genId.get();
  }

  /** Adds a subscription. Its filter must be valid. */
  public void insert(Subscription sub) {
    lock.writeLock().lock();
    try {
      Level level = root;
      Node node = null;
      String s = sub.subject;
      int start = 0;
      int n = s.length();
      while (start <= n) {
        int end = s.indexOf('.', start);
        if (end < 0) {
          end = n;
        }
        String token = s.substring(start, end);
        node = level.child(token, true);
        start = end + 1;
        if (start <= n) {
          if (node.next == null) {
            node.next = new Level();
          }
          level = node.next;
        }
      }
      node.add(sub);
      count++;
      inserts++;
      // Invalidate before the generation moves: a reader that sees the new generation must not
      // then find a stale cached result (and keep it in its L1 cache under the new generation).
      invalidate(sub.subject);
      genId.incrementAndGet();
    } finally {
      lock.writeLock().unlock();
    }
  }

  /** Removes a subscription; returns whether it was present. */
  public boolean remove(Subscription sub) {
    lock.writeLock().lock();
    try {
      boolean removed = removeLocked(root, sub.subject, 0, sub);
      if (removed) {
        count--;
        removes++;
        invalidate(sub.subject);
        genId.incrementAndGet();
      }
      return removed;
    } finally {
      lock.writeLock().unlock();
    }
  }

  /** Removes several subscriptions under one lock (a closing connection). */
  public void removeAll(Iterable<Subscription> subs) {
    lock.writeLock().lock();
    try {
      boolean any = false;
      for (Subscription sub : subs) {
        if (removeLocked(root, sub.subject, 0, sub)) {
          count--;
          removes++;
          any = true;
          invalidate(sub.subject);
        }
      }
      if (any) {
        genId.incrementAndGet();
      }
    } finally {
      lock.writeLock().unlock();
    }
  }

  private boolean removeLocked(Level level, String s, int start, Subscription sub) {
    int end = s.indexOf('.', start);
    boolean last = end < 0;
    if (last) {
      end = s.length();
    }
    String token = s.substring(start, end);
    Node node = level.child(token, false);
    if (node == null) {
      return false;
    }
    boolean removed;
    if (last) {
      removed = node.remove(sub);
    } else {
      removed = node.next != null && removeLocked(node.next, s, end + 1, sub);
      if (removed && node.next.isEmpty()) {
        node.next = null;
      }
    }
    if (removed && node.isEmpty()) {
      level.prune(token, node);
    }
    return removed;
  }

  /** Drops cached results that the changed filter could affect. Caller holds the write lock. */
  private void invalidate(String filter) {
    if (cache.isEmpty()) {
      return;
    }
    if (!io.leafgate.leaf.subject.Subjects.hasWildcard(filter)) {
      cache.remove(filter);
      return;
    }
    for (Iterator<String> it = cache.keySet().iterator(); it.hasNext(); ) {
      if (io.leafgate.leaf.subject.Subjects.matches(filter, it.next())) {
        it.remove();
      }
    }
  }

  /** The subscriptions matching a literal subject. */
  public SublistResult match(String subject) {
    return match(subject, true);
  }

  /**
   * Like {@link #match}, for a subject that is used once (a reply inbox of one request, such as a
   * JetStream publish ack): a cached result is used, but a new one is not added, so a stream of
   * unique subjects neither pays for cache inserts and sweeps nor evicts the subjects that repeat.
   */
  public SublistResult matchOnce(String subject) {
    return match(subject, false);
  }

  private SublistResult match(String subject, boolean keep) {
    matches.increment();
    SublistResult r = cache.get(subject);
    if (r != null) {
      cacheHits.increment();
      return r;
    }
    lock.readLock().lock();
    try {
      Collector c = new Collector();
      matchLevel(root, subject, 0, c);
      r = c.result();
      if (keep) {
        cache.put(subject, r); // under the read lock: a writer drops the cache before the tree moves
      }
    } finally {
      lock.readLock().unlock();
    }
    if (keep && cache.size() > CACHE_MAX) {
      sweep();
    }
    return r;
  }

  private void sweep() {
    int excess = cache.size() - CACHE_SWEEP_TO;
    for (Iterator<String> it = cache.keySet().iterator(); it.hasNext() && excess > 0; excess--) {
      it.next();
      it.remove();
    }
  }

  private static void matchLevel(Level level, String s, int start, Collector c) {
    while (true) {
      int end = s.indexOf('.', start);
      boolean last = end < 0;
      if (last) {
        end = s.length();
      }
      if (level.fwc != null) {
        c.add(level.fwc);
      }
      if (level.pwc != null) {
        if (last) {
          c.add(level.pwc);
        } else if (level.pwc.next != null) {
          matchLevel(level.pwc.next, s, end + 1, c);
        }
      }
      Node n = level.nodes == null ? null : level.nodes.get(s.substring(start, end));
      if (n == null) {
        return;
      }
      if (last) {
        c.add(n);
        return;
      }
      if (n.next == null) {
        return;
      }
      level = n.next;
      start = end + 1;
    }
  }

  /** Number of subscriptions. */
  public int count() {
    lock.readLock().lock();
    try {
      return count;
    } finally {
      lock.readLock().unlock();
    }
  }

  /** A snapshot of the statistics that {@code /subsz} shows. */
  public Stats stats() {
    lock.readLock().lock();
    try {
      int maxFanout = 0;
      long totalFanout = 0;
      int cached = 0;
      for (SublistResult r : cache.values()) {
        int n = r.size();
        maxFanout = Math.max(maxFanout, n);
        totalFanout += n;
        cached++;
      }
      return new Stats(count, cached, inserts, removes, matches.sum(), cacheHits.sum(), maxFanout,
          cached == 0 ? 0 : (double) totalFanout / cached);
    } finally {
      lock.readLock().unlock();
    }
  }

  /** Every subscription, in no particular order. */
  public List<Subscription> all() {
    List<Subscription> out = new ArrayList<>();
    lock.readLock().lock();
    try {
      collectAll(root, out);
    } finally {
      lock.readLock().unlock();
    }
    return out;
  }

  private static void collectAll(Level level, List<Subscription> out) {
    if (level.nodes != null) {
      for (Node n : level.nodes.values()) {
        collectNode(n, out);
      }
    }
    if (level.pwc != null) {
      collectNode(level.pwc, out);
    }
    if (level.fwc != null) {
      collectNode(level.fwc, out);
    }
  }

  private static void collectNode(Node n, List<Subscription> out) {
    out.addAll(n.psubs);
    if (n.qsubs != null) {
      for (List<Subscription> q : n.qsubs.values()) {
        out.addAll(q);
      }
    }
    if (n.next != null) {
      collectAll(n.next, out);
    }
  }

  /** Counters for monitoring. */
  public record Stats(int numSubscriptions, int numCache, long numInserts, long numRemoves,
      long numMatches, long cacheHits, int maxFanout, double avgFanout) {
    public double cacheHitRate() {
      return numMatches == 0 ? 0 : (double) cacheHits / numMatches;
    }
  }

  private static final class Level {
    Map<String, Node> nodes;
    Node pwc;
    Node fwc;

    Node child(String token, boolean create) {
      if (token.length() == 1) {
        char c = token.charAt(0);
        if (c == '*') {
          if (pwc == null && create) {
            pwc = new Node();
          }
          return pwc;
        }
        if (c == '>') {
          if (fwc == null && create) {
            fwc = new Node();
          }
          return fwc;
        }
      }
      if (nodes == null) {
        if (!create) {
          return null;
        }
        nodes = new HashMap<>(4);
      }
      Node n = nodes.get(token);
      if (n == null && create) {
        n = new Node();
        nodes.put(token, n);
      }
      return n;
    }

    void prune(String token, Node node) {
      if (node == pwc) {
        pwc = null;
      } else if (node == fwc) {
        fwc = null;
      } else if (nodes != null) {
        nodes.remove(token);
      }
    }

    boolean isEmpty() {
      return (nodes == null || nodes.isEmpty()) && pwc == null && fwc == null;
    }
  }

  private static final class Node {
    Level next;
    final ArrayList<Subscription> psubs = new ArrayList<>(1);
    /** Queue name to members, in insertion order so results are stable. */
    LinkedHashMap<String, ArrayList<Subscription>> qsubs;

    void add(Subscription sub) {
      if (sub.queue == null) {
        psubs.add(sub);
        return;
      }
      if (qsubs == null) {
        qsubs = new LinkedHashMap<>(2);
      }
      qsubs.computeIfAbsent(sub.queue, k -> new ArrayList<>(2)).add(sub);
    }

    boolean remove(Subscription sub) {
      if (sub.queue == null) {
        return removeIdentity(psubs, sub);
      }
      if (qsubs == null) {
        return false;
      }
      ArrayList<Subscription> q = qsubs.get(sub.queue);
      if (q == null || !removeIdentity(q, sub)) {
        return false;
      }
      if (q.isEmpty()) {
        qsubs.remove(sub.queue);
        if (qsubs.isEmpty()) {
          qsubs = null;
        }
      }
      return true;
    }

    private static boolean removeIdentity(ArrayList<Subscription> list, Subscription sub) {
      for (int i = 0; i < list.size(); i++) {
        if (list.get(i) == sub) {
          list.remove(i);
          return true;
        }
      }
      return false;
    }

    boolean isEmpty() {
      return psubs.isEmpty() && qsubs == null && (next == null || next.isEmpty());
    }
  }

  /** Gathers matches from several nodes, merging queue groups of the same name. */
  private static final class Collector {
    private final ArrayList<Subscription> psubs = new ArrayList<>();
    private LinkedHashMap<String, ArrayList<Subscription>> qsubs;

    void add(Node n) {
      psubs.addAll(n.psubs);
      if (n.qsubs != null) {
        if (qsubs == null) {
          qsubs = new LinkedHashMap<>();
        }
        for (Map.Entry<String, ArrayList<Subscription>> e : n.qsubs.entrySet()) {
          qsubs.computeIfAbsent(e.getKey(), k -> new ArrayList<>()).addAll(e.getValue());
        }
      }
    }

    SublistResult result() {
      if (psubs.isEmpty() && qsubs == null) {
        return SublistResult.EMPTY;
      }
      Subscription[] p = psubs.toArray(new Subscription[0]);
      Subscription[][] q;
      if (qsubs == null) {
        q = SublistResult.EMPTY.qsubs;
      } else {
        q = new Subscription[qsubs.size()][];
        int i = 0;
        for (ArrayList<Subscription> members : qsubs.values()) {
          q[i++] = members.toArray(new Subscription[0]);
        }
      }
      return new SublistResult(p, q);
    }
  }
}
