package io.leafgate.it.proto;

import static io.leafgate.it.proto.Differential.Input.of;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leafgate.it.proto.Differential.Ending;
import io.leafgate.it.proto.Differential.Input;
import io.leafgate.it.proto.Differential.Transcript;
import io.leafgate.leaf.config.ServerOptions;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Authentication against nats-server: user and password, token, and a users list; what happens
 * before CONNECT, with wrong credentials, and when no CONNECT comes within the auth timeout (0.5 s
 * in both servers); and a user's publish and subscribe permissions.
 */
class AuthDifferentialTest {
  private static final Duration AUTH_TIMEOUT = Duration.ofMillis(500);

  @TempDir static Path tmp;
  static PeerPair userPass;
  static PeerPair token;
  static PeerPair users;
  static PeerPair permissions;

  @BeforeAll
  static void startPeers() throws IOException {
    userPass = PeerPair.start(tmp.resolve("user"), "authorization { user: a, password: b, timeout: 0.5 }", o -> {
      o.username = "a";
      o.password = "b";
      o.authTimeout = AUTH_TIMEOUT;
    });
    token = PeerPair.start(tmp.resolve("token"), "authorization { token: s3cr3t }", o -> o.authToken = "s3cr3t");
    users = PeerPair.start(tmp.resolve("users"),
        "authorization { users = [ { user: u1, password: p1 }, { user: u2, password: p2 } ] }", o -> {
          o.users.add(user("u1", "p1"));
          o.users.add(user("u2", "p2"));
        });
    startPermissions();
  }

  private static void startPermissions() throws IOException {
    permissions = PeerPair.start(tmp.resolve("perms"), "authorization { users = [ { user: u, password: p, permissions: {"
        + " publish: { allow: [\"a.>\", \"_INBOX.>\"], deny: [\"a.secret\"] },"
        + " subscribe: { allow: [\"a.>\", \"b\", \"q.* grp\"], deny: [\"a.hidden\"] } } } ] }", o -> {
          ServerOptions.User u = user("u", "p");
          u.permissions = new ServerOptions.Permissions();
          u.permissions.publishAllow = new ArrayList<>(List.of("a.>", "_INBOX.>"));
          u.permissions.publishDeny.add("a.secret");
          u.permissions.subscribeAllow = new ArrayList<>(List.of("a.>", "b", "q.* grp"));
          u.permissions.subscribeDeny.add("a.hidden");
          o.users.add(u);
        });
  }

  private static ServerOptions.User user(String name, String password) {
    ServerOptions.User u = new ServerOptions.User();
    u.username = name;
    u.password = password;
    return u;
  }

  @AfterAll
  static void stopPeers() {
    for (PeerPair p : new PeerPair[] {userPass, token, users, permissions}) {
      if (p != null) {
        p.close();
      }
    }
  }

  static Stream<Arguments> userPassCases() {
    return Stream.of(
        arg("PUB before CONNECT", of("PUB foo 2\r\nhi\r\n")),
        arg("SUB before CONNECT", of("SUB foo 1\r\n")),
        arg("PING before CONNECT", of("PING\r\n")),
        arg("+OK before CONNECT", of("+OK\r\n")),
        arg("INFO before CONNECT", of("INFO {}\r\n")),
        arg("garbage before CONNECT", of("FOO\r\n")),
        arg("binary garbage before CONNECT", of("\u0000\u00ff\r\n")),
        arg("an oversize PUB before CONNECT", of("PUB foo 2000000\r\n")),
        arg("an unknown op starting with C", of("CXX\r\n")),
        arg("CONNECT without credentials", of("CONNECT {\"verbose\":false}\r\n")),
        arg("wrong password", of("CONNECT {\"verbose\":false,\"user\":\"a\",\"pass\":\"x\"}\r\n")),
        arg("wrong user", of("CONNECT {\"verbose\":false,\"user\":\"x\",\"pass\":\"b\"}\r\n")),
        arg("a token instead", of("CONNECT {\"verbose\":false,\"auth_token\":\"b\"}\r\n")),
        arg("right credentials, verbose", of("CONNECT {\"verbose\":true,\"user\":\"a\",\"pass\":\"b\"}\r\n")),
        arg("right credentials, then traffic",
            of("connect {\"verbose\":false,\"user\":\"a\",\"pass\":\"b\"}\r\nSUB foo 1\r\nPUB foo 2\r\nhi\r\n")),
        arg("a later CONNECT with a wrong password",
            of("CONNECT {\"verbose\":false,\"user\":\"a\",\"pass\":\"b\"}\r\nCONNECT {\"pass\":\"x\"}\r\n")),
        arg("bad JSON", of("CONNECT {bad\r\n")),
        arg("wrong credentials and a bad protocol",
            of("CONNECT {\"verbose\":false,\"user\":\"a\",\"pass\":\"x\",\"protocol\":5}\r\n")),
        arg("right credentials and a bad protocol",
            of("CONNECT {\"verbose\":false,\"user\":\"a\",\"pass\":\"b\",\"protocol\":5}\r\n")));
  }

