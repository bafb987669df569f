package io.leafgate.storage.api;

/** A durable consumer as the store remembers it: its configuration and its last committed progress. */
public record ConsumerRecord(String stream, String name, String configJson, long createdNanos, ConsumerState state) {}
