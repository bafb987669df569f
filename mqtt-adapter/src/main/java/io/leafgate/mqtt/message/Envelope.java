package io.leafgate.mqtt.message;

import com.fasterxml.jackson.jr.ob.JSON;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The stored form of a {@link Delivery} in the MQTT streams: the payload as the message data and
 * everything else in readable NATS headers, so that {@code nats stream view} shows what is queued.
 *
 * <pre>
 * Mqtt-Subject: sensors.t1        the subject the message was published on
 * Mqtt-Qos: 1                     the QoS it is delivered (or was published) with
 * Mqtt-Retain: 1                  present when the RETAIN flag is set
 * Mqtt-Sub-Id: 7                  present when a subscription identifier applies
 * Mqtt-Expires: 1767225600000     present when the message expires (wall-clock milliseconds)
 * Mqtt-Props: eyJjdCI6...         present when v5 properties exist (base64 of a small JSON)
 * Nats-Msg-Id: ...                present when the writer wants the stream to drop duplicates
 * </pre>
 */
public final class Envelope {
  private Envelope() {}

  public static final String SUBJECT = "Mqtt-Subject";
  public static final String QOS = "Mqtt-Qos";
  public static final String RETAIN = "Mqtt-Retain";
  public static final String SUB_ID = "Mqtt-Sub-Id";
  public static final String EXPIRES = "Mqtt-Expires";
  public static final String PROPS = "Mqtt-Props";
  public static final String MSG_ID = "Nats-Msg-Id";

  /** A message that cannot be read back (written by something else). */
  public static final class BadEnvelope extends Exception {
    public BadEnvelope(String message) {
      super(message, null, false, false);
    }
  }

  /** The header block for {@code d}; {@code msgId} may be null. */
  public static byte[] headers(Delivery d, String msgId) {
    AppMessage m = d.msg();
    return NatsHeaders.build(
        SUBJECT, m.subject(),
        QOS, Integer.toString(d.qos()),
        RETAIN, d.retain() ? "1" : null,
        SUB_ID, d.subscriptionId() > 0 ? Integer.toString(d.subscriptionId()) : null,
        EXPIRES, m.expiresAtMillis() > 0 ? Long.toString(m.expiresAtMillis()) : null,
        PROPS, m.props().isEmpty() ? null : encodeProps(m.props()),
        MSG_ID, msgId);
  }

  /** Reads a stored delivery back; {@code storeId} becomes its store id. */
  public static Delivery read(byte[] headers, byte[] data, long storeId) throws BadEnvelope {
    String subject = NatsHeaders.get(headers, SUBJECT);
    if (subject == null || subject.isEmpty()) {
      throw new BadEnvelope("no " + SUBJECT + " header");
    }
    int qos = parseInt(NatsHeaders.get(headers, QOS), 0);
    if (qos < 0 || qos > 2) {
      throw new BadEnvelope("bad QoS " + qos);
    }
    boolean retain = "1".equals(NatsHeaders.get(headers, RETAIN));
    int subId = parseInt(NatsHeaders.get(headers, SUB_ID), 0);
    long expires = parseLong(NatsHeaders.get(headers, EXPIRES));
    String p = NatsHeaders.get(headers, PROPS);
    Props props = p == null ? Props.NONE : decodeProps(p);
    AppMessage m = new AppMessage(subject, data, qos, retain, props, expires);
    return new Delivery(m, qos, retain, subId, storeId);
  }

  private static int parseInt(String s, int dflt) throws BadEnvelope {
    if (s == null) {
      return dflt;
    }
    try {
      return Integer.parseInt(s.trim());
    } catch (NumberFormatException e) {
      throw new BadEnvelope("bad number " + s);
    }
  }

  private static long parseLong(String s) throws BadEnvelope {
    if (s == null) {
      return 0;
    }
    try {
      return Long.parseLong(s.trim());
    } catch (NumberFormatException e) {
      throw new BadEnvelope("bad number " + s);
    }
  }

  static String encodeProps(Props p) {
    Map<String, Object> m = new LinkedHashMap<>();
    if (p.payloadFormat() != null) {
      m.put("pf", p.payloadFormat());
    }
    if (p.contentType() != null) {
      m.put("ct", p.contentType());
    }
    if (p.responseTopic() != null) {
      m.put("rt", p.responseTopic());
    }
    if (p.correlationData() != null) {
      m.put("cd", Base64.getEncoder().encodeToString(p.correlationData()));
    }
    if (!p.user().isEmpty()) {
      List<List<String>> up = new ArrayList<>(p.user().size());
      for (Props.UserProperty u : p.user()) {
        up.add(List.of(u.name(), u.value()));
      }
      m.put("up", up);
    }
    try {
      return Base64.getEncoder().encodeToString(JSON.std.asBytes(m));
    } catch (IOException e) {
      throw new IllegalStateException("cannot encode message properties", e);
    }
  }

  static Props decodeProps(String b64) throws BadEnvelope {
    try {
      Map<String, Object> m = JSON.std.mapFrom(new String(Base64.getDecoder().decode(b64), StandardCharsets.UTF_8));
      Integer pf = m.get("pf") instanceof Number n ? n.intValue() : null;
      String ct = (String) m.get("ct");
      String rt = (String) m.get("rt");
      byte[] cd = m.get("cd") instanceof String s ? Base64.getDecoder().decode(s) : null;
      List<Props.UserProperty> user = new ArrayList<>();
      if (m.get("up") instanceof List<?> l) {
        for (Object o : l) {
          if (o instanceof List<?> pair && pair.size() == 2) {
            user.add(new Props.UserProperty(String.valueOf(pair.get(0)), String.valueOf(pair.get(1))));
          }
        }
      }
      return new Props(pf, ct, rt, cd, List.copyOf(user));
    } catch (IOException | IllegalArgumentException | ClassCastException e) {
      throw new BadEnvelope("bad " + PROPS + " header: " + e.getMessage());
    }
  }
}
