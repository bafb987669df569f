package io.leafgate.mqtt.session;

import io.leafgate.leaf.subject.Subjects;
import io.leafgate.mqtt.Defaults;
import io.leafgate.mqtt.message.AppMessage;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The retained messages, one per subject, in memory (the store keeps the durable copy). Bounded in
 * count and bytes: a retained message for a new subject beyond the bounds is refused. Thread-safe.
 */
public final class RetainedIndex {
  private final ConcurrentHashMap<String, AppMessage> bySubject = new ConcurrentHashMap<>();
  private final AtomicLong bytes = new AtomicLong();
  private final long maxCount;
  private final long maxBytes;

  public RetainedIndex() {
    this(Defaults.MAX_RETAINED, Defaults.MAX_RETAINED_BYTES);
  }

  RetainedIndex(long maxCount, long maxBytes) {
    this.maxCount = maxCount;
    this.maxBytes = maxBytes;
  }

  /** Sets the retained message of its subject; false when the bounds refuse it. */
  public boolean put(AppMessage m) {
    synchronized (this) {
      AppMessage old = bySubject.get(m.subject());
      long delta = m.weight() - (old == null ? 0 : old.weight());
      if (old == null && bySubject.size() >= maxCount) {
        return false;
      }
      if (delta > 0 && bytes.get() + delta > maxBytes) {
        return false;
      }
      bySubject.put(m.subject(), m);
      bytes.addAndGet(delta);
      return true;
    }
  }

  /** Removes the retained message of {@code subject}; returns whether there was one. */
  public boolean remove(String subject) {
    synchronized (this) {
      AppMessage old = bySubject.remove(subject);
      if (old != null) {
        bytes.addAndGet(-old.weight());
      }
      return old != null;
    }
  }

  /** The retained messages matching any of {@code filters}, unexpired, in no particular order. */
  public List<AppMessage> match(List<String> filters, boolean dollarGuard, long nowMillis) {
    List<AppMessage> out = new ArrayList<>();
    for (AppMessage m : bySubject.values()) {
      if (dollarGuard && m.subject().startsWith("$")) {
        continue;
      }
      if (m.expired(nowMillis)) {
        continue;
      }
      for (String f : filters) {
        if (Subjects.matches(f, m.subject())) {
          out.add(m);
          break;
        }
      }
    }
    return out;
  }

  /** Drops expired messages; returns their subjects (for the store). */
  public List<String> expire(long nowMillis) {
    List<String> gone = new ArrayList<>();
    for (AppMessage m : bySubject.values()) {
      if (m.expired(nowMillis) && bySubject.remove(m.subject(), m)) {
        bytes.addAndGet(-m.weight());
        gone.add(m.subject());
      }
    }
    return gone;
  }

  public int size() {
    return bySubject.size();
  }

  public long bytes() {
    return bytes.get();
  }
}
