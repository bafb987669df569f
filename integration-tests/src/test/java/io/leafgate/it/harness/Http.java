package io.leafgate.it.harness;

import com.fasterxml.jackson.jr.ob.JSON;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;

/** Small HTTP helpers for monitoring endpoints on 127.0.0.1. */
public final class Http {
  private static final HttpClient CLIENT = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  private Http() {}

  /** GETs {@code http://127.0.0.1:port/path} and returns the body; fails unless the status is 200. */
  public static String get(int port, String pathAndQuery) throws IOException {
    HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + pathAndQuery))
        .timeout(Duration.ofSeconds(5)).GET().build();
    try {
      HttpResponse<String> r = CLIENT.send(req, HttpResponse.BodyHandlers.ofString());
      if (r.statusCode() != 200) {
        throw new IOException("GET " + pathAndQuery + " answered " + r.statusCode() + ": " + r.body());
      }
      return r.body();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted during GET " + pathAndQuery, e);
    }
  }

  /** GETs a JSON object. */
  public static Map<String, Object> getJson(int port, String pathAndQuery) throws IOException {
    return JSON.std.mapFrom(get(port, pathAndQuery));
  }
}
