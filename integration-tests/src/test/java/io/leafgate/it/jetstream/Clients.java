package io.leafgate.it.jetstream;

import io.nats.client.Connection;
import io.nats.client.Message;
import io.nats.client.Nats;
import io.nats.client.Options;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/** jnats connections for the JetStream tests. */
final class Clients {
  private Clients() {}

  static Connection connect(String url) throws IOException, InterruptedException {
    return connect(url, new ClientEvents());
  }

  /**
   * Connects with a 5 s timeout (also jnats' JetStream request timeout; the build machine is shared)
   * and no reconnects.
   */
  static Connection connect(String url, ClientEvents events) throws IOException, InterruptedException {
    Options o = Options.builder().server(url).connectionTimeout(Duration.ofSeconds(5)).maxReconnects(0)
        .errorListener(events).build();
    return Nats.connect(o);
  }

  static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static String text(Message m) {
    return new String(m.getData(), StandardCharsets.UTF_8);
  }
}
