package io.leafgate.it.jetstream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.nats.client.Connection;
import io.nats.client.Message;
import io.nats.client.impl.Headers;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * §14 H: the same raw {@code $JS.API} requests and publishes sent to a real nats-server with
 * JetStream and to leafgate. For errors, {@code code}, {@code err_code} and {@code description} must
 * be equal; for successes, the fields clients read. Each test sets both servers up with the same
 * requests. Where nats-server 2.9.10 (the Debian package) differs from the 2.10 behaviour leafgate
 * follows (it advertises 2.10), the test asserts leafgate's answer explicitly and says why.
 */
class JsDifferentialTest {
  @TempDir static Path tmp;
  static JsGateway gw;
  static NatsServerJs ns;
  static Connection lgConn;
  static Connection refConn;
  static RawApi lg;
  static RawApi ref;
  private final List<String> diffs = new ArrayList<>();

  @BeforeAll
  static void start() throws Exception {
    ns = NatsServerJs.start(tmp.resolve("nats-server"));
    gw = JsGateway.start(tmp.resolve("leafgate"));
    refConn = Clients.connect(ns.url());
    lgConn = Clients.connect(gw.url());
    ref = new RawApi("nats-server", refConn);
    lg = new RawApi("leafgate", lgConn);
  }

  @AfterAll
  static void stop() throws Exception {
    for (AutoCloseable c : new AutoCloseable[] {lgConn, refConn, gw, ns}) {
      if (c != null) {
        c.close();
      }
    }
  }

  @AfterEach
  void reportDiffs() {
    if (!diffs.isEmpty()) {
      fail(diffs.size() + " difference(s) from nats-server:\n  " + String.join("\n  ", diffs));
    }
  }

  /** The replies of both servers to one request. */
  record Pair(String what, Map<String, Object> ref, Map<String, Object> lg) {}

  private static Pair both(String what, String subject, String body) throws Exception {
    return both(what, subject, null, body);
  }

  private static Pair both(String what, String subject, Headers h, String body) throws Exception {
    return new Pair(what, ref.json(subject, h, body), lg.json(subject, h, body));
  }

  /** Runs setup requests on both servers; each must succeed on both. */
  private static void setup(String subject, String body) throws Exception {
    Pair p = both("setup " + subject, subject, body);
    assertTrue(p.ref.get("error") == null, "nats-server refused setup " + subject + ": " + p.ref);
    assertTrue(p.lg.get("error") == null, "leafgate refused setup " + subject + ": " + p.lg);
  }

  private static void publishBoth(String subject, String body) throws Exception {
    both("publish " + subject, subject, body);
  }

  @SuppressWarnings("unchecked")
  private static Object at(Map<String, Object> m, String path) {
    Object cur = m;
    for (String k : path.split("\\.")) {
      if (!(cur instanceof Map)) {
        return null;
      }
      cur = ((Map<String, Object>) cur).get(k);
    }
    return cur instanceof Number n ? (Object) n.longValue() : cur;
  }

  /** Both must answer with the same error (code, err_code, description). */
  private void sameError(Pair p) {
    Object re = p.ref.get("error");
    Object le = p.lg.get("error");
    if (re == null) {
      diffs.add(p.what + ": nats-server succeeded (" + p.ref + ") but the case expects an error; leafgate: " + p.lg);
      return;
    }
    if (le == null) {
      diffs.add(p.what + ": nats-server error " + re + ", leafgate succeeded: " + p.lg);
      return;
    }
    for (String f : new String[] {"code", "err_code", "description"}) {
      Object a = at(p.ref, "error." + f);
      Object b = at(p.lg, "error." + f);
      if (!Objects.equals(a, b)) {
        diffs.add(p.what + ": error." + f + " nats-server=" + a + " leafgate=" + b);
      }
    }
  }

  /** Both succeed and agree on these fields (dotted paths). */
  private void sameFields(Pair p, String... paths) {
    if (p.ref.get("error") != null || p.lg.get("error") != null) {
      diffs.add(p.what + ": expected success; nats-server " + p.ref.get("error") + ", leafgate " + p.lg.get("error"));
      return;
    }
    for (String path : paths) {
      Object a = at(p.ref, path);
      Object b = at(p.lg, path);
      if (!Objects.equals(a, b)) {
        diffs.add(p.what + ": " + path + " nats-server=" + a + " leafgate=" + b);
      }
    }
  }

  /**
   * leafgate deliberately answers as nats-server 2.10 does where 2.9.10 differs: assert its error
   * explicitly (and that 2.9.10 indeed answers differently, so the exception stays justified).
   */
  private void leafgateError(Pair p, long code, long errCode, String description) {
    Object le = p.lg.get("error");
    if (le == null) {
      diffs.add(p.what + ": leafgate succeeded, expected 2.10's error " + errCode + " " + description);
      return;
    }
    if (code != (Long) at(p.lg, "error.code") || errCode != (Long) at(p.lg, "error.err_code")
        || !description.equals(at(p.lg, "error.description"))) {
      diffs.add(p.what + ": leafgate error " + le + ", expected 2.10's " + code + "/" + errCode + " " + description);
    }
  }

  private static final String[] STREAM_CONFIG_FIELDS = {"config.name", "config.subjects", "config.retention",
      "config.max_consumers", "config.max_msgs", "config.max_bytes", "config.max_age", "config.max_msgs_per_subject",
      "config.max_msg_size", "config.discard", "config.storage", "config.num_replicas", "config.duplicate_window",
      "config.allow_direct", "config.mirror_direct", "config.sealed", "config.deny_delete", "config.deny_purge",
      "config.allow_rollup_hdrs", "state.messages", "state.first_seq", "state.last_seq", "state.consumer_count",
      "state.num_subjects", "state.num_deleted"};

