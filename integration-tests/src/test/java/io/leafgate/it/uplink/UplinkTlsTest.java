package io.leafgate.it.uplink;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leafgate.gateway.Gateway;
import io.leafgate.it.harness.Await;
import io.leafgate.it.harness.Http;
import io.leafgate.it.harness.NatsServerProcess;
import io.leafgate.it.harness.TestCerts;
import io.nats.client.Connection;
import io.nats.client.Message;
import io.nats.client.Subscription;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The uplink over TLS to a real nats-server hub whose leafnode listener requires TLS and a client
 * certificate ({@code verify: true}): with the right {@code tls { ca_file, cert_file, key_file }}
 * messages flow both ways; without the client certificate, or trusting the wrong CA, the link does
 * not come up, says why, and the gateway keeps serving its local clients.
 */
class UplinkTlsTest {
  private static final Duration T = Duration.ofSeconds(10);
  @TempDir
  static Path tmp;
  static TestCerts certs;
  static NatsServerProcess hub;

  @BeforeAll
  static void startHub() throws Exception {
    certs = TestCerts.create(tmp.resolve("certs"));
    hub = NatsServerProcess.builder(tmp.resolve("hub"))
        .leafListener("  tls {\n    cert_file: \"" + certs.serverCert + "\"\n    key_file: \"" + certs.serverKey
            + "\"\n    ca_file: \"" + certs.caCert + "\"\n    verify: true\n    timeout: 2\n  }")
        .extraConfig("server_name: hub\n")
        .start();
  }

  @AfterAll
  static void stopHub() {
    if (hub != null) {
      hub.close();
    }
  }

  private static String remote(String tls) throws IOException {
    return remote(tls, "\"tls://127.0.0.1:" + hub.leafPort() + "\"");
  }

  private static String remote(String tls, String urls) {
    return "leafnodes {\n  reconnect: \"200ms\"\n  reconnect_max: \"1s\"\n  ping_interval: \"1s\"\n"
        + "  remotes = [ { urls: [" + urls + "]\n    tls {\n" + tls + "    }\n  } ]\n}\n"
        + "uplink { export: [\"up.>\"], import: [\"down.>\"] }\n";
  }

  private static String file(String key, Path p) {
    return "      " + key + ": \"" + p + "\"\n";
  }

  @Test
  void messagesFlowBothWaysOverMutualTls() throws Exception {
    String tls = file("ca_file", certs.caCert) + file("cert_file", certs.clientCert) + file("key_file", certs.clientKey);
    // Two hub URLs, the first one down: the certificate of the one that answers must be checked
    // against its own host (127.0.0.1), not against the first URL's (127.0.0.2, not in the certificate).
    int nobody;
    try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
      nobody = s.getLocalPort();
    }
    String urls = "\"tls://127.0.0.2:" + nobody + "\", \"tls://127.0.0.1:" + hub.leafPort() + "\"";
    try (Gateway edge = UplinkFixture.gateway(tmp.resolve("edge-ok"), remote(tls, urls));
         Connection hubClient = UplinkFixture.connect(hub.clientUrl());
         Connection edgeClient = UplinkFixture.connect("nats://127.0.0.1:" + edge.natsPort())) {
      UplinkFixture.awaitConnected(edge, hub);
      Map<String, Object> leafOpts = hubLeafVarz();
      assertEquals(true, leafOpts.get("tls_required"), "the hub's leafnode listener: " + leafOpts);
      assertEquals(true, leafOpts.get("tls_verify"), "the hub's leafnode listener: " + leafOpts);

      UplinkFixture.assertMessagesFlowBothWays(edge, hub, hubClient, edgeClient);
    }
  }

  /** The leafnode section of the hub's /varz. */
  @SuppressWarnings("unchecked")
  private static Map<String, Object> hubLeafVarz() throws IOException {
    return (Map<String, Object>) Http.getJson(hub.monitorPort(), "/varz").get("leaf");
  }

  @Test
  void withoutAClientCertificateTheLinkStaysDownAndSaysWhy() throws Exception {
    String tls = file("ca_file", certs.caCert);
    try (EdgeProcess edge = new EdgeProcess(tmp.resolve("edge-nocert"), remote(tls)).start()) {
      String why = awaitLastError(edge.httpPort());
      assertTrue(why.contains("TLS") && why.contains("client certificate"), "last error: " + why);
      Await.until(T, () -> edge.log().contains("Uplink: " + why) ? null : "not in the log: " + why);
      assertLocalServiceWorks(edge.url());
      assertEquals("islanded", edge.uplink().get("state"), "state: " + edge.uplink());
    }
  }

  @Test
  void trustingTheWrongCaTheLinkStaysDownAndSaysWhy() throws Exception {
    String tls = file("ca_file", certs.otherCaCert) + file("cert_file", certs.clientCert)
        + file("key_file", certs.clientKey);
    try (Gateway edge = UplinkFixture.gateway(tmp.resolve("edge-wrongca"), remote(tls))) {
      String why = awaitLastError(edge.httpPort());
      assertTrue(why.contains("TLS") && why.contains("ca_file"), "last error: " + why);
      assertLocalServiceWorks("nats://127.0.0.1:" + edge.natsPort());
      assertEquals("islanded", UplinkFixture.uplink(edge).get("state"));
    }
  }

  /** Waits for the uplink to report a last error (after a few attempts) and returns it. */
  @SuppressWarnings("unchecked")
  private static String awaitLastError(int httpPort) {
    String[] why = new String[1];
    Await.until(Duration.ofSeconds(20), () -> {
      try {
        Map<String, Object> u = (Map<String, Object>) Http.getJson(httpPort, "/leafz").get("uplink");
        if ("connected".equals(u.get("state"))) {
          throw new AssertionError("the uplink connected: " + u);
        }
        Object attempts = u.get("reconnect_attempts");
        why[0] = (String) u.get("last_error");
        return why[0] != null && attempts instanceof Number n && n.intValue() >= 2 ? null : "uplink: " + u;
      } catch (IOException e) {
        return e.getMessage();
      }
    });
    return why[0];
  }

  private static void assertLocalServiceWorks(String url) throws Exception {
    try (Connection a = UplinkFixture.connect(url); Connection b = UplinkFixture.connect(url)) {
      Subscription s = b.subscribe("local.x");
      b.flush(T);
      a.publish("local.x", "still serving".getBytes(StandardCharsets.UTF_8));
      Message m = s.nextMessage(T);
      assertNotNull(m, "local pub/sub stopped while the uplink is down");
      assertEquals("still serving", new String(m.getData(), StandardCharsets.UTF_8));
    }
  }
}
