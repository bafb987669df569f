package io.leafgate.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.leafgate.leaf.config.ConfigException;
import io.leafgate.leaf.config.ConfigLoader;
import io.leafgate.leaf.config.ServerOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which keys a SIGHUP reload reports as changed, read from real files. */
class ConfigReloadTest {
  @TempDir Path dir;

  private ServerOptions load(String text) throws IOException, ConfigException {
    Path f = dir.resolve("leafgate.conf");
    Files.writeString(f, text);
    return ConfigLoader.load(f, name -> null, List.of(io.leafgate.hub.UplinkConfig::check));
  }

  @Test
  void sameFileNothingChanged() throws Exception {
    String conf = "listen: 0.0.0.0:4222\nhttp: 127.0.0.1:8222\nauthorization { user: a, password: b }\n";
    assertEquals(List.of(), ConfigReload.changedKeys(load(conf), load(conf)));
  }

  @Test
  void changedKeysAreNamedAsInTheFile() throws Exception {
    ServerOptions a = load("listen: 0.0.0.0:4222\nauthorization { user: a, password: b }\n"
        + "leafnodes { remotes = [ { urls: [\"nats-leaf://hub:7422\"] } ] }\n"
        + "uplink { export: [\"telemetry.>\"] }\n");
    ServerOptions b = load("listen: 0.0.0.0:4223\nauthorization { user: a, password: c }\n"
        + "leafnodes { remotes = [ { urls: [\"nats-leaf://hub:7422\"] } ] }\n"
        + "uplink { export: [\"telemetry.>\", \"alarms.>\"] }\nmax_payload: 512KB\n");
    assertEquals(List.of("listen", "max_payload", "authorization", "uplink"), ConfigReload.changedKeys(a, b));
  }

  @Test
  void theUplinkReplayPaceIsItsOwnSettingApartFromTheRestOfTheBlock() throws Exception {
    String hub = "leafnodes { remotes = [ { urls: [\"nats-leaf://hub:7422\"] } ] }\n";
    ServerOptions a = load(hub + "uplink { buffer: [\"t.>\"], replay_rate: 100 }\n");
    assertEquals(List.of("uplink.replay_rate", "uplink.replay_window"), ConfigReload.changedKeys(a,
        load(hub + "uplink { buffer: [\"t.>\"], replay_rate: 0, replay_window: 64 }\n")));
    assertEquals(List.of("uplink"), ConfigReload.changedKeys(a,
        load(hub + "uplink { buffer: [\"t.>\", \"a.>\"], replay_rate: 100 }\n")));
    assertEquals(List.of(), ConfigReload.changedKeys(a, load(hub + "uplink {\n  replay_rate: 100\n  buffer: [\"t.>\"]\n}\n")));
  }

