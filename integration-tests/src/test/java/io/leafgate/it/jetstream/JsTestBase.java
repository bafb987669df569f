package io.leafgate.it.jetstream;

import io.nats.client.Connection;
import io.nats.client.JetStream;
import io.nats.client.JetStreamManagement;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;

/** One gateway and one jnats connection shared by the tests of a class. */
abstract class JsTestBase {
  @TempDir static Path tmp;
  static JsGateway gw;
  static ClientEvents events;
  static Connection nc;
  static JetStreamManagement jsm;
  static JetStream js;

  @BeforeAll
  static void start() throws Exception {
    gw = JsGateway.start(tmp.resolve("store"));
    events = new ClientEvents();
    nc = Clients.connect(gw.url(), events);
    jsm = nc.jetStreamManagement();
    js = nc.jetStream();
  }

  @AfterAll
  static void stop() throws Exception {
    if (nc != null) {
      nc.close();
    }
    if (gw != null) {
      gw.close();
    }
  }
}
