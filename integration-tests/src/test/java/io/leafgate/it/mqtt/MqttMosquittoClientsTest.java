package io.leafgate.it.mqtt;

import io.leafgate.it.harness.Await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.nats.client.Connection;
import io.nats.client.Message;
import io.nats.client.Nats;
import io.nats.client.Subscription;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The real {@code mosquitto_pub} and {@code mosquitto_sub} (Debian mosquitto-clients) against leafgate. */
class MqttMosquittoClientsTest {
  private static final Duration T = Duration.ofSeconds(5);
  @TempDir
  static Path tmp;
  static MqttRig rig;
  static String pubBin;
  static String subBin;
  private static int ids;

  @BeforeAll
  static void start() throws Exception {
    pubBin = ExternalProcess.binary("MOSQUITTO_PUB_PATH", "/usr/bin/mosquitto_pub");
    subBin = ExternalProcess.binary("MOSQUITTO_SUB_PATH", "/usr/bin/mosquitto_sub");
    rig = MqttRig.start(tmp.resolve("gw"));
  }

  @AfterAll
  static void stop() {
    if (rig != null) {
      rig.close();
    }
  }

  private static String id(String base) {
    return base + (++ids);
  }

  private static List<String> base(String bin) {
    List<String> c = new ArrayList<>();
    c.add(bin);
    c.add("-h");
    c.add("127.0.0.1");
    c.add("-p");
    c.add(Integer.toString(rig.mqttPort()));
    return c;
  }

  /** Runs mosquitto_pub to completion; returns its exit code. */
  private static int pub(String... args) throws Exception {
    List<String> c = base(pubBin);
    c.addAll(List.of(args));
    Process p = new ProcessBuilder(c).redirectErrorStream(true).start();
    assertTrue(p.waitFor(10, TimeUnit.SECONDS), "mosquitto_pub hung");
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, p.exitValue(), "mosquitto_pub failed: " + out);
    return p.exitValue();
  }

  /** Starts mosquitto_sub with output to a file; waits until its subscription is in the router. */
  private static Sub sub(String subject, String... args) throws Exception {
    List<String> c = base(subBin);
    c.addAll(List.of(args));
    Path out = tmp.resolve("sub-" + (++ids) + ".out");
    Process p = new ProcessBuilder(c).redirectErrorStream(true).redirectOutput(out.toFile()).start();
    Sub s = new Sub(p, out);
    if (subject != null) {
      Await.until(T, () -> {
        if (!p.isAlive()) {
          return "mosquitto_sub exited: " + s.output();
        }
        return subscribed(subject) ? null : "no subscription matching " + subject + " yet";
      });
    }
    return s;
  }

  /** Whether the gateway's routing table holds a subscription matching {@code subject} (/subsz). */
  private static boolean subscribed(String subject) {
    try {
      HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
          URI.create(rig.httpUrl() + "/subsz?test=" + subject)).build(), HttpResponse.BodyHandlers.ofString());
      java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"total\"\\s*:\\s*(\\d+)").matcher(r.body());
      return m.find() && Integer.parseInt(m.group(1)) > 0;
    } catch (IOException | InterruptedException e) {
      throw new IllegalStateException(e);
    }
  }

  record Sub(Process process, Path out) {
    String output() {
      try {
        return Files.exists(out) ? Files.readString(out) : "";
      } catch (IOException e) {
        return e.toString();
      }
    }

    /** Waits for the process to end by itself (-C count reached) and returns its output lines. */
    List<String> lines() throws InterruptedException {
      assertTrue(process.waitFor(10, TimeUnit.SECONDS), "mosquitto_sub did not finish: " + output());
      return output().lines().toList();
    }
  }

  @Test
  void pubAndSubAtEveryQos() throws Exception {
    String t = id("cli");
    Sub s = sub(t + ".x", "-t", t + "/#", "-q", "2", "-C", "3", "-v");
    pub("-t", t + "/x", "-m", "q0", "-q", "0");
    pub("-t", t + "/x", "-m", "q1", "-q", "1");
    pub("-t", t + "/x", "-m", "q2", "-q", "2");
    assertEquals(List.of(t + "/x q0", t + "/x q1", t + "/x q2"), s.lines());
  }

  @Test
  void version5PublishWithUserPropertiesReachesNatsAsHeaders() throws Exception {
    String t = id("cli5");
    try (Connection nc = Nats.connect(rig.natsUrl())) {
      Subscription ns = nc.subscribe(t + ".>");
      nc.flush(T);
      pub("-V", "5", "-t", t + "/dev/1", "-m", "21.5", "-q", "1",
          "-D", "publish", "user-property", "unit", "C", "-D", "publish", "content-type", "text/plain");
      Message m = ns.nextMessage(T);
      assertNotNull(m);
      assertEquals(t + ".dev.1", m.getSubject());
      assertEquals("21.5", new String(m.getData(), StandardCharsets.UTF_8));
      assertEquals("C", m.getHeaders().getFirst("unit"));
    }
  }

  @Test
  void retainedMessageForALateSubscriber() throws Exception {
    String t = id("clir");
    pub("-t", t + "/state", "-m", "on", "-r", "-q", "1");
    Sub s = sub(null, "-t", t + "/+", "-C", "1", "-v");
    assertEquals(List.of(t + "/state on"), s.lines());
    pub("-t", t + "/state", "-n", "-r"); // an empty retained message deletes it
    Sub none = sub(t + ".state", "-t", t + "/+", "-C", "1", "-W", "1", "-v");
    assertTrue(none.process().waitFor(5, TimeUnit.SECONDS));
    assertEquals(List.of("Timed out"), none.output().lines().toList(), "the deleted retained message came");
  }

  @Test
  void persistentSessionCollectsWhileTheSubscriberIsAway() throws Exception {
    String t = id("clip");
    String cid = id("cli-persist");
    Sub first = sub(t + ".a", "-t", t + "/a", "-q", "1", "-c", "-i", cid);
    first.process().destroy(); // SIGTERM: mosquitto_sub disconnects; the session stays
    assertTrue(first.process().waitFor(5, TimeUnit.SECONDS));
    pub("-t", t + "/a", "-m", "while-away", "-q", "1");
    Sub again = sub(null, "-t", t + "/a", "-q", "1", "-c", "-i", cid, "-C", "1");
    assertEquals(List.of("while-away"), again.lines());
  }

  @Test
  void willOfAKilledClient() throws Exception {
    String t = id("cliw");
    Sub watcher = sub(t + ".status", "-t", t + "/status", "-C", "1", "-v");
    Sub dying = sub(t + ".other", "-t", t + "/other", "--will-topic", t + "/status", "--will-payload", "offline",
        "--will-qos", "1", "-k", "5");
    dying.process().destroyForcibly(); // no DISCONNECT
    assertEquals(List.of(t + "/status offline"), watcher.lines());
  }
}
