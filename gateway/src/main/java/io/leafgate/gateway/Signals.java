package io.leafgate.gateway;

import org.tinylog.Logger;
import sun.misc.Signal;

/**
 * Turns SIGTERM and SIGINT into a clean stop with exit code 0 (a JVM shutdown hook alone would
 * exit 143), and SIGHUP into a configuration reload (the JVM's default for SIGHUP is to exit).
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

  /**
   * Runs {@code action} on each SIGHUP, on the JVM's signal thread, instead of exiting. Register it
   * before start-up so that an early {@code systemctl reload} cannot stop the gateway.
   */
  static void onReload(Runnable action) {
    try {
      // The JVM leaves a signal alone that was ignored when it started (nohup does that).
      if (Signal.handle(new Signal("HUP"), s -> action.run()) == sun.misc.SignalHandler.SIG_IGN) {
        Logger.warn("SIGHUP was ignored when leafgate started (nohup?): reloading by signal is off");
      }
    } catch (IllegalArgumentException e) {
      Logger.warn("Cannot handle SIGHUP: {}", e.getMessage());
    }
  }
}
