package io.leafgate.leaf.proto;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;

/**
 * The fields of a client's CONNECT that leafgate uses. Like nats-server, a CONNECT is applied on top
 * of what the connection already has, so a field the client leaves out keeps its previous value
 * (before any CONNECT: verbose, pedantic and echo are on).
 *
 * <p>The body is read as strictly as nats-server reads it with Go's {@code encoding/json} into its
 * typed {@code ClientOpts}: the body is a JSON object or {@code null}, with nothing after it; a known
 * key with a value of the wrong type (a string for a boolean, a fraction for {@code protocol}) is an
 * error; {@code null} leaves a field as it was; keys match exactly or else case-insensitively;
 * a repeated key takes its last value; unknown keys are ignored.
 */
public final class ConnectOptions {
  private static final JsonFactory JSON_FACTORY = new JsonFactory();

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
  /** An account name; nats-server refuses any non-empty one from a client. */
  public String account = "";
  /** {@code new_account}; nats-server refuses it when true. */
  public boolean newAccount;

  /** The keys of nats-server's {@code ClientOpts}, for the case-insensitive match. */
  private static final String[] KEYS = {
    "echo", "verbose", "pedantic", "tls_required", "nkey", "jwt", "sig", "auth_token", "user", "pass",
    "name", "lang", "version", "protocol", "account", "new_account", "headers", "no_responders",
    "import", "export"
  };

  /** Applies a CONNECT body; throws when nats-server's JSON decoding would fail on it. */
  public void apply(String json) throws IOException {
    try (JsonParser p = JSON_FACTORY.createParser(json)) {
      JsonToken t = p.nextToken();
      if (t == null) {
        throw new IOException("empty CONNECT body");
      }
      if (t == JsonToken.START_OBJECT) {
        IOException typeError = null;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
          String key = canonicalKey(p.currentName());
          JsonToken v = p.nextToken();
          try {
            applyField(key, v, p);
          } catch (TypeMismatch e) {
            // Go's decoder notes the first type error, skips the value and carries on.
            if (typeError == null) {
              typeError = e;
            }
            p.skipChildren();
          }
        }
        if (typeError != null) {
          throw typeError;
        }
      } else if (t != JsonToken.VALUE_NULL) {
        throw new IOException("CONNECT body is not a JSON object: " + t);
      }
      if (p.nextToken() != null) {
        throw new IOException("data after the CONNECT object");
      }
    }
  }

  /**
   * Checks that {@code json} is one JSON object or {@code null} with nothing after it, the least
   * that Go's decoding into a struct needs (used for a client's INFO, which is otherwise ignored).
   */
  public static void requireObjectOrNull(String json) throws IOException {
    try (JsonParser p = JSON_FACTORY.createParser(json)) {
      JsonToken t = p.nextToken();
      if (t != JsonToken.START_OBJECT && t != JsonToken.VALUE_NULL) {
        throw new IOException("not a JSON object: " + t);
      }
      p.skipChildren();
      if (p.nextToken() != null) {
        throw new IOException("data after the JSON object");
      }
    }
  }

  private static String canonicalKey(String key) {
    for (String k : KEYS) {
      if (k.equals(key)) {
        return k;
      }
    }
    for (String k : KEYS) {
      if (k.equalsIgnoreCase(key)) {
        return k;
      }
    }
    return key;
  }

  private void applyField(String key, JsonToken v, JsonParser p) throws IOException {
    switch (key) {
      case "echo" -> echo = bool(key, v, echo);
      case "verbose" -> verbose = bool(key, v, verbose);
      case "pedantic" -> pedantic = bool(key, v, pedantic);
      case "tls_required" -> tlsRequired = bool(key, v, tlsRequired);
      case "headers" -> headers = bool(key, v, headers);
      case "no_responders" -> noResponders = bool(key, v, noResponders);
      case "new_account" -> newAccount = bool(key, v, newAccount);
      case "nkey" -> nkey = str(key, v, p, nkey);
      case "jwt" -> jwt = str(key, v, p, jwt);
      case "sig" -> sig = str(key, v, p, sig);
      case "auth_token" -> authToken = str(key, v, p, authToken);
      case "user" -> user = str(key, v, p, user);
      case "pass" -> pass = str(key, v, p, pass);
      case "name" -> name = str(key, v, p, name);
      case "lang" -> lang = str(key, v, p, lang);
      case "version" -> version = str(key, v, p, version);
      case "account" -> account = str(key, v, p, account);
      case "protocol" -> protocol = integer(key, v, p, protocol);
      case "import", "export" -> checkSubjectPermission(key, v, p);
      default -> p.skipChildren();
    }
  }

  private static boolean bool(String key, JsonToken v, boolean current) throws TypeMismatch {
    return switch (v) {
      case VALUE_TRUE -> true;
      case VALUE_FALSE -> false;
      case VALUE_NULL -> current;
      default -> throw new TypeMismatch(key, "bool", v);
    };
  }

  private static String str(String key, JsonToken v, JsonParser p, String current) throws IOException {
    return switch (v) {
      case VALUE_STRING -> p.getText();
      case VALUE_NULL -> current;
      default -> throw new TypeMismatch(key, "string", v);
    };
  }

  /** Go decodes a JSON number into an int with ParseInt: no fraction, no exponent, within 64 bits. */
  private static int integer(String key, JsonToken v, JsonParser p, int current) throws IOException {
    if (v == JsonToken.VALUE_NULL) {
      return current;
    }
    if (v != JsonToken.VALUE_NUMBER_INT || p.getNumberType() == JsonParser.NumberType.BIG_INTEGER) {
      throw new TypeMismatch(key, "int", v);
    }
    long n = p.getLongValue();
    return n > Integer.MAX_VALUE ? Integer.MAX_VALUE : n < Integer.MIN_VALUE ? Integer.MIN_VALUE : (int) n;
  }

  /** {@code import}/{@code export}: null, or an object whose allow and deny are lists of strings. */
  private static void checkSubjectPermission(String key, JsonToken v, JsonParser p) throws IOException {
    if (v == JsonToken.VALUE_NULL) {
      return;
    }
    if (v != JsonToken.START_OBJECT) {
      throw new TypeMismatch(key, "object", v);
    }
    TypeMismatch first = null;
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String k = p.currentName();
      JsonToken t = p.nextToken();
      if (!k.equalsIgnoreCase("allow") && !k.equalsIgnoreCase("deny")) {
        p.skipChildren();
        continue;
      }
      if (t == JsonToken.VALUE_NULL) {
        continue;
      }
      if (t != JsonToken.START_ARRAY) {
        first = first == null ? new TypeMismatch(key + "." + k, "[]string", t) : first;
        p.skipChildren();
        continue;
      }
      JsonToken e;
      while ((e = p.nextToken()) != JsonToken.END_ARRAY) {
        if (e != JsonToken.VALUE_STRING && e != JsonToken.VALUE_NULL) {
          first = first == null ? new TypeMismatch(key + "." + k, "string", e) : first;
          p.skipChildren();
        }
      }
    }
    if (first != null) {
      throw first;
    }
  }

  /** A value of the wrong JSON type for a known key (Go's UnmarshalTypeError). */
  private static final class TypeMismatch extends IOException {
    TypeMismatch(String key, String want, JsonToken got) {
      super("CONNECT field \"" + key + "\" wants " + want + ", got " + got);
    }
  }
}
