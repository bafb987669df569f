package io.leafgate.it.mqtt;

import io.leafgate.it.harness.Await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leafgate.it.harness.Http;
import io.leafgate.it.harness.TestCerts;
import io.leafgate.leaf.config.ConfigLoader;
import io.leafgate.leaf.config.TlsOptions;
import io.nats.client.Connection;
import io.nats.client.Message;
import io.nats.client.Nats;
import io.nats.client.Subscription;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The MQTT listener with {@code mqtt { tls { ... } }}: real clients (mosquitto_pub/sub, Paho 3.1.1
 * and 5) over TLS, a plain client shut out of the TLS-only port without disturbing the others, and
 * {@code verify: true} refusing clients without a certificate. Two gateways, configured from a
 * config file as a user would: one with server TLS only, one that requires client certificates.
 */
class MqttTlsTest {
  private static final Duration T = Duration.ofSeconds(10);
  @TempDir
  static Path tmp;
  static TestCerts certs;
  static MqttRig tls;
  static MqttRig verify;
  private static int ids;

  @BeforeAll
  static void start() throws Exception {
    certs = TestCerts.create(tmp.resolve("certs"));
    tls = MqttRig.start(tmp.resolve("gw-tls"), o -> o.mqttTls = loadTls("timeout: 1.5"));
    verify = MqttRig.start(tmp.resolve("gw-verify"), o -> o.mqttTls = loadTls("verify: true"));
  }

