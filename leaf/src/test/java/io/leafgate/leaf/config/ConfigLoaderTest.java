package io.leafgate.leaf.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigLoaderTest {
  @TempDir Path dir;
  private Path conf;

  private static final Map<String, String> ENV = Map.of("LG_HTTP_PORT", "9000");

  @BeforeEach
  void setUp() {
    conf = dir.resolve("leafgate.conf");
  }

  private ServerOptions load(String text) throws IOException, ConfigException {
    Files.writeString(conf, text);
    return ConfigLoader.load(conf, ENV::get);
  }

  /** Loads text that must fail and returns its errors as {@code file:line: message} strings. */
  private List<String> errors(String text) throws IOException {
    Files.writeString(conf, text);
    ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(conf, ENV::get));
    return e.errors().stream().map(ConfigError::toString).collect(Collectors.toList());
  }

  /** The single error of text, without the file name. */
  private String error(String text) throws IOException {
    List<String> errs = errors(text);
    assertEquals(1, errs.size(), errs.toString());
    String prefix = conf + ":";
    assertTrue(errs.get(0).startsWith(prefix), errs.get(0));
    return errs.get(0).substring(prefix.length());
  }

  // ---- defaults and listeners --------------------------------------------------------------

  @Test
  void fileWithOnlyCommentsGivesDefaults() throws Exception {
    ServerOptions o = load("# nothing here\n// nor here\n");
    assertEquals(conf, o.configFile);
    assertEquals(Defaults.HOST, o.host);
    assertEquals(Defaults.PORT, o.port);
    assertEquals(Defaults.HTTP_PORT, o.httpPort);
    assertEquals(Defaults.MQTT_PORT, o.mqttPort);
    assertEquals(Path.of(Defaults.STORE_DIR), o.storeDir);
    assertEquals(Defaults.MAX_PAYLOAD, o.maxPayload);
    assertEquals(ServerOptions.SyncMode.ALWAYS, o.jetStreamSync);
    assertTrue(o.jetStream);
    assertEquals(-1, o.jetStreamMaxStore);
    assertEquals(-1, o.jetStreamMaxMemory);
    assertTrue(o.extraBlocks.isEmpty());
    assertFalse(o.authRequired());
  }

  @Test
  void listenAsHostPortPortOnlyAndIpv6() throws Exception {
    ServerOptions o = load("listen: 10.0.0.5:4333\n");
    assertEquals("10.0.0.5", o.host);
    assertEquals(4333, o.port);

    o = load("listen: \":4444\"\n");
    assertEquals("0.0.0.0", o.host, "an empty host means every interface, as for nats-server");
    assertEquals(4444, o.port);

    o = load("listen: 4555\n");
    assertEquals(Defaults.HOST, o.host, "a bare port leaves the host alone");
    assertEquals(4555, o.port);

    o = load("listen: \"[::1]:4666\"\n");
    assertEquals("::1", o.host);
    assertEquals(4666, o.port);

    o = load("listen: 127.0.0.1:-1\n");
    assertEquals(-1, o.port, "-1 picks a free port");
  }

  @Test
  void hostNetAndPort() throws Exception {
    ServerOptions o = load("host: 0.0.0.0\nport: 5222\n");
    assertEquals("0.0.0.0", o.host);
    assertEquals(5222, o.port);
    assertEquals("192.168.1.2", load("net: 192.168.1.2\n").host);
    assertEquals(0, load("port: 0\n").port);
    assertEquals(65535, load("port: 65535\n").port);
  }

  @Test
  void httpForms() throws Exception {
    ServerOptions o = load("http: 0.0.0.0:8333\n");
    assertEquals("0.0.0.0", o.httpHost);
    assertEquals(8333, o.httpPort);
    assertEquals(8444, load("http: 8444\n").httpPort);
    assertEquals(8555, load("http_port: 8555\n").httpPort);
    assertEquals(8666, load("monitor_port: 8666\n").httpPort);
    o = load("http_host: 10.1.1.1\nhttp_port: -1\n");
    assertEquals("10.1.1.1", o.httpHost);
    assertEquals(-1, o.httpPort);
    assertEquals(9000, load("http_port: $LG_HTTP_PORT\n").httpPort, "from the environment");
  }

  @Test
  void badPortsAndAddresses() throws Exception {
    assertEquals("1: \"port\" must be between -1 and 65535 (-1 picks a free port), got 65536",
        error("port: 65536\n"));
    assertEquals("1: \"port\" must be between -1 and 65535 (-1 picks a free port), got -2",
        error("port: -2\n"));
    assertEquals("1: \"http_port\" must be a port number, got string \"8222\"",
        error("http_port: \"8222\"\n"));
    assertEquals("1: \"listen\": cannot parse address \"localhost\": expected host:port, :port"
        + " or a port number", error("listen: localhost\n"));
    assertEquals("1: \"listen\": cannot parse address \"::1:4222\": an IPv6 host must be in"
        + " brackets, as in [::1]:4222", error("listen: \"::1:4222\"\n"));
    assertEquals("1: \"http\": cannot parse address \"h:http\": \"http\" is not a port number",
        error("http: h:http\n"));
    assertEquals("1: \"listen\" port must be between -1 and 65535 (-1 picks a free port), got"
        + " 70000", error("listen: 1.2.3.4:70000\n"));
    assertEquals("1: \"listen\" must be a port or a \"host:port\" string, got a map",
        error("listen { port: 1 }\n"));
    assertEquals("1: \"host\" must not be empty", error("host: \"\"\n"));
  }

  // ---- limits ------------------------------------------------------------------------------

  @Test
  void serverNameAndLimits() throws Exception {
    ServerOptions o = load("""
        server_name: gw-1
        max_payload: 4MB
        max_pending: 32MB
        max_control_line: 8KB
        max_connections: 100
        ping_max: 5
        """);
    assertEquals("gw-1", o.serverName);
    assertEquals(4 << 20, o.maxPayload);
    assertEquals(32L << 20, o.maxPending);
    assertEquals(8192, o.maxControlLine);
    assertEquals(100, o.maxConnections);
    assertEquals(5, o.pingMax);
    assertEquals(1000, load("max_connections: 1K\n").maxConnections, "K is 1000, as in nats");
    assertEquals(2_000_000, load("max_payload: 2M\n").maxPayload, "M is 1000*1000");
    assertEquals(3 << 20, load("max_payload: \"3MB\"\n").maxPayload, "sizes may be quoted");
    assertEquals(500, load("max_conn: 500\n").maxConnections);
  }

  @Test
  void maxPayloadBounds() throws Exception {
    assertEquals(64 << 20, load("max_payload: 64MB\nmax_pending: 64MB\n").maxPayload);
    assertEquals("1: \"max_payload\" must be between 1 and 67108864 bytes, got 65MB (68157440"
        + " bytes)", error("max_payload: 65MB\nmax_pending: 128MB\n"));
    assertEquals("1: \"max_payload\" must be between 1 and 67108864 bytes, got 0",
        error("max_payload: 0\n"));
    assertEquals("1: max_payload (16777216) cannot be higher than max_pending (8388608): such a"
        + " message could never be delivered", error("max_payload: 16MB\n"));
    assertEquals("2: max_payload (4194304) cannot be higher than max_pending (1048576): such a"
        + " message could never be delivered",
        error("max_pending: 1MB\nmax_payload: 4MB\n"));
    assertEquals("1: max_payload (1048576) cannot be higher than max_pending (1024): such a"
        + " message could never be delivered", error("max_pending: 1KB\n"));
  }

  @Test
  void otherLimitErrors() throws Exception {
    assertEquals("1: \"server_name\" cannot contain spaces, got \"gw 1\"",
        error("server_name: \"gw 1\"\n"));
    assertEquals("1: \"max_connections\" must be between 1 and 2147483647, got 0",
        error("max_connections: 0\n"));
    assertEquals("1: \"ping_max\" must be an integer, got float 2.5", error("ping_max: 2.5\n"));
    assertEquals("1: \"max_pending\": \"lots\" is not a size: write a number of bytes with an"
        + " optional suffix, such as 1024, 64KB, 10MB or 1GB", error("max_pending: lots\n"));
    assertEquals("1: \"max_control_line\" must be a size such as 1048576, 64KB or 1MB, got"
        + " boolean true", error("max_control_line: true\n"));
  }

  // ---- durations ---------------------------------------------------------------------------

  @Test
  void durationsAsStringsNumbersAndUnquotedMinutes() throws Exception {
    assertEquals(Duration.ofSeconds(10), load("write_deadline: \"10s\"\n").writeDeadline);
    assertEquals(Duration.ofMillis(500), load("write_deadline: 500ms\n").writeDeadline);
    assertEquals(Duration.ofSeconds(7), load("write_deadline: 7\n").writeDeadline, "seconds");
    assertEquals(Duration.ofMillis(2500), load("write_deadline: 2.5\n").writeDeadline);
    assertEquals(Duration.ofMinutes(2), load("ping_interval: \"2m\"\n").pingInterval);
    // nats-server reads unquoted 2m as the size 2000000, hence 2000000 seconds; we keep the text.
    assertEquals(Duration.ofMinutes(2), load("ping_interval: 2m\n").pingInterval);
    assertEquals(Duration.ofMinutes(90), load("ping_interval: 1h30m\n").pingInterval);
  }

  @Test
  void badDurations() throws Exception {
    assertEquals("1: \"write_deadline\": \"soon\" is not a duration: write a number and a unit"
        + " (ns, us, ms, s, m, h), such as \"10s\", \"500ms\" or \"1h30m\"",
        error("write_deadline: soon\n"));
    assertEquals("1: \"ping_interval\" must be greater than zero, got 0",
        error("ping_interval: 0\n"));
    assertEquals("1: \"ping_interval\" must be greater than zero, got -5s",
        error("ping_interval: \"-5s\"\n"));
    assertTrue(error("ping_interval: 2k\n").startsWith("1: \"ping_interval\": \"2k\" is not a"
        + " duration"));
    assertEquals("1: \"write_deadline\" must be a duration such as \"10s\" or a number of"
        + " seconds, got an array", error("write_deadline: [1]\n"));
  }

  // ---- authorization -----------------------------------------------------------------------

  @Test
  void singleUserAndTimeout() throws Exception {
    ServerOptions o = load("authorization { user: alice, password: s3cret, timeout: 0.5 }\n");
    assertEquals("alice", o.username);
    assertEquals("s3cret", o.password);
    assertEquals(Duration.ofMillis(500), o.authTimeout, "fractional seconds");
    assertTrue(o.authRequired());
    assertEquals(Duration.ofSeconds(3), load("authorization { token: t, timeout: 3 }\n")
        .authTimeout);
    assertEquals(Duration.ofSeconds(4), load("authorization { token: t, timeout: \"4s\" }\n")
        .authTimeout);
    o = load("authorization { username: bob, pass: pw }\n");
    assertEquals("bob", o.username);
    assertEquals("pw", o.password);
  }

  @Test
  void token() throws Exception {
    ServerOptions o = load("authorization {\n  token: \"abc-123\"\n}\n");
    assertEquals("abc-123", o.authToken);
    assertNull(o.username);
    assertTrue(o.authRequired());
  }

  @Test
  void usersWithEveryPermissionForm() throws Exception {
    ServerOptions o = load("""
        authorization {
          default_permissions = { publish: "default.>" }
          users = [
            { user: a, password: pa, permissions: { publish: "a.>", subscribe: ["x", "y.*"] } }
            { user: b, password: pb, permissions: {
                publish: { allow: ["b.>"], deny: "b.secret" }
                subscribe: { deny: [">"] }
              }
            }
            { user: c, password: pc, permissions: { sub: { allow: "work.* workers" } } }
            { user: d, password: pd }
          ]
        }
        """);
    assertEquals(4, o.users.size());
    assertTrue(o.authRequired());

    ServerOptions.User a = o.users.get(0);
    assertEquals("a", a.username);
    assertEquals("pa", a.password);
    assertEquals(List.of("a.>"), a.permissions.publishAllow);
    assertEquals(List.of(), a.permissions.publishDeny);
    assertEquals(List.of("x", "y.*"), a.permissions.subscribeAllow);

    ServerOptions.Permissions b = o.users.get(1).permissions;
    assertEquals(List.of("b.>"), b.publishAllow);
    assertEquals(List.of("b.secret"), b.publishDeny);
    assertNull(b.subscribeAllow, "only a deny list: everything else is allowed");
    assertEquals(List.of(">"), b.subscribeDeny);

    ServerOptions.Permissions c = o.users.get(2).permissions;
    assertEquals(List.of("work.* workers"), c.subscribeAllow, "queue permission");
    assertNull(c.publishAllow);

    ServerOptions.Permissions d = o.users.get(3).permissions;
    assertEquals(List.of("default.>"), d.publishAllow, "default_permissions apply");
  }

  @Test
  void authorizationConflictsAndBadEntries() throws Exception {
    assertEquals("1: authorization cannot have both a user/password and a token",
        error("authorization { user: a, password: b, token: c }\n"));
    assertEquals("1: authorization cannot have both a single user/password and a users array",
        error("authorization { user: a, password: b, users: [ {user: c} ] }\n"));
    assertEquals("1: authorization cannot have both a token and a users array",
        error("authorization { token: t, users: [] }\n"));
    assertEquals("1: authorization has a password but no user",
        error("authorization { password: p }\n"));
    assertEquals("3: duplicate user \"a\"",
        error("authorization { users: [\n {user: a, password: x}\n {user: a, password: y}\n] }\n"));
    assertEquals("2: a users entry needs a \"user\"",
        error("authorization { users: [\n {password: x}\n] }\n"));
    assertEquals("2: each entry of \"users\" must be a map such as { user: alice, password:"
        + " secret }, got string \"alice\"",
        error("authorization { users: [\n alice\n] }\n"));
    assertEquals("1: unknown field \"nkey\" in authorization.users",
        error("authorization { users: [ {user: a, nkey: UABC} ] }\n"));
    assertEquals("1: \"authorization\" must be a map ({ ... }), got string \"on\"",
        error("authorization: \"on\"\n"));
  }

  @Test
  void badPermissions() throws Exception {
    assertEquals("1: \"publish\": subject \"a..b\" has an empty token",
        error("authorization { users: [ {user: a, permissions: {publish: \"a..b\"}} ] }\n"));
    assertEquals("1: \"publish\": subject \"a.>.b\" has '>' before its last token",
        error("authorization { users: [ {user: a, permissions: {publish: \"a.>.b\"}} ] }\n"));
    assertEquals("1: \"publish\": subject \"a q\" cannot contain white space",
        error("authorization { users: [ {user: a, permissions: {publish: \"a q\"}} ] }\n"));
    assertEquals("1: \"allow\" is an empty list: remove it to allow every subject, or deny"
        + " \">\" to allow none",
        error("authorization { users: [ {user: a, permissions: {publish: {allow: []}}} ] }\n"));
    assertEquals("1: unknown field \"permit\" in \"subscribe\": only allow and deny are"
        + " permitted",
        error("authorization { users: [ {user: a, permissions: {subscribe: {permit: x}}} ] }\n"));
    assertEquals("1: unknown field \"allow_responses\" in authorization.users.permissions",
        error("authorization { users: [ {user: a, permissions: {allow_responses: true}} ] }\n"));
    assertEquals("1: \"subscribe\" must be a subject or an array of subjects, got integer 5",
        error("authorization { users: [ {user: a, permissions: {subscribe: 5}} ] }\n"));
  }

  @Test
  void permissionSubjectRules() {
    assertNull(ConfigLoader.subjectProblem("foo.*.bar", false));
    assertNull(ConfigLoader.subjectProblem(">", false));
    assertNull(ConfigLoader.subjectProblem("$JS.API.>", false));
    assertNull(ConfigLoader.subjectProblem("foo.> q1", true));
    assertEquals("subject \"foo.> q1\" cannot contain white space",
        ConfigLoader.subjectProblem("foo.> q1", false));
    assertEquals("queue \"q.\" is not a valid queue name",
        ConfigLoader.subjectProblem("foo q.", true));
    assertEquals("a subject cannot be empty", ConfigLoader.subjectProblem("", false));
  }

  // ---- jetstream, store_dir, mqtt ----------------------------------------------------------

  @Test
  void jetStreamBlock() throws Exception {
    ServerOptions o = load("""
        jetstream {
          store_dir: /data/js
          max_file_store: 10GB
          max_memory_store: 512MB
          domain: edge
          sync: interval
        }
        """);
    assertTrue(o.jetStream);
    assertEquals(Path.of("/data/js"), o.storeDir);
    assertEquals(10L << 30, o.jetStreamMaxStore);
    assertEquals(512L << 20, o.jetStreamMaxMemory);
    assertEquals("edge", o.jetStreamDomain);
    assertEquals(ServerOptions.SyncMode.INTERVAL, o.jetStreamSync);

    assertEquals(10L << 30, load("jetstream { max_file: \"10G\" }\n").jetStreamMaxStore,
        "a quoted one-letter suffix is binary, as nats-server's getStorageSize reads it");
    assertEquals(ServerOptions.SyncMode.ALWAYS, load("jetstream { sync: ALWAYS }\n")
        .jetStreamSync);
    assertEquals(Path.of("js"), load("jetstream { store: js }\n").storeDir);
  }

  @Test
  void jetStreamEnableForms() throws Exception {
    assertTrue(load("jetstream: enabled\n").jetStream);
    assertFalse(load("jetstream: disabled\n").jetStream);
    assertFalse(load("jetstream: false\n").jetStream);
    assertTrue(load("jetstream: on\n").jetStream);
    assertFalse(load("jetstream { enabled: false }\n").jetStream);
    assertEquals("1: \"jetstream\" must be a map, a boolean, \"enabled\" or \"disabled\", got"
        + " string \"maybe\"", error("jetstream: maybe\n"));
  }

  @Test
  void jetStreamErrors() throws Exception {
    assertEquals("1: \"sync\" must be \"always\" or \"interval\", got string \"2m\"",
        error("jetstream { sync: \"2m\" }\n"));
    assertEquals("1: \"domain\" cannot contain spaces or dots, got \"a.b\"",
        error("jetstream { domain: a.b }\n"));
    assertEquals("1: \"max_memory_store\" must be at least 0 bytes, got -1",
        error("jetstream { max_memory_store: -1 }\n"));
    assertEquals("1: unknown field \"strict\" in jetstream",
        error("jetstream { strict: true }\n"));
  }

  @Test
  void storeDirAtTopLevelOrInJetStreamButNotBoth() throws Exception {
    assertEquals(Path.of("/srv/leafgate"), load("store_dir: /srv/leafgate\n").storeDir);
    assertEquals(Path.of("/srv/x"), load("storedir: \"/srv/x\"\n").storeDir);
    assertEquals("3: store_dir is set twice, at top level (" + conf + ":1) and in jetstream:"
        + " keep one", error("store_dir: /a\njetstream {\n  store_dir: /b\n}\n"));
  }

  @Test
  void mqttTlsProblemsAreReportedTogether() throws Exception {
    Path missing = dir.resolve("nope.pem");
    List<String> errs = errors("mqtt {\n  tls {\n    cert_file: \"" + missing + "\"\n    verify: maybe\n"
        + "    cipher_suites: [\"TLS_AES_128_GCM_SHA256\"]\n  }\n}\n");
    assertEquals(List.of(
        conf + ":2: mqtt.tls needs both cert_file and key_file (the server's certificate and its private key)",
        conf + ":3: mqtt.tls cert_file \"" + missing + "\": no such file",
        conf + ":4: \"verify\" must be a boolean (true or false), got string \"maybe\"",
        conf + ":5: \"cipher_suites\" in mqtt.tls is a nats-server setting that leafgate does not support;"
            + " leafgate takes cert_file, key_file, ca_file, verify and timeout"), errs);
  }

  @Test
  void mqttTlsFilesThatAreNotPem() throws Exception {
    Path text = dir.resolve("notes.txt");
    Files.writeString(text, "not a certificate\n");
    List<String> errs = errors("mqtt { tls {\n cert_file: \"" + text + "\"\n key_file: \"" + text + "\"\n"
        + " ca_file: \"" + dir + "\"\n} }\n");
    assertEquals(List.of(
        conf + ":2: mqtt.tls cert_file \"" + text + "\": holds no PEM certificate (BEGIN CERTIFICATE)",
        conf + ":3: mqtt.tls key_file \"" + text + "\": holds no PEM private key (BEGIN PRIVATE KEY)",
        conf + ":4: mqtt.tls ca_file \"" + dir + "\": is a directory, not a file"), errs);
  }

  @Test
  void topLevelTlsProblemsAreReportedTogether() throws Exception {
    Path missing = dir.resolve("nope.pem");
    Path text = dir.resolve("notes.txt");
    Files.writeString(text, "not a key\n");
    List<String> errs = errors("port: 4222\ntls {\n  cert_file: \"" + missing + "\"\n  key_file: \"" + text + "\"\n"
        + "  ca_file: \"" + dir.resolve("no-ca.pem") + "\"\n  verify: maybe\n  timeout: 0\n  handshake_first: true\n"
        + "  pinned_certs: [\"abc\"]\n  colour: blue\n}\nallow_non_tls: true\n");
    assertEquals(List.of(
        conf + ":3: tls cert_file \"" + missing + "\": no such file",
        conf + ":4: tls key_file \"" + text + "\": holds no PEM private key (BEGIN PRIVATE KEY)",
        conf + ":5: tls ca_file \"" + dir.resolve("no-ca.pem") + "\": no such file",
        conf + ":6: \"verify\" must be a boolean (true or false), got string \"maybe\"",
        conf + ":7: \"timeout\" must be greater than zero, got 0",
        conf + ":8: \"handshake_first\" in tls is a nats-server setting that leafgate does not support;"
            + " leafgate takes cert_file, key_file, ca_file, verify and timeout",
        conf + ":9: \"pinned_certs\" in tls is a nats-server setting that leafgate does not support;"
            + " leafgate takes cert_file, key_file, ca_file, verify and timeout",
        conf + ":10: unknown field \"colour\" in tls",
        conf + ":12: \"allow_non_tls\" is a nats-server setting that leafgate does not support: with a tls block"
            + " the client port takes TLS clients only"), errs);
  }

  @Test
  void topLevelTlsNeedsCertAndKeyAndIsAMap() throws Exception {
    assertEquals("2: tls needs both cert_file and key_file (the server's certificate and its private key)",
        error("port: 4222\ntls {\n  verify: true\n}\n"));
    assertEquals("1: \"tls\" must be a map ({ ... }), got boolean true", error("tls: true\n"));
    // The block is no longer kept raw for a later module: it is the client listener's.
    assertTrue(load("port: 4222\n").extraBlocks.isEmpty());
  }

  @Test
  void mqttBlock() throws Exception {
    ServerOptions o = load("mqtt {\n  listen: 0.0.0.0:1884\n}\n");
    assertEquals("0.0.0.0", o.mqttHost);
    assertEquals(1884, o.mqttPort);
    o = load("mqtt { host: 10.0.0.1, port: -1 }\n");
    assertEquals("10.0.0.1", o.mqttHost);
    assertEquals(-1, o.mqttPort);
    assertEquals(1885, load("mqtt { net: h, listen: 1885 }\n").mqttPort);
    assertEquals("1: unknown field \"ack_wait\" in mqtt", error("mqtt { ack_wait: \"1m\" }\n"));
  }

  // ---- blocks for later modules, unknown keys, variables -----------------------------------

  @Test
  void leafnodesAndUplinkAreKeptRaw() throws Exception {
    ServerOptions o = load("""
        leaf {
          remotes = [ { urls: [nats-leaf://hub:7422] } ]
        }
        uplink { buffer: ["telemetry.>"], anything_goes_for_now: 1 }
        """);
    assertEquals(List.of("leafnodes", "uplink"), List.copyOf(o.extraBlocks.keySet()));
    ConfigValue remotes = o.extraBlocks.get("leafnodes").get("remotes");
    assertEquals("nats-leaf://hub:7422",
        remotes.asList().get(0).get("urls").asList().get(0).asString());
    assertEquals(2, remotes.line());
    assertEquals(1, o.extraBlocks.get("uplink").get("anything_goes_for_now").asLong());
    assertEquals("1: \"leafnodes\" must be a map ({ ... }), got string \"x\"",
        error("leafnodes: x\n"));
  }

  @Test
  void unknownTopLevelKeyIsAnErrorAndKeysIgnoreCase() throws Exception {
    assertEquals("2: unknown field \"foo\"", error("port: 1\nfoo: bar\n"));
    ServerOptions o = load("PORT: 4999\nServer_Name: loud\n");
    assertEquals(4999, o.port);
    assertEquals("loud", o.serverName);
  }

  @Test
  void keyUsedOnlyAsAVariableIsNotUnknown() throws Exception {
    ServerOptions o = load("HUB = 7500\nport: $HUB\nmqtt { MQ = 1999, port: $MQ }\n");
    assertEquals(7500, o.port);
    assertEquals(1999, o.mqttPort);
    assertEquals("1: unknown field \"UNUSED\"", error("UNUSED = 1\n"));
  }

  // ---- every problem at once ---------------------------------------------------------------

  @Test
  void everyProblemInTheFileIsReportedWithItsFileAndLine() throws Exception {
    Path extra = dir.resolve("extra.conf");
    Files.writeString(extra, "# included\nbar = 1\nmax_pending: nope\n");
    List<String> errs = errors("""
        port: 70000
        listen: "localhost"
        max_payload: 100MB
        foo: bar
        write_deadline: "ten seconds"
        authorization {
          user: alice
          token: xyz
          timeout: -1
          colour: blue
        }
        jetstream {
          sync: sometimes
          max_file_store: "lots"
        }
        mqtt { port: "1883" }
        server_name: "my server"
        ping_max =
        include extra.conf
        tls: true
        """);
    String c = conf.toString();
    String x = extra.toString();
    assertEquals(List.of(
        c + ":1: \"port\" must be between -1 and 65535 (-1 picks a free port), got 70000",
        c + ":2: \"listen\": cannot parse address \"localhost\": expected host:port, :port or a"
            + " port number",
        c + ":3: \"max_payload\" must be between 1 and 67108864 bytes, got 100MB (104857600"
            + " bytes)",
        c + ":4: unknown field \"foo\"",
        c + ":5: \"write_deadline\": \"ten seconds\" is not a duration: write a number and a"
            + " unit (ns, us, ms, s, m, h), such as \"10s\", \"500ms\" or \"1h30m\"",
        c + ":6: authorization cannot have both a user/password and a token",
        c + ":9: \"timeout\" must be greater than zero, got -1",
        c + ":10: unknown field \"colour\" in authorization",
        c + ":13: \"sync\" must be \"always\" or \"interval\", got string \"sometimes\"",
        c + ":14: \"max_file_store\": \"lots\" is not a size: write a number of bytes with an"
            + " optional suffix, such as 1024, 64KB, 10MB or 1GB",
        c + ":16: \"port\" must be a port number, got string \"1883\"",
        c + ":17: \"server_name\" cannot contain spaces, got \"my server\"",
        c + ":18: missing value for \"ping_max\"",
        c + ":20: \"tls\" must be a map ({ ... }), got boolean true",
        x + ":2: unknown field \"bar\"",
        x + ":3: \"max_pending\": \"nope\" is not a size: write a number of bytes with an"
            + " optional suffix, such as 1024, 64KB, 10MB or 1GB"), errs);
  }

  @Test
  void exceptionMessageListsEveryErrorOnItsOwnLine() throws Exception {
    Files.writeString(conf, "a: 1\nb: 2\n");
    ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(conf));
    assertEquals(conf + ":1: unknown field \"a\"\n" + conf + ":2: unknown field \"b\"",
        e.getMessage());
    assertEquals(new ConfigError(conf, 2, "unknown field \"b\""), e.errors().get(1));
  }

  @Test
  void missingFileIsAConfigError() {
    Path missing = dir.resolve("absent.conf");
    ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(missing));
    assertEquals(List.of(new ConfigError(missing, 0, "cannot read config file: no such file")),
        e.errors());
  }

  // ---- a config as a nats-server user writes it --------------------------------------------

  @Test
  void natsServerStyleSiteConfig() throws Exception {
    Path site = resource("config/plant3.conf");
    ServerOptions o = ConfigLoader.load(site);

    assertEquals("plant3-gw1", o.serverName);
    assertEquals("0.0.0.0", o.host);
    assertEquals(4222, o.port);
    assertEquals("127.0.0.1", o.httpHost);
    assertEquals(8222, o.httpPort);
    assertEquals(2 << 20, o.maxPayload);
    assertEquals(16L << 20, o.maxPending);
    assertEquals(500, o.maxConnections);
    assertEquals(Duration.ofSeconds(5), o.writeDeadline);
    assertEquals(Duration.ofSeconds(30), o.pingInterval);
    assertEquals(3, o.pingMax);

    assertEquals(Path.of("/var/lib/leafgate"), o.storeDir);
    assertEquals(8L << 30, o.jetStreamMaxStore);
    assertEquals(256L << 20, o.jetStreamMaxMemory);
    assertEquals("plant3", o.jetStreamDomain);
    assertEquals(ServerOptions.SyncMode.ALWAYS, o.jetStreamSync);
    assertEquals("0.0.0.0", o.mqttHost);
    assertEquals(1883, o.mqttPort);

    assertEquals(Duration.ofMillis(1500), o.authTimeout);
    assertEquals(List.of("sensors", "historian", "ops"),
        o.users.stream().map(u -> u.username).collect(Collectors.toList()));
    ServerOptions.User sensors = o.users.get(0);
    assertTrue(sensors.password.startsWith("$2a$11$"), "bcrypt hash kept as written");
    assertEquals(List.of("telemetry.>", "$JS.API.STREAM.INFO.>"),
        sensors.permissions.publishAllow);
    assertEquals(List.of("telemetry.internal.>"), sensors.permissions.publishDeny);
    assertEquals(List.of("_INBOX.>"), sensors.permissions.subscribeAllow);
    assertEquals(List.of("telemetry.> historians"),
        o.users.get(1).permissions.subscribeAllow);
    ServerOptions.User ops = o.users.get(2);
    assertEquals("ops-pass", ops.password);
    assertEquals(List.of("ops.>"), ops.permissions.publishAllow);
    assertEquals(List.of("ops.>", "_INBOX.>"), ops.permissions.subscribeAllow);

    ConfigValue leafnodes = o.extraBlocks.get("leafnodes");
    ConfigValue remote = leafnodes.get("remotes").asList().get(0);
    assertEquals(2, remote.get("urls").asList().size());
    assertEquals("/etc/leafgate/plant3.creds", remote.get("credentials").asString());
    assertEquals(site, leafnodes.file());
    ConfigValue uplink = o.extraBlocks.get("uplink");
    assertEquals(2L << 30, uplink.get("max_bytes").asLong());
    assertEquals("72h", uplink.get("max_age").asString());
  }

  private static Path resource(String name) throws URISyntaxException {
    return Path.of(ConfigLoaderTest.class.getClassLoader().getResource(name).toURI());
  }
}
