package io.leafgate.it.clients;

import io.leafgate.it.harness.Await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leafgate.it.harness.GatewayCommand;
import io.leafgate.it.harness.TestCerts;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
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
 * The top-level {@code tls} block as an operator meets it, with the gateway run as a process (the
 * built distribution): a bad block is exit code 78 with every error at file:line and nothing
 * started; a good one writes {@code tls://} in the ports file and logs a client that does not do
 * TLS as one INFO sentence with the connection id.
 */
class NatsTlsConfigTest {
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
        "tls {",
        "  cert_file: \"" + certs.serverCert + "\"",
        "  key_file: \"" + certs.clientKey + "\"",
        "  ca_file: \"" + dir.resolve("missing-ca.pem") + "\"",
        "  verfy: true",
        "  cipher_suites: [\"TLS_AES_128_GCM_SHA256\"]",
        "}",
        ""));
    Path log = dir.resolve("leafgate.log");
    Process p = GatewayCommand.start(config, log, "run");
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "leafgate did not exit");
    String out = GatewayCommand.read(log);
    assertEquals(78, p.exitValue(), "exit code; output:\n" + out);
    assertTrue(out.contains(config + ":6: tls key_file \"" + certs.clientKey + "\": does not match the certificate"),
        "a key of another certificate:\n" + out);
    assertTrue(out.contains(config + ":7: tls ca_file \"" + dir.resolve("missing-ca.pem") + "\": no such file"),
        "missing ca_file:\n" + out);
    assertTrue(out.contains(config + ":8: unknown field \"verfy\" in tls"), "misspelt key:\n" + out);
    assertTrue(out.contains(config + ":9: \"cipher_suites\" in tls is a nats-server setting that leafgate does not"
        + " support"), "unsupported key:\n" + out);
    assertTrue(out.contains("4 configuration error(s); nothing was started"), out);
    try (var files = Files.exists(dir.resolve("store")) ? Files.list(dir.resolve("store"))
        : java.util.stream.Stream.<Path>empty()) {
      assertEquals(List.of(), files.filter(f -> f.toString().endsWith(".ports")).toList(), "something started");
    }
  }

  @Test
  void plainClientIsLoggedOnceWithTheConnectionIdAndThePortsFileSaysTls(@TempDir Path dir) throws Exception {
    Path config = dir.resolve("site.conf");
    Files.writeString(config, "listen: \"127.0.0.1:-1\"\nhttp_port: -1\nstore_dir: \"" + dir.resolve("store") + "\"\n"
        + "mqtt { port: 0 }\n"
        + "tls {\n  cert_file: \"" + certs.serverCert + "\"\n  key_file: \"" + certs.serverKey + "\"\n}\n");
    Path log = dir.resolve("leafgate.log");
    Process p = GatewayCommand.start(config, log, "run");
    try {
      URI nats = GatewayCommand.awaitPort(p, dir.resolve("store"), log, "nats");
      assertEquals("tls", nats.getScheme(), "nats-server writes tls:// for a TLS client port: " + nats);
      assertTrue(GatewayCommand.read(log).contains("Listening for NATS clients on 127.0.0.1:" + nats.getPort() + ", TLS required"),
          GatewayCommand.read(log));
      int localPort;
      String info;
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress("127.0.0.1", nats.getPort()), 5000);
        s.setSoTimeout(10_000);
        localPort = s.getLocalPort();
        InputStream in = s.getInputStream();
        StringBuilder line = new StringBuilder();
        int c;
        while ((c = in.read()) >= 0 && c != '\n') {
          line.append((char) c);
        }
        info = line.toString();
        s.getOutputStream().write("CONNECT {}\r\nPING\r\n".getBytes(StandardCharsets.US_ASCII));
        try {
          while (in.read() >= 0) {
            // until closed
          }
        } catch (java.net.SocketException reset) {
          // closed too
        }
      }
      assertTrue(info.startsWith("INFO {") && info.contains("\"tls_required\":true"), info);
      String expected = "client 127.0.0.1:" + localPort + " closed: TLS handshake failed: the client did not start TLS";
      Await.until(Duration.ofSeconds(10), () -> GatewayCommand.read(log).contains(expected) ? null : "not logged yet: " + expected);
      Matcher m = Pattern.compile("INFO.*cid=\\d+ " + Pattern.quote(expected)).matcher(GatewayCommand.read(log));
      assertTrue(m.find(), "not one INFO sentence with a connection id:\n" + GatewayCommand.read(log));
      assertFalse(m.find(), "logged more than once:\n" + GatewayCommand.read(log));
      assertFalse(GatewayCommand.read(log).contains("ERROR"), "an error was logged:\n" + GatewayCommand.read(log));
      assertFalse(GatewayCommand.read(log).contains("\tat "), "a stack trace was logged:\n" + GatewayCommand.read(log));
    } finally {
      p.destroy();
      if (!p.waitFor(20, TimeUnit.SECONDS)) {
        p.destroyForcibly();
      }
    }
  }
}
