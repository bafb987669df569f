package io.leafgate.hub;

import io.leafgate.leaf.config.ConfigReader;
import io.leafgate.leaf.config.ConfigValue;
import io.leafgate.leaf.config.Pem;
import io.leafgate.leaf.config.ServerOptions;
import io.leafgate.leaf.subject.Subjects;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The uplink settings: {@code leafnodes { remotes = [ ... ] }} in nats-server's syntax, and
 * leafgate's own {@code uplink { ... }} block. Parsed with a {@link ConfigReader}, so that problems
 * carry file:line and are reported together with the rest of the file.
 */
public final class UplinkConfig {
  /** The hub to dial: URLs and credentials. */
  public record Remote(List<URI> urls, String user, String password, Path credentials, String nkeySeed,
      Tls tls, List<String> denyImports, List<String> denyExports) {}

  /** TLS towards the hub. */
  public record Tls(Path caFile, Path certFile, Path keyFile, boolean insecure, String serverName) {}

  /** Where commands addressed to this gateway wait on the hub while it is away. */
  public record Commands(String stream, String subject, String consumer) {}

  public static final String DEFAULT_STREAM = "UPLINK";

  /** Null when no remote is configured: no uplink at all. */
  public Remote remote;
  public Duration reconnectDelay = Duration.ofSeconds(1);
  public Duration reconnectMax = Duration.ofSeconds(30);
  public Duration pingInterval = Duration.ofSeconds(20);
  public int pingMax = 2;

  /** Local subjects that may go up (default: everything the hub is interested in). */
  public List<String> export = List.of(">");
  /** Hub subjects that may come down (default: everything local clients subscribe to). */
  public List<String> imports = List.of(">");
  /** Subjects captured locally and forwarded in order, surviving outages. */
  public List<String> buffer = List.of();
  public String stream = DEFAULT_STREAM;
  public long maxBytes = -1;
  public long maxMsgs = -1;
  public Duration maxAge = Duration.ZERO;
  public boolean discardNew;
  /** Messages per second during replay; 0 means as fast as the window allows. */
  public long replayRate;
  /** Messages sent to the hub and not yet confirmed. */
  public int replayWindow = 256;
  /** A hub stream that captures the buffered subjects; null to forward as plain leaf messages. */
  public String hubStream;
  /** The hub's JetStream domain; null to take it from the hub's INFO. */
  public String hubDomain;
  public Commands commands;

  /** Whether an uplink is configured. */
  public boolean enabled() {
    return remote != null;
  }

  /** Parses the blocks from {@code options}; problems go to {@code r}. */
  public static UplinkConfig parse(ServerOptions options, ConfigReader r) {
    UplinkConfig c = new UplinkConfig();
    ConfigValue leaf = options.extraBlocks.get("leafnodes");
    if (leaf != null) {
      c.leafnodes(leaf, r);
    }
    ConfigValue up = options.extraBlocks.get("uplink");
    if (up != null) {
      c.uplink(up, r);
      if (c.remote == null && leaf == null) {
        r.error(up, "uplink needs a hub: add leafnodes { remotes = [ { urls: [...] } ] }");
      }
    }
    return c;
  }

  /** For {@link io.leafgate.leaf.config.ConfigLoader.Extension}: checks only. */
  public static void check(ServerOptions options, ConfigReader r) {
    parse(options, r);
  }

  private void leafnodes(ConfigValue v, ConfigReader r) {
    Map<String, ConfigValue> m = r.map("leafnodes", v);
    if (m == null) {
      return;
    }
    for (Map.Entry<String, ConfigValue> e : m.entrySet()) {
      String key = e.getKey();
      ConfigValue val = e.getValue();
      switch (key.toLowerCase()) {
        case "remotes" -> remotes(key, val, r);
        case "reconnect", "reconnect_delay" -> {
          Duration d = r.duration(key, val);
          if (d != null) {
            reconnectDelay = d;
          }
        }
        case "reconnect_max" -> {
          Duration d = r.duration(key, val);
          if (d != null) {
            reconnectMax = d;
          }
        }
        case "ping_interval" -> {
          Duration d = r.duration(key, val);
          if (d != null) {
            pingInterval = d;
          }
        }
        case "ping_max" -> {
          Long n = r.integer(key, val, 1, 100);
          if (n != null) {
            pingMax = n.intValue();
          }
        }
        case "listen", "port", "host", "authorization" ->
            r.error(val, "leafgate dials a hub and accepts no leaf nodes itself: \"" + key + "\" is not supported");
        default -> r.unknownField(key, val, "leafnodes");
      }
    }
  }

