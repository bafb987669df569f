package io.leafgate.gateway;

import com.fasterxml.jackson.jr.ob.JSON;
import io.leafgate.leaf.config.ServerOptions;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * {@code leafgate status}: what an on-call engineer needs at 3 AM, read from a running gateway's
 * monitoring port: is it up, is the site islanded and since when, how much is still to replay.
 */
final class Status {
  private Status() {}

  /** Exit codes: 0 connected (or no uplink), 3 islanded, 1 the gateway cannot be reached. */
  static int print(ServerOptions o, String url, PrintStream out) {
    String base;
    try {
      base = url != null ? url : monitoringUrl(o);
    } catch (IOException e) {
      out.println("leafgate status: " + e.getMessage());
      return 1;
    }
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(3)).build();
    Map<String, Object> varz;
    Map<String, Object> leafz;
    Map<String, Object> jsz = null;
    try {
      varz = get(http, base + "/varz");
      leafz = get(http, base + "/leafz");
      try {
        jsz = get(http, base + "/jsz");
      } catch (IOException e) {
        jsz = null; // JetStream disabled
      }
    } catch (IOException e) {
      out.println("leafgate status: the gateway does not answer at " + base + " (" + e.getMessage() + ")");
      return 1;
    }
    out.printf("leafgate %s (%s), up %s, %s client connection(s), %s subscription(s)%n", varz.get("server_name"),
        varz.get("leafgate_version"), varz.get("uptime"), varz.get("connections"), varz.get("subscriptions"));
    out.printf("  messages in %s, out %s; slow consumers %s%n", varz.get("in_msgs"), varz.get("out_msgs"),
        varz.get("slow_consumers"));
    int code = 0;
    @SuppressWarnings("unchecked")
    Map<String, Object> up = (Map<String, Object>) leafz.get("uplink");
    if (up == null) {
      out.println("Uplink: none configured");
    } else {
      if ("connected".equals(up.get("state"))) {
        out.printf("Uplink: CONNECTED to hub %s (%s) since %s%n", up.get("hub"), up.get("hub_url"), up.get("connected_since"));
      } else {
        code = 3;
        out.printf("Uplink: ISLANDED since %s (for %s); %s reconnect attempt(s)%s%n", up.get("islanded_since"),
            up.get("islanded_for"), up.get("reconnect_attempts"),
            up.get("last_error") == null ? "" : "; last error: " + up.get("last_error"));
      }
      if (up.get("buffer_stream") != null) {
        out.printf("  buffer stream %s -> hub stream %s: backlog %s message(s), %s, oldest %s old%n",
            up.get("buffer_stream"), up.get("hub_stream") == null ? "(none: leaf messages)" : up.get("hub_stream"),
            up.get("backlog_msgs"), bytes(up.get("backlog_bytes")), up.get("oldest_buffered_age"));
        out.printf("  replay %s msg/s, ETA %s, in flight %s, forwarded %s, already on hub %s, hub errors %s%n",
            up.get("replay_rate"), up.get("replay_eta"), up.get("inflight"), up.get("forwarded"),
            up.get("already_on_hub"), up.get("hub_errors"));
      }
      if (up.get("drops") instanceof Map<?, ?> d) {
        StringBuilder b = new StringBuilder();
        d.forEach((k, v) -> {
          if (v instanceof Number n && n.longValue() > 0) {
            b.append(b.length() == 0 ? "" : ", ").append(k).append(' ').append(v);
          }
        });
        out.println("  drops: " + (b.length() == 0 ? "none" : b));
      }
    }
    if (jsz != null) {
      out.printf("JetStream: %s stream(s), %s consumer(s), %s message(s), %s on disk%n", jsz.get("streams"),
          jsz.get("consumers"), jsz.get("messages"), bytes(jsz.get("store_disk_bytes")));
      if (jsz.get("store_problem") != null) {
        out.println("  STORE PROBLEM: " + jsz.get("store_problem"));
      }
    }
    return code;
  }

  private static String bytes(Object o) {
    if (!(o instanceof Number n)) {
      return String.valueOf(o);
    }
    double v = n.doubleValue();
    String[] units = {"B", "KiB", "MiB", "GiB", "TiB"};
    int i = 0;
    while (v >= 1024 && i < units.length - 1) {
      v /= 1024;
      i++;
    }
    return i == 0 ? String.format("%d B", n.longValue()) : String.format("%.1f %s", v, units[i]);
  }

  private static Map<String, Object> get(HttpClient http, String url) throws IOException {
    try {
      HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5)).build(),
          HttpResponse.BodyHandlers.ofString());
      if (r.statusCode() != 200) {
        throw new IOException("HTTP " + r.statusCode() + " from " + url);
      }
      return JSON.std.mapFrom(r.body());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted");
    }
  }

  /** The monitoring URL: from the config's http port, or from a ports file in the store dir. */
  private static String monitoringUrl(ServerOptions o) throws IOException {
    if (o.httpPort > 0) {
      String host = o.httpHost.equals("0.0.0.0") ? "127.0.0.1" : o.httpHost;
      return "http://" + host + ":" + o.httpPort;
    }
    if (o.httpPort == 0) {
      throw new IOException("monitoring is turned off (http_port 0)");
    }
    if (Files.isDirectory(o.storeDir)) {
      try (DirectoryStream<Path> ds = Files.newDirectoryStream(o.storeDir, "leafgate_*.ports")) {
        for (Path p : ds) {
          Map<String, Object> ports = JSON.std.mapFrom(Files.readString(p));
          if (ports.get("monitoring") instanceof List<?> l && !l.isEmpty()) {
            return String.valueOf(l.get(0));
          }
        }
      }
    }
    throw new IOException("no ports file in " + o.storeDir + " tells the monitoring port; pass --url");
  }
}
