package io.leafgate.leaf.route;

/** Where a message or a subscriber comes from. */
public enum Origin {
  CLIENT,
  MQTT,
  HUB,
  INTERNAL
}
