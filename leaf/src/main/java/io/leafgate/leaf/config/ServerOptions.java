package io.leafgate.leaf.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The gateway's settings: what the config file and the command line produce, with nats-server's
 * defaults where nats-server has the setting. Mutable while it is being built, then handed to the
 * server, which treats it as read-only.
 */
public final class ServerOptions {
  /** Where the config file came from, or null when running on embedded defaults. */
  public Path configFile;

  /** Client listener host; leafgate binds loopback by default, unlike nats-server. */
  public String host = Defaults.HOST;
  /** Client listener port; -1 picks a free port, as nats-server does. */
  public int port = Defaults.PORT;
  /** Monitoring host. */
  public String httpHost = Defaults.HOST;
  /** Monitoring port; -1 picks a free port, 0 turns monitoring off. */
  public int httpPort = Defaults.HTTP_PORT;
  /** MQTT listener host. */
  public String mqttHost = Defaults.HOST;
  /** MQTT listener port; -1 picks a free port, 0 turns MQTT off. */
  public int mqttPort = Defaults.MQTT_PORT;
  /**
   * TLS on the NATS client listener (the top-level {@code tls { ... }}); null for plain TCP. With
   * it every client must do TLS after the INFO, as with nats-server.
   */
  public TlsOptions tls;
  /** TLS on the MQTT listener ({@code mqtt { tls { ... } }}); null for plain TCP. With it, TLS only. */
  public TlsOptions mqttTls;

  /** The server name sent in INFO and shown by monitoring; defaults to the server id. */
  public String serverName;
  /**
   * Where the store and the ports file live ({@code store_dir}, at top level or in
   * {@code jetstream}).
   */
  public Path storeDir = Path.of(Defaults.STORE_DIR);

  /** Whether the local JetStream runs; false only when the config says {@code jetstream: disabled}. */
  public boolean jetStream = true;
  /** The JetStream domain ({@code jetstream { domain }}), or null for none. */
  public String jetStreamDomain;
  /** Bytes that file-backed streams may use ({@code max_file_store}); -1 means no set limit. */
  public long jetStreamMaxStore = -1;
  /** Bytes that memory streams may use ({@code max_memory_store}); -1 means no set limit. */
  public long jetStreamMaxMemory = -1;
  /** When a commit reaches flash ({@code jetstream { sync }}, leafgate's own key). */
  public SyncMode jetStreamSync = Defaults.JETSTREAM_SYNC;

  public int maxPayload = Defaults.MAX_PAYLOAD;
  public int maxControlLine = Defaults.MAX_CONTROL_LINE;
  public int maxConnections = Defaults.MAX_CONNECTIONS;
  /** Bytes a connection may have queued for writing before it is cut off as a slow consumer. */
  public long maxPending = Defaults.MAX_PENDING;
  public Duration writeDeadline = Defaults.WRITE_DEADLINE;
  public Duration pingInterval = Defaults.PING_INTERVAL;
  public int pingMax = Defaults.PING_MAX;
  public Duration authTimeout = Defaults.AUTH_TIMEOUT;

  /** Single-user authorization ({@code authorization { user, password }}). */
  public String username;
  public String password;
  /** Token authorization ({@code authorization { token }}). */
  public String authToken;
  /** Multi-user authorization ({@code authorization { users = [...] }}). */
  public List<User> users = new ArrayList<>();

  /**
   * Blocks whose feature lives in a later module ({@code leafnodes}, {@code uplink}),
   * keyed by their canonical lower-case name and kept as parsed, for that module to validate with
   * {@link ConfigReader}. The loader only checks that each is a map.
   */
  public Map<String, ConfigValue> extraBlocks = new LinkedHashMap<>();

  /** Whether any form of authentication is configured. */
  public boolean authRequired() {
    return username != null || authToken != null || !users.isEmpty();
  }

  /** How the store makes a commit durable ({@code jetstream { sync: always | interval }}). */
  public enum SyncMode {
    /** Every commit is fsynced before it is acknowledged: nothing acked is lost on power loss. */
    ALWAYS,
    /** Commits are flushed to flash periodically: fewer flash writes, a window of loss. */
    INTERVAL
  }

  /** One configured user with optional permissions. */
  public static final class User {
    public String username;
    /** Plain text, or a bcrypt hash starting with {@code $2}. */
    public String password;
    /** Null means everything is allowed. */
    public Permissions permissions;
  }

  /** Publish and subscribe permissions: allow and deny lists of subject filters. */
  public static final class Permissions {
    /** Null means every subject is allowed. */
    public List<String> publishAllow;
    public List<String> publishDeny = new ArrayList<>();
    public List<String> subscribeAllow;
    public List<String> subscribeDeny = new ArrayList<>();
  }
}
