package io.leafgate.it.clients;

import io.leafgate.it.harness.Await;
import static io.leafgate.it.clients.Jnats.WAIT;
import static io.leafgate.it.clients.Jnats.connect;
import static io.leafgate.it.clients.Jnats.roundTrip;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leafgate.leaf.config.ServerOptions;
import io.nats.client.AuthenticationException;
import io.nats.client.Connection;
import io.nats.client.ErrorListener;
import io.nats.client.Message;
import io.nats.client.Options;
import io.nats.client.Subscription;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Authentication and permissions as jnats sees them. */
class JnatsAuthTest {
  /**
   * After an authorization error jnats still waits for the PONG to its first PING until the
   * connection timeout (against nats-server too), so refused connects get a short one.
   */
  private static final Duration REFUSED_CONNECT_TIMEOUT = Duration.ofMillis(1500);

  @Test
  void userAndPasswordAreChecked(@TempDir Path tmp) throws Exception {
    try (TestGateway gw = TestGateway.start(tmp, o -> {
      o.username = "plant";
      o.password = "s3cret";
    })) {
      try (Connection nc = connect(Jnats.options(gw.url()).userInfo("plant", "s3cret"))) {
        assertWorks(nc);
      }
      AuthenticationException wrong = assertThrows(AuthenticationException.class,
          () -> connect(refused(gw).userInfo("plant", "guess")));
      assertTrue(wrong.getMessage().contains("Authorization Violation"), wrong.getMessage());
      assertThrows(AuthenticationException.class, () -> connect(refused(gw).userInfo("intruder", "s3cret")));
      assertThrows(AuthenticationException.class, () -> connect(refused(gw)));
      Await.until(WAIT, () -> gw.gateway().nats().connectionCount() == 0 ? null
          : gw.gateway().nats().connectionCount() + " refused connections are still open on the server");
    }
  }

  @Test
  void tokenIsChecked(@TempDir Path tmp) throws Exception {
    try (TestGateway gw = TestGateway.start(tmp, o -> o.authToken = "t0ken-42")) {
      try (Connection nc = connect(Jnats.options(gw.url()).token("t0ken-42".toCharArray()))) {
        assertWorks(nc);
      }
      assertThrows(AuthenticationException.class, () -> connect(refused(gw).token("t0ken-43".toCharArray())));
      assertThrows(AuthenticationException.class, () -> connect(refused(gw)));
    }
  }

  private static Options.Builder refused(TestGateway gw) {
    return Jnats.options(gw.url()).connectionTimeout(REFUSED_CONNECT_TIMEOUT);
  }

  private static void assertWorks(Connection nc) throws Exception {
    Subscription s = nc.subscribe("auth.check");
    nc.publish("auth.check", "in".getBytes(UTF_8));
    Message m = s.nextMessage(WAIT);
    assertNotNull(m, "an authenticated connection could not publish to itself");
  }

  @Test
  void publishViolationIsReportedAndTheConnectionStaysUp(@TempDir Path tmp) throws Exception {
    try (TestGateway gw = TestGateway.start(tmp, o -> {
      o.users.add(user("admin", "a", null));
      ServerOptions.Permissions p = new ServerOptions.Permissions();
      p.publishAllow = new ArrayList<>(List.of("telemetry.>"));
      p.subscribeAllow = new ArrayList<>(List.of("cmd.sensor-1.>", "_INBOX.>"));
      o.users.add(user("sensor", "s", p));
    })) {
      List<String> errors = new CopyOnWriteArrayList<>();
      ErrorListener listener = new ErrorListener() {
        @Override
        public void errorOccurred(Connection conn, String error) {
          errors.add(error);
        }
      };
      try (Connection admin = connect(Jnats.options(gw.url()).userInfo("admin", "a"));
           Connection sensor = connect(Jnats.options(gw.url()).userInfo("sensor", "s").errorListener(listener))) {
        Subscription watch = admin.subscribe(">");
        roundTrip(admin);

        sensor.publish("cmd.all.reboot", "pwned".getBytes(UTF_8));
        sensor.publish("telemetry.sensor-1.temp", "21.5".getBytes(UTF_8));
        roundTrip(sensor);
        Await.until(WAIT, () -> errors.isEmpty() ? "the error listener heard nothing" : null);
        assertEquals("Permissions Violation for Publish to \"cmd.all.reboot\"", errors.get(0));

        // The forbidden message went nowhere: the allowed one, sent after it, is the first seen.
        Message first = watch.nextMessage(WAIT);
        assertNotNull(first, "the allowed publish did not arrive");
        assertEquals("telemetry.sensor-1.temp", first.getSubject());
        assertEquals(Connection.Status.CONNECTED, sensor.getStatus(), "a permissions violation must not close the connection");

        Subscription denied = sensor.subscribe("cmd.>");
        roundTrip(sensor);
        Await.until(WAIT, () -> errors.size() < 2 ? "no error for the denied subscription: " + errors : null);
        assertEquals("Permissions Violation for Subscription to \"cmd.>\"", errors.get(1));
        Subscription allowed = sensor.subscribe("cmd.sensor-1.>");
        roundTrip(sensor);
        admin.publish("cmd.sensor-1.calibrate", "now".getBytes(UTF_8));
        Message cmd = allowed.nextMessage(WAIT);
        assertNotNull(cmd, "the allowed subscription got nothing");
        assertEquals("cmd.sensor-1.calibrate", cmd.getSubject());
        roundTrip(sensor); // anything sent to the denied subscription would be read by now
        assertEquals(0, denied.getPendingMessageCount(), "the denied subscription must get nothing");
        assertEquals(Connection.Status.CONNECTED, sensor.getStatus());
        assertEquals(2, errors.size(), "errors reported: " + errors);
      }
    }
  }

  private static ServerOptions.User user(String name, String password, ServerOptions.Permissions p) {
    ServerOptions.User u = new ServerOptions.User();
    u.username = name;
    u.password = password;
    u.permissions = p;
    return u;
  }
}
