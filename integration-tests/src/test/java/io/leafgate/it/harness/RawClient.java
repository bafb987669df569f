package io.leafgate.it.harness;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A plain TCP client for protocol tests: it sends raw bytes and reads with deadlines, so malformed
 * frames and the exact bytes of replies can be checked. Everything read is kept in {@link
 * #received()}; the read methods consume from a cursor over it. Not thread-safe.
 */
public final class RawClient implements AutoCloseable {
  private final Socket socket;
  private final InputStream in;
  private final OutputStream out;
  private final ByteArrayOutputStream all = new ByteArrayOutputStream();
  /** Index in {@link #all} up to which the read methods have consumed. */
  private int cursor;
  private boolean eof;
  private IOException readError;

  private RawClient(Socket socket) throws IOException {
    this.socket = socket;
    this.in = socket.getInputStream();
    this.out = socket.getOutputStream();
  }

  /** Connects to {@code 127.0.0.1:port}. */
  public static RawClient connect(int port) throws IOException {
    return connect(port, -1);
  }

  /**
   * Connects with a receive buffer of {@code receiveBufferBytes} (set before connecting, so the TCP
   * window stays small); -1 keeps the system default.
   */
  public static RawClient connect(int port, int receiveBufferBytes) throws IOException {
    Socket s = new Socket();
    if (receiveBufferBytes > 0) {
      s.setReceiveBufferSize(receiveBufferBytes);
    }
    s.setTcpNoDelay(true);
    s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
    return new RawClient(s);
  }

  /** Sends bytes as they are. */
  public RawClient send(byte[] bytes) throws IOException {
    out.write(bytes);
    out.flush();
    return this;
  }

  /** Sends a string as ISO-8859-1 bytes (one byte per char), with no line ending added. */
  public RawClient send(String text) throws IOException {
    return send(text.getBytes(StandardCharsets.ISO_8859_1));
  }

  /**
   * Reads one line and returns it without its CRLF (or LF). Fails when no full line arrives within
   * {@code timeout} or the connection ends first.
   */
  public String readLine(Duration timeout) throws IOException {
    String s = readUntil(Pattern.compile("\n"), timeout);
    int end = s.length() - 1;
    if (end > 0 && s.charAt(end - 1) == '\r') {
      end--;
    }
    return s.substring(0, end);
  }

  /**
   * Reads until {@code pattern} is found in what has not been consumed yet; returns that text up to
   * and including the match and consumes it. Fails on timeout or end of stream.
   */
  public String readUntil(Pattern pattern, Duration timeout) throws IOException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      String pendingText = pending();
      Matcher m = pattern.matcher(pendingText);
      if (m.find()) {
        cursor += m.end();
        return pendingText.substring(0, m.end());
      }
      if (eof) {
        throw new AssertionError("connection ended before /" + pattern + "/; unconsumed: "
            + Bytes.show(pendingText) + (readError == null ? "" : " (" + readError + ")"));
      }
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        throw new AssertionError("no /" + pattern + "/ within " + timeout.toMillis() + " ms; unconsumed: "
            + Bytes.show(pendingText));
      }
      fill(left);
    }
  }

  /**
   * Reads until the server closes the connection (end of stream or reset) and returns what arrived
   * and was not consumed yet. Fails when the connection is still open after {@code timeout}.
   */
  public String expectClosed(Duration timeout) throws IOException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!eof) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        throw new AssertionError("connection still open after " + timeout.toMillis() + " ms; unconsumed: "
            + Bytes.show(pending()));
      }
      fill(left);
    }
    String s = pending();
    cursor = all.size();
    return s;
  }

  /**
   * Reads until the server closes the connection or {@code pattern} appears, whichever is first;
   * returns whether the pattern was seen (false: closed). Consumes nothing.
   */
  public boolean awaitPatternOrClose(Pattern pattern, Duration timeout) throws IOException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      if (pattern.matcher(pending()).find()) {
        return true;
      }
      if (eof) {
        return false;
      }
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        throw new AssertionError("neither /" + pattern + "/ nor a close within " + timeout.toMillis()
            + " ms; unconsumed: " + Bytes.show(pending()));
      }
      fill(left);
    }
  }

  /** Whether the server has closed the connection, as far as reads have seen. */
  public boolean isClosedByServer() {
    return eof;
  }

  /** Everything received so far, consumed or not, as ISO-8859-1 text. */
  public String received() {
    return all.toString(StandardCharsets.ISO_8859_1);
  }

  /** What has been received but not consumed by a read method yet. */
  public String pending() {
    String s = received();
    return s.substring(Math.min(cursor, s.length()));
  }

  /** Reads whatever arrives within {@code maxWaitNanos} (at least one read attempt). */
  private void fill(long maxWaitNanos) throws IOException {
    int ms = (int) Math.max(1, Math.min(Integer.MAX_VALUE, maxWaitNanos / 1_000_000));
    socket.setSoTimeout(ms);
    byte[] buf = new byte[65536];
    try {
      int n = in.read(buf);
      if (n < 0) {
        eof = true;
      } else {
        all.write(buf, 0, n);
      }
    } catch (SocketTimeoutException e) {
      // nothing within the wait
    } catch (IOException e) {
      // A reset after the server closed: what arrived before it was already read.
      eof = true;
      readError = e;
    }
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
