package io.leafgate.mqtt.store;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.leafgate.leaf.route.Router;
import io.leafgate.mqtt.message.Delivery;
import io.leafgate.storage.engine.JetStreamEngine;
import io.leafgate.storage.mem.MemJetStreamStore;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The contract against the JetStream store, on a real engine (with its in-memory store), plus
 * what only it has: ordinary streams that survive an engine restart.
 */
class JetStreamMqttStoreTest extends MqttStoreContract {
  private Router router;
  private MemJetStreamStore jsStore;
  private JetStreamEngine engine;

  @Override
  protected MqttStore open() throws Exception {
    router = new Router();
    jsStore = new MemJetStreamStore();
    engine = new JetStreamEngine(router, jsStore, new JetStreamEngine.Options(null, -1, -1, "test"));
    engine.start();
    JetStreamMqttStore s = new JetStreamMqttStore(router);
    s.open();
    return s;
  }

  @AfterEach
  void stopEngine() {
    engine.close();
  }

  @Test
  void theStreamsAreOrdinaryStreamsAndSurviveAnEngineRestart() throws Exception {
    List<String> names = engine.call(e -> List.of("$MQTT_sess", "$MQTT_msgs", "$MQTT_rmsgs", "$MQTT_qos2in", "$MQTT_out")
        .stream().filter(n -> e.stream(n) != null).toList(), 5000);
    assertEquals(5, names.size());
    String k = SessionKeys.of("c");
    get(store.enqueue(k, new Delivery(msg("s", "kept", 1), 1, false, 0, 0), null));
    get(store.saveSession(new SessionRecord("c", 4, -1, 0, List.of())));
    until(() -> get(store.loadQueue(k, 0, 5)), l -> !l.isEmpty());
    store.close();
    engine.close();
    engine = new JetStreamEngine(router, jsStore, new JetStreamEngine.Options(null, -1, -1, "test"));
    engine.start();
    JetStreamMqttStore again = new JetStreamMqttStore(router);
    again.open();
    store = again;
    assertEquals(1, store.loadSessions().size());
    assertEquals("kept", new String(get(store.loadQueue(k, 0, 5)).get(0).delivery().msg().payload()));
  }
}
