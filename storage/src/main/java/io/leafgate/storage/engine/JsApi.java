package io.leafgate.storage.engine;

import io.leafgate.leaf.subject.Subjects;
import io.leafgate.storage.api.StoreException;
import io.leafgate.storage.api.StoredMessage;
import io.leafgate.storage.api.StreamState;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The {@code $JS.API.>} request handlers: JSON in, JSON out, with nats-server's response types,
 * error codes and descriptions. Engine-thread confined.
 */
final class JsApi {
  private static final String T = "io.nats.jetstream.api.v1.";
  private static final int NAMES_LIMIT = 1024;
  private static final int LIST_LIMIT = 256;
  private static final int SUBJECTS_LIMIT = 100_000;

  private final JetStreamEngine engine;

  JsApi(JetStreamEngine engine) {
    this.engine = engine;
  }

  /** Handles one API request. */
  void handle(String subject, String reply, byte[] hdr, byte[] body) {
    List<String> t = Subjects.tokens(subject);
    // Strip "$JS.API." or "$JS.<domain>.API.".
    int base = t.size() > 2 && t.get(1).equals("API") ? 2 : 3;
    if (t.size() <= base) {
      return;
    }
    List<String> a = t.subList(base, t.size());
    engine.stats.apiTotal++;
    String op = a.get(0);
    String type = null;
    try {
      switch (op) {
        case "INFO" -> {
          type = "account_info_response";
          Map<String, Object> m = typed(type);
          m.putAll(engine.accountInfo());
          send(reply, m);
        }
        case "STREAM" -> {
          type = streamType(a);
          stream(a, reply, body, type);
        }
        case "CONSUMER" -> {
          type = consumerType(a);
          consumer(a, reply, body, type);
        }
        case "DIRECT" -> direct(a, reply, body);
        default -> engine.stats.apiTotal--;
      }
    } catch (ApiError e) {
      engine.stats.apiErrors++;
      if (type != null) {
        Map<String, Object> m = typed(type);
        m.put("error", e.toMap());
        if (type.equals("stream_info_response")) {
          m.put("total", 0);
          m.put("offset", 0);
          m.put("limit", 0);
        }
        send(reply, m);
      }
    } catch (Json.BadJson e) {
      engine.stats.apiErrors++;
      if (type != null) {
        Map<String, Object> m = typed(type);
        m.put("error", ApiError.invalidJson().toMap());
        send(reply, m);
      }
    }
  }

  private static String streamType(List<String> a) {
    if (a.size() < 2) {
      return "system_response";
    }
    return switch (a.get(1)) {
      case "CREATE" -> "stream_create_response";
      case "UPDATE" -> "stream_update_response";
      case "INFO" -> "stream_info_response";
      case "DELETE" -> "stream_delete_response";
      case "NAMES" -> "stream_names_response";
      case "LIST" -> "stream_list_response";
      case "PURGE" -> "stream_purge_response";
      case "MSG" -> a.size() > 2 && a.get(2).equals("DELETE") ? "stream_msg_delete_response" : "stream_msg_get_response";
      default -> "system_response";
    };
  }

  private static String consumerType(List<String> a) {
    if (a.size() < 2) {
      return "system_response";
    }
    return switch (a.get(1)) {
      case "CREATE", "DURABLE" -> "consumer_create_response";
      case "INFO" -> "consumer_info_response";
      case "DELETE" -> "consumer_delete_response";
      case "NAMES" -> "consumer_names_response";
      case "LIST" -> "consumer_list_response";
      default -> null;
    };
  }

