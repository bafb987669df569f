package io.leafgate.bench;

import io.nats.client.Connection;
import io.nats.client.ConnectionListener;
import io.nats.client.Consumer;
import io.nats.client.ErrorListener;
import io.nats.client.Nats;
import io.nats.client.Options;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * The jnats connections of one benchmark run. Every connection uses jnats's default options (only
 * its name and two listeners are set); the listeners record anything that would make the run's
 * figure wrong: slow consumers (client or server side), disconnects and server errors.
 *
 * <p>Closing closes every connection opened through this object.
 */
final class Clients implements AutoCloseable {
  private final String url;
  private final List<Connection> connections = new ArrayList<>();
  private final Queue<String> problems = new ConcurrentLinkedQueue<>();
  private final ErrorListener errors = new ErrorListener() {
    @Override
    public void errorOccurred(Connection conn, String error) {
      problems.add(name(conn) + ": server error '" + error + "'");
    }

    @Override
    public void exceptionOccurred(Connection conn, Exception exp) {
      problems.add(name(conn) + ": " + exp);
    }

    @Override
    public void slowConsumerDetected(Connection conn, Consumer consumer) {
      problems.add(name(conn) + ": client-side slow consumer (jnats dropped messages)");
    }
  };
  private final ConnectionListener events = (conn, event) -> {
    boolean lost = event == ConnectionListener.Events.DISCONNECTED || event == ConnectionListener.Events.CLOSED;
    if (lost && !closing()) {
      problems.add(name(conn) + ": " + event.name().toLowerCase() + " during the run");
    }
  };
  private volatile boolean closing;

  Clients(String url) {
    this.url = url;
  }

  /** Opens a connection with jnats defaults and the given connection name. */
  Connection connect(String name) throws IOException, InterruptedException {
    Options o = new Options.Builder().server(url).connectionName(name)
        .errorListener(errors).connectionListener(events).build();
    Connection c = Nats.connect(o);
    connections.add(c);
    return c;
  }

  /** What went wrong so far, or null when nothing did. */
  String problem() {
    return problems.isEmpty() ? null : String.join("; ", problems.stream().distinct().limit(3).toList());
  }

  private boolean closing() {
    return closing;
  }

  private static String name(Connection c) {
    return c == null || c.getOptions() == null ? "?" : c.getOptions().getConnectionName();
  }

  @Override
  public void close() {
    closing = true;
    for (Connection c : connections) {
      try {
        c.close();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
