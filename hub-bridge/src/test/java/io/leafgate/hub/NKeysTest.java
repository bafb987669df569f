package io.leafgate.hub;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.EdECPoint;
import java.security.spec.EdECPublicKeySpec;
import java.security.spec.NamedParameterSpec;
import java.util.Arrays;
import java.util.Base64;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NKeysTest {
  /** A seed made the way nats tooling makes them: prefix bytes, 32 random bytes, CRC16. */
  private static String seedOf(byte[] raw32) {
    int type = 20 << 3; // user
    byte[] b = new byte[36];
    b[0] = (byte) ((18 << 3) | (type >> 5));
    b[1] = (byte) ((type & 31) << 3);
    System.arraycopy(raw32, 0, b, 2, 32);
    int crc = NKeys.crc16(b, 34);
    b[34] = (byte) crc;
    b[35] = (byte) (crc >> 8);
    return NKeys.base32Encode(b);
  }

  @Test
  void aUserSeedGivesAPublicKeyThatVerifiesItsSignatures() throws Exception {
    byte[] raw = new byte[32];
    for (int i = 0; i < 32; i++) {
      raw[i] = (byte) (i * 7 + 1);
    }
    String seed = seedOf(raw);
    assertTrue(seed.startsWith("SU"), seed);
    NKeys.UserKey k = NKeys.fromSeed(seed);
    assertTrue(k.publicKey().startsWith("U"), k.publicKey());
    assertEquals(56, k.publicKey().length());
    String sig = k.sign("abcNONCE123");
    // Verify with the public key decoded from its U... form.
    byte[] pubRaw = NKeys.base32Decode(k.publicKey());
    byte[] pub = Arrays.copyOfRange(pubRaw, 1, 33);
    assertEquals(NKeys.crc16(pubRaw, 33), (pubRaw[33] & 0xff) | (pubRaw[34] & 0xff) << 8);
    Signature v = Signature.getInstance("Ed25519");
    v.initVerify(edPublicKey(pub));
    v.update("abcNONCE123".getBytes(StandardCharsets.US_ASCII));
    assertTrue(v.verify(Base64.getUrlDecoder().decode(sig)));
  }

  private static PublicKey edPublicKey(byte[] le) throws Exception {
    byte[] be = new byte[32];
    for (int i = 0; i < 32; i++) {
      be[i] = le[31 - i];
    }
    boolean xOdd = (be[0] & 0x80) != 0;
    be[0] &= 0x7f;
    return KeyFactory.getInstance("Ed25519").generatePublic(
        new EdECPublicKeySpec(NamedParameterSpec.ED25519, new EdECPoint(xOdd, new java.math.BigInteger(1, be))));
  }

  @Test
  void badSeedsAreRefusedWithAReason() {
    assertThrows(GeneralSecurityException.class, () -> NKeys.fromSeed("SUNOTASEED"));
    byte[] raw = new byte[32];
    String seed = seedOf(raw);
    String broken = seed.substring(0, 10) + (seed.charAt(10) == 'A' ? 'B' : 'A') + seed.substring(11);
    GeneralSecurityException e = assertThrows(GeneralSecurityException.class, () -> NKeys.fromSeed(broken));
    assertTrue(e.getMessage().contains("checksum"), e.getMessage());
  }

  @Test
  void credsFilesGiveTheJwtAndTheSeed(@TempDir Path tmp) throws Exception {
    String seed = seedOf(new byte[32]);
    Path f = tmp.resolve("u.creds");
    Files.writeString(f, "-----BEGIN NATS USER JWT-----\neyJhbGciOi.payload.sig\n------END NATS USER JWT------\n\n"
        + "************************* IMPORTANT *************************\n\n"
        + "-----BEGIN USER NKEY SEED-----\n" + seed + "\n------END USER NKEY SEED------\n");
    NKeys.Creds c = NKeys.readCreds(f);
    assertEquals("eyJhbGciOi.payload.sig", c.jwt());
    assertEquals(seed, c.seed());
    Files.writeString(f, "nothing useful");
    assertThrows(java.io.IOException.class, () -> NKeys.readCreds(f));
  }
}