  static Stream<Arguments> tokenCases() {
    return Stream.of(
        arg("right token", of("CONNECT {\"verbose\":true,\"auth_token\":\"s3cr3t\"}\r\n")),
        arg("wrong token", of("CONNECT {\"verbose\":false,\"auth_token\":\"bad\"}\r\n")),
        arg("token given as the user", of("CONNECT {\"verbose\":false,\"user\":\"s3cr3t\"}\r\n")),
        arg("no token", of("CONNECT {\"verbose\":false}\r\n")),
        arg("PUB before CONNECT", of("PUB foo 0\r\n\r\n")));
  }

  static Stream<Arguments> usersCases() {
    return Stream.of(
        arg("first user", of("CONNECT {\"verbose\":true,\"user\":\"u1\",\"pass\":\"p1\"}\r\n")),
        arg("second user", of("CONNECT {\"verbose\":true,\"user\":\"u2\",\"pass\":\"p2\"}\r\n")),
        arg("another user's password", of("CONNECT {\"verbose\":false,\"user\":\"u1\",\"pass\":\"p2\"}\r\n")),
        arg("unknown user", of("CONNECT {\"verbose\":false,\"user\":\"u3\",\"pass\":\"p1\"}\r\n")),
        arg("no user", of("CONNECT {\"verbose\":false}\r\n")));
  }

  static Stream<Arguments> permissionCases() {
    String login = "CONNECT {\"verbose\":true,\"user\":\"u\",\"pass\":\"p\"}\r\n";
    return Stream.of(
        arg("publish allowed and refused", of(login + "PUB b 1\r\nx\r\nPUB a.secret 1\r\nx\r\nPUB a.ok 1\r\nx\r\n")),
        arg("subscribe allowed and refused", of(login + "SUB c 1\r\nSUB a.hidden 2\r\nSUB a.> 3\r\nSUB b 4\r\n")),
        arg("queue permissions", of(login + "SUB q.x 1\r\nSUB q.x grp 2\r\nSUB q.x other 3\r\n")),
        arg("a denied subject is not delivered to an allowed wildcard",
            of(login + "SUB a.> 1\r\nPUB a.hidden 1\r\nh\r\nPUB a.seen 1\r\ns\r\n")),
        arg("a refused publish does not reach subscribers", of(login + "SUB a.> 1\r\nPUB a.secret 1\r\nx\r\n")));
  }

  private static Arguments arg(String name, Input input) {
    return Arguments.of(name, input);
  }

  @ParameterizedTest(name = "user and password: {0}")
  @MethodSource("userPassCases")
  void userPassword(String name, Input input) throws IOException {
    Differential.assertSame(userPass, input);
  }

  @ParameterizedTest(name = "token: {0}")
  @MethodSource("tokenCases")
  void token(String name, Input input) throws IOException {
    Differential.assertSame(token, input);
  }

  @ParameterizedTest(name = "users list: {0}")
  @MethodSource("usersCases")
  void usersList(String name, Input input) throws IOException {
    Differential.assertSame(users, input);
  }

  @ParameterizedTest(name = "permissions: {0}")
  @MethodSource("permissionCases")
  void permissions(String name, Input input) throws IOException {
    Differential.assertSame(permissions, input);
  }

  /**
   * With no CONNECT (nothing at all, or only part of one) both servers send "Authentication
   * Timeout" and close after the configured 0.5 s. The exact moment is timing, so it is checked
   * against a window rather than compared.
   */
  @Test
  void authTimeout() throws IOException {
    for (Input in : List.of(Input.of().noBarrier(), Input.of("CONN").noBarrier(),
        Input.of("CONNECT {\"user\":\"a\"").noBarrier())) {
      Differential.Both both = Differential.assertSame(userPass, in);
      Transcript nats = both.nats();
      assertEquals(Ending.CLOSED, nats.ending());
      assertTrue(nats.frames().contains("-ERR 'Authentication Timeout'"), nats.describe());
      for (Transcript t : List.of(nats, both.leaf())) {
        assertTrue(t.closedAfterMillis() >= AUTH_TIMEOUT.toMillis() - 50 && t.closedAfterMillis() < 3000,
            "closed after " + t.closedAfterMillis() + " ms, want about " + AUTH_TIMEOUT.toMillis() + " ms: " + in);
      }
    }
  }
}