  @Test
  void streamCreateAndUpdateErrors() throws Exception {
    setup("$JS.API.STREAM.CREATE.DS1", "{\"name\":\"DS1\",\"subjects\":[\"ds1.>\"]}");
    sameError(both("bad JSON", "$JS.API.STREAM.CREATE.DS2", "{not json"));
    sameError(both("empty body", "$JS.API.STREAM.CREATE.DS2", ""));
    sameError(both("name mismatch", "$JS.API.STREAM.CREATE.DS2", "{\"name\":\"OTHER\",\"subjects\":[\"ds2.>\"]}"));
    sameError(both("no name in body", "$JS.API.STREAM.CREATE.DS2", "{\"subjects\":[\"ds2.>\"]}"));
    sameError(both("overlap", "$JS.API.STREAM.CREATE.DS2", "{\"name\":\"DS2\",\"subjects\":[\"ds1.x\"]}"));
    sameError(both("exists with other config", "$JS.API.STREAM.CREATE.DS1",
        "{\"name\":\"DS1\",\"subjects\":[\"ds1.>\"],\"max_msgs\":5}"));
    sameError(both("max_age too small", "$JS.API.STREAM.CREATE.DS2",
        "{\"name\":\"DS2\",\"subjects\":[\"ds2.>\"],\"max_age\":1000}"));
    sameError(both("dup window above max_age", "$JS.API.STREAM.CREATE.DS2",
        "{\"name\":\"DS2\",\"subjects\":[\"ds2.>\"],\"max_age\":1000000000,\"duplicate_window\":2000000000}"));
    sameError(both("rollup with deny_purge", "$JS.API.STREAM.CREATE.DS2",
        "{\"name\":\"DS2\",\"subjects\":[\"ds2.>\"],\"deny_purge\":true,\"allow_rollup_hdrs\":true}"));
    sameError(both("discard new per subject without discard new", "$JS.API.STREAM.CREATE.DS2",
        "{\"name\":\"DS2\",\"subjects\":[\"ds2.>\"],\"discard_new_per_subject\":true,\"max_msgs_per_subject\":1}"));
    sameError(both("discard new per subject without per-subject limit", "$JS.API.STREAM.CREATE.DS2",
        "{\"name\":\"DS2\",\"subjects\":[\"ds2.>\"],\"discard\":\"new\",\"discard_new_per_subject\":true}"));
    sameError(both("duplicate subjects", "$JS.API.STREAM.CREATE.DS2",
        "{\"name\":\"DS2\",\"subjects\":[\"ds2.a\",\"ds2.a\"]}"));
    sameError(both("overlapping own subjects", "$JS.API.STREAM.CREATE.DS2",
        "{\"name\":\"DS2\",\"subjects\":[\"ds2.*\",\"ds2.a\"]}"));
    sameError(both("invalid subject", "$JS.API.STREAM.CREATE.DS2", "{\"name\":\"DS2\",\"subjects\":[\"ds2..a\"]}"));
    // 2.9.10 says "subjects overlap with jetstream api"; 2.10 names the way out (no-ack).
    leafgateError(both("api subjects", "$JS.API.STREAM.CREATE.DS2", "{\"name\":\"DS2\",\"subjects\":[\"$JS.API.>\"]}"),
        500, 10052, "subjects that overlap with jetstream api require no-ack to be true");
    sameError(both("sealed on create", "$JS.API.STREAM.CREATE.DS2",
        "{\"name\":\"DS2\",\"subjects\":[\"ds2.>\"],\"sealed\":true}"));
    sameError(both("bad retention", "$JS.API.STREAM.CREATE.DS2",
        "{\"name\":\"DS2\",\"subjects\":[\"ds2.>\"],\"retention\":\"bogus\"}"));
    sameError(both("bad storage", "$JS.API.STREAM.CREATE.DS2",
        "{\"name\":\"DS2\",\"subjects\":[\"ds2.>\"],\"storage\":\"bogus\"}"));
    sameError(both("bad discard", "$JS.API.STREAM.CREATE.DS2",
        "{\"name\":\"DS2\",\"subjects\":[\"ds2.>\"],\"discard\":\"bogus\"}"));
    sameError(both("replicas", "$JS.API.STREAM.CREATE.DS2",
        "{\"name\":\"DS2\",\"subjects\":[\"ds2.>\"],\"num_replicas\":3}"));
    sameError(both("wildcard name", "$JS.API.STREAM.CREATE.D*", "{\"name\":\"D*\",\"subjects\":[\"ds2.>\"]}"));
    sameError(both("path separator in name", "$JS.API.STREAM.CREATE.D/2",
        "{\"name\":\"D/2\",\"subjects\":[\"ds2.>\"]}"));
    sameError(both("update missing", "$JS.API.STREAM.UPDATE.NOPE", "{\"name\":\"NOPE\",\"subjects\":[\"nope.>\"]}"));
    sameError(both("update name mismatch", "$JS.API.STREAM.UPDATE.DS1", "{\"name\":\"DSX\",\"subjects\":[\"ds1.>\"]}"));
    sameError(both("update storage", "$JS.API.STREAM.UPDATE.DS1",
        "{\"name\":\"DS1\",\"subjects\":[\"ds1.>\"],\"storage\":\"memory\"}"));
    // 2.10 adds "to/from workqueue" to 2.9.10's text.
    leafgateError(both("update to workqueue", "$JS.API.STREAM.UPDATE.DS1",
        "{\"name\":\"DS1\",\"subjects\":[\"ds1.>\"],\"retention\":\"workqueue\"}"),
        500, 10052, "stream configuration update can not change retention policy to/from workqueue");
    setup("$JS.API.STREAM.CREATE.DS3", "{\"name\":\"DS3\",\"subjects\":[\"ds3.>\"]}");
    sameError(both("update into overlap", "$JS.API.STREAM.UPDATE.DS3", "{\"name\":\"DS3\",\"subjects\":[\"ds1.a\"]}"));
    sameError(both("update bad JSON", "$JS.API.STREAM.UPDATE.DS3", "{\"name\":"));
    sameError(both("info missing", "$JS.API.STREAM.INFO.NOPE", ""));
    sameError(both("delete missing", "$JS.API.STREAM.DELETE.NOPE", ""));
    sameError(both("purge missing", "$JS.API.STREAM.PURGE.NOPE", ""));
  }

  @Test
  void streamSuccessShapes() throws Exception {
    Pair created = both("create minimal", "$JS.API.STREAM.CREATE.OK1", "{\"name\":\"OK1\",\"subjects\":[\"ok1.>\"]}");
    sameFields(created, STREAM_CONFIG_FIELDS);
    Pair noSubjects = both("create without subjects", "$JS.API.STREAM.CREATE.OK2", "{\"name\":\"OK2\"}");
    sameFields(noSubjects, STREAM_CONFIG_FIELDS);
    Pair withAge = both("create with max_age", "$JS.API.STREAM.CREATE.OK3",
        "{\"name\":\"OK3\",\"subjects\":[\"ok3.>\"],\"max_age\":60000000000,\"storage\":\"memory\","
            + "\"max_msgs\":0,\"max_bytes\":0,\"discard\":\"new\",\"allow_direct\":true,\"deny_delete\":true}");
    sameFields(withAge, STREAM_CONFIG_FIELDS);
    sameFields(both("idempotent re-create", "$JS.API.STREAM.CREATE.OK1", "{\"name\":\"OK1\",\"subjects\":[\"ok1.>\"]}"),
        STREAM_CONFIG_FIELDS);
    for (int i = 0; i < 5; i++) {
      publishBoth("ok1." + (i % 2), "m" + i);
    }
    sameFields(both("info after publishes", "$JS.API.STREAM.INFO.OK1", ""), STREAM_CONFIG_FIELDS);
    sameFields(both("info with subjects filter", "$JS.API.STREAM.INFO.OK1", "{\"subjects_filter\":\">\"}"),
        "state.subjects", "state.messages");
    sameFields(both("update", "$JS.API.STREAM.UPDATE.OK1",
        "{\"name\":\"OK1\",\"subjects\":[\"ok1.>\",\"ok1b\"],\"max_msgs_per_subject\":2}"), STREAM_CONFIG_FIELDS);
    sameFields(both("names filtered", "$JS.API.STREAM.NAMES", "{\"subject\":\"ok1.x\"}"),
        "total", "offset", "limit", "streams");
    sameFields(both("list filtered", "$JS.API.STREAM.LIST", "{\"subject\":\"ok3.x\"}"),
        "total", "offset", "limit");
    Pair acc = both("account info", "$JS.API.INFO", "");
    sameFields(acc, "limits.max_streams", "limits.max_consumers", "limits.max_ack_pending");
    assertNotNull(at(acc.lg, "api.total"));
    sameFields(both("purge", "$JS.API.STREAM.PURGE.OK1", "{\"filter\":\"ok1.0\"}"), "success", "purged");
    sameFields(both("info after purge", "$JS.API.STREAM.INFO.OK1", ""), STREAM_CONFIG_FIELDS);
    sameFields(both("delete", "$JS.API.STREAM.DELETE.OK2", ""), "success");
  }

