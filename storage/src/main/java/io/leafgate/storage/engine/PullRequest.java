package io.leafgate.storage.engine;

import java.nio.charset.StandardCharsets;
import java.util.Map;

/** One waiting pull request ({@code CONSUMER.MSG.NEXT}): how much it still wants and until when. */
final class PullRequest {
  final String reply;
  final long batch;
  final long maxBytes;
  final long expiresNanos;
  final boolean noWait;
  final long heartbeatNanos;
  /** An in-process puller that takes the messages as stored, or null for a request over NATS. */
  final DirectPull direct;
  long batchLeft;
  long bytesLeft;
  int delivered;
  long lastDeliveryNanos = System.nanoTime();
  EngineLoop.Timer expiryTimer;
  EngineLoop.Timer heartbeatTimer;

  private PullRequest(String reply, long batch, long maxBytes, long expiresNanos, boolean noWait, long hb) {
    this(reply, batch, maxBytes, expiresNanos, noWait, hb, null);
  }

  private PullRequest(String reply, long batch, long maxBytes, long expiresNanos, boolean noWait, long hb,
      DirectPull direct) {
    this.direct = direct;
    this.reply = reply;
    this.batch = batch;
    this.maxBytes = maxBytes;
    this.expiresNanos = expiresNanos;
    this.noWait = noWait;
    this.heartbeatNanos = hb;
    this.batchLeft = batch;
    this.bytesLeft = maxBytes;
  }

  /** A request of an in-process puller: {@code batch} messages, for at most {@code expiresNanos}. */
  static PullRequest direct(DirectPull p, long batch, long expiresNanos) {
    return new PullRequest("(in-process)", Math.max(1, batch), 0, Math.max(0, expiresNanos), false, 0, p);
  }

  /** Whether whoever asked still listens. */
  boolean live(JetStreamEngine e) {
    return direct != null ? direct.live() : e.hasInterest(reply);
  }

  /** Parses a request body: empty (one message), a bare number, or the JSON form. */
  static PullRequest parse(String reply, byte[] body) throws ApiError {
    String s = body == null ? "" : new String(body, StandardCharsets.UTF_8).trim();
    if (s.isEmpty()) {
      return new PullRequest(reply, 1, 0, 0, false, 0);
    }
    if (!s.startsWith("{")) {
      try {
        long n = Long.parseLong(s);
        return new PullRequest(reply, Math.max(1, n), 0, 0, false, 0);
      } catch (NumberFormatException e) {
        throw ApiError.badRequest();
      }
    }
    try {
      Map<String, Object> m = Json.object(body);
      long batch = Json.longOf(m, "batch", 1);
      long maxBytes = Math.max(0, Json.longOf(m, "max_bytes", 0));
      long expires = Math.max(0, Json.longOf(m, "expires", 0));
      boolean noWait = Json.boolOf(m, "no_wait", false);
      long hb = Math.max(0, Json.longOf(m, "idle_heartbeat", 0));
      if (batch <= 0) {
        batch = 1;
      }
      return new PullRequest(reply, batch, maxBytes, expires, noWait, hb);
    } catch (Json.BadJson e) {
      throw ApiError.badRequest();
    }
  }

  void onDelivered(long size) {
    batchLeft--;
    delivered++;
    if (maxBytes > 0) {
      bytesLeft -= size;
    }
    lastDeliveryNanos = System.nanoTime();
  }

  void cancelTimers() {
    if (expiryTimer != null) {
      expiryTimer.cancel();
    }
    if (heartbeatTimer != null) {
      heartbeatTimer.cancel();
    }
  }

  /** Sends a status with (or without) the pending headers that pull clients count by. */
  void sendStatus(JetStreamEngine e, String status, boolean withPending) {
    if (direct != null) {
      direct.onEnd(status, batchLeft);
      return;
    }
    status(e, reply, status, batchLeft, maxBytes > 0 ? Math.max(0, bytesLeft) : 0, withPending);
  }

  static void status(JetStreamEngine e, String reply, String status, long msgs, long bytes, boolean withPending) {
    byte[] hdr = withPending
        ? Headers.block(status, "Nats-Pending-Messages", Long.toString(msgs), "Nats-Pending-Bytes", Long.toString(bytes))
        : Headers.block(status);
    e.deliverStatus(reply, hdr);
  }
}
