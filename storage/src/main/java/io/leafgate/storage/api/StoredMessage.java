package io.leafgate.storage.api;

/**
 * One message as a stream holds it.
 *
 * @param seq the stream sequence, from 1, never reused
 * @param subject the subject it was published on (Latin-1 string of the wire bytes)
 * @param headers the whole header block ({@code NATS/1.0\r\n...\r\n\r\n}), or null for none
 * @param data the payload, never null
 * @param timestampNanos wall-clock time of the store, in ns since the epoch (what clients see)
 */
public record StoredMessage(long seq, String subject, byte[] headers, byte[] data, long timestampNanos) {
  /** Bytes of the message as accounted against {@code max_bytes}: subject, headers, payload and overhead. */
  public long size() {
    return sizeOf(subject, headers, data);
  }

  /** Per-message accounting overhead, as nats-server's file store counts it (record header and hash). */
  public static final int OVERHEAD = 30;

  public static long sizeOf(String subject, byte[] headers, byte[] data) {
    return OVERHEAD + subject.length() + (headers == null ? 0 : headers.length) + data.length;
  }
}
