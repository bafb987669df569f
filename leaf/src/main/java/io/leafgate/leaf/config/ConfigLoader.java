package io.leafgate.leaf.config;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * Loads a config file in nats-server syntax into {@link ServerOptions}, checking every key and
 * value. Problems are collected, never thrown one at a time: {@link #load} reports all of them in
 * one {@link ConfigException}, in file order, and then nothing should start (exit code 78).
 *
 * <p>Keys are matched ignoring case and use nats-server's names and meanings; where nats-server
 * has aliases ({@code net}, {@code monitor_port}, {@code max_conn}, {@code storedir},
 * {@code username}, {@code pass}, {@code pub}, {@code sub}...) they are accepted too. Top level:
 * {@code listen host net port http http_port monitor_port http_host server_name max_payload
 * max_control_line max_connections max_conn max_pending write_deadline ping_interval ping_max
 * authorization store_dir storedir jetstream mqtt tls}, plus {@code leafnodes} (alias {@code leaf})
 * and {@code uplink}, which are kept unchecked in {@link ServerOptions#extraBlocks} for the
 * modules that own them. Any other key is an error.
 */
public final class ConfigLoader {

  /** The blocks kept as parsed for later modules, by every name they may be written as. */
  private static final Map<String, String> EXTRA_BLOCKS =
      Map.of("leafnodes", "leafnodes", "leaf", "leafnodes", "uplink", "uplink");

  private final ServerOptions o;
  private final ConfigReader r;
  private ConfigValue topStoreDir;
  private ConfigValue jetStreamStoreDir;
  private ConfigValue maxPayloadValue;
  private ConfigValue maxPendingValue;
  private boolean authTimeoutSet;

  private ConfigLoader(ServerOptions o, List<ConfigError> errors) {
    this.o = o;
    this.r = new ConfigReader(errors);
  }

  /**
   * Reads {@code file} into a new {@link ServerOptions} (defaults for whatever the file does not
   * set), resolving {@code $NAME} references against the process environment.
   *
   * @throws ConfigException with every problem found: syntax, unknown keys, wrong types, bad values
   */
  public static ServerOptions load(Path file) throws ConfigException {
    return load(file, System::getenv);
  }

  /**
   * Like {@link #load(Path)}, with {@code env} standing in for the process environment (it
   * returns null for an unset name).
   *
   * @throws ConfigException with every problem found
   */
  public static ServerOptions load(Path file, Function<String, String> env)
      throws ConfigException {
    return load(file, env, List.of());
  }

  /**
   * Checks a block that another module owns (kept in {@link ServerOptions#extraBlocks}), adding its
   * problems to the same list so that one run reports every error in the file.
   */
  @FunctionalInterface
  public interface Extension {
    void check(ServerOptions options, ConfigReader reader);
  }

  /** Like {@link #load(Path, Function)}, also running the modules' {@code extensions}. */
  public static ServerOptions load(Path file, Function<String, String> env, List<Extension> extensions)
      throws ConfigException {
    ConfigParser.Result parsed = new ConfigParser(env).parse(file);
    List<ConfigError> errors = new ArrayList<>(parsed.errors());
    ServerOptions options = new ServerOptions();
    options.configFile = file;
    // Whatever parsed is still checked, so one run reports syntax and value problems together.
    apply(parsed.root(), options, errors);
    ConfigReader reader = new ConfigReader(errors);
    for (Extension e : extensions) {
      e.check(options, reader);
    }
    if (!errors.isEmpty()) {
      throw new ConfigException(inFileOrder(errors));
    }
    return options;
  }

  /**
   * Applies a parsed top-level map to {@code options}, appending every problem to {@code errors}.
   * Settings with a problem keep their previous value.
   */
  public static void apply(ConfigValue root, ServerOptions options, List<ConfigError> errors) {
    ConfigLoader loader = new ConfigLoader(options, errors);
    loader.applyTop(root);
  }

  /** Sorts errors by file (in the order files first appear in the list), then by line. */
  static List<ConfigError> inFileOrder(List<ConfigError> errors) {
    Map<Path, Integer> fileOrder = new HashMap<>();
    for (ConfigError e : errors) {
      fileOrder.putIfAbsent(e.file(), fileOrder.size());
    }
    List<ConfigError> sorted = new ArrayList<>(errors);
    sorted.sort(Comparator.<ConfigError>comparingInt(e -> fileOrder.get(e.file()))
        .thenComparingInt(ConfigError::line));
    return sorted;
  }

  // ---- top level ---------------------------------------------------------------------------

  private void applyTop(ConfigValue root) {
    for (Map.Entry<String, ConfigValue> e : root.asMap().entrySet()) {
      String key = e.getKey();
      ConfigValue v = e.getValue();
      String name = key.toLowerCase(Locale.ROOT);
      switch (name) {
        case "listen" -> {
          ConfigReader.HostPort hp = r.hostPort(key, v);
          if (hp != null) {
            if (hp.host() != null) {
              o.host = hp.host();
            }
            o.port = hp.port();
          }
        }
        case "host", "net" -> {
          String s = r.nonEmptyString(key, v);
          if (s != null) {
            o.host = s;
          }
        }
        case "port" -> {
          Integer p = r.port(key, v);
          if (p != null) {
            o.port = p;
          }
        }
        case "http" -> {
          ConfigReader.HostPort hp = r.hostPort(key, v);
          if (hp != null) {
            if (hp.host() != null) {
              o.httpHost = hp.host();
            }
            o.httpPort = hp.port();
          }
        }
        case "http_port", "monitor_port" -> {
          Integer p = r.port(key, v);
          if (p != null) {
            o.httpPort = p;
          }
        }
        case "http_host" -> {
          String s = r.nonEmptyString(key, v);
          if (s != null) {
            o.httpHost = s;
          }
        }
        case "server_name" -> serverName(key, v);
        case "max_payload" -> {
          maxPayloadValue = v;
          Long n = r.size(key, v, 1, Defaults.MAX_PAYLOAD_LIMIT);
          if (n != null) {
            o.maxPayload = n.intValue();
          } else {
            maxPayloadValue = null;
          }
        }
        case "max_control_line" -> {
          Long n = r.size(key, v, 1, Integer.MAX_VALUE);
          if (n != null) {
            o.maxControlLine = n.intValue();
          }
        }
        case "max_connections", "max_conn" -> {
          Long n = r.integer(key, v, 1, Integer.MAX_VALUE);
          if (n != null) {
            o.maxConnections = n.intValue();
          }
        }
        case "max_pending" -> {
          maxPendingValue = v;
          Long n = r.size(key, v, 1, Long.MAX_VALUE);
          if (n != null) {
            o.maxPending = n;
          } else {
            maxPendingValue = null;
          }
        }
        case "write_deadline" -> {
          var d = r.duration(key, v);
          if (d != null) {
            o.writeDeadline = d;
          }
        }
        case "ping_interval" -> {
          var d = r.duration(key, v);
          if (d != null) {
            o.pingInterval = d;
          }
        }
        case "ping_max" -> {
          Long n = r.integer(key, v, 1, Integer.MAX_VALUE);
          if (n != null) {
            o.pingMax = n.intValue();
          }
        }
        case "authorization" -> authorization(key, v);
        case "store_dir", "storedir" -> {
          topStoreDir = v;
          Path p = path(key, v);
          if (p != null) {
            o.storeDir = p;
          }
        }
        case "jetstream" -> jetStream(key, v);
        case "mqtt" -> mqtt(key, v);
        case "tls" -> o.tls = tls(key, v, "tls");
        case "allow_non_tls" -> r.error(v, "\"" + key + "\" is a nats-server setting that leafgate does not support:"
            + " with a tls block the client port takes TLS clients only");
        default -> {
          String block = EXTRA_BLOCKS.get(name);
          if (block == null) {
            r.unknownField(key, v, null);
          } else if (r.map(key, v) != null) {
            o.extraBlocks.put(block, v);
          }
        }
      }
    }
    crossCheck();
  }

  private void crossCheck() {
    if (o.tls != null && !authTimeoutSet) {
      // nats-server: with TLS the default auth timeout is the TLS timeout plus one second.
      o.authTimeout = o.tls.timeout().plusSeconds(1);
    }
    if (topStoreDir != null && jetStreamStoreDir != null) {
      r.error(jetStreamStoreDir, "store_dir is set twice, at top level (" + topStoreDir.where()
          + ") and in jetstream: keep one");
    }
    if (o.maxPayload > o.maxPending && (maxPayloadValue != null || maxPendingValue != null)) {
      ConfigValue at = maxPayloadValue != null ? maxPayloadValue : maxPendingValue;
      r.error(at, "max_payload (" + o.maxPayload + ") cannot be higher than max_pending ("
          + o.maxPending + "): such a message could never be delivered");
    }
  }

  private void serverName(String key, ConfigValue v) {
    String s = r.nonEmptyString(key, v);
    if (s == null) {
      return;
    }
    if (s.chars().anyMatch(Character::isWhitespace)) {
      r.error(v, "\"" + key + "\" cannot contain spaces, got \"" + s + "\"");
      return;
    }
    o.serverName = s;
  }

  private Path path(String key, ConfigValue v) {
    String s = r.nonEmptyString(key, v);
    if (s == null) {
      return null;
    }
    try {
      return Path.of(s);
    } catch (InvalidPathException e) {
      r.error(v, "\"" + key + "\" is not a valid path: " + e.getReason());
      return null;
    }
  }

  // ---- jetstream and mqtt ------------------------------------------------------------------

  private void jetStream(String key, ConfigValue v) {
    switch (v.kind()) {
      case BOOL -> o.jetStream = v.asBoolean();
      case STRING -> {
        switch (v.asString().toLowerCase(Locale.ROOT)) {
          case "enabled", "enable" -> o.jetStream = true;
          case "disabled", "disable" -> o.jetStream = false;
          default -> r.error(v, "\"" + key + "\" must be a map, a boolean, \"enabled\" or"
              + " \"disabled\", got " + v.describe());
        }
      }
      case MAP -> jetStreamBlock(v);
      default -> r.error(v, "\"" + key + "\" must be a map, a boolean, \"enabled\" or"
          + " \"disabled\", got " + v.describe());
    }
  }

  private void jetStreamBlock(ConfigValue block) {
    boolean enabled = true;
    for (Map.Entry<String, ConfigValue> e : block.asMap().entrySet()) {
      String key = e.getKey();
      ConfigValue v = e.getValue();
      switch (key.toLowerCase(Locale.ROOT)) {
        case "store_dir", "store", "storedir" -> {
          jetStreamStoreDir = v;
          Path p = path(key, v);
          if (p != null) {
            o.storeDir = p;
          }
        }
        case "max_file_store", "max_file" -> {
          Long n = r.size(key, v, 0, Long.MAX_VALUE);
          if (n != null) {
            o.jetStreamMaxStore = n;
          }
        }
        case "max_memory_store", "max_mem_store", "max_mem" -> {
          Long n = r.size(key, v, 0, Long.MAX_VALUE);
          if (n != null) {
            o.jetStreamMaxMemory = n;
          }
        }
        case "domain" -> {
          String s = r.nonEmptyString(key, v);
          if (s != null && s.chars().anyMatch(c -> Character.isWhitespace(c) || c == '.')) {
            r.error(v, "\"" + key + "\" cannot contain spaces or dots, got \"" + s + "\"");
          } else if (s != null) {
            o.jetStreamDomain = s;
          }
        }
        case "sync" -> {
          String s = v.isString() ? v.asString().toLowerCase(Locale.ROOT) : "";
          switch (s) {
            case "always" -> o.jetStreamSync = ServerOptions.SyncMode.ALWAYS;
            case "interval" -> o.jetStreamSync = ServerOptions.SyncMode.INTERVAL;
            default -> r.error(v, "\"" + key + "\" must be \"always\" or \"interval\", got "
                + v.describe());
          }
        }
        case "enabled", "enable" -> {
          Boolean b = r.bool(key, v);
          if (b != null) {
            enabled = b;
          }
        }
        default -> r.unknownField(key, v, "jetstream");
      }
    }
    o.jetStream = enabled;
  }

  private void mqtt(String key, ConfigValue block) {
    Map<String, ConfigValue> m = r.map(key, block);
    if (m == null) {
      return;
    }
    for (Map.Entry<String, ConfigValue> e : m.entrySet()) {
      String k = e.getKey();
      ConfigValue v = e.getValue();
      switch (k.toLowerCase(Locale.ROOT)) {
        case "listen" -> {
          ConfigReader.HostPort hp = r.hostPort(k, v);
          if (hp != null) {
            if (hp.host() != null) {
              o.mqttHost = hp.host();
            }
            o.mqttPort = hp.port();
          }
        }
        case "host", "net" -> {
          String s = r.nonEmptyString(k, v);
          if (s != null) {
            o.mqttHost = s;
          }
        }
        case "port" -> {
          Integer p = r.port(k, v);
          if (p != null) {
            o.mqttPort = p;
          }
        }
        case "tls" -> o.mqttTls = tls(k, v, "mqtt.tls");
        default -> r.unknownField(k, v, "mqtt");
      }
    }
  }

  // ---- tls ---------------------------------------------------------------------------------

  /** nats-server keys of a tls block that leafgate does not implement, to say so plainly. */
  private static final Set<String> TLS_NOT_SUPPORTED = Set.of("cipher_suites", "curve_preferences",
      "verify_and_map", "verify_cert_and_check_known_urls", "pinned_certs", "min_version", "handshake_first",
      "cert_store", "cert_match", "cert_match_by", "ca_certs_match", "ocsp_peer", "insecure", "cert_match_skip_invalid",
      "allow_insecure_cipher_suites", "connection_rate_limit", "certs", "certificates", "first", "immediate");

  /**
   * A listener's {@code tls} block: {@code cert_file}, {@code key_file} (both required),
   * {@code ca_file}, {@code verify}, {@code timeout}, as nats-server reads them. Each file is read
   * here, so that a missing file, a key that cannot be read or a key that does not match the
   * certificate is a config error with file:line, not a failure at start-up. Returns null when
   * anything is wrong.
   */
  private TlsOptions tls(String key, ConfigValue block, String where) {
    Map<String, ConfigValue> m = r.map(key, block);
    if (m == null) {
      return null;
    }
    ConfigValue certValue = null;
    ConfigValue keyValue = null;
    ConfigValue caValue = null;
    Path cert = null;
    Path keyFile = null;
    Path ca = null;
    boolean verify = false;
    Duration timeout = TlsOptions.DEFAULT_TIMEOUT;
    boolean ok = true;
    for (Map.Entry<String, ConfigValue> e : m.entrySet()) {
      String k = e.getKey();
      ConfigValue v = e.getValue();
      switch (k.toLowerCase(Locale.ROOT)) {
        case "cert_file" -> {
          certValue = v;
          cert = path(k, v);
          ok &= cert != null;
        }
        case "key_file" -> {
          keyValue = v;
          keyFile = path(k, v);
          ok &= keyFile != null;
        }
        case "ca_file" -> {
          caValue = v;
          ca = path(k, v);
          ok &= ca != null;
        }
        case "verify" -> {
          Boolean b = r.bool(k, v);
          ok &= b != null;
          verify = Boolean.TRUE.equals(b);
        }
        case "timeout" -> {
          // nats-server: seconds, possibly fractional, or a duration string.
          Duration d = r.duration(k, v);
          ok &= d != null;
          if (d != null) {
            timeout = d;
          }
        }
        default -> {
          if (TLS_NOT_SUPPORTED.contains(k.toLowerCase(Locale.ROOT)) && !v.usedAsVariable()) {
            r.error(v, "\"" + k + "\" in " + where + " is a nats-server setting that leafgate does not support;"
                + " leafgate takes cert_file, key_file, ca_file, verify and timeout");
            ok = false;
          } else if (!v.usedAsVariable()) {
            r.unknownField(k, v, where);
            ok = false;
          }
        }
      }
    }
    if (certValue == null || keyValue == null) {
      r.error(block, where + " needs both cert_file and key_file (the server's certificate and its private key)");
      ok = false;
    }
    // The files are checked even when another key is wrong, so that one run reports everything.
    MessageDigest digest;
    try {
      digest = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    X509Certificate leaf = null;
    PrivateKey privateKey = null;
    if (cert != null) {
      try {
        leaf = Pem.certificates(cert).get(0);
        digest.update(Files.readAllBytes(cert));
      } catch (IOException e) {
        r.error(certValue, where + " cert_file \"" + cert + "\": " + e.getMessage());
        ok = false;
      }
    }
    if (keyFile != null) {
      try {
        privateKey = Pem.privateKey(keyFile);
        digest.update(Files.readAllBytes(keyFile));
      } catch (IOException e) {
        r.error(keyValue, where + " key_file \"" + keyFile + "\": " + e.getMessage());
        ok = false;
      }
    }
    if (leaf != null && privateKey != null) {
      try {
        Pem.checkPair(privateKey, leaf);
      } catch (IOException e) {
        r.error(keyValue, where + " key_file \"" + keyFile + "\": " + e.getMessage());
        ok = false;
      }
    }
    if (ca != null) {
      try {
        Pem.certificates(ca);
        digest.update(Files.readAllBytes(ca));
      } catch (IOException e) {
        r.error(caValue, where + " ca_file \"" + ca + "\": " + e.getMessage());
        ok = false;
      }
    }
    if (!ok) {
      return null;
    }
    return new TlsOptions(cert, keyFile, ca, verify, timeout, HexFormat.of().formatHex(digest.digest()));
  }

  // ---- authorization -----------------------------------------------------------------------

  private void authorization(String key, ConfigValue block) {
    Map<String, ConfigValue> m = r.map(key, block);
    if (m == null) {
      return;
    }
    String user = null;
    String password = null;
    String token = null;
    ConfigValue passwordValue = null;
    ConfigValue usersValue = null;
    List<ServerOptions.User> users = null;
    ServerOptions.Permissions defaults = null;
    for (Map.Entry<String, ConfigValue> e : m.entrySet()) {
      String k = e.getKey();
      ConfigValue v = e.getValue();
      switch (k.toLowerCase(Locale.ROOT)) {
        case "user", "username" -> user = r.nonEmptyString(k, v);
        case "pass", "password" -> {
          passwordValue = v;
          password = r.nonEmptyString(k, v);
        }
        case "token" -> token = r.nonEmptyString(k, v);
        case "timeout" -> {
          // nats-server: seconds, possibly fractional, or a duration string.
          var d = r.duration(k, v);
          if (d != null) {
            o.authTimeout = d;
            authTimeoutSet = true;
          }
        }
        case "users" -> {
          usersValue = v;
          users = users(k, v);
        }
        case "default_permissions", "default_permission", "permissions" ->
            defaults = permissions(k, v, "authorization." + k);
        default -> r.unknownField(k, v, "authorization");
      }
    }
    boolean ok = true;
    if ((user != null || password != null) && token != null) {
      r.error(block, "authorization cannot have both a user/password and a token");
      ok = false;
    }
    if (usersValue != null && (user != null || password != null)) {
      r.error(block, "authorization cannot have both a single user/password and a users array");
      ok = false;
    }
    if (usersValue != null && token != null) {
      r.error(block, "authorization cannot have both a token and a users array");
      ok = false;
    }
    if (password != null && user == null && usersValue == null) {
      r.error(passwordValue, "authorization has a password but no user");
      ok = false;
    }
    if (!ok) {
      return;
    }
    o.username = user;
    o.password = password;
    o.authToken = token;
    if (users != null) {
      for (ServerOptions.User u : users) {
        if (u.permissions == null) {
          u.permissions = defaults;
        }
      }
      o.users.addAll(users);
    }
  }

  private List<ServerOptions.User> users(String key, ConfigValue v) {
    if (!v.isArray()) {
      r.error(v, "\"" + key + "\" must be an array of { user, password } maps, got "
          + v.describe());
      return null;
    }
    List<ServerOptions.User> users = new ArrayList<>();
    Set<String> names = new HashSet<>();
    for (ConfigValue item : v.asList()) {
      if (!item.isMap()) {
        r.error(item, "each entry of \"" + key + "\" must be a map such as"
            + " { user: alice, password: secret }, got " + item.describe());
        continue;
      }
      ServerOptions.User u = new ServerOptions.User();
      boolean userKeySeen = false;
      ConfigValue userValue = item;
      for (Map.Entry<String, ConfigValue> e : item.asMap().entrySet()) {
        String k = e.getKey();
        ConfigValue fv = e.getValue();
        switch (k.toLowerCase(Locale.ROOT)) {
          case "user", "username" -> {
            userKeySeen = true;
            userValue = fv;
            u.username = r.nonEmptyString(k, fv);
          }
          case "pass", "password" -> u.password = r.nonEmptyString(k, fv);
          case "permissions", "permission", "authorization" ->
              u.permissions = permissions(k, fv, "authorization.users");
          default -> r.unknownField(k, fv, "authorization.users");
        }
      }
      if (u.username == null) {
        if (!userKeySeen) {
          r.error(item, "a users entry needs a \"user\"");
        }
        continue;
      }
      if (!names.add(u.username)) {
        r.error(userValue, "duplicate user \"" + u.username + "\"");
        continue;
      }
      users.add(u);
    }
    return users;
  }

  /** A {@code permissions { publish, subscribe }} block, nats-server style. */
  private ServerOptions.Permissions permissions(String key, ConfigValue v, String where) {
    Map<String, ConfigValue> m = r.map(key, v);
    if (m == null) {
      return null;
    }
    ServerOptions.Permissions p = new ServerOptions.Permissions();
    for (Map.Entry<String, ConfigValue> e : m.entrySet()) {
      String k = e.getKey();
      ConfigValue fv = e.getValue();
      switch (k.toLowerCase(Locale.ROOT)) {
        case "publish", "pub", "import" -> {
          SubjectPermission sp = subjectPermission(k, fv, false);
          if (sp != null) {
            p.publishAllow = sp.allow();
            p.publishDeny = sp.deny();
          }
        }
        case "subscribe", "sub", "export" -> {
          SubjectPermission sp = subjectPermission(k, fv, true);
          if (sp != null) {
            p.subscribeAllow = sp.allow();
            p.subscribeDeny = sp.deny();
          }
        }
        default -> r.unknownField(k, fv, where + ".permissions");
      }
    }
    return p;
  }

  /** Allow list (null: everything) and deny list of one direction. */
  private record SubjectPermission(List<String> allow, List<String> deny) {}

  /**
   * {@code publish}/{@code subscribe}: a subject, an array of subjects (both meaning "allow only
   * these"), or a map {@code { allow: ..., deny: ... }}, as nats-server reads them.
   */
  private SubjectPermission subjectPermission(String key, ConfigValue v, boolean allowQueue) {
    if (!v.isMap()) {
      List<String> allow = subjects(key, v, allowQueue);
      return allow == null ? null : new SubjectPermission(allow, new ArrayList<>());
    }
    List<String> allow = null;
    List<String> deny = new ArrayList<>();
    boolean ok = true;
    for (Map.Entry<String, ConfigValue> e : v.asMap().entrySet()) {
      String k = e.getKey();
      ConfigValue fv = e.getValue();
      switch (k.toLowerCase(Locale.ROOT)) {
        case "allow" -> {
          allow = subjects(k, fv, allowQueue);
          ok &= allow != null;
        }
        case "deny" -> {
          List<String> d = subjects(k, fv, allowQueue);
          ok &= d != null;
          if (d != null) {
            deny = d;
          }
        }
        default -> {
          if (!fv.usedAsVariable()) {
            r.error(fv, "unknown field \"" + k + "\" in \"" + key
                + "\": only allow and deny are permitted");
          }
        }
      }
    }
    return ok ? new SubjectPermission(allow, deny) : null;
  }

  /** A subject or an array of subjects, each checked; subscribe subjects may name a queue. */
  private List<String> subjects(String key, ConfigValue v, boolean allowQueue) {
    List<ConfigValue> items;
    if (v.isString()) {
      items = List.of(v);
    } else if (v.isArray()) {
      items = v.asList();
    } else {
      r.error(v, "\"" + key + "\" must be a subject or an array of subjects, got "
          + v.describe());
      return null;
    }
    if (items.isEmpty()) {
      // nats-server silently reads an empty list as "no restriction"; that is never what the
      // writer meant, so say so.
      r.error(v, "\"" + key + "\" is an empty list: remove it to allow every subject, or deny"
          + " \">\" to allow none");
      return null;
    }
    List<String> out = new ArrayList<>();
    boolean ok = true;
    for (ConfigValue item : items) {
      if (!item.isString()) {
        r.error(item, "\"" + key + "\" must list subjects, got " + item.describe());
        ok = false;
        continue;
      }
      String problem = subjectProblem(item.asString(), allowQueue);
      if (problem != null) {
        r.error(item, "\"" + key + "\": " + problem);
        ok = false;
        continue;
      }
      out.add(item.asString());
    }
    return ok ? out : null;
  }

  /**
   * Why {@code s} is not a valid permission subject, or null if it is. With {@code allowQueue}, a
   * subscribe permission may be {@code "subject queue"}.
   */
  static String subjectProblem(String s, boolean allowQueue) {
    String trimmed = s.strip();
    String[] parts = trimmed.split("\\s+");
    if (allowQueue && parts.length == 2) {
      String p = literalSubjectProblem(parts[0]);
      if (p != null) {
        return p;
      }
      return literalSubjectProblem(parts[1]) == null
          ? null : "queue \"" + parts[1] + "\" is not a valid queue name";
    }
    return literalSubjectProblem(s);
  }

  private static String literalSubjectProblem(String s) {
    if (s.isEmpty()) {
      return "a subject cannot be empty";
    }
    if (s.chars().anyMatch(Character::isWhitespace)) {
      return "subject \"" + s + "\" cannot contain white space";
    }
    String[] tokens = s.split("\\.", -1);
    for (int i = 0; i < tokens.length; i++) {
      if (tokens[i].isEmpty()) {
        return "subject \"" + s + "\" has an empty token";
      }
      if (tokens[i].equals(">") && i != tokens.length - 1) {
        return "subject \"" + s + "\" has '>' before its last token";
      }
    }
    return null;
  }
}
