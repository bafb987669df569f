package io.leafgate.hub;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.spec.EdECPrivateKeySpec;
import java.security.spec.NamedParameterSpec;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;

/**
 * NATS nkeys for authenticating to a hub: user seeds ({@code SU...}), their public keys
 * ({@code U...}), Ed25519 signatures of the hub's nonce, and {@code .creds} files (a user JWT plus
 * its seed). The encoding is base32 without padding of a prefix, the 32-byte key and a CRC16
 * (XMODEM, little-endian); the signing is the JDK's Ed25519.
 */
final class NKeys {
  private NKeys() {}

  private static final int PREFIX_SEED = 18 << 3;
  private static final int PREFIX_USER = 20 << 3;
  private static final char[] B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".toCharArray();

  /** A user's keys, decoded from a seed. */
  record UserKey(String publicKey, PrivateKey privateKey) {
    /** Signs the hub's nonce: Ed25519, base64url without padding. */
    String sign(String nonce) throws GeneralSecurityException {
      Signature s = Signature.getInstance("Ed25519");
      s.initSign(privateKey);
      s.update(nonce.getBytes(StandardCharsets.US_ASCII));
      return Base64.getUrlEncoder().withoutPadding().encodeToString(s.sign());
    }
  }

  /** Decodes a user seed ({@code SU...}); throws with a readable message when it is not one. */
  static UserKey fromSeed(String seed) throws GeneralSecurityException {
    byte[] raw = base32Decode(seed.trim());
    if (raw.length != 36) {
      throw new GeneralSecurityException("not an nkey seed (wrong length)");
    }
    int crc = (raw[34] & 0xff) | (raw[35] & 0xff) << 8;
    if (crc16(raw, 34) != crc) {
      throw new GeneralSecurityException("not an nkey seed (checksum mismatch)");
    }
    int b1 = raw[0] & 0xff;
    int b2 = raw[1] & 0xff;
    if ((b1 & 0xf8) != PREFIX_SEED) {
      throw new GeneralSecurityException("not an nkey seed");
    }
    int type = ((b1 & 7) << 5) | ((b2 & 0xf8) >> 3);
    if (type != PREFIX_USER) {
      throw new GeneralSecurityException("the seed is not a user seed (SU...)");
    }
    byte[] priv = Arrays.copyOfRange(raw, 2, 34);
    PrivateKey pk = KeyFactory.getInstance("Ed25519")
        .generatePrivate(new EdECPrivateKeySpec(NamedParameterSpec.ED25519, priv));
    // The JDK derives the public key when it generates a pair; feed it the seed as its "random".
    KeyPairGenerator g = KeyPairGenerator.getInstance("Ed25519");
    g.initialize(NamedParameterSpec.ED25519, new FixedRandom(priv));
    KeyPair kp = g.generateKeyPair();
    byte[] x509 = kp.getPublic().getEncoded();
    byte[] pub = Arrays.copyOfRange(x509, x509.length - 32, x509.length);
    return new UserKey(encode(PREFIX_USER, pub), pk);
  }

  /** A {@code .creds} file: the user JWT and the user seed. */
  record Creds(String jwt, String seed) {}

  static Creds readCreds(Path file) throws IOException {
    List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    String jwt = null;
    String seed = null;
    for (int i = 0; i < lines.size(); i++) {
      String l = lines.get(i).trim();
      if (l.contains("BEGIN NATS USER JWT")) {
        jwt = nextValue(lines, i);
      } else if (l.contains("BEGIN USER NKEY SEED")) {
        seed = nextValue(lines, i);
      }
    }
    if (jwt == null || seed == null) {
      throw new IOException(file + " is not a NATS credentials file (it needs a user JWT and a user seed)");
    }
    return new Creds(jwt, seed);
  }

  private static String nextValue(List<String> lines, int i) {
    for (int j = i + 1; j < lines.size(); j++) {
      String l = lines.get(j).trim();
      if (!l.isEmpty()) {
        return l.startsWith("---") ? null : l;
      }
    }
    return null;
  }

  static String encode(int prefix, byte[] key) {
    byte[] raw = new byte[key.length + 3];
    raw[0] = (byte) prefix;
    System.arraycopy(key, 0, raw, 1, key.length);
    int crc = crc16(raw, key.length + 1);
    raw[key.length + 1] = (byte) crc;
    raw[key.length + 2] = (byte) (crc >> 8);
    return base32Encode(raw);
  }

  static int crc16(byte[] b, int len) {
    int crc = 0;
    for (int i = 0; i < len; i++) {
      crc ^= (b[i] & 0xff) << 8;
      for (int k = 0; k < 8; k++) {
        crc = (crc & 0x8000) != 0 ? (crc << 1) ^ 0x1021 : crc << 1;
      }
      crc &= 0xffff;
    }
    return crc;
  }

  static String base32Encode(byte[] data) {
    StringBuilder out = new StringBuilder((data.length * 8 + 4) / 5);
    int buffer = 0;
    int bits = 0;
    for (byte b : data) {
      buffer = (buffer << 8) | (b & 0xff);
      bits += 8;
      while (bits >= 5) {
        out.append(B32[(buffer >> (bits - 5)) & 31]);
        bits -= 5;
      }
    }
    if (bits > 0) {
      out.append(B32[(buffer << (5 - bits)) & 31]);
    }
    return out.toString();
  }

  static byte[] base32Decode(String s) throws GeneralSecurityException {
    byte[] out = new byte[s.length() * 5 / 8];
    int buffer = 0;
    int bits = 0;
    int n = 0;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      int v;
      if (c >= 'A' && c <= 'Z') {
        v = c - 'A';
      } else if (c >= '2' && c <= '7') {
        v = c - '2' + 26;
      } else {
        throw new GeneralSecurityException("invalid base32 character in nkey");
      }
      buffer = (buffer << 5) | v;
      bits += 5;
      if (bits >= 8) {
        if (n < out.length) {
          out[n++] = (byte) (buffer >> (bits - 8));
        }
        bits -= 8;
      }
    }
    return Arrays.copyOf(out, n);
  }

  /** A "random" source that returns the given bytes, so the JDK rebuilds a key pair from a seed. */
  private static final class FixedRandom extends SecureRandom {
    private final byte[] bytes;

    FixedRandom(byte[] bytes) {
      this.bytes = bytes.clone();
    }

    @Override
    public void nextBytes(byte[] b) {
      System.arraycopy(bytes, 0, b, 0, Math.min(b.length, bytes.length));
    }
  }
}
