package io.leafgate.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/** The systemd notification client without systemd: what it would send, and when. */
class SystemdNotifyTest {

  private final List<List<String>> sent = new CopyOnWriteArrayList<>();

  private SystemdNotify client(Map<String, String> env) {
    return new SystemdNotify(env, 42, sent::add);
  }

  @Test
  void withoutNotifySocketNothingIsSent() {
    try (SystemdNotify n = client(Map.of("WATCHDOG_USEC", "30000000"))) {
      assertFalse(n.enabled());
      assertEquals(0, n.watchdogMicros());
      n.ready("Ready");
      n.stopping();
      n.startWatchdog(() -> null);
    }
    assertTrue(sent.isEmpty());
  }

  @Test
  void readyReloadingAndStoppingAreSentInOrder() {
    try (SystemdNotify n = client(Map.of("NOTIFY_SOCKET", "/run/systemd/notify"))) {
      assertTrue(n.enabled());
      n.ready("Ready: NATS on port 4222");
      n.reloading();
      n.ready("Ready");
      n.stopping();
    }
    assertEquals(List.of(
        List.of("READY=1", "STATUS=Ready: NATS on port 4222"),
        List.of("RELOADING=1", "STATUS=Reloading the configuration"),
        List.of("READY=1", "STATUS=Ready"),
        List.of("STOPPING=1", "STATUS=Stopping")), sent);
  }

  @Test
  void watchdogPeriodComesFromSystemdAndOnlyForTheMainProcess() {
    assertEquals(30_000_000, SystemdNotify.watchdogMicros(Map.of("WATCHDOG_USEC", "30000000"), 42));
    assertEquals(30_000_000,
        SystemdNotify.watchdogMicros(Map.of("WATCHDOG_USEC", "30000000", "WATCHDOG_PID", "42"), 42));
    assertEquals(0, SystemdNotify.watchdogMicros(Map.of("WATCHDOG_USEC", "30000000", "WATCHDOG_PID", "7"), 42));
    assertEquals(0, SystemdNotify.watchdogMicros(Map.of("WATCHDOG_USEC", "soon"), 42));
    assertEquals(0, SystemdNotify.watchdogMicros(Map.of(), 42));
  }

  @Test
  void watchdogPingsOnlyWhileHealthy() {
    List<String> health = new ArrayList<>(List.of("ok", "JetStream: disk full", "JetStream: disk full", "ok"));
    try (SystemdNotify n = client(Map.of("NOTIFY_SOCKET", "@x", "WATCHDOG_USEC", "3000000"))) {
      for (int i = 0; i < 4; i++) {
        String h = health.get(i);
        n.tick(() -> h.equals("ok") ? null : h);
      }
    }
    assertEquals(List.of(
        List.of("WATCHDOG=1"),
        List.of("STATUS=Unhealthy: JetStream: disk full"),
        List.of("STATUS=Unhealthy: JetStream: disk full"),
        List.of("WATCHDOG=1", "STATUS=Ready")), sent);
  }

  @Test
  void watchdogRunsOnItsOwnThreadEveryThirdOfThePeriod() throws Exception {
    try (SystemdNotify n = client(Map.of("NOTIFY_SOCKET", "@x", "WATCHDOG_USEC", "300000"))) {
      n.startWatchdog(() -> null);
      long deadline = System.nanoTime() + 5_000_000_000L;
      while (sent.size() < 3 && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
    }
    assertTrue(sent.size() >= 3, "pings: " + sent);
    assertTrue(sent.stream().allMatch(m -> m.equals(List.of("WATCHDOG=1"))), "pings: " + sent);
  }
}
