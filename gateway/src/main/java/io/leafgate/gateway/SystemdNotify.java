package io.leafgate.gateway;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.tinylog.Logger;

/**
 * The systemd service notification client: tells systemd that the gateway is ready, reloading or
 * stopping, and pings the service watchdog while the gateway is healthy. It does nothing when the
 * gateway was not started by systemd with {@code Type=notify} ({@code $NOTIFY_SOCKET} unset).
 *
 * <p>How the messages travel. The protocol is one datagram of {@code KEY=VALUE} lines on the
 * {@code AF_UNIX/SOCK_DGRAM} socket named by {@code $NOTIFY_SOCKET}. Java 17 can open {@code AF_UNIX}
 * stream sockets only ({@code DatagramChannel} takes no {@code UnixDomainSocketAddress}), the
 * foreign-function API is an incubator without an ARM32 linker, and Netty's native domain-datagram
 * channel does not exist for armhf. So the datagram is sent by {@code systemd-notify}, which ships in
 * the {@code systemd} package and is therefore present wherever systemd started us. Because its
 * sender is our child and not the main process, the unit sets {@code NotifyAccess=all}; and because
 * {@code systemd-notify} (systemd 246 and later) waits until PID 1 has processed the message before it
 * exits, the message cannot be lost to the race the systemd-notify(1) man page describes for
 * auxiliary processes that exit at once. No library is needed.
 *
 * <p>The watchdog: when systemd sets {@code $WATCHDOG_USEC} (the unit's {@code WatchdogSec=}) for our
 * process, a daemon thread named {@code leafgate-systemd} runs the health check every third of that
 * period and sends {@code WATCHDOG=1} only when it passes; otherwise it sends the problem as
 * {@code STATUS=} and lets systemd restart the gateway once the period runs out.
 *
 * <p>Thread safety: every message is sent from the {@code leafgate-systemd} thread, in call order;
 * the public methods only queue and may be called from any thread.
 */
public final class SystemdNotify implements AutoCloseable {

  /** Runs one {@code systemd-notify} with the given {@code KEY=VALUE} assignments. */
  @FunctionalInterface
  interface Sender {
    void send(List<String> assignments) throws IOException, InterruptedException;
  }

  /** How long one {@code systemd-notify} may take (it waits up to 5 s for PID 1 by default). */
  private static final long SEND_TIMEOUT_MS = 15_000;

  private final boolean enabled;
  private final long watchdogMicros;
  private final Sender sender;
  private final ScheduledExecutorService thread;
  private volatile String lastProblem;

