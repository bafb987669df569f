package io.leafgate.storage.sqlite;

import io.leafgate.storage.api.JetStreamStore;
import io.leafgate.storage.contract.StreamStoreContract;
import java.nio.file.Path;

/** The store contract run against the SQLite store, with reopen checks. */
class SqliteStoreContractTest extends StreamStoreContract {
  @Override
  protected JetStreamStore openStore(Path dir) throws Exception {
    return SqliteJetStreamStore.open(dir, SqliteJetStreamStore.Options.defaults());
  }

  @Override
  protected boolean persistent() {
    return true;
  }

  @Override
  protected boolean revertsOnRollback() {
    return true;
  }
}
