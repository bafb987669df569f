package io.leafgate.storage.api;

/**
 * A stream's numbers as {@code STREAM.INFO} reports them. An empty stream has
 * {@code firstSeq == lastSeq + 1} and zero timestamps.
 */
public record StreamState(long msgs, long bytes, long firstSeq, long firstTsNanos, long lastSeq,
    long lastTsNanos, long numSubjects, long numDeleted) {}
