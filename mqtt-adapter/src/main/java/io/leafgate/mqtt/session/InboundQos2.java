package io.leafgate.mqtt.session;

import io.leafgate.mqtt.message.AppMessage;
import io.leafgate.mqtt.store.MqttStore;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;

/**
 * The inbound QoS 2 packet ids of a session between PUBLISH and PUBREL: routed in this run of the
 * gateway (a repeated PUBLISH is only acknowledged), or known from the store after a restart (a
 * repeated PUBLISH is routed again under the stored hold's message id, which durable receivers
 * drop as a duplicate). Confined to the session's loop; at most 65,535 entries.
 */
public final class InboundQos2 {
  /** Where a packet id stands. */
  public enum Status {
    /** Not in use. */
    NEW,
    /** Routed in this run of the gateway. */
    ROUTED,
    /** On record from before a restart: whether it was routed is not known. */
    STORED
  }

  private final HashMap<Integer, MqttStore.Held> held = new HashMap<>();
  private final HashSet<Integer> routed = new HashSet<>();

  public Status status(int pid) {
    if (routed.contains(pid)) {
      return Status.ROUTED;
    }
    return held.containsKey(pid) ? Status.STORED : Status.NEW;
  }

  /** Packet ids awaiting PUBREL (they count against the Receive Maximum). */
  public int count() {
    int n = routed.size();
    for (Integer k : held.keySet()) {
      if (!routed.contains(k)) {
        n++;
      }
    }
    return n;
  }

  /** The id of the stored hold of {@code pid}, or 0. */
  public long holdId(int pid) {
    MqttStore.Held h = held.get(pid);
    return h == null ? 0 : h.holdId();
  }

  public void markRouted(int pid) {
    routed.add(pid);
  }

  /** Records the stored hold of {@code pid}. */
  public void held(int pid, AppMessage m, long holdId) {
    held.put(pid, new MqttStore.Held(m, holdId));
  }

  /** Forgets a packet id (PUBREL, or a refused publish); returns whether it was in use. */
  public boolean release(int pid) {
    boolean a = routed.remove(pid);
    boolean b = held.remove(pid) != null;
    return a || b;
  }

  void restore(Map<Integer, MqttStore.Held> stored) {
    held.putAll(stored);
  }

  void clear() {
    held.clear();
    routed.clear();
  }
}
