package io.leafgate.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The log level that {@code run} settles before picocli parses the same arguments. */
class MainLogLevelTest {
  @Test
  void flagsGiveTheLevelPicocliWouldSet() {
    assertEquals("info", Main.logLevel(new String[] {"run", "-p", "-1", "-sd", "data", "-c", "x.conf"}));
    assertEquals("debug", Main.logLevel(new String[] {"run", "-D"}));
    assertEquals("debug", Main.logLevel(new String[] {"run", "--debug", "-p", "4222"}));
    assertEquals("trace", Main.logLevel(new String[] {"run", "-V"}));
    assertEquals("trace", Main.logLevel(new String[] {"run", "--trace"}));
    assertEquals("trace", Main.logLevel(new String[] {"run", "-DV"}));
    assertEquals("info", Main.logLevel(new String[] {"run", "-n", "DEV"}));
  }
}
