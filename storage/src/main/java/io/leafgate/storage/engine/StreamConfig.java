package io.leafgate.storage.engine;

import io.leafgate.leaf.subject.Subjects;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A stream's configuration, parsed from the API JSON, normalised with nats-server's defaults, and
 * serialised back in nats-server 2.10's shape. Immutable.
 */
public final class StreamConfig {
  /** Retention policies. */
  public enum Retention {
    LIMITS, INTEREST, WORKQUEUE
  }

  public static final long DEFAULT_DUPLICATE_WINDOW = 120_000_000_000L;
  private static final long MIN_MAX_AGE = 100_000_000L;

  public final String name;
  public final String description;
  public final List<String> subjects;
  public final Retention retention;
  public final long maxConsumers;
  public final long maxMsgs;
  public final long maxBytes;
  public final long maxAge;
  public final long maxMsgsPerSubject;
  public final long maxMsgSize;
  public final boolean discardNew;
  public final boolean memory;
  public final int replicas;
  public final long duplicateWindow;
  public final String compression;
  public final boolean allowDirect;
  public final boolean mirrorDirect;
  public final boolean sealed;
  public final boolean denyDelete;
  public final boolean denyPurge;
  public final boolean allowRollup;
  public final boolean discardNewPerSubject;
  public final boolean noAck;
  public final Map<String, Object> metadata;
  public final Map<String, Object> consumerLimits;

  private StreamConfig(Map<String, Object> m, String subjectName) throws ApiError, Json.BadJson {
    String n = Json.strOf(m, "name", "");
    if (n.isEmpty()) {
      n = subjectName == null ? "" : subjectName;
    }
    this.name = n;
    this.description = Json.strOf(m, "description", null);
    List<Object> subs = Json.listOf(m, "subjects");
    List<String> s = new ArrayList<>();
    if (subs != null) {
      for (Object o : subs) {
        if (!(o instanceof String str)) {
          throw new Json.BadJson("subjects must be strings");
        }
        s.add(str);
      }
    }
    if (s.isEmpty() && m.get("mirror") == null && m.get("sources") == null && !name.isEmpty()) {
      s.add(name);
    }
    this.subjects = List.copyOf(s);
    // An unknown enum value fails nats-server's JSON decoding, so it is "invalid JSON" there too.
    this.retention = switch (Json.strOf(m, "retention", "limits").toLowerCase()) {
      case "limits", "" -> Retention.LIMITS;
      case "interest" -> Retention.INTEREST;
      case "workqueue" -> Retention.WORKQUEUE;
      default -> throw new Json.BadJson("can not unmarshal retention");
    };
    this.maxConsumers = limit(Json.longOf(m, "max_consumers", -1));
    this.maxMsgs = limit(Json.longOf(m, "max_msgs", -1));
    this.maxBytes = limit(Json.longOf(m, "max_bytes", -1));
    this.maxAge = Math.max(0, Json.longOf(m, "max_age", 0));
    this.maxMsgsPerSubject = limit(Json.longOf(m, "max_msgs_per_subject", -1));
    this.maxMsgSize = limit(Json.longOf(m, "max_msg_size", -1));
    this.discardNew = switch (Json.strOf(m, "discard", "old").toLowerCase()) {
      case "old", "" -> false;
      case "new" -> true;
      default -> throw new Json.BadJson("can not unmarshal discard");
    };
    this.memory = switch (Json.strOf(m, "storage", "file").toLowerCase()) {
      case "file", "" -> false;
      case "memory" -> true;
      default -> throw new Json.BadJson("can not unmarshal storage");
    };
    long r = Json.longOf(m, "num_replicas", 1);
    this.replicas = r <= 0 ? 1 : (int) Math.min(r, Integer.MAX_VALUE);
    long dw = Json.longOf(m, "duplicate_window", 0);
    if (dw <= 0) {
      dw = maxAge > 0 && maxAge < DEFAULT_DUPLICATE_WINDOW ? maxAge : DEFAULT_DUPLICATE_WINDOW;
    }
    this.duplicateWindow = dw;
    String c = Json.strOf(m, "compression", "none");
    this.compression = c.isEmpty() ? "none" : c;
    this.allowDirect = Json.boolOf(m, "allow_direct", false);
    this.mirrorDirect = Json.boolOf(m, "mirror_direct", false);
    this.sealed = Json.boolOf(m, "sealed", false);
    this.denyDelete = Json.boolOf(m, "deny_delete", false);
    this.denyPurge = Json.boolOf(m, "deny_purge", false);
    this.allowRollup = Json.boolOf(m, "allow_rollup_hdrs", false);
    this.discardNewPerSubject = Json.boolOf(m, "discard_new_per_subject", false);
    this.noAck = Json.boolOf(m, "no_ack", false);
    Map<String, Object> md = Json.mapOf(m, "metadata");
    this.metadata = md == null || md.isEmpty() ? null : new LinkedHashMap<>(md);
    Map<String, Object> cl = Json.mapOf(m, "consumer_limits");
    this.consumerLimits = cl == null ? Map.of() : new LinkedHashMap<>(cl);
    if (m.get("mirror") != null || m.get("sources") != null) {
      throw ApiError.streamInvalidConfig("stream mirrors and sources are not supported by leafgate");
    }
  }

