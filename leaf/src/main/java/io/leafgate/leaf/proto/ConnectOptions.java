package io.leafgate.leaf.proto;

import com.fasterxml.jackson.jr.ob.JSON;
import java.io.IOException;
import java.util.Map;

/**
 * The fields of a client's CONNECT that leafgate uses. Like nats-server, a CONNECT is applied on top
 * of what the connection already has, so a field the client leaves out keeps its previous value
 * (before any CONNECT: verbose, pedantic and echo are on).
 */
public final class ConnectOptions {
  public boolean verbose = true;
  public boolean pedantic = true;
  public boolean echo = true;
  public boolean headers;
  public boolean noResponders;
  public int protocol;
  public String name = "";
  public String lang = "";
  public String version = "";
  public String user;
  public String pass;
  public String authToken;
  public String jwt;
  public String sig;
  public String nkey;
  public boolean tlsRequired;

  /** Applies a CONNECT body; throws when it is not a JSON object. */
  public void apply(String json) throws IOException {
    Map<String, Object> m = JSON.std.mapFrom(json);
    verbose = bool(m, "verbose", verbose);
    pedantic = bool(m, "pedantic", pedantic);
    echo = bool(m, "echo", echo);
    headers = bool(m, "headers", headers);
    noResponders = bool(m, "no_responders", noResponders);
    tlsRequired = bool(m, "tls_required", tlsRequired);
    Object p = m.get("protocol");
    if (p instanceof Number n) {
      protocol = n.intValue();
    }
    name = str(m, "name", name);
    lang = str(m, "lang", lang);
    version = str(m, "version", version);
    user = str(m, "user", user);
    pass = str(m, "pass", pass);
    authToken = str(m, "auth_token", authToken);
    jwt = str(m, "jwt", jwt);
    sig = str(m, "sig", sig);
    nkey = str(m, "nkey", nkey);
  }

  private static boolean bool(Map<String, Object> m, String k, boolean dflt) {
    Object v = m.get(k);
    return v instanceof Boolean b ? b : dflt;
  }

  private static String str(Map<String, Object> m, String k, String dflt) {
    Object v = m.get(k);
    return v instanceof String s ? s : dflt;
  }
}
