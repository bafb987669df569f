package io.leafgate.gateway;

import io.leafgate.leaf.config.ConfigException;
import io.leafgate.leaf.config.ConfigValue;
import io.leafgate.leaf.config.ServerOptions;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;
import org.tinylog.Logger;

/**
 * What a SIGHUP ({@code systemctl reload leafgate}) does: reads the configuration file again, with
 * the command-line flags on top as at start-up, and compares it with the configuration the gateway
 * runs. A file with errors is refused (every error is logged, file:line) and the gateway keeps
 * running unchanged. Each changed setting is either applied live or logged as
 * {@code <key> changed: restart needed}.
 *
 * <p>Live today: {@code uplink.replay_rate} and {@code uplink.replay_window} (the pace of a replay,
 * which an operator may want to change during a long drain without interrupting it). Every other key
 * of the file is read once at start-up by the module that owns it (listeners, store, limits,
 * authorization, the rest of the uplink), and the log level comes from the {@code -D/-V} flags, not
 * from the file. A key becomes live by giving it an applier ({@link Live}), once its module can take
 * a new value safely.
 *
 * <p>The comparison is always against what runs, not against the last file read, so a second
 * SIGHUP still reports what the first could not apply. Secrets are never logged, only key names.
 */
final class ConfigReload {

  /** One setting as the config file names it, and how to read it from the options. */
  record Setting(String key, Function<ServerOptions, Object> value) {}

  /** The uplink keys that are applied live. */
  static final java.util.Set<String> LIVE_UPLINK_KEYS = java.util.Set.of("replay_rate", "replay_window");

  /** Every setting of the file, in the order the default config documents them. */
  static final List<Setting> SETTINGS = List.of(
      new Setting("listen", o -> o.host + ":" + o.port),
      new Setting("http", o -> o.httpHost + ":" + o.httpPort),
      new Setting("mqtt.listen", o -> o.mqttHost + ":" + o.mqttPort),
      // The paths, verify, timeout and a digest of the files: a renewed certificate counts too.
      new Setting("mqtt.tls", o -> o.mqttTls),
      new Setting("server_name", o -> o.serverName),
      new Setting("store_dir", o -> o.storeDir.toAbsolutePath().normalize()),
      new Setting("jetstream", o -> o.jetStream),
      new Setting("jetstream.domain", o -> o.jetStreamDomain),
      new Setting("jetstream.max_file_store", o -> o.jetStreamMaxStore),
      new Setting("jetstream.max_memory_store", o -> o.jetStreamMaxMemory),
      new Setting("jetstream.sync", o -> o.jetStreamSync),
      new Setting("max_payload", o -> o.maxPayload),
      new Setting("max_control_line", o -> o.maxControlLine),
      new Setting("max_connections", o -> o.maxConnections),
      new Setting("max_pending", o -> o.maxPending),
      new Setting("write_deadline", o -> o.writeDeadline),
      new Setting("ping_interval", o -> o.pingInterval),
      new Setting("ping_max", o -> o.pingMax),
      new Setting("authorization", ConfigReload::authorization),
      // The block's text, and what the files it names hold: a renewed certificate or credentials
      // file at the same path counts too.
      new Setting("leafnodes", o -> List.of(String.valueOf(block(o, "leafnodes")), filesOf(o.extraBlocks.get("leafnodes")))),
      // The pacing keys are live; the rest of the block needs a restart.
      new Setting("uplink", o -> blockWithout(o, "uplink", LIVE_UPLINK_KEYS)),
      new Setting("uplink.replay_rate", o -> pacing(o).replayRate),
      new Setting("uplink.replay_window", o -> pacing(o).replayWindow),
      // As for mqtt.tls: the paths, verify, timeout and a digest of the files.
      new Setting("tls", o -> o.tls));

  /** Applies a changed setting to the running gateway; false when it cannot (then a restart is needed). */
  @FunctionalInterface
  interface Live {
    boolean apply(ServerOptions fresh);
  }

  /** Reads the configuration again; the command line's {@code ConfigOptions} in practice. */
  @FunctionalInterface
  interface Loader {
    ServerOptions load() throws ConfigException;
  }

  private final Loader loader;
  private final ServerOptions running;
  /** What runs: the start-up values, and those applied live since. */
  private final List<Object> runningSnapshot;
  private final SystemdNotify systemd;
  private final java.util.Map<String, Live> live;

  /**
   * @param loader reads the file and applies the flags, as at start-up
   * @param running the options the gateway was started with; never modified
   * @param live the appliers of the settings that can change while running, by key
   */
  ConfigReload(Loader loader, ServerOptions running, SystemdNotify systemd, java.util.Map<String, Live> live) {
    this.loader = loader;
    this.running = running;
    this.runningSnapshot = new ArrayList<>(snapshot(running));
    this.systemd = systemd;
    this.live = live;
  }

