package io.leafgate.mqtt.server;

/** Why an MQTT connection ended; logged once, at close. */
enum CloseReason {
  CLIENT_DISCONNECT("Client sent DISCONNECT"),
  CLIENT_CLOSED("Client closed the connection"),
  CONNECT_TIMEOUT("No CONNECT in time"),
  KEEP_ALIVE_TIMEOUT("Keep alive timeout"),
  REFUSED("CONNECT refused"),
  PROTOCOL_ERROR("Protocol error"),
  MALFORMED_PACKET("Malformed packet"),
  PACKET_TOO_LARGE("Packet too large"),
  TOPIC_INVALID("Invalid topic name"),
  RECEIVE_MAXIMUM_EXCEEDED("Receive Maximum exceeded"),
  STORE_FAILURE("A publish could not be stored"),
  TAKEN_OVER("Session taken over"),
  READ_ERROR("Read error"),
  TLS_HANDSHAKE("TLS handshake failed"),
  SERVER_SHUTDOWN("Server shutdown");

  private final String text;

  CloseReason(String text) {
    this.text = text;
  }

  String text() {
    return text;
  }
}
