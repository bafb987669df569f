package io.leafgate.leaf.monitor;

import com.fasterxml.jackson.jr.ob.JSON;
import io.leafgate.leaf.server.Transport;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import org.tinylog.Logger;

/**
 * The monitoring HTTP listener. Modules register JSON endpoints ({@code /varz}, {@code /jsz}, ...),
 * health checks and Prometheus metric sources; this class only serves them.
 */
public final class MonitorServer implements AutoCloseable {
  /** Produces the JSON body of an endpoint from the query parameters. */
  @FunctionalInterface
  public interface JsonEndpoint {
    Object handle(Map<String, String> query) throws BadRequest;
  }

  /** Thrown by an endpoint for a bad query: answered with 400 and the message. */
  public static final class BadRequest extends Exception {
    public BadRequest(String message) {
      super(message);
    }
  }

  /** A health check: returns null when healthy, otherwise what is wrong. */
  @FunctionalInterface
  public interface HealthCheck {
    String problem();
  }

  /** Appends Prometheus text-format metrics. */
  @FunctionalInterface
  public interface MetricsSource {
    void write(Metrics out);
  }

  private static final JSON PRETTY = JSON.std.with(JSON.Feature.PRETTY_PRINT_OUTPUT);

  private final String host;
  private final int port;
  private final Transport transport;
  private final Map<String, JsonEndpoint> endpoints = new ConcurrentHashMap<>();
  private final List<HealthCheck> healthChecks = new CopyOnWriteArrayList<>();
  private final List<MetricsSource> metricsSources = new CopyOnWriteArrayList<>();
  private final Map<String, AtomicLong> requestStats = new ConcurrentHashMap<>();
  private Channel channel;
  private int boundPort;

  public MonitorServer(String host, int port, Transport transport) {
    this.host = host;
    this.port = port;
    this.transport = transport;
  }

  public void register(String path, JsonEndpoint endpoint) {
    endpoints.put(path, endpoint);
  }

  public void addHealthCheck(HealthCheck check) {
    healthChecks.add(check);
  }

  public void addMetrics(MetricsSource source) {
    metricsSources.add(source);
  }

  /** Requests served per path, as {@code /varz} shows in {@code http_req_stats}. */
  public Map<String, Long> requestStats() {
    Map<String, Long> m = new TreeMap<>();
    requestStats.forEach((k, v) -> m.put(k, v.get()));
    return m;
  }

  public void start() throws IOException {
    ServerBootstrap b = new ServerBootstrap()
        .group(transport.group())
        .channel(transport.serverChannel())
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            ch.pipeline()
                .addLast("http", new HttpServerCodec(4096, 8192, 8192))
                .addLast("aggregator", new HttpObjectAggregator(64 * 1024))
                .addLast("monitor", new Handler());
          }
        });
    int p = port < 0 ? 0 : port;
    try {
      channel = b.bind(host, p).syncUninterruptibly().channel();
    } catch (Exception e) {
      throw new IOException("cannot listen for monitoring on " + host + ":" + p + ": " + e.getMessage(), e);
    }
    boundPort = ((InetSocketAddress) channel.localAddress()).getPort();
    Logger.info("Listening for monitoring requests on http://{}:{}", host, boundPort);
  }

  public int boundPort() {
    return boundPort;
  }

  public String host() {
    return host;
  }

  @Override
  public void close() {
    if (channel != null) {
      channel.close().syncUninterruptibly();
    }
  }

  private final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
      QueryStringDecoder q = new QueryStringDecoder(req.uri());
      String path = q.path();
      if (path.length() > 1 && path.endsWith("/")) {
        path = path.substring(0, path.length() - 1);
      }
      Map<String, String> query = new HashMap<>();
      q.parameters().forEach((k, v) -> query.put(k, v.isEmpty() ? "" : v.get(0)));
      FullHttpResponse resp;
      try {
        resp = route(path, query);
      } catch (BadRequest e) {
        resp = text(HttpResponseStatus.BAD_REQUEST, e.getMessage() + "\n", "text/plain; charset=utf-8");
      } catch (Exception e) {
        Logger.error(e, "Monitoring request {} failed", path);
        resp = text(HttpResponseStatus.INTERNAL_SERVER_ERROR, "internal error\n", "text/plain; charset=utf-8");
      }
      boolean keepAlive = HttpUtil.isKeepAlive(req);
      if (keepAlive) {
        resp.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
        ctx.writeAndFlush(resp);
      } else {
        ctx.writeAndFlush(resp).addListener(ChannelFutureListener.CLOSE);
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      Logger.debug("Monitoring connection error: {}", cause.getMessage());
      ctx.close();
    }
  }

  private FullHttpResponse route(String path, Map<String, String> query) throws Exception {
    if (path.equals("/healthz")) {
      count(path);
      for (HealthCheck h : healthChecks) {
        String problem = h.problem();
        if (problem != null) {
          Map<String, Object> body = new java.util.LinkedHashMap<>();
          body.put("status", "unavailable");
          body.put("error", problem);
          return json(HttpResponseStatus.SERVICE_UNAVAILABLE, body);
        }
      }
      return json(HttpResponseStatus.OK, Map.of("status", "ok"));
    }
    if (path.equals("/metrics")) {
      count(path);
      Metrics m = new Metrics();
      for (MetricsSource s : metricsSources) {
        s.write(m);
      }
      return text(HttpResponseStatus.OK, m.toString(), "text/plain; version=0.0.4; charset=utf-8");
    }
    if (path.equals("/")) {
      count(path);
      List<String> names = new ArrayList<>(endpoints.keySet());
      names.add("/healthz");
      names.add("/metrics");
      names.sort(null);
      StringBuilder b = new StringBuilder("<html><body><h1>leafgate</h1><ul>");
      for (String n : names) {
        b.append("<li><a href=\".").append(n).append("\">").append(n).append("</a></li>");
      }
      b.append("</ul></body></html>\n");
      return text(HttpResponseStatus.OK, b.toString(), "text/html; charset=utf-8");
    }
    JsonEndpoint e = endpoints.get(path);
    if (e == null) {
      return text(HttpResponseStatus.NOT_FOUND, "404 page not found\n", "text/plain; charset=utf-8");
    }
    count(path);
    return json(HttpResponseStatus.OK, e.handle(query));
  }

  private void count(String path) {
    requestStats.computeIfAbsent(path, k -> new AtomicLong()).incrementAndGet();
  }

  private static FullHttpResponse json(HttpResponseStatus status, Object body) throws IOException {
    FullHttpResponse r = text(status, PRETTY.asString(body), "application/json");
    return r;
  }

  private static FullHttpResponse text(HttpResponseStatus status, String body, String type) {
    ByteBuf buf = Unpooled.copiedBuffer(body, StandardCharsets.UTF_8);
    FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, buf);
    r.headers().set(HttpHeaderNames.CONTENT_TYPE, type);
    r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, buf.readableBytes());
    return r;
  }
}