  @Test
  void purgeAndMessageErrors() throws Exception {
    setup("$JS.API.STREAM.CREATE.PM1", "{\"name\":\"PM1\",\"subjects\":[\"pm1.>\"]}");
    setup("$JS.API.STREAM.CREATE.PM2",
        "{\"name\":\"PM2\",\"subjects\":[\"pm2.>\"],\"deny_delete\":true,\"deny_purge\":true}");
    for (int i = 0; i < 3; i++) {
      publishBoth("pm1.a", "x" + i);
      publishBoth("pm2.a", "y" + i);
    }
    sameError(both("purge seq and keep", "$JS.API.STREAM.PURGE.PM1", "{\"seq\":2,\"keep\":1}"));
    sameError(both("purge bad JSON", "$JS.API.STREAM.PURGE.PM1", "{\"seq\":"));
    sameError(both("purge denied", "$JS.API.STREAM.PURGE.PM2", ""));
    sameError(both("delete denied", "$JS.API.STREAM.MSG.DELETE.PM2", "{\"seq\":1}"));
    sameError(both("delete missing seq", "$JS.API.STREAM.MSG.DELETE.PM1", "{\"seq\":99}"));
    sameError(both("delete bad JSON", "$JS.API.STREAM.MSG.DELETE.PM1", "nope"));
    sameError(both("delete missing stream", "$JS.API.STREAM.MSG.DELETE.NOPE", "{\"seq\":1}"));
    sameError(both("get missing seq", "$JS.API.STREAM.MSG.GET.PM1", "{\"seq\":99}"));
    sameError(both("get missing subject", "$JS.API.STREAM.MSG.GET.PM1", "{\"last_by_subj\":\"pm1.zz\"}"));
    sameError(both("get empty request", "$JS.API.STREAM.MSG.GET.PM1", "{}"));
    sameError(both("get bad JSON", "$JS.API.STREAM.MSG.GET.PM1", "{"));
    sameError(both("get missing stream", "$JS.API.STREAM.MSG.GET.NOPE", "{\"seq\":1}"));
    sameFields(both("delete ok", "$JS.API.STREAM.MSG.DELETE.PM1", "{\"seq\":2}"), "success");
    sameError(both("delete twice", "$JS.API.STREAM.MSG.DELETE.PM1", "{\"seq\":2}"));
    sameFields(both("get by seq", "$JS.API.STREAM.MSG.GET.PM1", "{\"seq\":3}"),
        "message.subject", "message.seq", "message.data", "message.hdrs");
    sameFields(both("get last by subject", "$JS.API.STREAM.MSG.GET.PM1", "{\"last_by_subj\":\"pm1.a\"}"),
        "message.subject", "message.seq", "message.data");
    sameFields(both("get next by subject", "$JS.API.STREAM.MSG.GET.PM1", "{\"seq\":2,\"next_by_subj\":\"pm1.a\"}"),
        "message.subject", "message.seq", "message.data");
    sameFields(both("purge keep", "$JS.API.STREAM.PURGE.PM1", "{\"keep\":1}"), "success", "purged");
    sameFields(both("info after keep", "$JS.API.STREAM.INFO.PM1", ""), STREAM_CONFIG_FIELDS);
  }

  @Test
  void directGet() throws Exception {
    setup("$JS.API.STREAM.CREATE.DG1", "{\"name\":\"DG1\",\"subjects\":[\"dg1.>\"],\"allow_direct\":true}");
    setup("$JS.API.STREAM.CREATE.DG2", "{\"name\":\"DG2\",\"subjects\":[\"dg2.>\"]}");
    Headers h = new Headers().add("X-Test", "1");
    ref.request("dg1.a", h, "one".getBytes(StandardCharsets.UTF_8));
    lg.request("dg1.a", h, "one".getBytes(StandardCharsets.UTF_8));
    String[][] cases = {
        {"$JS.API.DIRECT.GET.DG1", "{\"seq\":1}"},
        {"$JS.API.DIRECT.GET.DG1.dg1.a", ""},
        {"$JS.API.DIRECT.GET.DG1", "{\"last_by_subj\":\"dg1.a\"}"},
        {"$JS.API.DIRECT.GET.DG1", "{\"seq\":5}"},
        {"$JS.API.DIRECT.GET.DG1.dg1.zz", ""},
        {"$JS.API.DIRECT.GET.DG1", ""},
        {"$JS.API.DIRECT.GET.DG1", "{bad"},
        // Streams without direct get (or none at all): nobody answers, and no 503 either.
        {"$JS.API.DIRECT.GET.DG2", "{\"seq\":1}"},
        {"$JS.API.DIRECT.GET.NOPE", "{\"seq\":1}"},
        {"$JS.API.DIRECT.GET.NOPE.x", ""},
    };
    for (String[] c : cases) {
      Message[] rl = rawBoth(c[0], c[1]);
      Message r = rl[0];
      Message l = rl[1];
      String what = "direct get " + c[0] + " " + c[1];
      if (r == null && l == null) {
        continue; // nats-server's $JS.API.> import has interest, so no 503 either: silence on both
      }
      if (r == null || l == null) {
        diffs.add(what + ": no reply (nats-server " + r + ", leafgate " + l + ")");
        continue;
      }
      if (r.isStatusMessage() || l.isStatusMessage()) {
        String rs = r.isStatusMessage() ? r.getStatus().getCode() + " " + r.getStatus().getMessage() : "message";
        String ls = l.isStatusMessage() ? l.getStatus().getCode() + " " + l.getStatus().getMessage() : "message";
        if (!rs.equals(ls)) {
          diffs.add(what + ": nats-server " + rs + ", leafgate " + ls);
        }
        continue;
      }
      for (String k : new String[] {"Nats-Stream", "Nats-Subject", "Nats-Sequence", "X-Test"}) {
        if (!Objects.equals(r.getHeaders().getFirst(k), l.getHeaders().getFirst(k))) {
          diffs.add(what + ": header " + k + " nats-server=" + r.getHeaders().getFirst(k) + " leafgate="
              + l.getHeaders().getFirst(k));
        }
      }
      assertNotNull(l.getHeaders().getFirst("Nats-Time-Stamp"), what);
      assertEquals(new String(r.getData(), StandardCharsets.UTF_8), new String(l.getData(), StandardCharsets.UTF_8));
    }
  }