  private static long limit(long v) {
    return v <= 0 ? -1 : v;
  }

  /** Parses and checks a configuration from an API request body. */
  public static StreamConfig parse(Map<String, Object> m, String subjectName) throws ApiError, Json.BadJson {
    StreamConfig c = new StreamConfig(m, subjectName);
    c.validate();
    return c;
  }

  /**
   * Decodes a request body without checking it (nats-server's JSON decoding step: unknown enum values
   * are invalid JSON); {@link #validate} comes after the API's own checks on the name.
   */
  static StreamConfig decode(Map<String, Object> m) throws ApiError, Json.BadJson {
    return new StreamConfig(m, null);
  }

  /** Reads a configuration the engine stored earlier. */
  public static StreamConfig fromStored(String json) throws ApiError, Json.BadJson {
    return new StreamConfig(Json.object(json.getBytes(java.nio.charset.StandardCharsets.UTF_8)), null);
  }

  /** Checks the configuration as nats-server 2.10's checkStreamCfg does, in its order and words. */
  void validate() throws ApiError {
    if (!isValidName(name)) {
      throw ApiError.streamInvalidConfig("stream name is required and can not contain '.', '*', '>'");
    }
    if (name.length() > 255) {
      throw ApiError.streamInvalidConfig("stream name is too long, maximum allowed is 255");
    }
    if (replicas > 1) {
      throw ApiError.replicasNotSupported();
    }
    if (maxAge > 0 && maxAge < MIN_MAX_AGE) {
      throw ApiError.streamInvalidConfig("max age needs to be >= 100ms");
    }
    if (maxAge > 0 && duplicateWindow > maxAge) {
      throw ApiError.streamInvalidConfig("duplicates window can not be larger then max age");
    }
    if (duplicateWindow > 0 && duplicateWindow < MIN_MAX_AGE) {
      throw ApiError.streamInvalidConfig("duplicates window needs to be >= 100ms");
    }
    if (denyPurge && allowRollup) {
      throw ApiError.streamInvalidConfig("roll-ups require the purge permission");
    }
    if (discardNewPerSubject) {
      if (!discardNew) {
        throw ApiError.streamInvalidConfig("discard new per subject requires discard new policy to be set");
      }
      if (maxMsgsPerSubject <= 0) {
        throw ApiError.streamInvalidConfig("discard new per subject requires max msgs per subject > 0");
      }
    }
    if (!compression.equals("none") && !compression.equals("s2")) {
      throw ApiError.streamInvalidConfig("invalid compression");
    }
    java.util.Set<String> seen = new java.util.HashSet<>();
    for (String s : subjects) {
      if (!Subjects.isValidFilter(s)) {
        throw ApiError.streamInvalidConfig("invalid subject");
      }
      if (!seen.add(s)) {
        throw ApiError.streamInvalidConfig("duplicate subjects detected");
      }
      if (s.equals(">") && !noAck) {
        throw ApiError.streamInvalidConfig("capturing all subjects requires no-ack to be true");
      }
      if (!noAck && (Subjects.isSubset(s, "$JS.>") || Subjects.isSubset(s, "$JSC.>"))
          && !Subjects.isSubset(s, "$JS.EVENT.>")) {
        throw ApiError.streamInvalidConfig("subjects that overlap with jetstream api require no-ack to be true");
      }
      if (!noAck && Subjects.isSubset(s, "$SYS.>") && !Subjects.isSubset(s, "$SYS.ACCOUNT.>")) {
        throw ApiError.streamInvalidConfig("subjects that overlap with system api require no-ack to be true");
      }
    }
    if (subjects.isEmpty()) {
      throw ApiError.streamInvalidConfig("stream needs at least one configured subject or be a source/mirror");
    }
    for (String a : subjects) {
      for (String b : subjects) {
        if (!a.equals(b) && Subjects.collide(a, b)) {
          throw ApiError.streamInvalidConfig("subject \"" + a + "\" overlaps with \"" + b + "\"");
        }
      }
    }
  }