  /** A SIGHUP applies the live keys through their appliers and remembers them as running. */
  @Test
  void liveSettingsAreAppliedOnceAndTheRestNeedsARestart() throws Exception {
    String hub = "leafnodes { remotes = [ { urls: [\"nats-leaf://hub:7422\"] } ] }\n";
    Path f = dir.resolve("leafgate.conf");
    ServerOptions running = load(hub + "uplink { buffer: [\"t.>\"], replay_rate: 100 }\n");
    running.configFile = f;
    java.util.List<Long> applied = new java.util.ArrayList<>();
    boolean[] accept = {true};
    ConfigReload r = new ConfigReload(() -> {
      try {
        return load(Files.readString(f));
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }, running,
        new SystemdNotify(java.util.Map.of(), 1, a -> { }),
        java.util.Map.of("uplink.replay_rate", fresh -> {
          applied.add(io.leafgate.hub.UplinkConfig.parse(fresh, new io.leafgate.leaf.config.ConfigReader()).replayRate);
          return accept[0];
        }));
    Files.writeString(f, hub + "uplink { buffer: [\"t.>\"], replay_rate: 500 }\n");
    r.reload();
    assertEquals(List.of(500L), applied);
    r.reload(); // the same file again: 500 runs now, nothing to apply
    assertEquals(List.of(500L), applied);
    accept[0] = false;
    Files.writeString(f, hub + "uplink { buffer: [\"t.>\"], replay_rate: 7 }\n");
    r.reload(); // refused by the applier: still 500 running, so the next reload tries again
    r.reload();
    assertEquals(List.of(500L, 7L, 7L), applied);
  }

  @Test
  void mqttTlsChangesNeedARestartEvenWhenOnlyTheFilesWereRenewed() throws Exception {
    Path cert = dir.resolve("server.pem");
    Path key = dir.resolve("server-key.pem");
    selfSigned("first", cert, key);
    String plain = "mqtt { listen: 127.0.0.1:1883 }\n";
    String tls = "mqtt {\n  listen: 127.0.0.1:1883\n  tls { cert_file: \"" + cert + "\", key_file: \"" + key + "\" }\n}\n";
    ServerOptions running = load(tls);
    assertEquals(List.of(), ConfigReload.changedKeys(running, load(tls)));
    assertEquals(List.of("mqtt.tls"), ConfigReload.changedKeys(load(plain), running));
    assertEquals(List.of("mqtt.tls"), ConfigReload.changedKeys(running,
        load(tls.replace("key_file", "verify: true, key_file"))));
    // A renewed certificate and key at the same paths: the file does not change, the listener would.
    selfSigned("second", cert, key);
    assertEquals(List.of("mqtt.tls"), ConfigReload.changedKeys(running, load(tls)));
  }

  @Test
  void clientTlsChangesNeedARestartEvenWhenOnlyTheFilesWereRenewed() throws Exception {
    Path cert = dir.resolve("nats.pem");
    Path key = dir.resolve("nats-key.pem");
    selfSigned("natsfirst", cert, key);
    String plain = "listen: 127.0.0.1:4222\n";
    String tls = plain + "tls {\n  cert_file: \"" + cert + "\"\n  key_file: \"" + key + "\"\n  timeout: 3\n}\n";
    ServerOptions running = load(tls);
    assertEquals(List.of(), ConfigReload.changedKeys(running, load(tls)));
    assertEquals(List.of("tls"), ConfigReload.changedKeys(load(plain), running));
    assertEquals(List.of("tls"), ConfigReload.changedKeys(running, load(tls.replace("timeout: 3", "timeout: 4"))));
    selfSigned("natssecond", cert, key);
    assertEquals(List.of("tls"), ConfigReload.changedKeys(running, load(tls)));
  }

  @Test
  void uplinkCredentialsAndTlsFilesRenewedInPlaceNeedARestart() throws Exception {
    Path cert = dir.resolve("edge.pem");
    Path key = dir.resolve("edge-key.pem");
    Path creds = dir.resolve("edge.creds");
    selfSigned("edgefirst", cert, key);
    Files.writeString(creds, "first");
    String conf = "leafnodes { remotes = [ { urls: [\"tls://hub:7422\"], credentials: \"" + creds + "\"\n"
        + "  tls { cert_file: \"" + cert + "\", key_file: \"" + key + "\" } } ] }\n";
    List<Object> running = ConfigReload.snapshot(load(conf));
    assertEquals(List.of(), ConfigReload.changedKeys(running, ConfigReload.snapshot(load(conf))));
    selfSigned("edgesecond", cert, key);
    assertEquals(List.of("leafnodes"), ConfigReload.changedKeys(running, ConfigReload.snapshot(load(conf))));
    running = ConfigReload.snapshot(load(conf));
    Files.writeString(creds, "second");
    assertEquals(List.of("leafnodes"), ConfigReload.changedKeys(running, ConfigReload.snapshot(load(conf))));
  }

  /** A self-signed certificate and its PKCS#8 key as PEM files, made with the JDK's keytool. */
  private void selfSigned(String alias, Path certPem, Path keyPem) throws Exception {
    Path p12 = dir.resolve(alias + ".p12");
    Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
        "-genkeypair", "-alias", alias, "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=localhost",
        "-validity", "2", "-storetype", "PKCS12", "-keystore", p12.toString(), "-storepass", "changeit")
        .redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    assertEquals(0, p.waitFor(), "keytool: " + out);
    java.security.KeyStore ks = java.security.KeyStore.getInstance("PKCS12");
    try (var in = Files.newInputStream(p12)) {
      ks.load(in, "changeit".toCharArray());
    }
    java.util.Base64.Encoder b64 = java.util.Base64.getMimeEncoder(64, "\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
    Files.writeString(certPem, "-----BEGIN CERTIFICATE-----\n" + b64.encodeToString(ks.getCertificate(alias).getEncoded())
        + "\n-----END CERTIFICATE-----\n");
    Files.writeString(keyPem, "-----BEGIN PRIVATE KEY-----\n"
        + b64.encodeToString(ks.getKey(alias, "changeit".toCharArray()).getEncoded()) + "\n-----END PRIVATE KEY-----\n");
  }
}
