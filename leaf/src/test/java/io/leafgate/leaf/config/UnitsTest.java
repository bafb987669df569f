package io.leafgate.leaf.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class UnitsTest {

  @Test
  void durationsInGoSyntax() {
    assertEquals(Duration.ofSeconds(10), Units.parseDuration("10s"));
    assertEquals(Duration.ofMinutes(2), Units.parseDuration("2m"));
    assertEquals(Duration.ofMillis(500), Units.parseDuration("500ms"));
    assertEquals(Duration.ofMinutes(90), Units.parseDuration("1h30m"));
    assertEquals(Duration.ofMinutes(90), Units.parseDuration("1.5h"));
    assertEquals(Duration.ofMillis(1500), Units.parseDuration("1.5s"));
    assertEquals(Duration.ofNanos(250), Units.parseDuration("250ns"));
    assertEquals(Duration.ofNanos(3_000), Units.parseDuration("3us"));
    assertEquals(Duration.ofNanos(3_000), Units.parseDuration("3\u00b5s"));
    assertEquals(Duration.ofSeconds(-5), Units.parseDuration("-5s"));
    assertEquals(Duration.ofSeconds(5), Units.parseDuration("+5s"));
    assertEquals(Duration.ZERO, Units.parseDuration("0"));
    assertEquals(Duration.ofMillis(1), Units.parseDuration(".001s"));
    assertEquals(Duration.ofDays(7), Units.parseDuration("7d")); // leafgate's addition for buffer ages
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "10", "s", "10 s", "1.2.3s", "5w", "2M", "1h x", "-", "."})
  void badDurationsAreRejectedWithAHint(String text) {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Units.parseDuration(text));
    assertTrue(e.getMessage().contains("is not a duration"), e.getMessage());
  }

  @Test
  void quotedSizesArePowersOf1024LikeNatsGetStorageSize() {
    assertEquals(512, Units.parseSize("512"));
    assertEquals(512, Units.parseSize("512B"));
    assertEquals(1024, Units.parseSize("1K"));
    assertEquals(1024, Units.parseSize("1k"));
    assertEquals(1024, Units.parseSize("1KB"));
    assertEquals(1024, Units.parseSize("1KiB"));
    assertEquals(64L << 20, Units.parseSize("64MB"));
    assertEquals(64L << 20, Units.parseSize(" 64 mb "));
    assertEquals(10L << 30, Units.parseSize("10G"));
    assertEquals(2L << 40, Units.parseSize("2TB"));
    assertEquals(1L << 50, Units.parseSize("1P"));
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "abc", "-1", "1.5GB", "10X", "10KBB", "1 2"})
  void badSizesAreRejectedWithAHint(String text) {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Units.parseSize(text));
    assertTrue(e.getMessage().contains("is not a size"), e.getMessage());
  }

  @Test
  void hugeSizesAndDurationsAreTooLarge() {
    assertTrue(assertThrows(IllegalArgumentException.class,
        () -> Units.parseSize("99999999999EB")).getMessage().contains("too large"));
    assertTrue(assertThrows(IllegalArgumentException.class,
        () -> Units.parseDuration("9999999999999h")).getMessage().contains("too long"));
  }

  @Test
  void unquotedSuffixMultipliersMatchNatsParseGo() {
    assertEquals(1000, ConfigParser.sizeMultiplier("k"));
    assertEquals(1024, ConfigParser.sizeMultiplier("KB"));
    assertEquals(1024, ConfigParser.sizeMultiplier("ki"));
    assertEquals(1024, ConfigParser.sizeMultiplier("KiB"));
    assertEquals(1_000_000_000_000_000_000L, ConfigParser.sizeMultiplier("E"));
    assertEquals(1L << 60, ConfigParser.sizeMultiplier("eb"));
    assertEquals(0, ConfigParser.sizeMultiplier("ms"));
    assertEquals(0, ConfigParser.sizeMultiplier("s"));
  }
}
