package io.leafgate.storage.engine;

import io.leafgate.leaf.subject.Subjects;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A consumer's configuration, parsed from the API JSON, normalised with nats-server's defaults and
 * echoed back exactly as stored (jnats compares what its user set with the server's copy). Immutable.
 */
public final class ConsumerConfig {
  /** Where a new consumer starts. */
  public enum DeliverPolicy {
    ALL("all"), LAST("last"), NEW("new"), BY_START_SEQUENCE("by_start_sequence"),
    BY_START_TIME("by_start_time"), LAST_PER_SUBJECT("last_per_subject");

    final String json;

    DeliverPolicy(String json) {
      this.json = json;
    }

    static DeliverPolicy of(String s) throws Json.BadJson {
      for (DeliverPolicy p : values()) {
        if (p.json.equals(s)) {
          return p;
        }
      }
      // nats-server fails to decode an unknown policy: "invalid JSON".
      throw new Json.BadJson("can not unmarshal deliver_policy");
    }
  }

  /** How messages are acknowledged. */
  public enum AckPolicy {
    NONE, ALL, EXPLICIT
  }

  public static final long DEFAULT_ACK_WAIT = 30_000_000_000L;
  public static final long DEFAULT_INACTIVE_THRESHOLD = 5_000_000_000L;
  public static final int DEFAULT_MAX_WAITING = 512;
  public static final int DEFAULT_MAX_ACK_PENDING = 1000;
  private static final long MIN_HEARTBEAT = 100_000_000L;

  public final String durableName;
  public final String name;
  public final String description;
  public final DeliverPolicy deliverPolicy;
  public final long optStartSeq;
  public final String optStartTime;
  public final long optStartTimeNanos;
  public final AckPolicy ackPolicy;
  public final long ackWait;
  public final long maxDeliver;
  public final List<Long> backoff;
  public final String filterSubject;
  public final List<String> filterSubjects;
  public final boolean replayOriginal;
  public final long rateLimitBps;
  public final String sampleFreq;
  public final long maxWaiting;
  public final long maxAckPending;
  public final boolean flowControl;
  public final long idleHeartbeat;
  public final boolean headersOnly;
  public final long maxBatch;
  public final long maxExpires;
  public final long maxBytes;
  public final String deliverSubject;
  public final String deliverGroup;
  public final long inactiveThreshold;
  public final long replicas;
  public final boolean memStorage;
  public final Map<String, Object> metadata;

  private ConsumerConfig(Map<String, Object> m, String subjectName) throws ApiError, Json.BadJson {
    this.durableName = emptyToNull(Json.strOf(m, "durable_name", null));
    // The subject-based create API names the consumer by its subject token, whatever the body says;
    // the legacy forms keep the body's name (none for a legacy durable, as nats-server echoes it).
    this.name = subjectName != null ? subjectName : emptyToNull(Json.strOf(m, "name", null));
    this.description = emptyToNull(Json.strOf(m, "description", null));
    this.deliverPolicy = DeliverPolicy.of(Json.strOf(m, "deliver_policy", "all").isEmpty()
        ? "all" : Json.strOf(m, "deliver_policy", "all"));
    this.optStartSeq = Math.max(0, Json.longOf(m, "opt_start_seq", 0));
    this.optStartTime = emptyToNull(Json.strOf(m, "opt_start_time", null));
    this.optStartTimeNanos = optStartTime == null ? 0 : Json.parseTime(optStartTime);
    this.ackPolicy = switch (Json.strOf(m, "ack_policy", "none")) {
      case "none", "" -> AckPolicy.NONE;
      case "all" -> AckPolicy.ALL;
      case "explicit" -> AckPolicy.EXPLICIT;
      default -> throw new Json.BadJson("can not unmarshal ack_policy");
    };
    List<Object> bo = Json.listOf(m, "backoff");
    List<Long> b = new ArrayList<>();
    if (bo != null) {
      for (Object o : bo) {
        if (!(o instanceof Number num) || num.longValue() <= 0) {
          throw ApiError.consumerBadRequest(10094, "invalid backoff value");
        }
        b.add(num.longValue());
      }
    }
    this.backoff = List.copyOf(b);
    long aw = Json.longOf(m, "ack_wait", 0);
    if (ackPolicy != AckPolicy.NONE && aw <= 0) {
      aw = backoff.isEmpty() ? DEFAULT_ACK_WAIT : backoff.get(0);
    }
    this.ackWait = Math.max(0, aw);
    long md = Json.longOf(m, "max_deliver", -1);
    this.maxDeliver = md == 0 ? -1 : md;
    this.filterSubject = emptyToNull(Json.strOf(m, "filter_subject", null));
    List<Object> fs = Json.listOf(m, "filter_subjects");
    List<String> f = new ArrayList<>();
    if (fs != null) {
      for (Object o : fs) {
        if (!(o instanceof String s)) {
          throw new Json.BadJson("filter_subjects must be strings");
        }
        f.add(s);
      }
    }
    this.filterSubjects = List.copyOf(f);
    this.replayOriginal = "original".equals(Json.strOf(m, "replay_policy", "instant"));
    this.rateLimitBps = Math.max(0, Json.longOf(m, "rate_limit_bps", 0));
    this.sampleFreq = emptyToNull(Json.strOf(m, "sample_freq", null));
    this.deliverSubject = emptyToNull(Json.strOf(m, "deliver_subject", null));
    this.deliverGroup = emptyToNull(Json.strOf(m, "deliver_group", null));
    long mw = Json.longOf(m, "max_waiting", 0);
    if (deliverSubject == null && mw == 0) {
      mw = DEFAULT_MAX_WAITING;
    }
    this.maxWaiting = mw;
    long map = Json.longOf(m, "max_ack_pending", 0);
    if (map == 0 && ackPolicy != AckPolicy.NONE) {
      map = DEFAULT_MAX_ACK_PENDING;
    }
    this.maxAckPending = map;
    this.flowControl = Json.boolOf(m, "flow_control", false);
    this.idleHeartbeat = Math.max(0, Json.longOf(m, "idle_heartbeat", 0));
    this.headersOnly = Json.boolOf(m, "headers_only", false);
    this.maxBatch = Math.max(0, Json.longOf(m, "max_batch", 0));
    this.maxExpires = Math.max(0, Json.longOf(m, "max_expires", 0));
    this.maxBytes = Math.max(0, Json.longOf(m, "max_bytes", 0));
    long it = Math.max(0, Json.longOf(m, "inactive_threshold", 0));
    if (durableName == null && it == 0) {
      it = DEFAULT_INACTIVE_THRESHOLD;
    }
    this.inactiveThreshold = it;
    this.replicas = Math.max(0, Json.longOf(m, "num_replicas", 0));
    this.memStorage = Json.boolOf(m, "mem_storage", false);
    Map<String, Object> meta = Json.mapOf(m, "metadata");
    this.metadata = meta == null || meta.isEmpty() ? null : new LinkedHashMap<>(meta);
  }

  private static String emptyToNull(String s) {
    return s == null || s.isEmpty() ? null : s;
  }

  /** Parses the {@code config} member of a create request and checks it on its own. */
  public static ConsumerConfig parse(Map<String, Object> m, String subjectName) throws ApiError, Json.BadJson {
    ConsumerConfig c = new ConsumerConfig(m, subjectName);
    c.validate();
    return c;
  }

  /** Decodes the {@code config} member of a create request; {@link #validate} checks it later. */
  static ConsumerConfig decode(Map<String, Object> m, String subjectName) throws ApiError, Json.BadJson {
    return new ConsumerConfig(m, subjectName);
  }

  /** Reads a configuration the engine stored earlier. */
  public static ConsumerConfig fromStored(String json) throws ApiError, Json.BadJson {
    return new ConsumerConfig(Json.object(json.getBytes(java.nio.charset.StandardCharsets.UTF_8)), null);
  }

  public boolean isPull() {
    return deliverSubject == null;
  }

  public boolean isDurable() {
    return durableName != null;
  }

  /** The filters, none meaning "every subject of the stream". */
  public List<String> filters() {
    if (filterSubject != null) {
      return List.of(filterSubject);
    }
    return filterSubjects;
  }

  void validate() throws ApiError {
    if (durableName != null && !isValidName(durableName)) {
      throw ApiError.consumerBadRequest(10103, "durable name can not contain '.', '*', '>'");
    }
    if (name != null && !isValidName(name)) {
      throw ApiError.consumerBadRequest(10103, "durable name can not contain '.', '*', '>'");
    }
    if (filterSubject != null && !filterSubjects.isEmpty()) {
      throw ApiError.consumerBadRequest(10136,
          "consumer creation with both filter subject and filter subjects not allowed");
    }
    for (String f : filters()) {
      if (!Subjects.isValidFilter(f)) {
        throw ApiError.consumerBadRequest(10093, "consumer filter subject is not a valid subset of the interest subjects");
      }
    }
    for (int i = 0; i < filterSubjects.size(); i++) {
      for (int j = i + 1; j < filterSubjects.size(); j++) {
        if (Subjects.collide(filterSubjects.get(i), filterSubjects.get(j))) {
          throw ApiError.consumerBadRequest(10138, "consumer subject filters cannot overlap");
        }
      }
    }
    switch (deliverPolicy) {
      case BY_START_SEQUENCE -> {
        if (optStartSeq <= 0) {
          throw ApiError.consumerBadRequest(10094,
              "consumer delivery policy is deliver by start sequence, but optional start sequence is not set");
        }
        if (optStartTime != null) {
          throw ApiError.consumerBadRequest(10094,
              "consumer delivery policy is deliver by start sequence, but optional start time is also set");
        }
      }
      case BY_START_TIME -> {
        if (optStartTime == null) {
          throw ApiError.consumerBadRequest(10094,
              "consumer delivery policy is deliver by start time, but optional start time is not set");
        }
        if (optStartSeq > 0) {
          throw ApiError.consumerBadRequest(10094,
              "consumer delivery policy is deliver by start time, but optional start sequence is also set");
        }
      }
      default -> {
        if (optStartSeq > 0) {
          throw ApiError.consumerBadRequest(10094,
              "consumer delivery policy is deliver " + deliverPolicy.json + ", but optional start sequence is also set");
        }
        if (optStartTime != null) {
          throw ApiError.consumerBadRequest(10094,
              "consumer delivery policy is deliver " + deliverPolicy.json + ", but optional start time is also set");
        }
      }
    }
    if (!backoff.isEmpty() && maxDeliver != -1 && maxDeliver <= backoff.size()) {
      throw ApiError.consumerBadRequest(10116, "max deliver is required to be > length of backoff values");
    }
    if (isPull()) {
      if (idleHeartbeat > 0) {
        throw ApiError.consumerBadRequest(10088, "consumer idle heartbeat requires a push based consumer");
      }
      if (flowControl) {
        throw ApiError.consumerBadRequest(10089, "consumer flow control requires a push based consumer");
      }
      if (maxWaiting < 0) {
        throw ApiError.consumerBadRequest(10087, "consumer max waiting needs to be positive");
      }
    } else {
      if (maxWaiting > 0) {
        throw ApiError.consumerBadRequest(10080, "consumer in push mode can not set max waiting");
      }
      if (Subjects.hasWildcard(deliverSubject) || !Subjects.isValidLiteral(deliverSubject)) {
        throw ApiError.consumerBadRequest(10079, "consumer deliver subject has wildcards");
      }
      if (idleHeartbeat > 0 && idleHeartbeat < MIN_HEARTBEAT) {
        throw ApiError.consumerBadRequest(10083, "consumer idle heartbeat needs to be >= 100ms");
      }
      if (flowControl && idleHeartbeat == 0) {
        throw ApiError.consumerBadRequest(10108, "consumer with flow control also needs heartbeats");
      }
    }
    if (!isPull() && ackPolicy == AckPolicy.NONE && maxAckPending > 0) {
      // Only push consumers are refused; a pull consumer with ack none keeps (and echoes) the value.
      throw ApiError.consumerBadRequest(10082, "consumer requires ack policy for max ack pending");
    }
    if (maxBatch < 0 || maxExpires < 0) {
      throw ApiError.consumerBadRequest(10114, "consumer max request batch needs to be > 0");
    }
  }

  private static boolean isValidName(String n) {
    for (int i = 0; i < n.length(); i++) {
      char c = n.charAt(i);
      if (c == '.' || c == '*' || c == '>' || Character.isWhitespace(c)) {
        return false;
      }
    }
    return true;
  }

  /** The configuration as nats-server echoes it. */
  public Map<String, Object> toMap() {
    Map<String, Object> m = new LinkedHashMap<>();
    if (durableName != null) {
      m.put("durable_name", durableName);
    }
    if (name != null) {
      m.put("name", name);
    }
    if (description != null) {
      m.put("description", description);
    }
    m.put("deliver_policy", deliverPolicy.json);
    if (optStartSeq > 0) {
      m.put("opt_start_seq", optStartSeq);
    }
    if (optStartTime != null) {
      m.put("opt_start_time", optStartTime);
    }
    m.put("ack_policy", ackPolicy.name().toLowerCase());
    if (ackWait > 0) {
      m.put("ack_wait", ackWait);
    }
    m.put("max_deliver", maxDeliver);
    if (!backoff.isEmpty()) {
      m.put("backoff", backoff);
    }
    if (filterSubject != null) {
      m.put("filter_subject", filterSubject);
    }
    if (!filterSubjects.isEmpty()) {
      m.put("filter_subjects", filterSubjects);
    }
    m.put("replay_policy", replayOriginal ? "original" : "instant");
    if (rateLimitBps > 0) {
      m.put("rate_limit_bps", rateLimitBps);
    }
    if (sampleFreq != null) {
      m.put("sample_freq", sampleFreq);
    }
    if (maxWaiting > 0) {
      m.put("max_waiting", maxWaiting);
    }
    if (maxAckPending != 0) {
      m.put("max_ack_pending", maxAckPending);
    }
    if (flowControl) {
      m.put("flow_control", true);
    }
    if (idleHeartbeat > 0) {
      m.put("idle_heartbeat", idleHeartbeat);
    }
    if (headersOnly) {
      m.put("headers_only", true);
    }
    if (maxBatch > 0) {
      m.put("max_batch", maxBatch);
    }
    if (maxExpires > 0) {
      m.put("max_expires", maxExpires);
    }
    if (maxBytes > 0) {
      m.put("max_bytes", maxBytes);
    }
    if (deliverSubject != null) {
      m.put("deliver_subject", deliverSubject);
    }
    if (deliverGroup != null) {
      m.put("deliver_group", deliverGroup);
    }
    if (inactiveThreshold > 0) {
      m.put("inactive_threshold", inactiveThreshold);
    }
    m.put("num_replicas", replicas);
    if (memStorage) {
      m.put("mem_storage", true);
    }
    if (metadata != null) {
      m.put("metadata", metadata);
    }
    return m;
  }

  public String toJson() {
    return Json.string(toMap());
  }

  /** Checks an update against the current configuration; the fields nats-server freezes may not change. */
  public void checkUpdateFrom(ConsumerConfig old) throws ApiError {
    // nats-server 2.10's checkNewConsumerConfig, in its order.
    if (deliverPolicy != old.deliverPolicy) {
      throw ApiError.consumerCreate("deliver policy can not be updated");
    }
    if (optStartSeq != old.optStartSeq) {
      throw ApiError.consumerCreate("start sequence can not be updated");
    }
    if (optStartTimeNanos != old.optStartTimeNanos || (optStartTime == null) != (old.optStartTime == null)) {
      throw ApiError.consumerCreate("start time can not be updated");
    }
    if (ackPolicy != old.ackPolicy) {
      throw ApiError.consumerCreate("ack policy can not be updated");
    }
    if (replayOriginal != old.replayOriginal) {
      throw ApiError.consumerCreate("replay policy can not be updated");
    }
    if (idleHeartbeat != old.idleHeartbeat) {
      throw ApiError.consumerCreate("heart beats can not be updated");
    }
    if (flowControl != old.flowControl) {
      throw ApiError.consumerCreate("flow control can not be updated");
    }
    if (maxWaiting != old.maxWaiting) {
      throw ApiError.consumerCreate("max waiting can not be updated");
    }
    if (isPull() != old.isPull()) {
      throw ApiError.consumerCreate(old.isPull()
          ? "can not update pull consumer to push based" : "can not update push consumer to pull based");
    }
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ConsumerConfig c && c.toMap().equals(toMap());
  }

  @Override
  public int hashCode() {
    return toMap().hashCode();
  }
}
