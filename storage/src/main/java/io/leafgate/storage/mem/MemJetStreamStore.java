package io.leafgate.storage.mem;

import io.leafgate.storage.api.AgeClock;
import io.leafgate.storage.api.ConsumerRecord;
import io.leafgate.storage.api.ConsumerState;
import io.leafgate.storage.api.JetStreamStore;
import io.leafgate.storage.api.StoreException;
import io.leafgate.storage.api.StreamRecord;
import io.leafgate.storage.api.StreamStore;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.tinylog.Logger;

/**
 * A {@link JetStreamStore} that keeps everything in memory and forgets it when the process stops:
 * for tests, and for running the engine without a disk. {@link #commit} runs {@code onDurable} at
 * once on the caller's thread; {@link #rollback} does nothing (memory writes cannot fail halfway).
 *
 * <p>Confined to the engine thread, like every {@link JetStreamStore}.
 */
public final class MemJetStreamStore implements JetStreamStore {
  private record StreamEntry(StreamRecord record, MemStreamStore store, Map<String, ConsumerRecord> consumers) {}

  private final Map<String, StreamEntry> streams = new LinkedHashMap<>();
  private final AgeClock ageClock;
  private boolean closed;

  public MemJetStreamStore() {
    this(new MonotonicAgeClock());
  }

  /** A store whose ages follow the given clock (tests drive ages by hand this way). */
  public MemJetStreamStore(AgeClock ageClock) {
    this.ageClock = ageClock;
  }

  private void checkOpen() throws StoreException {
    if (closed) {
      throw new StoreException(StoreException.Kind.CLOSED, "the memory store is closed");
    }
  }

  private StreamEntry entry(String name) throws StoreException {
    checkOpen();
    StreamEntry e = streams.get(name);
    if (e == null) {
      throw new StoreException(StoreException.Kind.IO, "no stream " + name);
    }
    return e;
  }

  @Override
  public List<StreamRecord> streams() {
    // A fresh memory store holds nothing; what was created since is listed for symmetry with reopen.
    List<StreamRecord> out = new ArrayList<>();
    for (StreamEntry e : streams.values()) {
      out.add(e.record());
    }
    return out;
  }

  @Override
  public StreamStore openStream(StreamRecord record) throws StoreException {
    return entry(record.name()).store();
  }

  @Override
  public StreamStore createStream(StreamRecord record) throws StoreException {
    checkOpen();
    if (streams.containsKey(record.name())) {
      throw new StoreException(StoreException.Kind.IO, "stream " + record.name() + " already exists");
    }
    MemStreamStore store = new MemStreamStore(record.name());
    streams.put(record.name(), new StreamEntry(record, store, new LinkedHashMap<>()));
    return store;
  }

  @Override
  public void updateStreamConfig(String name, String configJson) throws StoreException {
    StreamEntry e = entry(name);
    StreamRecord r = e.record();
    streams.put(name, new StreamEntry(new StreamRecord(r.name(), configJson, r.createdNanos(), r.epoch(), r.memory()),
        e.store(), e.consumers()));
  }

  @Override
  public void deleteStream(String name) throws StoreException {
    StreamEntry e = entry(name);
    streams.remove(name);
    e.store().close();
  }

  @Override
  public List<ConsumerRecord> consumers(String stream) throws StoreException {
    return new ArrayList<>(entry(stream).consumers().values());
  }

  @Override
  public void saveConsumer(ConsumerRecord record) throws StoreException {
    entry(record.stream()).consumers().put(record.name(), record);
  }

  @Override
  public void saveConsumerState(String stream, String name, ConsumerState state) throws StoreException {
    Map<String, ConsumerRecord> consumers = entry(stream).consumers();
    ConsumerRecord r = consumers.get(name);
    if (r == null) {
      throw new StoreException(StoreException.Kind.IO, "no consumer " + stream + " > " + name);
    }
    consumers.put(name, new ConsumerRecord(r.stream(), r.name(), r.configJson(), r.createdNanos(), state));
  }

  @Override
  public void deleteConsumer(String stream, String name) throws StoreException {
    entry(stream).consumers().remove(name);
  }

  @Override
  public void commit(Runnable onDurable) throws StoreException {
    checkOpen();
    if (onDurable != null) {
      try {
        onDurable.run();
      } catch (RuntimeException e) {
        Logger.error(e, "An onDurable callback failed.");
      }
    }
  }

  @Override
  public void rollback() {
    // Memory mutations are applied whole or not at all; there is nothing to undo.
  }

  @Override
  public long usedBytes() {
    return 0;
  }

  @Override
  public AgeClock ageClock() {
    return ageClock;
  }

  @Override
  public String problem() {
    return null;
  }

  @Override
  public void close() {
    closed = true;
  }
}