  @Test
  void publishExpectations() throws Exception {
    setup("$JS.API.STREAM.CREATE.PX1", "{\"name\":\"PX1\",\"subjects\":[\"px1.>\"],\"max_msg_size\":100}");
    setup("$JS.API.STREAM.CREATE.PX2",
        "{\"name\":\"PX2\",\"subjects\":[\"px2.>\"],\"discard\":\"new\",\"max_msgs\":2}");
    setup("$JS.API.STREAM.CREATE.PX3",
        "{\"name\":\"PX3\",\"subjects\":[\"px3.>\"],\"discard\":\"new\",\"max_bytes\":200}");
    setup("$JS.API.STREAM.CREATE.PX4", "{\"name\":\"PX4\",\"subjects\":[\"px4.>\"],\"allow_rollup_hdrs\":true}");
    String[] ack = {"stream", "seq", "duplicate"};
    sameFields(both("first publish", "px1.a", "one"), ack);
    sameFields(both("second publish", "px1.b", "two"), ack);
    sameError(both("expected stream", "px1.a", new Headers().add("Nats-Expected-Stream", "OTHER"), "x"));
    sameError(both("expected last seq", "px1.a", new Headers().add("Nats-Expected-Last-Sequence", "7"), "x"));
    sameFields(both("expected last seq ok", "px1.a", new Headers().add("Nats-Expected-Last-Sequence", "2"), "x"), ack);
    sameError(both("expected last subject seq", "px1.a",
        new Headers().add("Nats-Expected-Last-Subject-Sequence", "1"), "x"));
    sameFields(both("expected last subject seq 0 on new subject", "px1.c",
        new Headers().add("Nats-Expected-Last-Subject-Sequence", "0"), "x"), ack);
    sameFields(both("msg id", "px1.a", new Headers().add("Nats-Msg-Id", "id-1"), "x"), ack);
    sameFields(both("msg id duplicate", "px1.a", new Headers().add("Nats-Msg-Id", "id-1"), "x"), ack);
    sameError(both("expected last msg id", "px1.a", new Headers().add("Nats-Expected-Last-Msg-Id", "nope"), "x"));
    sameFields(both("expected last msg id ok", "px1.d", new Headers().add("Nats-Msg-Id", "id-2")
        .add("Nats-Expected-Last-Msg-Id", "id-1"), "x"), ack);
    sameError(both("too big", "px1.a", "x".repeat(101)));
    sameError(both("too big with headers", "px1.a", new Headers().add("X-Pad", "y".repeat(60)), "x".repeat(50)));
    sameError(both("rollup not allowed", "px1.a", new Headers().add("Nats-Rollup", "sub"), "x"));
    // nats-server (2.9 and 2.10) drops a publish with an unknown Nats-Rollup value without any reply,
    // so the publisher times out; leafgate answers with the error instead (and stores nothing either).
    Headers bogus = new Headers().add("Nats-Rollup", "bogus");
    assertEquals(null, ref.request("px4.a", bogus, "x".getBytes(StandardCharsets.UTF_8)), "nats-server now replies");
    leafgateError(new Pair("rollup bad value", Map.of(), lg.json("px4.a", bogus, "x")), 500, 10111,
        "rollup value invalid: \"bogus\"");
    sameFields(both("rollup sub", "px4.a", new Headers().add("Nats-Rollup", "sub"), "x"), ack);
    sameFields(both("discard new 1", "px2.a", "1"), ack);
    sameFields(both("discard new 2", "px2.a", "2"), ack);
    sameError(both("discard new max msgs", "px2.a", "3"));
    sameFields(both("discard new bytes 1", "px3.a", "0123456789"), ack);
    sameError(both("discard new max bytes", "px3.a", "x".repeat(300)));
    sameFields(both("info after rejects", "$JS.API.STREAM.INFO.PX2", ""), STREAM_CONFIG_FIELDS);
    setup("$JS.API.STREAM.UPDATE.PX4",
        "{\"name\":\"PX4\",\"subjects\":[\"px4.>\"],\"allow_rollup_hdrs\":true,\"sealed\":true}");
    sameError(both("sealed publish", "px4.b", "x"));
    sameError(both("sealed purge", "$JS.API.STREAM.PURGE.PX4", ""));
    sameError(both("sealed delete", "$JS.API.STREAM.MSG.DELETE.PX4", "{\"seq\":1}"));
    sameError(both("unseal", "$JS.API.STREAM.UPDATE.PX4",
        "{\"name\":\"PX4\",\"subjects\":[\"px4.>\"],\"allow_rollup_hdrs\":true}"));
  }

  private static final String[] CONSUMER_FIELDS = {"stream_name", "name", "config.durable_name", "config.name",
      "config.deliver_policy", "config.ack_policy", "config.ack_wait", "config.max_deliver", "config.filter_subject",
      "config.replay_policy", "config.max_waiting", "config.max_ack_pending", "config.num_replicas",
      "config.inactive_threshold", "config.deliver_subject", "config.idle_heartbeat", "config.flow_control",
      "config.headers_only", "config.mem_storage", "delivered.consumer_seq", "delivered.stream_seq",
      "ack_floor.consumer_seq", "ack_floor.stream_seq", "num_ack_pending", "num_redelivered", "num_waiting",
      "num_pending"};

