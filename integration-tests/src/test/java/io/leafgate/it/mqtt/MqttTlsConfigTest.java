package io.leafgate.it.mqtt;

import io.leafgate.it.harness.Await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leafgate.it.harness.GatewayCommand;
import io.leafgate.it.harness.TestCerts;
import io.leafgate.leaf.config.ConfigLoader;
import io.leafgate.leaf.config.TlsOptions;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code mqtt { tls }} block as an operator meets it: the gateway run as a process (the built
 * distribution) refuses a bad block with exit code 78 and every error at file:line, and logs a
 * failed handshake as one sentence with the connection id; keys in the older PEM forms OpenSSL
 * writes (PKCS#1 RSA, SEC 1 EC) work as well as PKCS#8.
 */
class MqttTlsConfigTest {
  @TempDir
  static Path tmp;
  static TestCerts certs;

  @BeforeAll
  static void makeCerts() throws Exception {
    certs = TestCerts.create(tmp.resolve("certs"));
  }

  @Test
  void badTlsBlockIsExit78WithEveryErrorAtFileAndLine(@TempDir Path dir) throws Exception {
    Path config = dir.resolve("site.conf");
    Files.writeString(config, String.join("\n",
        "port: -1",
        "http_port: -1",
        "store_dir: \"" + dir.resolve("store") + "\"",
        "mqtt {",
        "  listen: \"127.0.0.1:-1\"",
        "  tls {",
        "    cert_file: \"" + dir.resolve("missing.pem") + "\"",
        "    key_file: \"" + certs.serverCert + "\"",
        "    ca_file: \"" + certs.caCert + "\"",
        "    verfy: true",
        "    timeout: 0",
        "  }",
        "}",
        ""));
    Path log = dir.resolve("leafgate.log");
    Process p = GatewayCommand.start(config, log, "run");
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "leafgate did not exit");
    String out = Files.readString(log);
    assertEquals(78, p.exitValue(), "exit code; output:\n" + out);
    assertTrue(out.contains(config + ":7: mqtt.tls cert_file \"" + dir.resolve("missing.pem") + "\": no such file"),
        "missing cert_file:\n" + out);
    assertTrue(out.contains(config + ":8: mqtt.tls key_file \"" + certs.serverCert + "\": holds a certificate, not a"
        + " private key"), "a certificate given as key_file:\n" + out);
    assertTrue(out.contains(config + ":10: unknown field \"verfy\" in mqtt.tls"), "misspelt key:\n" + out);
    assertTrue(out.contains(config + ":11: \"timeout\" must be greater than zero"), "timeout 0:\n" + out);
    assertTrue(out.contains("4 configuration error(s); nothing was started"), out);
    try (var files = Files.exists(dir.resolve("store")) ? Files.list(dir.resolve("store")) : java.util.stream.Stream.<Path>empty()) {
      assertEquals(List.of(), files.filter(f -> f.toString().endsWith(".ports")).toList(), "something started");
    }
  }

  @Test
  void keyOfAnotherCertificateIsAConfigError(@TempDir Path dir) throws Exception {
    Path config = dir.resolve("site.conf");
    Files.writeString(config, "mqtt {\n  tls {\n    cert_file: \"" + certs.serverCert + "\"\n    key_file: \""
        + certs.clientKey + "\"\n  }\n}\n");
    Path log = dir.resolve("check.log");
    Process p = GatewayCommand.start(config, log, "check");
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "leafgate check did not exit");
    String out = Files.readString(log);
    assertEquals(78, p.exitValue(), out);
    assertTrue(out.contains(config + ":4: mqtt.tls key_file \"" + certs.clientKey + "\": does not match the certificate"),
        out);
  }

  @Test
  void failedHandshakeIsLoggedOnceWithTheConnectionId(@TempDir Path dir) throws Exception {
    Path config = dir.resolve("site.conf");
    Files.writeString(config, "port: -1\nhttp_port: -1\nstore_dir: \"" + dir.resolve("store") + "\"\n"
        + "mqtt {\n  listen: \"127.0.0.1:-1\"\n  tls {\n    cert_file: \"" + certs.serverCert + "\"\n"
        + "    key_file: \"" + certs.serverKey + "\"\n  }\n}\n");
    Path log = dir.resolve("leafgate.log");
    Process p = GatewayCommand.start(config, log, "run");
    try {
      URI mqtt = GatewayCommand.awaitPort(p, dir.resolve("store"), log, "mqtt");
      assertEquals("mqtts", mqtt.getScheme(), "the ports file names the TLS listener");
      assertTrue(GatewayCommand.read(log).contains("Listening for MQTT clients on 127.0.0.1:" + mqtt.getPort() + ", TLS only"),
          GatewayCommand.read(log));
      int localPort;
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress("127.0.0.1", mqtt.getPort()), 5000);
        localPort = s.getLocalPort();
        s.getOutputStream().write(new byte[] {0x10, 0x0d, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0x02, 0x00, 0x3c,
            0x00, 0x01, 'p'});
        s.setSoTimeout(10_000);
        InputStream in = s.getInputStream();
        try {
          while (in.read() >= 0) {
            // until closed
          }
        } catch (java.net.SocketException reset) {
          // closed too
        }
      }
      String expected = "mqtt client 127.0.0.1:" + localPort + " closed: TLS handshake failed: the client did not start TLS";
      Await.until(Duration.ofSeconds(10), () -> GatewayCommand.read(log).contains(expected) ? null : "not logged yet: " + expected);
      Matcher m = Pattern.compile("cid=\\d+ " + Pattern.quote(expected)).matcher(GatewayCommand.read(log));
      assertTrue(m.find(), "the sentence has no connection id:\n" + GatewayCommand.read(log));
      assertTrue(!m.find(), "logged more than once:\n" + GatewayCommand.read(log));
      assertTrue(!GatewayCommand.read(log).contains("ERROR"), "an error was logged:\n" + GatewayCommand.read(log));
    } finally {
      p.destroy();
      if (!p.waitFor(20, TimeUnit.SECONDS)) {
        p.destroyForcibly();
      }
    }
  }

  @Test
  void olderPemKeyFormatsWork(@TempDir Path dir) throws Exception {
    // PKCS#1 ("BEGIN RSA PRIVATE KEY"): the server key rewritten in the traditional form.
    Path rsa = dir.resolve("server-rsa-pkcs1.pem");
    certs.openssl("rsa", "-in", certs.serverKey.toString(), "-traditional", "-out", rsa.toString());
    assertTrue(Files.readString(rsa).contains("BEGIN RSA PRIVATE KEY"));
    // SEC 1 ("BEGIN EC PRIVATE KEY"): a P-256 server key with its own certificate from the CA.
    Path ec = dir.resolve("server-ec.pem");
    Path ecCsr = dir.resolve("server-ec.csr");
    Path ecCert = dir.resolve("server-ec-cert.pem");
    Path ext = dir.resolve("server-ec.ext");
    Files.writeString(ext, "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
    certs.openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", ec.toString());
    assertTrue(Files.readString(ec).contains("BEGIN EC PRIVATE KEY"));
    certs.openssl("req", "-new", "-key", ec.toString(), "-out", ecCsr.toString(), "-subj", "/CN=localhost");
    certs.openssl("x509", "-req", "-in", ecCsr.toString(), "-CA", certs.caCert.toString(), "-CAkey",
        certs.caKey.toString(), "-CAcreateserial", "-out", ecCert.toString(), "-days", "2", "-extfile", ext.toString());

    for (Path[] pair : List.of(new Path[] {certs.serverCert, rsa}, new Path[] {ecCert, ec})) {
      Path conf = dir.resolve("k" + pair[1].getFileName() + ".conf");
      Files.writeString(conf, "mqtt { tls { cert_file: \"" + pair[0] + "\", key_file: \"" + pair[1] + "\" } }\n");
      TlsOptions t = ConfigLoader.load(conf).mqttTls;
      assertNotNull(t);
      try (MqttRig rig = MqttRig.start(dir.resolve("gw-" + pair[1].getFileName()), o -> o.mqttTls = t);
          PahoV5 c = PahoV5.connect("ssl://127.0.0.1:" + rig.mqttPort(), "pem-" + pair[1].getFileName(), o -> {
            try {
              o.setSocketFactory(certs.trustingFactory());
            } catch (Exception e) {
              throw new IllegalStateException(e);
            }
          })) {
        // 0x10 "no matching subscribers" is a success code: the publish went through TLS and was acked.
        int reason = c.publish("pem/check", "ok", 1, false, null)[0];
        assertTrue(reason == 0 || reason == 0x10, "PUBACK reason " + reason + " with key " + pair[1].getFileName());
      }
    }
  }
}
