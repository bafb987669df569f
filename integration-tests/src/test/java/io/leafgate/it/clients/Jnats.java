package io.leafgate.it.clients;

import io.nats.client.Connection;
import io.nats.client.Nats;
import io.nats.client.Options;
import java.io.IOException;
import java.time.Duration;

/** jnats connections as the tests use them: fail fast, no reconnect unless a test asks for it. */
final class Jnats {
  /** How long a test waits for anything that should be immediate on loopback. */
  static final Duration WAIT = Duration.ofSeconds(10);

  private Jnats() {}

  /** Options for {@code url}: a short connect timeout and no reconnecting. */
  static Options.Builder options(String url) {
    return Options.builder().server(url).connectionTimeout(Duration.ofSeconds(5)).noReconnect();
  }

  static Connection connect(String url) throws IOException, InterruptedException {
    return Nats.connect(options(url).build());
  }

  static Connection connect(Options.Builder options) throws IOException, InterruptedException {
    return Nats.connect(options.build());
  }

  /** A round trip to the server: after it, every op this connection sent before has been processed. */
  static void roundTrip(Connection nc) throws Exception {
    nc.flush(WAIT);
  }
}