  SystemdNotify(Map<String, String> env, long ourPid, Sender sender) {
    String socket = env.get("NOTIFY_SOCKET");
    this.enabled = socket != null && !socket.isEmpty();
    this.watchdogMicros = enabled ? watchdogMicros(env, ourPid) : 0;
    this.sender = sender;
    this.thread = enabled ? Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "leafgate-systemd");
      t.setDaemon(true);
      return t;
    }) : null;
  }

  /** A client for this process, reading {@code $NOTIFY_SOCKET} and {@code $WATCHDOG_USEC}. */
  public static SystemdNotify fromEnvironment() {
    return new SystemdNotify(System.getenv(), ProcessHandle.current().pid(), SystemdNotify::runSystemdNotify);
  }

  /**
   * The watchdog period systemd asks of this process, in microseconds, or 0 for none. systemd sets
   * {@code WATCHDOG_PID} to the main process; a process that is not it must not ping.
   */
  static long watchdogMicros(Map<String, String> env, long ourPid) {
    String usec = env.get("WATCHDOG_USEC");
    if (usec == null || usec.isBlank()) {
      return 0;
    }
    String pid = env.get("WATCHDOG_PID");
    try {
      if (pid != null && !pid.isBlank() && Long.parseLong(pid.trim()) != ourPid) {
        return 0;
      }
      long v = Long.parseLong(usec.trim());
      return v > 0 ? v : 0;
    } catch (NumberFormatException e) {
      Logger.warn("Ignoring a malformed WATCHDOG_USEC/WATCHDOG_PID from systemd: {} / {}", usec, pid);
      return 0;
    }
  }

  /** Whether systemd is listening ({@code $NOTIFY_SOCKET} is set). */
  public boolean enabled() {
    return enabled;
  }

  /** The watchdog period in microseconds, or 0 when systemd asked for none. */
  public long watchdogMicros() {
    return watchdogMicros;
  }

  /** Start-up is complete and the listeners accept connections. */
  public void ready(String status) {
    send("READY=1", "STATUS=" + status.replace('\n', ' '));
  }

  /** A configuration reload has begun; {@link #ready} ends it. */
  public void reloading() {
    send("RELOADING=1", "STATUS=Reloading the configuration");
  }

  /** The gateway is draining and will exit. */
  public void stopping() {
    send("STOPPING=1", "STATUS=Stopping");
  }

  /**
   * Starts pinging the watchdog, if systemd asked for one: every third of the period,
   * {@code healthProblem} is asked what is wrong (null when healthy); it runs on the
   * {@code leafgate-systemd} thread and must answer within the period.
   */
  public void startWatchdog(Supplier<String> healthProblem) {
    if (!enabled || watchdogMicros == 0) {
      return;
    }
    long every = Math.max(watchdogMicros / 3, 100_000);
    Logger.info("systemd watchdog: checking health every {} ms (WatchdogSec {} ms)", every / 1000,
        watchdogMicros / 1000);
    thread.scheduleWithFixedDelay(() -> tick(healthProblem), every, every, TimeUnit.MICROSECONDS);
  }

  /** One watchdog period: ping when healthy, report the problem otherwise (logged on change only). */
  void tick(Supplier<String> healthProblem) {
    String problem;
    try {
      problem = healthProblem.get();
    } catch (RuntimeException e) {
      problem = "health check failed: " + e;
    }
    String previous = lastProblem;
    lastProblem = problem;
    if (problem == null) {
      if (previous != null) {
        Logger.info("systemd watchdog: healthy again");
        sendNow(List.of("WATCHDOG=1", "STATUS=Ready"));
      } else {
        sendNow(List.of("WATCHDOG=1"));
      }
    } else {
      if (!problem.equals(previous)) {
        Logger.warn("systemd watchdog: not pinging while unhealthy: {}", problem);
      }
      sendNow(List.of("STATUS=Unhealthy: " + problem.replace('\n', ' ')));
    }
  }

  private void send(String... assignments) {
    if (!enabled) {
      return;
    }
    List<String> list = List.of(assignments);
    try {
      thread.execute(() -> sendNow(list));
    } catch (java.util.concurrent.RejectedExecutionException e) {
      Logger.debug("systemd notification after close dropped: {}", list);
    }
  }

  private void sendNow(List<String> assignments) {
    try {
      sender.send(assignments);
    } catch (IOException e) {
      Logger.warn("systemd notification {} failed: {}", assignments, e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Sends with {@code systemd-notify}, waiting for it (it returns once PID 1 has the message). */
  private static void runSystemdNotify(List<String> assignments) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>();
    cmd.add("systemd-notify");
    cmd.addAll(assignments);
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
        .start();
    if (!p.waitFor(SEND_TIMEOUT_MS, TimeUnit.MILLISECONDS)) {
      p.destroyForcibly();
      throw new IOException("systemd-notify did not finish within " + SEND_TIMEOUT_MS + " ms");
    }
    if (p.exitValue() != 0) {
      throw new IOException("systemd-notify exited with " + p.exitValue());
    }
  }

  /**
   * Sends what is queued (a last {@link #stopping}) and stops the thread; waits at most a few
   * seconds, so a stuck systemd cannot hold up the exit.
   */
  @Override
  public void close() {
    if (thread == null) {
      return;
    }
    thread.shutdown();
    try {
      thread.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