  @Test
  void consumerErrors() throws Exception {
    setup("$JS.API.STREAM.CREATE.CE1", "{\"name\":\"CE1\",\"subjects\":[\"ce1.>\"]}");
    setup("$JS.API.CONSUMER.CREATE.CE1.D1",
        "{\"stream_name\":\"CE1\",\"config\":{\"durable_name\":\"D1\",\"ack_policy\":\"explicit\"}}");
    String s = "$JS.API.CONSUMER.CREATE.CE1.C1";
    sameError(both("missing stream", "$JS.API.CONSUMER.CREATE.NOPE.C1",
        "{\"stream_name\":\"NOPE\",\"config\":{\"durable_name\":\"C1\"}}"));
    sameError(both("bad JSON", s, "{\"stream_name\":"));
    sameError(both("stream name mismatch", s, "{\"stream_name\":\"OTHER\",\"config\":{\"durable_name\":\"C1\"}}"));
    sameError(both("durable name mismatch", s, "{\"stream_name\":\"CE1\",\"config\":{\"durable_name\":\"X\"}}"));
    sameError(both("filter mismatch", "$JS.API.CONSUMER.CREATE.CE1.C1.ce1.a",
        "{\"stream_name\":\"CE1\",\"config\":{\"durable_name\":\"C1\",\"filter_subject\":\"ce1.b\"}}"));
    sameError(both("filter outside stream", s,
        "{\"stream_name\":\"CE1\",\"config\":{\"durable_name\":\"C1\",\"filter_subject\":\"zz.>\"}}"));
    sameError(both("start seq missing", s,
        "{\"stream_name\":\"CE1\",\"config\":{\"durable_name\":\"C1\",\"deliver_policy\":\"by_start_sequence\"}}"));
    sameError(both("start seq with deliver all", s,
        "{\"stream_name\":\"CE1\",\"config\":{\"durable_name\":\"C1\",\"opt_start_seq\":4}}"));
    sameError(both("start time missing", s,
        "{\"stream_name\":\"CE1\",\"config\":{\"durable_name\":\"C1\",\"deliver_policy\":\"by_start_time\"}}"));
    sameError(both("bad deliver policy", s,
        "{\"stream_name\":\"CE1\",\"config\":{\"durable_name\":\"C1\",\"deliver_policy\":\"bogus\"}}"));
    sameError(both("bad ack policy", s,
        "{\"stream_name\":\"CE1\",\"config\":{\"durable_name\":\"C1\",\"ack_policy\":\"bogus\"}}"));
    sameError(both("push with max_waiting", s, "{\"stream_name\":\"CE1\",\"config\":{\"durable_name\":\"C1\","
        + "\"deliver_subject\":\"dlv.c1\",\"max_waiting\":10}}"));
    sameError(both("flow control without heartbeat", s, "{\"stream_name\":\"CE1\",\"config\":{\"durable_name\":\"C1\","
        + "\"deliver_subject\":\"dlv.c1\",\"flow_control\":true}}"));
    sameError(both("heartbeat too small", s, "{\"stream_name\":\"CE1\",\"config\":{\"durable_name\":\"C1\","
        + "\"deliver_subject\":\"dlv.c1\",\"idle_heartbeat\":1000}}"));
    sameError(both("heartbeat on pull", s,
        "{\"stream_name\":\"CE1\",\"config\":{\"durable_name\":\"C1\",\"idle_heartbeat\":1000000000}}"));
    sameError(both("deliver subject wildcard", s, "{\"stream_name\":\"CE1\",\"config\":{\"durable_name\":\"C1\","
        + "\"deliver_subject\":\"dlv.*\"}}"));
    sameError(both("push max ack pending with ack none", s, "{\"stream_name\":\"CE1\",\"config\":{\"durable_name\":"
        + "\"C1\",\"deliver_subject\":\"dlv.c1\",\"ack_policy\":\"none\",\"max_ack_pending\":10}}"));
    sameFields(both("pull max ack pending with ack none", "$JS.API.CONSUMER.CREATE.CE1.C9",
        "{\"stream_name\":\"CE1\",\"config\":{\"durable_name\":\"C9\",\"ack_policy\":\"none\","
            + "\"max_ack_pending\":10}}"),
        CONSUMER_FIELDS);
    sameError(both("backoff and max deliver", s, "{\"stream_name\":\"CE1\",\"config\":{\"durable_name\":\"C1\","
        + "\"ack_policy\":\"explicit\",\"backoff\":[1000000000,2000000000],\"max_deliver\":2}}"));
    sameError(both("update deliver policy", "$JS.API.CONSUMER.CREATE.CE1.D1",
        "{\"stream_name\":\"CE1\",\"config\":{\"durable_name\":\"D1\",\"ack_policy\":\"explicit\","
            + "\"deliver_policy\":\"new\"}}"));
    sameError(both("update ack policy", "$JS.API.CONSUMER.CREATE.CE1.D1",
        "{\"stream_name\":\"CE1\",\"config\":{\"durable_name\":\"D1\",\"ack_policy\":\"all\"}}"));
    sameError(both("update pull to push", "$JS.API.CONSUMER.CREATE.CE1.D1",
        "{\"stream_name\":\"CE1\",\"config\":{\"durable_name\":\"D1\",\"ack_policy\":\"explicit\","
            + "\"deliver_subject\":\"dlv.d1\"}}"));
    sameError(both("legacy durable without durable name", "$JS.API.CONSUMER.DURABLE.CREATE.CE1.C2",
        "{\"stream_name\":\"CE1\",\"config\":{\"ack_policy\":\"explicit\"}}"));
    sameError(both("legacy durable name mismatch", "$JS.API.CONSUMER.DURABLE.CREATE.CE1.C2",
        "{\"stream_name\":\"CE1\",\"config\":{\"durable_name\":\"C3\"}}"));
    sameError(both("info missing", "$JS.API.CONSUMER.INFO.CE1.NOPE", ""));
    sameError(both("info missing stream", "$JS.API.CONSUMER.INFO.NOPE.D1", ""));
    sameError(both("delete missing", "$JS.API.CONSUMER.DELETE.CE1.NOPE", ""));
    sameError(both("names missing stream", "$JS.API.CONSUMER.NAMES.NOPE", ""));

    // 2.10 only: the create action and multiple filters; nats-server 2.9.10 ignores these members.
    Pair exists = both("action create on a different existing consumer", "$JS.API.CONSUMER.CREATE.CE1.D1",
        "{\"stream_name\":\"CE1\",\"config\":{\"durable_name\":\"D1\",\"ack_policy\":\"explicit\","
            + "\"max_ack_pending\":7},\"action\":\"create\"}");
    leafgateError(exists, 400, 10148, "consumer already exists");
    Pair missing = both("action update on a missing consumer", "$JS.API.CONSUMER.CREATE.CE1.NEW1",
        "{\"stream_name\":\"CE1\",\"config\":{\"durable_name\":\"NEW1\",\"ack_policy\":\"explicit\"},"
            + "\"action\":\"update\"}");
    leafgateError(missing, 400, 10149, "consumer does not exist");
    Pair both = both("filter_subject and filter_subjects", "$JS.API.CONSUMER.CREATE.CE1.F1",
        "{\"stream_name\":\"CE1\",\"config\":{\"durable_name\":\"F1\",\"filter_subject\":\"ce1.a\","
            + "\"filter_subjects\":[\"ce1.b\"]}}");
    leafgateError(both, 400, 10136, "consumer creation with both filter subject and filter subjects not allowed");
    Pair overlap = both("overlapping filter_subjects", "$JS.API.CONSUMER.CREATE.CE1.F2",
        "{\"stream_name\":\"CE1\",\"config\":{\"durable_name\":\"F2\",\"filter_subjects\":[\"ce1.*\",\"ce1.a\"]}}");
    leafgateError(overlap, 400, 10138, "consumer subject filters cannot overlap");
  }

