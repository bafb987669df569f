package io.leafgate.it.uplink;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A TCP proxy on loopback between the gateway and the hub that can black-hole traffic: while the
 * hole is open, bytes are neither passed on nor refused, and nothing is closed, as when a cellular
 * link dies without a FIN or RST. Only pings can tell.
 */
final class ChaosProxy implements AutoCloseable {
  private final ServerSocket server;
  private final int targetPort;
  private final AtomicBoolean blackhole = new AtomicBoolean();
  private final List<Socket> sockets = new CopyOnWriteArrayList<>();
  private final Thread acceptor;
  private volatile boolean closed;

  ChaosProxy(int targetPort) throws IOException {
    this.targetPort = targetPort;
    this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    this.acceptor = new Thread(this::accept, "chaos-proxy-accept");
    this.acceptor.setDaemon(true);
    this.acceptor.start();
  }

  int port() {
    return server.getLocalPort();
  }

  /** Stops passing bytes in both directions, on existing and new connections, without closing anything. */
  void blackhole() {
    blackhole.set(true);
  }

  /** Passes bytes again; connections that lived through the hole are closed (their streams are broken). */
  void restore() {
    for (Socket s : sockets) {
      try {
        s.close();
      } catch (IOException ignored) {
        // already closed
      }
    }
    sockets.clear();
    synchronized (blackhole) {
      blackhole.set(false);
      blackhole.notifyAll();
    }
  }

  private void accept() {
    while (!closed) {
      try {
        Socket client = server.accept();
        sockets.add(client);
        if (blackhole.get()) {
          continue; // accepted, never answered
        }
        Socket upstream = new Socket(InetAddress.getLoopbackAddress(), targetPort);
        sockets.add(upstream);
        pipe(client, upstream);
        pipe(upstream, client);
      } catch (IOException e) {
        if (closed) {
          return;
        }
      }
    }
  }

  private void pipe(Socket from, Socket to) {
    Thread t = new Thread(() -> {
      byte[] buf = new byte[16 * 1024];
      try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
        int n;
        while ((n = in.read(buf)) >= 0) {
          synchronized (blackhole) {
            while (blackhole.get() && !from.isClosed()) {
              try {
                blackhole.wait(100); // holding the bytes, as a dead link would
              } catch (InterruptedException e) {
                return;
              }
            }
          }
          if (from.isClosed()) {
            return;
          }
          out.write(buf, 0, n);
          out.flush();
        }
      } catch (IOException e) {
        // one side went away
      } finally {
        try {
          from.close();
          to.close();
        } catch (IOException ignored) {
          // closing
        }
      }
    }, "chaos-proxy-pipe");
    t.setDaemon(true);
    t.start();
  }

  @Override
  public void close() throws IOException {
    closed = true;
    server.close();
    for (Socket s : sockets) {
      s.close();
    }
  }
}
