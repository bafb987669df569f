package io.leafgate.it.mqtt;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A real nats-server (Debian's 2.9.x) with JetStream and its MQTT 3.1.1 listener, on reserved
 * loopback ports: the reference for the topic to subject mapping.
 */
final class NatsServerMqtt extends ExternalProcess {
  private int natsPort;
  private int mqttPort;

  private NatsServerMqtt(Path dir) {
    super(dir, "nats-server");
  }

  static NatsServerMqtt start(Path dir) throws IOException {
    NatsServerMqtt n = new NatsServerMqtt(dir);
    n.start();
    return n;
  }

  @Override
  protected int portCount() {
    return 2;
  }

  @Override
  protected void onPorts(int[] ports) {
    natsPort = ports[0];
    mqttPort = ports[1];
  }

  @Override
  protected int readyPort(int[] ports) {
    return ports[1];
  }

  @Override
  protected List<String> prepare(int[] ports) throws IOException {
    Path conf = dir.resolve("nats-server.conf");
    String storeDir = dir.resolve("js").toString().replace("\\", "/");
    Files.writeString(conf, "listen: 127.0.0.1:" + ports[0] + "\n"
        + "server_name: ns-mqtt-ref\n"
        + "jetstream { store_dir: \"" + storeDir + "\" }\n"
        + "mqtt { listen: 127.0.0.1:" + ports[1] + " }\n");
    return List.of(binary("NATS_SERVER_PATH", "/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"),
        "-c", conf.toString());
  }

  String natsUrl() {
    return "nats://127.0.0.1:" + natsPort;
  }

  String mqttUrl() {
    return "tcp://127.0.0.1:" + mqttPort;
  }
}
