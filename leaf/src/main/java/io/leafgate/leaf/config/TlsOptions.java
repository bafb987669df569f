package io.leafgate.leaf.config;

import java.nio.file.Path;
import java.time.Duration;

/**
 * A listener's {@code tls { cert_file, key_file, ca_file, verify, timeout }} block, as nats-server
 * reads it. The loader has already read every file once ({@link Pem}), so a listener can rely on
 * them being there and valid at start-up.
 *
 * @param certFile the server's certificate chain (PEM), leaf first
 * @param keyFile its private key (PEM: PKCS#8, PKCS#1 RSA or SEC 1 EC, unencrypted)
 * @param caFile the CAs that client certificates must chain to; null for none
 * @param verify whether clients must present a certificate signed by {@code caFile}
 * @param timeout how long a client has to complete the handshake (nats-server's {@code timeout},
 *     default 2 s)
 * @param fingerprint a digest of the three files' contents when they were read, so that a reload
 *     sees a renewed certificate at the same path as a change
 */
public record TlsOptions(Path certFile, Path keyFile, Path caFile, boolean verify, Duration timeout,
    String fingerprint) {

  /** nats-server's default TLS handshake timeout ({@code TLS_TIMEOUT}). */
  public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(2);

  /** The handshake timeout in seconds, as {@code /varz} reports {@code tls_timeout}. */
  public double timeoutSeconds() {
    return timeout.toNanos() / 1e9;
  }
}
