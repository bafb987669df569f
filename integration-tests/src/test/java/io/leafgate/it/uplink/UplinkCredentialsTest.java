package io.leafgate.it.uplink;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leafgate.gateway.Gateway;
import io.leafgate.it.harness.Await;
import io.leafgate.it.harness.Http;
import io.leafgate.it.harness.NatsServerProcess;
import io.nats.client.Connection;
import io.nats.client.Message;
import io.nats.client.NKey;
import io.nats.client.Nats;
import io.nats.client.Options;
import io.nats.client.Subscription;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The uplink authenticating with a credentials file (a user JWT and its nkey seed; the hub's nonce
 * signed with Ed25519) to a real nats-server in operator mode: an operator, one account preloaded
 * with a memory resolver, users issued by that account. The JWTs are issued and signed here and the
 * seeds made with jnats' NKey, as nsc would. A user of an account the hub does not know
 * is refused, the gateway says so and keeps serving its local clients.
 */
class UplinkCredentialsTest {
  private static final Duration T = Duration.ofSeconds(10);
  @TempDir
  static Path tmp;
  static NatsServerProcess hub;
  static NKey account;

  @BeforeAll
  static void startHub() throws Exception {
    NKey operator = NKey.createOperator(null);
    account = NKey.createAccount(null);
    String operatorPub = new String(operator.getPublicKey());
    String accountPub = new String(account.getPublicKey());
    String operatorJwt = jwt(operator, operatorPub, "hub-operator", "{\"type\":\"operator\",\"version\":2}");
    String accountJwt = jwt(operator, accountPub, "SITES",
        "{\"limits\":{\"subs\":-1,\"data\":-1,\"payload\":-1,\"imports\":-1,\"exports\":-1,"
            + "\"wildcards\":true,\"conn\":-1,\"leaf\":-1},\"default_permissions\":{\"pub\":{},\"sub\":{}},"
            + "\"type\":\"account\",\"version\":2}");
    Path op = tmp.resolve("operator.jwt");
    Files.writeString(op, operatorJwt);
    hub = NatsServerProcess.builder(tmp.resolve("hub"))
        .leafListener()
        .extraConfig("server_name: hub\noperator: \"" + op + "\"\nresolver: MEMORY\n"
            + "resolver_preload: {\n  " + accountPub + ": \"" + accountJwt + "\"\n}\n")
        .start();
  }

  @AfterAll
  static void stopHub() {
    if (hub != null) {
      hub.close();
    }
  }

  /**
   * A v2 JWT as nats-server reads it: header and claims in base64url, signed (both, with Ed25519)
   * by the issuer's nkey.
   */
  private static String jwt(NKey issuer, String subject, String name, String nats) throws Exception {
    Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
    String header = b64.encodeToString("{\"typ\":\"JWT\",\"alg\":\"ed25519-nkey\"}".getBytes(StandardCharsets.UTF_8));
    String claims = "{\"jti\":\"" + UUID.randomUUID().toString().replace("-", "").toUpperCase(Locale.ROOT)
        + "\",\"iat\":" + System.currentTimeMillis() / 1000 + ",\"iss\":\"" + new String(issuer.getPublicKey())
        + "\",\"name\":\"" + name + "\",\"sub\":\"" + subject + "\",\"nats\":" + nats + "}";
    String body = header + "." + b64.encodeToString(claims.getBytes(StandardCharsets.UTF_8));
    return body + "." + b64.encodeToString(issuer.sign(body.getBytes(StandardCharsets.US_ASCII)));
  }

  /** Writes a .creds file for a new user issued by {@code issuer}, as nsc lays it out. */
  private static Path creds(String name, NKey issuer) throws Exception {
    NKey user = NKey.createUser(null);
    String jwt = jwt(issuer, new String(user.getPublicKey()), name,
        "{\"pub\":{},\"sub\":{},\"subs\":-1,\"data\":-1,\"payload\":-1,\"type\":\"user\",\"version\":2}");
    String text = "-----BEGIN NATS USER JWT-----\n" + jwt + "\n------END NATS USER JWT------\n\n"
        + "************************* IMPORTANT *************************\n"
        + "NKEY Seed printed below can be used to sign and prove identity.\n"
        + "NKEYs are sensitive and should be treated as secrets.\n\n"
        + "-----BEGIN USER NKEY SEED-----\n" + new String(user.getSeed()) + "\n------END USER NKEY SEED------\n\n"
        + "*************************************************************\n";
    Path p = tmp.resolve(name + ".creds");
    Files.writeString(p, text);
    return p;
  }

  private static String remote(Path credsFile) {
    return "leafnodes {\n  reconnect: \"200ms\"\n  reconnect_max: \"1s\"\n  ping_interval: \"1s\"\n"
        + "  remotes = [ { urls: [\"nats-leaf://127.0.0.1:" + hub.leafPort() + "\"], credentials: \"" + credsFile
        + "\" } ]\n}\nuplink { export: [\"up.>\"], import: [\"down.>\"] }\n";
  }

  private static Connection hubClient() throws Exception {
    Path c = creds("hub-app", account);
    return Nats.connect(new Options.Builder().server(hub.clientUrl()).authHandler(Nats.credentials(c.toString()))
        .connectionTimeout(T).build());
  }

  @Test
  void aCredentialsFileAuthenticatesTheLinkAndMessagesFlowBothWays() throws Exception {
    try (Gateway edge = UplinkFixture.gateway(tmp.resolve("edge-ok"), remote(creds("site-042", account)));
         Connection hubClient = hubClient();
         Connection edgeClient = UplinkFixture.connect("nats://127.0.0.1:" + edge.natsPort())) {
      UplinkFixture.awaitConnected(edge, hub);
      Map<String, Object> leafz = Http.getJson(hub.monitorPort(), "/leafz");
      assertTrue(String.valueOf(leafz.get("leafs")).contains(new String(account.getPublicKey())),
          "the hub put the leaf in the JWT's account: " + leafz);

      UplinkFixture.assertMessagesFlowBothWays(edge, hub, hubClient, edgeClient);
    }
  }

  @Test
  void aUserOfAnAccountTheHubDoesNotKnowIsRefusedAndTheEdgeKeepsServing() throws Exception {
    NKey stranger = NKey.createAccount(null);
    try (Gateway edge = UplinkFixture.gateway(tmp.resolve("edge-stranger"), remote(creds("stranger", stranger)))) {
      String[] why = new String[1];
      Await.until(Duration.ofSeconds(20), () -> {
        Map<String, Object> u = UplinkFixture.uplink(edge);
        assertTrue(!"connected".equals(u.get("state")), "the hub accepted an unknown account: " + u);
        why[0] = (String) u.get("last_error");
        return why[0] != null && u.get("reconnect_attempts") instanceof Number n && n.intValue() >= 2
            ? null : "uplink: " + u;
      });
      assertTrue(why[0].contains("Authorization Violation"), "last error: " + why[0]);
      assertEquals("islanded", UplinkFixture.uplink(edge).get("state"));
      try (Connection a = UplinkFixture.connect("nats://127.0.0.1:" + edge.natsPort());
           Connection b = UplinkFixture.connect("nats://127.0.0.1:" + edge.natsPort())) {
        Subscription s = b.subscribe("local.x");
        b.flush(T);
        a.publish("local.x", "still serving".getBytes(StandardCharsets.UTF_8));
        Message m = s.nextMessage(T);
        assertNotNull(m, "local pub/sub stopped while the uplink is refused");
      }
    }
  }
}