  private void remotes(String key, ConfigValue v, ConfigReader r) {
    if (!v.isArray()) {
      r.error(v, "\"" + key + "\" must be an array of remotes");
      return;
    }
    List<ConfigValue> list = v.asList();
    if (list.size() > 1) {
      r.error(list.get(1), "leafgate supports one remote (one hub cluster); list its servers under urls");
    }
    if (list.isEmpty()) {
      return;
    }
    Map<String, ConfigValue> m = r.map("remote", list.get(0));
    if (m == null) {
      return;
    }
    List<URI> urls = new ArrayList<>();
    String user = null;
    String password = null;
    Path creds = null;
    String nkey = null;
    Tls tls = null;
    List<String> denyImports = List.of();
    List<String> denyExports = List.of();
    for (Map.Entry<String, ConfigValue> e : m.entrySet()) {
      String k = e.getKey();
      ConfigValue val = e.getValue();
      switch (k.toLowerCase()) {
        case "urls", "url" -> {
          List<String> raw = val.isArray() ? r.stringList(k, val) : single(r.string(k, val));
          if (raw != null) {
            for (String s : raw) {
              URI u = parseUrl(s, val, r);
              if (u != null) {
                urls.add(u);
              }
            }
          }
        }
        case "user", "username" -> user = r.nonEmptyString(k, val);
        case "password", "pass" -> password = r.string(k, val);
        case "credentials" -> {
          String s = r.nonEmptyString(k, val);
          if (s != null) {
            creds = Path.of(s);
          }
        }
        case "nkey", "seed" -> {
          nkey = r.nonEmptyString(k, val);
          if (nkey != null && !nkey.startsWith("SU")) {
            r.error(val, "nkey must be a user seed (starting with SU)");
          }
        }
        case "tls" -> tls = tls(k, val, r);
        case "deny_imports" -> denyImports = filters(k, val, r);
        case "deny_exports" -> denyExports = filters(k, val, r);
        case "account" -> {
          String a = r.string(k, val);
          if (a != null && !a.equals("$G")) {
            r.error(val, "leafgate has one account; \"account\" may only be \"$G\"");
          }
        }
        default -> r.unknownField(k, val, "leafnodes remote");
      }
    }
    if (urls.isEmpty()) {
      r.error(list.get(0), "a remote needs at least one url");
      return;
    }
    if (creds != null && nkey != null) {
      r.error(list.get(0), "use either credentials or nkey, not both");
    }
    remote = new Remote(List.copyOf(urls), user, password, creds, nkey, tls, denyImports, denyExports);
  }

  private static List<String> single(String s) {
    return s == null ? null : List.of(s);
  }

  private static URI parseUrl(String s, ConfigValue at, ConfigReader r) {
    String text = s.contains("://") ? s : "nats-leaf://" + s;
    try {
      URI u = new URI(text);
      String scheme = u.getScheme();
      if (!List.of("nats", "nats-leaf", "tls", "leafnode").contains(scheme)) {
        r.error(at, "unsupported url scheme \"" + scheme + "\" in " + s + " (use nats-leaf:// or tls://)");
        return null;
      }
      if (u.getHost() == null) {
        r.error(at, "url " + s + " has no host");
        return null;
      }
      return u;
    } catch (URISyntaxException e) {
      r.error(at, "invalid url " + s + ": " + e.getReason());
      return null;
    }
  }

  private static Tls tls(String key, ConfigValue v, ConfigReader r) {
    Map<String, ConfigValue> m = r.map(key, v);
    if (m == null) {
      return null;
    }
    Path ca = null;
    Path cert = null;
    Path keyFile = null;
    ConfigValue caValue = null;
    ConfigValue certValue = null;
    ConfigValue keyValue = null;
    boolean insecure = false;
    String serverName = null;
    for (Map.Entry<String, ConfigValue> e : m.entrySet()) {
      String k = e.getKey();
      ConfigValue val = e.getValue();
      switch (k.toLowerCase()) {
        case "ca_file" -> {
          caValue = val;
          ca = path(r.nonEmptyString(k, val));
        }
        case "cert_file" -> {
          certValue = val;
          cert = path(r.nonEmptyString(k, val));
        }
        case "key_file" -> {
          keyValue = val;
          keyFile = path(r.nonEmptyString(k, val));
        }
        case "insecure" -> insecure = Boolean.TRUE.equals(r.bool(k, val));
        case "server_name" -> serverName = r.nonEmptyString(k, val);
        default -> r.unknownField(k, val, "tls");
      }
    }
    if ((cert == null) != (keyFile == null)) {
      r.error(v, "tls needs both cert_file and key_file, or neither");
    }
    // Read the files now, so that a missing or unreadable one is a config error with file:line
    // rather than a failed connection attempt after every backoff.
    if (ca != null) {
      try {
        Pem.certificates(ca);
      } catch (IOException e) {
        r.error(caValue, "leafnodes remote tls ca_file \"" + ca + "\": " + e.getMessage());
      }
    }
    java.security.cert.X509Certificate leaf = null;
    if (cert != null) {
      try {
        leaf = Pem.certificates(cert).get(0);
      } catch (IOException e) {
        r.error(certValue, "leafnodes remote tls cert_file \"" + cert + "\": " + e.getMessage());
      }
    }
    if (keyFile != null) {
      try {
        java.security.PrivateKey pk = Pem.privateKey(keyFile);
        if (leaf != null) {
          Pem.checkPair(pk, leaf);
        }
      } catch (IOException e) {
        r.error(keyValue, "leafnodes remote tls key_file \"" + keyFile + "\": " + e.getMessage());
      }
    }
    return new Tls(ca, cert, keyFile, insecure, serverName);
  }

