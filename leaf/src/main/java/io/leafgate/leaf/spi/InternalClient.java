package io.leafgate.leaf.spi;

import io.leafgate.leaf.route.FlushBatch;
import io.leafgate.leaf.route.Msg;
import io.leafgate.leaf.route.Origin;
import io.leafgate.leaf.route.Router;
import io.leafgate.leaf.route.Subscriber;
import io.leafgate.leaf.route.Subscription;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.security.SecureRandom;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A NATS client inside the gateway: modules (MQTT, the hub bridge) publish, subscribe and make
 * requests through the router exactly as a connected client would, so they reach the local
 * JetStream and each other by subject, without depending on each other's classes.
 *
 * <p>Handlers run on the publisher's thread and must be quick (hand work off if it is not). Subjects
 * under {@code $LG.} are internal: the hub bridge never advertises them.
 */
public final class InternalClient implements AutoCloseable {
  /** A received message, copied out of the publisher's buffer. */
  public record Message(String subject, String reply, byte[] headers, byte[] data) {
    /** The status code of a header-only status message ({@code NATS/1.0 503}), or 0. */
    public int status() {
      if (headers == null || headers.length < 12) {
        return 0;
      }
      String first = new String(headers, 0, Math.min(headers.length, 32), java.nio.charset.StandardCharsets.ISO_8859_1);
      if (!first.startsWith("NATS/1.0 ")) {
        return 0;
      }
      try {
        return Integer.parseInt(first.substring(9, 12));
      } catch (NumberFormatException | StringIndexOutOfBoundsException e) {
        return 0;
      }
    }
  }

  /** Receives messages of a subscription. */
  @FunctionalInterface
  public interface Handler {
    void onMessage(Message m);
  }

  /** A request found no subscriber at all. */
  public static final class NoRespondersException extends Exception {
    public NoRespondersException(String subject) {
      super("no responders for " + subject);
    }
  }

  private static final SecureRandom RANDOM = new SecureRandom();
  private static final ScheduledExecutorService TIMERS = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "leafgate-internal-timer");
    t.setDaemon(true);
    return t;
  });

  private final Router router;
  private final String inboxPrefix;
  private final Map<String, CompletableFuture<Message>> pending = new ConcurrentHashMap<>();
  private final AtomicLong nextId = new AtomicLong();
  private final Map<Subscription, Boolean> subs = new ConcurrentHashMap<>();
  private Subscription inboxSub;

  public InternalClient(Router router, String name) {
    this.router = router;
    this.inboxPrefix = "$LG." + name + "." + Long.toString(RANDOM.nextLong() & Long.MAX_VALUE, 36) + ".";
  }

  /** The prefix of this client's reply subjects. */
  public String inboxPrefix() {
    return inboxPrefix;
  }

  /** A new unique reply subject under this client's inbox. */
  public String newInbox() {
    return inboxPrefix + nextId.incrementAndGet();
  }

  /** Subscribes; {@code queue} may be null. */
  public Subscription subscribe(String subject, String queue, Handler h) {
    Subscription s = new Subscription(new HandlerSubscriber(h), subject, queue, "internal-" + nextId.incrementAndGet());
    subs.put(s, Boolean.TRUE);
    router.subscribe(s);
    return s;
  }

  public void unsubscribe(Subscription s) {
    if (subs.remove(s) != null) {
      router.unsubscribe(s);
    }
  }

  /** Publishes; returns the number of subscribers it reached. {@code headers} may be null. */
  public int publish(String subject, String reply, byte[] headers, byte[] data) {
    ByteBuf buf = headers == null || headers.length == 0 ? Unpooled.wrappedBuffer(data) : Unpooled.wrappedBuffer(headers, data);
    FlushBatch batch = new FlushBatch();
    int n = router.publish(new Msg(subject, reply, headers == null ? 0 : headers.length, buf), null, Origin.INTERNAL, batch);
    batch.flushAll();
    return n;
  }

  /** Sends a request and completes with the first reply (or exceptionally on no responders or timeout). */
  public CompletableFuture<Message> request(String subject, byte[] headers, byte[] data, long timeoutMillis) {
    ensureInbox();
    String reply = newInbox();
    CompletableFuture<Message> f = new CompletableFuture<>();
    pending.put(reply, f);
    int n = publish(subject, reply, headers, data);
    if (n == 0) {
      pending.remove(reply);
      f.completeExceptionally(new NoRespondersException(subject));
      return f;
    }
    TIMERS.schedule(() -> {
      if (pending.remove(reply) != null) {
        f.completeExceptionally(new TimeoutException("no reply to " + subject + " within " + timeoutMillis + " ms"));
      }
    }, timeoutMillis, TimeUnit.MILLISECONDS);
    return f;
  }

  private synchronized void ensureInbox() {
    if (inboxSub == null) {
      inboxSub = subscribe(inboxPrefix + "*", null, m -> {
        CompletableFuture<Message> f = pending.remove(m.subject());
        if (f != null) {
          if (m.status() == 503) {
            f.completeExceptionally(new NoRespondersException(m.subject()));
          } else {
            f.complete(m);
          }
        }
      });
    }
  }

  @Override
  public void close() {
    for (Subscription s : subs.keySet()) {
      router.unsubscribe(s);
    }
    subs.clear();
    pending.values().forEach(f -> f.cancel(false));
    pending.clear();
  }

  private static final class HandlerSubscriber implements Subscriber {
    private final Handler handler;

    HandlerSubscriber(Handler handler) {
      this.handler = handler;
    }

    @Override
    public void deliver(Subscription sub, Msg msg, FlushBatch batch) {
      ByteBuf d = msg.data();
      int at = d.readerIndex();
      byte[] hdr = msg.hdrLen() > 0 ? ByteBufUtil.getBytes(d, at, msg.hdrLen()) : null;
      byte[] data = ByteBufUtil.getBytes(d, at + msg.hdrLen(), msg.payloadSize());
      handler.onMessage(new Message(msg.subject(), msg.reply(), hdr, data));
    }
  }
}
