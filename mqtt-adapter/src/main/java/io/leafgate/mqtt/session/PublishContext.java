package io.leafgate.mqtt.session;

import io.leafgate.leaf.route.Msg;
import io.leafgate.mqtt.message.AppMessage;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * What an MQTT publish carries besides the NATS message, for the duration of one
 * {@code Router.publish} call on the publisher's thread. The router delivers synchronously, so an
 * MQTT subscriber reached by that call finds the original QoS, RETAIN flag and v5 properties here
 * (exactly as published, User Properties that NATS headers cannot carry included), and registers
 * the commits the publisher's PUBACK must wait for (queue appends of persistent sessions).
 *
 * <p>Matched by identity of the {@link Msg}: a delivery of any other message (a nested publish, a
 * stream delivery) does not see it.
 */
public final class PublishContext {
  private static final ThreadLocal<PublishContext> CURRENT = new ThreadLocal<>();

  final Msg msg;
  final AppMessage app;
  final Session publisher;
  final String dedupeId;
  private List<CompletableFuture<?>> waits;
  private PublishContext previous;

  private PublishContext(Msg msg, AppMessage app, Session publisher, String dedupeId) {
    this.msg = msg;
    this.app = app;
    this.publisher = publisher;
    this.dedupeId = dedupeId;
  }

  /**
   * Makes the context current on this thread until {@link #exit}. {@code publisher} may be null
   * (a forwarded response); {@code dedupeId}, when not null, keeps replays after a restart from
   * being queued twice.
   */
  public static PublishContext enter(Msg msg, AppMessage app, Session publisher, String dedupeId) {
    PublishContext c = new PublishContext(msg, app, publisher, dedupeId);
    c.previous = CURRENT.get();
    CURRENT.set(c);
    return c;
  }

  public void exit() {
    if (previous == null) {
      CURRENT.remove();
    } else {
      CURRENT.set(previous);
    }
  }

  /** The context of {@code m} on this thread, or null. */
  static PublishContext of(Msg m) {
    PublishContext c = CURRENT.get();
    return c != null && c.msg == m ? c : null;
  }

  /** Adds a commit the publisher's acknowledgement waits for (its outcome does not matter). */
  void await(CompletableFuture<?> f) {
    if (waits == null) {
      waits = new ArrayList<>(2);
    }
    waits.add(f);
  }

  /** The commits to wait for; empty when none. */
  public List<CompletableFuture<?>> waits() {
    return waits == null ? List.of() : waits;
  }
}
