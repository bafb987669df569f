package io.leafgate.storage.mem;

import io.leafgate.storage.api.JetStreamStore;
import io.leafgate.storage.contract.StreamStoreContract;
import java.nio.file.Path;

/** The store contract run against the in-memory store. */
class MemStoreContractTest extends StreamStoreContract {
  @Override
  protected JetStreamStore openStore(Path dir) {
    return new MemJetStreamStore();
  }

  @Override
  protected boolean persistent() {
    return false;
  }

  @Override
  protected boolean revertsOnRollback() {
    return false;
  }
}
