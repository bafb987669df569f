package io.leafgate.leaf.server;

import java.security.SecureRandom;

/**
 * Who this server is: its id (in nats-server's form, 56 base-32 characters starting with N), its
 * name, and the version it reports to clients.
 */
public final class ServerIdentity {
  /**
   * The nats-server version whose client protocol and JetStream API leafgate serves; clients enable
   * features by it (jnats and nats.js pick the consumer-create API and multiple filters by version).
   */
  public static final String NATS_COMPAT_VERSION = "2.10.24";

  /** leafgate's own version, from the jar manifest. */
  public static final String LEAFGATE_VERSION = leafgateVersion();

  private static final char[] BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".toCharArray();

  private final String id;
  private final String name;

  public ServerIdentity(String name) {
    this.id = newId();
    this.name = name == null || name.isEmpty() ? id : name;
  }

  public String id() {
    return id;
  }

  public String name() {
    return name;
  }

  private static String newId() {
    SecureRandom r = new SecureRandom();
    StringBuilder b = new StringBuilder(56).append('N');
    for (int i = 1; i < 56; i++) {
      b.append(BASE32[r.nextInt(32)]);
    }
    return b.toString();
  }

  private static String leafgateVersion() {
    String v = ServerIdentity.class.getPackage().getImplementationVersion();
    return v == null ? "0.1.0-dev" : v;
  }
}
