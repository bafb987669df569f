package io.leafgate.bench;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One server under test, running as a child process on loopback: leafgate through the
 * repository's {@code ./leafgate run} launcher (with the launcher's default JVM flags),
 * nats-server or mosquitto from its binary; with command-line flags or with a config file that the
 * bench wrote. Each instance has its own work folder that holds its store or ports-file folder and
 * its log ({@code <label>.log}, stdout and stderr together).
 *
 * <p>The NATS, MQTT and monitoring addresses of leafgate and nats-server come from the ports file
 * they write ({@code <name>_<pid>.ports}); mosquitto writes none, so its MQTT port is chosen by the
 * bench and passed in.
 *
 * <p>Closing sends SIGTERM, waits for a clean stop, then kills the process.
 */
final class ServerProcess implements AutoCloseable {
  private static final Pattern NATS_URL = Pattern.compile("nats://([^\"\\s:]+):(\\d+)");
  private static final Pattern MQTT_URL = Pattern.compile("mqtt://([^\"\\s:]+):(\\d+)");
  private static final Pattern HTTP_URL = Pattern.compile("http://([^\"\\s:/]+):(\\d+)");
  private static final Duration STOP_GRACE = Duration.ofSeconds(10);

  private final ServerKind kind;
  private final Process process;
  private final Path workDir;
  private final Path log;
  private InetSocketAddress natsAddress;
  private InetSocketAddress mqttAddress;
  private InetSocketAddress monitorAddress;
  /** Every server launched and not yet stopped, for the shutdown hook ({@link #closeAll}). */
  private static final java.util.Set<ServerProcess> LIVE = java.util.concurrent.ConcurrentHashMap.newKeySet();

  private ServerProcess(ServerKind kind, Process process, Path workDir, Path log) {
    this.kind = kind;
    this.process = process;
    this.workDir = workDir;
    this.log = log;
  }

  /** Where to find the programs; {@code mosquitto} is null when it was not found. */
  record Programs(Path repoRoot, Path natsServer, Path mosquitto) {
    /** The command that starts {@code kind} with its client port set to {@code port} (-1: any). */
    List<String> command(ServerKind kind, int port, Path workDir) {
      List<String> cmd = new ArrayList<>();
      switch (kind) {
        case LEAFGATE -> {
          cmd.add(repoRoot.resolve("leafgate").toString());
          cmd.addAll(List.of("run", "-a", "127.0.0.1", "-p", Integer.toString(port), "-m", "-1",
              "--mqtt_port", "-1", "-sd", workDir.toString()));
        }
        case NATS_SERVER -> {
          cmd.add(natsServer.toString());
          cmd.addAll(List.of("-a", "127.0.0.1", "-p", Integer.toString(port), "-m", "-1",
              "--ports_file_dir", workDir.toString()));
        }
        case MOSQUITTO -> throw new IllegalArgumentException("mosquitto runs with a config file only");
      }
      return cmd;
    }

    /** The command that starts {@code kind} with the config file {@code config} and nothing else. */
    List<String> withConfig(ServerKind kind, Path config) {
      return switch (kind) {
        case LEAFGATE -> List.of(repoRoot.resolve("leafgate").toString(), "run", "-c", config.toString());
        case NATS_SERVER -> List.of(natsServer.toString(), "-c", config.toString());
        case MOSQUITTO -> {
          if (mosquitto == null) {
            throw new IllegalStateException("mosquitto not found; use --mosquitto or MOSQUITTO_PATH");
          }
          yield List.of(mosquitto.toString(), "-c", config.toString());
        }
      };
    }
  }

  /**
   * Launches a server and returns at once; call {@link #awaitReady} before using it. {@code port}
   * is the client port, -1 to let the server pick one (it is then read from the ports file).
   * LEAFGATE_JAVA_OPTS is removed from the child's environment so that the launcher uses its
   * default JVM flags.
   */
  static ServerProcess launch(ServerKind kind, Programs programs, int port, Path workDir) throws IOException {
    return launch(kind, programs, programs.command(kind, port, workDir), workDir);
  }

  /**
   * Launches {@code command} (see {@link Programs#withConfig}) as a server of {@code kind} whose
   * ports file, if it writes one, lands in {@code workDir}; returns at once.
   */
  static ServerProcess launch(ServerKind kind, Programs programs, List<String> command, Path workDir)
      throws IOException {
    Files.createDirectories(workDir);
    Path log = workDir.resolve(kind.label() + ".log");
    ProcessBuilder pb = new ProcessBuilder(command)
        .directory(programs.repoRoot().toFile())
        .redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    pb.environment().remove("LEAFGATE_JAVA_OPTS");
    ServerProcess p = new ServerProcess(kind, pb.start(), workDir, log);
    LIVE.add(p);
    return p;
  }

  /** Stops every server launched and not stopped yet: for the shutdown hook and the final clean-up. */
  static void closeAll() {
    for (ServerProcess p : List.copyOf(LIVE)) {
      p.close();
    }
  }

