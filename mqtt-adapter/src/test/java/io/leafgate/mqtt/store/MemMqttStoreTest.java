package io.leafgate.mqtt.store;

/** The contract against the in-memory store. */
class MemMqttStoreTest extends MqttStoreContract {
  @Override
  protected MqttStore open() {
    return new MemMqttStore();
  }
}
