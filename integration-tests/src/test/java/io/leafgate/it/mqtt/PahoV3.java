package io.leafgate.it.mqtt;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.eclipse.paho.client.mqttv3.IMqttDeliveryToken;
import org.eclipse.paho.client.mqttv3.IMqttToken;
import org.eclipse.paho.client.mqttv3.MqttCallback;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.MqttMessage;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;

/** A Paho MQTT 3.1.1 client that collects what it receives, for tests. */
final class PahoV3 implements AutoCloseable {
  record Received(String topic, String payload, int qos, boolean retained, boolean dup) {}

  final MqttClient client;
  final BlockingQueue<Received> messages = new LinkedBlockingQueue<>();
  volatile Throwable lost;
  IMqttToken connectToken;

  private PahoV3(String url, String clientId, MemoryPersistence persistence) throws MqttException {
    client = new MqttClient(url, clientId, persistence);
    client.setCallback(new MqttCallback() {
      @Override
      public void connectionLost(Throwable cause) {
        lost = cause;
      }

      @Override
      public void messageArrived(String topic, MqttMessage m) {
        messages.add(new Received(topic, new String(m.getPayload(), StandardCharsets.UTF_8), m.getQos(),
            m.isRetained(), m.isDuplicate()));
      }

      @Override
      public void deliveryComplete(IMqttDeliveryToken token) {}
    });
  }

  static PahoV3 connect(String url, String clientId, Consumer<MqttConnectOptions> options) throws MqttException {
    return connect(url, clientId, new MemoryPersistence(), options);
  }

  /** Connects with {@code persistence} (shared between instances to keep the client's half of a session). */
  static PahoV3 connect(String url, String clientId, MemoryPersistence persistence,
      Consumer<MqttConnectOptions> options) throws MqttException {
    PahoV3 c = new PahoV3(url, clientId, persistence);
    MqttConnectOptions o = new MqttConnectOptions();
    o.setMqttVersion(MqttConnectOptions.MQTT_VERSION_3_1_1);
    o.setCleanSession(true);
    o.setConnectionTimeout(5);
    o.setAutomaticReconnect(false);
    // Paho's synchronous publish returns when the PUBACK is in, but its in-flight count drops a
    // moment later on another thread (eclipse-paho/paho.mqtt.java#551); with its default limit of 10,
    // back-to-back QoS 1 publishes on a busy machine then fail in the client with "Too many
    // publishes in progress" (seen against nats-server's listener). A publish still waits for its
    // PUBACK; only the client's own bookkeeping gets room.
    o.setMaxInflight(1000);
    if (options != null) {
      options.accept(o);
    }
    c.connectToken = c.client.connectWithResult(o);
    return c;
  }

  static PahoV3 connect(String url, String clientId) throws MqttException {
    return connect(url, clientId, (Consumer<MqttConnectOptions>) null);
  }

  boolean sessionPresent() {
    return connectToken.getSessionPresent();
  }

  int[] subscribe(String filter, int qos) throws MqttException {
    IMqttToken t = client.subscribeWithResponse(filter, qos);
    t.waitForCompletion(5000);
    return t.getGrantedQos();
  }

  void publish(String topic, String payload, int qos, boolean retained) throws MqttException {
    client.publish(topic, payload.getBytes(StandardCharsets.UTF_8), qos, retained);
  }

  void publish(String topic, String payload, int qos) throws MqttException {
    publish(topic, payload, qos, false);
  }

  Received next(Duration timeout) throws InterruptedException {
    return messages.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  Received next() throws InterruptedException {
    Received r = next(Duration.ofSeconds(5));
    if (r == null) {
      throw new AssertionError("no message within 5 s");
    }
    return r;
  }

  void drop() throws MqttException {
    client.disconnectForcibly(0, 0, false);
  }

  @Override
  public void close() {
    try {
      if (client.isConnected()) {
        client.disconnect(0);
      }
    } catch (MqttException e) {
      // already gone
    }
    try {
      client.close();
    } catch (MqttException e) {
      // already closed
    }
  }
}
