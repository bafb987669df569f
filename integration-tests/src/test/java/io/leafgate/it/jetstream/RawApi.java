package io.leafgate.it.jetstream;

import com.fasterxml.jackson.jr.ob.JSON;
import io.nats.client.Connection;
import io.nats.client.Message;
import io.nats.client.Subscription;
import io.nats.client.impl.Headers;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;

/**
 * Raw JetStream API requests over a plain jnats connection: the reply is read from a private inbox
 * subscription, so status replies (DIRECT.GET 404, pull statuses) arrive as they are sent.
 */
final class RawApi {
  private final String name;
  private final Connection nc;

  RawApi(String name, Connection nc) {
    this.name = name;
    this.nc = nc;
  }

  /** Sends {@code body} to {@code subject} and returns the first reply, or null after 2 s. */
  Message request(String subject, Headers headers, byte[] body) throws InterruptedException {
    return request(subject, headers, body, Duration.ofSeconds(2));
  }

  /** Sends {@code body} to {@code subject} and returns the first reply, or null after {@code wait}. */
  Message request(String subject, Headers headers, byte[] body, Duration wait) throws InterruptedException {
    String inbox = nc.createInbox();
    Subscription sub = nc.subscribe(inbox);
    try {
      nc.publish(subject, inbox, headers, body);
      return sub.nextMessage(wait);
    } finally {
      sub.unsubscribe();
    }
  }

  /**
   * Sends a request and collects its replies until the first status message (included) or until
   * {@code wait} passes without one.
   */
  java.util.List<Message> untilStatus(String subject, byte[] body, Duration wait) throws InterruptedException {
    String inbox = nc.createInbox();
    Subscription sub = nc.subscribe(inbox);
    java.util.List<Message> out = new java.util.ArrayList<>();
    try {
      nc.publish(subject, inbox, null, body);
      Message m;
      while ((m = sub.nextMessage(wait)) != null) {
        out.add(m);
        if (m.isStatusMessage()) {
          break;
        }
      }
      return out;
    } finally {
      sub.unsubscribe();
    }
  }

  /** A JSON request; the reply parsed as a JSON object (a status or no reply fails). */
  Map<String, Object> json(String subject, String body) throws InterruptedException, IOException {
    return json(subject, null, body);
  }

  Map<String, Object> json(String subject, Headers headers, String body) throws InterruptedException, IOException {
    Message m = request(subject, headers, body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8));
    if (m == null) {
      throw new IOException(name + ": no reply to " + subject);
    }
    if (m.isStatusMessage()) {
      throw new IOException(name + ": status " + m.getStatus() + " in reply to " + subject);
    }
    return JSON.std.mapFrom(m.getData());
  }
}
