package io.leafgate.bench;

import io.nats.client.support.JsonParser;
import io.nats.client.support.JsonValue;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** Reads a server's monitoring endpoints ({@code /varz}, {@code /leafz}): JSON over HTTP on loopback. */
final class Monitor {
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  private Monitor() {}

  /** GETs {@code baseUrl + path} and parses the JSON body. */
  static JsonValue get(String baseUrl, String path) throws IOException, InterruptedException {
    HttpRequest req = HttpRequest.newBuilder(URI.create(baseUrl + path)).timeout(Duration.ofSeconds(10)).GET().build();
    HttpResponse<String> resp = HTTP.send(req, HttpResponse.BodyHandlers.ofString());
    if (resp.statusCode() != 200) {
      throw new IOException("GET " + path + ": HTTP " + resp.statusCode());
    }
    try {
      return JsonParser.parse(resp.body());
    } catch (Exception e) {
      throw new IOException("GET " + path + ": not JSON: " + e.getMessage());
    }
  }

  /** The value at a path of keys, or null when a key is missing. */
  static JsonValue at(JsonValue v, String... keys) {
    for (String k : keys) {
      if (v == null || v.map == null) {
        return null;
      }
      v = v.map.get(k);
    }
    return v;
  }

  /** The number at a path of keys, or -1 when it is missing or not a number. */
  static long number(JsonValue v, String... keys) {
    JsonValue n = at(v, keys);
    return n == null || n.number == null ? -1 : n.number.longValue();
  }
}