  /** Handles one SIGHUP; runs on the signal thread, one reload at a time. */
  synchronized void reload() {
    if (running.configFile == null) {
      Logger.warn("SIGHUP: the gateway runs without a configuration file (-c), nothing to reload");
      return;
    }
    systemd.reloading();
    try {
      ServerOptions fresh;
      try {
        fresh = loader.load();
      } catch (ConfigException e) {
        Logger.error("Reload refused, the running configuration stays: {} has {} error(s)", running.configFile,
            e.errors().size());
        e.errors().forEach(err -> Logger.error("  {}", err));
        return;
      } catch (RuntimeException e) {
        Logger.error("Reload refused, the running configuration stays: {}", e.toString());
        return;
      }
      List<Object> freshSnapshot = snapshot(fresh);
      List<String> changed = changedKeys(runningSnapshot, freshSnapshot);
      List<String> needRestart = new ArrayList<>();
      for (String key : changed) {
        int i = indexOf(key);
        Live applier = live.get(key);
        if (applier != null && applier.apply(fresh)) {
          Logger.info("{} changed: applied ({} -> {})", key, runningSnapshot.get(i), freshSnapshot.get(i));
          runningSnapshot.set(i, freshSnapshot.get(i));
        } else {
          Logger.warn("{} changed: restart needed", key);
          needRestart.add(key);
        }
      }
      if (changed.isEmpty()) {
        Logger.info("Reloaded {}: no setting differs from the running configuration", running.configFile);
      } else if (needRestart.isEmpty()) {
        Logger.info("Reloaded {}: {} setting(s) changed, all applied", running.configFile, changed.size());
      } else {
        Logger.warn("Reloaded {}: {} setting(s) changed, {} need a restart ({}); "
            + "run `systemctl restart leafgate` to apply them", running.configFile, changed.size(), needRestart.size(),
            String.join(", ", needRestart));
      }
    } finally {
      systemd.ready("Ready");
    }
  }

  /** The keys whose value differs between {@code a} and {@code b}, in {@link #SETTINGS} order. */
  static List<String> changedKeys(ServerOptions a, ServerOptions b) {
    return changedKeys(snapshot(a), snapshot(b));
  }

  /**
   * Every setting's value as it is now, files read included: taken when the gateway starts, so
   * that a file renewed in place later shows as a change.
   */
  static List<Object> snapshot(ServerOptions o) {
    List<Object> values = new ArrayList<>();
    for (Setting s : SETTINGS) {
      values.add(s.value().apply(o));
    }
    return values;
  }

  /** The keys whose value differs between two {@link #snapshot}s, in {@link #SETTINGS} order. */
  static List<String> changedKeys(List<Object> a, List<Object> b) {
    List<String> out = new ArrayList<>();
    for (int i = 0; i < SETTINGS.size(); i++) {
      if (!Objects.equals(a.get(i), b.get(i))) {
        out.add(SETTINGS.get(i).key());
      }
    }
    return out;
  }

  private static int indexOf(String key) {
    for (int i = 0; i < SETTINGS.size(); i++) {
      if (SETTINGS.get(i).key().equals(key)) {
        return i;
      }
    }
    throw new IllegalArgumentException(key);
  }

  /** A block's text without the given keys (at its top level), or null when there is no block. */
  private static Object blockWithout(ServerOptions o, String name, java.util.Set<String> keys) {
    ConfigValue v = o.extraBlocks.get(name);
    if (v == null || !v.isMap()) {
      return v == null ? null : v.toString();
    }
    java.util.Map<String, String> rest = new java.util.TreeMap<>();
    for (java.util.Map.Entry<String, ConfigValue> e : v.asMap().entrySet()) {
      if (!keys.contains(e.getKey().toLowerCase(java.util.Locale.ROOT))) {
        rest.put(e.getKey(), String.valueOf(e.getValue()));
      }
    }
    return rest.toString();
  }

  /** The uplink's replay pacing as the file sets it (the defaults when it does not). */
  private static io.leafgate.hub.UplinkConfig pacing(ServerOptions o) {
    return io.leafgate.hub.UplinkConfig.parse(o, new io.leafgate.leaf.config.ConfigReader());
  }

  private static Object block(ServerOptions o, String name) {
    ConfigValue v = o.extraBlocks.get(name);
    return v == null ? null : v.toString();
  }

  /** The keys of a block whose values name files (credentials, tls files), and a digest of each file. */
  private static final java.util.Set<String> FILE_KEYS = java.util.Set.of("credentials", "ca_file", "cert_file", "key_file");

  private static List<String> filesOf(ConfigValue v) {
    List<String> out = new ArrayList<>();
    collectFiles(v, null, out);
    return out;
  }

  private static void collectFiles(ConfigValue v, String key, List<String> out) {
    if (v == null) {
      return;
    }
    if (v.isMap()) {
      v.asMap().forEach((k, c) -> collectFiles(c, k, out));
    } else if (v.isArray()) {
      v.asList().forEach(c -> collectFiles(c, key, out));
    } else if (key != null && FILE_KEYS.contains(key) && v.isString()) {
      out.add(key + "=" + digest(java.nio.file.Path.of(v.asString())));
    }
  }

  private static String digest(java.nio.file.Path file) {
    try {
      byte[] d = java.security.MessageDigest.getInstance("SHA-256").digest(java.nio.file.Files.readAllBytes(file));
      return java.util.HexFormat.of().formatHex(d);
    } catch (java.io.IOException | java.security.NoSuchAlgorithmException e) {
      return "unreadable";
    }
  }

  /** A comparable rendering of the authorization settings (compared, never logged). */
  private static Object authorization(ServerOptions o) {
    List<Object> users = new ArrayList<>();
    for (ServerOptions.User u : o.users) {
      ServerOptions.Permissions p = u.permissions;
      users.add(List.of(String.valueOf(u.username), String.valueOf(u.password), p == null ? "all"
          : List.of(String.valueOf(p.publishAllow), p.publishDeny, String.valueOf(p.subscribeAllow), p.subscribeDeny)));
    }
    return List.of(String.valueOf(o.username), String.valueOf(o.password), String.valueOf(o.authToken), users);
  }
}
