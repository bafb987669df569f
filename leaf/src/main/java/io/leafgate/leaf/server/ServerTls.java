package io.leafgate.leaf.server;

import io.leafgate.leaf.config.Pem;
import io.leafgate.leaf.config.TlsOptions;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.NotSslRecordException;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandshakeTimeoutException;
import java.io.IOException;
import java.nio.channels.ClosedChannelException;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Locale;
import javax.net.ssl.SSLException;

/**
 * The server side of a listener's {@code tls} block, shared by the NATS and MQTT listeners: the
 * Netty context built from the PEM files, and a person's reading of why a handshake failed.
 */
public final class ServerTls {
  private ServerTls() {}

  /**
   * The certificate chain and key from PEM, and with {@code verify} a client certificate required,
   * checked against {@code ca_file}. The files were checked when the configuration was loaded; a
   * failure here (a file changed since) is reported as a start-up error naming {@code clients}
   * (e.g. "NATS clients").
   */
  public static SslContext context(TlsOptions tls, String clients) throws IOException {
    try {
      List<X509Certificate> chain = Pem.certificates(tls.certFile());
      SslContextBuilder b = SslContextBuilder.forServer(Pem.privateKey(tls.keyFile()),
          chain.toArray(new X509Certificate[0]));
      if (tls.caFile() != null) {
        b.trustManager(Pem.certificates(tls.caFile()).toArray(new X509Certificate[0]));
      }
      b.clientAuth(tls.verify() ? ClientAuth.REQUIRE : ClientAuth.NONE);
      return b.build();
    } catch (IOException | RuntimeException e) {
      throw new IOException("cannot set up TLS for " + clients + ": " + e.getMessage(), e);
    }
  }

  /**
   * Why a handshake failed, in a sentence: {@code plainClient} names what a client that does not
   * start TLS probably is (e.g. "a plain MQTT client").
   */
  public static String describeFailure(Throwable cause, String plainClient) {
    for (Throwable t = cause; t != null; t = t.getCause()) {
      if (t instanceof NotSslRecordException) {
        return "the client did not start TLS (" + plainClient + " on a TLS-only port?)";
      }
      if (t instanceof SslHandshakeTimeoutException) {
        return "no handshake within the TLS timeout (" + t.getMessage() + ")";
      }
      if (t instanceof ClosedChannelException && !(t instanceof SSLException)) {
        return "the client closed the connection before the handshake completed (" + plainClient
            + " that saw tls_required?)";
      }
    }
    String root = problem(cause);
    if (root == null) {
      Throwable r = cause;
      while (r.getCause() != null) {
        r = r.getCause();
      }
      root = r.getMessage() == null ? r.toString() : r.getMessage();
    }
    String lower = root.toLowerCase(Locale.ROOT);
    if (lower.contains("closed while ssl/tls handshake") || lower.contains("reset by peer")
        || lower.contains("broken pipe")) {
      return "the client closed the connection before the handshake completed (" + plainClient
          + " that saw tls_required?)";
    }
    if (lower.contains("empty client certificate chain") || lower.contains("null cert chain")
        || lower.contains("certificate_required")) {
      return "the client sent no certificate, and verify requires one (" + root + ")";
    }
    if (lower.contains("pkix") || lower.contains("certificate_unknown") || lower.contains("unable to find valid")) {
      return "the client's certificate is not signed by ca_file (" + root + ")";
    }
    return root;
  }

  /** The message of the TLS exception in {@code cause}'s chain, or null when it holds none. */
  public static String problem(Throwable cause) {
    for (Throwable t = cause; t != null; t = t.getCause()) {
      if (t instanceof SSLException || t instanceof NotSslRecordException) {
        return t.getMessage() == null ? t.toString() : t.getMessage();
      }
    }
    return null;
  }

  /** The JDK's protocol name ({@code TLSv1.3}) as nats-server's /connz writes it ({@code 1.3}). */
  public static String version(String protocol) {
    if (protocol == null) {
      return "";
    }
    return protocol.startsWith("TLSv") ? protocol.substring(4) : protocol;
  }
}