  /** The mqtt tls block as the config loader reads it from a file, with {@code extra} keys. */
  private static TlsOptions loadTls(String extra) {
    try {
      Path conf = Files.createTempFile(tmp, "mqtt-tls", ".conf");
      Files.writeString(conf, "mqtt {\n  listen: \"127.0.0.1:-1\"\n  tls {\n"
          + "    cert_file: \"" + certs.serverCert + "\"\n"
          + "    key_file: \"" + certs.serverKey + "\"\n"
          + "    ca_file: \"" + certs.caCert + "\"\n"
          + "    " + extra + "\n  }\n}\n");
      TlsOptions t = ConfigLoader.load(conf).mqttTls;
      assertNotNull(t, "no mqtt tls options from " + Files.readString(conf));
      return t;
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  @AfterAll
  static void stop() {
    if (tls != null) {
      tls.close();
    }
    if (verify != null) {
      verify.close();
    }
  }

  private static String id(String base) {
    return base + (++ids);
  }

  private static String sslUrl(MqttRig rig) {
    return "ssl://127.0.0.1:" + rig.mqttPort();
  }

  // ---- mosquitto clients ------------------------------------------------------------------

  private static List<String> mosquitto(String env, String bin, MqttRig rig, String... args) {
    List<String> c = new ArrayList<>();
    c.add(ExternalProcess.binary(env, bin));
    c.addAll(List.of("-h", "127.0.0.1", "-p", Integer.toString(rig.mqttPort()), "--cafile", certs.caCert.toString()));
    c.addAll(List.of(args));
    return c;
  }

  /** Runs mosquitto_pub to its end; returns {exit code, output}. */
  private static Object[] pub(MqttRig rig, String... args) throws Exception {
    Process p = new ProcessBuilder(mosquitto("MOSQUITTO_PUB_PATH", "/usr/bin/mosquitto_pub", rig, args))
        .redirectErrorStream(true).start();
    assertTrue(p.waitFor(15, TimeUnit.SECONDS), "mosquitto_pub hung");
    return new Object[] {p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8)};
  }

  private static Process sub(MqttRig rig, Path out, String subject, String... args) throws Exception {
    Process p = new ProcessBuilder(mosquitto("MOSQUITTO_SUB_PATH", "/usr/bin/mosquitto_sub", rig, args))
        .redirectErrorStream(true).redirectOutput(out.toFile()).start();
    Await.until(T, () -> {
      if (!p.isAlive()) {
        return "mosquitto_sub exited: " + read(out);
      }
      return subscriptions(rig, subject) > 0 ? null : "no subscription matching " + subject + " yet";
    });
    return p;
  }

  private static String read(Path f) {
    try {
      return Files.exists(f) ? Files.readString(f) : "";
    } catch (IOException e) {
      return e.toString();
    }
  }

  private static int subscriptions(MqttRig rig, String subject) {
    try {
      return ((Number) Http.getJson(rig.gateway().httpPort(), "/subsz?test=" + subject).get("total")).intValue();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  @Test
  void mosquittoClientsPublishAndSubscribeOverTls() throws Exception {
    String t = id("tlsmq");
    Path out = tmp.resolve(t + ".out");
    Process s = sub(tls, out, t + ".x", "-t", t + "/#", "-q", "1", "-C", "2", "-v");
    Object[] r0 = pub(tls, "-t", t + "/x", "-m", "q0", "-q", "0");
    assertEquals(0, r0[0], "mosquitto_pub over TLS: " + r0[1]);
    Object[] r1 = pub(tls, "-t", t + "/x", "-m", "q1", "-q", "1", "-V", "5");
    assertEquals(0, r1[0], "mosquitto_pub -V 5 over TLS: " + r1[1]);
    assertTrue(s.waitFor(10, TimeUnit.SECONDS), "mosquitto_sub did not get both messages: " + read(out));
    assertEquals(List.of(t + "/x q0", t + "/x q1"), read(out).lines().toList());
  }

  @Test
  void mosquittoPubWithoutTlsOptionsCannotPublishToTheTlsPort() throws Exception {
    String t = id("tlsplain");
    try (Connection nc = Nats.connect(tls.natsUrl())) {
      Subscription ns = nc.subscribe(t + ".>");
      nc.flush(T);
      // No --cafile: mosquitto_pub speaks plain MQTT and the listener closes the connection.
      List<String> cmd = new ArrayList<>(List.of(ExternalProcess.binary("MOSQUITTO_PUB_PATH", "/usr/bin/mosquitto_pub"),
          "-h", "127.0.0.1", "-p", Integer.toString(tls.mqttPort()), "-t", t + "/x", "-m", "plain", "-q", "1"));
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      assertTrue(p.waitFor(15, TimeUnit.SECONDS), "mosquitto_pub hung on a TLS port");
      assertNotEquals(0, p.exitValue(), "plain mosquitto_pub succeeded on a TLS-only port");
      assertEquals(null, ns.nextMessage(Duration.ofMillis(300)), "a plain publish got through the TLS port");
    }
  }

  // ---- Paho -------------------------------------------------------------------------------

  @Test
  void pahoV3QosOnePublishOverTlsReachesNatsAndMqttSubscribers() throws Exception {
    String t = id("tlsv3");
    try (Connection nc = Nats.connect(tls.natsUrl());
        PahoV3 sub = PahoV3.connect(sslUrl(tls), id("v3sub"), o -> socketFactory(o, false));
        PahoV3 pub = PahoV3.connect(sslUrl(tls), id("v3pub"), o -> socketFactory(o, false))) {
      Subscription ns = nc.subscribe(t + ".>");
      nc.flush(T);
      assertEquals(1, sub.subscribe(t + "/#", 1)[0]);
      pub.publish(t + "/temp", "21.5", 1); // returns once the PUBACK came
      Message m = ns.nextMessage(T);
      assertNotNull(m, "the NATS subscriber got nothing");
      assertEquals(t + ".temp", m.getSubject());
      assertEquals("21.5", new String(m.getData(), StandardCharsets.UTF_8));
      PahoV3.Received r = sub.next();
      assertEquals(t + "/temp", r.topic());
      assertEquals("21.5", r.payload());
      assertEquals(1, r.qos());
    }
  }

  private static void socketFactory(org.eclipse.paho.client.mqttv3.MqttConnectOptions o, boolean clientCert) {
    try {
      o.setSocketFactory(clientCert ? certs.clientCertFactory() : certs.trustingFactory());
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static void socketFactoryV5(org.eclipse.paho.mqttv5.client.MqttConnectionOptions o, boolean clientCert) {
    try {
      o.setSocketFactory(clientCert ? certs.clientCertFactory() : certs.trustingFactory());
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  @Test
  void pahoV5OverTlsBothWaysWithNats() throws Exception {
    String t = id("tlsv5");
    try (Connection nc = Nats.connect(tls.natsUrl());
        PahoV5 c = PahoV5.connect(sslUrl(tls), id("v5"), o -> socketFactoryV5(o, false))) {
      Subscription ns = nc.subscribe(t + ".up");
      nc.flush(T);
      assertEquals(1, c.subscribe(t + "/down", 1)[0]);
      int[] ack = c.publish(t + "/up", "hello hub", 1, false, null);
      assertEquals(0, ack[0], "PUBACK reason");
      Message m = ns.nextMessage(T);
      assertNotNull(m);
      assertEquals("hello hub", new String(m.getData(), StandardCharsets.UTF_8));
      nc.publish(t + ".down", "hello device".getBytes(StandardCharsets.UTF_8));
      PahoV5.Received r = c.next();
      assertEquals(t + "/down", r.topic());
      assertEquals("hello device", r.payload());
    }
  }

  @Test
  void pahoV5RefusesTheServerWhenItDoesNotTrustTheCa() throws Exception {
    // The JDK's default trust store does not know the test CA: the client must refuse the server.
    javax.net.ssl.SSLSocketFactory jdkDefault = javax.net.ssl.SSLContext.getDefault().getSocketFactory();
    Exception e = assertThrows(Exception.class, () -> PahoV5.connect(sslUrl(tls), id("v5untrusting"),
        o -> o.setSocketFactory(jdkDefault)).close());
    assertTrue(chain(e).contains("PKIX") || chain(e).contains("certificate"), chain(e));
  }

  private static String chain(Throwable e) {
    StringBuilder b = new StringBuilder();
    for (Throwable t = e; t != null; t = t.getCause()) {
      b.append(t).append(" / ");
    }
    return b.toString();
  }

  // ---- a plain client on the TLS port -----------------------------------------------------

  @Test
  void plainTcpClientIsClosedWithoutAffectingTlsClients() throws Exception {
    String t = id("tlsneighbour");
    long failuresBefore = handshakeFailures(tls);
    try (PahoV5 c = PahoV5.connect(sslUrl(tls), id("v5neighbour"), o -> socketFactoryV5(o, false))) {
      assertEquals(1, c.subscribe(t + "/#", 1)[0]);
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress("127.0.0.1", tls.mqttPort()), 5000);
        s.setSoTimeout(10_000);
        OutputStream out = s.getOutputStream();
        // An MQTT 3.1.1 CONNECT in clear text, client id "p".
        out.write(new byte[] {0x10, 0x0d, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0x02, 0x00, 0x3c, 0x00, 0x01, 'p'});
        out.flush();
        assertEquals(-1, readUntilClosed(s.getInputStream()), "the TLS port answered a plain CONNECT");
      }
      Await.until(T, () -> handshakeFailures(tls) > failuresBefore ? null : "no handshake failure counted yet");
      // The TLS client next to it carries on.
      c.publish(t + "/after", "still here", 1);
      assertEquals("still here", c.next().payload());
      assertEquals(null, c.disconnected, "the TLS client was disconnected");
    }
  }

  /** Reads until the server closes (-1); a reset counts as closed too. Returns the last read. */
  private static int readUntilClosed(InputStream in) throws IOException {
    byte[] buf = new byte[1024];
    int n;
    try {
      while ((n = in.read(buf)) > 0) {
        // a TLS alert may come first
      }
    } catch (SocketException reset) {
      return -1;
    }
    return n;
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> varzMqtt(MqttRig rig) {
    try {
      return (Map<String, Object>) Http.getJson(rig.gateway().httpPort(), "/varz").get("mqtt");
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private static long handshakeFailures(MqttRig rig) {
    return ((Number) varzMqtt(rig).get("tls_handshake_failures")).longValue();
  }

  @Test
  void idleClientThatNeverHandshakesIsClosedAfterTheTlsTimeout() throws Exception {
    long failuresBefore = handshakeFailures(tls);
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", tls.mqttPort()), 5000);
      s.setSoTimeout(10_000);
      long t0 = System.nanoTime();
      assertEquals(-1, readUntilClosed(s.getInputStream()));
      long ms = (System.nanoTime() - t0) / 1_000_000;
      assertTrue(ms >= 1_000 && ms < 5_000, "closed after " + ms + " ms, with timeout: 1.5 in the config");
    }
    // The TLS timeout (1.5 s) ends it before the MQTT CONNECT timeout (2 s) would.
    Await.until(T, () -> handshakeFailures(tls) > failuresBefore ? null : "no handshake failure counted yet");
  }

  @Test
  void varzReportsTls() {
    Map<String, Object> m = varzMqtt(tls);
    assertEquals(1.5, ((Number) m.get("tls_timeout")).doubleValue(), 1e-9);
    assertEquals(true, m.get("tls_required"));
    assertEquals(false, m.get("tls_verify"));
    Map<String, Object> v = varzMqtt(verify);
    assertEquals(2.0, ((Number) v.get("tls_timeout")).doubleValue(), 1e-9, "nats-server's default tls timeout");
    assertEquals(true, v.get("tls_verify"));
  }

  // ---- verify: true -----------------------------------------------------------------------

  @Test
  void verifyAcceptsClientCertificatesSignedByTheCa() throws Exception {
    String t = id("tlsverify");
    Path out = tmp.resolve(t + ".out");
    Process s = sub(verify, out, t + ".x", "-t", t + "/x", "-q", "1", "-C", "2",
        "--cert", certs.clientCert.toString(), "--key", certs.clientKey.toString());
    Object[] r = pub(verify, "-t", t + "/x", "-m", "from-mosquitto", "-q", "1",
        "--cert", certs.clientCert.toString(), "--key", certs.clientKey.toString());
    assertEquals(0, r[0], "mosquitto_pub with a client certificate: " + r[1]);
    try (PahoV5 c = PahoV5.connect(sslUrl(verify), id("v5cert"), o -> socketFactoryV5(o, true))) {
      assertEquals(0, c.publish(t + "/x", "from-paho", 1, false, null)[0]);
    }
    assertTrue(s.waitFor(10, TimeUnit.SECONDS), "mosquitto_sub did not get both messages: " + read(out));
    assertEquals(List.of("from-mosquitto", "from-paho"), read(out).lines().toList());
  }

  @Test
  void verifyRefusesClientsWithoutACertificate() throws Exception {
    String t = id("tlsnocert");
    long failuresBefore = handshakeFailures(verify);
    try (Connection nc = Nats.connect(verify.natsUrl())) {
      Subscription ns = nc.subscribe(t + ".>");
      nc.flush(T);
      Object[] r = pub(verify, "-t", t + "/x", "-m", "no-cert", "-q", "1");
      assertNotEquals(0, r[0], "mosquitto_pub without a client certificate was let in: " + r[1]);
      assertThrows(Exception.class, () -> {
        try (PahoV5 c = PahoV5.connect(sslUrl(verify), id("v5nocert"), o -> socketFactoryV5(o, false))) {
          // TLS 1.3: the server checks the certificate after the client's Finished, so a refused
          // client may believe it is connected until its first exchange.
          c.publish(t + "/x", "no-cert", 1, false, null);
        }
      });
      assertThrows(Exception.class, () -> {
        try (PahoV3 c = PahoV3.connect(sslUrl(verify), id("v3nocert"), o -> socketFactory(o, false))) {
          c.publish(t + "/x", "no-cert", 1);
        }
      });
      assertEquals(null, ns.nextMessage(Duration.ofMillis(300)), "a client without a certificate published");
    }
    Await.until(T, () -> handshakeFailures(verify) >= failuresBefore + 3 ? null
        : "handshake failures counted: " + (handshakeFailures(verify) - failuresBefore) + " of 3");
  }
}