  private static Map<String, Object> typed(String type) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("type", T + type);
    return m;
  }

  private void send(String reply, Map<String, Object> m) {
    if (reply != null) {
      engine.reply(reply, m);
    }
  }

  private Stream streamOrThrow(String name) throws ApiError {
    Stream s = engine.streams().get(name);
    if (s == null) {
      throw ApiError.streamNotFound();
    }
    return s;
  }

  // ---------------------------------------------------------------------------------------------
  // Streams

  private void stream(List<String> a, String reply, byte[] body, String type) throws ApiError, Json.BadJson {
    String verb = a.size() > 1 ? a.get(1) : "";
    switch (verb) {
      case "CREATE", "UPDATE" -> {
        if (a.size() != 3) {
          throw ApiError.badRequest();
        }
        // nats-server's order: decode (an empty body is invalid JSON), the name in the subject, then
        // the configuration checks; an update checks the configuration before the name.
        if (body == null || body.length == 0) {
          throw new Json.BadJson("empty request");
        }
        boolean create = verb.equals("CREATE");
        StreamConfig cfg = StreamConfig.decode(Json.object(body));
        if (!create) {
          cfg.validate();
        }
        if (!cfg.name.equals(a.get(2))) {
          throw ApiError.streamNameMismatch();
        }
        if (create) {
          if (cfg.name.indexOf('/') >= 0 || cfg.name.indexOf('\\') >= 0) {
            throw ApiError.streamNamePathSeparators();
          }
          if (cfg.sealed) {
            throw ApiError.streamInvalidConfig("stream configuration for create can not be sealed");
          }
          cfg.validate();
        }
        boolean existed = engine.streams().containsKey(cfg.name);
        Stream s = create ? engine.createStream(cfg) : engine.updateStream(cfg);
        Map<String, Object> m = typed(type);
        m.putAll(streamInfo(s, null, 0, false));
        if (create) {
          m.put("did_create", !existed);
        }
        send(reply, m);
      }
      case "INFO" -> {
        Stream s = streamOrThrow(arg(a, 2));
        Map<String, Object> req = Json.object(body);
        String filter = Json.strOf(req, "subjects_filter", null);
        int offset = (int) Math.max(0, Json.longOf(req, "offset", 0));
        boolean deleted = Json.boolOf(req, "deleted_details", false);
        Map<String, Object> m = typed(type);
        Map<String, Object> info = streamInfo(s, filter, offset, deleted);
        @SuppressWarnings("unchecked")
        Map<String, Object> state = (Map<String, Object>) info.get("state");
        int total = state.containsKey("subjects") ? (Integer) state.remove("__total") : 0;
        m.put("total", total);
        m.put("offset", offset);
        m.put("limit", total > 0 ? SUBJECTS_LIMIT : 0);
        m.putAll(info);
        send(reply, m);
      }
      case "DELETE" -> {
        Stream s = streamOrThrow(arg(a, 2));
        engine.deleteStream(s);
        Map<String, Object> m = typed(type);
        m.put("success", true);
        send(reply, m);
      }
      case "NAMES", "LIST" -> {
        Map<String, Object> req = Json.object(body);
        int offset = (int) Math.max(0, Json.longOf(req, "offset", 0));
        String filter = Json.strOf(req, "subject", null);
        List<Stream> matching = new ArrayList<>();
        for (Stream s : engine.streams().values()) {
          if (filter == null || filter.isEmpty() || overlaps(s, filter)) {
            matching.add(s);
          }
        }
        boolean names = verb.equals("NAMES");
        int limit = names ? NAMES_LIMIT : LIST_LIMIT;
        List<Object> out = new ArrayList<>();
        for (int i = offset; i < matching.size() && out.size() < limit; i++) {
          out.add(names ? matching.get(i).name() : streamInfo(matching.get(i), null, 0, false));
        }
        Map<String, Object> m = typed(type);
        m.put("total", matching.size());
        m.put("offset", offset);
        m.put("limit", limit);
        m.put("streams", out);
        if (!names) {
          m.put("missing", List.of());
        }
        send(reply, m);
      }
      case "PURGE" -> {
        Stream s = streamOrThrow(arg(a, 2));
        if (s.config.sealed) {
          throw ApiError.sealed();
        }
        if (s.config.denyPurge) {
          throw ApiError.purgeNotPermitted();
        }
        Map<String, Object> req = Json.object(body);
        String filter = Json.strOf(req, "filter", null);
        long seq = Json.longOf(req, "seq", 0);
        long keep = Json.longOf(req, "keep", 0);
        if (seq > 0 && keep > 0) {
          throw ApiError.badRequest();
        }
        if (filter != null && !filter.isEmpty() && !Subjects.isValidFilter(filter)) {
          throw ApiError.badRequest();
        }
        long n;
        try {
          n = s.purge(filter == null || filter.isEmpty() ? null : filter, seq, keep);
        } catch (StoreException e) {
          engine.onStoreError(e);
          throw ApiError.storageFailure(e.getMessage());
        }
        Map<String, Object> m = typed(type);
        m.put("success", true);
        m.put("purged", n);
        engine.afterDurable(new JetStreamEngine.Reply(reply, Json.bytes(m)));
      }
      case "MSG" -> {
        String sub = arg(a, 2);
        Stream s = streamOrThrow(arg(a, 3));
        if (sub.equals("GET")) {
          StoredMessage msg = get(s, Json.object(body));
          Map<String, Object> mm = new LinkedHashMap<>();
          mm.put("subject", msg.subject());
          mm.put("seq", msg.seq());
          if (msg.headers() != null && msg.headers().length > 0) {
            mm.put("hdrs", Base64.getEncoder().encodeToString(msg.headers()));
          }
          if (msg.data().length > 0) {
            mm.put("data", Base64.getEncoder().encodeToString(msg.data()));
          }
          mm.put("time", Json.time(msg.timestampNanos()));
          Map<String, Object> m = typed(type);
          m.put("message", mm);
          send(reply, m);
        } else if (sub.equals("DELETE")) {
          if (s.config.sealed) {
            throw ApiError.sealed();
          }
          if (s.config.denyDelete) {
            throw ApiError.deleteNotPermitted();
          }
          Map<String, Object> req = Json.object(body);
          long seq = Json.longOf(req, "seq", 0);
          boolean ok;
          try {
            ok = seq > 0 && s.removeMessage(seq);
          } catch (StoreException e) {
            engine.onStoreError(e);
            throw ApiError.storageFailure(e.getMessage());
          }
          if (!ok) {
            // nats-server's file store fails past the last sequence (and for 0); the memory store
            // and interior gaps answer "sequence not found".
            if (!s.config.memory && (seq <= 0 || seq > s.store.state().lastSeq())) {
              throw ApiError.messageDeleteFailed(seq <= 0 ? "no message found" : "stream store EOF");
            }
            throw ApiError.sequenceNotFound(seq);
          }
          Map<String, Object> m = typed(type);
          m.put("success", true);
          engine.afterDurable(new JetStreamEngine.Reply(reply, Json.bytes(m)));
        } else {
          throw ApiError.badRequest();
        }
      }
      default -> throw ApiError.badRequest();
    }
  }

  private static String arg(List<String> a, int i) throws ApiError {
    if (a.size() <= i) {
      throw ApiError.badRequest();
    }
    return a.get(i);
  }

  private static boolean overlaps(Stream s, String filter) {
    for (String subj : s.config.subjects) {
      if (Subjects.collide(subj, filter)) {
        return true;
      }
    }
    return false;
  }

  /** A message by the STREAM.MSG.GET / DIRECT.GET request body. */
  private StoredMessage get(Stream s, Map<String, Object> req) throws ApiError, Json.BadJson {
    long seq = Json.longOf(req, "seq", 0);
    String last = Json.strOf(req, "last_by_subj", null);
    String next = Json.strOf(req, "next_by_subj", null);
    String startTime = Json.strOf(req, "start_time", null);
    try {
      StoredMessage m;
      if (last != null && !last.isEmpty()) {
        m = s.store.loadLast(last);
      } else if (next != null && !next.isEmpty()) {
        m = s.store.loadNext(next, Math.max(seq, 1));
      } else if (startTime != null) {
        long from = s.store.seqAtOrAfterTime(Json.parseTime(startTime));
        m = s.store.loadNext(null, from);
      } else if (seq > 0) {
        m = s.store.load(seq);
      } else {
        throw ApiError.badRequest();
      }
      if (m == null || m.seq() > s.durableSeq && !s.config.memory) {
        throw ApiError.noMessageFound();
      }
      return m;
    } catch (StoreException e) {
      engine.onStoreError(e);
      throw ApiError.storageFailure(e.getMessage());
    }
  }

  /** StreamInfo: config, created, state (with subjects when filtered), ts. */
  Map<String, Object> streamInfo(Stream s, String subjectsFilter, int offset, boolean deletedDetails) throws ApiError {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("config", s.config.toMap());
    m.put("created", Json.time(s.createdNanos));
    Map<String, Object> state = stateMap(s, deletedDetails);
    if (subjectsFilter != null && !subjectsFilter.isEmpty()) {
      Map<String, Long> counts = s.store.subjectCounts(subjectsFilter);
      Map<String, Object> page = new LinkedHashMap<>();
      int i = 0;
      for (Map.Entry<String, Long> e : counts.entrySet()) {
        if (i++ < offset) {
          continue;
        }
        if (page.size() >= SUBJECTS_LIMIT) {
          break;
        }
        page.put(e.getKey(), e.getValue());
      }
      state.put("subjects", page);
      state.put("__total", counts.size());
    }
    m.put("state", state);
    m.put("ts", Json.time(engine.wallNanos()));
    return m;
  }

  static Map<String, Object> stateMap(Stream s, boolean deletedDetails) {
    StreamState st = s.store.state();
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("messages", st.msgs());
    m.put("bytes", st.bytes());
    // A stream that never stored anything reports first_seq 0, as nats-server does; after messages
    // went away it is last_seq + 1.
    m.put("first_seq", st.lastSeq() == 0 && st.msgs() == 0 ? 0 : st.firstSeq());
    m.put("first_ts", Json.time(st.msgs() == 0 ? 0 : st.firstTsNanos()));
    m.put("last_seq", st.lastSeq());
    m.put("last_ts", Json.time(st.lastTsNanos()));
    if (st.numSubjects() > 0) {
      m.put("num_subjects", st.numSubjects());
    }
    if (st.numDeleted() > 0) {
      m.put("num_deleted", st.numDeleted());
      if (deletedDetails) {
        try {
          m.put("deleted", s.store.deletedSeqs(100_000));
        } catch (StoreException e) {
          s.engine.onStoreError(e);
        }
      }
    }
    m.put("consumer_count", s.consumers.size());
    return m;
  }

  // ---------------------------------------------------------------------------------------------
  // Direct get

  private void direct(List<String> a, String reply, byte[] body) {
    if (a.size() < 3 || !a.get(1).equals("GET") || reply == null) {
      return;
    }
    Stream s = engine.streams().get(a.get(2));
    if (s == null || !s.config.allowDirect) {
      return;
    }
    StoredMessage m;
    try {
      if (a.size() > 3) {
        if (body != null && body.length > 0) {
          engine.deliverStatus(reply, Headers.block("408 Bad Request"));
          return;
        }
        String subject = String.join(".", a.subList(3, a.size()));
        m = s.store.loadLast(subject);
      } else {
        if (body == null || body.length == 0) {
          engine.deliverStatus(reply, Headers.block("408 Empty Request"));
          return;
        }
        try {
          m = get(s, Json.object(body));
        } catch (ApiError e) {
          m = null;
          if (e.errCode() != 10037) {
            engine.deliverStatus(reply, Headers.block("408 Bad Request"));
            return;
          }
        } catch (Json.BadJson e) {
          engine.deliverStatus(reply, Headers.block("408 Malformed Request"));
          return;
        }
      }
    } catch (StoreException e) {
      engine.onStoreError(e);
      engine.deliverStatus(reply, Headers.block("503 Unavailable"));
      return;
    }
    if (m == null || (!s.config.memory && m.seq() > s.durableSeq)) {
      engine.deliverStatus(reply, Headers.block("404 Message Not Found"));
      return;
    }
    byte[] hdr = Headers.append(m.headers(), "Nats-Stream", s.name(), "Nats-Subject", m.subject(),
        "Nats-Sequence", Long.toString(m.seq()), "Nats-Time-Stamp", Json.time(m.timestampNanos()));
    engine.deliver(reply, reply, null, hdr, m.data());
  }

  // ---------------------------------------------------------------------------------------------
  // Consumers

  private void consumer(List<String> a, String reply, byte[] body, String type) throws ApiError, Json.BadJson {
    String verb = a.size() > 1 ? a.get(1) : "";
    switch (verb) {
      case "CREATE", "DURABLE" -> create(a, reply, body, type, verb.equals("DURABLE"));
      case "INFO" -> {
        Stream s = streamOrThrow(arg(a, 2));
        Consumer c = s.consumers.get(arg(a, 3));
        if (c == null) {
          throw ApiError.consumerNotFound();
        }
        Map<String, Object> m = typed(type);
        m.putAll(c.info());
        send(reply, m);
      }
      case "DELETE" -> {
        Stream s = streamOrThrow(arg(a, 2));
        Consumer c = s.consumers.get(arg(a, 3));
        if (c == null) {
          throw ApiError.consumerNotFound();
        }
        engine.deleteConsumer(c);
        Map<String, Object> m = typed(type);
        m.put("success", true);
        engine.afterDurable(new JetStreamEngine.Reply(reply, Json.bytes(m)));
      }
      case "NAMES", "LIST" -> {
        Stream s = streamOrThrow(arg(a, 2));
        Map<String, Object> req = Json.object(body);
        int offset = (int) Math.max(0, Json.longOf(req, "offset", 0));
        boolean names = verb.equals("NAMES");
        int limit = names ? NAMES_LIMIT : LIST_LIMIT;
        List<Consumer> all = new ArrayList<>(s.consumers.values());
        List<Object> out = new ArrayList<>();
        for (int i = offset; i < all.size() && out.size() < limit; i++) {
          out.add(names ? all.get(i).name : all.get(i).info());
        }
        Map<String, Object> m = typed(type);
        m.put("total", all.size());
        m.put("offset", offset);
        m.put("limit", limit);
        m.put("consumers", out);
        if (!names) {
          m.put("missing", List.of());
        }
        send(reply, m);
      }
      case "MSG" -> {
        if (!"NEXT".equals(arg(a, 2))) {
          return;
        }
        Stream s = engine.streams().get(arg(a, 3));
        Consumer c = s == null ? null : s.consumers.get(arg(a, 4));
        if (c == null || reply == null) {
          // nats-server does not answer a pull for a missing stream or consumer (no status, and no
          // 503 since its API import has interest). A 404 would make jnats' consume() pull again at
          // once, in a loop; silence lets its heartbeat handling look the consumer up instead.
          engine.stats.apiTotal--;
          return;
        }
        engine.stats.apiTotal--;
        c.pullRequest(reply, body);
      }
      default -> throw ApiError.badRequest();
    }
  }

  private void create(List<String> a, String reply, byte[] body, String type, boolean legacyDurable)
      throws ApiError, Json.BadJson {
    // nats-server 2.10's jsConsumerCreateRequest, in its order: decode, stream name, consumer name,
    // the legacy forms' durable rules, the filter in the subject, then the stream.
    if (body == null || body.length == 0) {
      throw new Json.BadJson("empty request");
    }
    Map<String, Object> req = Json.object(body);
    Map<String, Object> cfgMap = Json.mapOf(req, "config");
    String action = Json.strOf(req, "action", "");
    String streamName = legacyDurable ? arg(a, 3) : arg(a, 2);
    String subjName = legacyDurable ? arg(a, 4) : (a.size() > 3 ? a.get(3) : null);
    String subjFilter = !legacyDurable && a.size() > 4 ? String.join(".", a.subList(4, a.size())) : null;
    ConsumerConfig cfg = ConsumerConfig.decode(cfgMap == null ? Map.of() : cfgMap, legacyDurable ? null : subjName);
    if (!Json.strOf(req, "stream_name", "").equals(streamName)) {
      throw ApiError.streamNameMismatch();
    }
    if (subjName != null && (subjName.indexOf('/') >= 0 || subjName.indexOf('\\') >= 0)) {
      throw ApiError.consumerNamePathSeparators();
    }
    if (legacyDurable) {
      if (cfg.durableName == null) {
        throw ApiError.consumerBadRequest(10018, "consumer expected to be durable but a durable name was not set");
      }
      if (!cfg.durableName.equals(subjName)) {
        throw ApiError.consumerBadRequest(10017, "consumer name in subject does not match durable name in request");
      }
    } else if (subjName == null) {
      if (cfg.durableName != null) {
        throw ApiError.consumerBadRequest(10020, "consumer expected to be ephemeral but a durable name was set in request");
      }
    } else if (cfg.durableName != null && !cfg.durableName.equals(subjName)) {
      throw ApiError.consumerBadRequest(10017, "consumer name in subject does not match durable name in request");
    }
    if (subjFilter != null) {
      if (!cfg.filterSubjects.isEmpty()) {
        throw ApiError.consumerBadRequest(10137, "consumer with multiple subject filters cannot use subject based API");
      }
      if (cfg.filterSubject == null || !cfg.filterSubject.equals(subjFilter)) {
        throw ApiError.consumerBadRequest(10131,
            "Consumer create request did not match filtered subject from create subject");
      }
    }
    if (cfg.replicas > 1) {
      throw ApiError.replicasNotSupported();
    }
    Stream s = streamOrThrow(streamName);
    cfg.validate();
    Consumer c = engine.createConsumer(s, cfg, action);
    Map<String, Object> m = typed(type);
    m.putAll(c.info());
    engine.afterDurable(new JetStreamEngine.Reply(reply, Json.bytes(m)));
  }
}
