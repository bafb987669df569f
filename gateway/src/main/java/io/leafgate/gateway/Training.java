package io.leafgate.gateway;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import org.tinylog.Logger;

/**
 * A short self-exercise of a started gateway: one NATS client that publishes, subscribes and uses
 * the JetStream API, and one monitoring request. Run once after a build with
 * {@code -XX:ArchiveClassesAtExit}, it records the classes a real start-up and first client need, so
 * later starts load them from the archive.
 */
final class Training {
  private Training() {}

  static void exercise(Gateway g) {
    if (g.natsTls()) {
      // A plain client would only be a failed handshake in the log; the archive does without it.
      Logger.debug("Training client skipped: the NATS port requires TLS");
    } else {
      natsClient(g);
    }
    monitorRequest(g);
  }

  private static void natsClient(Gateway g) {
    try (Socket s = new Socket(InetAddress.getLoopbackAddress(), g.natsPort())) {
      s.setSoTimeout(5000);
      OutputStream out = s.getOutputStream();
      InputStream in = s.getInputStream();
      readLine(in);
      out.write(("CONNECT {\"verbose\":false,\"headers\":true,\"no_responders\":true}\r\n"
          + "SUB train.> 1\r\nSUB _INBOX.train.* 2\r\n"
          + "PUB train.a 5\r\nhello\r\n"
          + "HPUB train.b 22 24\r\nNATS/1.0\r\nX-Train: 1\r\n\r\nhi\r\n"
          + "PUB $JS.API.INFO _INBOX.train.1 0\r\n\r\n"
          + "PUB $JS.API.STREAM.INFO.NONE _INBOX.train.2 0\r\n\r\n"
          + "PING\r\n").getBytes(StandardCharsets.US_ASCII));
      out.flush();
      // Read until our PONG, through the messages and replies.
      for (int i = 0; i < 64; i++) {
        if (readLine(in).startsWith("PONG")) {
          break;
        }
      }
    } catch (IOException e) {
      Logger.debug("Training client: {}", e.getMessage());
    }
  }

  private static void monitorRequest(Gateway g) {
    if (g.httpPort() > 0) {
      try (Socket s = new Socket(InetAddress.getLoopbackAddress(), g.httpPort())) {
        s.setSoTimeout(5000);
        s.getOutputStream().write("GET /varz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            .getBytes(StandardCharsets.US_ASCII));
        s.getInputStream().readAllBytes();
      } catch (IOException e) {
        Logger.debug("Training monitor request: {}", e.getMessage());
      }
    }
  }

  private static String readLine(InputStream in) throws IOException {
    StringBuilder b = new StringBuilder();
    int c;
    while ((c = in.read()) >= 0 && c != '\n') {
      b.append((char) c);
    }
    return b.toString();
  }
}
