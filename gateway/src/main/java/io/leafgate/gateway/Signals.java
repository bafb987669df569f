package io.leafgate.gateway;

import org.tinylog.Logger;
import sun.misc.Signal;

/**
 * Turns SIGTERM and SIGINT into a clean stop with exit code 0 (a JVM shutdown hook alone would
 * exit 143).
 */
final class Signals {
  private Signals() {}

  static void onTerminate(Runnable action) {
    for (String name : new String[] {"TERM", "INT"}) {
      try {
        Signal.handle(new Signal(name), s -> action.run());
      } catch (IllegalArgumentException e) {
        Logger.warn("Cannot handle SIG{}: {}", name, e.getMessage());
      }
    }
  }
}
