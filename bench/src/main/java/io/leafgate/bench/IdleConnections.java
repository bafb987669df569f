package io.leafgate.bench;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Many idle client connections held by one thread ({@code bench-idle-io}) on one selector, with no
 * client library. NATS: each connection waits for INFO, sends CONNECT and PING, counts as
 * established at the PONG, and from then on only answers the server's PINGs. MQTT: each sends
 * CONNECT (3.1.1, clean session, a keep alive of {@value #MQTT_KEEP_ALIVE} s, so that it owes the
 * broker nothing during the measurement), counts as established at a CONNACK that accepts it, and
 * from then on answers nothing. This is the cheapest client there is, so the memory it makes a
 * server use is the server's own per-connection cost.
 *
 * <p>At most {@value #MAX_HANDSHAKES} handshakes are in flight at a time, to stay inside the
 * servers' accept backlogs. Each socket is one file descriptor in this JVM and one in the server,
 * so both processes need an open-files limit above the connection count (see bench/run).
 */
final class IdleConnections implements AutoCloseable {
  private static final int MAX_HANDSHAKES = 500;
  private static final byte[] CONNECT = ("CONNECT {\"verbose\":false,\"pedantic\":false,\"tls_required\":false,"
      + "\"name\":\"bench-idle\",\"lang\":\"raw\",\"version\":\"0\",\"protocol\":1}\r\nPING\r\n")
      .getBytes(StandardCharsets.US_ASCII);
  private static final byte[] PONG = "PONG\r\n".getBytes(StandardCharsets.US_ASCII);
  private static final int MQTT_KEEP_ALIVE = 3600;

  /** The protocol the connections speak. */
  enum Dialect { NATS, MQTT }

  private final InetSocketAddress address;
  private final Dialect dialect;
  private final int target;
  private final Selector selector;
  private final List<SocketChannel> channels = new ArrayList<>();
  private final AtomicInteger established = new AtomicInteger();
  private final AtomicInteger lost = new AtomicInteger();
  private final AtomicInteger pingsAnswered = new AtomicInteger();
  private volatile String firstError;
  private volatile boolean stopping;
  private final Thread io;
  private int opened;
  private int handshaking;

  private enum Phase { AWAIT_INFO, AWAIT_PONG, AWAIT_CONNACK, IDLE }

  /** Per-connection state: the handshake phase and the start of the line being read. */
  private static final class Conn {
    Phase phase;
    final byte[] head = new byte[4];
    int headLen;
    ByteBuffer unwritten;
  }

  private IdleConnections(InetSocketAddress address, Dialect dialect, int target) throws IOException {
    this.address = address;
    this.dialect = dialect;
    this.target = target;
    this.selector = Selector.open();
    this.io = new Thread(this::loop, "bench-idle-io");
    this.io.setDaemon(true);
  }

  /** Starts opening {@code count} NATS connections to {@code address}; returns at once. */
  static IdleConnections open(InetSocketAddress address, int count) throws IOException {
    return open(address, Dialect.NATS, count);
  }

  /** Starts opening {@code count} connections of {@code dialect} to {@code address}; returns at once. */
  static IdleConnections open(InetSocketAddress address, Dialect dialect, int count) throws IOException {
    IdleConnections ic = new IdleConnections(address, dialect, count);
    ic.io.start();
    return ic;
  }

  /**
   * Waits until every connection is established.
   *
   * @throws IOException when one fails or the server closes one, or time runs out
   */
  void awaitEstablished(Duration timeout) throws IOException, InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (established.get() < target) {
      if (firstError != null) {
        throw new IOException(firstError + " (" + established.get() + " of " + target + " established)");
      }
      if (System.nanoTime() > deadline) {
        throw new IOException("only " + established.get() + " of " + target + " connections established in "
            + timeout.toSeconds() + " s");
      }
      Thread.sleep(10);
    }
  }

  /** Connections established and still open. */
  int openCount() {
    return established.get() - lost.get();
  }

  /** The first failure seen, or null. */
  String firstError() {
    return firstError;
  }

  /** How many server PINGs were answered (a sign the connections are being kept alive). */
  int pingsAnswered() {
    return pingsAnswered.get();
  }

  private void loop() {
    ByteBuffer buf = ByteBuffer.allocateDirect(64 * 1024);
    try {
      while (!stopping) {
        while (opened < target && handshaking < MAX_HANDSHAKES && firstError == null) {
          startConnect();
        }
        selector.select(50);
        var it = selector.selectedKeys().iterator();
        while (it.hasNext()) {
          SelectionKey k = it.next();
          it.remove();
          handle(k, buf);
        }
      }
    } catch (ClosedSelectorException e) {
      // closed by close()
    } catch (IOException | RuntimeException e) {
      fail("idle client loop: " + e);
    }
  }

  private void startConnect() throws IOException {
    SocketChannel ch = SocketChannel.open();
    ch.configureBlocking(false);
    ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
    channels.add(ch);
    opened++;
    handshaking++;
    Conn c = new Conn();
    c.phase = dialect == Dialect.NATS ? Phase.AWAIT_INFO : Phase.AWAIT_CONNACK;
    boolean now = ch.connect(address);
    SelectionKey k = ch.register(selector, now ? SelectionKey.OP_READ : SelectionKey.OP_CONNECT, c);
    if (now) {
      onConnected(k, c);
    }
  }

  /** MQTT speaks first: the CONNECT goes out as soon as the TCP connection is up. */
  private void onConnected(SelectionKey k, Conn c) throws IOException {
    if (dialect == Dialect.MQTT) {
      send(k, c, MqttWire.connect("bench-idle-" + opened + "-" + System.nanoTime(), MQTT_KEEP_ALIVE));
    }
  }

  private void handle(SelectionKey k, ByteBuffer buf) {
    SocketChannel ch = (SocketChannel) k.channel();
    Conn c = (Conn) k.attachment();
    try {
      if (k.isConnectable()) {
        ch.finishConnect();
        k.interestOps(SelectionKey.OP_READ);
        onConnected(k, c);
        return;
      }
      if (k.isWritable()) {
        ch.write(c.unwritten);
        if (!c.unwritten.hasRemaining()) {
          c.unwritten = null;
          k.interestOps(SelectionKey.OP_READ);
        }
      }
      if (k.isReadable()) {
        buf.clear();
        int n = ch.read(buf);
        if (n < 0) {
          onClosedByServer(k, c);
          return;
        }
        buf.flip();
        if (dialect == Dialect.MQTT) {
          onMqttBytes(c, buf);
          return;
        }
        while (buf.hasRemaining()) {
          byte b = buf.get();
          if (b == '\n') {
            onLine(k, c);
            c.headLen = 0;
          } else if (c.headLen < c.head.length) {
            c.head[c.headLen++] = b;
          }
        }
      }
    } catch (IOException e) {
      if (!stopping) {
        fail("connection " + address + ": " + e.getMessage());
      }
      k.cancel();
    }
  }

  private void onLine(SelectionKey k, Conn c) throws IOException {
    String op = new String(c.head, 0, c.headLen, StandardCharsets.US_ASCII);
    switch (op) {
      case "INFO" -> {
        if (c.phase == Phase.AWAIT_INFO) {
          c.phase = Phase.AWAIT_PONG;
          send(k, c, CONNECT);
        }
      }
      case "PING" -> {
        send(k, c, PONG);
        pingsAnswered.incrementAndGet();
      }
      case "PONG" -> {
        if (c.phase == Phase.AWAIT_PONG) {
          c.phase = Phase.IDLE;
          handshaking--;
          established.incrementAndGet();
        }
      }
      case "-ERR" -> fail("server sent -ERR");
      default -> { }
    }
  }

  /** The first four bytes are the CONNACK; nothing else is expected, and anything else is ignored. */
  private void onMqttBytes(Conn c, ByteBuffer buf) {
    while (buf.hasRemaining() && c.phase == Phase.AWAIT_CONNACK) {
      c.head[c.headLen++] = buf.get();
      if (c.headLen == 4) {
        if ((c.head[0] & 0xFF) >> 4 != MqttWire.CONNACK || c.head[3] != 0) {
          fail("the broker refused a CONNECT (CONNACK return code " + c.head[3] + ")");
          return;
        }
        c.phase = Phase.IDLE;
        handshaking--;
        established.incrementAndGet();
      }
    }
    buf.position(buf.limit());
  }

  private void send(SelectionKey k, Conn c, byte[] bytes) throws IOException {
    if (c.unwritten != null) {
      ByteBuffer more = ByteBuffer.allocate(c.unwritten.remaining() + bytes.length);
      more.put(c.unwritten).put(bytes).flip();
      c.unwritten = more;
      return;
    }
    ByteBuffer b = ByteBuffer.wrap(bytes);
    ((SocketChannel) k.channel()).write(b);
    if (b.hasRemaining()) {
      c.unwritten = b;
      k.interestOps(SelectionKey.OP_READ | SelectionKey.OP_WRITE);
    }
  }

  private void onClosedByServer(SelectionKey k, Conn c) throws IOException {
    k.cancel();
    k.channel().close();
    if (stopping) {
      return;
    }
    if (c.phase == Phase.IDLE) {
      lost.incrementAndGet();
    } else {
      handshaking--;
    }
    fail("the server closed a connection (" + (c.phase == Phase.IDLE ? "while idle" : "during the handshake") + ")");
  }

  private void fail(String why) {
    if (firstError == null) {
      firstError = why;
    }
  }

  /**
   * Closes every connection. Stop the server first: then the server side takes the TIME_WAIT
   * state, and this machine's ephemeral ports are free again at once for the next server.
   */
  @Override
  public void close() {
    stopping = true;
    selector.wakeup();
    try {
      io.join(5000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    try {
      selector.close();
    } catch (IOException ignored) {
      // nothing to do
    }
    for (SocketChannel ch : channels) {
      try {
        ch.close();
      } catch (IOException ignored) {
        // closing anyway
      }
    }
  }
}
