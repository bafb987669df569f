package io.leafgate.storage.api;

/**
 * A stream as the store remembers it across restarts.
 *
 * @param name the stream name
 * @param configJson the stream configuration, as the engine serialised it
 * @param createdNanos creation time, ns since the epoch
 * @param epoch a random id fixed at creation; with the server name and a sequence it makes message
 *     ids that stay unique even if the stream is deleted and created again
 * @param memory whether messages are kept in memory only (storage: memory)
 */
public record StreamRecord(String name, String configJson, long createdNanos, String epoch, boolean memory) {}
