package io.leafgate.mqtt.server;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.mqtt.MqttConnectMessage;
import io.netty.handler.codec.mqtt.MqttConnectPayload;
import io.netty.handler.codec.mqtt.MqttConnectVariableHeader;
import io.netty.handler.codec.mqtt.MqttDecoder;
import io.netty.handler.codec.mqtt.MqttEncoder;
import io.netty.handler.codec.mqtt.MqttFixedHeader;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageIdAndPropertiesVariableHeader;
import io.netty.handler.codec.mqtt.MqttMessageIdVariableHeader;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttProperties;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.handler.codec.mqtt.MqttPublishVariableHeader;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.netty.handler.codec.mqtt.MqttSubscribeMessage;
import io.netty.handler.codec.mqtt.MqttSubscribePayload;
import io.netty.handler.codec.mqtt.MqttSubscriptionOption;
import io.netty.handler.codec.mqtt.MqttTopicSubscription;
import io.netty.handler.codec.mqtt.MqttVersion;
import io.netty.util.AttributeKey;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A test MQTT client that sends exactly the packets it is given (Netty's encoder, or raw bytes) and
 * hands back every packet the server sends, so tests can check reason codes and properties that
 * real clients hide. A reader thread decodes into a queue; the end of the stream is reported as
 * {@link #CLOSED}.
 */
public final class RawMqttClient implements AutoCloseable {
  /** Queued when the server closed the connection. */
  public static final MqttMessage CLOSED = new MqttMessage(new MqttFixedHeader(MqttMessageType.DISCONNECT, false,
      MqttQoS.AT_MOST_ONCE, false, 0));

  private static final AttributeKey<MqttVersion> VERSION = AttributeKey.valueOf("NETTY_CODEC_MQTT_VERSION");

  private final Socket socket;
  private final OutputStream out;
  private final EmbeddedChannel encoder = new EmbeddedChannel(MqttEncoder.INSTANCE);
  private final BlockingQueue<MqttMessage> received = new LinkedBlockingQueue<>();
  private final Thread reader;
  private volatile MqttVersion version;
  /** While set, the reader thread does not read the socket (the server's writes back up). */
  private boolean paused;

  public RawMqttClient(int port, MqttVersion version) throws IOException {
    this.socket = new Socket("127.0.0.1", port);
    this.socket.setTcpNoDelay(true);
    this.out = socket.getOutputStream();
    this.version = version;
    encoder.attr(VERSION).set(version);
    InputStream in = socket.getInputStream();
    reader = new Thread(() -> readLoop(in), "raw-mqtt-reader");
    reader.setDaemon(true);
    reader.start();
  }

  private void readLoop(InputStream in) {
    EmbeddedChannel decoder = new EmbeddedChannel(new MqttDecoder(1 << 24));
    decoder.attr(VERSION).set(version);
    byte[] buf = new byte[8192];
    try {
      while (true) {
        synchronized (this) {
          while (paused) {
            wait();
          }
        }
        int n = in.read(buf);
        if (n < 0) {
          break;
        }
        decoder.writeInbound(Unpooled.copiedBuffer(buf, 0, n));
        MqttMessage m;
        while ((m = decoder.readInbound()) != null) {
          if (m instanceof MqttPublishMessage p) {
            MqttPublishMessage copy = p.copy();
            p.release();
            received.add(copy);
          } else {
            received.add(m);
          }
        }
      }
    } catch (IOException e) {
      // the socket was closed
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      decoder.finishAndReleaseAll();
      received.add(CLOSED);
    }
  }

  /**
   * Stops reading the socket after the read in progress, so that the server's writes back up in
   * the socket buffers and then in the server, as with a client that stopped reading.
   */
  public synchronized void pauseReading() {
    paused = true;
  }

  /** Reads the socket again. */
  public synchronized void resumeReading() {
    paused = false;
    notifyAll();
  }

  /** Sends a packet. */
  public void send(MqttMessage m) throws IOException {
    encoder.writeOutbound(m);
    ByteBuf b;
    while ((b = encoder.readOutbound()) != null) {
      byte[] bytes = new byte[b.readableBytes()];
      b.readBytes(bytes);
      b.release();
      out.write(bytes);
    }
    out.flush();
  }

  /** Sends raw bytes. */
  public void sendRaw(byte[] bytes) throws IOException {
    out.write(bytes);
    out.flush();
  }

  /** The next packet from the server, {@link #CLOSED} at the end, or null after {@code timeout}. */
  public MqttMessage receive(Duration timeout) throws InterruptedException {
    return received.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** The next packet that is not a PUBLISH... or the next of the given type, skipping others. */
  public MqttMessage receive(MqttMessageType type, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        return null;
      }
      MqttMessage m = received.poll(left, TimeUnit.NANOSECONDS);
      if (m == null || m == CLOSED || m.fixedHeader().messageType() == type) {
        return m;
      }
      ReferenceCountUtil.release(m);
    }
  }

  /** Whether the server closed the connection within {@code timeout} (skipping packets). */
  public boolean awaitClosed(Duration timeout) throws InterruptedException {
    return receive(MqttMessageType.AUTH, timeout) == CLOSED;
  }

  // ---------------------------------------------------------------------------------------------
  // Packet builders

  public static MqttConnectMessage connect(MqttVersion v, String clientId, boolean clean, int keepAlive,
      MqttProperties props) {
    MqttFixedHeader fh = new MqttFixedHeader(MqttMessageType.CONNECT, false, MqttQoS.AT_MOST_ONCE, false, 0);
    MqttConnectVariableHeader vh = new MqttConnectVariableHeader(v.protocolName(), v.protocolLevel(), false, false,
        false, 0, false, clean, keepAlive, props == null ? MqttProperties.NO_PROPERTIES : props);
    return new MqttConnectMessage(fh, vh, new MqttConnectPayload(clientId, MqttProperties.NO_PROPERTIES, null,
        (byte[]) null, null, (byte[]) null));
  }

  public static MqttPublishMessage publish(String topic, int qos, int pid, String payload, MqttProperties props) {
    MqttFixedHeader fh = new MqttFixedHeader(MqttMessageType.PUBLISH, false, MqttQoS.valueOf(qos), false, 0);
    return new MqttPublishMessage(fh, new MqttPublishVariableHeader(topic, qos == 0 ? 0 : pid,
        props == null ? MqttProperties.NO_PROPERTIES : props), Unpooled.copiedBuffer(payload, StandardCharsets.UTF_8));
  }

  /** A QoS 0 PUBLISH as bytes, without the encoder's checks (v5 adds an empty property block). */
  public static byte[] rawPublish(String topic, String payload, boolean v5) {
    byte[] t = topic.getBytes(StandardCharsets.UTF_8);
    byte[] p = payload.getBytes(StandardCharsets.UTF_8);
    int len = 2 + t.length + (v5 ? 1 : 0) + p.length;
    java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
    b.write(0x30);
    int n = len;
    do {
      int d = n % 128;
      n /= 128;
      b.write(n > 0 ? d | 0x80 : d);
    } while (n > 0);
    b.write(t.length >> 8);
    b.write(t.length & 0xff);
    b.writeBytes(t);
    if (v5) {
      b.write(0);
    }
    b.writeBytes(p);
    return b.toByteArray();
  }

  public static MqttSubscribeMessage subscribe(int pid, String filter, int qos) {
    MqttFixedHeader fh = new MqttFixedHeader(MqttMessageType.SUBSCRIBE, false, MqttQoS.AT_LEAST_ONCE, false, 0);
    return new MqttSubscribeMessage(fh, new MqttMessageIdAndPropertiesVariableHeader(pid, MqttProperties.NO_PROPERTIES),
        new MqttSubscribePayload(List.of(new MqttTopicSubscription(filter,
            MqttSubscriptionOption.onlyFromQos(MqttQoS.valueOf(qos))))));
  }

  public static MqttMessage ack(MqttMessageType type, int pid) {
    MqttQoS q = type == MqttMessageType.PUBREL ? MqttQoS.AT_LEAST_ONCE : MqttQoS.AT_MOST_ONCE;
    return new MqttMessage(new MqttFixedHeader(type, false, q, false, 0), MqttMessageIdVariableHeader.from(pid));
  }

  public static MqttMessage simple(MqttMessageType type) {
    return new MqttMessage(new MqttFixedHeader(type, false, MqttQoS.AT_MOST_ONCE, false, 0));
  }

  @Override
  public void close() throws IOException {
    resumeReading();
    socket.close();
    encoder.finishAndReleaseAll();
  }
}
