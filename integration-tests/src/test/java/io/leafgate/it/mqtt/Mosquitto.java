package io.leafgate.it.mqtt;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A real mosquitto broker (Debian's 2.0.x) on a reserved loopback port, anonymous access, no
 * persistence: the reference for MQTT semantics in the differential tests.
 */
final class Mosquitto extends ExternalProcess {
  private int port;

  private Mosquitto(Path dir) {
    super(dir, "mosquitto");
  }

  static Mosquitto start(Path dir) throws IOException {
    Mosquitto m = new Mosquitto(dir);
    m.start();
    return m;
  }

  @Override
  protected int portCount() {
    return 1;
  }

  @Override
  protected void onPorts(int[] ports) {
    port = ports[0];
  }

  @Override
  protected int readyPort(int[] ports) {
    return ports[0];
  }

  @Override
  protected List<String> prepare(int[] ports) throws IOException {
    Path conf = dir.resolve("mosquitto.conf");
    Files.writeString(conf, "listener " + ports[0] + " 127.0.0.1\nallow_anonymous true\npersistence false\n");
    return List.of(binary("MOSQUITTO_PATH", "/usr/sbin/mosquitto", "/usr/bin/mosquitto"), "-c", conf.toString());
  }

  int port() {
    return port;
  }

  String url() {
    return "tcp://127.0.0.1:" + port;
  }
}
