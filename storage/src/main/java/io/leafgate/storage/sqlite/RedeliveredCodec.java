package io.leafgate.storage.sqlite;

import java.io.ByteArrayOutputStream;
import java.util.Arrays;

/**
 * Encodes a consumer's {@code redelivered} pairs (stream sequence, deliveries), ascending by
 * sequence, compactly: for each pair an unsigned LEB128 varint of the difference to the previous
 * sequence (the first one: to 0), then one of the count.
 */
final class RedeliveredCodec {
  private RedeliveredCodec() {}

  static byte[] encode(long[] pairs) {
    if (pairs == null || pairs.length < 2) {
      return null;
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream(pairs.length * 2);
    long prev = 0;
    for (int i = 0; i + 1 < pairs.length; i += 2) {
      varint(out, pairs[i] - prev);
      varint(out, pairs[i + 1]);
      prev = pairs[i];
    }
    return out.toByteArray();
  }

  private static void varint(ByteArrayOutputStream out, long v) {
    while ((v & ~0x7FL) != 0) {
      out.write((int) ((v & 0x7F) | 0x80));
      v >>>= 7;
    }
    out.write((int) v);
  }

  static long[] decode(byte[] b) {
    if (b == null || b.length == 0) {
      return new long[0];
    }
    long[] out = new long[b.length];
    int n = 0;
    int[] at = {0};
    long prev = 0;
    while (at[0] < b.length) {
      prev += varint(b, at);
      out[n++] = prev;
      if (at[0] >= b.length) {
        throw new IllegalArgumentException("redelivered value ends inside a pair");
      }
      out[n++] = varint(b, at);
    }
    return Arrays.copyOf(out, n);
  }

  private static long varint(byte[] b, int[] at) {
    long v = 0;
    int shift = 0;
    while (true) {
      byte x = b[at[0]++];
      v |= (long) (x & 0x7F) << shift;
      if ((x & 0x80) == 0) {
        return v;
      }
      shift += 7;
      if (at[0] >= b.length) {
        throw new IllegalArgumentException("truncated redelivered value");
      }
    }
  }
}
