package io.leafgate.it.harness;

import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.Assumptions;

/**
 * A small PKI for TLS tests, made with the {@code openssl} command line in the test's folder: a CA,
 * a server certificate for {@code 127.0.0.1} and {@code localhost} signed by it, a client
 * certificate signed by it, and a second CA that signed nothing here (the "wrong CA"). Keys are
 * PEM PKCS#8, as OpenSSL 3 writes them. Also builds JDK socket factories that trust the CA, with or
 * without the client certificate.
 *
 * <p>When openssl is missing the test is skipped, unless {@code leafgate.it.requireExternal} is
 * true (CI), in which case it fails.
 */
public final class TestCerts {
  public final Path dir;
  public final Path caCert;
  public final Path caKey;
  public final Path serverCert;
  public final Path serverKey;
  public final Path clientCert;
  public final Path clientKey;
  /** A CA that signed neither certificate. */
  public final Path otherCaCert;

  private TestCerts(Path dir) {
    this.dir = dir;
    this.caCert = dir.resolve("ca.pem");
    this.caKey = dir.resolve("ca-key.pem");
    this.serverCert = dir.resolve("server.pem");
    this.serverKey = dir.resolve("server-key.pem");
    this.clientCert = dir.resolve("client.pem");
    this.clientKey = dir.resolve("client-key.pem");
    this.otherCaCert = dir.resolve("other-ca.pem");
  }

  /** Creates the CA, server and client certificates in {@code dir} (created if needed). */
  public static TestCerts create(Path dir) throws IOException, InterruptedException {
    Files.createDirectories(dir);
    TestCerts c = new TestCerts(dir);
    c.make();
    return c;
  }

  private void make() throws IOException, InterruptedException {
    Path other = dir.resolve("other-ca-key.pem");
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", caKey.toString(), "-out", caCert.toString(),
        "-days", "2", "-subj", "/CN=leafgate test CA", "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign");
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", other.toString(), "-out",
        otherCaCert.toString(), "-days", "2", "-subj", "/CN=some other CA", "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign");
    signed("server", serverKey, serverCert, "/CN=localhost",
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n");
    signed("client", clientKey, clientCert, "/CN=leafgate test client",
        "extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n");
  }

  private void signed(String name, Path key, Path cert, String subject, String extensions)
      throws IOException, InterruptedException {
    Path csr = dir.resolve(name + ".csr");
    Path ext = dir.resolve(name + ".ext");
    Files.writeString(ext, extensions);
    openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", key.toString(), "-out", csr.toString(),
        "-subj", subject);
    openssl("x509", "-req", "-in", csr.toString(), "-CA", caCert.toString(), "-CAkey", caKey.toString(),
        "-CAcreateserial", "-out", cert.toString(), "-days", "2", "-sha256", "-extfile", ext.toString());
  }

  /** Runs openssl with {@code args} in {@link #dir}; fails with its output when it fails. */
  public void openssl(String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>();
    cmd.add(binary());
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
    byte[] out = p.getInputStream().readAllBytes();
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IOException("openssl " + String.join(" ", args) + " hung");
    }
    if (p.exitValue() != 0) {
      throw new IOException("openssl " + String.join(" ", args) + " failed:\n" + new String(out, StandardCharsets.UTF_8));
    }
  }

  private static String binary() {
    for (String c : List.of("/usr/bin/openssl", "/usr/local/bin/openssl", "/bin/openssl")) {
      if (Files.isExecutable(Path.of(c))) {
        return c;
      }
    }
    String msg = "openssl is not installed";
    if (Boolean.getBoolean(NatsServerProcess.REQUIRE_EXTERNAL)) {
      throw new IllegalStateException(msg);
    }
    Assumptions.abort(msg);
    return null;
  }

  /** A socket factory that trusts the test CA and presents no certificate. */
  public SSLSocketFactory trustingFactory() throws Exception {
    return context(false).getSocketFactory();
  }

  /** A socket factory that trusts the test CA and presents the client certificate. */
  public SSLSocketFactory clientCertFactory() throws Exception {
    return context(true).getSocketFactory();
  }

  /** An SSL context that trusts the test CA, with the client certificate if {@code withClientCert}. */
  public SSLContext context(boolean withClientCert) throws Exception {
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    try (InputStream in = new FileInputStream(caCert.toFile())) {
      trust.setCertificateEntry("ca", CertificateFactory.getInstance("X.509").generateCertificate(in));
    }
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    KeyManagerFactory kmf = null;
    if (withClientCert) {
      Path p12 = dir.resolve("client.p12");
      if (!Files.exists(p12)) {
        openssl("pkcs12", "-export", "-in", clientCert.toString(), "-inkey", clientKey.toString(), "-out",
            p12.toString(), "-passout", "pass:test", "-name", "client");
      }
      KeyStore keys = KeyStore.getInstance("PKCS12");
      try (InputStream in = new FileInputStream(p12.toFile())) {
        keys.load(in, "test".toCharArray());
      }
      kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      kmf.init(keys, "test".toCharArray());
    }
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(kmf == null ? null : kmf.getKeyManagers(), tmf.getTrustManagers(), null);
    return ctx;
  }
}