  /**
   * Waits until the server has written its ports file and answers a TCP connect with INFO.
   *
   * @throws IOException with the end of the server's log when it exits or the time runs out
   */
  ServerProcess awaitReady(Duration timeout) throws IOException, InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    if (kind == ServerKind.MOSQUITTO) {
      return awaitMqtt(deadline, timeout);
    }
    while (natsAddress == null) {
      if (!process.isAlive()) {
        throw failure("exited with code " + process.exitValue() + " before writing its ports file");
      }
      if (System.nanoTime() > deadline) {
        throw failure("wrote no ports file within " + timeout.toSeconds() + " s");
      }
      natsAddress = readPortsFile().orElse(null);
      if (natsAddress == null) {
        Thread.sleep(20);
      }
    }
    while (true) {
      try {
        readInfo(natsAddress, Duration.ofSeconds(2));
        return this;
      } catch (IOException e) {
        if (System.nanoTime() > deadline || !process.isAlive()) {
          throw failure("does not answer on " + natsAddress + ": " + e.getMessage());
        }
        Thread.sleep(20);
      }
    }
  }

  /**
   * Sets the MQTT port of a server that writes no ports file (mosquitto: the bench chose the port
   * and wrote it into the config); returns this.
   */
  ServerProcess withMqttPort(int port) {
    mqttAddress = new InetSocketAddress("127.0.0.1", port);
    return this;
  }

  /** Waits until an MQTT CONNECT on the known port is answered by a CONNACK that accepts it. */
  private ServerProcess awaitMqtt(long deadline, Duration timeout) throws IOException, InterruptedException {
    while (true) {
      try {
        MqttWire.handshake(mqttAddress, Duration.ofSeconds(2));
        return this;
      } catch (IOException e) {
        if (!process.isAlive()) {
          throw failure("exited with code " + process.exitValue() + " during start-up");
        }
        if (System.nanoTime() > deadline) {
          throw failure("does not answer MQTT on " + mqttAddress + " within " + timeout.toSeconds() + " s: "
              + e.getMessage());
        }
        Thread.sleep(20);
      }
    }
  }

  /** Reads the ports file: the NATS address, and the MQTT and monitoring ones when the server has them. */
  private Optional<InetSocketAddress> readPortsFile() throws IOException {
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(workDir, "*_" + process.pid() + ".ports")) {
      for (Path p : ds) {
        String text = Files.readString(p);
        Matcher m = NATS_URL.matcher(text);
        if (m.find()) {
          mqttAddress = address(MQTT_URL, text);
          monitorAddress = address(HTTP_URL, text);
          return Optional.of(new InetSocketAddress(m.group(1), Integer.parseInt(m.group(2))));
        }
      }
    }
    return Optional.empty();
  }

  private static InetSocketAddress address(Pattern p, String text) {
    Matcher m = p.matcher(text);
    return m.find() ? new InetSocketAddress(m.group(1), Integer.parseInt(m.group(2))) : null;
  }

  /** The server answered a connection, but its first line was not a well-formed INFO. */
  static final class BadGreeting extends IOException {
    BadGreeting(String line) {
      super("first line is not a valid INFO: '" + line + "'");
    }
  }

  /**
   * Connects to a NATS port and reads the first line, which must be {@code INFO {...}}.
   *
   * @throws BadGreeting when the first line is something else
   * @throws IOException when the connect fails or no full line comes within {@code timeout}
   */
  static void readInfo(InetSocketAddress address, Duration timeout) throws IOException {
    try (Socket s = new Socket()) {
      s.setTcpNoDelay(true);
      s.connect(address, (int) timeout.toMillis());
      s.setSoTimeout((int) timeout.toMillis());
      InputStream in = s.getInputStream();
      StringBuilder line = new StringBuilder();
      while (true) {
        int b = in.read();
        if (b < 0) {
          throw new IOException("connection closed before INFO" + (line.length() > 0 ? " after '" + line + "'" : ""));
        }
        if (b == '\n') {
          break;
        }
        if (line.length() < 8192) {
          line.append((char) b);
        }
      }
      String l = line.toString().strip();
      if (!l.startsWith("INFO {") || !l.endsWith("}")) {
        throw new BadGreeting(l.length() > 80 ? l.substring(0, 80) + "..." : l);
      }
    }
  }

  /** The server's client URL, {@code nats://host:port}. Only after {@link #awaitReady}. */
  String natsUrl() {
    return "nats://" + natsAddress.getHostString() + ":" + natsAddress.getPort();
  }

  /** The server's client address. Only after {@link #awaitReady}. */
  InetSocketAddress natsAddress() {
    return natsAddress;
  }

  /** The server's MQTT address; null when it has no MQTT listener. Only after {@link #awaitReady}. */
  InetSocketAddress mqttAddress() {
    return mqttAddress;
  }

  /**
   * The base URL of the server's monitoring endpoint, {@code http://host:port}. Only after
   * {@link #awaitReady}.
   *
   * @throws IllegalStateException when the ports file named none
   */
  String monitorUrl() {
    if (monitorAddress == null) {
      throw new IllegalStateException(kind.label() + " has no monitoring port in its ports file");
    }
    return "http://" + monitorAddress.getHostString() + ":" + monitorAddress.getPort();
  }

  ServerKind kind() {
    return kind;
  }

  Path log() {
    return log;
  }

  /**
   * The id of the process that serves: the launched process itself when it is the server (the
   * leafgate launcher {@code exec}s java), otherwise its first java descendant.
   */
  long serverPid() {
    if (kind == ServerKind.LEAFGATE && !isJava(process.toHandle())) {
      return process.descendants().filter(ServerProcess::isJava).findFirst()
          .map(ProcessHandle::pid).orElse(process.pid());
    }
    return process.pid();
  }

  private static boolean isJava(ProcessHandle h) {
    return h.info().command().map(c -> c.endsWith("/java")).orElse(false);
  }

  /** The server's resident set size in KiB. */
  long rssKiB() throws IOException {
    return ProcInfo.rssKiB(serverPid());
  }

  /** The bytes the server has caused to be written to storage so far ({@code write_bytes}, /proc/PID/io). */
  long writeBytes() throws IOException {
    return ProcInfo.writeBytes(serverPid());
  }

  /** The server's soft limit on open files. */
  long openFilesLimit() throws IOException {
    return ProcInfo.openFilesLimit(Long.toString(serverPid()));
  }

  /** The JVM options the leafgate JVM runs with (what precedes {@code -cp}), for the report. */
  Optional<String> jvmOptions() {
    return ProcInfo.commandLine(serverPid()).map(cmd -> {
      int cp = cmd.indexOf(" -cp ");
      int start = cmd.indexOf(' ');
      return cp > start && start > 0 ? cmd.substring(start + 1, cp) : cmd;
    });
  }

  boolean isAlive() {
    return process.isAlive();
  }

  private IOException failure(String what) {
    return new IOException(kind.label() + " " + what + "; log " + log + ":\n" + tail(log, 20));
  }

  /** The current length of the server's log, to pass to {@link #warningsSince} later. */
  long logMark() {
    try {
      return Files.size(log);
    } catch (IOException e) {
      return 0;
    }
  }

  /**
   * The warning and error lines the server logged after {@code mark} (at most {@code max}, the
   * first ones), joined by " / "; empty when there are none. Matches the three log formats
   * ({@code [WARN]}/{@code [ERROR]} for leafgate, {@code [WRN]}/{@code [ERR]} for nats-server,
   * {@code Warning:}/{@code Error:} for mosquitto).
   */
  String warningsSince(long mark, int max) {
    try (var ch = Files.newByteChannel(log)) {
      long size = ch.size();
      if (size <= mark) {
        return "";
      }
      var buf = java.nio.ByteBuffer.allocate((int) Math.min(size - mark, 1 << 20));
      ch.position(mark);
      while (buf.hasRemaining() && ch.read(buf) > 0) {
        // fill
      }
      return new String(buf.array(), 0, buf.position(), StandardCharsets.UTF_8).lines()
          .filter(l -> l.contains("[WARN]") || l.contains("[ERROR]") || l.contains("[WRN]") || l.contains("[ERR]")
              || l.contains(": Warning:") || l.contains(": Error:"))
          .limit(max).reduce((a, b) -> a + " / " + b).orElse("");
    } catch (IOException e) {
      return "";
    }
  }

  /** The last {@code lines} lines of a text file, or a note when it cannot be read. */
  static String tail(Path file, int lines) {
    try {
      List<String> all = Files.readAllLines(file, StandardCharsets.UTF_8);
      return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    } catch (IOException e) {
      return "(log unreadable: " + e.getMessage() + ")";
    }
  }

  /**
   * Kills the process at once (SIGKILL) and waits for it to go: for a server whose clean stop is
   * of no interest, such as one holding thousands of idle connections after its RSS was read.
   */
  void kill() {
    LIVE.remove(this);
    process.descendants().forEach(ProcessHandle::destroyForcibly);
    process.destroyForcibly();
    try {
      process.waitFor(STOP_GRACE.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Sends SIGTERM, waits for the stop, then kills the process (and its children) if it lingers. */
  @Override
  public void close() {
    LIVE.remove(this);
    List<ProcessHandle> children = process.descendants().toList();
    process.destroy();
    try {
      if (!process.waitFor(STOP_GRACE.toMillis(), TimeUnit.MILLISECONDS)) {
        process.destroyForcibly();
        process.waitFor(STOP_GRACE.toMillis(), TimeUnit.MILLISECONDS);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
    children.forEach(ProcessHandle::destroyForcibly);
  }
}
