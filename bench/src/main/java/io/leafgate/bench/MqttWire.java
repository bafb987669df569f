package io.leafgate.bench;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * The few MQTT 3.1.1 packets the bench needs, encoded by hand, and a frame scanner for what comes
 * back. No client library: the MQTT scenarios pre-encode their PUBLISH frames and write them in
 * large batches, so that the broker, not the client, sets the pace.
 */
final class MqttWire {
  static final int CONNACK = 2;
  static final int PUBLISH = 3;
  static final int PUBACK = 4;
  static final int SUBACK = 9;
  static final int PINGRESP = 13;
  static final byte[] PINGREQ = {(byte) 0xC0, 0};
  static final byte[] DISCONNECT = {(byte) 0xE0, 0};

  private MqttWire() {}

  /** CONNECT, protocol level 4 (3.1.1), clean session, no will, no credentials. */
  static byte[] connect(String clientId, int keepAliveSeconds) {
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    string(body, "MQTT");
    body.write(4);
    body.write(0x02);
    body.write(keepAliveSeconds >> 8);
    body.write(keepAliveSeconds & 0xFF);
    string(body, clientId);
    return frame(0x10, body.toByteArray());
  }

  /** SUBSCRIBE to one topic filter at {@code qos}. */
  static byte[] subscribe(int packetId, String filter, int qos) {
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    body.write(packetId >> 8);
    body.write(packetId & 0xFF);
    string(body, filter);
    body.write(qos);
    return frame(0x82, body.toByteArray());
  }

  /**
   * PUBLISH at QoS 0 or 1; at QoS 1 with packet id 0, to be set with {@link #setPacketId} at
   * {@link #packetIdOffset}.
   */
  static byte[] publish(String topic, byte[] payload, int qos) {
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    string(body, topic);
    if (qos > 0) {
      body.write(0);
      body.write(0);
    }
    body.writeBytes(payload);
    return frame(0x30 | (qos << 1), body.toByteArray());
  }

  /** Where the packet id of a QoS 1 frame made by {@link #publish} starts. */
  static int packetIdOffset(byte[] frame, String topic) {
    int header = 1;
    while ((frame[header] & 0x80) != 0) {
      header++;
    }
    return header + 1 + 2 + topic.getBytes(StandardCharsets.UTF_8).length;
  }

  static void setPacketId(byte[] buf, int offset, int id) {
    buf[offset] = (byte) (id >> 8);
    buf[offset + 1] = (byte) id;
  }

  /** PUBACK for {@code packetId}, written into {@code buf} at {@code at}; returns the next free offset. */
  static int puback(byte[] buf, int at, int packetId) {
    buf[at] = 0x40;
    buf[at + 1] = 2;
    buf[at + 2] = (byte) (packetId >> 8);
    buf[at + 3] = (byte) packetId;
    return at + 4;
  }

  private static void string(ByteArrayOutputStream out, String s) {
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    out.write(b.length >> 8);
    out.write(b.length & 0xFF);
    out.writeBytes(b);
  }

  private static byte[] frame(int firstByte, byte[] body) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(body.length + 5);
    out.write(firstByte);
    int len = body.length;
    do {
      int digit = len % 128;
      len /= 128;
      out.write(len > 0 ? digit | 0x80 : digit);
    } while (len > 0);
    out.writeBytes(body);
    return out.toByteArray();
  }

  /**
   * Opens a TCP connection, sends CONNECT and waits for a CONNACK that accepts it, then
   * disconnects: the readiness check of a broker.
   */
  static void handshake(InetSocketAddress address, Duration timeout) throws IOException {
    try (Socket s = new Socket()) {
      s.connect(address, (int) timeout.toMillis());
      s.setSoTimeout((int) timeout.toMillis());
      s.getOutputStream().write(connect("bench-probe-" + System.nanoTime(), 60));
      byte[] ack = s.getInputStream().readNBytes(4);
      if (ack.length < 4 || (ack[0] & 0xFF) >> 4 != CONNACK || ack[3] != 0) {
        throw new IOException("no accepting CONNACK (got " + ack.length + " bytes)");
      }
      s.getOutputStream().write(DISCONNECT);
    }
  }

  /** Connects and completes the CONNECT/CONNACK exchange; returns the open socket. */
  static Socket open(InetSocketAddress address, String clientId, Duration timeout) throws IOException {
    Socket s = new Socket();
    try {
      s.setTcpNoDelay(true);
      s.setReceiveBufferSize(1 << 20);
      s.setSendBufferSize(1 << 20);
      s.connect(address, (int) timeout.toMillis());
      s.setSoTimeout((int) timeout.toMillis());
      s.getOutputStream().write(connect(clientId, 3600));
      byte[] ack = s.getInputStream().readNBytes(4);
      if (ack.length < 4 || (ack[0] & 0xFF) >> 4 != CONNACK || ack[3] != 0) {
        throw new IOException("CONNECT of " + clientId + " not accepted");
      }
      return s;
    } catch (IOException e) {
      s.close();
      throw e;
    }
  }

  /** Sends SUBSCRIBE and waits for its SUBACK; fails when the broker refuses the filter. */
  static void subscribeAndWait(Socket s, String filter, int qos) throws IOException {
    OutputStream out = s.getOutputStream();
    out.write(subscribe(1, filter, qos));
    InputStream in = s.getInputStream();
    byte[] ack = in.readNBytes(5);
    if (ack.length < 5 || (ack[0] & 0xFF) >> 4 != SUBACK || (ack[4] & 0xFF) == 0x80) {
      throw new IOException("SUBSCRIBE to " + filter + " not granted");
    }
  }

  /** What a {@link Scanner} hands over for each complete packet. */
  interface PacketHandler {
    /**
     * One packet: its fixed header's first byte, and its variable header and payload in
     * {@code buf[from, from + length)}.
     */
    void packet(int firstByte, byte[] buf, int from, int length) throws IOException;
  }

  /**
   * Splits a byte stream into MQTT packets, across reads: feed it what a read returned, it calls
   * the handler once per complete packet and keeps the incomplete tail.
   */
  static final class Scanner {
    private byte[] buf = new byte[256 * 1024];
    private int start;
    private int end;

    /** Room to read into: {@link #buffer()} from {@link #writeOffset()} to its end. */
    byte[] buffer() {
      if (end == buf.length) {
        if (start > 0) {
          System.arraycopy(buf, start, buf, 0, end - start);
          end -= start;
          start = 0;
        } else {
          byte[] bigger = new byte[buf.length * 2];
          System.arraycopy(buf, 0, bigger, 0, end);
          buf = bigger;
        }
      }
      return buf;
    }

    int writeOffset() {
      return end;
    }

    /** Accounts for {@code n} bytes read into the buffer and hands over the complete packets. */
    void added(int n, PacketHandler handler) throws IOException {
      end += n;
      while (end - start >= 2) {
        int len = 0;
        int mul = 1;
        int i = start + 1;
        boolean complete = false;
        while (i < end && i - start <= 4) {
          int b = buf[i++] & 0xFF;
          len += (b & 0x7F) * mul;
          mul *= 128;
          if ((b & 0x80) == 0) {
            complete = true;
            break;
          }
        }
        if (!complete) {
          if (i - start > 4) {
            throw new IOException("malformed remaining length");
          }
          return;
        }
        if (end - i < len) {
          return;
        }
        handler.packet(buf[start] & 0xFF, buf, i, len);
        start = i + len;
      }
      if (start == end) {
        start = 0;
        end = 0;
      }
    }
  }
}
