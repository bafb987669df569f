package io.leafgate.leaf.auth;

import at.favre.lib.crypto.bcrypt.BCrypt;
import io.leafgate.leaf.config.ServerOptions;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Checks CONNECT credentials against the configured authorization: one user and password, a token,
 * or a list of users each with optional permissions. Passwords may be bcrypt hashes, as in
 * nats-server. Thread-safe.
 */
public final class Authenticator {
  private final String user;
  private final String password;
  private final String token;
  private final Map<String, ServerOptions.User> users = new HashMap<>();
  private final Map<String, Permissions> permissions = new HashMap<>();
  /** bcrypt costs tens of milliseconds; a reconnect storm must not pay it again per client. */
  private final Map<String, Boolean> bcryptVerified = new ConcurrentHashMap<>();

  public Authenticator(ServerOptions o) {
    this.user = o.username;
    this.password = o.password;
    this.token = o.authToken;
    for (ServerOptions.User u : o.users) {
      users.put(u.username, u);
      permissions.put(u.username, toPermissions(u.permissions));
    }
  }

  /** Whether clients must authenticate. */
  public boolean required() {
    return user != null || token != null || !users.isEmpty();
  }

  /**
   * Returns the client's permissions, or null when the credentials are refused. With no
   * authorization configured every client gets {@link Permissions#ALL}.
   */
  public Permissions authenticate(String clientUser, String clientPass, String clientToken) {
    if (!required()) {
      return Permissions.ALL;
    }
    if (!users.isEmpty()) {
      ServerOptions.User u = clientUser == null ? null : users.get(clientUser);
      if (u != null && passwordMatches(u.password, clientPass)) {
        return permissions.get(u.username);
      }
      return null;
    }
    if (token != null) {
      return clientToken != null && constantTimeEquals(token, clientToken) ? Permissions.ALL : null;
    }
    if (user != null && user.equals(clientUser) && passwordMatches(password, clientPass)) {
      return Permissions.ALL;
    }
    return null;
  }

  private boolean passwordMatches(String configured, String given) {
    if (configured == null) {
      return given == null || given.isEmpty();
    }
    if (given == null) {
      return false;
    }
    if (configured.startsWith("$2")) {
      String key = configured + '\u0000' + given;
      Boolean ok = bcryptVerified.get(key);
      if (ok == null) {
        ok = BCrypt.verifyer().verify(given.getBytes(StandardCharsets.UTF_8),
            configured.getBytes(StandardCharsets.UTF_8)).verified;
        if (ok && bcryptVerified.size() < 1024) {
          bcryptVerified.put(key, true);
        }
      }
      return ok;
    }
    return constantTimeEquals(configured, given);
  }

  private static boolean constantTimeEquals(String a, String b) {
    return MessageDigest.isEqual(a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));
  }

  private static Permissions toPermissions(ServerOptions.Permissions p) {
    if (p == null) {
      return Permissions.ALL;
    }
    return new Permissions(p.publishAllow, nonNull(p.publishDeny), p.subscribeAllow, nonNull(p.subscribeDeny));
  }

  private static List<String> nonNull(List<String> l) {
    return l == null ? List.of() : l;
  }
}
