package io.leafgate.leaf.auth;

import io.leafgate.leaf.subject.Subjects;
import java.util.List;

/**
 * What one user may publish and subscribe to, with nats-server's semantics: a subject is allowed
 * when an allow filter matches it (or there is no allow list) and no deny filter does. A
 * subscription filter is compared token by token, so {@code foo.*} is allowed by {@code foo.*} or
 * {@code foo.>} but not by {@code foo.bar}. An entry {@code "subject queue"} allows only queue
 * subscriptions in that group. Immutable and thread-safe.
 */
public final class Permissions {
  /** No restrictions. */
  public static final Permissions ALL = new Permissions(null, List.of(), null, List.of());

  private final List<String> pubAllow;
  private final List<String> pubDeny;
  private final List<Entry> subAllow;
  private final List<Entry> subDeny;

  /** Null allow lists mean "everything"; deny lists may be empty. */
  public Permissions(List<String> pubAllow, List<String> pubDeny, List<String> subAllow, List<String> subDeny) {
    this.pubAllow = pubAllow == null ? null : List.copyOf(pubAllow);
    this.pubDeny = List.copyOf(pubDeny);
    this.subAllow = subAllow == null ? null : subAllow.stream().map(Entry::parse).toList();
    this.subDeny = subDeny.stream().map(Entry::parse).toList();
  }

  public boolean isUnrestricted() {
    return this == ALL || (pubAllow == null && pubDeny.isEmpty() && subAllow == null && subDeny.isEmpty());
  }

  /** Whether publishing to the literal subject is allowed. */
  public boolean canPublish(String subject) {
    if (pubAllow != null && !anyMatch(pubAllow, subject)) {
      return false;
    }
    return !anyMatch(pubDeny, subject);
  }

  /** Whether a subscription to {@code filter} (optionally in {@code queue}) is allowed. */
  public boolean canSubscribe(String filter, String queue) {
    if (subAllow != null) {
      boolean ok = false;
      for (Entry e : subAllow) {
        if (e.allows(filter, queue)) {
          ok = true;
          break;
        }
      }
      if (!ok) {
        return false;
      }
    }
    for (Entry e : subDeny) {
      if (e.queue == null ? Subjects.matches(e.subject, filter) : e.allows(filter, queue)) {
        return false;
      }
    }
    return true;
  }

  /** Whether a message on {@code subject} must be withheld from a wildcard subscription. */
  public boolean deniesDelivery(String subject) {
    for (Entry e : subDeny) {
      if (e.queue == null && Subjects.matches(e.subject, subject)) {
        return true;
      }
    }
    return false;
  }

  /** Whether any subscribe deny filter exists (so deliveries need checking). */
  public boolean hasSubscribeDeny() {
    return !subDeny.isEmpty();
  }

  private static boolean anyMatch(List<String> filters, String subject) {
    for (String f : filters) {
      if (Subjects.matches(f, subject)) {
        return true;
      }
    }
    return false;
  }

  private record Entry(String subject, String queue) {
    static Entry parse(String s) {
      String t = s.trim();
      int sp = t.indexOf(' ');
      if (sp < 0) {
        return new Entry(t, null);
      }
      return new Entry(t.substring(0, sp), t.substring(sp + 1).trim());
    }

    boolean allows(String filter, String q) {
      if (!Subjects.matches(subject, filter)) {
        return false;
      }
      if (queue == null) {
        return true;
      }
      return q != null && Subjects.matches(queue, q);
    }
  }
}
