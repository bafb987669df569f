package io.leafgate.storage.api;

/** How many messages one literal subject has in a stream, and its first and last sequence (0 if none). */
public record SubjectState(long count, long firstSeq, long lastSeq) {
  public static final SubjectState EMPTY = new SubjectState(0, 0, 0);
}
