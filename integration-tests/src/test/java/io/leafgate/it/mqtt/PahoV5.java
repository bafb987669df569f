package io.leafgate.it.mqtt;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.eclipse.paho.mqttv5.client.IMqttToken;
import org.eclipse.paho.mqttv5.client.MqttCallback;
import org.eclipse.paho.mqttv5.client.MqttAsyncClient;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.client.MqttDisconnectResponse;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.eclipse.paho.mqttv5.common.MqttException;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.eclipse.paho.mqttv5.common.MqttSubscription;
import org.eclipse.paho.mqttv5.common.packet.MqttProperties;

/**
 * A Paho MQTT 5 client (the real one users run) that collects what it receives, for tests. Its
 * session state is in memory, so a new instance with the same client id starts without the
 * client-side half of a session.
 */
final class PahoV5 implements AutoCloseable {
  /** One received message. */
  record Received(String topic, String payload, int qos, boolean retained, boolean dup, MqttProperties props) {}

  final MqttAsyncClient client;
  final BlockingQueue<Received> messages = new LinkedBlockingQueue<>();
  volatile MqttDisconnectResponse disconnected;
  IMqttToken connectToken;

  private PahoV5(String url, String clientId) throws MqttException {
    client = new MqttAsyncClient(url, clientId, new MemoryPersistence());
    client.setCallback(new MqttCallback() {
      @Override
      public void disconnected(MqttDisconnectResponse r) {
        disconnected = r;
      }

      @Override
      public void mqttErrorOccurred(MqttException e) {}

      @Override
      public void messageArrived(String topic, MqttMessage m) {
        messages.add(new Received(topic, new String(m.getPayload(), StandardCharsets.UTF_8), m.getQos(),
            m.isRetained(), m.isDuplicate(), m.getProperties()));
      }

      @Override
      public void deliveryComplete(IMqttToken token) {}

      @Override
      public void connectComplete(boolean reconnect, String serverURI) {}

      @Override
      public void authPacketArrived(int reasonCode, MqttProperties properties) {}
    });
  }

  /** Connects with a clean start and session expiry 0 unless {@code options} says otherwise. */
  static PahoV5 connect(String url, String clientId, Consumer<MqttConnectionOptions> options) throws MqttException {
    PahoV5 c = new PahoV5(url, clientId);
    MqttConnectionOptions o = new MqttConnectionOptions();
    o.setCleanStart(true);
    o.setConnectionTimeout(5);
    o.setAutomaticReconnect(false);
    if (options != null) {
      options.accept(o);
    }
    c.connectToken = c.client.connect(o);
    c.connectToken.waitForCompletion(10_000);
    return c;
  }

  static PahoV5 connect(String url, String clientId) throws MqttException {
    return connect(url, clientId, null);
  }

  boolean sessionPresent() {
    return connectToken.getSessionPresent();
  }

  MqttProperties connack() {
    return connectToken.getResponseProperties();
  }

  /** Subscribes; returns the SUBACK reason codes. */
  int[] subscribe(String filter, int qos) throws MqttException {
    return subscribe(new MqttSubscription(filter, qos), new MqttProperties());
  }

  int[] subscribe(MqttSubscription s, MqttProperties props) throws MqttException {
    IMqttToken t = client.subscribe(new MqttSubscription[] {s}, null, null, props);
    t.waitForCompletion(5000);
    return t.getReasonCodes();
  }

  /** Publishes and waits for the acknowledgement; returns the PUBACK/PUBREC reason codes. */
  int[] publish(String topic, String payload, int qos, boolean retained, MqttProperties props) throws MqttException {
    MqttMessage m = new MqttMessage(payload.getBytes(StandardCharsets.UTF_8));
    m.setQos(qos);
    m.setRetained(retained);
    if (props != null) {
      m.setProperties(props);
    }
    IMqttToken t = client.publish(topic, m, null, null);
    try {
      t.waitForCompletion(10_000);
    } catch (MqttException e) {
      if (e.getReasonCode() >= 0x80 && e.getReasonCode() <= 0xff) {
        return new int[] {e.getReasonCode()};
      }
      throw e;
    }
    return t.getReasonCodes();
  }

  void publish(String topic, String payload, int qos) throws MqttException {
    publish(topic, payload, qos, false, null);
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

  /** Closes the network connection without a DISCONNECT (the will goes out). */
  void drop() throws MqttException {
    client.disconnectForcibly(0, 0, false);
  }

  @Override
  public void close() {
    try {
      if (client.isConnected()) {
        client.disconnect(0).waitForCompletion(3000);
      }
    } catch (MqttException e) {
      // already gone
    }
    try {
      client.close(true);
    } catch (MqttException e) {
      // already closed
    }
  }
}
