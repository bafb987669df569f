package io.leafgate.it.jetstream;

import io.nats.client.Connection;
import io.nats.client.ErrorListener;
import io.nats.client.JetStreamSubscription;
import io.nats.client.support.Status;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * An {@link ErrorListener} that records what jnats reports about JetStream subscriptions: heartbeat
 * alarms, pull status warnings and errors, unhandled statuses and exceptions. Tests assert on it.
 */
final class ClientEvents implements ErrorListener {
  final List<String> heartbeatAlarms = new CopyOnWriteArrayList<>();
  final List<String> pullWarnings = new CopyOnWriteArrayList<>();
  final List<String> pullErrors = new CopyOnWriteArrayList<>();
  final List<String> unhandled = new CopyOnWriteArrayList<>();
  final List<String> errors = new CopyOnWriteArrayList<>();

  @Override
  public void heartbeatAlarm(Connection conn, JetStreamSubscription sub, long lastStreamSeq, long lastConsumerSeq) {
    heartbeatAlarms.add("alarm on " + sub.getSubject() + " at stream " + lastStreamSeq + " consumer "
        + lastConsumerSeq);
  }

  @Override
  public void pullStatusWarning(Connection conn, JetStreamSubscription sub, Status status) {
    pullWarnings.add(status.getCode() + " " + status.getMessage());
  }

  @Override
  public void pullStatusError(Connection conn, JetStreamSubscription sub, Status status) {
    pullErrors.add(status.getCode() + " " + status.getMessage());
  }

  @Override
  public void unhandledStatus(Connection conn, JetStreamSubscription sub, Status status) {
    unhandled.add(status.getCode() + " " + status.getMessage());
  }

  @Override
  public void errorOccurred(Connection conn, String error) {
    errors.add(error);
  }

  @Override
  public void exceptionOccurred(Connection conn, Exception exp) {
    errors.add(String.valueOf(exp));
  }

  /** Everything except pull warnings, which are informational; empty when all went well. */
  String problems() {
    StringBuilder b = new StringBuilder();
    if (!heartbeatAlarms.isEmpty()) {
      b.append("heartbeat alarms ").append(heartbeatAlarms).append("; ");
    }
    if (!pullErrors.isEmpty()) {
      b.append("pull errors ").append(pullErrors).append("; ");
    }
    if (!unhandled.isEmpty()) {
      b.append("unhandled statuses ").append(unhandled).append("; ");
    }
    if (!errors.isEmpty()) {
      b.append("errors ").append(errors).append("; ");
    }
    return b.toString();
  }
}