  @Test
  void consumerSuccessShapes() throws Exception {
    setup("$JS.API.STREAM.CREATE.CS1", "{\"name\":\"CS1\",\"subjects\":[\"cs1.>\"]}");
    for (int i = 0; i < 6; i++) {
      publishBoth("cs1." + (i % 3), "m" + i);
    }
    sameFields(both("durable pull", "$JS.API.CONSUMER.CREATE.CS1.P1",
        "{\"stream_name\":\"CS1\",\"config\":{\"durable_name\":\"P1\",\"ack_policy\":\"explicit\"}}"), CONSUMER_FIELDS);
    sameFields(both("durable pull same again", "$JS.API.CONSUMER.CREATE.CS1.P1",
        "{\"stream_name\":\"CS1\",\"config\":{\"durable_name\":\"P1\",\"ack_policy\":\"explicit\"}}"), CONSUMER_FIELDS);
    sameFields(both("durable pull update", "$JS.API.CONSUMER.CREATE.CS1.P1",
        "{\"stream_name\":\"CS1\",\"config\":{\"durable_name\":\"P1\",\"ack_policy\":\"explicit\","
            + "\"max_ack_pending\":20}}"), CONSUMER_FIELDS);
    sameFields(both("filtered by subject API", "$JS.API.CONSUMER.CREATE.CS1.P2.cs1.1",
        "{\"stream_name\":\"CS1\",\"config\":{\"durable_name\":\"P2\",\"filter_subject\":\"cs1.1\","
            + "\"ack_policy\":\"explicit\"}}"), CONSUMER_FIELDS);
    sameFields(both("named ephemeral", "$JS.API.CONSUMER.CREATE.CS1.E1",
        "{\"stream_name\":\"CS1\",\"config\":{\"name\":\"E1\",\"deliver_policy\":\"last_per_subject\","
            + "\"ack_policy\":\"none\",\"filter_subject\":\"cs1.>\"}}"), CONSUMER_FIELDS);
    sameFields(both("legacy durable", "$JS.API.CONSUMER.DURABLE.CREATE.CS1.L1",
        "{\"stream_name\":\"CS1\",\"config\":{\"durable_name\":\"L1\",\"deliver_policy\":\"last\","
            + "\"ack_policy\":\"all\"}}"), CONSUMER_FIELDS);
    sameFields(both("push durable", "$JS.API.CONSUMER.CREATE.CS1.H1",
        "{\"stream_name\":\"CS1\",\"config\":{\"durable_name\":\"H1\",\"deliver_subject\":\"dlv.h1\","
            + "\"ack_policy\":\"explicit\",\"idle_heartbeat\":5000000000,\"flow_control\":true,"
            + "\"deliver_policy\":\"by_start_sequence\",\"opt_start_seq\":3}}"), CONSUMER_FIELDS);
    sameFields(both("info", "$JS.API.CONSUMER.INFO.CS1.P1", ""), CONSUMER_FIELDS);
    sameFields(both("names", "$JS.API.CONSUMER.NAMES.CS1", ""), "total", "offset", "limit");
    sameFields(both("list", "$JS.API.CONSUMER.LIST.CS1", ""), "total", "offset", "limit");
    sameFields(both("delete", "$JS.API.CONSUMER.DELETE.CS1.P2", ""), "success");
    sameFields(both("info stream", "$JS.API.STREAM.INFO.CS1", ""), "state.consumer_count");
  }

  @Test
  void pullStatuses() throws Exception {
    setup("$JS.API.STREAM.CREATE.PS1", "{\"name\":\"PS1\",\"subjects\":[\"ps1.>\"]}");
    setup("$JS.API.CONSUMER.CREATE.PS1.P",
        "{\"stream_name\":\"PS1\",\"config\":{\"durable_name\":\"P\",\"ack_policy\":\"explicit\",\"max_batch\":5,"
            + "\"max_expires\":2000000000}}");
    setup("$JS.API.CONSUMER.CREATE.PS1.H",
        "{\"stream_name\":\"PS1\",\"config\":{\"durable_name\":\"H\",\"deliver_subject\":\"dlv.ps1\"}}");
    String[][] cases = {
        {"no_wait on empty", "$JS.API.CONSUMER.MSG.NEXT.PS1.P", "{\"batch\":1,\"no_wait\":true}"},
        {"expires on empty", "$JS.API.CONSUMER.MSG.NEXT.PS1.P", "{\"batch\":1,\"expires\":200000000}"},
        {"batch above max_batch", "$JS.API.CONSUMER.MSG.NEXT.PS1.P", "{\"batch\":6,\"expires\":200000000}"},
        {"expires above max_expires", "$JS.API.CONSUMER.MSG.NEXT.PS1.P", "{\"batch\":1,\"expires\":3000000000}"},
        {"heartbeat too large", "$JS.API.CONSUMER.MSG.NEXT.PS1.P",
            "{\"batch\":1,\"expires\":1000000000,\"idle_heartbeat\":900000000}"},
        {"push consumer", "$JS.API.CONSUMER.MSG.NEXT.PS1.H", "{\"batch\":1,\"no_wait\":true}"},
        // No such consumer or stream: nats-server does not answer at all (no status, no 503).
        {"missing consumer", "$JS.API.CONSUMER.MSG.NEXT.PS1.NOPE", "{\"batch\":1,\"no_wait\":true}"},
        {"missing stream", "$JS.API.CONSUMER.MSG.NEXT.NOPE.P", "{\"batch\":1,\"no_wait\":true}"},
    };
    for (String[] c : cases) {
      Message[] rl = rawBoth(c[1], c[2]);
      Message r = rl[0];
      Message l = rl[1];
      if (r == null && l == null) {
        continue;
      }
      if (r == null || l == null || !r.isStatusMessage() || !l.isStatusMessage()) {
        diffs.add(c[0] + ": nats-server " + describe(r) + ", leafgate " + describe(l));
        continue;
      }
      if (r.getStatus().getCode() != l.getStatus().getCode()
          || !r.getStatus().getMessage().equals(l.getStatus().getMessage())) {
        diffs.add(c[0] + ": nats-server " + describe(r) + ", leafgate " + describe(l));
      }
    }
  }

