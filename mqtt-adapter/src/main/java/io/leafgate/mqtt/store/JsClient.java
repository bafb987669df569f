package io.leafgate.mqtt.store;

import com.fasterxml.jackson.jr.ob.JSON;
import io.leafgate.leaf.spi.InternalClient;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * The few JetStream calls the MQTT store makes, over the standard {@code $JS.API} subjects through
 * an {@link InternalClient}: the same API any NATS client uses, so the MQTT streams are ordinary
 * streams that {@code nats stream ls} shows. Futures complete on the engine's thread (or the
 * internal timer thread on timeout). Thread-safe.
 */
final class JsClient {
  /** An API error answer ({@code {"error":{"code":..,"err_code":..,"description":..}}}). */
  static final class ApiException extends RuntimeException {
    final int code;
    final int errCode;

    ApiException(int code, int errCode, String description) {
      super(description + " (" + code + "/" + errCode + ")", null, false, false);
      this.code = code;
      this.errCode = errCode;
    }
  }

  /** A message read back with STREAM.MSG.GET. */
  record RawMsg(String subject, long seq, byte[] headers, byte[] data) {}

  static final int ERR_NO_MESSAGE = 10037;

  private final InternalClient client;
  private final long timeoutMillis;

  JsClient(InternalClient client, long timeoutMillis) {
    this.client = client;
    this.timeoutMillis = timeoutMillis;
  }

  /** Sends an API request and completes with the answer, or exceptionally with {@link ApiException}. */
  CompletableFuture<Map<String, Object>> api(String verb, Map<String, Object> body) {
    byte[] req;
    try {
      req = body == null ? new byte[0] : JSON.std.asBytes(body);
    } catch (IOException e) {
      return CompletableFuture.failedFuture(e);
    }
    return client.request("$JS.API." + verb, null, req, timeoutMillis).thenApply(JsClient::parseAnswer);
  }

  private static Map<String, Object> parseAnswer(InternalClient.Message m) {
    Map<String, Object> r;
    try {
      r = JSON.std.mapFrom(new String(m.data(), StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new CompletionException(e);
    }
    if (r.get("error") instanceof Map<?, ?> err) {
      throw new ApiException(num(err.get("code")), num(err.get("err_code")), String.valueOf(err.get("description")));
    }
    return r;
  }

  private static int num(Object o) {
    return o instanceof Number n ? n.intValue() : 0;
  }

  /** Creates a stream, or updates it when it exists with another configuration. */
  void ensureStream(Map<String, Object> config) throws Exception {
    String name = (String) config.get("name");
    try {
      api("STREAM.CREATE." + name, config).get();
    } catch (java.util.concurrent.ExecutionException e) {
      if (e.getCause() instanceof ApiException a && a.errCode == 10058) {
        api("STREAM.UPDATE." + name, config).get();
        return;
      }
      throw e;
    }
  }

  /** Publishes into a stream and completes with the sequence once it is stored. */
  CompletableFuture<Long> publish(String subject, byte[] headers, byte[] data) {
    return client.request(subject, headers, data, timeoutMillis).thenApply(m -> {
      Map<String, Object> r = parseAnswer(m);
      return ((Number) r.get("seq")).longValue();
    });
  }

  /**
   * The first message at or after {@code seq} whose subject matches {@code filter}, or null.
   */
  CompletableFuture<RawMsg> getNext(String stream, String filter, long seq) {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("seq", Math.max(1, seq));
    body.put("next_by_subj", filter);
    return api("STREAM.MSG.GET." + stream, body).handle((r, e) -> {
      if (e != null) {
        Throwable c = e instanceof CompletionException ? e.getCause() : e;
        if (c instanceof ApiException a && a.errCode == ERR_NO_MESSAGE) {
          return null;
        }
        throw e instanceof CompletionException ce ? ce : new CompletionException(c);
      }
      @SuppressWarnings("unchecked")
      Map<String, Object> msg = (Map<String, Object>) r.get("message");
      Base64.Decoder d = Base64.getDecoder();
      byte[] hdr = msg.get("hdrs") instanceof String h ? d.decode(h) : null;
      byte[] data = msg.get("data") instanceof String s ? d.decode(s) : new byte[0];
      return new RawMsg((String) msg.get("subject"), ((Number) msg.get("seq")).longValue(), hdr, data);
    });
  }

  /** Deletes one message by sequence; a missing message is not an error. */
  CompletableFuture<Void> deleteMsg(String stream, long seq) {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("seq", seq);
    return api("STREAM.MSG.DELETE." + stream, body).handle((r, e) -> {
      if (e != null) {
        Throwable c = e instanceof CompletionException ? e.getCause() : e;
        if (!(c instanceof ApiException)) {
          throw e instanceof CompletionException ce ? ce : new CompletionException(c);
        }
      }
      return null;
    });
  }

  /** Purges the messages of {@code filter} and completes once that is durable. */
  CompletableFuture<Void> purge(String stream, String filter) {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("filter", filter);
    return api("STREAM.PURGE." + stream, body).thenApply(r -> null);
  }
}