  /** A stream name may not contain separators, wildcards or white space (nats-server's rule). */
  public static boolean isValidName(String n) {
    if (n.isEmpty()) {
      return false;
    }
    for (int i = 0; i < n.length(); i++) {
      char c = n.charAt(i);
      if (c == '.' || c == '*' || c == '>' || c == '/' || c == '\\' || Character.isWhitespace(c) || c < 0x20) {
        return false;
      }
    }
    return true;
  }

  /** The configuration as nats-server 2.10 echoes it. */
  public Map<String, Object> toMap() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("name", name);
    if (description != null && !description.isEmpty()) {
      m.put("description", description);
    }
    m.put("subjects", subjects);
    m.put("retention", retention.name().toLowerCase());
    m.put("max_consumers", maxConsumers);
    m.put("max_msgs", maxMsgs);
    m.put("max_bytes", maxBytes);
    m.put("max_age", maxAge);
    m.put("max_msgs_per_subject", maxMsgsPerSubject);
    m.put("max_msg_size", maxMsgSize);
    m.put("discard", discardNew ? "new" : "old");
    m.put("storage", memory ? "memory" : "file");
    m.put("num_replicas", replicas);
    m.put("duplicate_window", duplicateWindow);
    m.put("compression", compression);
    m.put("allow_direct", allowDirect);
    m.put("mirror_direct", mirrorDirect);
    m.put("sealed", sealed);
    m.put("deny_delete", denyDelete);
    m.put("deny_purge", denyPurge);
    m.put("allow_rollup_hdrs", allowRollup);
    if (discardNewPerSubject) {
      m.put("discard_new_per_subject", true);
    }
    if (noAck) {
      m.put("no_ack", true);
    }
    m.put("consumer_limits", consumerLimits);
    if (metadata != null) {
      m.put("metadata", metadata);
    }
    return m;
  }

  public String toJson() {
    return Json.string(toMap());
  }

  /**
   * Checks an update against the current configuration (nats-server's rules): name, storage and
   * workqueue retention cannot change, and a sealed stream cannot be unsealed.
   */
  public void checkUpdateFrom(StreamConfig old) throws ApiError {
    if (memory != old.memory) {
      throw ApiError.streamInvalidConfig("stream configuration update can not change storage type");
    }
    if (retention != old.retention
        && (retention == Retention.WORKQUEUE || old.retention == Retention.WORKQUEUE)) {
      throw ApiError.streamInvalidConfig(
          "stream configuration update can not change retention policy to/from workqueue");
    }
    if (old.sealed && !sealed) {
      throw ApiError.streamInvalidConfig("stream configuration update can not unseal a sealed stream");
    }
    if (old.denyDelete && !denyDelete) {
      throw ApiError.streamInvalidConfig("stream configuration update can not cancel deny message deletes");
    }
    if (old.denyPurge && !denyPurge) {
      throw ApiError.streamInvalidConfig("stream configuration update can not cancel deny purge");
    }
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof StreamConfig c && c.toMap().equals(toMap());
  }

  @Override
  public int hashCode() {
    return toMap().hashCode();
  }
}
