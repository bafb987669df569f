package io.leafgate.storage.sqlite;

import java.io.ByteArrayOutputStream;
import java.util.Arrays;

/**
 * Encodes a consumer's ascending {@code ackedAbove} sequences compactly: unsigned LEB128 varints of
 * the first value and then of each difference to the previous one.
 */
final class AckedAboveCodec {
  private AckedAboveCodec() {}

  static byte[] encode(long[] seqs) {
    if (seqs == null || seqs.length == 0) {
      return null;
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream(seqs.length * 2);
    long prev = 0;
    for (long s : seqs) {
      long v = s - prev;
      prev = s;
      while ((v & ~0x7FL) != 0) {
        out.write((int) ((v & 0x7F) | 0x80));
        v >>>= 7;
      }
      out.write((int) v);
    }
    return out.toByteArray();
  }

  static long[] decode(byte[] b) {
    if (b == null || b.length == 0) {
      return new long[0];
    }
    long[] out = new long[b.length];
    int n = 0;
    long prev = 0;
    int i = 0;
    while (i < b.length) {
      long v = 0;
      int shift = 0;
      while (true) {
        byte x = b[i++];
        v |= (long) (x & 0x7F) << shift;
        if ((x & 0x80) == 0) {
          break;
        }
        shift += 7;
        if (i >= b.length) {
          throw new IllegalArgumentException("truncated acked_above value");
        }
      }
      prev += v;
      out[n++] = prev;
    }
    return Arrays.copyOf(out, n);
  }
}
