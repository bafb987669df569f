package io.leafgate.leaf.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

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

  /** The server name sent in INFO and shown by monitoring; defaults to the server id. */
  public String serverName;
  /** Where the store and the ports file live. */
  public Path storeDir = Path.of(Defaults.STORE_DIR);

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

  /** Whether any form of authentication is configured. */
  public boolean authRequired() {
    return username != null || authToken != null || !users.isEmpty();
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
