package io.leafgate.leaf.config;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads the PEM files of a {@code tls} block with the JDK alone: certificate chains, and private
 * keys in the three forms OpenSSL writes unencrypted ({@code BEGIN PRIVATE KEY} PKCS#8,
 * {@code BEGIN RSA PRIVATE KEY} PKCS#1, {@code BEGIN EC PRIVATE KEY} SEC 1). The config check and
 * the listeners use the same code, so a file the check accepts is a file the listener can use.
 *
 * <p>Every failure is an {@link IOException} whose message says what is wrong with the file, for
 * a {@code file:line} config error.
 */
public final class Pem {
  private static final Pattern BLOCK = Pattern.compile(
      "-----BEGIN ([A-Z0-9 ]+)-----\\s*([A-Za-z0-9+/=\\s]*?)\\s*-----END \\1-----");
  /** DER of the rsaEncryption algorithm identifier: SEQUENCE { OID 1.2.840.113549.1.1.1, NULL }. */
  private static final byte[] RSA_ALGORITHM = {
    0x30, 0x0d, 0x06, 0x09, 0x2a, (byte) 0x86, 0x48, (byte) 0x86, (byte) 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00};
  /** DER of the id-ecPublicKey OID 1.2.840.10045.2.1. */
  private static final byte[] EC_PUBLIC_KEY_OID = {0x06, 0x07, 0x2a, (byte) 0x86, 0x48, (byte) 0xce, 0x3d, 0x02, 0x01};

  private Pem() {}

  /** The certificates in {@code file}, in file order (a chain starts with the leaf). */
  public static List<X509Certificate> certificates(Path file) throws IOException {
    String text = read(file);
    List<X509Certificate> out = new ArrayList<>();
    Matcher m = BLOCK.matcher(text);
    CertificateFactory cf;
    try {
      cf = CertificateFactory.getInstance("X.509");
    } catch (CertificateException e) {
      throw new IOException("this JVM cannot read X.509 certificates: " + e.getMessage(), e);
    }
    while (m.find()) {
      if (!m.group(1).equals("CERTIFICATE")) {
        continue;
      }
      try {
        for (Certificate c : cf.generateCertificates(new ByteArrayInputStream(decode(m.group(2))))) {
          out.add((X509Certificate) c);
        }
      } catch (CertificateException | IllegalArgumentException e) {
        throw new IOException("contains a certificate that cannot be read: " + e.getMessage(), e);
      }
    }
    if (out.isEmpty()) {
      throw new IOException(text.contains("PRIVATE KEY-----")
          ? "holds a private key, not a certificate (BEGIN CERTIFICATE)"
          : "holds no PEM certificate (BEGIN CERTIFICATE)");
    }
    return out;
  }

  /** The one private key in {@code file}. Encrypted keys are refused: there is no password to give. */
  public static PrivateKey privateKey(Path file) throws IOException {
    String text = read(file);
    Matcher m = BLOCK.matcher(text);
    while (m.find()) {
      String type = m.group(1);
      byte[] der;
      try {
        der = decode(m.group(2));
      } catch (IllegalArgumentException e) {
        throw new IOException("has a " + type + " block that is not valid base64", e);
      }
      switch (type) {
        case "PRIVATE KEY" -> {
          return pkcs8(der);
        }
        case "RSA PRIVATE KEY" -> {
          return generate("RSA", wrap(RSA_ALGORITHM, der));
        }
        case "EC PRIVATE KEY" -> {
          return generate("EC", wrap(ecAlgorithm(der), der));
        }
        case "ENCRYPTED PRIVATE KEY" -> throw new IOException("holds an encrypted private key; leafgate has no"
            + " password for it: decrypt it with `openssl pkey -in KEY -out KEY.plain`");
        default -> {
          // certificates, EC PARAMETERS...: look further
        }
      }
    }
    throw new IOException(text.contains("BEGIN CERTIFICATE")
        ? "holds a certificate, not a private key (BEGIN PRIVATE KEY)"
        : "holds no PEM private key (BEGIN PRIVATE KEY)");
  }

  /**
   * Checks that {@code key} is the private half of {@code cert}'s public key, by signing and
   * verifying: a mismatch otherwise shows only as failed handshakes.
   */
  public static void checkPair(PrivateKey key, X509Certificate cert) throws IOException {
    String alg = switch (key.getAlgorithm()) {
      case "RSA" -> "SHA256withRSA";
      case "EC" -> "SHA256withECDSA";
      case "Ed25519", "EdDSA" -> "Ed25519";
      case "DSA" -> "SHA256withDSA";
      default -> null;
    };
    if (alg == null) {
      return;
    }
    PublicKey pub = cert.getPublicKey();
    if (!pub.getAlgorithm().equals(key.getAlgorithm())
        && !(pub.getAlgorithm().startsWith("Ed") && key.getAlgorithm().startsWith("Ed"))) {
      throw new IOException("is a " + key.getAlgorithm() + " key but the certificate holds a " + pub.getAlgorithm()
          + " key: they do not belong together");
    }
    byte[] probe = "leafgate key check".getBytes(StandardCharsets.US_ASCII);
    try {
      Signature s = Signature.getInstance(alg);
      s.initSign(key);
      s.update(probe);
      byte[] sig = s.sign();
      Signature v = Signature.getInstance(alg);
      v.initVerify(pub);
      v.update(probe);
      if (!v.verify(sig)) {
        throw new IOException("does not match the certificate in cert_file (a key of another certificate?)");
      }
    } catch (GeneralSecurityException e) {
      throw new IOException("does not match the certificate in cert_file: " + e.getMessage(), e);
    }
  }

  private static String read(Path file) throws IOException {
    if (!Files.exists(file)) {
      throw new IOException("no such file");
    }
    if (Files.isDirectory(file)) {
      throw new IOException("is a directory, not a file");
    }
    if (!Files.isReadable(file)) {
      throw new IOException("cannot be read (permissions)");
    }
    return Files.readString(file, StandardCharsets.ISO_8859_1);
  }

  private static byte[] decode(String base64) {
    return Base64.getMimeDecoder().decode(base64);
  }

  private static PrivateKey pkcs8(byte[] der) throws IOException {
    for (String alg : List.of("RSA", "EC", "Ed25519", "DSA")) {
      try {
        return KeyFactory.getInstance(alg).generatePrivate(new PKCS8EncodedKeySpec(der));
      } catch (GeneralSecurityException e) {
        // try the next algorithm
      }
    }
    throw new IOException("holds a PKCS#8 private key that is neither RSA, EC, Ed25519 nor DSA, or is damaged");
  }

  private static PrivateKey generate(String alg, byte[] pkcs8) throws IOException {
    try {
      return KeyFactory.getInstance(alg).generatePrivate(new PKCS8EncodedKeySpec(pkcs8));
    } catch (GeneralSecurityException e) {
      throw new IOException("holds an " + alg + " private key that cannot be read: " + e.getMessage(), e);
    }
  }

  /** PKCS#8 PrivateKeyInfo: SEQUENCE { INTEGER 0, algorithm, OCTET STRING key }. */
  private static byte[] wrap(byte[] algorithm, byte[] key) throws IOException {
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    body.write(new byte[] {0x02, 0x01, 0x00});
    body.write(algorithm);
    body.write(tlv(0x04, key));
    return tlv(0x30, body.toByteArray());
  }

  /**
   * The algorithm identifier for a SEC 1 ECPrivateKey: id-ecPublicKey with the curve OID taken
   * from the key's {@code [0] parameters}, which OpenSSL always writes.
   */
  private static byte[] ecAlgorithm(byte[] sec1) throws IOException {
    Der seq = Der.read(sec1, 0);
    if (seq.tag != 0x30) {
      throw new IOException("holds an EC PRIVATE KEY that is not a DER sequence");
    }
    int p = seq.start;
    while (p < seq.end) {
      Der item = Der.read(sec1, p);
      if (item.tag == 0xa0) {
        Der oid = Der.read(sec1, item.start);
        if (oid.tag != 0x06) {
          break;
        }
        byte[] curve = java.util.Arrays.copyOfRange(sec1, item.start, oid.end); // the whole OID element
        ByteArrayOutputStream alg = new ByteArrayOutputStream();
        alg.write(EC_PUBLIC_KEY_OID);
        alg.write(curve);
        return tlv(0x30, alg.toByteArray());
      }
      p = item.end;
    }
    throw new IOException("holds an EC PRIVATE KEY without its curve; convert it with"
        + " `openssl pkcs8 -topk8 -nocrypt -in KEY -out KEY.pkcs8`");
  }

  private static byte[] tlv(int tag, byte[] value) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(tag);
    int n = value.length;
    if (n < 0x80) {
      out.write(n);
    } else {
      int bytes = n > 0xffffff ? 4 : n > 0xffff ? 3 : n > 0xff ? 2 : 1;
      out.write(0x80 | bytes);
      for (int i = bytes - 1; i >= 0; i--) {
        out.write(n >>> (8 * i));
      }
    }
    out.writeBytes(value);
    return out.toByteArray();
  }

  /** One DER element: its tag and where its contents start and end. */
  private record Der(int tag, int start, int end) {
    static Der read(byte[] b, int at) throws IOException {
      try {
        int tag = b[at] & 0xff;
        int len = b[at + 1] & 0xff;
        int p = at + 2;
        if (len >= 0x80) {
          int bytes = len & 0x7f;
          if (bytes == 0 || bytes > 4) {
            throw new IOException("holds a key with an unsupported DER length");
          }
          len = 0;
          for (int i = 0; i < bytes; i++) {
            len = (len << 8) | (b[p++] & 0xff);
          }
        }
        if (len < 0 || p + len > b.length) {
          throw new IOException("holds a truncated key");
        }
        return new Der(tag, p, p + len);
      } catch (ArrayIndexOutOfBoundsException e) {
        throw new IOException("holds a truncated key", e);
      }
    }
  }
}
