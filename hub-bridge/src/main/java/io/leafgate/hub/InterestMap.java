package io.leafgate.hub;

import io.leafgate.leaf.route.InterestListener;
import io.leafgate.leaf.route.Origin;
import io.leafgate.leaf.route.Subscription;
import io.leafgate.leaf.subject.Subjects;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The local interest the hub should know about, reference-counted: one {@code LS+} per distinct
 * subject, one {@code LS+ subject queue weight} per queue group (re-sent when its member count
 * changes). Interest learned from the hub is never advertised back (split horizon), nor are internal
 * subjects, buffered subjects (they travel through the forwarder), or what {@code import} and
 * {@code deny_imports} exclude. Thread-safe.
 */
final class InterestMap implements InterestListener {
  /** A change to send: LS+ (with a weight for queues) or LS-. */
  record Change(boolean add, String subject, String queue, int weight) {
    String line() {
      if (add) {
        return queue == null ? "LS+ " + subject + "\r\n" : "LS+ " + subject + " " + queue + " " + weight + "\r\n";
      }
      return queue == null ? "LS- " + subject + "\r\n" : "LS- " + subject + " " + queue + "\r\n";
    }
  }

  /** Subjects that never go to the hub: the local JetStream API and internal traffic. */
  private static final List<String> RESERVED = List.of("$JS.API.", "$KV.", "$OBJ.", "$SYS.", "$LG.", "$MQTT.",
      "$LDS.", "_LGACK.", "$JS.FC.", "$JSC.", "$JS.ACK.");

  private final List<String> imports;
  private final List<String> denyImports;
  private final List<String> buffer;
  private final Map<String, int[]> counts = new LinkedHashMap<>();
  private volatile Consumer<Change> sink = c -> {};

  /**
   * @param buffer subjects that are never imported: the buffered subjects, and the command subject
   *     (commands come through the hub consumer, exactly once, not as live messages)
   */
  InterestMap(List<String> imports, List<String> denyImports, List<String> buffer) {
    this.imports = imports;
    this.denyImports = denyImports;
    this.buffer = buffer;
  }

  /** Where changes go (the link, while it is live). */
  void setSink(Consumer<Change> sink) {
    this.sink = sink;
  }

  @Override
  public void onSubscribe(Subscription sub) {
    if (sub.subscriber.origin() == Origin.HUB) {
      return;
    }
    for (String subject : advertised(sub.subject)) {
      Change c = null;
      synchronized (this) {
        String key = sub.queue == null ? subject : subject + " " + sub.queue;
        int[] n = counts.computeIfAbsent(key, k -> new int[1]);
        n[0]++;
        if (sub.queue != null) {
          c = new Change(true, subject, sub.queue, n[0]);
        } else if (n[0] == 1) {
          c = new Change(true, subject, null, 0);
        }
      }
      if (c != null) {
        sink.accept(c);
      }
    }
  }

  @Override
  public void onUnsubscribe(Subscription sub) {
    if (sub.subscriber.origin() == Origin.HUB) {
      return;
    }
    for (String subject : advertised(sub.subject)) {
      Change c = null;
      synchronized (this) {
        String key = sub.queue == null ? subject : subject + " " + sub.queue;
        int[] n = counts.get(key);
        if (n == null) {
          continue;
        }
        n[0]--;
        if (n[0] <= 0) {
          counts.remove(key);
          c = new Change(false, subject, sub.queue, 0);
        } else if (sub.queue != null) {
          c = new Change(true, subject, sub.queue, n[0]);
        }
      }
      if (c != null) {
        sink.accept(c);
      }
    }
  }

  /** Every LS+ to send after (re)connecting. */
  synchronized List<Change> snapshot() {
    List<Change> out = new ArrayList<>();
    for (Map.Entry<String, int[]> e : counts.entrySet()) {
      int sp = e.getKey().indexOf(' ');
      if (sp < 0) {
        out.add(new Change(true, e.getKey(), null, 0));
      } else {
        out.add(new Change(true, e.getKey().substring(0, sp), e.getKey().substring(sp + 1), e.getValue()[0]));
      }
    }
    return out;
  }

  synchronized int size() {
    return counts.size();
  }

  /**
   * The subjects a local subscription is advertised as: itself when {@code import} covers it, the
   * import filters it covers when it is broader (a local {@code >} with import {@code cmd.>}
   * advertises {@code cmd.>}), nothing when it is internal or buffered.
   */
  List<String> advertised(String filter) {
    for (String r : RESERVED) {
      if (filter.startsWith(r)) {
        return List.of();
      }
    }
    if (filter.startsWith("$JS.") && filter.contains(".API.") && !filter.startsWith("$JS.API")) {
      // The domain-qualified API of the local JetStream is what hub clients use to reach it.
      return List.of(filter);
    }
    for (String d : denyImports) {
      if (Subjects.isSubset(filter, d) || d.equals(filter)) {
        return List.of();
      }
    }
    for (String b : buffer) {
      if (Subjects.isSubset(filter, b) || b.equals(filter)) {
        return List.of();
      }
    }
    for (String i : imports) {
      if (i.equals(filter) || Subjects.isSubset(filter, i)) {
        return List.of(filter);
      }
    }
    List<String> narrower = new ArrayList<>();
    for (String i : imports) {
      if (Subjects.isSubset(i, filter)) {
        narrower.add(i);
      } else if (Subjects.collide(i, filter)) {
        narrower.add(filter);
      }
    }
    return narrower.isEmpty() ? List.of() : List.copyOf(new java.util.LinkedHashSet<>(narrower));
  }
}