  /**
   * The same raw request to both servers at once, waiting up to 1 s for each reply (some cases
   * expect silence from both).
   */
  private static Message[] rawBoth(String subject, String body) throws Exception {
    byte[] b = body.getBytes(StandardCharsets.UTF_8);
    Duration wait = Duration.ofSeconds(1);
    java.util.concurrent.CompletableFuture<Message> r = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
      try {
        return ref.request(subject, null, b, wait);
      } catch (InterruptedException e) {
        throw new IllegalStateException(e);
      }
    });
    Message l = lg.request(subject, null, b, wait);
    return new Message[] {r.get(), l};
  }

  @Test
  void noWaitPullThatReachesTheEndOfTheStream() throws Exception {
    setup("$JS.API.STREAM.CREATE.NW1", "{\"name\":\"NW1\",\"subjects\":[\"nw1.>\"]}");
    setup("$JS.API.CONSUMER.CREATE.NW1.P",
        "{\"stream_name\":\"NW1\",\"config\":{\"durable_name\":\"P\",\"ack_policy\":\"none\"}}");
    publishBoth("nw1.a", "one");
    publishBoth("nw1.a", "two");
    // nats-server 2.9 and 2.10 end a no-wait pull that got messages with 408 and the pending count
    // (newer servers send 404); the same with expires set.
    String[] bodies = {"{\"batch\":5,\"no_wait\":true}", "{\"batch\":5,\"no_wait\":true,\"expires\":5000000000}"};
    for (String body : bodies) {
      publishBoth("nw1.b", "three");
      List<Message> r = ref.untilStatus("$JS.API.CONSUMER.MSG.NEXT.NW1.P", body.getBytes(StandardCharsets.UTF_8),
          Duration.ofSeconds(2));
      List<Message> l = lg.untilStatus("$JS.API.CONSUMER.MSG.NEXT.NW1.P", body.getBytes(StandardCharsets.UTF_8),
          Duration.ofSeconds(2));
      List<String> rs = r.stream().map(JsDifferentialTest::describeWithPending).toList();
      List<String> ls = l.stream().map(JsDifferentialTest::describeWithPending).toList();
      if (!rs.equals(ls)) {
        diffs.add("no-wait pull " + body + ": nats-server " + rs + ", leafgate " + ls);
      }
    }
  }

  @Test
  void consumerStateAfterPullsAndAcks() throws Exception {
    setup("$JS.API.STREAM.CREATE.AK1", "{\"name\":\"AK1\",\"subjects\":[\"ak1.>\"]}");
    setup("$JS.API.CONSUMER.CREATE.AK1.P",
        "{\"stream_name\":\"AK1\",\"config\":{\"durable_name\":\"P\",\"ack_policy\":\"explicit\"}}");
    for (int i = 0; i < 5; i++) {
      publishBoth("ak1." + (i % 2), "m" + i);
    }
    byte[] pull = "{\"batch\":3,\"no_wait\":true}".getBytes(StandardCharsets.UTF_8);
    List<Message> r = ref.untilStatus("$JS.API.CONSUMER.MSG.NEXT.AK1.P", pull, Duration.ofMillis(700));
    List<Message> l = lg.untilStatus("$JS.API.CONSUMER.MSG.NEXT.AK1.P", pull, Duration.ofMillis(700));
    assertEquals(3, r.stream().filter(m -> !m.isStatusMessage()).count(), "nats-server pull " + r);
    assertEquals(3, l.stream().filter(m -> !m.isStatusMessage()).count(), "leafgate pull " + l);
    for (int i = 0; i < 3; i++) {
      String[] rt = r.get(i).getReplyTo().split("\\.");
      String[] lt = l.get(i).getReplyTo().split("\\.");
      // $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>: all but the time agree.
      assertEquals(9, lt.length, l.get(i).getReplyTo());
      for (int t : new int[] {2, 3, 4, 5, 6, 8}) {
        if (!rt[t].equals(lt[t])) {
          diffs.add("ack subject token " + t + " of message " + i + ": nats-server " + r.get(i).getReplyTo()
              + ", leafgate " + l.get(i).getReplyTo());
        }
      }
    }
    String[] fields = {"delivered.consumer_seq", "delivered.stream_seq", "ack_floor.consumer_seq",
        "ack_floor.stream_seq", "num_ack_pending", "num_redelivered", "num_waiting", "num_pending"};
    sameFields(both("info after pulling 3", "$JS.API.CONSUMER.INFO.AK1.P", ""), fields);
    // Ack the second message only (as an ack sync, so the ack has been applied when info is asked).
    ackBoth(r.get(1), l.get(1), "+ACK");
    sameFields(both("info after acking the second", "$JS.API.CONSUMER.INFO.AK1.P", ""), fields);
    ackBoth(r.get(0), l.get(0), "+ACK");
    sameFields(both("info after acking the first", "$JS.API.CONSUMER.INFO.AK1.P", ""), fields);
    ackBoth(r.get(2), l.get(2), "-NAK");
    sameFields(both("info after a nak", "$JS.API.CONSUMER.INFO.AK1.P", ""), fields);
    List<Message> r2 = ref.untilStatus("$JS.API.CONSUMER.MSG.NEXT.AK1.P", pull, Duration.ofMillis(700));
    List<Message> l2 = lg.untilStatus("$JS.API.CONSUMER.MSG.NEXT.AK1.P", pull, Duration.ofMillis(700));
    assertEquals(r2.get(0).getReplyTo().split("\\.")[4], l2.get(0).getReplyTo().split("\\.")[4],
        "delivery count of the redelivered message");
    assertEquals(r2.stream().map(JsDifferentialTest::describeWithPending).toList(),
        l2.stream().map(JsDifferentialTest::describeWithPending).toList());
    sameFields(both("info after the redelivery", "$JS.API.CONSUMER.INFO.AK1.P", ""), fields);
  }

  /** Pulls {@code n} messages from both servers (no_wait), checking both delivered all n. */
  private static List<Message[]> pullBoth(String stream, String consumer, int n) throws Exception {
    byte[] pull = ("{\"batch\":" + n + ",\"no_wait\":true}").getBytes(StandardCharsets.UTF_8);
    String subject = "$JS.API.CONSUMER.MSG.NEXT." + stream + "." + consumer;
    List<Message> r = ref.untilStatus(subject, pull, Duration.ofMillis(700));
    List<Message> l = lg.untilStatus(subject, pull, Duration.ofMillis(700));
    r.removeIf(Message::isStatusMessage);
    l.removeIf(Message::isStatusMessage);
    assertEquals(n, r.size(), "nats-server pull " + r);
    assertEquals(n, l.size(), "leafgate pull " + l);
    List<Message[]> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(new Message[] {r.get(i), l.get(i)});
    }
    return out;
  }

  private static final String[] STREAM_STATE_FIELDS = {"state.messages", "state.bytes", "state.first_seq",
      "state.last_seq", "state.num_deleted", "state.num_subjects", "state.consumer_count"};

  /**
   * A work-queue stream drained mostly in order (leafgate keeps the removed front in its table
   * until the stream is empty: nothing of it may show), then an interest stream with two consumers.
   */
  @Test
  void acknowledgedMessagesLeaveWorkQueueAndInterestStreams() throws Exception {
    setup("$JS.API.STREAM.CREATE.WQ1", "{\"name\":\"WQ1\",\"subjects\":[\"wq1.>\"],\"retention\":\"workqueue\"}");
    setup("$JS.API.CONSUMER.CREATE.WQ1.C",
        "{\"stream_name\":\"WQ1\",\"config\":{\"durable_name\":\"C\",\"ack_policy\":\"explicit\"}}");
    for (int i = 0; i < 20; i++) {
      publishBoth("wq1." + (i % 2 == 0 ? "a" : "b"), "m" + i);
    }
    String info = "$JS.API.STREAM.INFO.WQ1";
    String[] consumerFields = {"delivered.stream_seq", "ack_floor.stream_seq", "num_ack_pending", "num_pending"};
    List<Message[]> got = pullBoth("WQ1", "C", 12);
    for (int i = 0; i < 8; i++) {
      ackBoth(got.get(i)[0], got.get(i)[1], "+ACK");
    }
    ackBoth(got.get(9)[0], got.get(9)[1], "+ACK"); // seq 10, out of order: 9 stays
    sameFields(both("stream after acking 1-8 and 10", info, ""), STREAM_STATE_FIELDS);
    sameFields(both("consumer after acking 1-8 and 10", "$JS.API.CONSUMER.INFO.WQ1.C", ""), consumerFields);
    sameError(both("get an acknowledged message", "$JS.API.STREAM.MSG.GET.WQ1", "{\"seq\":5}"));
    sameError(both("get the one acknowledged out of order", "$JS.API.STREAM.MSG.GET.WQ1", "{\"seq\":10}"));
    sameFields(both("get the first left", "$JS.API.STREAM.MSG.GET.WQ1", "{\"seq\":9}"), "message.seq",
        "message.subject", "message.data");
    sameFields(both("get the first left of b", "$JS.API.STREAM.MSG.GET.WQ1", "{\"seq\":1,\"next_by_subj\":\"wq1.b\"}"),
        "message.seq", "message.subject");
    sameFields(both("get the last of a", "$JS.API.STREAM.MSG.GET.WQ1", "{\"last_by_subj\":\"wq1.a\"}"),
        "message.seq", "message.subject");
    ackBoth(got.get(8)[0], got.get(8)[1], "+ACK");
    sameFields(both("stream after acking 9", info, ""), STREAM_STATE_FIELDS);
    sameFields(both("delete a message behind the front", "$JS.API.STREAM.MSG.DELETE.WQ1", "{\"seq\":15}"),
        "success");
    sameFields(both("stream after a delete", info, ""), STREAM_STATE_FIELDS);
    for (int i = 10; i < 12; i++) {
      ackBoth(got.get(i)[0], got.get(i)[1], "+ACK");
    }
    got = pullBoth("WQ1", "C", 7);
    for (Message[] m : got) {
      ackBoth(m[0], m[1], "+ACK");
    }
    sameFields(both("stream drained", info, ""), STREAM_STATE_FIELDS);
    sameFields(both("consumer drained", "$JS.API.CONSUMER.INFO.WQ1.C", ""), consumerFields);
    publishBoth("wq1.a", "after");
    sameFields(both("stream after one more", info, ""), STREAM_STATE_FIELDS);
    sameFields(both("get the one more", "$JS.API.STREAM.MSG.GET.WQ1", "{\"seq\":21}"), "message.seq",
        "message.data");

    setup("$JS.API.STREAM.CREATE.IN1", "{\"name\":\"IN1\",\"subjects\":[\"in1.>\"],\"retention\":\"interest\"}");
    for (String c : new String[] {"X", "Y"}) {
      setup("$JS.API.CONSUMER.CREATE.IN1." + c,
          "{\"stream_name\":\"IN1\",\"config\":{\"durable_name\":\"" + c + "\",\"ack_policy\":\"explicit\"}}");
    }
    for (int i = 0; i < 6; i++) {
      publishBoth("in1.x", "i" + i);
    }
    List<Message[]> x = pullBoth("IN1", "X", 6);
    List<Message[]> y = pullBoth("IN1", "Y", 6);
    for (int i = 0; i < 4; i++) {
      ackBoth(x.get(i)[0], x.get(i)[1], "+ACK");
    }
    sameFields(both("interest stream after X acked 1-4", "$JS.API.STREAM.INFO.IN1", ""), STREAM_STATE_FIELDS);
    for (int i = 0; i < 3; i++) {
      ackBoth(y.get(i)[0], y.get(i)[1], "+ACK");
    }
    sameFields(both("interest stream after Y acked 1-3", "$JS.API.STREAM.INFO.IN1", ""), STREAM_STATE_FIELDS);
    sameError(both("get a message both acknowledged", "$JS.API.STREAM.MSG.GET.IN1", "{\"seq\":2}"));
    for (int i = 3; i < 6; i++) {
      ackBoth(y.get(i)[0], y.get(i)[1], "+ACK");
    }
    for (int i = 4; i < 6; i++) {
      ackBoth(x.get(i)[0], x.get(i)[1], "+ACK");
    }
    sameFields(both("interest stream after both acked all", "$JS.API.STREAM.INFO.IN1", ""), STREAM_STATE_FIELDS);
  }

  private static void ackBoth(Message r, Message l, String ack) throws Exception {
    byte[] body = ack.getBytes(StandardCharsets.UTF_8);
    assertNotNull(ref.request(r.getReplyTo(), null, body), "nats-server did not answer the ack sync");
    assertNotNull(lg.request(l.getReplyTo(), null, body), "leafgate did not answer the ack sync");
  }

  private static String describeWithPending(Message m) {
    if (m.isStatusMessage() && m.getHeaders() != null && m.getHeaders().getFirst("Nats-Pending-Messages") != null) {
      return describe(m) + " pending " + m.getHeaders().getFirst("Nats-Pending-Messages") + "/"
          + m.getHeaders().getFirst("Nats-Pending-Bytes");
    }
    return describe(m);
  }

  private static String describe(Message m) {
    if (m == null) {
      return "no reply";
    }
    if (m.isStatusMessage()) {
      return m.getStatus().getCode() + " " + m.getStatus().getMessage();
    }
    return "message on " + m.getSubject();
  }
}
