package io.leafgate.storage.sqlite;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class RedeliveredCodecTest {
  @Test
  void pairsRoundTrip() {
    long[] pairs = {1, 2, 130, 3, 131, 70_000, Long.MAX_VALUE / 2, 2};
    assertArrayEquals(pairs, RedeliveredCodec.decode(RedeliveredCodec.encode(pairs)));
  }

  @Test
  void noneIsNull() {
    assertNull(RedeliveredCodec.encode(new long[0]));
    assertArrayEquals(new long[0], RedeliveredCodec.decode(null));
  }

  @Test
  void aValueCutShortIsRefused() {
    byte[] b = RedeliveredCodec.encode(new long[] {300, 2});
    assertThrows(IllegalArgumentException.class, () -> RedeliveredCodec.decode(new byte[] {b[0], b[1]}));
    assertThrows(IllegalArgumentException.class, () -> RedeliveredCodec.decode(new byte[] {(byte) 0x81}));
  }
}
