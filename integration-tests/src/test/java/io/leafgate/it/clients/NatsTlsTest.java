package io.leafgate.it.clients;

import io.leafgate.it.harness.Await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.jr.ob.JSON;
import io.leafgate.it.harness.GatewayUnderTest;
import io.leafgate.it.harness.Http;
import io.leafgate.it.harness.NatsServerProcess;
import io.leafgate.it.harness.TestCerts;
import io.leafgate.leaf.config.ConfigLoader;
import io.leafgate.leaf.config.ServerOptions;
import io.nats.client.Connection;
import io.nats.client.Dispatcher;
import io.nats.client.ErrorListener;
import io.nats.client.Message;
import io.nats.client.Nats;
import io.nats.client.Options;
import io.nats.client.Subscription;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The NATS client port with a top-level {@code tls { ... }} block, against real clients: jnats and
 * nats.js over TLS (pub/sub, request/reply), a plain client refused next to a TLS client that keeps
 * working, {@code verify: true} refusing a client without a certificate, and the same clients
 * against a real nats-server with the same certificate files, which must agree on the INFO's TLS
 * fields and on who gets in.
 */
class NatsTlsTest {
  private static final Duration T = Duration.ofSeconds(10);
  @TempDir
  static Path tmp;
  static TestCerts certs;
  static GatewayUnderTest tls;
  static GatewayUnderTest verify;
  static NatsServerProcess natsTls;
  static NatsServerProcess natsVerify;
  private static final AtomicInteger ids = new AtomicInteger();

  @BeforeAll
  static void start() throws Exception {
    certs = TestCerts.create(tmp.resolve("certs"));
    tls = GatewayUnderTest.start(tmp.resolve("gw-tls"), o -> fromFile(o, "timeout: 1.5"));
    verify = GatewayUnderTest.start(tmp.resolve("gw-verify"), o -> fromFile(o, "verify: true"));
    natsTls = NatsServerProcess.builder(tmp.resolve("nats-tls")).extraConfig(tlsBlock("timeout: 1.5")).start();
    natsVerify = NatsServerProcess.builder(tmp.resolve("nats-verify")).extraConfig(tlsBlock("verify: true")).start();
  }

  @AfterAll
  static void stop() {
    for (AutoCloseable c : new AutoCloseable[] {tls, verify, natsTls, natsVerify}) {
      try {
        if (c != null) {
          c.close();
        }
      } catch (Exception e) {
        // the others still get closed
      }
    }
  }

  /** The same block for both servers: leafgate reads it as nats-server does. */
  private static String tlsBlock(String extra) {
    return "tls {\n  cert_file: \"" + certs.serverCert + "\"\n  key_file: \"" + certs.serverKey + "\"\n"
        + "  ca_file: \"" + certs.caCert + "\"\n  " + extra + "\n}\n";
  }

  /** The test gateway's options with the tls block and the auth timeout that comes with it. */
  private static void fromFile(ServerOptions o, String extra) {
    ServerOptions loaded = load(extra);
    o.tls = loaded.tls;
    o.authTimeout = loaded.authTimeout;
  }

