package io.leafgate.mqtt.message;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** User Properties as NATS headers and back. */
class NatsHeadersTest {
  @Test
  void userPropertiesBecomeHeadersInOrderWithRepeats() {
    byte[] h = NatsHeaders.fromUserProperties(List.of(new Props.UserProperty("site", "a"),
        new Props.UserProperty("site", "b"), new Props.UserProperty("unité", "°C")));
    assertEquals("NATS/1.0\r\nsite: a\r\nsite: b\r\nunité: °C\r\n\r\n", new String(h, StandardCharsets.UTF_8));
    assertEquals(List.of(new Props.UserProperty("site", "a"), new Props.UserProperty("site", "b"),
        new Props.UserProperty("unité", "°C")), NatsHeaders.toUserProperties(h, 0, h.length));
  }

  @Test
  void propertiesAHeaderCannotCarryAreLeftOutOfTheNatsView() {
    byte[] h = NatsHeaders.fromUserProperties(List.of(new Props.UserProperty("a:b", "x"),
        new Props.UserProperty("with space", "x"), new Props.UserProperty("", "x"),
        new Props.UserProperty("v", "line\r\nbreak"), new Props.UserProperty("ok", "")));
    assertEquals("NATS/1.0\r\nok: \r\n\r\n", new String(h, StandardCharsets.UTF_8));
    assertNull(NatsHeaders.fromUserProperties(List.of(new Props.UserProperty("a b", "x"))));
  }

  @Test
  void statusLinesAndValuesWithColonsAreRead() {
    byte[] h = "NATS/1.0 503\r\nNats-Msg-Id: a:b:c\r\nX:no-space\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1);
    assertEquals(List.of(new Props.UserProperty("Nats-Msg-Id", "a:b:c"), new Props.UserProperty("X", "no-space")),
        NatsHeaders.toUserProperties(h, 0, h.length));
    assertEquals("a:b:c", NatsHeaders.get(h, "Nats-Msg-Id"));
    assertNull(NatsHeaders.get(h, "Nats-Msg"));
  }
}
