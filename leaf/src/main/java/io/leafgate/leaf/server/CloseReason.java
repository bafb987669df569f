package io.leafgate.leaf.server;

/**
 * Why a connection ended. Every close carries one; it is logged once and shown by {@code /connz}
 * for closed connections. The texts are nats-server's {@code ClosedState} strings.
 */
public enum CloseReason {
  CLIENT_CLOSED("Client Closed"),
  AUTHENTICATION_TIMEOUT("Authentication Timeout"),
  AUTHENTICATION_VIOLATION("Authentication Failure"),
  TLS_HANDSHAKE("TLS Handshake Failure"),
  SLOW_CONSUMER_PENDING_BYTES("Slow Consumer (Pending Bytes)"),
  SLOW_CONSUMER_WRITE_DEADLINE("Slow Consumer (Write Deadline)"),
  WRITE_ERROR("Write Error"),
  READ_ERROR("Read Error"),
  PARSE_ERROR("Parse Error"),
  PROTOCOL_VIOLATION("Protocol Violation"),
  MAX_PAYLOAD_EXCEEDED("Maximum Message Payload Exceeded"),
  MAX_CONTROL_LINE_EXCEEDED("Maximum Control Line Exceeded"),
  MAX_CONNECTIONS_EXCEEDED("Maximum Connections Exceeded"),
  STALE_CONNECTION("Stale Connection"),
  BAD_CLIENT_PROTOCOL_VERSION("Bad Client Protocol Version"),
  NO_RESPONDERS_REQUIRES_HEADERS("No Responders Requires Headers"),
  SERVER_SHUTDOWN("Server Shutdown");

  private final String text;

  CloseReason(String text) {
    this.text = text;
  }

  /** The human-readable reason, as nats-server words it. */
  public String text() {
    return text;
  }
}