  /** The tls block through the config loader, from a file, as a user would write it. */
  private static ServerOptions load(String extra) {
    try {
      Path conf = Files.createTempFile(tmp, "tls", ".conf");
      Files.writeString(conf, tlsBlock(extra));
      ServerOptions o = ConfigLoader.load(conf);
      assertNotNull(o.tls, "no tls options from " + Files.readString(conf));
      return o;
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static String id(String base) {
    return base + ids.incrementAndGet();
  }

  private static Options.Builder options(int port) {
    return new Options.Builder().server("nats://127.0.0.1:" + port).connectionTimeout(Duration.ofSeconds(5))
        .maxReconnects(0).noReconnect();
  }

  /** A jnats connection trusting the test CA, with the client certificate if {@code clientCert}. */
  private static Connection tlsClient(int port, boolean clientCert) throws Exception {
    SSLContext ctx = certs.context(clientCert);
    return Nats.connect(options(port).sslContext(ctx).build());
  }

  private static Connection plainClient(int port) throws Exception {
    return Nats.connect(options(port).build());
  }

  /** Publishes on a fresh subject from {@code pub} and expects {@code sub} to get it. */
  private static void roundTrip(Connection sub, Connection pub) throws Exception {
    String subject = id("tls.rt.");
    Subscription s = sub.subscribe(subject);
    sub.flush(T);
    pub.publish(subject, "over tls".getBytes(StandardCharsets.UTF_8));
    pub.flush(T);
    Message m = s.nextMessage(T);
    assertNotNull(m, "no message on " + subject);
    assertEquals("over tls", new String(m.getData(), StandardCharsets.UTF_8));
    s.unsubscribe();
  }

  // ---- jnats over TLS ---------------------------------------------------------------------

  @Test
  void jnatsPubSubAndRequestReplyOverTls() throws Exception {
    try (Connection a = tlsClient(tls.natsPort(), false); Connection b = tlsClient(tls.natsPort(), false)) {
      assertTrue(a.getServerInfo().isTLSRequired(), "INFO has no tls_required");
      String info = rawPlainConnect(tls.natsPort()).info();
      assertFalse(info.contains("tls_verify"), "INFO says tls_verify without verify: " + info);
      roundTrip(a, b);
      String subject = id("tls.svc.");
      Dispatcher d = a.createDispatcher(m -> a.publish(m.getReplyTo(),
          ("echo " + new String(m.getData(), StandardCharsets.UTF_8)).getBytes(StandardCharsets.UTF_8)));
      d.subscribe(subject);
      a.flush(T);
      Message reply = b.request(subject, "ping".getBytes(StandardCharsets.UTF_8), T);
      assertNotNull(reply, "no reply over TLS");
      assertEquals("echo ping", new String(reply.getData(), StandardCharsets.UTF_8));

      // Monitoring: nats-server's names for the listener's TLS settings and each connection's TLS.
      Map<String, Object> varz = Http.getJson(tls.httpPort(), "/varz");
      assertEquals(true, varz.get("tls_required"), "varz: " + varz);
      assertNull(varz.get("tls_verify"), "tls_verify without verify");
      assertEquals(1.5, ((Number) varz.get("tls_timeout")).doubleValue());
      assertEquals(2.5, ((Number) varz.get("auth_timeout")).doubleValue(), "nats-server: tls timeout + 1 s");
      List<?> conns = (List<?>) Http.getJson(tls.httpPort(), "/connz").get("connections");
      assertFalse(conns.isEmpty());
      for (Object o : conns) {
        Map<?, ?> c = (Map<?, ?>) o;
        assertTrue(String.valueOf(c.get("tls_version")).matches("1\\.[23]"), "tls_version: " + c);
        assertTrue(String.valueOf(c.get("tls_cipher_suite")).startsWith("TLS_"), "tls_cipher_suite: " + c);
      }
    }
    Map<String, Object> verifyVarz = Http.getJson(verify.httpPort(), "/varz");
    assertEquals(true, verifyVarz.get("tls_verify"), "varz: " + verifyVarz);
    assertEquals(2L, ((Number) verifyVarz.get("tls_timeout")).longValue(), "the default tls timeout");
  }

  @Test
  void plainJnatsIsRefusedWhileATlsClientKeepsWorking() throws Exception {
    try (Connection a = tlsClient(tls.natsPort(), false); Connection b = tlsClient(tls.natsPort(), false)) {
      roundTrip(a, b);
      long failuresBefore = closedWithTlsFailure(tls);
      List<String> said = new CopyOnWriteArrayList<>();
      ErrorListener listener = new ErrorListener() {
        @Override
        public void exceptionOccurred(Connection conn, Exception exp) {
          said.add(messages(exp));
        }
      };
      IOException e = assertThrows(IOException.class, () -> Nats.connect(options(tls.natsPort())
          .errorListener(listener).build()).close());
      // jnats reads the INFO, sees tls_required without an SSL context of its own, and gives up.
      assertTrue(said.stream().anyMatch(m -> m.contains("SSL required by server")), "jnats said: " + said + " then " + messages(e));
      // A raw client that ignores tls_required and speaks plain NATS is closed, unanswered.
      RawResult raw = rawPlainConnect(tls.natsPort());
      assertTrue(raw.info().contains("\"tls_required\":true"), raw.info());
      assertFalse(raw.after().contains("PONG") || raw.after().contains("+OK"), "answered in plain text: " + raw.after());
      assertTrue(raw.closed(), "the plain connection stayed open");
      Await.until(T, () -> closedWithTlsFailure(tls) >= failuresBefore + 2 ? null
          : "closed connections with \"TLS Handshake Failure\": " + closedWithTlsFailure(tls) + ", before "
          + failuresBefore + "; closed: " + closedReasons(tls));
      roundTrip(b, a);
      assertTrue(a.getStatus() == Connection.Status.CONNECTED && b.getStatus() == Connection.Status.CONNECTED);
    }
  }

  @Test
  void aClientThatNeverStartsTheHandshakeIsClosedAfterTheTlsTimeout() throws Exception {
    long failuresBefore = closedWithTlsFailure(tls);
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", tls.natsPort()), 5000);
      s.setSoTimeout((int) T.toMillis());
      InputStream in = s.getInputStream();
      String info = readLine(in);
      assertTrue(info.contains("\"tls_required\":true"), info);
      long start = System.nanoTime();
      boolean closed;
      try {
        closed = in.read() < 0;
      } catch (SocketException reset) {
        closed = true;
      }
      long millis = (System.nanoTime() - start) / 1_000_000;
      assertTrue(closed, "the server sent something instead of closing");
      // timeout: 1.5 in the block; allow for a slow machine above, never below.
      assertTrue(millis >= 1400, "closed after " + millis + " ms, before the 1.5 s timeout");
    }
    Await.until(T, () -> closedWithTlsFailure(tls) > failuresBefore ? null : "not closed as a TLS Handshake Failure: "
        + closedReasons(tls));
  }

  private static long closedWithTlsFailure(GatewayUnderTest gw) {
    try {
      List<?> conns = (List<?>) Http.getJson(gw.httpPort(), "/connz?state=closed").get("connections");
      return conns.stream().filter(c -> "TLS Handshake Failure".equals(((Map<?, ?>) c).get("reason"))).count();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String closedReasons(GatewayUnderTest gw) {
    try {
      return Http.get(gw.httpPort(), "/connz?state=closed");
    } catch (IOException e) {
      return e.toString();
    }
  }

  private static String messages(Throwable t) {
    StringBuilder b = new StringBuilder();
    for (Throwable c = t; c != null; c = c.getCause()) {
      b.append(c).append(" / ");
    }
    return b.toString();
  }

  @Test
  void verifyRefusesAClientWithoutACertificate() throws Exception {
    try (Connection withCert = tlsClient(verify.natsPort(), true); Connection other = tlsClient(verify.natsPort(), true)) {
      String info = rawPlainConnect(verify.natsPort()).info();
      assertTrue(info.contains("\"tls_verify\":true"), "INFO has no tls_verify: " + info);
      long failuresBefore = closedWithTlsFailure(verify);
      // With TLS 1.3 jnats may see the refusal only after its side of the handshake: either way it
      // does not get a working connection.
      assertFalse(works(() -> tlsClient(verify.natsPort(), false)), "a client without a certificate got in");
      Await.until(T, () -> closedWithTlsFailure(verify) > failuresBefore ? null
          : "no connection closed with \"TLS Handshake Failure\": " + closedReasons(verify));
      roundTrip(withCert, other);
    }
  }

  // ---- nats.js ----------------------------------------------------------------------------

  @Test
  void natsJsConnectsWithTheCaAndAClientWithoutItIsRefused() throws Exception {
    Optional<Path> node = ExternalProcess.onPath("node");
    ExternalProcess.assumeAvailable(node.isPresent(), "node is not on PATH");
    Path js = ExternalProcess.moduleDir().resolve("js");
    ExternalProcess.assumeAvailable(Files.isDirectory(js.resolve("node_modules/nats")),
        "the nats package is not installed: run `npm ci` in " + js);
    // The same script against leafgate and against nats-server: same checks, same results.
    for (int port : new int[] {tls.natsPort(), natsTls.port()}) {
      try (ExternalProcess p = ExternalProcess.start(List.of(node.get().toString(), "tls.js",
          "nats://127.0.0.1:" + port, certs.caCert.toString()), js, tmp.resolve("node-" + port + ".log"))) {
        int code = p.waitFor(Duration.ofSeconds(60));
        String out = p.output();
        String who = port == tls.natsPort() ? "leafgate" : "nats-server";
        assertEquals(0, code, "node tls.js against " + who + " exited with " + code + ":\n" + out);
        for (String check : List.of("tls-pubsub", "tls-request-reply", "client-without-ca-refused")) {
          assertTrue(out.lines().anyMatch(l -> l.startsWith("ok " + check + " ")), who + ": " + check + ":\n" + out);
        }
      }
    }
  }

  // ---- against nats-server ----------------------------------------------------------------

  @Test
  void sameInfoAndSameClientsGetInAsWithNatsServer() throws Exception {
    for (boolean withVerify : new boolean[] {false, true}) {
      int leafgate = (withVerify ? verify : tls).natsPort();
      int nats = (withVerify ? natsVerify : natsTls).port();
      Map<String, Object> ours = JSON.std.mapFrom(rawPlainConnect(leafgate).info().substring(5));
      Map<String, Object> theirs = JSON.std.mapFrom(rawPlainConnect(nats).info().substring(5));
      for (String k : List.of("tls_required", "tls_verify", "tls_available")) {
        assertEquals(theirs.get(k), ours.get(k), k + " (verify " + withVerify + "): leafgate " + ours + " nats-server " + theirs);
      }
      assertEquals(true, ours.get("tls_required"));
      Map<String, Boolean> ourOutcomes = outcomes(leafgate);
      Map<String, Boolean> theirOutcomes = outcomes(nats);
      assertEquals(theirOutcomes, ourOutcomes, "who gets in (verify " + withVerify + ")");
      assertEquals(Map.of("plain", false, "tls", !withVerify, "tls+cert", true), ourOutcomes);
    }
  }

  /** Which client kinds connect and round-trip a message: plain, TLS trusting the CA, TLS with a client certificate. */
  private static Map<String, Boolean> outcomes(int port) {
    Map<String, Boolean> out = new LinkedHashMap<>();
    out.put("plain", works(() -> plainClient(port)));
    out.put("tls", works(() -> tlsClient(port, false)));
    out.put("tls+cert", works(() -> tlsClient(port, true)));
    return out;
  }

  private interface Open {
    Connection open() throws Exception;
  }

  private static boolean works(Open open) {
    Connection c;
    try {
      c = open.open();
    } catch (Exception e) {
      return false;
    }
    try (Connection nc = c) {
      // With TLS 1.3 the server checks the client certificate after the client thinks the
      // handshake is done: a refused client fails here, on its first round trip.
      roundTrip(nc, nc);
      return true;
    } catch (Exception | AssertionError e) {
      return false;
    }
  }

  // ---- a raw plain client -----------------------------------------------------------------

  /** The INFO line, what came after a plain CONNECT+PING, and whether the server closed the socket. */
  record RawResult(String info, String after, boolean closed) {}

  private static RawResult rawPlainConnect(int port) throws IOException {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
      s.setSoTimeout((int) T.toMillis());
      InputStream in = s.getInputStream();
      String info = readLine(in);
      s.getOutputStream().write("CONNECT {\"verbose\":true}\r\nPING\r\n".getBytes(StandardCharsets.US_ASCII));
      ByteArrayOutputStream after = new ByteArrayOutputStream();
      boolean closed = false;
      try {
        int b;
        while ((b = in.read()) >= 0) {
          after.write(b);
        }
        closed = true;
      } catch (SocketException reset) {
        closed = true;
      } catch (SocketTimeoutException open) {
        closed = false;
      }
      return new RawResult(info, after.toString(StandardCharsets.ISO_8859_1), closed);
    }
  }

  private static String readLine(InputStream in) throws IOException {
    StringBuilder b = new StringBuilder();
    int c;
    while ((c = in.read()) >= 0 && c != '\n') {
      if (c != '\r') {
        b.append((char) c);
      }
    }
    return b.toString();
  }
}