  private static Path path(String s) {
    return s == null ? null : Path.of(s);
  }

  private void uplink(ConfigValue v, ConfigReader r) {
    Map<String, ConfigValue> m = r.map("uplink", v);
    if (m == null) {
      return;
    }
    for (Map.Entry<String, ConfigValue> e : m.entrySet()) {
      String key = e.getKey();
      ConfigValue val = e.getValue();
      switch (key.toLowerCase()) {
        case "export" -> export = orDefault(filters(key, val, r), export);
        case "import" -> imports = orDefault(filters(key, val, r), imports);
        case "buffer" -> buffer = orDefault(filters(key, val, r), buffer);
        case "stream" -> {
          String s = r.nonEmptyString(key, val);
          if (s != null) {
            if (!io.leafgate.storage.engine.StreamConfig.isValidName(s)) {
              r.error(val, "invalid stream name \"" + s + "\"");
            } else {
              stream = s;
            }
          }
        }
        case "max_bytes" -> {
          Long n = r.size(key, val, -1, Long.MAX_VALUE);
          if (n != null) {
            maxBytes = n;
          }
        }
        case "max_msgs" -> {
          Long n = r.integer(key, val, -1, Long.MAX_VALUE);
          if (n != null) {
            maxMsgs = n;
          }
        }
        case "max_age" -> {
          Duration d = r.duration(key, val);
          if (d != null) {
            if (d.toMillis() < 100) {
              r.error(val, "max_age must be at least 100ms");
            } else {
              maxAge = d;
            }
          }
        }
        case "discard" -> {
          String s = r.string(key, val);
          if (s != null) {
            switch (s.toLowerCase()) {
              case "old" -> discardNew = false;
              case "new" -> discardNew = true;
              default -> r.error(val, "discard must be \"old\" or \"new\"");
            }
          }
        }
        case "replay_rate" -> {
          Long n = r.integer(key, val, 0, 100_000_000);
          if (n != null) {
            replayRate = n;
          }
        }
        case "replay_window" -> {
          Long n = r.integer(key, val, 1, 65_536);
          if (n != null) {
            replayWindow = n.intValue();
          }
        }
        case "hub_stream" -> hubStream = r.nonEmptyString(key, val);
        case "hub_domain" -> hubDomain = r.nonEmptyString(key, val);
        case "commands" -> commands(key, val, r);
        default -> r.unknownField(key, val, "uplink");
      }
    }
    for (String b : buffer) {
      boolean exported = false;
      for (String x : export) {
        if (Subjects.isSubset(b, x) || x.equals(b)) {
          exported = true;
          break;
        }
      }
      if (!exported) {
        r.error(v, "buffered subject \"" + b + "\" is not covered by export");
      }
    }
  }

  private void commands(String key, ConfigValue v, ConfigReader r) {
    Map<String, ConfigValue> m = r.map(key, v);
    if (m == null) {
      return;
    }
    String stream = null;
    String subject = null;
    String consumer = null;
    for (Map.Entry<String, ConfigValue> e : m.entrySet()) {
      switch (e.getKey().toLowerCase()) {
        case "stream" -> stream = r.nonEmptyString(e.getKey(), e.getValue());
        case "subject", "filter" -> {
          subject = r.nonEmptyString(e.getKey(), e.getValue());
          if (subject != null && !Subjects.isValidFilter(subject)) {
            r.error(e.getValue(), "invalid subject \"" + subject + "\" in commands");
            subject = null;
          }
        }
        case "consumer", "durable" -> consumer = r.nonEmptyString(e.getKey(), e.getValue());
        default -> r.unknownField(e.getKey(), e.getValue(), "uplink commands");
      }
    }
    if (stream == null || subject == null) {
      r.error(v, "commands needs the hub stream that holds them and their subject (stream: NAME, subject: cmd.site.>)");
      return;
    }
    commands = new Commands(stream, subject, consumer);
  }

  private static List<String> orDefault(List<String> v, List<String> dflt) {
    return v == null ? dflt : v;
  }

  private static List<String> filters(String key, ConfigValue v, ConfigReader r) {
    List<String> l = v.isArray() ? r.stringList(key, v) : single(r.string(key, v));
    if (l == null) {
      return null;
    }
    for (String s : l) {
      if (!Subjects.isValidFilter(s)) {
        r.error(v, "invalid subject \"" + s + "\" in " + key);
        return null;
      }
    }
    return List.copyOf(l);
  }
}
