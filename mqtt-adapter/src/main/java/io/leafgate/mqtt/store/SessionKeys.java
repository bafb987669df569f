package io.leafgate.mqtt.store;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * The key of a session in subjects: a hash of the client id, so that any client id (with dots,
 * slashes, wildcards) gives one valid subject token. 26 base-32 characters of SHA-256 (130 bits):
 * collisions are not a practical concern, and the record keeps the full client id besides.
 */
public final class SessionKeys {
  private SessionKeys() {}

  private static final char[] BASE32 = "abcdefghijklmnopqrstuvwxyz234567".toCharArray();

  public static String of(String clientId) {
    return hash(clientId);
  }

  /** The same hash for any string (retained-message keys use it for subjects). */
  public static String hash(String s) {
    byte[] d;
    try {
      d = MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    StringBuilder b = new StringBuilder(26);
    int buffer = 0;
    int bits = 0;
    for (int i = 0; i < d.length && b.length() < 26; i++) {
      buffer = (buffer << 8) | (d[i] & 0xff);
      bits += 8;
      while (bits >= 5 && b.length() < 26) {
        b.append(BASE32[(buffer >> (bits - 5)) & 31]);
        bits -= 5;
      }
    }
    return b.toString();
  }
}
